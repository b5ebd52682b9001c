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
from urllib.parse import unquote, urlsplit, urlunsplit

if TYPE_CHECKING:
    from qbd_fix.fleet.scheduler import HostReport
    from qbd_fix.script.engine import Script

#: Parameter or setting names whose values are never written anywhere.
#: The environment variable that moves the audit log (``--audit-log`` wins over it).
AUDIT_ENV = "QBD_FIX_AUDIT_LOG"
SECRET_NAME = re.compile(r"password|passwd|secret|token", re.IGNORECASE)
REDACTED = "***"
#: URL query or fragment parameters that carry a credential: SAS signatures (``sig``), AWS and
#: Google signed URLs (``X-Amz-Signature``, ``X-Amz-Credential``, ``X-Goog-Signature``),
#: OAuth tokens and API keys.
SECRET_QUERY_NAME = re.compile(
    r"sig|signature|token|secret|password|passwd|pwd|key|credential|auth|session|code",
    re.IGNORECASE,
)
#: A bare query item this long (no ``name=``) is taken for a token.
_TOKEN_LENGTH = 16


def _redact_items(text: str, found: list[str]) -> str:
    items = []
    for item in text.split("&"):
        name, sep, value = item.partition("=")
        if sep and value and SECRET_QUERY_NAME.search(name):
            found.append(value)
            item = f"{name}={REDACTED}"
        elif not sep and len(item) >= _TOKEN_LENGTH:
            found.append(item)
            item = REDACTED
        items.append(item)
    return "&".join(items)


def _split_url(value: str) -> tuple[str, list[str]]:
    """*value* with its credentials replaced by ``***``, and the credentials found."""
    found: list[str] = []
    if "://" not in value:
        return value, found
    try:
        parts = urlsplit(value.strip())
    except ValueError:  # a broken IPv6 literal: not a URL to keep, not one to leak either
        return REDACTED, [value]
    if not parts.scheme or not parts.netloc:
        return value, found
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, netloc = netloc.rsplit("@", 1)
        found.append(userinfo)
        found.extend(p for p in userinfo.split(":", 1)[1:] if p)
        netloc = f"{REDACTED}@{netloc}"
    query = _redact_items(parts.query, found) if parts.query else ""
    fragment = _redact_items(parts.fragment, found) if parts.fragment else ""
    if not found:
        return value, found
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment)), found


def redact_url(value: str) -> str:
    """A URL without its credentials: ``https://user:pass@host/x?sig=...`` becomes
    ``https://***@host/x?sig=***``. Text that is not a URL comes back as it is."""
    return _split_url(value)[0]


def url_secrets(values: Mapping[str, Any]) -> list[str]:
    """The credentials inside URL values, for scrubbing text a PC sends back."""
    found: list[str] = []
    for value in values.values():
        if isinstance(value, str):
            for secret in _split_url(value)[1]:
                found.extend({secret, unquote(secret)})  # a PC may echo either form
    return found


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
    """A copy of *values* with secret ones replaced by ``***`` (by flag or by name), and
    the credentials inside URLs (an installer link with a SAS signature) too."""
    return {
        key: REDACTED
        if (key in secret_names or SECRET_NAME.search(key))
        else redact_url(value)
        if isinstance(value, str)
        else value
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
        port: int | None = None,
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
            "port": port,
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

    def record_report(
        self, report: HostReport, script: Script | None, *, port: int | None = None
    ) -> dict[str, Any]:
        """The line for one PC of a fleet run; *port* is the one connected to, when the
        report's own is blank (the scheme's default)."""
        return self.record(
            host=report.host,
            port=report.port if port is None else port,
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
