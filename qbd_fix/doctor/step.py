"""The doctor's judging as a pipeline step: a PC's facts become findings as its run ends."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qbd_fix.doctor.command import Shell
    from qbd_fix.fleet.inventory import Target
    from qbd_fix.fleet.scheduler import Step
    from qbd_fix.runners.base import RunOutcome


@dataclass(frozen=True)
class DoctorSettings:
    """What the doctor judges with when a PC does not say: a client name and shell."""

    client_name: str | None = None
    shell: Shell | None = None


def judge_step(settings: DoctorSettings) -> Step:
    """A step that turns each PC's facts into its :class:`~qbd_fix.doctor.DoctorReport`.

    The outcome's result becomes the verdict: ``failed`` when any finding fails (as
    ``doctor`` exits 1), else ``ok``; its summary counts the findings and names the
    failing topics, its messages are the fix commands. The report itself rides on
    ``outcome.judgement``, the facts' own result on ``outcome.judged_from``.
    """
    from qbd_fix.doctor import FindingStatus, report_from_result
    from qbd_fix.pipeline.plan import LOCAL
    from qbd_fix.result import Result, Status

    def judge(target: Target, outcome: RunOutcome) -> RunOutcome:
        report = report_from_result(
            outcome.result,
            target=target.label,
            client_name=target.client_name or settings.client_name,
            host=None if target.source == LOCAL else target.host,
            shell=settings.shell,
        )
        doc = report.to_dict()
        counts = doc["counts"]
        failing = [f.id for f in report.findings if f.status is FindingStatus.FAIL]
        headline = f"{counts['fail']} fail, {counts['warn']} warn, {counts['ok']} ok"
        if failing:
            headline += f": {', '.join(failing)}"
        fixes = [f.fix for f in report.findings if f.fix and f.status is not FindingStatus.OK]
        verdict = Result(
            "doctor",
            report.computer,
            Status.FAILED if report.failed else Status.OK,
            messages=[headline, *dict.fromkeys(fixes)],
            data={"doctor": doc},
        )
        return dataclasses.replace(
            outcome, result=verdict, judgement=report, judged_from=outcome.result
        )

    return judge
