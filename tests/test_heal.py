"""``qbd-fix heal`` against loopback WinRM hosts: the facts, the unattended fixes on the
same connection, the facts again, and a verdict per PC."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qbd_fix import pipeline
from qbd_fix.cli.app import app
from qbd_fix.connection import ConnectionSettings
from qbd_fix.doctor.report import Remedy
from qbd_fix.fleet.scheduler import HostReport, HostStatus
from qbd_fix.heal import HEAL, HealSettings, heal_perform, unattended
from tests.loopback import Answer, FakeWinRMHost
from tests.loopback import fixtures as loopback_fixtures

winrm_host = loopback_fixtures.winrm_host
PASSWORD = "Heal-Pw-‘q’-$(x)"
FACTS = Path(__file__).parent / "doctor" / "fixtures"


def facts_line(fixture: str) -> str:
    facts = json.loads((FACTS / f"{fixture}.json").read_text(encoding="utf-8"))
    doc = {"remediation": "heal", "computer": facts["computer"], "status": "ok",
           "checks": [], "actions": [], "messages": [], "data": {"facts": facts}}  # fmt: skip
    return json.dumps(doc)


def fix_line(name: str, status: str) -> str:
    performed = status == "changed"
    doc = {"remediation": name, "computer": "PC01", "status": status, "checks": [],
           "actions": [{"description": "ran the tasks", "performed": performed}],
           "messages": [f"{name}: {status}"], "data": {}}  # fmt: skip
    return json.dumps(doc)


def pc(winrm_host: Any, *facts: str, fix: str = "changed") -> FakeWinRMHost:
    """A PC whose facts script answers *facts* in turn (the last one from then on)."""
    host: FakeWinRMHost = winrm_host(username="u", password=PASSWORD)
    answers = list(facts)

    def next_facts(_invocation: Any) -> Answer:
        line = answers.pop(0) if len(answers) > 1 else answers[0]
        return Answer(output=[facts_line(line)])

    host.answer("remediation = 'heal'", next_facts)
    for name in ("restart-tasks", "restart-web-connector"):
        host.answer(f"remediation = '{name}'", Answer(output=[fix_line(name, fix)]))
    return host


def remote(host: FakeWinRMHost) -> list[str]:
    return ["--host", "127.0.0.1", "--port", str(host.port), "--no-ssl", "--auth", "ntlm",
            "-u", "u", "--connect-timeout", "5"]  # fmt: skip


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), env={"QBD_FIX_PASSWORD": PASSWORD})


def scripts_run(host: FakeWinRMHost) -> list[str]:
    names = []
    for invocation in host.invocations:
        for name in ("heal", "restart-tasks", "restart-web-connector", "collect-logs"):
            if f"remediation = '{name}'" in invocation.script:
                names.append(name)
    return names


def test_a_red_tray_icon_is_healed_on_one_connection(winrm_host: Any) -> None:
    host = pc(winrm_host, "red_tray", "healthy")
    ran = cli("heal", *remote(host), "--yes", "--json")
    assert ran.exit_code == 0, ran.output
    doc = json.loads(ran.stdout)
    assert doc["status"] == "changed" and doc["messages"][0] == "healed with restart-tasks"
    assert doc["data"]["heal"]["healed"] == ["tray-icon"]
    assert doc["data"]["before"]["status"] == "fail" and doc["data"]["after"]["status"] == "ok"
    assert scripts_run(host) == ["heal", "restart-tasks", "heal"]
    (fix,) = [i for i in host.invocations if "remediation = 'restart-tasks'" in i.script]
    assert fix.parameters["ClientName"] == "Codat Engineering - Integration"
    assert fix.parameters["RestartIfUnhealthy"] is False, "heal never restarts a PC"
    assert host.requests_by_action["Create"] == 1, "one PowerShell session for the whole sequence"


def test_a_closed_web_connector_is_started_again_once(winrm_host: Any) -> None:
    host = pc(winrm_host, "web_connector_closed", "web_connector")
    ran = cli("heal", *remote(host), "--yes", "--json")
    assert ran.exit_code == 0, ran.output
    doc = json.loads(ran.stdout)
    assert doc["messages"][0] == "healed with restart-web-connector"
    assert set(doc["data"]["heal"]["healed"]) == {"tray-icon", "queued-syncs"}
    # two findings share one remedy: it runs once, never with -ForceClose
    assert scripts_run(host) == ["heal", "restart-web-connector", "heal"]
    (fix,) = [i for i in host.invocations if "remediation = 'restart-web-connector'" in i.script]
    assert fix.parameters["ForceClose"] is False


def test_an_unwritable_web_connector_log_is_reset(winrm_host: Any) -> None:
    host = pc(winrm_host, "web_connector_log_not_writable", "web_connector")
    ran = cli("heal", *remote(host), "--yes", "--json")
    assert ran.exit_code == 0, ran.output
    (fix,) = [i for i in host.invocations if "remediation = 'restart-web-connector'" in i.script]
    assert fix.parameters["ResetLog"] is True and fix.parameters["ForceClose"] is False
    assert "collect-logs" not in scripts_run(host), "logs only with --collect-logs"


def test_a_pc_that_needs_a_person_gets_the_steps_and_no_fix(winrm_host: Any) -> None:
    host = pc(winrm_host, "certificate_missing")
    ran = cli("heal", *remote(host), "--yes", "--json", "--shell", "posix")
    assert ran.exit_code == 3, ran.output
    doc = json.loads(ran.stdout)
    assert doc["status"] == "needs_user_action"
    assert doc["data"]["heal"]["needs_person"] == ["certificate"]
    assert any("reset-certificate" in m for m in doc["messages"][1:])
    assert scripts_run(host) == ["heal"], "nothing is run that needs a person"


def test_a_fix_that_fails_fails_the_pc(winrm_host: Any) -> None:
    host = pc(winrm_host, "red_tray", "red_tray", fix="failed")
    ran = cli("heal", *remote(host), "--yes", "--json")
    assert ran.exit_code == 1, ran.output
    doc = json.loads(ran.stdout)
    assert doc["status"] == "failed" and doc["data"]["heal"]["failed"] == ["tray-icon"]


def test_what_if_runs_the_fixes_under_whatif_and_judges_once(winrm_host: Any) -> None:
    host = pc(winrm_host, "red_tray", "healthy")
    ran = cli("heal", *remote(host), "--what-if", "--json")
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["messages"][0] == "would heal with restart-tasks"
    (fix,) = [i for i in host.invocations if "remediation = 'restart-tasks'" in i.script]
    assert fix.parameters["WhatIf"] is True
    assert scripts_run(host) == ["heal", "restart-tasks"]


def test_a_fleet_exits_3_when_some_need_a_person(
    winrm_host: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("QBD_FIX_PASSWORD", PASSWORD)
    hosts = [pc(winrm_host, "red_tray", "healthy"), pc(winrm_host, "certificate_missing"),
             pc(winrm_host, "healthy")]  # fmt: skip
    inv = tmp_path / "pcs.csv"
    rows = "".join(f"127.0.0.1,{h.port}\n" for h in hosts)
    inv.write_text(f"host,port\n{rows}", encoding="utf-8")
    report = tmp_path / "heal.json"
    ran = cli("heal", "--inventory", str(inv), "--no-ssl", "--auth", "ntlm", "-u", "u", "--yes",
              "--report", str(report))  # fmt: skip
    assert ran.exit_code == 3, ran.output
    statuses = sorted(h["status"] for h in json.loads(report.read_text("utf-8"))["hosts"])
    assert statuses == ["changed", "needs_user_action", "ok"]


def test_heal_as_a_library_counts_requests(
    winrm_host: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QBD_FIX_PASSWORD", PASSWORD)
    host = pc(winrm_host, "red_tray", "healthy")
    job = pipeline.Job(HEAL, perform=heal_perform(HealSettings()))
    settings = ConnectionSettings(port=host.port, ssl=False, auth="ntlm", username="u")
    plan = pipeline.plan(job, pipeline.resolve_targets(["127.0.0.1"]), settings)
    reports: list[HostReport] = []
    pipeline.Execution(plan, pipeline.Sinks(on_report=reports.append)).run()
    (report,) = reports
    assert report.status is HostStatus.CHANGED
    assert host.requests > 0


@pytest.mark.parametrize(
    ("remedy", "allowed"),
    [
        (Remedy("restart-tasks", {"ClientName": "A"}), True),
        (Remedy("restart-tasks", {"RestartIfUnhealthy": True}), False),
        (Remedy("restart-web-connector", {}), True),
        (Remedy("restart-web-connector", {"ForceClose": True}), False),
        (Remedy("reinstall-connector", {}), False),
        (Remedy("webroot-whitelist", {"DefenderExclusion": True}), False),
        (Remedy("reset-certificate", {"NotifyUser": True}), False),
    ],
)
def test_what_heal_runs_unattended(remedy: Remedy, allowed: bool) -> None:
    assert unattended(remedy) is allowed
