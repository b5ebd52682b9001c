"""The pipeline as a library, without the CLI: plan, execute and sinks, on one PC and a
fleet of loopback WinRM hosts, and the doctor's judging as a step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from qbd_fix import pipeline
from qbd_fix.connection import ConnectionSettings
from qbd_fix.doctor import DOCTOR
from qbd_fix.doctor.step import DoctorSettings, judge_step
from qbd_fix.fleet.audit import AuditLog
from qbd_fix.fleet.inventory import Target
from qbd_fix.fleet.report import open_report
from qbd_fix.fleet.scheduler import EventKind, FleetEvent, HostReport, HostStatus
from qbd_fix.remediations import get
from tests.loopback import Answer, FakeWinRMHost
from tests.loopback import fixtures as loopback_fixtures

winrm_host = loopback_fixtures.winrm_host
PASSWORD = "Pipe-Pw-‘q’-$(x)"
FACTS = Path(__file__).parent / "doctor" / "fixtures"


def result_line(name: str, status: str = "changed") -> str:
    doc = {
        "remediation": name,
        "computer": "PC-1",
        "status": status,
        "checks": [],
        "actions": [{"description": "restarted the tasks", "performed": True}],
        "messages": ["Tray app running again."],
        "data": {},
    }
    return json.dumps(doc)


def settings(host: FakeWinRMHost) -> ConnectionSettings:
    return ConnectionSettings(
        port=host.port, ssl=False, auth="ntlm", username=host.username, connect_timeout=5
    )


@pytest.fixture
def pcs(winrm_host: Any, monkeypatch: pytest.MonkeyPatch) -> list[FakeWinRMHost]:
    monkeypatch.setenv("QBD_FIX_PASSWORD", PASSWORD)
    made = [winrm_host(username="u", password=PASSWORD) for _ in range(3)]
    for host in made:
        host.answer(
            "remediation = 'restart-tasks'",
            Answer(
                information=["qbd-step: Reading the connector tasks", "not a step"],
                output=["qbd-step: Starting the tasks", result_line("restart-tasks")],
            ),
        )
    return made


def test_one_pc_as_a_library(pcs: list[FakeWinRMHost], tmp_path: Path) -> None:
    host = pcs[0]
    job = pipeline.Job(get("restart-tasks"), {"ClientName": "Acme"})
    plan = pipeline.plan(job, pipeline.resolve_targets(["127.0.0.1"]), settings(host))
    assert [t.host for t in plan.targets] == ["127.0.0.1"] and not plan.local
    audit = AuditLog(tmp_path / "audit.jsonl")
    events: list[FleetEvent] = []
    reports: list[HostReport] = []
    sinks = pipeline.Sinks(audit=audit, on_event=events.append, on_report=reports.append)
    summary = pipeline.Execution(plan, sinks, keep_outcomes=True).run()

    assert summary.exit_code == 0 and summary.counts[HostStatus.CHANGED] == 1
    (report,) = reports
    assert report.outcome is not None and report.outcome.result.status.value == "changed"
    (invocation,) = host.invocations
    assert invocation.script == plan.script().text, "the planned script is the one sent"
    assert invocation.parameters["ClientName"] == "Acme"
    steps = [e.step for e in events if e.kind is EventKind.STEP]
    assert steps == ["Reading the connector tasks"], "information records carry the steps"
    kinds = [e.kind for e in events]
    assert kinds.index(EventKind.STEP) < kinds.index(EventKind.FINISHED)
    (line,) = [json.loads(x) for x in audit.path.read_text(encoding="utf-8").splitlines()]
    assert (line["host"], line["port"], line["status"]) == ("127.0.0.1", host.port, "changed")
    assert PASSWORD not in audit.path.read_text(encoding="utf-8")


def test_a_fleet_as_a_library(pcs: list[FakeWinRMHost], tmp_path: Path) -> None:
    rows = [
        Target(host="127.0.0.1", port=h.port, client_name=f"Client {i}", source=f"pcs.csv:{i + 2}")
        for i, h in enumerate(pcs)
    ]
    job = pipeline.Job(get("restart-tasks"), what_if=True)
    plan = pipeline.plan(job, rows, ConnectionSettings(ssl=False, auth="ntlm", username="u"))
    report = open_report(
        tmp_path / "fleet.json", run={"remediation": "restart-tasks"}, targets=rows
    )
    execution = pipeline.Execution(plan, pipeline.Sinks(report=report), concurrency=2)
    summary = execution.run()
    assert summary.total == summary.done == 3 and summary.exit_code == 0
    assert execution.report_path == tmp_path / "fleet.json"
    doc = json.loads((tmp_path / "fleet.json").read_text(encoding="utf-8"))
    assert sorted(h["client_name"] for h in doc["hosts"]) == ["Client 0", "Client 1", "Client 2"]
    assert all(h["what_if"] for h in doc["hosts"])
    for i, host in enumerate(pcs):
        (invocation,) = host.invocations
        assert invocation.parameters["ClientName"] == f"Client {i}"
        assert invocation.parameters["WhatIf"] is True


def test_a_dry_run_plan_contacts_nothing_and_reads_no_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("QBD_FIX_PASSWORD", raising=False)
    job = pipeline.Job(get("webroot-whitelist"))
    targets = pipeline.resolve_targets(["pc01", "pc02"])
    plan = pipeline.plan(job, targets, ConnectionSettings(username="u"), contact=False)
    assert plan.connections is None and plan.script().name == "webroot-whitelist"


def test_the_doctor_judges_each_outcome_as_a_step(
    winrm_host: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QBD_FIX_PASSWORD", PASSWORD)
    host = winrm_host(username="u", password=PASSWORD)
    facts = json.loads((FACTS / "red_tray.json").read_text(encoding="utf-8"))
    doc = {"remediation": "doctor", "computer": facts["computer"], "status": "ok",
           "checks": [], "actions": [], "messages": [], "data": {"facts": facts}}  # fmt: skip
    host.answer("remediation = 'doctor'", Answer(output=[json.dumps(doc)]))
    job = pipeline.Job(DOCTOR, steps=(judge_step(DoctorSettings(shell="posix")),))
    plan = pipeline.plan(job, pipeline.resolve_targets(["127.0.0.1"]), settings(host))
    reports: list[HostReport] = []
    pipeline.Execution(plan, pipeline.Sinks(on_report=reports.append), keep_outcomes=True).run()
    (report,) = reports
    assert report.status is HostStatus.FAILED, "a failing finding fails the PC"
    assert report.summary.startswith("1 fail") and "tray-icon" in report.summary
    assert report.outcome is not None and report.outcome.judgement is not None
    assert report.outcome.judged_from is not None
    assert "facts" in report.outcome.judged_from.data
