"""Fleet runs through the real command line, pypsrp and a farm of loopback WinRM hosts.

Every PC is its own :class:`FakeWinRMHost` on its own port, answering by
remediation: ok, changed, needs a user, a failed result, a failed pipeline,
too slow for ``--host-timeout``, a wrong password, or a closed port. The
reports, the audit log, the exit code and Ctrl-C are checked host by host.
"""

from __future__ import annotations

import csv
import json
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qbd_fix.cli.app import app
from tests.loopback import Answer, FakeWinRMHost, free_port

PASSWORD = "Farm-Pw-‘q’-$(x)-Ω7"  # distinctive: must appear nowhere
WRONG = "Wrong-Pw-‘z’-Ψ3"  # what the auth-failure rows send
USER = "fleet"

#: kind -> how many PCs. "held" PCs answer after half a second (for Ctrl-C).
PLAN = {
    "ok": 30,
    "changed": 20,
    "needs": 15,
    "failed": 15,
    "crash": 10,
    "slow": 10,
    "auth": 10,
    "down": 10,
    "held": 12,
}
#: kind -> (status, exit code, error kind, attempts) in the report, under --host-timeout 30
EXPECTED = {
    "ok": ("ok", 0, None, 1),
    "changed": ("changed", 0, None, 1),
    "needs": ("needs_user_action", 3, None, 1),
    "failed": ("failed", 1, None, 1),
    "crash": ("failed", 16, "script_failed", 1),
    "slow": ("timeout", 11, "timeout", 1),
    "auth": ("auth_failed", 12, "auth_failed", 1),
    "down": ("unreachable", 14, "winrm_unavailable", 3),
    "held": ("ok", 0, None, 1),
}
RESULT_STATUS = {"ok": "ok", "changed": "changed", "needs": "needs_user_action",
                 "failed": "failed", "held": "ok", "slow": "ok", "auth": "ok"}  # fmt: skip


def result_doc(remediation: str, status: str, client: str) -> str:
    return json.dumps(
        {
            "remediation": remediation,
            "computer": f"PC-{client[-3:]}",
            "status": status,
            "checks": [{"name": "connector found", "passed": True, "evidence": client}],
            "actions": [],
            "messages": [f"{status} for {client}"],
            "data": {},
        },
        ensure_ascii=False,
    )


def is_remediation(name: str) -> Any:
    return lambda script, params: f"remediation = '{name}'" in script


@dataclass
class Farm:
    """The PCs, their inventory rows, and which kind each is."""

    hosts: dict[int, FakeWinRMHost] = field(default_factory=dict)
    kinds: dict[int, str] = field(default_factory=dict)
    clients: dict[int, str] = field(default_factory=dict)
    rows: list[str] = field(default_factory=list)

    def inventory(self, folder: Path) -> Path:
        path = folder / "pcs.csv"
        header = "host,port,client_name,group,tags,password_env"
        path.write_text("\n".join([header, *self.rows]) + "\n", encoding="utf-8")
        return path

    def ports(self, kind: str) -> list[int]:
        return [port for port, k in self.kinds.items() if k == kind]


@pytest.fixture(scope="module")
def farm() -> Iterator[Farm]:
    made = Farm()
    number = 0
    for kind, count in PLAN.items():
        for _ in range(count):
            number += 1
            client = f"Client ‘{kind}’ #{number:03d}"
            if kind == "down":
                port = free_port()
            else:
                host = FakeWinRMHost(username=USER, password=PASSWORD, auth=("ntlm", "negotiate"))
                host.start()
                port = host.port
                made.hosts[port] = host
                host.default_answer = Answer(failed="no answer for this script on the farm")
                if kind == "crash":
                    answer = Answer(failed="The term 'Get-QbdNothing' is not recognized")
                else:
                    # Slow PCs answer long after --host-timeout; the others well within it, even on a
                    # loaded machine.
                    delay = {"slow": 75.0, "held": 0.5}.get(kind, 0.0)
                    answer = Answer(
                        output=[result_doc("restart-tasks", RESULT_STATUS[kind], client)],
                        delay=delay,
                    )
                host.answer(is_remediation("restart-tasks"), answer)
                host.answer(
                    is_remediation("webroot-whitelist"),
                    Answer(output=[result_doc("webroot-whitelist", "ok", client)]),
                )
            made.kinds[port] = kind
            made.clients[port] = client
            env = "WRONG_PW" if kind == "auth" else ""
            made.rows.append(f'127.0.0.1,{port},"{client}",{kind},"t{number % 3}",{env}')
    yield made
    for host in made.hosts.values():
        host.stop()
    errors = [(host.url, err) for host in made.hosts.values() for err in host.errors]
    assert errors == [], errors


