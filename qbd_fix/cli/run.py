"""The flow of one remediation command: render, preview or confirm, run, show.

Dry-run is the same pipeline stopped early (pyinfra's way): the script that is
printed is the script that would run.
"""

from __future__ import annotations

import sys
from pathlib import Path

from qbd_fix import validation
from qbd_fix.cli import output
from qbd_fix.cli.commands import Invocation
from qbd_fix.cli.connection import ConnectionOptions
from qbd_fix.cli.fleet import FleetOptions
from qbd_fix.cli.options import RunOptions
from qbd_fix.errors import UnsupportedPlatformError, UsageError
from qbd_fix.files import write_atomic
from qbd_fix.remediations.base import Remediation
from qbd_fix.runners import local
from qbd_fix.runners.base import Runner
from qbd_fix.script.engine import Script
from qbd_fix.text import visible


def script_destination(requested: str, script: Script) -> Path:
    """A folder (existing, or written with a trailing separator) gets ``<name>.ps1``.

    The separator is read from the text as typed: ``Path`` drops it.
    """
    path = validation.output_path(requested)
    if path.is_dir() or requested.endswith(("/", "\\")):
        return path / f"{script.name}.ps1"
    return path


def write_script(script: Script, requested: str) -> Path:
    """Write the ``.ps1``; a path that cannot be written is a usage error, not a crash."""
    path = Path(requested)
    try:
        path = script_destination(requested, script)
        write_atomic(path, [script.file_bytes()])
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UsageError(f"--output: cannot write {visible(str(path))}: {reason}") from None
    return path


def preview(script: Script, run: RunOptions) -> bool:
    """Handle ``--dry-run`` (print the script, or write it with ``--output``).

    Returns True when the command is done: a dry-run stops the pipeline here.
    """
    if run.output is not None and not run.output.strip():
        raise UsageError("--output is empty: give a file or folder for the script")
    if run.output and not run.dry_run:
        raise UsageError("--output goes with --dry-run (it is where the script is written)")
    if not run.dry_run:
        return False
    if run.output:
        path = write_script(script, run.output)
        output.note(f"Wrote {path} ({len(script.file_bytes())} bytes, UTF-8 with BOM, CRLF)")
    else:
        output.script(script.text)
    return True


def make_local_runner() -> Runner:
    if not local.local_supported():
        raise UnsupportedPlatformError(
            f"running on this computer needs Windows PowerShell, and this is {sys.platform}",
            hint="use --host PC to run on a remote PC, or --dry-run to get the script",
        )
    return local.LocalRunner()


def make_runner(connection: ConnectionOptions | None) -> Runner:
    """``--host`` picks PowerShell Remoting; without it, this PC."""
    from qbd_fix.cli import connection as remote

    if connection is None or not connection.remote:
        if connection is not None:
            remote.check(connection)  # remote-only options without --host are a mistake
        return make_local_runner()
    return remote.remote_runner(connection)


def confirm(remediation: Remediation, target: str, dangerous: str | None) -> None:
    """Ask before anything changes; without a terminal, --yes is the only way on."""
    changes = "; ".join(remediation.may_change)
    if not sys.stdin.isatty():
        raise UsageError(
            f"{remediation.name} may change {target}: pass --yes to confirm (no terminal to ask on)",
            hint="or --what-if to see what it would do, or --dry-run to get the script",
        )
    import typer

    output.note(f"{remediation.name} on {target} may: {changes}.")
    if dangerous:
        output.note(f"With these options it also {dangerous}.")
    if not typer.confirm("Continue?", default=False, err=True):
        raise typer.Exit(1)


def run_remediation(
    remediation: Remediation,
    invocation: Invocation,
    run: RunOptions,
    *,
    dangerous: str | None = None,
    connection: ConnectionOptions | None = None,
    fleet: FleetOptions | None = None,
) -> int:
    """Carry out one remediation command; returns the process exit code.

    Several PCs, an inventory or a fleet-only option make it a fleet run
    (:mod:`qbd_fix.cli.fleet`); every run that reaches a PC is audited.
    """
    from qbd_fix.cli import fleet as fleets

    if connection is not None and fleets.is_fleet(connection, fleet):
        assert fleet is not None  # is_fleet is False without fleet options
        return fleets.run_fleet_command(
            remediation, invocation, run, connection, fleet, dangerous=dangerous
        )
    script = remediation.render(invocation.values)
    if preview(script, run):
        return 0

    from qbd_fix import jobs

    runner = make_runner(connection)
    if remediation.may_change and not run.what_if and not run.yes:
        confirm(remediation, runner.target, dangerous)
    audit = fleets.open_audit(fleet)
    try:
        with runner:
            outcome = jobs.execute(
                script,
                runner,
                what_if=run.what_if,
                dest=invocation.dest,
                max_bundle_bytes=invocation.max_bundle_bytes,
            )
    except BaseException as exc:
        fleets.record_single(
            audit,
            target=runner.target,
            port=fleets.audit_port(connection),
            script=script,
            what_if=run.what_if,
            error=exc,
        )
        raise
    fleets.record_single(
        audit,
        target=runner.target,
        port=fleets.audit_port(connection),
        script=script,
        what_if=run.what_if,
        outcome=outcome,
    )
    if run.json:
        output.json_document(
            output.outcome_document(outcome, debug=run.debug, remediation=remediation.name)
        )
    else:
        output.outcome(outcome, debug=run.debug, remediation=remediation.name)
    return int(outcome.result.status.exit_code)
