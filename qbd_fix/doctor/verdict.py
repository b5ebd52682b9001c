"""Does the doctor name this remediation as the fix on this PC? One answer, from the findings.

A script that runs on the PC (an Intune detection script) needs the doctor's judgement for one
remediation, not the report: :func:`verdict` is that judgement in Python, the reference the
PowerShell port in ``templates/_verdict.ps1.j2`` is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass

from qbd_fix.doctor import rules
from qbd_fix.doctor.facts import Facts
from qbd_fix.doctor.report import FindingStatus

#: Findings in these states ask for their fix; an OK finding's fix (collect-logs) is an offer.
NEEDS_FIX = (FindingStatus.FAIL, FindingStatus.WARN)


@dataclass(frozen=True)
class Verdict:
    """Whether the remediation applies, and the findings (ids, in the doctor's order) that say so."""

    applies: bool
    topics: tuple[str, ...]


def verdict(facts: Facts, remediation: str, client_name: str | None = None) -> Verdict:
    """The doctor's findings that fail or warn with *remediation* among their fix commands.

    An empty *client_name* counts as none, as it does in PowerShell (a ``[string]`` parameter
    cannot tell an empty name from a missing one). Raises ValueError for an unknown remediation.
    """
    from qbd_fix.remediations import REMEDIATIONS

    if remediation not in REMEDIATIONS:
        raise ValueError(f"unknown remediation {remediation!r}; known: {', '.join(REMEDIATIONS)}")
    findings = rules.evaluate(facts, client_name=client_name or None)
    topics = tuple(f.id for f in findings if f.status in NEEDS_FIX and remediation in f.commands)
    return Verdict(applies=bool(topics), topics=topics)
