"""SIGTERM during a fleet run (a service manager stopping it, ``kill``): the report is still
written, complete, with no temporary file left, and the exit code says the run was stopped.
The command runs in a process of its own against loopback WinRM hosts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.loopback import Answer, FakeWinRMHost

PASSWORD = "Term-Pw-‘t’-Ω2"
USER = "fleet"
MARKER = "remediation = 'restart-tasks'"
RESULT = json.dumps(
    {"remediation": "restart-tasks", "computer": "PC", "status": "ok", "checks": [],
     "actions": [], "messages": ["ok"], "data": {}}
)  # fmt: skip
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_sigterm_writes_the_report_and_leaves_no_part_file(tmp_path: Path, suffix: str) -> None:
    hosts = [FakeWinRMHost(username=USER, password=PASSWORD, auth=("ntlm",)).start()
             for _ in range(6)]  # fmt: skip
    try:
        for host in hosts:  # slow PCs: the run is still going when SIGTERM comes
            host.answer(lambda script, _p: MARKER in script, Answer(output=[RESULT], delay=30))
        inventory = tmp_path / "pcs.csv"
        rows = ["host,port", *(f"127.0.0.1,{h.port}" for h in hosts)]
        inventory.write_text("\n".join(rows) + "\n", encoding="utf-8")
        report = tmp_path / f"run{suffix}"
        env = {**os.environ, "QBD_FIX_PASSWORD": PASSWORD, "PYTHONPATH": str(ROOT)}
        command = [
            sys.executable, "-m", "qbd_fix", "restart-tasks", "--inventory", str(inventory),
            "--no-ssl", "--auth", "ntlm", "--username", USER, "--yes", "-j", "2",
            "--report", str(report), "--audit-log", str(tmp_path / "audit.jsonl"),
        ]  # fmt: skip
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while sum(len(h.invocations) for h in hosts) < 2 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)  # a hang guard: the PCs would take 30 s
    finally:
        for host in hosts:
            host.stop()
    assert proc.returncode == 130, err.decode()
    assert report.exists(), err.decode()
    assert list(tmp_path.glob(".*.part")) == []
    if suffix == ".json":
        doc = json.loads(report.read_text(encoding="utf-8"))
        statuses = sorted(h["status"] for h in doc["hosts"])
        assert doc["summary"]["exit_code"] == 130 and doc["summary"]["interrupted"] is True
    else:
        import csv

        with report.open(encoding="utf-8-sig", newline="") as handle:
            statuses = sorted(row["status"] for row in csv.DictReader(handle))
    assert statuses == ["cancelled"] * 2 + ["not_run"] * 4
