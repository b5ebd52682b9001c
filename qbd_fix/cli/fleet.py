"""Fleet runs from the command line: many PCs, one remediation, one confirmation.

Several ``--host`` values, an ``--inventory`` file or any fleet-only option
(``--limit``, ``--report``, ``--host-timeout``, ``--retries``, ``--canary``) switch a command
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
from collections.abc import Iterator, Mapping, Sequence
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
    inventory_from_ansible: str | None = None
    allow_inventory_passwords: bool = False
    limit: tuple[str, ...] = ()
    concurrency: int = DEFAULT_CONCURRENCY
    host_timeout: float | None = None
    retries: int | None = None
    report: str | None = None
    audit_log: str | None = None
    canary: int | None = None

    def fleet_only_flags(self) -> list[str]:
        """Options that only make sense for a fleet run (they switch one ``--host`` to one)."""
        return [
            flag
            for flag, used in (
                ("--inventory", self.inventory is not None),
                ("--inventory-from-ansible", self.inventory_from_ansible is not None),
                ("--allow-inventory-passwords", self.allow_inventory_passwords),
                ("--limit", bool(self.limit)),
                ("--report", self.report is not None),
                ("--host-timeout", self.host_timeout is not None),
                ("--retries", self.retries is not None),
                ("--canary", self.canary is not None),
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
                help="Run on the PCs listed in this .csv, .toml or Ansible .ini/.yml file "
                "(see README: Fleets).",
                rich_help_panel=PANEL,
            ),
        ],
        None,
    ),
    option(
        "inventory_from_ansible",
        Annotated[
            str | None,
            typer.Option(
                "--inventory-from-ansible",
                metavar="SRC",
                help="Run on the PCs of an Ansible inventory as ansible-inventory reads it "
                "(folders, plugins, vault files).",
                rich_help_panel=PANEL,
            ),
        ],
        None,
    ),
    option(
        "allow_inventory_passwords",
        Annotated[
            bool,
            typer.Option(
                "--allow-inventory-passwords",
                help="Use the passwords an Ansible inventory sets (kept in memory only); "
                "refused by default.",
                rich_help_panel=PANEL,
            ),
        ],
        False,
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
        "canary",
        Annotated[
            int | None,
            typer.Option(
                "--canary",
                metavar="N",
                help="Run the first N PCs first; if any of them ends in a script error "
                "(the script itself broke), start no other PC.",
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
    if flags and not hosts and fleet.inventory is None and fleet.inventory_from_ansible is None:
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


def audit_port(options: ConnectionOptions | None) -> int | None:
    """The port a connection uses (the scheme's default when none is given), for audit lines."""
    if options is None or not options.remote:
        return None
    return options.port if options.port is not None else (5986 if options.ssl else 5985)


def record_single(
    log: AuditLog,
    *,
    target: str,
    port: int | None = None,
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
            port=port,
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
        port=port,
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
    from qbd_fix.cli import output
    from qbd_fix.fleet import inventory

    given = [
        flag
        for flag, value in (
            ("--inventory", fleet.inventory),
            ("--inventory-from-ansible", fleet.inventory_from_ansible),
            ("--host", connection.hosts or None),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise UsageError(
            f"{' and '.join(given)}: give one of them",
            hint="add the PC to the inventory, or pick PCs from it with --limit",
        )
    allow = fleet.allow_inventory_passwords
    if fleet.inventory is not None:
        targets = inventory.load(fleet.inventory, allow_passwords=allow)
    elif fleet.inventory_from_ansible is not None:
        targets = inventory.load_from_ansible(fleet.inventory_from_ansible, allow_passwords=allow)
    else:
        targets = inventory.targets_from_hosts(connection.hosts)
    targets, skipped = inventory.runnable(inventory.select(targets, list(fleet.limit)))
    for line in skipped:
        output.note(line)
    if not targets:
        raise UsageError("no PC to run on: every host selected was skipped (see above)")
    return targets


def _check_numbers(fleet: FleetOptions) -> None:
    if not 1 <= fleet.concurrency <= MAX_CONCURRENCY:
        raise UsageError(f"--concurrency must be between 1 and {MAX_CONCURRENCY}")
    if fleet.canary is not None and fleet.canary < 1:
        raise UsageError("--canary must be at least 1 (the number of PCs to try first)")
    if fleet.host_timeout is not None and not 0 < fleet.host_timeout <= 86400:
        raise UsageError("--host-timeout must be more than 0 and at most 86400 seconds")
    if fleet.retries is not None and not 0 <= fleet.retries <= MAX_RETRIES:
        raise UsageError(f"--retries must be between 0 and {MAX_RETRIES}")


def _same_file(first: Path, second: Path) -> bool:
    """Whether two paths name one file (symlinks followed, hard links too: same inode)."""
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist (yet): not the same file
        return False


def refuse_overlaps(
    inputs: Sequence[tuple[str, str | None]], outputs: Sequence[tuple[str, str | None]]
) -> None:
    """Refuse an output path that is an input file or another output, before anything is
    written: ``--report pcs.csv`` would replace the inventory it was read from."""
    given_in = [(flag, Path(value).expanduser()) for flag, value in inputs if value]
    given_out = [(flag, Path(value).expanduser()) for flag, value in outputs if value]
    for index, (flag, path) in enumerate(given_out):
        for other_flag, other in [*given_in, *given_out[:index]]:
            if _same_file(path, other):
                what = "an input" if (other_flag, other) in given_in else "another output"
                raise UsageError(
                    f"{flag} {str(path)!r} is the same file as {other_flag} {str(other)!r}: "
                    f"refusing to write over {what}",
                    hint=f"give {flag} a file of its own",
                )


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


def _said(target: Target, item: ConnectionOptions, name: str) -> str:
    """A setting as the user gave it: ``auth=basic`` from an inventory row, else the flag."""
    from_row = getattr(target, name) is not None
    if name == "ssl":
        if from_row:
            return f"ssl={'true' if item.ssl else 'false'}"
        return "--ssl" if item.ssl else "--no-ssl"
    if name == "auth":
        return f"auth={item.auth.value}" if from_row else f"--auth {item.auth.value}"
    return name if from_row else f"--{name}"


def _row_conflict(target: Target, item: ConnectionOptions) -> UsageError | None:
    """The settings that do not fit together when an inventory row set one of them, worded
    with the row's columns (``auth=basic with ssl=false``); flags alone are left to
    :func:`qbd_fix.cli.connection.check`, which words them as flags."""
    import ipaddress

    from qbd_fix.cli.connection import Auth

    auth, ssl = _said(target, item, "auth"), _said(target, item, "ssl")
    by_row = target.auth is not None or target.ssl is not None
    if item.auth is Auth.basic and not item.ssl and by_row:
        return UsageError(
            f"{auth} with {ssl} is refused: Basic sends the password in clear text and WinRM "
            "cannot encrypt Basic messages",
            hint="set ssl=true (an HTTPS listener), or auth=negotiate or ntlm, "
            "which encrypt over HTTP",
        )
    if item.auth is Auth.certificate and not item.ssl and by_row:
        return UsageError(f"{auth} needs ssl=true (client certificates are a TLS feature)")
    if target.auth is None:
        return None
    if item.auth is Auth.certificate and not (item.certificate_pem and item.certificate_key_pem):
        return UsageError(f"{auth} needs --certificate-pem and --certificate-key-pem")
    if item.auth is not Auth.certificate and (item.certificate_pem or item.certificate_key_pem):
        return UsageError(
            f"--certificate-pem and --certificate-key-pem go with auth=certificate, not {auth}"
        )
    if item.auth in (Auth.negotiate, Auth.ntlm, Auth.credssp, Auth.basic) and not item.username:
        return UsageError(f"{auth} needs a user name: a username column or --username")
    if item.auth is Auth.kerberos:
        try:
            ipaddress.ip_address(target.host)
        except ValueError:
            return None
        return UsageError(
            f"{auth} needs the PC's name, not an IP address (Kerberos tickets name hosts)"
        )
    return None


def _default_port(item: ConnectionOptions) -> int:
    return item.port if item.port is not None else (5986 if item.ssl else 5985)


def _needs_password(options: ConnectionOptions) -> bool:
    from qbd_fix.cli.connection import Auth

    return options.auth not in (Auth.certificate, Auth.kerberos)


def read_passwords(settings: Mapping[ConnectionOptions, int]) -> dict[str, str | None]:
    """Each distinct password variable read once; missing ones asked for once on a terminal,
    else one error naming them all (nothing has run yet). *settings* counts the PCs of
    each distinct connection setting."""
    import getpass

    from qbd_fix.cli.connection import Auth

    users: dict[str, int] = {}
    needed: dict[str, int] = {}
    for item, count in settings.items():
        if item.auth is not Auth.certificate:
            users[item.password_env] = users.get(item.password_env, 0) + count
        if _needs_password(item):
            needed[item.password_env] = needed.get(item.password_env, 0) + count
    passwords: dict[str, str | None] = {}
    missing: dict[str, int] = {}
    for name in users:
        value = os.environ.get(name)
        if value:
            passwords[name] = value
        elif name in needed:
            missing[name] = needed[name]
        else:
            passwords[name] = None  # Kerberos only: the ticket cache stands in
    if not missing:
        return passwords
    if not interactive():
        from qbd_fix.cli.connection import shown_variable

        listed = ", ".join(
            f"{shown_variable(name)} ({count} PC{'s' if count > 1 else ''})"
            for name, count in missing.items()
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


def _shape(target: Target) -> tuple[object, ...]:
    """What a row sets about its connection, apart from its host: rows alike share one
    check and one connection template (an inventory of 100,000 PCs has a handful)."""
    return (target.port, target.ssl, target.auth, target.username, target.password_env)


class Connections:
    """Every PC's checked connection settings, passwords read; a PC's
    :class:`~qbd_fix.runners.remote.RemoteConnection` is made when its turn comes."""

    def __init__(self, options: ConnectionOptions, targets: Sequence[Target]) -> None:
        from qbd_fix.cli import connection as remote
        from qbd_fix.fleet.scripts import where

        self.options = options
        shapes: dict[tuple[object, ...], ConnectionOptions] = {}
        counts: dict[ConnectionOptions, int] = {}
        seen: dict[tuple[str, int], Target] = {}
        for target in targets:
            shape = _shape(target)
            item = shapes.get(shape)
            try:
                if item is None:  # the first row of its kind: checked in full
                    item = shapes[shape] = connection_options(options, target)
                    problem = _row_conflict(target, item)
                    if problem is not None:
                        raise problem
                    remote.check(item)
                elif item.auth.value == "kerberos":  # a name, not an address, on every row
                    problem = _row_conflict(target, item)
                    if problem is not None:
                        raise problem
                    self._kerberos_name(target, item)
            except UsageError as exc:
                raise UsageError(f"{where(target)}: {exc.message}", hint=exc.hint) from None
            counts[item] = counts.get(item, 0) + 1
            # a blank port and the scheme's default port are one PC, as duplicates are refused
            port = _default_port(item)
            first = seen.setdefault((target.host.casefold(), port), target)
            if first is not target:
                if target.source == "--host":
                    raise UsageError(f"--host {target.host!r} is given twice")
                raise UsageError(
                    f"{target.source}: duplicate host {target.label!r} (first at "
                    f"{first.source} as {first.label!r}; a blank port means {port} here)"
                )
        self._shapes = shapes
        self.passwords = read_passwords(counts)
        self._templates: dict[tuple[object, ...], RemoteConnection] = {}
        for shape, item in shapes.items():
            self._templates[shape] = remote.connection(
                item, password=self.passwords.get(item.password_env), read=False
            )

    @staticmethod
    def _kerberos_name(target: Target, item: ConnectionOptions) -> None:
        from qbd_fix.cli import connection as remote

        remote.check(dataclasses.replace(item, host=target.host))

    def __call__(self, target: Target) -> RemoteConnection:
        """This PC's connection: its row's template with its own host."""
        return dataclasses.replace(self._templates[_shape(target)], host=target.host)

    def port(self, target: Target) -> int:
        """The port this PC is reached on (the scheme's default when none is given)."""
        return _default_port(self._shapes[_shape(target)])

    @property
    def secrets(self) -> list[str]:
        return [value for value in self.passwords.values() if value]


# -- the run ----------------------------------------------------------------------------------


@contextmanager
def stop_signals(fleet_run: FleetRun) -> Iterator[None]:
    """Ctrl-C during the run: first stop starting PCs, then stop waiting. SIGTERM (a service
    manager, ``kill``): stop waiting at once, so the report is still written before the
    process ends. The old handlers come back afterwards. Only the main thread may set
    handlers; elsewhere the scheduler's own KeyboardInterrupt handling serves."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigint(signum: int, frame: object) -> None:
        fleet_run.stop()

    def on_sigterm(signum: int, frame: object) -> None:
        fleet_run.cancel()

    previous = signal.signal(signal.SIGINT, on_sigint)
    previous_term = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, previous_term)


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


@dataclass
class Plan:
    """Everything checked before the first PC is contacted."""

    targets: list[Target]
    book: ScriptBook
    connections: Connections


def preflight(
    remediation: Remediation,
    invocation: Invocation,
    connection: ConnectionOptions,
    fleet: FleetOptions,
    *,
    client: str | None,
) -> Plan:
    """The PCs, every PC's values and its checked connection (passwords read): a bad row
    or a missing password stops the run here. Linear in the PCs, and light: scripts are
    rendered when a PC's turn comes, not here."""
    from qbd_fix.fleet.scripts import ScriptBook, with_client

    targets = with_client(resolve_targets(connection, fleet), client)
    book = ScriptBook(remediation, invocation.values)
    for target in targets:
        book.check(target)
    return Plan(targets, book, Connections(connection, targets))


def _inputs_and_outputs(
    connection: ConnectionOptions, fleet: FleetOptions, run: RunOptions, invocation: Invocation
) -> tuple[list[tuple[str, str | None]], list[tuple[str, str | None]]]:
    from qbd_fix.fleet.audit import default_path

    inputs = [
        ("--inventory", fleet.inventory),
        ("--inventory-from-ansible", fleet.inventory_from_ansible),
        ("--ca-file", connection.ca_file),
        ("--certificate-pem", connection.certificate_pem),
        ("--certificate-key-pem", connection.certificate_key_pem),
    ]
    outputs = [
        ("--report", fleet.report),
        ("--dest", str(invocation.dest) if invocation.dest is not None else None),
        ("--output", run.output),
    ]
    if not run.dry_run:
        outputs.append(("--audit-log", fleet.audit_log or str(default_path())))
    return inputs, outputs


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
    inputs, outputs = _inputs_and_outputs(connection, fleet, run, invocation)
    refuse_overlaps(inputs, outputs)
    client = invocation.values.get("ClientName") if doctor is None else doctor.client_name
    client_text = str(client) if client else None
    if run.output and not run.dry_run:
        raise UsageError("--output goes with --dry-run (it is where the scripts are written)")
    if run.dry_run:
        from qbd_fix.fleet.scripts import ScriptBook, script_file_names, with_client

        for flag, used in (("--report", fleet.report), ("--canary", fleet.canary)):
            if used is not None:
                raise UsageError(f"{flag} goes with a run, not --dry-run")
        targets = with_client(resolve_targets(connection, fleet), client_text)
        if run.output:
            folder = Path(run.output).expanduser()
            names = script_file_names(targets, remediation.name)
            refuse_overlaps(inputs, [("--output", str(folder / name)) for name in names])
        dry_run_scripts(targets, ScriptBook(remediation, invocation.values), run.output)
        return 0
    if invocation.dest is not None and invocation.dest.suffix.lower() == ".zip":
        raise UsageError(
            "--dest names one .zip file; a fleet run brings home one zip per PC: give a folder"
        )
    plan = preflight(remediation, invocation, connection, fleet, client=client_text)
    targets, book, connections = plan.targets, plan.book, plan.connections
    if remediation.may_change and not run.what_if and not run.yes:
        _confirm(remediation, targets, dangerous)
    audit = open_audit(fleet)
    from qbd_fix.cli.fleet_view import Background, FleetProgress, count_line, render_table
    from qbd_fix.fleet import open_report
    from qbd_fix.fleet.audit import redact, secret_parameter_names, url_secrets
    from qbd_fix.fleet.doctor import doctor_judge, judged
    from qbd_fix.fleet.report import host_document, identity
    from qbd_fix.fleet.scheduler import FleetRun
    from qbd_fix.runners.remote import RemoteRunner

    def make_runner(target: Target) -> Runner:
        runner: Runner = RemoteRunner(connections(target))
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
                "inventory": fleet.inventory or fleet.inventory_from_ansible,
                "limit": list(fleet.limit),
                "concurrency": fleet.concurrency,
                "canary": fleet.canary,
                "hosts": len(targets),
            },
            targets=targets,
        )
    order = {t.key: i for i, t in enumerate(targets)}
    by_key = {t.key: t for t in targets}
    finished: list[tuple[int, HostReport]] = []
    files = Background()

    def write(report: HostReport, script: Script | None) -> None:
        """On the writer thread: the report row, and the audit line of a PC that was tried."""
        if report_file is not None:
            report_file.write(report)
        if report.status.value != "not_run":
            target = by_key.get((report.host.casefold(), report.port))
            port = connections.port(target) if target is not None else None
            audit.record_report(report, script, port=port)

    def record(report: HostReport, script: Script | None) -> None:
        files.submit(write, report, script)
        light = report if run.json else dataclasses.replace(report, result=identity(report))
        finished.append((order.get((report.host.casefold(), report.port), len(order)), light))

    secrets = connections.secrets
    secrets += url_secrets(invocation.values)
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
            record=record,
            secrets=secrets,
            canary=fleet.canary or 0,
            **options,
        )
        # the handlers stay until the report is in place: a SIGTERM now must not leave
        # a half-written report behind
        with stop_signals(fleet_run):
            try:
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
            {"hosts": [host_document(r) for r in reports], "summary": summary.to_dict()}
        )
        output.note(count_line(summary))
    else:
        console = output.stdout_console()
        render_table(reports, console)
        console.print(count_line(summary), highlight=False, markup=False)
    from qbd_fix.fleet.scheduler import HostStatus

    if summary.canary_failures:
        failed = summary.canary_failures
        output.note(
            f"Canary: {', '.join(failed)} ended in a script error; "
            f"{summary.counts.get(HostStatus.NOT_RUN, 0)} other PCs were not run."
        )
    if report_file is not None:
        output.note(f"Report: {path}")
    return summary.exit_code
