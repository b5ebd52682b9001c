#!/usr/bin/env python3
"""Peak memory of the command line while PCs answer far more than any real one does.

Each case runs qbd-fix in a child process against loopback WinRM hosts (NTLM, message
encryption over HTTP) living in this process. The child writes its own peak resident
set size (``VmHWM`` in ``/proc/self/status``, Linux only) as it exits: ``wait4``'s
``ru_maxrss`` would count the pages the child shared with this big process between
fork and exec. The hosts answer:

* ``output``: one PC printing N MiB of output (1 MiB strings), then its result;
* ``fleet``: 16 PCs printing 25 MiB each, all at once (``--concurrency 16``);
* ``bundle``: ``collect-logs`` bringing home a bundle of N MiB.

``--tree DIR`` runs the qbd_fix package found in DIR instead of this checkout, to
compare with an older version (e.g. ``git archive <commit> | tar -x -C DIR``).
Prints a markdown table. No figure here is a pass/fail test.

    python benchmarks/bench_hostile.py [--output-mib 400] [--fleet-mib 25] [--bundle-mib 512]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qbd_fix.runners import transfer  # noqa: E402  (the reader is the same in every version)
from tests.loopback import Answer, FakeWinRMHost  # noqa: E402

PASSWORD = "bench-pw"
MIB = 1 << 20

#: Runs qbd-fix as ``python -m qbd_fix`` would, writing VmHWM (KiB) to argv[1] at exit.
LAUNCHER = """\
import atexit, runpy, sys
out = sys.argv[1]
def peak():
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith('VmHWM:'):
                with open(out, 'w') as handle:
                    handle.write(line.split()[1])
