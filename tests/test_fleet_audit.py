"""The audit log: one JSON line per PC a remediation was sent to, never a secret."""

from __future__ import annotations

import getpass
import json
import socket
import threading
from pathlib import Path

import pytest

from qbd_fix import remediations
from qbd_fix.errors import HostUnreachableError
from qbd_fix.fleet import audit
from qbd_fix.fleet.audit import AuditLog
from qbd_fix.fleet.inventory import Target
from qbd_fix.fleet.scheduler import HostReport, HostStatus
from qbd_fix.pipeline import Execution, Sinks
from qbd_fix.remediations.base import Remediation
from qbd_fix.result import Status
from qbd_fix.script.engine import Script
from qbd_fix.script.params import ScriptParameter
from tests.test_fleet_report import PASSWORD
from tests.test_fleet_scheduler import Lab, hosts, lab_plan, mixed_lab, wait_until


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_fleet_run_writes_one_line_per_host(tmp_path: Path) -> None:
    targets = hosts(24)
    lab, _kinds = mixed_lab(targets)
    log = AuditLog(tmp_path / "state" / "audit.jsonl")
    plan = lab_plan(targets, lab, what_if=True)
    reports: list[HostReport] = []
    Execution(plan, Sinks(audit=log, on_report=reports.append), retries=2).run()
    entries = lines(log.path)
    assert len(entries) == len(reports) == 24
    by_host = {e["host"]: e for e in entries}
    for report in reports:
        entry = by_host[report.host]
        assert entry["status"] == report.status.value
        assert entry["error_kind"] == (report.error.kind if report.error else None)
        assert entry["what_if"] is True and entry["remediation"] == "restart-tasks"
        assert entry["user"] == getpass.getuser() and entry["machine"] == socket.gethostname()
        assert str(entry["time"]).endswith("+00:00")
        target = Target(host=report.host, client_name=report.client_name)
        assert entry["script_sha256"] == plan.book(target).sha256
        assert entry["port"] == 5985, "a blank port is logged as the one connected to"
        assert isinstance(entry["parameters"], dict)
        assert entry["parameters"]["ClientName"] == report.client_name


def test_not_run_hosts_are_not_logged_but_cancelled_ones_are(tmp_path: Path) -> None:
    gate = threading.Event()
    targets = hosts(6)
    lab = Lab(answers={t.host: [lambda: gate.wait(5) and (Status.OK, "ok")] for t in targets})
    log = AuditLog(tmp_path / "audit.jsonl")
    execution = Execution(lab_plan(targets, lab), Sinks(audit=log), concurrency=2)
    thread = threading.Thread(target=execution.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: lab.in_flight == 2)
        execution.stop()
        execution.stop()
        thread.join(2)
    finally:
        gate.set()
    assert execution.fleet_run.summary.counts[HostStatus.NOT_RUN] == 4
    assert [e["status"] for e in lines(log.path)] == ["cancelled", "cancelled"]


def test_secrets_are_redacted_by_flag_and_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = Remediation(
        name="fake-fix",
        title="Fake",
        seed_section="none",
        summary="for tests",
        may_change=(),
        template="none.ps1.j2",
        parameters=(
            ScriptParameter("ClientName", "string", "", "client"),
            ScriptParameter("InstallerKey", "string", "", "key", secret=True),
        ),
    )
    monkeypatch.setitem(remediations.REMEDIATIONS, "fake-fix", fake)
    script = Script(
        name="fake-fix",
        text="# fake\n",
        parameters={
            "ClientName": "Acme",
            "InstallerKey": PASSWORD,
            "ProxyPassword": PASSWORD,
            "ApiToken": PASSWORD,
            "ClientSecret": PASSWORD,
            "Force": True,
        },
    )
    log = AuditLog(tmp_path / "audit.jsonl", fsync=True)
    log.record(host="PC01", remediation="fake-fix", script=script, what_if=False, status="changed")
    text = log.path.read_text(encoding="utf-8")
    assert PASSWORD not in text
    (entry,) = lines(log.path)
    assert entry["parameters"] == {
        "ClientName": "Acme",
        "InstallerKey": "***",
        "ProxyPassword": "***",
        "ApiToken": "***",
        "ClientSecret": "***",
        "Force": True,
    }


def test_no_password_from_the_environment_reaches_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_PW", PASSWORD)
    targets = [Target(host="PC1", client_name="Acme", password_env="ACME_PW")]
    log = AuditLog(tmp_path / "audit.jsonl")
    lab = Lab(answers={"PC1": [HostUnreachableError(f"lost PC (auth blob {PASSWORD})")]})
    Execution(lab_plan(targets, lab), Sinks(audit=log), retries=0).run()
    text = log.path.read_text(encoding="utf-8")
    assert PASSWORD not in text and "unreachable" in text


def test_real_script_digest(tmp_path: Path) -> None:
    script = remediations.get("restart-tasks").render({"ClientName": "O’Brien"})
    log = AuditLog(tmp_path / "audit.jsonl")
    entry = log.record(host="PC01", remediation="", script=script, what_if=False, status="ok")
    assert entry["remediation"] == "restart-tasks" and entry["script_sha256"] == script.sha256
    assert lines(log.path)[0]["parameters"]["ClientName"] == "O’Brien"  # type: ignore[index]


def test_appends_are_whole_lines_across_threads(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    other = AuditLog(tmp_path / "audit.jsonl")  # a second writer, as another process would be
    script = Script(name="restart-tasks", text="# x\n", parameters={"ClientName": "ü" * 3000})

    def work(writer: AuditLog, n: int) -> None:
        for i in range(40):
            writer.record(
                host=f"PC{n}-{i}",
                remediation="restart-tasks",
                script=script,
                what_if=False,
                status="ok",
            )

    threads = [threading.Thread(target=work, args=(log if n % 2 else other, n)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    entries = lines(log.path)
    assert len(entries) == 320 and len({e["host"] for e in entries}) == 320


def test_default_path_is_per_user_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import platformdirs

    monkeypatch.setattr(platformdirs, "user_state_dir", lambda name: str(tmp_path / name))
    assert audit.default_path() == tmp_path / "qbd-fix" / "audit.jsonl"
    assert AuditLog().path == tmp_path / "qbd-fix" / "audit.jsonl"
