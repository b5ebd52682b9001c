"""Run one rendered remediation on one computer and bring its files home.

This is the whole job minus the user interface, so the CLI, the fleet and
other tools share it.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
import re
from pathlib import Path
from typing import Any

from qbd_fix.errors import ResultError
from qbd_fix.runners import transfer
from qbd_fix.runners.base import OnStep, Runner, RunOutcome
from qbd_fix.script.engine import Script

log = logging.getLogger(__name__)

#: The only remediations whose result may bring a file home.
#: Longest path on the PC accepted for a bundle (the Windows long-path limit).
_MAX_REMOTE_PATH = 32767

_UNSAFE_FILE_CHARS = re.compile(r'[<>:"/\\|?*\x00-\x1f]+')


def safe_file_stem(text: str) -> str:
    """A file name part that is valid on Windows and Unix alike."""
    stem = _UNSAFE_FILE_CHARS.sub("_", text).strip(" .")
    return stem[:100] or "host"


def default_log_bundle(target: str, now: _dt.datetime | None = None) -> Path:
    """``./qbd-logs/<host>-<UTC timestamp>.zip``; *target* is the admin's name for the PC
    (with its port when that is not the default), never text from the PC."""
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
    max_bundle_bytes: int = transfer.DEFAULT_MAX_BUNDLE_MIB << 20,
    on_step: OnStep | None = None,
) -> RunOutcome:
    """Run a rendered *script* and fetch any file it produced.

    Only ``collect-logs`` may leave a file for the caller: it reports the file's path,
    SHA-256 and size in ``data.bundle``; the file is copied to *dest* (under a free
    name: never over a file) and the PC's copy removed. A ``data.bundle`` in any
    other result is dropped, with a note, and nothing is fetched. *on_step* hears each
    step the script reports while it runs.
    """
    outcome = runner.run(script, what_if=what_if, on_step=on_step)
    result = outcome.result
    if "bundle" not in result.data:
        return outcome
    data = dict(result.data)
    bundle = data.pop("bundle")
    if not _collects_file(script.name):
        note = (
            f"ignored data.bundle in the {script.name} result: only collect-logs brings files home"
        )
        log.warning("%s on %s", note, outcome.target)
        return _with(outcome, data, notes=(note,))
    if bundle is None:
        return _with(outcome, data)
    if not isinstance(bundle, dict):
        raise ResultError("result document: data.bundle is not an object")
    bundle = {k: v for k, v in bundle.items() if k != "local_path"}  # only ours is shown
    data["bundle"] = bundle
    remote_path = bundle.get("path")
    if not remote_path or what_if:
        return _with(outcome, data)
    if not isinstance(remote_path, str) or len(remote_path) > _MAX_REMOTE_PATH:
        raise ResultError("result document: data.bundle.path is not a path")
    digest = transfer.expected_digest(bundle.get("sha256"))
    size = transfer.expected_size(bundle.get("size"), max_bundle_bytes)
    local = bundle_destination(dest, runner.bundle_name())
    placed = runner.fetch(remote_path, local, sha256=digest, size=size, max_bytes=max_bundle_bytes)
    bundle["local_path"] = str(placed)
    return _with(outcome, data)


def _with(
    outcome: RunOutcome, data: dict[str, Any], *, notes: tuple[str, ...] | list[str] = ()
) -> RunOutcome:
    result = dataclasses.replace(outcome.result, data=data, notes=[*outcome.result.notes, *notes])
    return dataclasses.replace(outcome, result=result)


def _collects_file(name: str) -> bool:
    """Whether the remediation called *name* leaves a file for the run to bring home."""
    from qbd_fix.remediations import REMEDIATIONS

    remediation = REMEDIATIONS.get(name)
    return remediation is not None and remediation.collects_file