def invoke(farm: Farm, folder: Path, remediation: str, *args: str) -> Any:
    command = [
        remediation, "--inventory", str(farm.inventory(folder)), "--no-ssl", "--auth", "ntlm",
        "--username", USER, "--connect-timeout", "2", "--operation-timeout", "2",
        "--audit-log", str(folder / "audit.jsonl"), *args,
    ]  # fmt: skip
    env = {"QBD_FIX_PASSWORD": PASSWORD, "WRONG_PW": WRONG, "COLUMNS": "200"}
    return CliRunner().invoke(app, command, env=env)


def no_secrets(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text
        assert WRONG not in text


def invocations(farm: Farm, port: int, remediation: str) -> list[Any]:
    host = farm.hosts.get(port)
    if host is None:
        return []
    return [i for i in host.invocations if is_remediation(remediation)(i.script, i.parameters)]


def check_host(farm: Farm, port: int, status: str, exit_code: int, error_kind: str | None,
               attempts: int) -> None:  # fmt: skip
    kind = farm.kinds[port]
    assert (status, exit_code, error_kind, attempts) == EXPECTED[kind], (port, kind)


@pytest.mark.slow
def test_a_mixed_fleet_of_132_pcs_json_report(farm: Farm, tmp_path: Path) -> None:
    report = tmp_path / "fleet.json"
    began = time.monotonic()
    ran = invoke(farm, tmp_path, "restart-tasks", "--yes", "-j", "16", "--host-timeout", "30",
                 "--report", str(report))  # fmt: skip
    elapsed = time.monotonic() - began
    assert ran.exit_code == 1, ran.output
    assert elapsed < 120  # a hang guard, not a speed test

    doc = json.loads(report.read_text(encoding="utf-8"))
    hosts = doc["hosts"]
    assert len(hosts) == len(farm.kinds) == sum(PLAN.values())
    seen = Counter()
    for row in hosts:
        port = row["port"]
        kind = farm.kinds[port]
        seen[kind] += 1
        error = row["error"]
        check_host(farm, port, row["status"], row["exit_code"],
                   error["kind"] if error else None, row["attempts"])  # fmt: skip
        assert row["client_name"] == farm.clients[port] and row["group"] == kind
        assert row["remediation"] == "restart-tasks" and len(row["script_sha256"]) == 64
        if kind in ("ok", "changed", "needs", "failed", "held"):
            assert row["result"]["messages"] == [f"{RESULT_STATUS[kind]} for {farm.clients[port]}"]
            (sent,) = invocations(farm, port, "restart-tasks")
            assert sent.parameters["ClientName"] == farm.clients[port]  # the row's value
        else:
            assert row["result"] is None and error["message"]
        if kind in ("auth", "down"):
            assert invocations(farm, port, "restart-tasks") == []
    assert seen == Counter(PLAN)
    summary = doc["summary"]
    assert summary["exit_code"] == 1 and summary["interrupted"] is False
    assert summary["counts"]["ok"] == PLAN["ok"] + PLAN["held"]
    assert summary["counts"]["timeout"] == PLAN["slow"]

    # the table and the count line
    lines = ran.stdout.splitlines()
    assert sum(1 for line in lines if line.lstrip().startswith("127.0.0.1:")) == len(hosts)
    assert lines[-1].startswith(
        "132 PCs: 42 ok, 20 changed, 15 need action, 25 failed, 10 unreachable, "
        "10 auth failed, 10 timed out in "
    )
    # the audit log: one line per PC contacted or tried, no secret
    audit = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text("utf-8").splitlines()]
    assert len(audit) == len(hosts)
    assert Counter(a["status"] for a in audit) == Counter(h["status"] for h in hosts)
    no_secrets(ran.stdout, ran.stderr, report.read_text("utf-8"),
               (tmp_path / "audit.jsonl").read_text("utf-8"))  # fmt: skip

    # requests: no more than one pool open, one script and a close per reached PC
    for port in farm.ports("ok"):
        assert farm.hosts[port].requests <= 10


