"""Run scripts on a remote Windows PC over PowerShell Remoting (WinRM), with pypsrp.

The script sent is exactly the rendered text (what ``--dry-run`` prints); every
value travels as a typed PSRP parameter, so nothing is re-quoted on the way.
One runspace pool serves the run and the file copy that may follow. pypsrp is
imported only when a connection is made, so ``qbd-fix --help`` stays fast.

Transport failures are turned into the error family here, at the boundary, with
messages an administrator can act on; the password never reaches any of them.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import logging
import re
import socket
import ssl
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qbd_fix.connection import AUTH_KINDS, HTTP_PORT, HTTPS_PORT
from qbd_fix.errors import (
    AccessDeniedError,
    AuthenticationFailedError,
    HostUnreachableError,
    InsecureResponseError,
    ProtocolError,
    QbdFixError,
    ResultError,
    RunTimeoutError,
    ScriptFailedError,
    TlsError,
    TransferError,
    WinRMUnavailableError,
)
from qbd_fix.result import parse_result
from qbd_fix.runners import limits, transfer
from qbd_fix.runners.base import OnStep, Runner, RunOutcome, step_of

if TYPE_CHECKING:
    from qbd_fix.script.engine import Script
    from qbd_fix.script.params import ParamValue

log = logging.getLogger(__name__)

#: Auth kinds whose security context can encrypt WinRM messages on a plain HTTP listener.
ENCRYPTING_AUTH = ("negotiate", "ntlm", "kerberos", "credssp")

#: WSMan fault codes with a meaning of their own.
WSMAN_ACCESS_DENIED = (5, 0x80070005)
WSMAN_SHELL_NOT_FOUND = 0x8033805B
WSMAN_OPERATION_TIMEOUT = 0x80338029


def read_timeout(operation_timeout: float) -> float:
    """How long an HTTP read waits: the PC answers a long-poll Receive with an
    OperationTimeout fault only once *operation_timeout* has passed, so a quarter
    more (at least 1 s, at most 5 s) covers the network on top."""
    return operation_timeout + min(max(operation_timeout * 0.25, 1.0), 5.0)


#: How often a Receive that got no answer in time is sent again (pypsrp's own is 5,
#: with back-off: a minute and more before a stalled PC is reported).
RECEIVE_RETRIES = 1
#: Back-off between those attempts, seconds (doubled each time by pypsrp).
RECONNECT_BACKOFF = 0.2

_OPENING = "opening a PowerShell session"
_ENABLE_HINT = (
    "on the PC, as administrator: Enable-PSRemoting -Force (or winrm quickconfig), "
    "and allow TCP {port} in its firewall (README: Remote PCs)"
)


@dataclass(frozen=True)
class RemoteConnection:
    """Everything needed to reach one PC. The password is never shown (see :meth:`__repr__`)."""

    host: str
    username: str | None = None
    password: str | None = field(default=None, repr=False, compare=False)
    auth: str = "negotiate"
    ssl: bool = True
    port: int | None = None
    cert_validation: bool = True
    ca_file: str | None = None
    certificate_pem: str | None = None
    certificate_key_pem: str | None = None
    connect_timeout: float = 30.0
    operation_timeout: int = 30
    #: None: :func:`read_timeout` of the operation timeout.
    read_timeout: float | None = None

    def __post_init__(self) -> None:
        if self.auth not in AUTH_KINDS:
            raise ValueError(f"auth must be one of {', '.join(AUTH_KINDS)}")
        if self.auth == "basic" and not self.ssl:
            raise ValueError("Basic auth over HTTP sends the password in clear text")

    def __repr__(self) -> str:
        shown = "***" if self.password else None
        return (
            f"RemoteConnection(host={self.host!r}, port={self.effective_port}, ssl={self.ssl}, "
            f"auth={self.auth!r}, username={self.username!r}, password={shown})"
        )

    __str__ = __repr__

    @property
    def effective_port(self) -> int:
        return self.port or (HTTPS_PORT if self.ssl else HTTP_PORT)

    @property
    def effective_read_timeout(self) -> float:
        return self.read_timeout or read_timeout(self.operation_timeout)

    @property
    def address(self) -> str:
        """host:port as an admin would type it (IPv6 in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.effective_port}"

    def wsman_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``pypsrp.wsman.WSMan``.

        The host goes bare: pypsrp brackets an IPv6 address itself when it builds
        the URL. Message encryption is 'auto': on HTTP that means every message is
        encrypted by the auth context (Basic is refused there); on HTTPS, TLS does it.
        """
        kwargs: dict[str, Any] = {
            "server": self.host,
            "port": self.effective_port,
            "ssl": self.ssl,
            "auth": self.auth,
            "encryption": "auto",
            # Plain HTTP has no certificate to check; a CA path here (pypsrp takes one from
            # REQUESTS_CA_BUNDLE) only costs a stat() per request, each a wait for the GIL.
            "cert_validation": (
                self.ca_file if (self.ca_file and self.cert_validation) else self.cert_validation
            )
            if self.ssl
            else False,
            "connection_timeout": self.connect_timeout,
            "operation_timeout": self.operation_timeout,
            "read_timeout": self.effective_read_timeout,
            "reconnection_retries": 0,
            "reconnection_backoff": RECONNECT_BACKOFF,
            # WinRM goes straight to PCs on the LAN; an HTTP(S)_PROXY meant for the web would break it.
            "no_proxy": True,
        }
        if self.auth == "certificate":
            kwargs["certificate_pem"] = self.certificate_pem
            kwargs["certificate_key_pem"] = self.certificate_key_pem
        else:
            kwargs["username"] = self.username
            kwargs["password"] = self.password
        return kwargs


# -- errors ---------------------------------------------------------------------------------------


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """Every exception nested in *exc*: requests wraps urllib3, which wraps socket errors."""
    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        stack.extend(item.args)
        stack.extend(
            getattr(item, name, None)
            for name in ("reason", "original_error", "__cause__", "__context__")
        )


def _scrub(text: str, secret: str | None) -> str:
    """Drop a password from text that came from a library, and keep it to one line."""
    if secret:
        text = text.replace(secret, "***")
    return " ".join(text.split())


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def translate(
    exc: BaseException, conn: RemoteConnection, *, doing: str = "connecting"
) -> QbdFixError:
    """Turn a pypsrp/requests/ssl/socket exception into one error an admin can act on."""
    import requests
    from pypsrp.exceptions import AuthenticationError, WinRMTransportError, WSManFaultError

    where = conn.address
    enable_hint = _ENABLE_HINT.format(port=conn.effective_port)

    if isinstance(exc, QbdFixError):
        return exc
    if isinstance(exc, AuthenticationError):
        user = conn.username or "(no user)"
        return AuthenticationFailedError(
            f"{where} rejected the credentials of {user} ({conn.auth} authentication)",
            hint="check --username (DOMAIN\\user, or .\\user for a local account) and the password; "
            "local accounts other than Administrator also need LocalAccountTokenFilterPolicy=1 on the PC",
        )
    if isinstance(exc, WSManFaultError):
        code = exc.code if isinstance(exc.code, int) else 0
        code_text = f"{code:#x}" if code else str(exc.code or "without a code")
        reason = _short(_scrub(str(exc.reason or "no reason given"), conn.password))
        if code in WSMAN_ACCESS_DENIED:
            return AccessDeniedError(
                f"{where} denied access to {conn.username or 'this account'}: {reason}",
                hint="use an account in the PC's Administrators group (remote remediation needs admin rights)",
            )
        if code == WSMAN_SHELL_NOT_FOUND:
            return WinRMUnavailableError(
                f"{where} lost the PowerShell session while {doing} (the PC or its WinRM service restarted?)",
                hint="run the command again; remediations are safe to repeat",
            )
        return WinRMUnavailableError(
            f"WinRM on {where} refused the request while {doing}: {reason} (WSMan fault {code_text})",
            hint="check the WinRM service on the PC: Get-Service WinRM; winrm get winrm/config",
        )
    if isinstance(exc, WinRMTransportError):
        status = exc.code
        if status == 403:
            return AccessDeniedError(
                f"{where} answered HTTP 403 Forbidden while {doing}",
                hint="use an account in the PC's Administrators group",
            )
        if status == 404:
            return WinRMUnavailableError(
                f"{where} answers HTTP but has no WinRM listener at /wsman (HTTP 404)",
                hint=enable_hint,
            )
        if status == 503:
            return WinRMUnavailableError(
                f"WinRM on {where} is unavailable (HTTP 503): the service is stopped or busy",
                hint="on the PC: Start-Service WinRM (or Enable-PSRemoting -Force), then try again",
            )
        return WinRMUnavailableError(
            f"WinRM on {where} failed while {doing} (HTTP {status})",
            hint="check the WinRM service and its event log on the PC (Microsoft-Windows-WinRM/Operational)",
        )

    causes = list(_causes(exc))
    if any(isinstance(c, requests.exceptions.SSLError | ssl.SSLError) for c in causes):
        text = " ".join(str(c) for c in causes if isinstance(c, ssl.SSLError))
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
            hint = "trust the listener's certificate with --ca-file CA.pem (or --no-cert-validation on a trusted network)"
            what = "its certificate could not be verified"
        elif "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
            hint = f"port {conn.effective_port} speaks plain HTTP: use --no-ssl (port {HTTP_PORT})"
            what = "it does not speak TLS on this port"
        else:
            hint = "check the HTTPS listener's certificate: winrm enumerate winrm/config/listener"
            what = _short(_scrub(text or "TLS handshake failed", conn.password))
        return TlsError(f"TLS with {where} failed: {what}", hint=hint)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return RunTimeoutError(
            f"connecting to {where} timed out after {conn.connect_timeout:g} s",
            hint="is the PC on and reachable, and does its firewall allow this port? (--connect-timeout)",
        )
    if isinstance(exc, requests.exceptions.ReadTimeout | TimeoutError | socket.timeout):
        return RunTimeoutError(
            f"{where} did not answer within {conn.effective_read_timeout:g} s while {doing}",
            hint="the PC or network is slow or stalled: try again, or raise --operation-timeout",
        )
    if any(isinstance(c, socket.gaierror) for c in causes) or any(
        type(c).__name__ == "NameResolutionError" for c in causes
    ):
        return HostUnreachableError(
            f"cannot resolve the host name {conn.host!r}",
            hint="check the name (try the full DNS name, or the PC's IP address)",
        )
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return WinRMUnavailableError(
            f"nothing listens for WinRM on {where} (connection refused)",
            hint=f"{'--no-ssl uses port 5985, --ssl 5986; ' if conn.port is None else ''}{enable_hint}",
        )
    unreachable = (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN)
    if any(isinstance(c, OSError) and c.errno in unreachable for c in causes):
        return HostUnreachableError(
            f"{where} is unreachable (no route to the host)",
            hint="is the PC on and on this network (or the VPN)?",
        )
    if isinstance(exc, requests.exceptions.ConnectionError | ConnectionError):
        return HostUnreachableError(
            f"the connection to {where} was lost while {doing}",
            hint="the PC may have restarted or the network dropped; "
            "run again (remediations are safe to repeat)",
        )
    if _unreadable(exc):
        return ResultError(
            f"the answer of {where} could not be read while {doing} "
            f"({type(exc).__name__}: it is not valid PowerShell Remoting data)",
            hint="run again; if it repeats, the PC's WinRM service or something posing as it "
            "is answering garbage",
        )
    if isinstance(exc, UnicodeError):  # its text quotes the offending characters: never show it
        return AuthenticationFailedError(
            f"the user name or password cannot be sent with {conn.auth} authentication (unsupported characters)",
            hint="use --auth negotiate or ntlm",
        )
    if isinstance(exc, ImportError):
        return QbdFixError(
            f"{conn.auth} authentication needs a library that is not installed: {_scrub(str(exc), conn.password)}",
            hint=f"pip install 'qbd-fix[{conn.auth}]'",
        )
    return QbdFixError(
        f"unexpected {type(exc).__name__} while {doing} with {where}: {_short(_scrub(str(exc), conn.password))}",
        hint="run again with --debug",
    )


def _unreadable(exc: BaseException) -> bool:
    """Errors pypsrp raises on an answer it cannot decode: text that is not valid UTF-16
    (a lone surrogate), XML too deep or broken, a wrong type where an object belongs.
    A password that cannot be encoded (UnicodeEncodeError) is the admin's, not the PC's."""
    import xml.etree.ElementTree as ET

    import requests
    from pypsrp.exceptions import FragmentError, SerializationError

    if isinstance(exc, UnicodeEncodeError | requests.exceptions.RequestException):
        return False
    return isinstance(
        exc,
        UnicodeDecodeError
        | RecursionError
        | ET.ParseError
        | struct.error
        | FragmentError
        | SerializationError
        | AttributeError
        | KeyError
        | IndexError
        | TypeError
        | ValueError,
    )


# -- records --------------------------------------------------------------------------------------


def _text(record: object) -> str:
    """A stream record's message: pypsrp's to_string, else the record's message fields."""
    text = str(record)
    if text and text != "None":
        return text
    for name in ("message", "message_data", "details_message"):
        value = getattr(record, name, None)
        if value:
            return str(value)
    exception = getattr(record, "exception", None)
    message = getattr(exception, "adapted_properties", {}) or {}
    if isinstance(message, dict) and message.get("Message"):
        return str(message["Message"])
    return ""


