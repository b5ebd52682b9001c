"""``qbd-fix doctor`` end to end with a fake runner: exit codes, --json, --dry-run, --host."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qbd_fix.cli.app import app
from qbd_fix.doctor import DOCTOR, diagnose
from qbd_fix.errors import ResultError
from qbd_fix.fleet.inventory import Target
from qbd_fix.pipeline import Plan
from qbd_fix.result import Result, Status
from qbd_fix.runners.base import OnStep, Runner, RunOutcome
from qbd_fix.script.engine import Script

FIXTURES = Path(__file__).parent / "doctor" / "fixtures"


class FakeRunner(Runner):
    """Answers the facts script with a fixture; remembers what it was asked to run."""

    def __init__(
        self, facts: dict[str, Any] | None, *, target: str = "PC01", status: Status = Status.OK
    ) -> None:
        self.facts = facts
        self.target = target
        self.status = status
        self.scripts: list[Script] = []
        self.what_if: list[bool] = []
        self.closed = False

    def run(
        self, script: Script, *, what_if: bool = False, on_step: OnStep | None = None
    ) -> RunOutcome:
        self.scripts.append(script)
        self.what_if.append(what_if)
        data: dict[str, Any] = {"what_if": False}
        if self.facts is not None:
            data["facts"] = self.facts
        result = Result("doctor", self.target, self.status, messages=["Facts gathered."], data=data)
        return RunOutcome(target=self.target, result=result, duration=0.25)

    def fetch(self, remote_path: str, local_path: Path, *, sha256: str | None = None) -> None:
        raise AssertionError("doctor fetches nothing")

    def close(self) -> None:
        self.closed = True


def fixture(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return doc


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Install a fake runner; tests set ``box['facts']`` and read ``box['runner']``."""
    box: dict[str, Any] = {"facts": fixture("healthy"), "connections": []}

    def make_runner(plan: Plan, target: Target) -> Runner:
        box["connections"].append(None if plan.local else target)
        box["runner"] = FakeRunner(box["facts"])
        return box["runner"]

    monkeypatch.setattr(Plan, "runner", make_runner)
    monkeypatch.setattr("qbd_fix.runners.local.local_supported", lambda: True)
    monkeypatch.setenv("QBD_FIX_PASSWORD", "not-a-real-one")
    return box


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["doctor", *args])


def test_healthy_pc_exits_0(fake: dict[str, Any]) -> None:
    result = invoke("--shell", "posix")
    assert result.exit_code == 0, result.output
    assert "qbd-fix doctor on PC01: 0 fail, 0 warn, 10 ok" in result.output
    runner = fake["runner"]
    assert runner.closed
    assert [s.name for s in runner.scripts] == ["doctor"]
    assert runner.what_if == [False]


def test_any_failure_exits_1(fake: dict[str, Any]) -> None:
    fake["facts"] = fixture("red_tray")
    result = invoke("--shell", "posix")
    assert result.exit_code == 1
    assert "FAIL" in result.output
    assert "qbd-fix restart-tasks --client-name 'Codat Engineering - Integration'" in result.output


def test_warnings_alone_exit_0(fake: dict[str, Any]) -> None:
    fake["facts"] = fixture("webroot")
    assert invoke().exit_code == 0


def test_json_output(fake: dict[str, Any]) -> None:
    fake["facts"] = fixture("certificate_missing")
    result = invoke("--json", "--shell", "powershell")
    assert result.exit_code == 1
    doc = json.loads(result.output)
    assert doc["status"] == "fail"
    assert doc["counts"] == {"ok": 8, "warn": 1, "fail": 1}
    assert doc["duration_s"] == 0.25
    cert = next(f for f in doc["findings"] if f["id"] == "certificate")
    assert cert["status"] == "fail"
    assert (
        cert["fix"]
        == "qbd-fix reset-certificate --client-name 'Codat Engineering - Integration' --notify-user"
    )
    assert "facts" not in doc


def test_json_debug_carries_the_facts(fake: dict[str, Any]) -> None:
    doc = json.loads(invoke("--json", "--debug").output)
    assert doc["facts"]["computer"] == "PC01"


def test_client_name_is_validated_and_applied(fake: dict[str, Any]) -> None:
    fake["facts"] = fixture("red_tray")
    result = invoke("--json", "--client-name", "Someone Else")
    doc = json.loads(result.output)
    tray = next(f for f in doc["findings"] if f["id"] == "tray-icon")
    assert tray["status"] == "warn"
    assert invoke("--client-name", " ").exit_code == 2


def test_bad_shell_is_a_usage_error(fake: dict[str, Any]) -> None:
    result = invoke("--shell", "fish")
    assert result.exit_code == 2
    assert "--shell" in result.output


def test_dry_run_prints_the_facts_script_without_running() -> None:
    result = invoke("--dry-run")
    assert result.exit_code == 0
    assert result.output == DOCTOR.render().text
    assert "Set-QbdData -Name 'facts'" in result.output


def test_dry_run_output_writes_the_file(tmp_path: Path) -> None:
    result = invoke("--dry-run", "--output", str(tmp_path) + "/")
    assert result.exit_code == 0, result.output
    written = (tmp_path / "doctor.ps1").read_bytes()
    assert written.startswith(b"\xef\xbb\xbf") and b"\r\n" in written


def test_output_without_dry_run_is_refused(fake: dict[str, Any]) -> None:
    assert invoke("--output", "x.ps1").exit_code == 2


def test_no_confirmation_options() -> None:
    assert invoke("--yes").exit_code == 2
    assert invoke("--what-if").exit_code == 2


def test_off_windows_without_host_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("qbd_fix.runners.local.local_supported", lambda: False)
    result = invoke()
    assert result.exit_code == 4
    assert "--dry-run" in result.output


def test_host_goes_into_the_fixes(fake: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    fake["facts"] = fixture("red_tray")
    result = invoke(
        "--json", "--host", "pc01.corp.example", "--username", "CORP\\admin", "--shell", "posix"
    )
    assert result.exit_code == 1, result.output
    (connection,) = fake["connections"]
    assert connection.host == "pc01.corp.example"
    doc = json.loads(result.output)
    tray = next(f for f in doc["findings"] if f["id"] == "tray-icon")
    assert (
        tray["fix"]
        == "qbd-fix restart-tasks --host pc01.corp.example --client-name 'Codat Engineering - Integration'"
    )


def test_result_without_facts_is_an_error(fake: dict[str, Any]) -> None:
    fake["facts"] = None
    result = invoke()
    assert result.exit_code == ResultError.exit_code
    assert "gathered no facts" in result.output


def test_diagnose_library_call() -> None:
    runner = FakeRunner(fixture("one_time_sync"), target="PC07")
    report = diagnose(runner, host="PC07", shell="powershell")
    assert report.target == "PC07" and report.exit_code == 1
    assert report.finding("one-time-sync").fix == (
        "qbd-fix reinstall-connector --host PC07 --installer <URL> "
        "--client-name 'Codat Engineering - Integration' --company-id 8a210b68-6988-11ed-a1eb-0242ac120002"
    )
    assert runner.scripts[0].parameters == {
        "LogTailKiB": 256,
        "EventDays": 7,
        "QwcLogLines": 200,
        "ConnectTimeoutMs": 3000,
        "TimeBudgetSeconds": 300,
    }


def test_script_that_failed_still_reports_what_it_found() -> None:
    runner = FakeRunner(fixture("healthy"), status=Status.FAILED)
    report = diagnose(runner, shell="posix")
    assert any("stopped early" in e for e in report.probe_errors)
