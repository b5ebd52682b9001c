"""Run scripts on this Windows PC through ``powershell.exe -File``.

The script goes to a temporary UTF-8-with-BOM file (no values on the command
line: argv is visible to every user of the PC) and its one JSON result is read
from stdout.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from qbd_fix.errors import ResultError, RunTimeoutError, ScriptFailedError, TransferError
from qbd_fix.result import MAX_RESULT_CHARS, parse_result
from qbd_fix.runners import limits, transfer
from qbd_fix.runners.base import OnStep, Runner, RunOutcome, Streams, step_of
from qbd_fix.script.engine import Script

POWERSHELL_ARGS = ("-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass")


#: Longest line read at once: a longer one arrives in pieces (none a result document).
_LINE_BYTES = 4 * MAX_RESULT_CHARS + 2


def _pump(stream: IO[bytes], add: Callable[[str], None]) -> None:
    """Hand every non-blank line of *stream* to *add*, as text."""
    with stream:
        for line in iter(lambda: stream.readline(_LINE_BYTES), b""):
            text = line.decode("utf-8", errors="replace").rstrip("\r\n")
            if text.strip():
                add(text)


def _stepping(add: Callable[[str], None], on_step: OnStep | None) -> Callable[[str], None]:
    """*add*, telling *on_step* first about a line that announces a step."""
    if on_step is None:
        return add

    def add_line(text: str) -> None:
        step = step_of(text)
        if step is not None:
            on_step(step)
        add(text)

    return add_line


def local_supported() -> bool:
    """Local runs need Windows PowerShell, which only Windows has."""
    return sys.platform == "win32"


def find_powershell() -> str | None:
    """Windows PowerShell first: it is on every supported PC; ``pwsh`` may not be."""
    return shutil.which("powershell.exe") or shutil.which("powershell") or shutil.which("pwsh")


class LocalRunner(Runner):
    """Runs scripts with the PowerShell found on PATH."""

    def __init__(self, executable: str | None = None, *, timeout: float | None = None) -> None:
        """*timeout* None: each script's own budget plus a margin (``Script.runner_timeout``)."""
        found = executable or find_powershell()
        if not found:
            raise ScriptFailedError(
                "powershell.exe was not found on PATH",
                hint="run from a Windows PC, or use --host or --dry-run",
            )
        self.executable = found
        self.timeout = timeout
        self.target = os.environ.get("COMPUTERNAME") or "localhost"

    def command(self, script_path: Path, *, what_if: bool) -> list[str]:
        args = [self.executable, *POWERSHELL_ARGS, "-File", str(script_path)]
        if what_if:
            args.append("-WhatIf")
        return args

    def run(
        self, script: Script, *, what_if: bool = False, on_step: OnStep | None = None
    ) -> RunOutcome:
        started = time.monotonic()
        timeout = script.runner_timeout if self.timeout is None else self.timeout
        kept = limits.Collected()
        with tempfile.TemporaryDirectory(prefix="qbd-fix-") as folder:
            path = Path(folder) / f"{script.name}.ps1"
            path.write_bytes(script.file_bytes())
            returncode = self._execute(self.command(path, what_if=what_if), kept, timeout, on_step)
        errors = kept.errors.texts()
        try:
            result = parse_result(kept.result_lines())
        except ResultError:
            detail = next((line.strip() for line in errors if line.strip()), "")
            if returncode != 0 and detail:
                raise ScriptFailedError(
                    f"PowerShell exited with code {returncode}: {detail}",
                    hint="run again with --debug to see all of its output",
                ) from None
            raise
        if kept.truncated:
            result = dataclasses.replace(
                result, truncated=True, notes=[*result.notes, *kept.notes()]
            )
        return RunOutcome(
            target=self.target,
            result=result,
            duration=time.monotonic() - started,
            streams=Streams(output=kept.output.texts(), errors=errors),
            exit_code=returncode,
        )

    def _execute(
        self,
        command: list[str],
        kept: limits.Collected,
        timeout: float,
        on_step: OnStep | None = None,
    ) -> int:
        """Run *command*, its stdout and stderr read line by line into *kept* (bounded)
        as they come, steps told to *on_step* at once; returns the exit code."""
        try:
            process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
            )
        except OSError as exc:
            raise ScriptFailedError(f"could not start {self.executable}: {exc.strerror}") from None
        assert process.stdout is not None
        assert process.stderr is not None
        readers = [
            threading.Thread(
                target=_pump,
                args=(process.stdout, _stepping(kept.add_output, on_step)),
                daemon=True,
            ),
            threading.Thread(target=_pump, args=(process.stderr, kept.errors.add), daemon=True),
        ]
        for reader in readers:
            reader.start()
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise RunTimeoutError(
                f"the script ran longer than {timeout:.0f} s and was stopped"
            ) from None
        finally:
            for reader in readers:
                reader.join()
        return returncode

    def fetch(
        self,
        remote_path: str,
        local_path: Path,
        *,
        sha256: str | None = None,
        size: int | None = None,
        max_bytes: int = transfer.DEFAULT_MAX_BUNDLE_MIB << 20,
    ) -> Path:
        """On this PC the 'remote' file is local: copy it with the same checks, then remove it."""
        digest = transfer.expected_digest(sha256)
        source = Path(remote_path)
        if not source.is_file():
            raise TransferError(f"the script's file {remote_path} does not exist")
        with source.open("rb") as handle:
            placed = transfer.save_verified(
                iter(lambda: handle.read(1 << 20), b""),
                local_path,
                source=remote_path,
                sha256=digest,
                size=size,
                max_bytes=max_bytes,
            )
        source.unlink()
        return placed
