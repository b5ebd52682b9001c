"""``--canary N`` against loopback WinRM hosts, through the real command line and pypsrp.

A canary stops the fleet only on a script error: the script threw (the outer
``catch`` of ``_run.ps1.j2`` wrote ``data.error`` into a failed result),
PowerShell stopped before any result, or no readable result came back. A PC
that the script diagnosed as failed, or that cannot be reached, does not.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qbd_fix.cli.app import app
from qbd_fix.fleet.scheduler import HostError, HostReport, HostStatus, script_error
from tests.loopback import Answer, FakeWinRMHost, free_port

PASSWORD = "Canary-Pw-‘c’-Ω1"
USER = "fleet"
MARKER = "remediation = 'restart-tasks'"


def result(status: str, *, thrown: bool = False) -> str:
    data: dict[str, Any] = {}
    if thrown:  # what the scripts' outer catch writes
        data["error"] = {
            "message": "You cannot call a method on a null-valued expression.",
            "type": "System.Management.Automation.RuntimeException",
            "position": "At line:412 char:9",
        }
    messages = ["Unexpected error: You cannot call a method"] if thrown else [f"{status} here"]
    return json.dumps(
        {
            "remediation": "restart-tasks",
            "computer": "PC",
            "status": status,
            "checks": [],
            "actions": [],
            "messages": messages,
            "data": data,
        }
    )


ANSWERS: dict[str, Answer | None] = {
    "ok": Answer(output=[result("ok")]),
    "thrown": Answer(output=[result("failed", thrown=True)]),
    "pipeline": Answer(failed="The term 'Get-QbdNothing' is not recognized"),
    "no_result": Answer(output=["not json"]),
    "diagnosed": Answer(output=[result("failed")]),
    "needs": Answer(output=[result("needs_user_action")]),
    "down": None,  # a closed port
}


class Farm:
    """PCs that answer as told; started on demand, stopped at the end."""

    def __init__(self) -> None:
        self.hosts: dict[int, FakeWinRMHost] = {}

    def pc(self, kind: str) -> int:
        answer = ANSWERS[kind]
        if answer is None:
            return free_port()
        host = FakeWinRMHost(username=USER, password=PASSWORD, auth=("ntlm",)).start()
        host.answer(lambda script, _params: MARKER in script, answer)
        self.hosts[host.port] = host
        return host.port

    def ran(self, port: int) -> bool:
        host = self.hosts.get(port)
        return host is not None and any(MARKER in i.script for i in host.invocations)

    def first_run(self, port: int) -> float:
        return min(i.at for i in self.hosts[port].invocations if MARKER in i.script)


@pytest.fixture
def farm() -> Iterator[Farm]:
    made = Farm()
    yield made
    for host in made.hosts.values():
        host.stop()
    assert [e for h in made.hosts.values() for e in h.errors] == []


def run(folder: Path, ports: list[int], *args: str) -> Any:
    inventory = folder / "pcs.csv"
    rows = ["host,port,client_name", *(f"127.0.0.1,{p},Client {p}" for p in ports)]
    inventory.write_text("\n".join(rows) + "\n", encoding="utf-8")
    command = [
        "restart-tasks", "--inventory", str(inventory), "--no-ssl", "--auth", "ntlm",
        "--username", USER, "--connect-timeout", "2", "--operation-timeout", "2",
        "--retries", "0", "--yes", "--audit-log", str(folder / "audit.jsonl"), *args,
    ]  # fmt: skip
    return CliRunner().invoke(app, command, env={"QBD_FIX_PASSWORD": PASSWORD, "COLUMNS": "200"})


@pytest.mark.parametrize("kind", ["thrown", "pipeline", "no_result"])
@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_a_script_error_in_the_canary_stops_the_rest(
    farm: Farm, tmp_path: Path, kind: str, suffix: str
) -> None:
    canaries = [farm.pc("ok"), farm.pc(kind)]
    rest = [farm.pc("ok") for _ in range(4)]
    report = tmp_path / f"report{suffix}"
    ran = run(tmp_path, canaries + rest, "--canary", "2", "-j", "4", "--report", str(report))
    assert ran.exit_code == 1, ran.output
    failed = f"127.0.0.1:{canaries[1]}"
    assert f"Canary: {failed} ended in a script error; {len(rest)} other PCs were not run" in (
        ran.stderr
    )
    assert all(farm.ran(p) for p in canaries)
    assert not any(farm.ran(p) for p in rest), "no PC after the canary was started"
    if suffix == ".json":
        doc = json.loads(report.read_text(encoding="utf-8"))
        rows = {h["port"]: (h["status"], h["summary"]) for h in doc["hosts"]}
        assert doc["summary"]["exit_code"] == 1 and doc["summary"]["counts"]["not_run"] == 4
    else:
        with report.open(encoding="utf-8-sig", newline="") as handle:
            rows = {int(r["port"]): (r["status"], r["summary"]) for r in csv.DictReader(handle)}
    assert rows[canaries[0]][0] == "ok" and rows[canaries[1]][0] == "failed"
    for port in rest:
        status, summary = rows[port]
        assert status == "not_run" and f"canary PC {failed} ended in a script error" in summary
    table = ran.stdout
    assert table.count("not_run") + table.count("not run") >= len(rest)
    audited = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert sorted(line["port"] for line in audited) == sorted(canaries), "not-run PCs unaudited"


@pytest.mark.parametrize("kind", ["diagnosed", "needs", "down"])
def test_a_pc_problem_in_the_canary_does_not_stop_the_rest(
    farm: Farm, tmp_path: Path, kind: str
) -> None:
    canaries = [farm.pc(kind), farm.pc("ok")]
    rest = [farm.pc("ok") for _ in range(3)]
    ran = run(tmp_path, canaries + rest, "--canary", "2", "-j", "4", "--json")
    doc = json.loads(ran.stdout)
    assert ran.exit_code == (3 if kind == "needs" else 1), ran.output
    assert "Canary" not in ran.stderr
    assert doc["summary"]["canary_failed"] == []
    assert all(farm.ran(p) for p in rest)
    assert {h["status"] for h in doc["hosts"] if h["port"] in rest} == {"ok"}


def test_the_canary_runs_before_any_other_pc(farm: Farm, tmp_path: Path) -> None:
    canaries = [farm.pc("ok") for _ in range(3)]
    rest = [farm.pc("ok") for _ in range(5)]
    ran = run(tmp_path, canaries + rest, "--canary", "3", "-j", "8")
    assert ran.exit_code == 0, ran.output
    last_canary = max(farm.first_run(p) for p in canaries)
    assert all(farm.first_run(p) > last_canary for p in rest)


def test_a_canary_needs_a_run(tmp_path: Path) -> None:
    ran = run(tmp_path, [free_port(), free_port()], "--canary", "0")
    assert ran.exit_code == 2 and "--canary must be at least 1" in ran.stderr
    ran = run(tmp_path, [free_port()], "--canary", "1", "--dry-run", "--output", str(tmp_path))
    assert ran.exit_code == 2 and "--canary goes with a run, not --dry-run" in ran.stderr


def report_with(
    status: HostStatus, *, error: str | None = None, data: dict[str, Any] | None = None
) -> HostReport:
    make: Callable[[str], HostError] = lambda kind: HostError(kind, "m", 1)  # noqa: E731
    return HostReport(
        host="pc", port=None, client_name=None, group=None, remediation="restart-tasks",
        status=status, summary="", duration=0.0, attempts=1, exit_code=1,
        error=make(error) if error else None,
        result=None if data is None else {"status": status.value, "data": data},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("report", "expected"),
    [
        (report_with(HostStatus.FAILED, data={"error": {"message": "x"}}), True),
        (report_with(HostStatus.FAILED, error="script_failed"), True),
        (report_with(HostStatus.FAILED, error="result_unreadable"), True),
        (report_with(HostStatus.FAILED, error="internal"), True),
        (report_with(HostStatus.FAILED, data={}), False),
        (report_with(HostStatus.FAILED, data={"error": "a diagnosed string"}), False),
        (report_with(HostStatus.NEEDS_USER_ACTION, data={}), False),
        (report_with(HostStatus.UNREACHABLE, error="unreachable"), False),
        (report_with(HostStatus.AUTH_FAILED, error="auth_failed"), False),
        (report_with(HostStatus.TIMEOUT, error="timeout"), False),
    ],
)
def test_what_counts_as_a_script_error(report: HostReport, expected: bool) -> None:
    assert script_error(report) is expected