def error_position(record: object) -> str:
    """Where an error happened: 'At line:12 char:5' or the first script stack frame."""
    for name in ("invocation_position_message", "script_stacktrace"):
        value = getattr(record, name, None)
        if value:
            first = next((line.strip() for line in str(value).splitlines() if line.strip()), "")
            if first:
                return first
    info = getattr(record, "invocation_info", None)
    props = getattr(info, "adapted_properties", None) or getattr(info, "extended_properties", None)
    if isinstance(props, dict) and props.get("PositionMessage"):
        return str(props["PositionMessage"]).splitlines()[0].strip()
    return ""


def describe_error(record: object) -> str:
    """One line: the error's message, then its position when PowerShell sent one."""
    message = " ".join(_text(record).split()) or "PowerShell reported an error without a message"
    position = error_position(record)
    return f"{message} ({position})" if position and position not in message else message


def _information(record: object) -> str:
    data = getattr(record, "message_data", None)
    return str(data) if data is not None else _text(record)


# -- the runner -----------------------------------------------------------------------------------


_ENCRYPTED_TYPES = ("multipart/encrypted;", "multipart/x-multi-encrypted;")


def _read_capped(response: Any, limit: int) -> bytes:
    """The body of a streamed HTTP answer, refused once it passes *limit* bytes."""
    declared = str(response.headers.get("Content-Length") or "")
    if declared.isdigit() and int(declared) > limit:
        raise ProtocolError(
            f"the PC announced a {limits.mib(int(declared))} answer; WinRM answers are at most "
            f"{limits.mib(limit)}: refused unread"
        )
    parts: list[bytes] = []
    size = 0
    for part in response.iter_content(64 * 1024):
        size += len(part)
        if size > limit:
            raise ProtocolError(
                f"the PC sent an answer larger than {limits.mib(limit)}; "
                "WinRM answers are smaller: refused"
            )
        parts.append(part)
    return b"".join(parts)


