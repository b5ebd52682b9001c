"""Each remediation's command-line options, built from its parameters' :class:`Flag`\\ s.

A remediation declares its flags on its script parameters, so the CLI, the
``param()`` block and the doctor's fix commands read one description. Checking a
value is the remediation's own job (:meth:`Remediation.bind`).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from qbd_fix import validation
from qbd_fix.cli.options import flag, option
from qbd_fix.errors import UsageError
from qbd_fix.remediations.base import Remediation
from qbd_fix.runners.transfer import DEFAULT_MAX_BUNDLE_MIB, MAX_BUNDLE_MIB_LIMIT
from qbd_fix.script.params import ParamValue, ScriptParameter

PANEL = "Fix"


@dataclass(frozen=True)
class Invocation:
    """What a command line asks for: script parameters, plus local-only settings."""

    values: dict[str, ParamValue]
    dest: Path | None = None
    #: Largest file a run may bring home (collect-logs' --max-bundle-mib).
    max_bundle_bytes: int = DEFAULT_MAX_BUNDLE_MIB << 20
    #: What the chosen switches add to the confirmation.
    dangers: tuple[str, ...] = ()


def _annotation(p: ScriptParameter) -> Any:
    flag = p.flag
    assert flag is not None
    names = [flag.name, *([flag.short] if flag.short else [])]
    metavar = flag.metavar or None
    if p.kind == "switch":
        return Annotated[bool, typer.Option(*names, help=flag.help, rich_help_panel=PANEL)]
    kind: Any = int if p.kind == "int" else str
    if p.kind == "string" and not flag.required:
        kind = str | None
    return Annotated[
        kind, typer.Option(*names, metavar=metavar, help=flag.help, rich_help_panel=PANEL)
    ]


def _default(p: ScriptParameter) -> Any:
    assert p.flag is not None
    if p.flag.required:
        return ...
    return None if p.kind == "string" else p.default


_FILE_OPTIONS = (
    flag(
        "max_bundle_mib",
        int,
        DEFAULT_MAX_BUNDLE_MIB,
        "--max-bundle-mib",
        metavar="MIB",
        help="Refuse a zip larger than this (nothing is kept; the PC keeps its copy).",
        rich_help_panel=PANEL,
    ),
    flag(
        "dest",
        str | None,
        None,
        "--dest",
        metavar="FILE|DIR",
        help="Where to write the zip. Default: ./qbd-logs/<host>-<UTC time>.zip",
        rich_help_panel=PANEL,
    ),
)


def options(remediation: Remediation) -> list[inspect.Parameter]:
    """The command's own options: one per flagged parameter, then the file options."""
    built = [
        option(p.flag.dest, _annotation(p), _default(p)) for p in remediation.flagged if p.flag
    ]
    return built + (list(_FILE_OPTIONS) if remediation.collects_file else [])


def parse(remediation: Remediation, kwargs: dict[str, Any]) -> Invocation:
    """Check the command's own options and turn them into an :class:`Invocation`."""
    values = remediation.bind(kwargs)
    if not remediation.collects_file:
        return Invocation(values, dangers=tuple(remediation.dangers(values)))
    bundle_mib = kwargs["max_bundle_mib"]
    if not 1 <= bundle_mib <= MAX_BUNDLE_MIB_LIMIT:
        raise UsageError(f"--max-bundle-mib must be between 1 and {MAX_BUNDLE_MIB_LIMIT}")
    dest = kwargs.get("dest")
    return Invocation(
        values,
        dest=None if dest is None else validation.output_path(dest, "--dest"),
        max_bundle_bytes=bundle_mib << 20,
        dangers=tuple(remediation.dangers(values)),
    )
