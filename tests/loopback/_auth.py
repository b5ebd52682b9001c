"""Authentication and WinRM message encryption for the loopback host.

pyspnego's NTLM acceptor reads credentials only from the file named by the process-global
``NTLM_USER_FILE`` variable. The variable is set once (to a private temp file); hosts with
different credentials take turns: the file is rewritten under a global lock just before an
acceptor step whenever it holds another host's credentials. Hosts sharing credentials (the
fleet case) never rewrite it.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import contextlib
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from typing import Any

import spnego
from pypsrp.encryption import WinRMEncryption

_CRED_LOCK = threading.RLock()
_cred_file: str | None = None
_cred_content: str | None = None

_TOKEN_RE = re.compile(r"^\s*(Negotiate|NTLM|Kerberos)\s+(\S+)\s*$", re.IGNORECASE)
_BOUNDARY_RE = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_PROTOCOL_RE = re.compile(r'protocol="?([^";]+)"?', re.IGNORECASE)


class AuthFailed(Exception):
    """The client's credentials were rejected (the host answers 401)."""


def _credential_lines(username: str, password: str) -> str:
    r"""NTLM_USER_FILE lines accepting ``user`` and ``DOMAIN\user`` forms of ``username``."""
    if "\\" in username:
        domain, user = username.split("\\", 1)
        return f"{domain}:{user}:{password}\n:{user}:{password}\n"
    if "@" in username:
        return f":{username}:{password}\n"
    return f":{username}:{password}\n"


def _ensure_cred_file() -> str:
    """Create the shared credential file and point NTLM_USER_FILE at it, once per process."""
    global _cred_file
    with _CRED_LOCK:
        if _cred_file is None:
            fd, path = tempfile.mkstemp(prefix="fake-winrm-ntlm-", suffix=".txt")
            os.close(fd)
            _cred_file = path
            os.environ["NTLM_USER_FILE"] = path
            atexit.register(_remove_cred_file, path)
        return _cred_file


def _remove_cred_file(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


@contextlib.contextmanager
def ntlm_credentials(username: str, password: str) -> Any:
    """Hold the global lock with the credential file set to this host's user for one step."""
    global _cred_content
    path = _ensure_cred_file()
    wanted = _credential_lines(username, password)
    with _CRED_LOCK:
        if os.environ.get("NTLM_USER_FILE") != path:
            os.environ["NTLM_USER_FILE"] = path  # someone changed it; the acceptor needs ours
        if _cred_content != wanted:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(wanted)
            _cred_content = wanted
        yield


@dataclass
class StepResult:
    """Outcome of one Negotiate/NTLM header: a token to return and whether auth is complete."""

    scheme: str
    out_token: bytes | None
    complete: bool


class ConnectionAuth:
    """Auth state of one TCP connection (WinRM authenticates connections, not requests)."""

    def __init__(self) -> None:
        self.context: Any = None
        self.complete = False
        self.username: str | None = None
        self.encryption: WinRMEncryption | None = None

    def step(
        self, header: str, username: str, password: str, allowed: tuple[str, ...]
    ) -> StepResult:
        """Process an ``Authorization: Negotiate|NTLM <token>`` header; raises AuthFailed."""
        match = _TOKEN_RE.match(header)
        if not match:
            raise AuthFailed("malformed authorization header")
        scheme = match.group(1)
        try:
            token = base64.b64decode(match.group(2), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise AuthFailed("authorization token is not base64") from exc
        if self.context is None or self.complete:
            raw_ntlm = token.startswith(b"NTLMSSP\x00")
            protocol = "ntlm" if raw_ntlm else "negotiate"
            if protocol == "negotiate" and "negotiate" not in allowed:
                raise AuthFailed("negotiate not enabled on this host")
            if protocol == "ntlm" and not ({"ntlm", "negotiate"} & set(allowed)):
                raise AuthFailed("ntlm not enabled on this host")
            self.complete = False
            self.encryption = None
            with ntlm_credentials(username, password):
                self.context = spnego.server(
                    hostname="127.0.0.1", service="http", protocol=protocol
                )
        try:
            with ntlm_credentials(username, password):
                out = self.context.step(token)
        except spnego.exceptions.SpnegoError as exc:
            self.context = None
            raise AuthFailed(str(exc)) from exc
        if self.context.complete:
            principal = self.context.client_principal or ""
            user = principal.split("\\")[-1]
            if user.lower() != username.split("\\")[-1].lower():
                self.context = None
                raise AuthFailed(f"unexpected principal {principal!r}")
            self.complete = True
            self.username = principal
        return StepResult(scheme, out, self.complete)

    def unwrap(self, body: bytes, content_type: str) -> bytes:
        """Decrypt a ``multipart/encrypted`` WinRM body with this connection's context."""
        if not self.complete or self.context is None:
            raise AuthFailed("encrypted message on an unauthenticated connection")
        boundary = _BOUNDARY_RE.search(content_type)
        protocol = _PROTOCOL_RE.search(content_type)
        enc = WinRMEncryption(
            self.context, protocol.group(1) if protocol else WinRMEncryption.SPNEGO
        )
        self.encryption = enc
        return enc.unwrap_message(body, boundary.group(1) if boundary else "Encrypted Boundary")

    def wrap(self, message: bytes) -> tuple[str, bytes]:
        """Encrypt a response; returns the Content-Type header and the body."""
        enc = self.encryption or WinRMEncryption(self.context, WinRMEncryption.SPNEGO)
        content_type, payload = enc.wrap_message(message)
        header = f'{content_type};protocol="{enc.protocol}";boundary="Encrypted Boundary"'
        return header, payload


def check_basic(header: str, username: str, password: str) -> bool:
    """Validate an ``Authorization: Basic`` header."""
    if not header.lower().startswith("basic "):
        return False
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    user, _, pwd = decoded.partition(":")
    return user == username and pwd == password
