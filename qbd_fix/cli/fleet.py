"""Fleet runs from the command line: many PCs, one remediation, one confirmation.

Several ``--host`` values, an ``--inventory`` file or any fleet-only option
(``--limit``, ``--report``, ``--host-timeout``, ``--retries``) switch a command
from the one-PC flow to this one. The library (:mod:`qbd_fix.fleet`) does the
scheduling; this module turns options into targets and connections, checks
everything that can be checked before the first PC is touched (a bad row or a
missing password must not surface after 300 PCs were changed), and renders
progress and the final table. Per-PC settings from an inventory win over the
command line: the file knows its PCs better than one command line for all.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from qbd_fix.cli.options import option
from qbd_fix.errors import ExitCode, QbdFixError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from qbd_fix.cli.commands import Invocation
    from qbd_fix.cli.connection import ConnectionOptions
    from qbd_fix.cli.options import RunOptions
    from qbd_fix.doctor.command import Shell
    from qbd_fix.fleet.audit import AuditLog
    from qbd_fix.fleet.inventory import Target
    from qbd_fix.fleet.scheduler import FleetEvent, FleetRun, FleetSummary, HostReport
    from qbd_fix.remediations.base import Remediation
    from qbd_fix.runners.base import Runner, RunOutcome
    from qbd_fix.runners.remote import RemoteConnection
    from qbd_fix.script.engine import Script
    from qbd_fix.script.params import ParamValue

PANEL = "Fleet"
DEFAULT_CONCURRENCY = 16
MAX_CONCURRENCY = 512
MAX_RETRIES = 10
AUDIT_ENV = "QBD_FIX_AUDIT_LOG"

#: How each status reads in counts and tables, best first.
STATUS_LABEL = {
    "ok": "ok",
    "changed": "changed",
    "needs_user_action": "need action",
    "failed": "failed",
    "unreachable": "unreachable",
    "auth_failed": "auth failed",
    "timeout": "timed out",
    "cancelled": "cancelled",
    "not_run": "not run",
}
STATUS_STYLE = {
    "ok": "green",
    "changed": "cyan",
    "needs_user_action": "yellow",
    "failed": "red",
    "unreachable": "red",
    "auth_failed": "red",
    "timeout": "red",
    "cancelled": "magenta",
    "not_run": "dim",
}


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


def _where(target: Target) -> str:
    """Where a target came from, for error messages: ``hosts.csv:12 (PC01)`` or ``PC01``."""
    if target.source and target.source != "--host":
        return f"{target.source} ({target.label})"
    return target.label


class ScriptBook:
    """Renders each PC's script once per distinct set of values (a fleet has few)."""

    def __init__(self, remediation: Remediation, values: Mapping[str, ParamValue]) -> None:
        self.remediation = remediation
        self.values = dict(values)
        self.takes_client = any(p.name == "ClientName" for p in remediation.parameters)
        self._cache: dict[tuple[tuple[str, ParamValue], ...], Script] = {}
        self._lock = threading.Lock()

    def values_for(self, target: Target) -> dict[str, ParamValue]:
        """The command line's values, with the PC's own client name where the script takes one."""
        from qbd_fix import validation

        values = dict(self.values)
        if self.takes_client and target.client_name:
            try:
                values["ClientName"] = validation.client_name(target.client_name)
            except UsageError as exc:
                raise UsageError(f"{_where(target)}: {exc.message}") from None
        return values

    def __call__(self, target: Target) -> Script:
        values = self.values_for(target)
        key = tuple(sorted(values.items()))
        with self._lock:
            script = self._cache.get(key)
            if script is None:
                script = self._cache[key] = self.remediation.render(values)
        return script


def _with_client(targets: Sequence[Target], client: str | None) -> list[Target]:
    """Fill the client name of PCs whose row has none from ``--client-name`` (the row wins)."""
    if not client:
        return list(targets)
    return [t.merge({"client_name": client}) for t in targets]


# -- dry run ----------------------------------------------------------------------------------


def script_file_names(targets: Sequence[Target], remediation: str) -> list[str]:
    """``PC01-restart-tasks.ps1`` per target: safe on Windows and Unix, unique ignoring case."""
    from qbd_fix.jobs import safe_file_stem

    used: set[str] = set()
    names: list[str] = []
    for target in targets:
        stem = safe_file_stem(f"{target.label}-{remediation}")
        name, number = stem, 2
        while name.casefold() in used:
            name = f"{stem}-{number}"
            number += 1
        used.add(name.casefold())
        names.append(f"{name}.ps1")
    return names


