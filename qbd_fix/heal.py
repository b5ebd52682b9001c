"""``qbd-fix heal``: diagnose, run the fixes that need no person, diagnose again.

On each PC, over one open connection: the doctor's facts script, its judgement,
then each finding's remedy when it is safe to run unattended (bring the
connector back: restart-tasks or restart-web-connector, never with a restart or
a forced close), optionally collect-logs, and the facts script again. The PC
ends healed (what was done), needing a person (the exact steps, per topic) or
failed (why), with the evidence before and after. Nothing here uninstalls,
restarts a PC or adds an antivirus exclusion: those remedies are left to a
person, by design.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qbd_fix.doctor.spec import DOCTOR
from qbd_fix.errors import QbdFixError
from qbd_fix.remediations.base import Remediation
from qbd_fix.result import Action, Check, Result, Status
from qbd_fix.runners.transfer import DEFAULT_MAX_BUNDLE_MIB
from qbd_fix.script.params import BoundError

if TYPE_CHECKING:
    from qbd_fix.doctor.command import Shell
    from qbd_fix.doctor.report import DoctorReport, Finding, Remedy
    from qbd_fix.fleet.inventory import Target
    from qbd_fix.fleet.scheduler import Perform
    from qbd_fix.runners.base import OnStep, Runner, RunOutcome
    from qbd_fix.script.engine import Script

#: The remedies heal runs by itself, each with the switches it never sets: they restart
#: a PC or end a program a person may be using.
UNATTENDED: Mapping[str, frozenset[str]] = {
    "restart-tasks": frozenset({"RestartIfUnhealthy"}),
    "restart-web-connector": frozenset({"ForceClose"}),
}

HEAL = dataclasses.replace(
    DOCTOR,
    name="heal",
    title="Make the connectors green where no person is needed",
    summary=(
        "Runs the doctor, then each fix that needs no person (bring the connector back, reset "
        "the Web Connector's log), then the doctor again; says who needs a person and why."
    ),
    may_change=(
        "restarts the connector's tasks or the Web Connector where the doctor finds it down "
        "(never restarts the PC, ends no running Web Connector)",
        "renames the Web Connector's log where the doctor finds QBWC1033 or QBWC1085",
        "collects logs into a zip, only with --collect-logs",
    ),
)


@dataclass(frozen=True)
class HealSettings:
    """How heal judges and what it may do."""

    client_name: str | None = None
    shell: Shell | None = None
    #: Topics (finding ids or topic names) to act on; empty: every one.
    only: tuple[str, ...] = ()
    collect_logs: bool = False
    what_if: bool = False
    dest: Path | None = None
    max_bundle_bytes: int = DEFAULT_MAX_BUNDLE_MIB << 20


@dataclass
class _Fix:
    finding: str
    remediation: str
    status: str
    summary: str
    performed: bool


@dataclass
class _Visit:
    """What happened on one PC, in order."""

    before: DoctorReport
    after: DoctorReport | None = None
    fixes: list[_Fix] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    bundle: str | None = None


def unattended(remedy: Remedy) -> bool:
    """Whether heal may run *remedy* with nobody there."""
    if remedy.remediation not in UNATTENDED:
        return False
    return not any(remedy.values.get(name) for name in UNATTENDED[remedy.remediation])


def _selected(finding: Finding, only: Sequence[str]) -> bool:
    wanted = {o.casefold() for o in only}
    return not wanted or finding.id.casefold() in wanted or finding.topic.casefold() in wanted


def fix_script(remedy: Remedy) -> Script:
    """The remedy's script, its values checked as the command line would check them (they
    come from the PC's facts): a value out of bounds raises ``BoundError``."""
    from qbd_fix.remediations import get

    remediation: Remediation = get(remedy.remediation)
    values = {}
    for name, value in remedy.values.items():
        parameter = remediation.parameter(name)
        parameter.check_bounds(parameter.check(value))
        values[name] = value
    return remediation.render(values)


def plan_fixes(report: DoctorReport, only: Sequence[str] = ()) -> list[tuple[Finding, Remedy]]:
    """The remedies heal would run, in the doctor's order, each once: those of failing
    findings (of the topics asked for) that need nobody there."""
    seen: set[tuple[str, tuple[tuple[str, Any], ...]]] = set()
    chosen = []
    for finding in report.findings:
        if finding.status.value != "fail" or not _selected(finding, only):
            continue
        for remedy in finding.remedies:
            key = (remedy.remediation, tuple(sorted(remedy.values.items())))
            if unattended(remedy) and key not in seen:
                seen.add(key)
                chosen.append((finding, remedy))
    return chosen