@pytest.mark.slow
def test_csv_report_and_json_output(farm: Farm, tmp_path: Path) -> None:
    report = tmp_path / "fleet.csv"
    ran = invoke(farm, tmp_path, "restart-tasks", "--yes", "-j", "24", "--host-timeout", "30",
                 "--retries", "0", "--report", str(report), "--json")  # fmt: skip
    assert ran.exit_code == 1, ran.stderr
    with report.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(farm.kinds)
    for row in rows:
        port = int(row["port"])
        kind = farm.kinds[port]
        attempts = 1 if kind == "down" else EXPECTED[kind][3]  # --retries 0
        expected = (*EXPECTED[kind][:3], attempts)
        got = (
            row["status"],
            int(row["exit_code"]),
            row["error_kind"] or None,
            int(row["attempts"]),
        )
        assert got == expected, (port, kind)
        assert row["client"] == farm.clients[port]
        if row["result_json"]:
            assert json.loads(row["result_json"])["remediation"] == "restart-tasks"
    doc = json.loads(ran.stdout)
    assert len(doc["hosts"]) == len(rows) and doc["summary"]["exit_code"] == 1
    no_secrets(ran.stdout, ran.stderr, report.read_text("utf-8-sig"))


def test_a_part_of_the_farm_by_group(farm: Farm, tmp_path: Path) -> None:
    ran = invoke(farm, tmp_path, "restart-tasks", "--yes", "--limit", "changed,needs", "--json")
    assert ran.exit_code == 3, ran.stderr
    doc = json.loads(ran.stdout)
    statuses = Counter(h["status"] for h in doc["hosts"])
    assert statuses == {"changed": PLAN["changed"], "needs_user_action": PLAN["needs"]}
    no_secrets(ran.stdout, ran.stderr)


def test_answers_follow_the_remediation(farm: Farm, tmp_path: Path) -> None:
    ran = invoke(farm, tmp_path, "webroot-whitelist", "--yes", "--limit", "failed", "--what-if")
    assert ran.exit_code == 0, ran.output
    for port in farm.ports("failed"):
        (sent,) = invocations(farm, port, "webroot-whitelist")
        assert sent.parameters["WhatIf"] is True


def test_ctrl_c_lets_running_pcs_finish(farm: Farm, tmp_path: Path) -> None:
    held = farm.ports("held")
    before = {port: len(invocations(farm, port, "restart-tasks")) for port in held}

    def started() -> int:
        return sum(len(invocations(farm, p, "restart-tasks")) - before[p] for p in held)

    def interrupt() -> None:
        deadline = time.monotonic() + 10
        while started() < 3 and time.monotonic() < deadline:
            time.sleep(0.005)
        signal.raise_signal(signal.SIGINT)

    report = tmp_path / "stopped.json"
    thread = threading.Thread(target=interrupt, daemon=True)
    thread.start()
    ran = invoke(farm, tmp_path, "restart-tasks", "--yes", "--limit", "held", "-j", "3",
                 "--report", str(report))  # fmt: skip
    thread.join()
    assert ran.exit_code == 130, ran.output
    doc = json.loads(report.read_text(encoding="utf-8"))
    by_port = {h["port"]: h["status"] for h in doc["hosts"]}
    assert len(by_port) == PLAN["held"]
    ran_on = {p for p in held if len(invocations(farm, p, "restart-tasks")) > before[p]}
    assert {p for p, s in by_port.items() if s == "ok"} == ran_on, "running PCs finished"
    assert {p for p, s in by_port.items() if s == "not_run"} == set(held) - ran_on
    assert 3 <= len(ran_on) < PLAN["held"]
    assert doc["summary"]["interrupted"] is True
    assert doc["summary"]["exit_code"] == ran.exit_code
