#!/usr/bin/env python3
"""Lint, type-check and test in one command: what CI runs, and what to run before a commit.

python tools/check.py            # everything, slow tests included
python tools/check.py --quick    # skip the tests marked slow (Pester still runs)

The last step renders the PowerShell scripts and runs the Pester suite (tests/pester) with
PowerShell 7 and Pester 5, found through QBD_PWSH and QBD_PESTER or in the folder that
../shared/tools/setup-pwsh installs into (${XDG_CACHE_HOME:-~/.cache}/qbd-pwsh). Without them the
step is a loud notice, not a failure, except under CI (CI set), where it fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PESTER_SUITE = ROOT / "tests" / "pester" / "Invoke-PesterSuite.ps1"
INSTALL_HINT = "install PowerShell 7 and Pester 5 with ../shared/tools/setup-pwsh"

STEPS: list[tuple[str, list[str]]] = [
    ("ruff check", [sys.executable, "-m", "ruff", "check", "."]),
    ("ruff format", [sys.executable, "-m", "ruff", "format", "--check", "."]),
    ("mypy", [sys.executable, "-m", "mypy"]),
]


@dataclass(frozen=True)
class PesterTools:
    pwsh: Path
    pester: Path


class ToolsMissing(Exception):
    """PowerShell or Pester is not there; the message says what was looked for."""


def default_home(env: Mapping[str, str]) -> Path:
    """Where setup-pwsh installs by default: ${XDG_CACHE_HOME:-~/.cache}/qbd-pwsh."""
    cache = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".cache")
    return Path(cache) / "qbd-pwsh"


def _version_key(path: Path) -> tuple[int, ...]:
    # .../packages/pester/<version>/tools/Pester.psd1: newest version first.
    return tuple(int(part) for part in re.findall(r"\d+", path.parents[1].name))


def find_pester_tools(env: Mapping[str, str]) -> PesterTools:
    """pwsh and Pester.psd1 from QBD_PWSH / QBD_PESTER, else from setup-pwsh's folder."""
    home = default_home(env)
    if env.get("QBD_PWSH"):
        pwsh = Path(env["QBD_PWSH"])
    else:
        pwsh = home / "tools" / ("pwsh.exe" if os.name == "nt" else "pwsh")
    if not pwsh.is_file():
        where = "QBD_PWSH" if env.get("QBD_PWSH") else "the default folder"
        raise ToolsMissing(f"no PowerShell at {pwsh} ({where})")
    if env.get("QBD_PESTER"):
        pester = Path(env["QBD_PESTER"])
        if not pester.is_file():
            raise ToolsMissing(f"no Pester module at {pester} (QBD_PESTER)")
    else:
        found = sorted(
            (p for p in (home / "packages").glob("*/5.*/tools/Pester.psd1")),
            key=_version_key,
        )
        if not found:
            raise ToolsMissing(f"no Pester 5 under {home / 'packages'}")
        pester = found[-1]
    return PesterTools(pwsh=pwsh, pester=pester)


def run_pester(env: Mapping[str, str]) -> str:
    """Render the scripts and run the Pester suite: "passed", "failed" or "not run".

    Missing tools are a failure under CI (a green CI must mean the suite ran) and a notice
    elsewhere, so a machine without PowerShell can still run the Python checks.
    """
    try:
        tools = find_pester_tools(env)
    except ToolsMissing as missing:
        if env.get("CI"):
            print(f"pester: {missing}; CI needs it: {INSTALL_HINT}", file=sys.stderr)
            return "failed"
        print(
            f"NOTICE: PESTER DID NOT RUN ({missing}): {INSTALL_HINT}, "
            "or set QBD_PWSH and QBD_PESTER",
            file=sys.stderr,
            flush=True,
        )
        return "not run"
    render = [sys.executable, str(ROOT / "tests" / "pester" / "render.py")]
    # This checkout's templates, even where the installed qbd_fix is another checkout's.
    path = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    rendered = subprocess.run(
        render, check=False, stdout=subprocess.DEVNULL, env={**env, "PYTHONPATH": path}
    )
    if rendered.returncode != 0:
        return "failed"
    suite = [str(tools.pwsh), "-NoLogo", "-NoProfile", "-NonInteractive", "-File"]
    suite += [str(PESTER_SUITE), "-PesterPath", str(tools.pester)]
    return "passed" if subprocess.run(suite, check=False).returncode == 0 else "failed"


def main(argv: list[str]) -> int:
    marker = "not slow" if "--quick" in argv else "slow or not slow"
    steps = [*STEPS, ("pytest", [sys.executable, "-m", "pytest", "-m", marker, "-n", "2", "-q"])]
    failed = []
    for name, command in steps:
        print(f"==> {name}", flush=True)
        if subprocess.run(command, check=False).returncode != 0:
            failed.append(name)
    print("==> pester", flush=True)
    pester = run_pester(os.environ)
    if pester == "failed":
        failed.append("pester")
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(
        "all checks passed" if pester == "passed" else "all checks passed, but Pester did not run"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
