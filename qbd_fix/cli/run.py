"""Every command's flow, as stages over :mod:`qbd_fix.pipeline`: check the options, plan,
stop there for ``--dry-run``, confirm, execute, show.

The stages are the library's; this module only asks (a password, a
confirmation) and draws. One PC and a fleet take the same path: a fleet shows
a progress bar and a table, one PC its step line and its result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qbd_fix import validation
from qbd_fix.cli import output
from qbd_fix.cli.fleet import FleetOptions, check_numbers, is_fleet, refuse_overlaps
from qbd_fix.cli.options import RunOptions
from qbd_fix.errors import ExitCode, QbdFixError, UsageError
from qbd_fix.files import write_atomic
from qbd_fix.text import visible

if TYPE_CHECKING:
    from qbd_fix.connection import ConnectionSettings
    from qbd_fix.fleet.scheduler import HostReport
    from qbd_fix.pipeline import Job, Plan
    from qbd_fix.remediations.base import Remediation
    from qbd_fix.script.engine import Script

#: Shows a one-PC run's report; returns the exit code.
ShowOne = Callable[["HostReport", RunOptions], int]


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


def _check_output(run: RunOptions) -> None:
    if run.output is not None and not run.output.strip():
        raise UsageError("--output is empty: give a file or folder for the script")
    if run.output and not run.dry_run:
        raise UsageError("--output goes with --dry-run (it is where the script is written)")


def _paths(
    job: Job, settings: ConnectionSettings, fleet: FleetOptions, run: RunOptions
) -> tuple[list[tuple[str, str | None]], list[tuple[str, str | None]]]:
    """The files this run reads and writes, by flag, so one cannot overwrite another."""
    from qbd_fix.fleet.audit import default_path

    inputs = [
        ("--inventory", fleet.inventory),
        ("--inventory-from-ansible", fleet.inventory_from_ansible),
        ("--ca-file", settings.ca_file),
        ("--certificate-pem", settings.certificate_pem),
        ("--certificate-key-pem", settings.certificate_key_pem),
    ]
    outputs = [
        ("--report", fleet.report),
        ("--dest", str(job.dest) if job.dest is not None else None),
        ("--output", run.output),
    ]
    if not run.dry_run:
        outputs.append(("--audit-log", fleet.audit_log or str(default_path())))
    return inputs, outputs


def _dry_run(plan: Plan, run: RunOptions, many: bool, inputs: list[Any]) -> int:
    """Print the script, or write it (one file per PC for a fleet)."""
    from qbd_fix.fleet.scripts import script_file_names, write_scripts

    if not many:
        script = plan.script()
        if run.output:
            path = write_script(script, run.output)
            output.note(f"Wrote {path} ({len(script.file_bytes())} bytes, UTF-8 with BOM, CRLF)")
        else:
            output.script(script.text)
        return 0
    if not run.output:
        raise UsageError(
            "--dry-run with several PCs writes one script per PC: add --output DIR",
            hint="or --dry-run with one --host to print the script",
        )
    folder = Path(run.output).expanduser()
    names = script_file_names(plan.targets, plan.job.remediation.name)
    refuse_overlaps(inputs, [("--output", str(folder / name)) for name in names])

    def written(target: Any, path: Path, size: int) -> None:
        client = target.client_name or "any client"
        output.note(f"Wrote {path} for {target.label} ({client}, {size} bytes)")

    paths = write_scripts(plan.targets, plan.book, run.output, on_write=written)
    output.note(f"{len(paths)} scripts in {folder} (UTF-8 with BOM, CRLF)")
    return 0


def confirm(remediation: Remediation, plan: Plan, dangers: Sequence[str]) -> None:
    """Ask before anything changes; without a terminal, --yes is the only way on."""
    from qbd_fix.cli import fleet

    count = len(plan.targets)
    where = "this PC" if plan.local else (plan.targets[0].label if count == 1 else f"{count} PCs")
    if not fleet.interactive():
        raise UsageError(
            f"{remediation.name} may change {where}: pass --yes to confirm (no terminal to ask on)",
            hint="or --what-if to see what it would do, or --dry-run to get the script",
        )
    import typer

    if count > 5:
        shown = ", ".join(t.label for t in plan.targets[:5]) + f" and {count - 5} more"
        where = f"{where} ({shown})"
    elif count > 1:
        where = f"{where} ({', '.join(t.label for t in plan.targets)})"
    output.note(f"{remediation.name} on {where} may: {'; '.join(remediation.may_change)}.")
    if dangers:
        output.note(f"With these options it also {'; '.join(dangers)}.")
    question = f"Continue on all {count} PCs?" if count > 1 else "Continue?"
    if not typer.confirm(question, default=False, err=True):
        raise typer.Exit(1)


def run_job(
    job: Job,
    run: RunOptions,
    settings: ConnectionSettings,
    hosts: tuple[str, ...],
    fleet: FleetOptions,
    *,
    show_one: ShowOne,
    dangers: Sequence[str] = (),
) -> int:
    """Carry out a command: one remediation (or the doctor) on this PC, one PC or a fleet."""
    from qbd_fix import pipeline
    from qbd_fix.cli.connection import password_prompt

    _check_output(run)
    many = is_fleet(hosts, fleet)
    inputs, outputs = _paths(job, settings, fleet, run)
    if many:
        check_numbers(fleet)
        refuse_overlaps(inputs, outputs)
        if run.dry_run:
            for flag, used in (("--report", fleet.report), ("--canary", fleet.canary)):
                if used is not None:
                    raise UsageError(f"{flag} goes with a run, not --dry-run")
        elif job.dest is not None and job.dest.suffix.lower() == ".zip":
            raise UsageError(
                "--dest names one .zip file; a fleet run brings home one zip per PC: give a folder"
            )
    remote = bool(hosts) or fleet.inventory is not None or fleet.inventory_from_ansible is not None
    targets = None
    if remote:
        targets = pipeline.resolve_targets(
            hosts,
            fleet.inventory,
            fleet.limit,
            ansible=fleet.inventory_from_ansible,
            allow_passwords=fleet.allow_inventory_passwords,
            on_skip=output.note,
        )
    if run.dry_run:
        return _dry_run(pipeline.plan(job, targets, settings, contact=False), run, many, inputs)
    plan = pipeline.plan(job, targets, settings, ask=password_prompt(settings, hosts))
    if job.remediation.may_change and not job.what_if and not run.yes:
        confirm(job.remediation, plan, dangers)
    sinks = pipeline.Sinks(audit=pipeline.execute.open_audit(fleet.audit_log))
    if many:
        from qbd_fix.cli.fleet_view import run_fleet

        return run_fleet(plan, sinks, run, fleet)
    return _run_one(plan, sinks, run, show_one)


def _run_one(plan: Plan, sinks: Any, run: RunOptions, show_one: ShowOne) -> int:
    """One PC: a live step line while it runs, then its result; a failure is raised as it
    was (the same one-line error and exit code as any other)."""
    from qbd_fix.cli.fleet import stop_signals
    from qbd_fix.cli.output import StepLine
    from qbd_fix.pipeline import Execution

    reports: list[HostReport] = []
    sinks.on_report = reports.append
    target = plan.targets[0]
    name = plan.job.remediation.name
    with StepLine(f"{name} on {'this PC' if plan.local else target.label}") as line:
        sinks.on_event = line
        execution = Execution(plan, sinks, concurrency=1, retries=0, keep_outcomes=True)
        with stop_signals(execution, first_cancels=True):
            execution.run()
    report = reports[0]
    if report.exception is not None:
        raise report.exception
    if report.outcome is None:  # Ctrl-C or SIGTERM stopped the wait: no outcome
        failure = QbdFixError("interrupted")
        failure.exit_code = ExitCode(report.exit_code)
        raise failure
    return show_one(report, run)


def show_outcome(report: HostReport, run: RunOptions) -> int:
    """A remediation's result on one PC."""
    outcome = report.outcome
    assert outcome is not None
    if run.json:
        output.json_document(
            output.outcome_document(outcome, debug=run.debug, remediation=report.remediation)
        )
    else:
        output.outcome(outcome, debug=run.debug, remediation=report.remediation)
    return int(outcome.result.status.exit_code)


def run_remediation(
    remediation: Remediation,
    invocation: Any,
    run: RunOptions,
    settings: ConnectionSettings,
    hosts: tuple[str, ...],
    fleet: FleetOptions,
) -> int:
    """A remediation command: its values checked, then the common flow."""
    from qbd_fix.pipeline import Job

    job = Job(
        remediation,
        invocation.values,
        what_if=run.what_if,
        dest=invocation.dest,
        max_bundle_bytes=invocation.max_bundle_bytes,
    )
    return run_job(
        job, run, settings, hosts, fleet, show_one=show_outcome, dangers=invocation.dangers
    )