@functools.cache
def _transport_class() -> type:
    """pypsrp's HTTP transport, made strict about what it accepts from the PC.

    * An answer is read as a stream and refused past :data:`limits.MAX_RESPONSE_BYTES`
      (pypsrp asks for envelopes of 500 KiB; a larger answer is an attack on memory).
    * When the request went encrypted (HTTP with NTLM, Negotiate, Kerberos or CredSSP),
      a clear-text answer is refused: pypsrp would accept it, so anyone on the path could
      answer in the PC's name. A clear-text HTTP error page is still an HTTP error, but
      its text is not read as a WSMan fault.
    """
    from pypsrp.exceptions import AuthenticationError, WinRMTransportError
    from pypsrp.wsman import _TransportHTTP

    class _Transport(_TransportHTTP):
        def _send_request(self, request: Any, timeout: Any = None) -> bytes:
            sent_encrypted = str(request.headers.get("Content-Type", "")).startswith(
                _ENCRYPTED_TYPES
            )
            assert self.session is not None  # built by send() before any request
            response = self.session.send(
                request,
                timeout=timeout
                if timeout is not None
                else (self.connection_timeout, self.read_timeout),
                stream=True,
            )
            try:
                content = _read_capped(response, limits.MAX_RESPONSE_BYTES)
            finally:
                response.close()
            content_type = str(response.headers.get("Content-Type", ""))
            trusted = True
            if content_type.startswith(_ENCRYPTED_TYPES):
                boundary = re.search(r'boundary="?([^";]+)"?', content_type)
                if self.encryption is None or boundary is None:
                    raise ProtocolError(
                        "the PC sent an encrypted answer on a session without message encryption"
                    )
                content = self.encryption.unwrap_message(content, boundary.group(1))
            elif sent_encrypted and content:
                if response.status_code < 400 or "xml" in content_type.lower():
                    raise InsecureResponseError(
                        "the PC answered in clear text on a session that encrypts every message: "
                        "the answer was refused (it could have been read or forged on the way)",
                        hint="check for a proxy or device between you and the PC; "
                        "or use the HTTPS listener (--ssl)",
                    )
                trusted = False
            if response.status_code == 401:
                raise AuthenticationError(f"Failed to authenticate the user with {self.auth}")
            if response.status_code >= 400:
                text = content.decode("utf-8", "replace") if trusted else ""
                raise WinRMTransportError("http", response.status_code, text)
            return bytes(content)

    return _Transport