def heal_perform(settings: HealSettings) -> Perform:
    """Each PC's heal, as the scheduler's ``perform``: one runner for the whole sequence."""
    from qbd_fix import jobs
    from qbd_fix.doctor import report_from_result
    from qbd_fix.pipeline.plan import LOCAL

    def judge(target: Target, outcome: RunOutcome) -> DoctorReport:
        return report_from_result(
            outcome.result,
            target=target.label,
            client_name=target.client_name or settings.client_name,
            host=None if target.source == LOCAL else target.host,
            shell=settings.shell,
        )

    def perform(runner: Runner, facts: Script, target: Target, on_step: OnStep) -> RunOutcome:
        on_step("Gathering the facts")
        first = runner.run(facts, on_step=on_step)
        visit = _Visit(judge(target, first))
        for finding, remedy in plan_fixes(visit.before, settings.only):
            name = remedy.remediation
            try:
                script = fix_script(remedy)
            except (BoundError, TypeError, KeyError) as exc:
                visit.skipped[finding.id] = f"{name} not run: {exc}"
                continue
            on_step(f"Running {name} for {finding.id}")
            try:
                outcome = runner.run(script, what_if=settings.what_if, on_step=on_step)
            except QbdFixError as exc:
                visit.fixes.append(_Fix(finding.id, name, "failed", exc.message, False))
                continue
            result = outcome.result
            performed = any(a.performed for a in result.actions)
            visit.fixes.append(
                _Fix(finding.id, name, result.status.value, result.summary, performed)
            )
        if settings.collect_logs:
            on_step("Collecting the logs")
            logs = _collect_logs()
            try:
                collected = jobs.execute(
                    logs,
                    runner,
                    what_if=settings.what_if,
                    dest=settings.dest,
                    max_bundle_bytes=settings.max_bundle_bytes,
                    on_step=on_step,
                )
                bundle = collected.result.data.get("bundle")
                if isinstance(bundle, dict) and bundle.get("local_path"):
                    visit.bundle = str(bundle["local_path"])
            except QbdFixError as exc:
                visit.fixes.append(_Fix("logs", "collect-logs", "failed", exc.message, False))
        if any(f.performed for f in visit.fixes) and not settings.what_if:
            on_step("Gathering the facts again")
            visit.after = judge(target, runner.run(facts, on_step=on_step))
        result = verdict(visit, target, settings)
        return dataclasses.replace(first, result=result, judgement=visit.after or visit.before)

    return perform


def _collect_logs() -> Script:
    from qbd_fix.remediations import get

    return get("collect-logs").render()


def verdict(visit: _Visit, target: Target, settings: HealSettings) -> Result:
    """Healed, needs a person or failed, with the evidence before and after."""
    before, after = visit.before, visit.after or visit.before
    failing_after = {f.id: f for f in after.findings if f.status.value == "fail"}
    checks = [
        Check(
            name=f.id,
            passed=f.id not in failing_after,
            evidence=_evidence(f, after) if visit.after else "; ".join(f.evidence),
        )
        for f in before.findings
        if f.status.value == "fail"
    ]
    actions = [
        Action(f"{fix.remediation} for {fix.finding}: {fix.status} ({fix.summary})", fix.performed)
        for fix in visit.fixes
    ]
    # under -WhatIf nothing was fixed: a finding a fix would have run for needs nobody
    would_fix = {fix.finding for fix in visit.fixes} if settings.what_if else set()
    person = [
        f for f in failing_after.values() if _selected(f, settings.only) and f.id not in would_fix
    ]
    failed = [fix for fix in visit.fixes if fix.status == "failed"]
    healed = [
        f.id
        for f in before.findings
        if f.status.value == "fail" and f.id not in failing_after and _selected(f, settings.only)
    ]
    if failed:
        status = Status.FAILED
        headline = "failed: " + ", ".join(f"{fix.remediation} ({fix.summary})" for fix in failed)
    elif person:
        status = Status.NEEDS_USER_ACTION
        headline = "needs a person: " + ", ".join(f.id for f in person)
    elif visit.fixes and (settings.what_if or healed):
        status = Status.CHANGED
        done = ", ".join(dict.fromkeys(fix.remediation for fix in visit.fixes))
        headline = f"{'would heal' if settings.what_if else 'healed'} with {done}"
    else:
        status = Status.OK
        headline = "healthy: nothing to do"
    messages = [headline]
    for finding in person:
        reason = visit.skipped.get(finding.id)
        steps = finding.fix or "; ".join(finding.evidence) or finding.topic
        messages.append(f"{finding.topic}: {steps}" + (f" ({reason})" if reason else ""))
    data: dict[str, Any] = {
        "heal": {
            "healed": healed,
            "needs_person": [f.id for f in person],
            "failed": [fix.finding for fix in failed],
            "fixes": [dataclasses.asdict(fix) for fix in visit.fixes],
            "bundle": visit.bundle,
        },
        "before": before.to_dict(),
        "after": visit.after.to_dict() if visit.after else None,
        "what_if": settings.what_if,
    }
    return Result("heal", before.computer, status, checks, actions, messages, data)


def _evidence(finding: Finding, after: DoctorReport) -> str:
    now = next((f for f in after.findings if f.id == finding.id), None)
    later = "; ".join(now.evidence) if now else "not found"
    state = now.status.value if now else "?"
    return f"before: {'; '.join(finding.evidence)} | after ({state}): {later}"


def dry_run_plan() -> list[tuple[str, str]]:
    """What heal would run for each finding that can have an unattended remedy: the
    remediation and what it leaves alone (``--dry-run`` prints this after the script)."""
    return [
        (name, ", ".join(f"-{switch}" for switch in sorted(never)) or "none")
        for name, never in UNATTENDED.items()
    ]
