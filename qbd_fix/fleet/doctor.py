"""``doctor`` on a fleet: each PC's facts judged into findings before the scheduler sees them.

The doctor script only gathers facts; the verdict is Python's. Wrapping the
runner lets the scheduler, the report and the audit log treat the doctor as
any other remediation, with ``failed`` meaning "a finding failed".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qbd_fix.runners.transfer import DEFAULT_MAX_BUNDLE_MIB

if TYPE_CHECKING:
    from qbd_fix.doctor.command import Shell
    from qbd_fix.fleet.inventory import Target
    from qbd_fix.runners.base import Runner, RunOutcome
    from qbd_fix.script.engine import Script


@dataclass(frozen=True)
class DoctorSettings:
    """What the doctor judges with when a PC does not say: a client name and shell."""

    client_name: str | None
    shell: Shell | None


def judged(inner: Runner, judge: Callable[[RunOutcome], RunOutcome]) -> Runner:
    """A runner whose outcome is turned into the doctor's verdict before the scheduler sees it."""
    from qbd_fix.runners.base import Runner

    class JudgedRunner(Runner):
        def __init__(self) -> None:
            self.target = inner.target

        def run(self, script: Script, *, what_if: bool = False) -> RunOutcome:
            return judge(inner.run(script, what_if=what_if))

        def fetch(
            self,
            remote_path: str,
            local_path: Path,
            *,
            sha256: str | None = None,
            size: int | None = None,
            max_bytes: int = DEFAULT_MAX_BUNDLE_MIB << 20,
        ) -> Path:
            return inner.fetch(
                remote_path, local_path, sha256=sha256, size=size, max_bytes=max_bytes
            )

        def bundle_name(self) -> str:
            return inner.bundle_name()

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
