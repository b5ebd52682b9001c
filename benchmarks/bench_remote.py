#!/usr/bin/env python3
"""Cost of one remote run: HTTP requests and wall time per ``restart-tasks`` over
PowerShell Remoting (NTLM, WinRM message encryption over HTTP), against the loopback
WinRM host from the tests. Each run is what the CLI does for one PC: connect,
authenticate, open a runspace pool, run the script, close. Also times bringing a
log bundle home. Prints a markdown table.

    python benchmarks/bench_remote.py [--runs 20] [--bundle-mib 5]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qbd_fix.remediations import get
from qbd_fix.runners import transfer
from qbd_fix.runners.remote import RemoteConnection, RemoteRunner
from tests.loopback import Answer, FakeWinRMHost

RESULT = json.dumps(
    {
        "remediation": "restart-tasks",
        "computer": "BENCH-PC",
        "status": "ok",
        "checks": [],
        "actions": [],
        "messages": [],
        "data": {},
    }
)


def connection(host: FakeWinRMHost) -> RemoteConnection:
    return RemoteConnection(
        host="127.0.0.1",
        port=host.port,
        ssl=False,
        auth="ntlm",
        username=host.username,
        password=host.password,
        connect_timeout=5,
        operation_timeout=10,
    )


def bench_runs(runs: int, latency: float) -> tuple[float, float, int]:
    """(median seconds per run, requests per run, script bytes) for *runs* runs."""
    script = get("restart-tasks").render({"ClientName": "O'Brien ‘Ltd’"})
    with FakeWinRMHost(username="bench", password="bench-pw", latency=latency) as host:
        host.default_answer = Answer(output=[RESULT])
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            with RemoteRunner(connection(host)) as runner:
                runner.run(script)
            times.append(time.perf_counter() - started)
        requests_per_run = host.requests / runs
    return statistics.median(times), requests_per_run, len(script.text.encode())


def bench_bundle(mib: int) -> tuple[float, float, int]:
    """(seconds, requests, chunks) to bring home a *mib* MiB bundle over the same kind of pool."""
    blob = os.urandom(mib << 20)

    def chunk(inv: object) -> Answer:
        params = inv.parameters  # type: ignore[attr-defined]
        offset, count = int(str(params["Offset"])), int(str(params["Count"]))
        return Answer(
            output=[f"{len(blob)}:{base64.b64encode(blob[offset : offset + count]).decode()}"]
        )

    with (
        FakeWinRMHost(username="bench", password="bench-pw") as host,
        tempfile.TemporaryDirectory() as folder,
    ):
        host.answer(lambda script, params: script == transfer.READ_CHUNK_SCRIPT, chunk)
        dest = Path(folder) / "bundle.zip"
        started = time.perf_counter()
        with RemoteRunner(connection(host)) as runner:
            runner.fetch("C:\\Windows\\Temp\\b.zip", dest, sha256=hashlib.sha256(blob).hexdigest())
        elapsed = time.perf_counter() - started
        assert dest.read_bytes() == blob
        reads = sum(1 for i in host.invocations if i.script == transfer.READ_CHUNK_SCRIPT)
        return elapsed, host.requests, reads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--bundle-mib", type=int, default=5)
    args = parser.parse_args()
    bench_runs(2, 0.0)  # warm-up: imports, first NTLM context
    print("| case | HTTP requests per run | median wall time per run (ms) |")
    print("|---|---:|---:|")
    for latency in (0.0, 0.005, 0.02):
        median, requests, size = bench_runs(args.runs, latency)
        label = f"restart-tasks, NTLM + encryption, {size // 1024} KiB script, {latency * 1000:g} ms added per request"
        print(f"| {label} | {requests:g} | {median * 1000:.1f} |")
    elapsed, requests, reads = bench_bundle(args.bundle_mib)
    rate = args.bundle_mib / elapsed
    print(
        f"| collect-logs bundle copy, {args.bundle_mib} MiB in {reads} chunks ({rate:.1f} MiB/s) "
        f"| {requests} | {elapsed * 1000:.0f} |"
    )


if __name__ == "__main__":
    main()
