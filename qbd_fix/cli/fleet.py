"""Fleet runs from the command line: many PCs, one remediation, one confirmation.

Several ``--host`` values, an ``--inventory`` file or any fleet-only option
(``--limit``, ``--report``, ``--host-timeout``, ``--retries``) switch a command
from the one-PC flow to this one. The library (:mod:`qbd_fix.fleet`) does the
scheduling and each PC's script; this module turns options into targets and
connections and checks everything that can be checked before the first PC is
touched (a bad row or a missing password must not surface after 300 PCs were
changed). :mod:`qbd_fix.cli.fleet_view` draws progress and the final table.
Per-PC settings from an inventory win over the command line: the file knows
its PCs better than one command line for all.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from qbd_fix.cli.options import option
from qbd_fix.errors import ExitCode, QbdFixError, UsageError

if TYPE_CHECKING:
    from qbd_fix.cli.commands import Invocation
    from qbd_fix.cli.connection import ConnectionOptions
    from qbd_fix.cli.options import RunOptions
    from qbd_fix.fleet.audit import AuditLog
    from qbd_fix.fleet.doctor import DoctorSettings
    from qbd_fix.fleet.inventory import Target
    from qbd_fix.fleet.scheduler import FleetRun, HostReport
    from qbd_fix.fleet.scripts import ScriptBook
    from qbd_fix.remediations.base import Remediation
    from qbd_fix.runners.base import Runner, RunOutcome
    from qbd_fix.runners.remote import RemoteConnection
    from qbd_fix.script.engine import Script

PANEL = "Fleet"
DEFAULT_CONCURRENCY = 16
MAX_CONCURRENCY = 512
MAX_RETRIES = 10
AUDIT_ENV = "QBD_FIX_AUDIT_LOG"


@dataclass(frozen=True)
class FleetOptions:
    """The fleet options as given; ``None`` leaves a setting to the library's default."""

    inventory: str | None = None
    limit: tuple[str, ...] = ()
    concurrency: int = DEFAULT_CONCURRENCY
    host_timeout: float | None = None
    retries: int | None = None
    report: str | None = None
    audit_log: str | None = None

    def fleet_only_flags(self) -> list[str]:
        """Options that only make sense for a fleet run (they switch one ``--host`` to one)."""
        return [
            flag
            for flag, used in (
                ("--inventory", self.inventory is not None),
                ("--limit", bool(self.limit)),
                ("--report", self.report is not None),
                ("--host-timeout", self.host_timeout is not None),
                ("--retries", self.retries is not None),
            )
            if used
        ]


def interactive() -> bool:
    """Whether someone can be asked (a password, a confirmation): stdin is a terminal."""
    return sys.stdin.isatty()


FLEET_OPTIONS: list[inspect.Parameter] = [
    option(
        "inventory",
        Annotated[
            str | None,
            typer.Option(
                "--inventory",
                "-i",
                metavar="FILE",
                help="Run on the PCs listed in this .csv or .toml file (see README: Fleets).",
                rich_help_panel=PANEL,
            ),
        ],
        None,
    ),
    option(
        "limit",
        Annotated[
            list[str] | None,
            typer.Option(
                "--limit",
                "-l",
                metavar="PATTERN",
                help="Only PCs whose group, a tag or host matches this glob (repeatable, or a comma list).",
                rich_help_panel=PANEL,
            ),
        ],
        None,
    ),
    option(
        "concurrency",
        Annotated[
            int,
            typer.Option(
                "--concurrency",
                "-j",
                metavar="N",
                help="How many PCs are worked on at once in a fleet run.",
                rich_help_panel=PANEL,
            ),
        ],
        DEFAULT_CONCURRENCY,
    ),
    option(
        "host_timeout",
        Annotated[
            float | None,
            typer.Option(
                "--host-timeout",
                metavar="SECONDS",
                help="Stop waiting for a PC after this long and report it as timed out. Default: no limit.",
                rich_help_panel=PANEL,
            ),
        ],
        None,
    ),
    option(
        "retries",
        Annotated[
            int | None,
            typer.Option(
                "--retries",
                metavar="N",
                help="Retries for a PC that could not be reached (never once its script may have started). Default: 2.",
                rich_help_panel=PANEL,
            ),
        ],
        None,
    ),
    option(
        "report",
        Annotated[
            str | None,
            typer.Option(
                "--report",
                metavar="FILE",
                help="Write every PC's full result to this .json or .csv file (also when stopped).",
                rich_help_panel=PANEL,
            ),
        ],
        None,
    ),
    option(
        "audit_log",
        Annotated[
            str | None,
            typer.Option(
                "--audit-log",
                metavar="PATH",
                envvar=AUDIT_ENV,
                show_envvar=False,
                help="Append one JSON line per PC run to this file "
                f"(or ${AUDIT_ENV}). Default: audit.jsonl in qbd-fix's state folder.",
                rich_help_panel=PANEL,
            ),
        ],
        None,
    ),
]


