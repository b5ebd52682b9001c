#!/usr/bin/env python3
"""HTTP requests per PC for ``heal`` (facts, fix, facts again on one PowerShell session)
against the same work done as separate runs (``doctor``, then ``restart-tasks``, then
``doctor`` to check), each opening its own session, on the loopback WinRM host from the
tests (NTLM, message encryption over HTTP). Prints a markdown table.

    python benchmarks/bench_heal.py [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qbd_fix import pipeline
from qbd_fix.connection import ConnectionSettings
from qbd_fix.doctor import DOCTOR
from qbd_fix.doctor.step import DoctorSettings, judge_step
from qbd_fix.heal import HEAL, HealSettings, heal_perform
from qbd_fix.remediations import get
from tests.loopback import Answer, FakeWinRMHost

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "doctor" / "fixtures"
PASSWORD = "bench-password"


def facts_line(name: str, fixture: str) -> str:
    facts = json.loads((FIXTURES / f"{fixture}.json").read_text(encoding="utf-8"))
    return json.dumps({"remediation": name, "computer": facts["computer"], "status": "ok",
                       "checks": [], "actions": [], "messages": [], "data": {"facts": facts}})  # fmt: skip


def make_host() -> FakeWinRMHost:
    host = FakeWinRMHost(username="u", password=PASSWORD).start()
    calls = {"n": 0}

    def facts(_invocation: Any) -> Answer:
        calls["n"] += 1  # red on the first look of each pair, healthy after the fix
        fixture = "red_tray" if calls["n"] % 2 else "healthy"
        return Answer(
            output=[
                facts_line(_invocation.script.split("remediation = '")[1].split("'")[0], fixture)
            ]
        )

    host.answer("remediation = 'heal'", facts)
    host.answer("remediation = 'doctor'", facts)
    fix = {"remediation": "restart-tasks", "computer": "PC01", "status": "changed", "checks": [],
           "actions": [{"description": "ran", "performed": True}], "messages": ["ok"], "data": {}}  # fmt: skip
    host.answer("remediation = 'restart-tasks'", Answer(output=[json.dumps(fix)]))
    return host


def run(job: pipeline.Job, host: FakeWinRMHost) -> None:
    settings = ConnectionSettings(port=host.port, ssl=False, auth="ntlm", username="u")
    plan = pipeline.plan(job, pipeline.resolve_targets(["127.0.0.1"]), settings)
    pipeline.Execution(plan).run()


def measure(host: FakeWinRMHost, jobs: list[pipeline.Job]) -> tuple[int, float]:
    host.reset_counters()
    began = time.perf_counter()
    for job in jobs:
        run(job, host)
    return host.requests, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    os.environ["QBD_FIX_PASSWORD"] = PASSWORD
    host = make_host()
    doctor = pipeline.Job(DOCTOR, steps=(judge_step(DoctorSettings()),))
    fix = pipeline.Job(get("restart-tasks"), {"ClientName": "Codat Engineering - Integration"})
    heal = pipeline.Job(HEAL, perform=heal_perform(HealSettings()))
    rows = {"heal (one session)": [heal], "doctor + restart-tasks + doctor": [doctor, fix, doctor]}
    print("| sequence | HTTP requests per PC | wall time per PC (median) |")
    print("|---|---:|---:|")
    try:
        for label, jobs in rows.items():
            results = [measure(host, jobs) for _ in range(args.runs)]
            requests = statistics.median(r for r, _ in results)
            seconds = statistics.median(t for _, t in results)
            print(f"| {label} | {requests:.0f} | {seconds * 1000:.0f} ms |")
    finally:
        host.stop()


if __name__ == "__main__":
    main()
