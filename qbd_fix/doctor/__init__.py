"""``qbd-fix doctor``: gather facts read-only, judge every troubleshooting topic, name the fix.

The split keeps Windows out of the judgement: a PowerShell script (see
:mod:`qbd_fix.doctor.spec`) only gathers facts, and :mod:`qbd_fix.doctor.rules`
decides in Python, so every decision is tested here. :func:`diagnose` takes any
:class:`~qbd_fix.runners.base.Runner`, so the same call serves this PC, a
remote host and a fleet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from qbd_fix.doctor.command import Shell, default_shell
from qbd_fix.doctor.facts import Facts
from qbd_fix.doctor.report import DoctorReport, Finding, FindingStatus
from qbd_fix.doctor.rules import evaluate
from qbd_fix.doctor.spec import DOCTOR
from qbd_fix.errors import ResultError
from qbd_fix.result import Result, Status

if TYPE_CHECKING:
    from pathlib import Path

    from qbd_fix.runners.base import Runner
    from qbd_fix.script.params import ParamValue


def report_from_result(
    result: Result,
    *,
    target: str,
    client_name: str | None = None,
    host: str | None = None,
    shell: Shell | None = None,
) -> DoctorReport:
    """Turn the facts script's result into a report; a result without facts is an error."""
    facts_doc = result.data.get("facts")
    if not isinstance(facts_doc, Mapping):
        detail = "; ".join(result.messages) or f"status {result.status.value}"
        raise ResultError(
            f"the doctor script gathered no facts on {target}: {detail}",
            hint="run again with --debug to see everything it printed",
        )
    return report_from_facts(
        Facts.from_dict(facts_doc),
        target=target,
        client_name=client_name,
        host=host,
        shell=shell,
        script_failed=result.status is Status.FAILED,
    )


def report_from_facts(
    facts: Facts,
    *,
    target: str,
    client_name: str | None = None,
    host: str | None = None,
    shell: Shell | None = None,
    script_failed: bool = False,
) -> DoctorReport:
    """Judge *facts*; fixes carry ``--host`` when *host* is given."""
    errors = list(facts.errors)
    if script_failed:
        errors.append("the facts script stopped early: some findings rest on partial facts")
    return DoctorReport(
        target=target,
        computer=facts.computer or target,
        findings=evaluate(
            facts, client_name=client_name, host=host, shell=shell or default_shell()
        ),
        probe_errors=errors,
        host=host,
    )


def diagnose(
    runner: Runner,
    *,
    host: str | None = None,
    shell: Shell | None = None,
    client_name: str | None = None,
    values: Mapping[str, ParamValue] | None = None,
) -> DoctorReport:
    """Run the read-only facts script with *runner* and judge what it found.

    *host* is the name the user reaches the PC by; it goes into every fix
    command (``--host PC01``). Leave it None for this PC.
    """
    outcome = runner.run(DOCTOR.render(values))
    return report_from_result(
        outcome.result, target=outcome.target, client_name=client_name, host=host, shell=shell
    )


def report_from_file(
    path: Path,
    *,
    client_name: str | None = None,
    shell: Shell | None = None,
) -> DoctorReport:
    """Judge a facts document saved earlier (see :mod:`qbd_fix.doctor.saved`): no PC is asked."""
    from qbd_fix.doctor.saved import report_from_file as judge

    return judge(path, client_name=client_name, shell=shell)


__all__ = [
    "DOCTOR",
    "DoctorReport",
    "Facts",
    "Finding",
    "FindingStatus",
    "diagnose",
    "evaluate",
    "report_from_facts",
    "report_from_file",
    "report_from_result",
]
