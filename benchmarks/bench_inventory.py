#!/usr/bin/env python3
"""Fleet pre-flight on a big inventory: everything ``qbd-fix restart-tasks --inventory``
checks before the first PC is contacted (read and check every row, every PC's values and
connection settings, duplicates, passwords), timed in a fresh process, with its peak RSS.

Every row has its own client name, so every PC has its own script: the case that used to
render (and keep) one 23 KiB script per PC during the pre-flight.

    python benchmarks/bench_inventory.py                    # 10,000 and 100,000 rows
    python benchmarks/bench_inventory.py --rows 100000 --runs 3
    python benchmarks/bench_inventory.py --source /tmp/old  # another checkout, to compare

Prints a markdown table; the figures are recorded by hand in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write_inventory(path: Path, rows: int) -> None:
    """A realistic sheet: blank and explicit ports, HTTP and HTTPS rows, groups, tags, notes."""
    lines = ["host,port,client_name,username,password_env,auth,ssl,group,tags,notes"]
    for i in range(rows):
        port = "" if i % 3 else ("5985" if i % 2 else "5986")
        ssl = "false" if port == "5985" else ""
        lines.append(
            f"pc{i:06d}.corp.example,{port},Client ‘{i}’ & Sons,,,ntlm,{ssl},"
            f'g{i % 20},"t{i % 7},vip",desk {i}'
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(inventory: str) -> dict[str, float]:
    """In the child process: import, then time the pre-flight alone."""
    os.environ["QBD_FIX_PASSWORD"] = "bench-password"
    from qbd_fix.cli import fleet
    from qbd_fix.cli.commands import Invocation
    from qbd_fix.cli.connection import Auth, ConnectionOptions
    from qbd_fix.remediations import get

    remediation = get("restart-tasks")
    options = ConnectionOptions(username="admin", auth=Auth.ntlm)
    given = fleet.FleetOptions(inventory=inventory)
    invocation = Invocation({"ClientName": "Default Client"})
    import qbd_fix.script.engine  # noqa: F401 - imported by the command before this point

    began = time.perf_counter()
    if hasattr(fleet, "preflight"):
        plan = fleet.preflight(remediation, invocation, options, given, client="Default Client")
        count = len(plan.targets)
    else:  # a checkout from before preflight() existed: the same steps, as that command ran them
        from qbd_fix.fleet.scripts import ScriptBook, with_client

        targets = with_client(fleet.resolve_targets(options, given), "Default Client")
        book = ScriptBook(remediation, invocation.values)
        for target in targets:
            book(target)
        fleet.build_connections(options, targets)
        count = len(targets)
    wall = time.perf_counter() - began
    return {"wall": wall, "rss": peak_rss_mib(), "rows": count}


def run_once(source: Path, inventory: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(source)}
    command = [sys.executable, str(Path(__file__).resolve()), "--measure", str(inventory)]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    doc: dict[str, float] = json.loads(proc.stdout)
    return doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="10000,100000", help="comma list of inventory sizes")
    parser.add_argument("--runs", type=int, default=3, help="runs per size; the median counts")
    parser.add_argument("--source", default=str(ROOT), help="the checkout to measure")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    print("| rows | pre-flight wall (s), median | min | max | peak RSS (MiB) | µs per row |")
    print("|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="bench-inventory-") as folder:
        for rows in (int(n) for n in args.rows.split(",") if n):
            inventory = Path(folder) / f"pcs-{rows}.csv"
            write_inventory(inventory, rows)
            results = [run_once(Path(args.source), inventory) for _ in range(args.runs)]
            walls = [r["wall"] for r in results]
            assert all(r["rows"] == rows for r in results)
            middle = statistics.median(walls)
            print(
                f"| {rows:,} | {middle:.2f} | {min(walls):.2f} | {max(walls):.2f} | "
                f"{max(r['rss'] for r in results):.0f} | {middle / rows * 1e6:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
