"""An append-only record of what was sent to which PC, by whom: one JSON line per PC.

MSPs must be able to answer "who changed this client's PC, and with what?"
long after a run. Each line names the operator, the PC, the remediation and
the SHA-256 of the exact script text sent (``--dry-run`` prints that text, so
the digest can be checked), with secret parameters redacted.

One ``os.write`` per line on a file opened for appending keeps lines whole
when several threads or processes log at once; a lock orders the threads.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import json
import os
import re
import socket
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qbd_fix.fleet.scheduler import HostReport
    from qbd_fix.script.engine import Script

#: Parameter or setting names whose values are never written anywhere.
SECRET_NAME = re.compile(r"password|passwd|secret|token", re.IGNORECASE)
REDACTED = "***"


def default_path() -> Path:
    """``<user state dir>/qbd-fix/audit.jsonl`` (e.g. ~/.local/state/qbd-fix on Linux)."""
    import platformdirs

    return Path(platformdirs.user_state_dir("qbd-fix")) / "audit.jsonl"


def secret_parameter_names(remediation: str) -> set[str]:
    """Parameters the remediation itself marks as secret (``ScriptParameter.secret``)."""
    from qbd_fix.remediations import REMEDIATIONS

    found = REMEDIATIONS.get(remediation)
    return {p.name for p in found.parameters if p.secret} if found else set()


def redact(
    values: Mapping[str, Any], secret_names: set[str] | frozenset[str] = frozenset()
) -> dict[str, Any]:
    """A copy of *values* with secret ones replaced by ``***`` (by flag or by name)."""
    return {
        key: REDACTED if (key in secret_names or SECRET_NAME.search(key)) else value
        for key, value in values.items()
    }


def _operator() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers, services): still log the line
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


class AuditLog:
    """Appends audit lines to *path* (default: :func:`default_path`); safe across threads."""

    def __init__(self, path: str | Path | None = None, *, fsync: bool = False) -> None:
        self.path = Path(path).expanduser() if path is not None else default_path()
        self.fsync = fsync
        self._lock = threading.Lock()
        self._user = _operator()
        self._machine = socket.gethostname()

    def record(
        self,
        *,
        host: str,
        remediation: str,
        script: Script | None,
        what_if: bool,
        status: str,
        error_kind: str | None = None,
        exit_code: int | None = None,
        client_name: str | None = None,
    ) -> dict[str, Any]:
        """Append one line and return what was written."""
        parameters = dict(script.parameters) if script is not None else {}
        remediation = remediation or (script.name if script is not None else "")
        entry: dict[str, Any] = {
            "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "user": self._user,
            "machine": self._machine,
            "host": host,
            "client_name": client_name,
            "remediation": remediation,
            "script_sha256": script.sha256 if script is not None else None,
            "parameters": redact(parameters, secret_parameter_names(remediation)),
            "what_if": what_if,
            "status": status,
            "error_kind": error_kind,
            "exit_code": exit_code,
        }
        self._append(json.dumps(entry, ensure_ascii=False, sort_keys=False) + "\n")
        return entry

    def record_report(self, report: HostReport, script: Script | None) -> dict[str, Any]:
        """The line for one PC of a fleet run."""
        return self.record(
            host=report.host,
            remediation=report.remediation,
            script=script,
            what_if=report.what_if,
            status=report.status.value,
            error_kind=report.error.kind if report.error else None,
            exit_code=report.exit_code,
            client_name=report.client_name,
        )

    def _append(self, line: str) -> None:
        data = line.encode("utf-8")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                written = os.write(fd, data)
                if written != len(data):  # a short write on a full disk: finish it, still appended
                    os.write(fd, data[written:])
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
