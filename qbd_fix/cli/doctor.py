"""``qbd-fix doctor``: the command, and how its report looks on a terminal.

The command takes the remediations' flow (:func:`qbd_fix.cli.run.run_job`), with
the doctor's judging as a step of the job; its script only reads, so there is
nothing to confirm and no ``--yes`` or ``--what-if``. The judging is library
code (:mod:`qbd_fix.doctor`); this module parses options and draws the table.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from qbd_fix.cli.connection import CONNECTION_OPTIONS, pop_connection_options
from qbd_fix.cli.fleet import FLEET_OPTIONS, FleetOptions, pop_fleet_options
from qbd_fix.cli.options import RUN_OPTIONS, RunOptions, flag

if TYPE_CHECKING:
    from rich.console import Console

    from qbd_fix.connection import ConnectionSettings
    from qbd_fix.doctor.command import Shell
    from qbd_fix.doctor.report import DoctorReport
    from qbd_fix.fleet.scheduler import HostReport
    from qbd_fix.mismatch import Mismatch
    from qbd_fix.runners.base import RunOutcome

#: The shared run options that make sense for a read-only command.
DOCTOR_RUN_OPTIONS = [p for p in RUN_OPTIONS if p.name in ("dry_run", "output", "json", "debug")]

STATUS_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}


#: The client to judge, and the shell fix commands are quoted for: doctor's and heal's.
CLIENT_OPTION = flag(
    "client_name",
    str | None,
    None,
    "--client-name",
    "-c",
    metavar="NAME",
    help="Judge only this client's connector. Default: every connector found.",
)
SHELL_OPTION = flag(
    "shell",
    str | None,
    None,
    "--shell",
    metavar="posix|powershell|cmd",
    help="Quote the fix commands for this shell. Default: powershell on Windows, posix elsewhere.",
)

DOCTOR_OPTIONS: list[inspect.Parameter] = [
    CLIENT_OPTION,
    flag(
        "facts",
        str | None,
        None,
        "--facts",
        metavar="FILE",
        help="Judge a facts document saved earlier (the output of the --dry-run script run by "
        "hand, by an RMM tool or by Intune) instead of running the script: no PC is contacted.",
    ),
    SHELL_OPTION,
]


def doctor(**kwargs: Any) -> int:
    """Diagnose every troubleshooting topic on a PC (read-only) and name the fixing command.

    Exit code 0 when no finding fails, 1 when any does.
    """
    from qbd_fix import validation

    name = kwargs.pop("client_name")
    facts = kwargs.pop("facts")
    shell = parse_shell(kwargs.pop("shell"))
    run = RunOptions(**{p.name: kwargs.pop(p.name) for p in DOCTOR_RUN_OPTIONS})
    settings, hosts = pop_connection_options(kwargs)
    fleet = pop_fleet_options(kwargs)
    client_name = None if name is None else validation.client_name(name)
    if facts is not None:
        return judge_saved(facts, run, hosts, fleet, client_name=client_name, shell=shell)
    return run_doctor(run, settings, hosts, fleet, client_name=client_name, shell=shell)


_PARAMETERS = [*DOCTOR_OPTIONS, *DOCTOR_RUN_OPTIONS, *CONNECTION_OPTIONS, *FLEET_OPTIONS]
doctor.__signature__ = inspect.Signature(_PARAMETERS)  # type: ignore[attr-defined]
doctor.__annotations__ = {p.name: p.annotation for p in _PARAMETERS}


def parse_shell(value: str | None) -> Shell:
    """``--shell``: one of the shells fix commands are quoted for."""
    from qbd_fix.doctor.command import SHELLS, default_shell
    from qbd_fix.errors import UsageError

    if value is None:
        return default_shell()
    for shell in SHELLS:
        if value.lower() == shell:
            return shell
    raise UsageError(f"--shell {value!r}: one of {', '.join(SHELLS)}")


def judge_saved(
    path: str,
    run: RunOptions,
    hosts: tuple[str, ...],
    fleet: FleetOptions,
    *,
    client_name: str | None,
    shell: Shell,
) -> int:
    """``qbd-fix doctor --facts FILE``: judge a saved facts document; nothing runs anywhere."""
    from pathlib import Path

    from qbd_fix.cli import output
    from qbd_fix.doctor.saved import report_from_file
    from qbd_fix.errors import UsageError

    given = [flag for flag, used in (("--dry-run", run.dry_run), ("--output", run.output)) if used]
    if hosts:
        given.append("--host")
    given += fleet.fleet_only_flags()
    if given:
        raise UsageError(f"--facts judges a saved document: it does not go with {', '.join(given)}")
    report = report_from_file(Path(path), client_name=client_name, shell=shell)
    if run.json:
        output.json_document(report_document(report))
    else:
        render_report(report, output.stdout_console())
    return report.exit_code


def run_doctor(
    run: RunOptions,
    settings: ConnectionSettings,
    hosts: tuple[str, ...],
    fleet: FleetOptions,
    *,
    client_name: str | None = None,
    shell: Shell | None = None,
) -> int:
    """Carry out ``qbd-fix doctor``; returns the process exit code."""
    from qbd_fix.cli.run import run_job
    from qbd_fix.doctor import DOCTOR
    from qbd_fix.doctor.step import DoctorSettings, judge_step
    from qbd_fix.pipeline import Job

    job = Job(
        DOCTOR, client_name=client_name, steps=(judge_step(DoctorSettings(client_name, shell)),)
    )
    return run_job(job, run, settings, hosts, fleet, show_one=show_report)


def show_report(host_report: HostReport, run: RunOptions) -> int:
    """The doctor's findings on one PC: a table, or the ``--json`` document."""
    from qbd_fix.cli import output

    outcome = host_report.outcome
    assert outcome is not None
    assert outcome.judgement is not None
    report: DoctorReport = outcome.judgement
    if run.json:
        output.json_document(report_document(report, outcome, debug=run.debug))
    else:
        console = output.stdout_console()
        render_report(report, console, outcome)
        if run.debug:
            _render_streams(outcome, console)
    return report.exit_code


