"""Run one rendered remediation on one computer and bring its files home.

This is the whole job minus the user interface, so the CLI, the fleet and
other tools share it.
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path

from qbd_fix.errors import ResultError
from qbd_fix.runners.base import Runner, RunOutcome
from qbd_fix.script.engine import Script

_UNSAFE_FILE_CHARS = re.compile(r'[<>:"/\\|?*\x00-\x1f]+')


def safe_file_stem(text: str) -> str:
    """A file name part that is valid on Windows and Unix alike."""
    stem = _UNSAFE_FILE_CHARS.sub("_", text).strip(" .")
    return stem[:100] or "host"


def default_log_bundle(target: str, now: _dt.datetime | None = None) -> Path:
    """``./qbd-logs/<host>-<UTC timestamp>.zip``."""
    moment = (now or _dt.datetime.now(_dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    return Path("qbd-logs") / f"{safe_file_stem(target)}-{moment}.zip"


def bundle_destination(dest: Path | None, target: str) -> Path:
    """Where a log bundle lands: a given .zip path, a given folder, or the default."""
    if dest is None:
        return default_log_bundle(target)
    if dest.suffix.lower() == ".zip" and not dest.is_dir():
        return dest
    return dest / default_log_bundle(target).name


def execute(
    script: Script,
    runner: Runner,
    *,
    what_if: bool = False,
    dest: Path | None = None,
) -> RunOutcome:
    """Run a rendered *script* and fetch any file it produced.

    A script that leaves a file for the caller (``collect-logs``) reports its path
    and SHA-256 in ``data.bundle``; it is copied to *dest* and the PC's copy removed.
    """
    outcome = runner.run(script, what_if=what_if)
    bundle = outcome.result.data.get("bundle")
    if isinstance(bundle, dict) and bundle.get("path") and not what_if:
        remote_path = bundle["path"]
        if not isinstance(remote_path, str):
            raise ResultError("result document: data.bundle.path is not text")
        local = bundle_destination(dest, outcome.target)
        runner.fetch(remote_path, local, sha256=bundle.get("sha256"))
        bundle["local_path"] = str(local)
    return outcome
