"""``qbd-fix export intune|rmm REMEDIATION ...`` and ``qbd-fix export ansible``: scripts for
the engines an MSP already runs. The files are library work (:mod:`qbd_fix.exports`); this module
parses options, writes the folder and says what it wrote."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from qbd_fix import validation
from qbd_fix.cli import commands
from qbd_fix.cli.help import PanelledCommand
from qbd_fix.cli.options import flag
from qbd_fix.errors import UsageError
from qbd_fix.exports.targets import RMM_TARGETS
from qbd_fix.remediations import REMEDIATIONS, Remediation

if TYPE_CHECKING:
    from qbd_fix.exports.intune import IntuneOptions
    from qbd_fix.exports.signing import Signer

PANEL = "Export"

export_app = typer.Typer(
    name="export",
    help="Write scripts for Intune, an RMM agent or an Ansible role (no Windows needed).",
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
intune_app = typer.Typer(
    name="intune",
    help="One fix as an Intune Remediation (detection = the doctor's judgement) or platform "
    "script, with the Graph request bodies that create and assign it.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
export_app.add_typer(intune_app)
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


_SIGN = [
    flag(
        "sign_pfx",
        str | None,
        None,
        "--sign-pfx",
        metavar="FILE",
        help="Sign each script with this PKCS#12 code-signing key (osslsigncode, or "
        "Set-AuthenticodeSignature on Windows).",
        rich_help_panel="Signing",
    ),
    flag(
        "sign_password_env",
        str | None,
        None,
        "--sign-password-env",
        metavar="NAME",
        help="Environment variable holding the key's password (never a command-line value).",
        rich_help_panel="Signing",
    ),
    flag(
        "sign_timestamp",
        str | None,
        None,
        "--sign-timestamp",
        metavar="URL",
        help="RFC 3161 timestamp server, so signatures outlive the certificate.",
        rich_help_panel="Signing",
    ),
]
_INTUNE = [
    flag(
        "package",
        str,
        "remediation",
        "--package",
        metavar="remediation|platform",
        help="remediation: detect.ps1 + remediate.ps1 (Remediations licence); platform: one "
        "script.ps1, run once per assignment.",
        rich_help_panel=PANEL,
    ),
    flag(
        "run_as",
        str,
        "system",
        "--run-as",
        metavar="system|user",
        help="The account Intune runs the scripts as (the fixes need system).",
        rich_help_panel=PANEL,
    ),
    flag(
        "group_id",
        str | None,
        None,
        "--group-id",
        metavar="GUID",
        help="Entra ID group for assign.json (default: a placeholder to replace).",
        rich_help_panel=PANEL,
    ),
    flag(
        "every_hours",
        int | None,
        None,
        "--every-hours",
        metavar="1-23",
        help="Run the detection every N hours (default: daily at 09:00).",
        rich_help_panel=PANEL,
    ),
]
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def _signer(kwargs: dict[str, Any]) -> Signer | None:
    """The checked signer the signing flags ask for, or None; removes them from *kwargs*."""
    from qbd_fix.exports.signing import load_signer

    pfx = kwargs.pop("sign_pfx")
    variable = kwargs.pop("sign_password_env")
    timestamp = kwargs.pop("sign_timestamp")
    if pfx is None:
        if variable is not None or timestamp is not None:
            raise UsageError("--sign-password-env and --sign-timestamp need --sign-pfx")
        return None
    if variable is None:
        raise UsageError("--sign-pfx needs --sign-password-env NAME (the password's variable)")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", variable):
        raise UsageError(f"--sign-password-env {variable!r} is not a variable name")
    return load_signer(Path(pfx), variable, timestamp_url=timestamp)


def _intune_options(kwargs: dict[str, Any]) -> IntuneOptions:
    from qbd_fix.exports.intune import PACKAGES, RUN_AS, IntuneOptions, Schedule

    package, run_as = kwargs.pop("package"), kwargs.pop("run_as")
    group, hours = kwargs.pop("group_id"), kwargs.pop("every_hours")
    if package not in PACKAGES:
        raise UsageError(f"--package {package!r} is not one of {', '.join(PACKAGES)}")
    if run_as not in RUN_AS:
        raise UsageError(f"--run-as {run_as!r} is not one of {', '.join(RUN_AS)}")
    if group is not None and not _GUID.match(group):
        raise UsageError(f"--group-id {group!r} is not a group's object ID (a GUID)")
    if hours is not None and not 1 <= hours <= 23:
        raise UsageError(f"--every-hours {hours} is not from 1 to 23")
    if hours is not None and package == "platform":
        raise UsageError("--every-hours is for --package remediation (platform scripts run once)")
    return IntuneOptions(package, run_as, group, Schedule(hours))


def _folder(text: str) -> Path:
    return validation.output_path(text, "--output")


def _report(folder: Path, files: dict[str, bytes]) -> None:
    typer.echo(f"Wrote {len(files)} files to {folder}: " + ", ".join(sorted(files)))


def _shaped(
    command: Callable[..., int],
    remediation: Remediation,
    parameters: list[inspect.Parameter],
    doc: str,
) -> Callable[..., int]:
    """*command* with the options typer reads from its signature, named after the fix."""
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__name__ = remediation.name.replace("-", "_")
    command.__doc__ = doc
    return command


def _rmm_command(remediation: Remediation) -> Callable[..., int]:
    own = [p for p in commands.options(remediation) if p.name not in {"dest", "max_bundle_mib"}]

    def command(**kwargs: Any) -> int:
        from qbd_fix.exports.bundle import write_export
        from qbd_fix.exports.rmm import export_files

        target_name = kwargs.pop("target")
        folder = _folder(kwargs.pop("output"))
        if target_name not in RMM_TARGETS:
            raise UsageError(f"--target {target_name!r} is not one of {', '.join(RMM_TARGETS)}")
        signer = _signer(kwargs)
        values = remediation.bind(kwargs)
        files = export_files(remediation, values, RMM_TARGETS[target_name], signer)
        write_export(folder, files)
        _report(folder, files)
        return 0

    return _shaped(
        command,
        remediation,
        [*own, _TARGET, _OUTPUT, *_SIGN],
        f"{remediation.title}: as a script for an RMM agent.\n\n"
        "The fix's own options set the defaults baked into the script; on each PC the RMM may "
        "override them (parameters, or QBD_* environment variables).",
    )


def _intune_command(remediation: Remediation) -> Callable[..., int]:
    own = [p for p in commands.options(remediation) if p.name not in {"dest", "max_bundle_mib"}]

    def command(**kwargs: Any) -> int:
        from qbd_fix.exports.bundle import write_export
        from qbd_fix.exports.intune import export_files

        folder = _folder(kwargs.pop("output"))
        options = _intune_options(kwargs)
        signer = _signer(kwargs)
        values = remediation.bind(kwargs)
        try:
            files = export_files(remediation, values, options, signer)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        write_export(folder, files)
        _report(folder, files)
        if options.run_as == "user":
            typer.echo(
                "Note: --run-as user runs the fix without administrator rights; it changes "
                "machine-wide settings and will report failed on most PCs (see README.md).",
                err=True,
            )
        return 0

    return _shaped(
        command,
        remediation,
        [*own, *_INTUNE, _OUTPUT, *_SIGN],
        f"{remediation.title}: as an Intune Remediation or platform script.\n\n"
        "The fix's own options are baked into the scripts (Intune passes no parameters). "
        "detect.ps1 exits 1 only where the doctor says this fix applies.",
    )


for _remediation in REMEDIATIONS.values():
    intune_app.command(_remediation.name, cls=PanelledCommand)(_intune_command(_remediation))
    rmm_app.command(_remediation.name, cls=PanelledCommand)(_rmm_command(_remediation))


def _ansible(**kwargs: Any) -> int:
    from qbd_fix.exports.ansible import role_files
    from qbd_fix.exports.bundle import write_export

    folder = _folder(kwargs.pop("output"))
    files = role_files(_signer(kwargs))
    write_export(folder, files)
    _report(folder, files)
    return 0


_ansible.__signature__ = inspect.Signature([_OUTPUT, *_SIGN])  # type: ignore[attr-defined]
_ansible.__annotations__ = {p.name: p.annotation for p in [_OUTPUT, *_SIGN]}
_ansible.__doc__ = (
    "Every fix as an Ansible role (roles/qbd_fix) and a playbook (site.yml) running it with "
    "ansible.windows.win_powershell: changed and failed from the fix's result, check mode "
    "through -WhatIf."
)
export_app.command("ansible", cls=PanelledCommand)(_ansible)
