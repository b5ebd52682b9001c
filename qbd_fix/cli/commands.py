"""Each remediation's own command-line options, and how they become script parameters.

A command is built from a :class:`CommandSpec`: its options, then the shared
ones from :mod:`qbd_fix.cli.options`. Validation happens here, once, with the
one-line messages from :mod:`qbd_fix.validation`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from qbd_fix import validation
from qbd_fix.cli.options import option
from qbd_fix.errors import UsageError
from qbd_fix.remediations import REMEDIATIONS
from qbd_fix.runners.transfer import DEFAULT_MAX_BUNDLE_MIB, MAX_BUNDLE_MIB_LIMIT
from qbd_fix.script.params import BoundError, ParamValue


@dataclass(frozen=True)
class Invocation:
    """What a command line asks for: script parameters, plus local-only settings."""

    values: dict[str, ParamValue]
    dest: Path | None = None
    #: Largest file a run may bring home (collect-logs' --max-bundle-mib).
    max_bundle_bytes: int = DEFAULT_MAX_BUNDLE_MIB << 20


@dataclass(frozen=True)
class CommandSpec:
    remediation: str
    options: tuple[inspect.Parameter, ...]
    parse: Callable[[dict[str, Any]], Invocation]
    dangerous: Callable[[Invocation], str | None] = field(default=lambda _inv: None)


def _client_name_option(help_text: str) -> inspect.Parameter:
    return option(
        "client_name",
        Annotated[str | None, typer.Option("--client-name", "-c", metavar="NAME", help=help_text)],
        None,
    )


def _seconds(name: str, flag: str, default: int, help_text: str) -> inspect.Parameter:
    return option(
        name, Annotated[int, typer.Option(flag, metavar="SECONDS", help=help_text)], default
    )


def _switch(name: str, flag: str, help_text: str) -> inspect.Parameter:
    return option(name, Annotated[bool, typer.Option(flag, help=help_text)], False)


def _bounded(remediation: str, parameter: str, value: ParamValue, flag: str) -> ParamValue:
    """Check *value* against the script parameter's own bounds: the CLI refuses exactly
    what the script's ``Validate*`` attributes refuse."""
    spec = next(p for p in REMEDIATIONS[remediation].parameters if p.name == parameter)
    try:
        spec.check_bounds(value)
    except BoundError as exc:
        raise UsageError(f"{flag} {exc}") from None
    return value


def _sha256_option() -> inspect.Parameter:
    return option(
        "installer_sha256",
        Annotated[
            str | None,
            typer.Option(
                "--installer-sha256",
                metavar="HEX",
                help="SHA-256 the installer must have (64 hex characters); without it, it must carry a valid Codat or Intuit signature.",
            ),
        ],
        None,
    )


def _grant_removed_option() -> inspect.Parameter:
    return _switch(
        "grant_removed",
        "--grant-removed",
        "Confirm 'QuickBooks Connector' was removed from QuickBooks' Integrated Applications: no installer starts before.",
    )


def _sha256(kwargs: dict[str, Any]) -> str:
    digest = kwargs.get("installer_sha256")
    return "" if digest is None else validation.sha256(digest, "--installer-sha256")


def _client(kwargs: dict[str, Any]) -> str:
    name = kwargs.get("client_name")
    return "" if name is None else validation.client_name(name)


def _parse_restart_tasks(kw: dict[str, Any]) -> Invocation:
    return Invocation(
        {
            "ClientName": _client(kw),
            "TaskTimeoutSeconds": _bounded(
                "restart-tasks", "TaskTimeoutSeconds", kw["task_timeout"], "--task-timeout"
            ),
            "RestartIfUnhealthy": kw["restart_if_unhealthy"],
        }
    )


def _parse_reset_certificate(kw: dict[str, Any]) -> Invocation:
    return Invocation(
        {
            "ClientName": _client(kw),
            "LaunchInstaller": kw["launch_installer"],
            "NotifyUser": kw["notify_user"],
            "InstallerSha256": _sha256(kw),
            "GrantRemoved": kw["grant_removed"],
        }
    )


def _parse_webroot(kw: dict[str, Any]) -> Invocation:
    return Invocation({"DefenderExclusion": kw["defender_exclusion"]})


def _parse_reinstall(kw: dict[str, Any]) -> Invocation:
    company = kw.get("company_id")
    return Invocation(
        {
            "Installer": validation.installer(kw["installer"]),
            "ClientName": _client(kw),
            "CompanyId": "" if company is None else validation.company_id(company),
            "Force": kw["force"],
            "InstallTimeoutSeconds": _bounded(
                "reinstall-connector",
                "InstallTimeoutSeconds",
                kw["install_timeout"],
                "--install-timeout",
            ),
            "InstallerSha256": _sha256(kw),
            "CodatSideDone": kw["codat_side_done"],
            "GrantRemoved": kw["grant_removed"],
        }
    )


