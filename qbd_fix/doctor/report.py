"""Findings and the report that carries them: plain data, JSON-ready, no Rich."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class FindingStatus(str, Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Remedy:
    """The fix for a finding as data: a remediation and its script values. The fix command
    shown is written from it (the remediation's own flags), and ``heal`` runs it."""

    remediation: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    """One troubleshooting topic judged on one PC, with the command that fixes it."""

    id: str
    topic: str
    status: FindingStatus
    evidence: list[str] = field(default_factory=list)
    fix: str | None = None
    #: Why a value the PC reported is a placeholder in the fix (it cannot be pasted safely).
    fix_notes: list[str] = field(default_factory=list)
    #: The fix commands as data: a remediation and its values each (``heal`` runs them).
    remedies: tuple[Remedy, ...] = ()
    #: The ``qbd-fix`` subcommands the fix lines name, placeholders or not (not in the JSON:
    #: the fix text says it).
    commands: tuple[str, ...] = ()
    #: Each fix line's subcommand and the switch parameters it sets (PowerShell names), in
    #: the order shown, repeats dropped (not in the JSON either).
    runs: tuple[tuple[str, frozenset[str]], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "topic": self.topic,
            "status": self.status.value,
            "evidence": list(self.evidence),
            "fix": self.fix,
            "fix_notes": list(self.fix_notes),
        }


@dataclass(frozen=True)
class DoctorReport:
    """All findings for one PC; the exit code is 1 when any finding fails."""

    target: str
    computer: str
    findings: list[Finding]
    probe_errors: list[str] = field(default_factory=list)
    host: str | None = None

    @property
    def failed(self) -> bool:
        return any(f.status is FindingStatus.FAIL for f in self.findings)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def finding(self, finding_id: str) -> Finding:
        return next(f for f in self.findings if f.id == finding_id)

    def to_dict(self) -> dict[str, Any]:
        counts = {s.value: sum(1 for f in self.findings if f.status is s) for s in FindingStatus}
        return {
            "target": self.target,
            "computer": self.computer,
            "status": "fail" if self.failed else ("warn" if counts["warn"] else "ok"),
            "counts": counts,
            "findings": [f.to_dict() for f in self.findings],
            "probe_errors": list(self.probe_errors),
        }