def pop_fleet_options(kwargs: dict[str, Any]) -> FleetOptions:
    """Take the fleet options out of a command's keyword arguments."""
    values = {p.name: kwargs.pop(p.name) for p in FLEET_OPTIONS}
    values["limit"] = tuple(values["limit"] or ())
    return FleetOptions(**values)


def is_fleet(connection: ConnectionOptions | None, fleet: FleetOptions | None) -> bool:
    """Several PCs, an inventory, or a fleet-only option; those without any PC are refused."""
    if fleet is None:
        return False
    hosts = connection.hosts if connection is not None else ()
    flags = fleet.fleet_only_flags()
    if flags and not hosts and fleet.inventory is None:
        raise UsageError(
            f"{', '.join(flags)} go(es) with --inventory or --host",
            hint="a fleet run needs PCs: --inventory FILE, or --host PC01,PC02",
        )
    return len(hosts) > 1 or bool(flags)


# -- audit ----------------------------------------------------------------------------------


def open_audit(fleet: FleetOptions | None) -> AuditLog:
    """The audit log, checked writable now: a run must not fail after it changed PCs."""
    from qbd_fix.fleet.audit import AuditLog

    log = AuditLog(fleet.audit_log if fleet is not None and fleet.audit_log else None)
    try:
        log.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(log.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.close(fd)
    except OSError as exc:
        raise UsageError(
            f"cannot write the audit log {str(log.path)!r}: {exc.strerror}",
            hint=f"give a writable file with --audit-log PATH (or ${AUDIT_ENV})",
        ) from None
    return log


def record_single(
    log: AuditLog,
    *,
    target: str,
    script: Script,
    what_if: bool,
    outcome: RunOutcome | None = None,
    error: BaseException | None = None,
) -> None:
    """The audit line of a one-PC run (local or ``--host``), whatever its end."""
    client = script.parameters.get("ClientName")
    if outcome is not None:
        status = outcome.result.status
        log.record(
            host=target,
            remediation=script.name,
            script=script,
            what_if=what_if,
            status=status.value,
            exit_code=int(status.exit_code),
            client_name=str(client) if client else None,
        )
        return
    if isinstance(error, QbdFixError):
        kind, code = error.exit_code.name.lower(), int(error.exit_code)
    elif isinstance(error, KeyboardInterrupt):
        kind, code = "interrupted", int(ExitCode.INTERRUPTED)
    else:
        kind, code = "internal", int(ExitCode.FAILED)
    log.record(
        host=target,
        remediation=script.name,
        script=script,
        what_if=what_if,
        status="cancelled" if kind == "interrupted" else "failed",
        error_kind=kind,
        exit_code=code,
        client_name=str(client) if client else None,
    )


# -- targets and scripts ----------------------------------------------------------------------


def resolve_targets(connection: ConnectionOptions, fleet: FleetOptions) -> list[Target]:
    """The PCs of this run: the inventory's or ``--host``'s, narrowed by ``--limit``."""
    from qbd_fix.fleet import inventory

    if fleet.inventory is not None and connection.hosts:
        raise UsageError(
            "--inventory and --host: give one of them",
            hint="add the PC to the inventory, or pick PCs from it with --limit",
        )
    if fleet.inventory is not None:
        targets = inventory.load(fleet.inventory)
    else:
        targets = inventory.targets_from_hosts(connection.hosts)
    return inventory.select(targets, list(fleet.limit))


def _check_numbers(fleet: FleetOptions) -> None:
    if not 1 <= fleet.concurrency <= MAX_CONCURRENCY:
        raise UsageError(f"--concurrency must be between 1 and {MAX_CONCURRENCY}")
    if fleet.host_timeout is not None and not 0 < fleet.host_timeout <= 86400:
        raise UsageError("--host-timeout must be more than 0 and at most 86400 seconds")
    if fleet.retries is not None and not 0 <= fleet.retries <= MAX_RETRIES:
        raise UsageError(f"--retries must be between 0 and {MAX_RETRIES}")


def dry_run_scripts(targets: Sequence[Target], book: ScriptBook, output: str | None) -> None:
    """``--dry-run`` for a fleet: one script per PC in the ``--output`` folder, each noted."""
    from qbd_fix.cli import output as out
    from qbd_fix.fleet.scripts import write_scripts

    if not output:
        raise UsageError(
            "--dry-run with several PCs writes one script per PC: add --output DIR",
            hint="or --dry-run with one --host to print the script",
        )

    def written(target: Target, path: Path, size: int) -> None:
        client = target.client_name or "any client"
        out.note(f"Wrote {path} for {target.label} ({client}, {size} bytes)")

    paths = write_scripts(targets, book, output, on_write=written)
    out.note(f"{len(paths)} scripts in {Path(output).expanduser()} (UTF-8 with BOM, CRLF)")


# -- connections ------------------------------------------------------------------------------


def connection_options(options: ConnectionOptions, target: Target) -> ConnectionOptions:
    """The command line's connection settings with this PC's own ones on top."""
    from qbd_fix.cli.connection import Auth

    return dataclasses.replace(
        options,
        host=target.host,
        hosts=(),
        port=target.port if target.port is not None else options.port,
        ssl=options.ssl if target.ssl is None else target.ssl,
        auth=Auth(target.auth) if target.auth else options.auth,
        username=target.username or options.username,
        password_env=target.password_env or options.password_env,
    )


def _needs_password(options: ConnectionOptions) -> bool:
    from qbd_fix.cli.connection import Auth

    return options.auth not in (Auth.certificate, Auth.kerberos)


def read_passwords(settings: Sequence[ConnectionOptions]) -> dict[str, str | None]:
    """Each distinct password variable read once; missing ones asked for once on a terminal,
    else one error naming them all (nothing has run yet)."""
    import getpass

    from qbd_fix.cli.connection import Auth

    users: dict[str, int] = {}
    for item in settings:
        if item.auth is not Auth.certificate:
            users[item.password_env] = users.get(item.password_env, 0) + 1
    passwords: dict[str, str | None] = {}
    missing: dict[str, int] = {}
    for name in users:
        value = os.environ.get(name)
        if value:
            passwords[name] = value
        elif any(_needs_password(s) and s.password_env == name for s in settings):
            missing[name] = sum(
                1 for s in settings if _needs_password(s) and s.password_env == name
            )
        else:
            passwords[name] = None  # Kerberos only: the ticket cache stands in
    if not missing:
        return passwords
    if not interactive():
        listed = ", ".join(
            f"{name} ({count} PC{'s' if count > 1 else ''})" for name, count in missing.items()
        )
        raise UsageError(
            f"no password: set the environment variable(s) {listed}",
            hint="or run in a terminal to be asked once per variable; "
            "passwords are never taken from the command line or an inventory",
        )
    for name, count in missing.items():
        try:
            entered = getpass.getpass(
                f"Password for {name} ({count} PC{'s' if count > 1 else ''}): "
            )
        except EOFError:
            entered = ""
        if not entered:
            raise UsageError(f"no password entered for {name}")
        passwords[name] = entered
    return passwords


def build_connections(
    options: ConnectionOptions, targets: Sequence[Target]
) -> dict[tuple[str, int | None], RemoteConnection]:
    """Every PC's checked connection, passwords included, before any PC is contacted."""
    from qbd_fix.cli import connection as remote
    from qbd_fix.fleet.scripts import where

    settings: list[ConnectionOptions] = []
    for target in targets:
        item = connection_options(options, target)
        try:
            remote.check(item)
        except UsageError as exc:
            raise UsageError(f"{where(target)}: {exc.message}", hint=exc.hint) from None
        settings.append(item)
    passwords = read_passwords(settings)
    connections: dict[tuple[str, int | None], RemoteConnection] = {}
    for target, item in zip(targets, settings, strict=True):
        try:
            connections[target.key] = remote.connection(
                item, password=passwords.get(item.password_env), read=False
            )
        except UsageError as exc:
            raise UsageError(f"{where(target)}: {exc.message}", hint=exc.hint) from None
    return connections


# -- the run ----------------------------------------------------------------------------------


@contextmanager
def sigint_stops(fleet_run: FleetRun) -> Iterator[None]:
    """Ctrl-C during the run: first stop starting PCs, then stop waiting; the old handler
    comes back afterwards. Only the main thread may set handlers; elsewhere the scheduler's
    own KeyboardInterrupt handling serves."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        fleet_run.stop()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _confirm(remediation: Remediation, targets: Sequence[Target], dangerous: str | None) -> None:
    from qbd_fix.cli import output

    count = len(targets)
    shown = ", ".join(t.label for t in targets[:5]) + (
        f" and {count - 5} more" if count > 5 else ""
    )
    if not interactive():
        raise UsageError(
            f"{remediation.name} may change {count} PCs: pass --yes to confirm (no terminal to ask on)",
            hint="or --what-if to see what it would do, or --dry-run --output DIR to get the scripts",
        )
    output.note(
        f"{remediation.name} on {count} PCs ({shown}) may: {'; '.join(remediation.may_change)}."
    )
    if dangerous:
        output.note(f"With these options it also {dangerous}.")
    if not typer.confirm(f"Continue on all {count} PCs?", default=False, err=True):
        raise typer.Exit(1)


def run_fleet_command(
    remediation: Remediation,
    invocation: Invocation,
    run: RunOptions,
    connection: ConnectionOptions,
    fleet: FleetOptions,
    *,
    dangerous: str | None = None,
    doctor: DoctorSettings | None = None,
) -> int:
    """One remediation (or the doctor) on every PC of the fleet; returns the exit code."""
    from qbd_fix.cli import output
    from qbd_fix.fleet.scripts import ScriptBook, with_client

    _check_numbers(fleet)
    client = invocation.values.get("ClientName") if doctor is None else doctor.client_name
    targets = with_client(resolve_targets(connection, fleet), str(client) if client else None)
    book = ScriptBook(remediation, invocation.values)
    if run.output and not run.dry_run:
        raise UsageError("--output goes with --dry-run (it is where the scripts are written)")
    if run.dry_run:
        if fleet.report is not None:
            raise UsageError("--report goes with a run, not --dry-run")
        dry_run_scripts(targets, book, run.output)
        return 0
    for target in targets:
        book(target)  # every PC's values checked before any PC is contacted
    if invocation.dest is not None and invocation.dest.suffix.lower() == ".zip":
        raise UsageError(
            "--dest names one .zip file; a fleet run brings home one zip per PC: give a folder"
        )
    connections = build_connections(connection, targets)
    if remediation.may_change and not run.what_if and not run.yes:
        _confirm(remediation, targets, dangerous)
    audit = open_audit(fleet)
    from qbd_fix.cli.fleet_view import Background, FleetProgress, count_line, render_table
    from qbd_fix.fleet import open_report
    from qbd_fix.fleet.audit import redact, secret_parameter_names
    from qbd_fix.fleet.doctor import doctor_judge, judged
    from qbd_fix.fleet.scheduler import FleetRun
    from qbd_fix.runners.remote import RemoteRunner

    def make_runner(target: Target) -> Runner:
        runner: Runner = RemoteRunner(connections[target.key])
        if doctor is not None:
            runner = judged(runner, doctor_judge(target, doctor))
        return runner

    report_file = None
    if fleet.report is not None:
        report_file = open_report(
            fleet.report,
            run={
                "remediation": remediation.name,
                "what_if": run.what_if,
                "parameters": redact(invocation.values, secret_parameter_names(remediation.name)),
                "inventory": fleet.inventory,
                "limit": list(fleet.limit),
                "concurrency": fleet.concurrency,
                "hosts": len(targets),
            },
            targets=targets,
        )
    order = {t.key: i for i, t in enumerate(targets)}
    by_key = {t.key: t for t in targets}
    finished: list[tuple[int, HostReport]] = []
    files = Background()

    def record(report: HostReport) -> None:
        """On the writer thread: the report row, and the audit line of a PC that was tried."""
        if report_file is not None:
            report_file.write(report)
        if report.status.value != "not_run":
            target = by_key.get((report.host.casefold(), report.port))
            audit.record_report(report, book(target) if target is not None else None)

    def sink(report: HostReport) -> None:
        files.submit(record, report)
        light = report if run.json else dataclasses.replace(report, result=None)
        finished.append((order.get((report.host.casefold(), report.port), len(order)), light))

    secrets = [p.password for p in connections.values() if p.password]
    options: dict[str, Any] = {}
    if fleet.retries is not None:
        options["retries"] = fleet.retries
    title = f"{remediation.name}{' (what-if)' if run.what_if else ''}"
    summary = None
    with FleetProgress(len(targets), title, write=files.writer(sys.stderr)) as progress:
        fleet_run = FleetRun(
            targets,
            make_runner,
            book,
            concurrency=fleet.concurrency,
            host_timeout=fleet.host_timeout,
            what_if=run.what_if,
            dest=invocation.dest,
            max_bundle_bytes=invocation.max_bundle_bytes,
            on_event=progress,
            sink=sink,
            secrets=secrets,
            **options,
        )
        try:
            with sigint_stops(fleet_run):
                summary = fleet_run.run()
        finally:
            files.close()
            if report_file is not None:
                path = report_file.close(summary)
            if files.error is not None:
                raise QbdFixError(f"writing the report or audit log failed: {files.error}")
    reports = [report for _, report in sorted(finished, key=lambda item: item[0])]
    if run.json:
        output.json_document(
            {"hosts": [r.to_dict() for r in reports], "summary": summary.to_dict()}
        )
        output.note(count_line(summary))
    else:
        console = output.stdout_console()
        render_table(reports, console)
        console.print(count_line(summary), highlight=False, markup=False)
    if report_file is not None:
        output.note(f"Report: {path}")
    if summary.stopped:
        return int(ExitCode.INTERRUPTED)
    return summary.exit_code