@functools.cache
def _wsman_class() -> type:
    """pypsrp's WSMan, retrying a stalled Receive fewer times (see :data:`RECEIVE_RETRIES`),
    on the strict transport of :func:`_transport_class`.

    Built once: a class per PC costs a class creation and an import on every
    connection, and leaves cyclic garbage (a class refers to itself) for the GC.
    """
    from pypsrp.wsman import NAMESPACES, WSMan, WSManAction

    transport_class = _transport_class()

    class _WSMan(WSMan):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            # pypsrp builds its transport inside __init__ with no way to pass a class:
            # the strict subclass takes over the built object (it adds no state).
            self.transport.__class__ = transport_class

        def receive(
            self,
            resource_uri: str,
            resource: Any,
            option_set: Any = None,
            selector_set: Any = None,
            timeout: int | None = None,
        ) -> Any:
            response = self.invoke(
                WSManAction.RECEIVE,
                resource_uri,
                resource,
                option_set,
                selector_set,
                timeout,
                retries_on_read_timeout=RECEIVE_RETRIES,
            )
            return response.find("s:Body", namespaces=NAMESPACES)

    return _WSMan


@functools.cache
def _fragmenter_class() -> type:
    """pypsrp's Fragmenter, reassembling a message only up to
    :data:`limits.MAX_MESSAGE_BYTES` (pypsrp's own grows without bound and copies the
    whole buffer on every fragment). A larger output object or stream record is dropped
    unread and counted; a larger protocol message ends the run."""
    from pypsrp.exceptions import FragmentError
    from pypsrp.messages import Message, MessageType
    from pypsrp.powershell import Fragment, Fragmenter

    droppable = {
        MessageType.PIPELINE_OUTPUT,
        MessageType.ERROR_RECORD,
        MessageType.DEBUG_RECORD,
        MessageType.VERBOSE_RECORD,
        MessageType.WARNING_RECORD,
        MessageType.PROGRESS_RECORD,
        MessageType.INFORMATION_RECORD,
    }

    class _Part:
        __slots__ = ("chunks", "dropping", "kind", "next_id", "size")

        def __init__(self, first: bytes) -> None:
            self.chunks: list[bytes] = []
            self.next_id = 0
            self.size = 0
            self.kind = struct.unpack("<I", first[4:8])[0] if len(first) >= 8 else 0
            self.dropping = False

    class _BoundedFragmenter(Fragmenter):
        def __init__(self, max_size: int, serializer: Any) -> None:
            super().__init__(max_size, serializer)
            self.parts: dict[int, _Part] = {}
            self.dropped = 0

        def defragment(self, data: bytes) -> list[Any]:
            complete: list[bytes] = []
            while data:
                frag, data = Fragment.unpack(data)
                part = _Part(frag.data) if frag.start else self.parts.get(frag.object_id)
                if part is None or frag.fragment_id != part.next_id:
                    raise FragmentError(f"fragment {frag.fragment_id} out of order")
                self.parts[frag.object_id] = part
                part.next_id += 1
                if not part.dropping:
                    part.size += len(frag.data)
                    if part.size <= limits.MAX_MESSAGE_BYTES:
                        part.chunks.append(frag.data)
                    elif part.kind in droppable:
                        part.dropping = True
                        part.chunks = []
                        self.dropped += 1
                    else:
                        raise ProtocolError(
                            f"the PC sent a PowerShell Remoting message larger than "
                            f"{limits.mib(limits.MAX_MESSAGE_BYTES)}: refused"
                        )
                if frag.end:
                    del self.parts[frag.object_id]
                    if not part.dropping:
                        complete.append(b"".join(part.chunks))
            return [Message.unpack(item, self.serializer) for item in complete]

    return _BoundedFragmenter


