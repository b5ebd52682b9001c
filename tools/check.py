#!/usr/bin/env python3
"""Lint, type-check and test in one command: what CI runs, and what to run before a commit.

python tools/check.py            # everything, slow tests included
python tools/check.py --quick    # skip the tests marked slow
"""

from __future__ import annotations

import subprocess
import sys

STEPS: list[tuple[str, list[str]]] = [
    ("ruff check", [sys.executable, "-m", "ruff", "check", "."]),
    ("ruff format", [sys.executable, "-m", "ruff", "format", "--check", "."]),
    ("mypy", [sys.executable, "-m", "mypy"]),
]


def main(argv: list[str]) -> int:
    marker = "not slow" if "--quick" in argv else "slow or not slow"
    steps = [*STEPS, ("pytest", [sys.executable, "-m", "pytest", "-m", marker, "-n", "2", "-q"])]
    failed = []
    for name, command in steps:
        print(f"==> {name}", flush=True)
        if subprocess.run(command, check=False).returncode != 0:
            failed.append(name)
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
