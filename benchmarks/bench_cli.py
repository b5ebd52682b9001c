#!/usr/bin/env python3
"""Whole-process start-up cost of the CLI: median of N runs of ``qbd-fix --help`` and of
one dry-run render. Prints a markdown table for benchmarks/README.md.

    python benchmarks/bench_cli.py [--runs 10]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

CASES = {
    "qbd-fix --help": ["--help"],
    "qbd-fix restart-tasks --client-name ... --dry-run": [
        "restart-tasks",
        "--client-name",
        "O'Brien & Sons – Books",
        "--dry-run",
    ],
}


def time_run(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    exe = shutil.which("qbd-fix")
    base = [exe] if exe else [sys.executable, "-m", "qbd_fix"]
    print("| command | median (ms) | min (ms) | max (ms) |")
    print("|---|---:|---:|---:|")
    for label, argv in CASES.items():
        time_run(base + argv)  # warm the file cache
        samples = [time_run(base + argv) * 1000 for _ in range(args.runs)]
        print(
            f"| `{label}` | {statistics.median(samples):.0f} | {min(samples):.0f} | {max(samples):.0f} |"
        )


if __name__ == "__main__":
    main()