def write_scripts(targets: Sequence[Target], book: ScriptBook, output: str | None) -> list[Path]:
    """``--dry-run`` for a fleet: one script per PC, each with that PC's values."""
    from qbd_fix import validation
    from qbd_fix.cli import output as out
    from qbd_fix.files import write_atomic

    if not output:
        raise UsageError(
            "--dry-run with several PCs writes one script per PC: add --output DIR",
            hint="or --dry-run with one --host to print the script",
        )
    folder = validation.output_path(output)
    if folder.is_file():
        raise UsageError(f"--output {output!r} is a file; a fleet dry-run needs a folder")
    scripts = [book(t) for t in targets]  # every value checked before the first file
    paths: list[Path] = []
    for target, script, name in zip(
        targets, scripts, script_file_names(targets, book.remediation.name), strict=True
    ):
        path = folder / name
        data = script.file_bytes()
        write_atomic(path, [data])
        client = target.client_name or "any client"
        out.note(f"Wrote {path} for {target.label} ({client}, {len(data)} bytes)")
        paths.append(path)
    out.note(f"{len(paths)} scripts in {folder} (UTF-8 with BOM, CRLF)")
    return paths


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

    settings: list[ConnectionOptions] = []
    for target in targets:
        item = connection_options(options, target)
        try:
            remote.check(item)
        except UsageError as exc:
            raise UsageError(f"{_where(target)}: {exc.message}", hint=exc.hint) from None
        settings.append(item)
    passwords = read_passwords(settings)
    connections: dict[tuple[str, int | None], RemoteConnection] = {}
    for target, item in zip(targets, settings, strict=True):
        try:
            connections[target.key] = remote.connection(
                item, password=passwords.get(item.password_env), read=False
            )
        except UsageError as exc:
            raise UsageError(f"{_where(target)}: {exc.message}", hint=exc.hint) from None
    return connections


# -- doctor -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DoctorSettings:
    """What ``doctor`` judges with: the command line's client name and shell."""

    client_name: str | None
    shell: Shell | None


def _judged(inner: Runner, judge: Callable[[RunOutcome], RunOutcome]) -> Runner:
    """A runner whose outcome is turned into the doctor's verdict before the scheduler sees it."""
    from qbd_fix.runners.base import Runner

    class JudgedRunner(Runner):
        def __init__(self) -> None:
            self.target = inner.target

        def run(self, script: Script, *, what_if: bool = False) -> RunOutcome:
            return judge(inner.run(script, what_if=what_if))

        def fetch(self, remote_path: str, local_path: Path, *, sha256: str | None = None) -> None:
            inner.fetch(remote_path, local_path, sha256=sha256)

        def close(self) -> None:
            inner.close()

    return JudgedRunner()


def doctor_judge(target: Target, settings: DoctorSettings) -> Callable[[RunOutcome], RunOutcome]:
    """The facts become findings: ``failed`` when any finding fails (as ``doctor`` exits 1),
    else ``ok``; the summary counts them and names the failing topics."""
    from qbd_fix.doctor import FindingStatus, report_from_result
    from qbd_fix.result import Result, Status

    def judge(outcome: RunOutcome) -> RunOutcome:
        report = report_from_result(
            outcome.result,
            target=target.label,
            client_name=target.client_name or settings.client_name,
            host=target.host,
            shell=settings.shell,
        )
        doc = report.to_dict()
        counts = doc["counts"]
        failing = [f.id for f in report.findings if f.status is FindingStatus.FAIL]
        headline = f"{counts['fail']} fail, {counts['warn']} warn, {counts['ok']} ok"
        if failing:
            headline += f": {', '.join(failing)}"
        fixes = [f.fix for f in report.findings if f.fix and f.status is not FindingStatus.OK]
        result = Result(
            "doctor",
            report.computer,
            Status.FAILED if report.failed else Status.OK,
            messages=[headline, *dict.fromkeys(fixes)],
            data={"doctor": doc},
        )
        return dataclasses.replace(outcome, result=result)

    return judge


# -- rendering --------------------------------------------------------------------------------


def _counts_text(counts: Mapping[str, int], total: int | None = None) -> str:
    parts = [
        f"[{STATUS_STYLE[s]}]{counts[s]} {label}[/]"
        for s, label in STATUS_LABEL.items()
        if counts.get(s)
    ]
    return " · ".join(parts) if parts else "[dim]none finished yet[/]"


def _plain_counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{counts[s]} {label}" for s, label in STATUS_LABEL.items() if counts.get(s))


def _eta_text(eta: float | None) -> str:
    if eta is None:
        return "ETA …"
    seconds = round(eta)
    return f"ETA {seconds // 60}:{seconds % 60:02d}"