class RemoteRunner(Runner):
    """Runs scripts on one PC through a PowerShell runspace pool opened on first use."""

    def __init__(
        self,
        connection: RemoteConnection,
        *,
        run_timeout: float | None = None,
        chunk_size: int = transfer.CHUNK_SIZE,
        chunk_retries: int = transfer.CHUNK_RETRIES,
    ) -> None:
        self.connection = connection
        self.target = connection.host
        self.run_timeout = run_timeout
        self.chunk_size = chunk_size
        self.chunk_retries = chunk_retries
        self._wsman: Any = None
        self._pool: Any = None

    def __repr__(self) -> str:
        return f"RemoteRunner({self.connection!r})"

    def bundle_name(self) -> str:
        """``host``, or ``host_port`` when the port is not the listener's default: PCs
        behind one address on several ports (port forwarding) get bundles of their own."""
        conn = self.connection
        default = HTTPS_PORT if conn.ssl else HTTP_PORT
        return conn.host if conn.effective_port == default else f"{conn.host}_{conn.effective_port}"

    @contextmanager
    def _boundary(self, doing: str) -> Iterator[None]:
        """Every pypsrp call runs inside: a failure leaves as one error of the family."""
        try:
            yield
        except (ProtocolError, InsecureResponseError):
            self._discard()  # a session that answered like that is not used again
            raise
        except QbdFixError:
            raise
        except Exception as exc:
            log.debug("%s failed: %s", doing, type(exc).__name__)
            broken = translate(exc, self.connection, doing=doing)
            # Opening the pool sends no script: a failure there certainly changed nothing.
            broken.before_script = doing == _OPENING
            self._discard()
            raise broken from None

    def _open(self) -> Any:
        if self._pool is not None:
            return self._pool
        from pypsrp.powershell import RunspacePool

        with self._boundary(_OPENING):
            wsman = _wsman_class()(**self.connection.wsman_kwargs())
            pool = RunspacePool(wsman)
            pool._fragmenter = _fragmenter_class()(pool._fragmenter.max_size, pool._serializer)
            self._wsman = wsman
            pool.open()
            self._pool = pool
        return pool

    def _discard(self) -> None:
        """Forget a pool whose connection broke (pypsrp cannot reuse it); the next call reopens.
        Its shell on the PC is left to WinRM's idle timeout: the connection to close it is gone."""
        wsman = self._wsman
        self._pool = self._wsman = None
        if wsman is not None:
            try:
                wsman.close()
            except Exception as exc:  # closing a broken session must not hide the real error
                log.debug("closing a broken session: %s", type(exc).__name__)

    def invoke(
        self,
        text: str,
        parameters: dict[str, ParamValue],
        *,
        doing: str,
        deadline: float | None = None,
        collected: limits.Collected | None = None,
        close: bool = True,
        on_step: OnStep | None = None,
    ) -> tuple[limits.Collected, bool]:
        """Run *text* with *parameters*; returns (what was kept of its output, had_errors).

        Output and stream records are moved into *collected* after every Receive, so
        pypsrp never holds more than one answer's worth. pypsrp forgets the pipeline
        afterwards; with *close* the PC is told too (a WSMan Signal): a file copy runs
        hundreds of pipelines on one shell, while a script's one pipeline ends with the
        shell (closing it there would cost every PC of a fleet a request).
        """
        from pypsrp.complex_objects import PSInvocationState
        from pypsrp.powershell import PowerShell

        kept = collected if collected is not None else limits.Collected()
        pool = self._open()
        began = time.monotonic()
        with self._boundary(doing):
            ps = PowerShell(pool)
            ps.add_script(text)
            if parameters:
                ps.add_parameters(dict(parameters))
            try:
                ps.begin_invoke()
                while ps.state == PSInvocationState.RUNNING:
                    if deadline is not None and time.monotonic() > deadline:
                        try:
                            ps.stop()
                        except Exception as exc:
                            log.debug("stopping the pipeline: %s", type(exc).__name__)
                        raise RunTimeoutError(
                            f"the script ran longer than {deadline - began:.0f} s on {self.target} and was stopped"
                        )
                    ps.poll_invoke()
                    self._drain(ps, pool, kept, on_step)
                self._drain(ps, pool, kept, on_step)
                had_errors = bool(ps.had_errors)
            finally:
                pool.pipelines.pop(ps.id, None)
            if close:
                self._close_pipeline(ps)
        return kept, had_errors

    @staticmethod
    def _drain(ps: Any, pool: Any, kept: limits.Collected, on_step: OnStep | None = None) -> None:
        """Move what pypsrp received into *kept* (bounded) and empty pypsrp's lists; the
        steps the script announced go to *on_step* as they arrive."""
        output, ps.output = ps.output, []
        for item in output:
            kept.add_output(str(item))
        streams = ps.streams
        if on_step is not None:
            for record in streams.information:
                step = step_of(_information(record))
                if step is not None:
                    on_step(step)
        kept.add_records(kept.errors, streams.error, describe_error)
        kept.add_records(kept.warnings, streams.warning, _text)
        kept.add_records(kept.verbose, streams.verbose, _text)
        kept.add_records(kept.information, streams.information, _information)
        for name in ("error", "warning", "verbose", "information", "debug", "progress"):
            records = getattr(streams, name, None)
            if isinstance(records, list):
                records.clear()
        kept.dropped_messages += pool._fragmenter.dropped
        pool._fragmenter.dropped = 0

    def _close_pipeline(self, ps: Any) -> None:
        """Tell the PC the pipeline is done (WSMan Signal terminate), so neither side keeps it."""
        try:
            ps.close()
        except Exception as exc:  # the answer is in; a failed close must not lose it
            log.debug("closing the pipeline: %s", type(exc).__name__)

    def run(
        self, script: Script, *, what_if: bool = False, on_step: OnStep | None = None
    ) -> RunOutcome:
        started = time.monotonic()
        parameters: dict[str, ParamValue] = dict(script.parameters)
        if what_if:
            parameters["WhatIf"] = True
        # None: the script's own budget plus a margin, so its waits end before this one.
        timeout = script.runner_timeout if self.run_timeout is None else self.run_timeout
        kept, had_errors = self.invoke(
            script.text,
            parameters,
            doing=f"running {script.name}",
            deadline=started + timeout,
            close=False,
            on_step=on_step,
        )
        streams = kept.streams()
        errors = streams.errors
        try:
            result = parse_result(kept.result_lines())
        except ResultError as exc:
            if had_errors:
                detail = errors[-1] if errors else "the pipeline failed"
                raise ScriptFailedError(
                    f"PowerShell failed on {self.target}: {detail}",
                    hint="run again with --debug to see everything it printed",
                ) from None
            if errors:
                raise ResultError(
                    f"the script wrote no result document on {self.target}; its first error: {errors[0]}",
                    hint="run again with --debug to see everything it printed",
                ) from None
            notes = kept.notes()
            if notes:
                raise ResultError(f"{exc.message}; {'; '.join(notes)}", hint=exc.hint) from None
            raise
        if kept.truncated:
            result = dataclasses.replace(
                result, truncated=True, notes=[*result.notes, *kept.notes()]
            )
        return RunOutcome(
            target=self.target,
            result=result,
            duration=time.monotonic() - started,
            streams=streams,
            exit_code=None,  # an `exit N` does not travel over PSRP; the result carries the status
        )

    def _read_chunk(self, remote_path: str, offset: int, count: int) -> list[object]:
        kept, had_errors = self.invoke(
            transfer.READ_CHUNK_SCRIPT,
            transfer.chunk_parameters(remote_path, offset, count),
            doing=f"copying {remote_path}",
            collected=limits.Collected.one_line(transfer.encoded_size(count)),
        )
        output = kept.output.items
        if had_errors or not output or kept.output.dropped or kept.dropped_messages:
            errors = kept.errors.texts()
            detail = errors[-1] if errors else "no data"
            if kept.output.dropped or kept.dropped_messages:
                detail = "it answered more than was asked for"
            raise TransferError(f"reading {remote_path} on {self.target} failed: {detail}")
        return list(output)

    def fetch(
        self,
        remote_path: str,
        local_path: Path,
        *,
        sha256: str | None = None,
        size: int | None = None,
        max_bytes: int = transfer.DEFAULT_MAX_BUNDLE_MIB << 20,
    ) -> Path:
        """Copy the PC's file home in chunks over the same pool, verify it, then remove it there."""
        placed = transfer.download(
            lambda offset, count: self._read_chunk(remote_path, offset, count),
            remote_path,
            local_path,
            sha256=transfer.expected_digest(sha256),
            size=size,
            max_bytes=max_bytes,
            chunk_size=self.chunk_size,
            retries=self.chunk_retries,
        )
        try:
            kept, had_errors = self.invoke(
                transfer.REMOVE_FILE_SCRIPT, {"Path": remote_path}, doing=f"removing {remote_path}"
            )
            errors = kept.errors.texts()
            problem = errors[-1] if (had_errors and errors) else ""
        except QbdFixError as exc:
            problem = exc.message
        if problem:
            log.warning("the copy on %s was kept: %s (%s)", self.target, remote_path, problem)
        return placed

    def close(self) -> None:
        """Close the pool (WSMan Delete) and the HTTP session; never raises."""
        pool, wsman = self._pool, self._wsman
        self._pool = self._wsman = None
        if pool is not None:
            try:
                pool.close()
            except Exception as exc:
                log.debug("closing the PowerShell session: %s", type(exc).__name__)
        if wsman is not None:
            try:
                wsman.close()
            except Exception as exc:
                log.debug("closing the connection: %s", type(exc).__name__)