atexit.register(peak)
sys.argv = ['qbd-fix', *sys.argv[2:]]
runpy.run_module('qbd_fix', run_name='__main__', alter_sys=True)
"""


def result_doc(remediation: str, **data: Any) -> str:
    return json.dumps(
        {
            "remediation": remediation,
            "computer": "BENCH-PC",
            "status": "ok",
            "checks": [],
            "actions": [],
            "messages": ["done"],
            "data": data,
        }
    )


@contextmanager
def hosts(count: int) -> Iterator[list[FakeWinRMHost]]:
    with ExitStack() as stack:
        yield [
            stack.enter_context(FakeWinRMHost(username="u", password=PASSWORD, auth=("ntlm",)))
            for _ in range(count)
        ]


def run_cli(tree: Path, args: list[str], folder: Path) -> tuple[int, float, float, str]:
    """(exit code, seconds, peak RSS in MiB, last stderr line) of one qbd-fix process."""
    env = {**os.environ, "QBD_FIX_PASSWORD": PASSWORD, "PYTHONPATH": str(tree)}
    env["QBD_FIX_AUDIT_LOG"] = str(folder / "audit.jsonl")
    peak_file = folder / "peak-kib"
    started = time.monotonic()
    with (folder / "stdout").open("wb") as out, (folder / "stderr").open("wb") as err:
        code = subprocess.call(
            [sys.executable, "-c", LAUNCHER, str(peak_file), *args],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            cwd=folder,
            env=env,
        )
    elapsed = time.monotonic() - started
    lines = (folder / "stderr").read_text("utf-8", "replace").strip().splitlines()
    return code, elapsed, int(peak_file.read_text()) / 1024, (lines or [""])[-1]


#: Generous: the loopback host builds a whole answer before the first byte leaves.
OPERATION_TIMEOUT = "300"


def remote_args(host: FakeWinRMHost) -> list[str]:
    return ["--host", "127.0.0.1", "--port", str(host.port), "--no-ssl", "--auth", "ntlm",
            "--username", "u", "--yes", "--operation-timeout", OPERATION_TIMEOUT]  # fmt: skip


def noisy_answer(mib: int) -> Answer:
    block = "x" * MIB
    return Answer(output=[*(block for _ in range(mib)), result_doc("restart-tasks")])


def case_output(tree: Path, mib: int, folder: Path) -> tuple[int, float, float, str]:
    with hosts(1) as (host,):
        host.default_answer = noisy_answer(mib)
        return run_cli(tree, ["restart-tasks", *remote_args(host), "--json"], folder)


def case_fleet(tree: Path, count: int, mib: int, folder: Path) -> tuple[int, float, float, str]:
    with hosts(count) as farm:
        for host in farm:
            host.default_answer = noisy_answer(mib)
        inventory = folder / "pcs.csv"
        inventory.write_text(
            "host,port,ssl,auth,username\n"
            + "".join(f"127.0.0.1,{h.port},false,ntlm,u\n" for h in farm),
            encoding="utf-8",
        )
        args = ["restart-tasks", "--inventory", str(inventory), "--concurrency", str(count),
                "--yes", "--operation-timeout", OPERATION_TIMEOUT,
                "--report", str(folder / "report.json")]  # fmt: skip
        return run_cli(tree, args, folder)


def case_bundle(tree: Path, mib: int, folder: Path) -> tuple[int, float, float, str]:
    blob = os.urandom(mib * MIB)
    bundle = {
        "path": "C:\\Windows\\Temp\\qbd-fix\\bench.zip",
        "sha256": hashlib.sha256(blob).hexdigest(),
        "size": len(blob),
    }

    def chunk(inv: Any) -> Answer:
        offset, count = int(str(inv.parameters["Offset"])), int(str(inv.parameters["Count"]))
        data = base64.b64encode(blob[offset : offset + count]).decode()
        return Answer(output=[f"{len(blob)}:{data}"])

    with hosts(1) as (host,):
        host.default_answer = Answer(output=[result_doc("collect-logs", bundle=bundle)])
        host.answer(lambda script, params: script == transfer.READ_CHUNK_SCRIPT, chunk)
        host.answer(lambda script, params: script == transfer.REMOVE_FILE_SCRIPT, Answer())
        dest = folder / "logs"
        outcome = run_cli(tree, ["collect-logs", *remote_args(host), "--dest", str(dest)], folder)
        copies = list(dest.glob("*.zip")) if dest.exists() else []
        if outcome[0] == 0 and (len(copies) != 1 or copies[0].stat().st_size != len(blob)):
            raise SystemExit("the bundle did not arrive whole")
        return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="folder holding qbd_fix/")
    parser.add_argument("--output-mib", type=int, default=400)
    parser.add_argument("--fleet-pcs", type=int, default=16)
    parser.add_argument("--fleet-mib", type=int, default=25)
    parser.add_argument("--bundle-mib", type=int, default=512)
    parser.add_argument("--only", choices=("output", "fleet", "bundle"), action="append")
    options = parser.parse_args()
    tree = options.tree.resolve()
    if not (tree / "qbd_fix" / "__init__.py").is_file():
        raise SystemExit(f"no qbd_fix package in {tree}")
    cases = {
        "output": (
            f"one PC prints {options.output_mib} MiB",
            lambda f: case_output(tree, options.output_mib, f),
        ),
        "fleet": (
            f"{options.fleet_pcs} PCs print {options.fleet_mib} MiB each",
            lambda f: case_fleet(tree, options.fleet_pcs, options.fleet_mib, f),
        ),
        "bundle": (
            f"collect-logs, {options.bundle_mib} MiB bundle",
            lambda f: case_bundle(tree, options.bundle_mib, f),
        ),
    }
    print(f"qbd_fix from {tree}\n")
    print("| case | exit | wall time (s) | peak RSS (MiB) | last stderr line |")
    print("|---|---:|---:|---:|---|")
    for name in options.only or list(cases):
        title, run = cases[name]
        with tempfile.TemporaryDirectory(prefix="qbd-bench-") as folder:
            code, seconds, peak, last = run(Path(folder))
        print(f"| {title} | {code} | {seconds:.1f} | {peak:.0f} | {last[:80]} |", flush=True)


if __name__ == "__main__":
    main()
