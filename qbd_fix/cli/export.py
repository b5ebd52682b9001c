"""``qbd-fix export rmm REMEDIATION ...`` and ``qbd-fix export ansible``: scripts for the
engines an MSP already runs. The files are library work (:mod:`qbd_fix.exports`); this module
parses options, writes the folder and says what it wrote."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from qbd_fix import validation
from qbd_fix.cli import commands
from qbd_fix.cli.help import PanelledCommand
from qbd_fix.cli.options import flag
from qbd_fix.errors import UsageError
from qbd_fix.exports.targets import RMM_TARGETS
from qbd_fix.remediations import REMEDIATIONS, Remediation

PANEL = "Export"

export_app = typer.Typer(
    name="export",
    help="Write scripts for an RMM agent or an Ansible role (no Windows needed).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
rmm_app = typer.Typer(
    name="rmm",
    help="One fix as a script for an RMM agent: values as parameters or QBD_* environment "
    "variables, the agent's exit codes, a README with the fields to fill in.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
export_app.add_typer(rmm_app)

_OUTPUT = flag(
    "output",
    str,
    ...,
    "--output",
    "-o",
    metavar="DIR",
    help="Folder to write (new, empty, or an earlier export of the same kind).",
    rich_help_panel=PANEL,
)
_TARGET = flag(
    "target",
    str,
    ...,
    "--target",
    metavar="|".join(RMM_TARGETS),
    help="The RMM that runs the script: " + ", ".join(RMM_TARGETS) + ".",
    rich_help_panel=PANEL,
)


def _folder(text: str) -> Path:
    return validation.output_path(text, "--output")


def _report(folder: Path, files: dict[str, bytes]) -> None:
    typer.echo(f"Wrote {len(files)} files to {folder}: " + ", ".join(sorted(files)))


def _rmm_command(remediation: Remediation) -> Callable[..., int]:
    own = [p for p in commands.options(remediation) if p.name not in {"dest", "max_bundle_mib"}]

    def command(**kwargs: Any) -> int:
        from qbd_fix.exports.bundle import write_export
        from qbd_fix.exports.rmm import export_files

        target_name = kwargs.pop("target")
        folder = _folder(kwargs.pop("output"))
        if target_name not in RMM_TARGETS:
            raise UsageError(f"--target {target_name!r} is not one of {', '.join(RMM_TARGETS)}")
        values = remediation.bind(kwargs)
        files = export_files(remediation, values, RMM_TARGETS[target_name])
        write_export(folder, files)
        _report(folder, files)
        return 0

    parameters = [*own, _TARGET, _OUTPUT]
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__name__ = remediation.name.replace("-", "_")
    command.__doc__ = (
        f"{remediation.title}: as a script for an RMM agent.\n\n"
        "The fix's own options set the defaults baked into the script; on each PC the RMM may "
        "override them (parameters, or QBD_* environment variables)."
    )
    return command


for _remediation in REMEDIATIONS.values():
    rmm_app.command(_remediation.name, cls=PanelledCommand)(_rmm_command(_remediation))


def _ansible(**kwargs: Any) -> int:
    from qbd_fix.exports.ansible import role_files
    from qbd_fix.exports.bundle import write_export

    folder = _folder(kwargs.pop("output"))
    files = role_files()
    write_export(folder, files)
    _report(folder, files)
    return 0


_ansible.__signature__ = inspect.Signature([_OUTPUT])  # type: ignore[attr-defined]
_ansible.__annotations__ = {"output": _OUTPUT.annotation}
_ansible.__doc__ = (
    "Every fix as an Ansible role (roles/qbd_fix) and a playbook (site.yml) running it with "
    "ansible.windows.win_powershell: changed and failed from the fix's result, check mode "
    "through -WhatIf."
)
export_app.command("ansible", cls=PanelledCommand)(_ansible)