def report_document(
    report: DoctorReport, outcome: RunOutcome | None = None, *, debug: bool = False
) -> dict[str, Any]:
    """The ``--json`` document: the report, plus the raw facts and streams with ``--debug``."""
    doc = report.to_dict()
    if outcome is not None:
        doc["duration_s"] = round(outcome.duration, 3)
        found = _mismatch(outcome)
        doc["mismatch"] = found.to_dict() if found else None
        if debug:
            facts = outcome.judged_from or outcome.result
            doc["facts"] = facts.data.get("facts")
            doc["streams"] = {"output": outcome.streams.output, "errors": outcome.streams.errors}
    return doc


def _mismatch(outcome: RunOutcome) -> Mismatch | None:
    from qbd_fix.doctor import DOCTOR
    from qbd_fix.mismatch import mismatch

    return mismatch(
        outcome.judged_from or outcome.result, remediation=DOCTOR.name, host=outcome.target
    )


def render_report(
    report: DoctorReport, console: Console, outcome: RunOutcome | None = None
) -> None:
    """The findings as a table: topic, status, evidence, fix.

    What the PC reported (names, paths, log lines) is shown through
    :func:`~qbd_fix.text.visible` as plain ``Text``: no escape sequence or markup
    from the PC takes effect. Fix lines never hold such characters (see
    :func:`~qbd_fix.doctor.command.unquotable`); the notes say what was left out.
    """
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from qbd_fix.text import visible

    counts = report.to_dict()["counts"]
    headline = Text()
    headline.append("qbd-fix doctor", style="bold")
    headline.append(f" on {visible(report.computer)}: ")
    headline.append(f"{counts['fail']} fail", style=STATUS_STYLE["fail"] if counts["fail"] else "")
    headline.append(", ")
    headline.append(f"{counts['warn']} warn", style=STATUS_STYLE["warn"] if counts["warn"] else "")
    headline.append(f", {counts['ok']} ok")
    console.print(headline)
    found = _mismatch(outcome) if outcome is not None else None
    if found:
        console.print(Text(f"warning: {found.describe()}", style="bold yellow"), soft_wrap=True)

    table = Table(
        box=box.SIMPLE_HEAD, show_header=True, header_style="bold", show_lines=True, expand=True
    )
    table.add_column("topic", ratio=2, overflow="fold")
    table.add_column("status", no_wrap=True, width=6)
    table.add_column("evidence", ratio=5, overflow="fold")
    table.add_column("fix", ratio=3, overflow="fold")
    for finding in report.findings:
        status = finding.status.value
        topic = Text(visible(finding.topic))
        topic.append(f"\n[{visible(finding.id)}]", style="dim")
        fix = Text(
            "\n".join(_fix_lines(finding.fix)) or "—", style="bold" if finding.fix else "dim"
        )
        for line in finding.fix_notes:  # built with visible() already: not escaped twice
            fix.append(f"\n{line}", style="yellow")
        table.add_row(
            topic,
            Text(status.upper(), style=STATUS_STYLE[status]),
            Text("\n".join(f"• {visible(line)}" for line in finding.evidence)),
            fix,
        )
    console.print(table)
    fixes = [f for f in report.findings if f.fix and f.status.value != "ok"]
    if fixes:
        console.print(Text("To fix (copy a line as it is):", style="bold"))
        lines = [line for f in fixes for line in _fix_lines(f.fix)]
        for line in dict.fromkeys(lines):
            console.print(Text(f"  {line}"), soft_wrap=True)
        notes = [note for f in fixes for note in f.fix_notes]
        for note in dict.fromkeys(notes):
            console.print(Text(f"  note: {note}", style="yellow"), soft_wrap=True)
    for problem in report.probe_errors:
        console.print(Text(f"note: a probe failed: {visible(problem)}", style="dim"))


def _fix_lines(fix: str | None) -> list[str]:
    """One command a line; each made visible-safe (a no-op: fix lines hold no such character)."""
    from qbd_fix.text import visible

    return [visible(line) for line in (fix or "").split("\n") if line]


def _render_streams(outcome: RunOutcome, console: Console) -> None:
    from rich.text import Text

    from qbd_fix.text import visible_lines

    for name, lines in (("error", outcome.streams.errors), ("verbose", outcome.streams.verbose)):
        for line in lines:
            for piece in visible_lines(line):
                console.print(Text(f"{name}: {piece}", style="dim"))