def _write_stderr(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


class Background:
    """Report rows, audit lines and progress lines, written on a thread of their own.

    Each is a blocking system call. On the scheduler's thread every one of them
    then waits for the GIL to come back, milliseconds while the workers are
    busy, and delays the next PC: three per PC cost seconds on a 1000-PC fleet.
    Work is done in order; the first error is kept and reported at the end.
    """

    def __init__(self) -> None:
        import queue

        self._queue: queue.SimpleQueue[tuple[Callable[..., object], tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="qbd-fix writer", daemon=True)
        self._thread.start()

    def submit(self, func: Callable[..., object], *args: Any) -> None:
        self._queue.put((func, args))

    def writer(self, stream: Any) -> Callable[[str], None]:
        """A ``write(text)`` for *stream* that runs here, flushing when nothing else waits."""

        def write(text: str) -> None:
            self.submit(self._write, stream, text)

        return write

    def _write(self, stream: Any, text: str) -> None:
        stream.write(text)
        if self._queue.empty():
            stream.flush()

    def _drain(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            func, args = item
            try:
                func(*args)
            except Exception as exc:  # kept for the end: the run goes on
                if self.error is None:
                    self.error = exc

    def close(self) -> None:
        """Wait until everything submitted is written."""
        self._queue.put(None)
        self._thread.join()


class FleetProgress:
    """Progress on stderr: a live bar on a terminal, else one plain line per finished PC."""

    def __init__(
        self,
        total: int,
        title: str,
        *,
        live: bool | None = None,
        write: Callable[[str], None] | None = None,
    ) -> None:
        self.total = total
        self.title = title
        self.live = sys.stderr.isatty() if live is None else live
        self.write = write or _write_stderr
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> FleetProgress:
        if self.live:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            from qbd_fix.cli import output

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[counts]}"),
                TextColumn("[dim]{task.fields[eta]}"),
                console=output.stderr_console(),
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                self.title, total=self.total, counts=_counts_text({}), eta=_eta_text(None)
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def _say(self, markup: str, plain: str) -> None:
        if self._progress is not None:
            self._progress.console.print(markup, soft_wrap=True)
        else:
            self.write(plain + "\n")

    def __call__(self, event: FleetEvent) -> None:
        from rich.markup import escape

        from qbd_fix.fleet.scheduler import EventKind

        if event.kind is EventKind.FINISHED and event.report is not None:
            report = event.report
            status = report.status.value
            if self._progress is not None:
                self._progress.update(
                    self._task,
                    completed=event.done,
                    counts=_counts_text(event.counts),
                    eta=_eta_text(event.eta),
                )
            else:
                self.write(
                    f"[{event.done}/{event.total}] {_label(report)}: {STATUS_LABEL[status]} "
                    f"({report.duration:.1f} s) {report.summary}\n"
                )
        elif event.kind is EventKind.RETRYING:
            reason = event.error.message if event.error else "not reachable"
            text = f"{event.host}: retry {event.attempt - 1} in {event.delay:.1f} s ({reason})"
            self._say(f"[dim]{escape(text)}[/]", text)
        elif event.kind is EventKind.STOPPING:
            if event.stop_level >= 2:
                text = (
                    "Cancelled: PCs still running are reported as cancelled (they may be part-way)."
                )
            else:
                text = (
                    f"Stopping: no new PCs; waiting for {event.running} running "
                    "(Ctrl-C again to stop waiting)."
                )
            self._say(f"[yellow]{escape(text)}[/]", text)


def _label(report: HostReport) -> str:
    if report.port is None:
        return report.host
    host = f"[{report.host}]" if ":" in report.host else report.host
    return f"{host}:{report.port}"


def render_table(reports: Sequence[HostReport], console: Console) -> None:
    """The final table: host, client, status, one-line summary, duration."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("host", no_wrap=True)
    table.add_column("client", overflow="ellipsis", max_width=30, no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("summary", overflow="ellipsis", no_wrap=True, ratio=1)
    table.add_column("time", justify="right", no_wrap=True)
    for report in reports:
        status = report.status.value
        table.add_row(
            Text(_label(report)),
            Text(report.client_name or "—", style="" if report.client_name else "dim"),
            Text(STATUS_LABEL[status], style=STATUS_STYLE[status]),
            Text(report.summary),
            Text(f"{report.duration:.1f} s"),
        )
    console.print(table)


def count_line(summary: FleetSummary) -> str:
    counts = {s.value: n for s, n in summary.counts.items()}
    line = f"{summary.total} PC{'s' if summary.total != 1 else ''}: {_plain_counts(counts) or 'none run'}"
    line += f" in {summary.duration:.1f} s"
    if summary.stopped:
        line += " (stopped)" if summary.stopped == 1 else " (cancelled)"
    return line


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

    _check_numbers(fleet)
    client = invocation.values.get("ClientName") if doctor is None else doctor.client_name
    targets = _with_client(resolve_targets(connection, fleet), str(client) if client else None)
    book = ScriptBook(remediation, invocation.values)
    if run.output and not run.dry_run:
        raise UsageError("--output goes with --dry-run (it is where the scripts are written)")
    if run.dry_run:
        if fleet.report is not None:
            raise UsageError("--report goes with a run, not --dry-run")
        write_scripts(targets, book, run.output)
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
    from qbd_fix.fleet import open_report
    from qbd_fix.fleet.audit import redact, secret_parameter_names
    from qbd_fix.fleet.scheduler import FleetRun
    from qbd_fix.runners.remote import RemoteRunner

    def make_runner(target: Target) -> Runner:
        runner: Runner = RemoteRunner(connections[target.key])
        if doctor is not None:
            runner = _judged(runner, doctor_judge(target, doctor))
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
