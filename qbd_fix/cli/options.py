"""Options shared by every remediation command, defined once.

Each remediation command's signature is its own options followed by these
(see :mod:`qbd_fix.cli.commands`), so every command takes them the same way.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Annotated, Any

import typer


@dataclass(frozen=True)
class RunOptions:
    """How to run: preview, confirm, what-if, output format."""

    dry_run: bool = False
    output: str | None = None
    yes: bool = False
    what_if: bool = False
    json: bool = False
    debug: bool = False


def option(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    """A keyword-only command parameter: commands are assembled from lists of these."""
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


def flag(name: str, kind: Any, default: Any, *decls: str, **settings: Any) -> inspect.Parameter:
    """A typer option as a keyword-only command parameter: *decls* are its flags,
    *settings* the rest of ``typer.Option`` (help, metavar, panel)."""
    return option(name, Annotated[kind, typer.Option(*decls, **settings)], default)


RUN_OPTIONS: list[inspect.Parameter] = [
    flag(
        "dry_run",
        bool,
        False,
        "--dry-run",
        help="Print the exact script instead of running it (no Windows needed).",
        rich_help_panel="Run",
    ),
    flag(
        "output",
        str | None,
        None,
        "--output",
        "-o",
        metavar="FILE|DIR",
        help="With --dry-run: write the script (UTF-8 with BOM, CRLF) to this file or folder.",
        rich_help_panel="Run",
    ),
    flag(
        "yes",
        bool,
        False,
        "--yes",
        "-y",
        help="Do not ask before changing anything.",
        rich_help_panel="Run",
    ),
    flag(
        "what_if",
        bool,
        False,
        "--what-if",
        help="Run with -WhatIf: report what would change, change nothing.",
        rich_help_panel="Run",
    ),
    flag("json", bool, False, "--json", help="Print the result as JSON.", rich_help_panel="Run"),
    flag(
        "debug",
        bool,
        False,
        "--debug",
        help="Show everything the script printed, and tracebacks.",
        rich_help_panel="Run",
    ),
]


def pop_run_options(kwargs: dict[str, Any]) -> RunOptions:
    """Take the shared run options out of a command's keyword arguments."""
    return RunOptions(**{p.name: kwargs.pop(p.name) for p in RUN_OPTIONS})