def _parse_collect_logs(kw: dict[str, Any]) -> Invocation:
    max_mib = _bounded("collect-logs", "MaxFileMiB", kw["max_file_mib"], "--max-file-mib")
    days = _bounded("collect-logs", "EventDays", kw["event_days"], "--event-days")
    bundle_mib = kw["max_bundle_mib"]
    if not 1 <= bundle_mib <= MAX_BUNDLE_MIB_LIMIT:
        raise UsageError(f"--max-bundle-mib must be between 1 and {MAX_BUNDLE_MIB_LIMIT}")
    dest = kw.get("dest")
    return Invocation(
        {"NoRedact": kw["no_redact"], "MaxFileMiB": max_mib, "EventDays": days},
        dest=None if dest is None else validation.output_path(dest, "--dest"),
        max_bundle_bytes=bundle_mib << 20,
    )


SPECS: dict[str, CommandSpec] = {
    spec.remediation: spec
    for spec in (
        CommandSpec(
            "restart-tasks",
            (
                _client_name_option(
                    "Client name in the task names. Default: the one pair of connector tasks on the PC."
                ),
                _seconds(
                    "task_timeout",
                    "--task-timeout",
                    60,
                    "How long to wait for each task and the tray app to start.",
                ),
                _switch(
                    "restart_if_unhealthy",
                    "--restart-if-unhealthy",
                    "Restart the PC (in 60 s) if the tray app is still not running.",
                ),
            ),
            _parse_restart_tasks,
            lambda inv: (
                "restarts the PC if the connector is still unhealthy"
                if inv.values["RestartIfUnhealthy"]
                else None
            ),
        ),
        CommandSpec(
            "reset-certificate",
            (
                _client_name_option("Client name, to pick its installer from users' Downloads."),
                _switch(
                    "launch_installer",
                    "--launch-installer",
                    "Start the connector installer on the logged-on user's desktop.",
                ),
                _switch("notify_user", "--notify-user", "Show the steps to the logged-on user."),
                _sha256_option(),
                _grant_removed_option(),
            ),
            _parse_reset_certificate,
        ),
        CommandSpec(
            "webroot-whitelist",
            (
                _switch(
                    "defender_exclusion",
                    "--defender-exclusion",
                    "Also add Microsoft Defender exclusions for the connector folders (only where Defender is active; a security trade-off).",
                ),
            ),
            _parse_webroot,
            lambda inv: (
                "adds Microsoft Defender exclusions" if inv.values["DefenderExclusion"] else None
            ),
        ),
        CommandSpec(
            "reinstall-connector",
            (
                option(
                    "installer",
                    Annotated[
                        str,
                        typer.Option(
                            "--installer",
                            metavar="URL|PATH",
                            help="Connector installer: an https URL, or a path on the PC.",
                        ),
                    ],
                    ...,
                ),
                _client_name_option(
                    "Client name of the connector to reinstall. Default: the only one found."
                ),
                option(
                    "company_id",
                    Annotated[
                        str | None,
                        typer.Option(
                            "--company-id",
                            metavar="GUID",
                            help=(
                                "Expected Codat Company ID; must match link.json or nothing "
                                "changes. The Web Connector keeps no link.json: there it is "
                                "used as given."
                            ),
                        ),
                    ],
                    None,
                ),
                _switch(
                    "force",
                    "--force",
                    "Uninstall even when no Company ID could be found and saved.",
                ),
                _seconds(
                    "install_timeout",
                    "--install-timeout",
                    600,
                    "How long to wait for the uninstaller and the installer.",
                ),
                _sha256_option(),
                _switch(
                    "codat_side_done",
                    "--codat-side-done",
                    "Confirm the connection was switched to ongoing sync in the Codat Portal: nothing is uninstalled before.",
                ),
                _grant_removed_option(),
            ),
            _parse_reinstall,
            lambda inv: (
                "uninstalls without a saved Company ID if none is found"
                if inv.values["Force"]
                else None
            ),
        ),
        CommandSpec(
            "collect-logs",
            (
                _switch(
                    "no_redact",
                    "--no-redact",
                    "Keep link.json values unredacted (they may include secrets).",
                ),
                option(
                    "max_file_mib",
                    Annotated[
                        int,
                        typer.Option(
                            "--max-file-mib",
                            metavar="MIB",
                            help="Keep at most this much of each log (its newest part).",
                        ),
                    ],
                    20,
                ),
                option(
                    "event_days",
                    Annotated[
                        int,
                        typer.Option(
                            "--event-days",
                            metavar="DAYS",
                            help="Days of Application-log errors to include.",
                        ),
                    ],
                    7,
                ),
                option(
                    "max_bundle_mib",
                    Annotated[
                        int,
                        typer.Option(
                            "--max-bundle-mib",
                            metavar="MIB",
                            help="Refuse a zip larger than this (nothing is kept; the PC keeps its copy).",
                        ),
                    ],
                    DEFAULT_MAX_BUNDLE_MIB,
                ),
                option(
                    "dest",
                    Annotated[
                        str | None,
                        typer.Option(
                            "--dest",
                            metavar="FILE|DIR",
                            help="Where to write the zip. Default: ./qbd-logs/<host>-<UTC time>.zip",
                        ),
                    ],
                    None,
                ),
            ),
            _parse_collect_logs,
        ),
    )
}
