"""The loopback WinRM host: an HTTP listener speaking WS-Management and PSRP to unmodified pypsrp.

Design notes (see /work/shared/notes/winrm-testing.md for the pitfalls these address):

* One listening socket and one accept thread per host, one daemon thread per TCP connection;
  no polling loops, so a fleet of 100+ idle hosts costs little. ``stop()`` shuts the listener
  and every open connection down so no thread outlives the host for long.
* HTTP/1.1 keep-alive with one auth context per connection (NTLM/Negotiate authenticate the
  connection), TCP_NODELAY on every accepted socket (else Nagle + delayed ACK add ~200 ms).
* Every exception inside the host is recorded in ``host.errors`` and answered as a WSMan fault,
  encrypted when the connection is; deliberate faults (fault plan, unknown shell,
  OperationTimeout) are not errors.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import socket
import ssl
import threading
import time
import traceback
from collections import Counter, OrderedDict
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any

from ._auth import AuthFailed, ConnectionAuth, check_basic
from ._model import (
    OPERATION_TIMEOUT,
    SHELL_NOT_FOUND,
    Answer,
    Fault,
    FaultPlan,
    Invocation,
    Matcher,
    Responder,
)
from ._psrp import Shell
from ._soap import (
    NS,
    SIGNAL_PS_CTRL_C,
    SIGNAL_TERMINATE,
    ProtocolFault,
    Request,
    config_response,
    create_response,
    envelope,
    fault_envelope,
    parse_request,
    receive_response,
    shell_xml,
)
from ._tls import certificate_files, server_context

_SUPPORTED_AUTH = ("basic", "ntlm", "negotiate")
#: Base64 and envelope overhead kept free when sizing a Receive response to MaxEnvelopeSize.
_ENVELOPE_OVERHEAD = 4096
#: Biggest request body accepted (a 500 KiB envelope plus MIME/encryption framing).
_MAX_BODY = 2 * 1024 * 1024
#: How many Receive responses to remember per host, so a retried Receive (same MessageID,
#: e.g. after a client read timeout) gets the same data instead of losing it.
_RECEIVE_CACHE = 8


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (for connection-refused tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class FakeWinRMHost:
    """A WinRM endpoint on 127.0.0.1 that pypsrp can open runspace pools and pipelines on.

    It cannot run PowerShell: ``answer()`` registers what a matching pipeline returns and
    ``invocations`` records what arrived. ``faults`` plans failures per WSMan action.
    """

    def __init__(
        self,
        username: str = "u",
        password: str = "p",
        auth: tuple[str, ...] | list[str] = ("basic", "ntlm", "negotiate"),
        latency: float = 0.0,
        *,
        receive_wait: float = 1.0,
        max_envelope_size: int = 512000,
        tls: bool = False,
        name: str = "fake-winrm",
    ) -> None:
        unknown = set(auth) - set(_SUPPORTED_AUTH)
        if unknown:
            raise ValueError(f"unsupported auth {sorted(unknown)}; use {_SUPPORTED_AUTH}")
        self.username = username
        self.password = password
        self.auth = tuple(a.lower() for a in auth)
        self.latency = latency
        self.receive_wait = receive_wait
        self.max_envelope_size = max_envelope_size
        self.name = name
        self.tls = tls
        self._tls_context: ssl.SSLContext | None = server_context() if tls else None
        self.default_answer: Answer = Answer()
        self.faults = FaultPlan()
        self.errors: list[BaseException] = []
        self.error_traces: list[str] = []  # formatted tracebacks, parallel to ``errors``
        self.invocations: list[Invocation] = []
        self.requests_by_action: Counter[str] = Counter()
        self._requests = 0
        self._answers: list[tuple[Matcher, Responder]] = []
        self._shells: dict[str, Shell] = {}
        self._receive_cache: OrderedDict[str, bytes] = OrderedDict()
        self._receiving: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeWinRMHost:
        """Bind 127.0.0.1:0 and serve in a daemon thread; returns self for chaining."""
        if self._listener is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(64)
        self.port = sock.getsockname()[1]
        self._listener = sock
        self._stopping.clear()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, args=(sock,), name=f"{self.name}:{self.port}", daemon=True
        )
        self._accept_thread.start()
        return self

    def refuse(self) -> None:
        """Stop listening and drop open connections: the port now refuses connections."""
        self._close_listener()
        self._close_connections()

    def stop(self) -> None:
        """Stop listening, close every connection, and wake any long-polling Receive."""
        self._stopping.set()
        self._close_listener()
        self._close_connections()
        with self._lock:
            shells = list(self._shells.values())
        for shell in shells:
            with shell.cond:
                shell.cond.notify_all()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=2)
            self._accept_thread = None

    def __enter__(self) -> FakeWinRMHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The WSMan endpoint URL."""
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/wsman"

    @property
    def cert_pem(self) -> str | None:
        """Path of the self-signed certificate (``tls=True``), for clients that validate it."""
        return certificate_files()[0] if self.tls else None

    def client_kwargs(self, auth: str = "basic", **overrides: Any) -> dict[str, Any]:
        """Keyword arguments for ``pypsrp.wsman.WSMan`` to reach this host with ``auth``.

        Over HTTP, Basic goes unencrypted (pypsrp refuses Basic with message encryption) and
        NTLM/Negotiate use WinRM message encryption, as against a real HTTP listener. With
        ``tls=True`` TLS protects everything and certificate validation is off.
        """
        kwargs: dict[str, Any] = {
            "server": "127.0.0.1",
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "ssl": self.tls,
            "cert_validation": False,
            "auth": auth,
            "encryption": "never" if auth == "basic" and not self.tls else "auto",
            "connection_timeout": 5,
            "read_timeout": 10,
            "operation_timeout": 5,
        }
        kwargs.update(overrides)
        return kwargs

    @property
    def requests(self) -> int:
        """HTTP requests received, auth handshakes included."""
        with self._lock:
            return self._requests

    @property
    def shells(self) -> list[str]:
        """ShellIds currently open on the host."""
        with self._lock:
            return list(self._shells)

    # -- scripting the host -------------------------------------------------------------------

    def answer(self, match: Matcher, answer: Responder) -> None:
        """Register an answer; the most recently registered matching answer wins.

        ``match`` is a substring of the script text or ``callable(script, params) -> bool``;
        ``answer`` is an :class:`Answer` or ``callable(Invocation) -> Answer``.
        """
        with self._lock:
            self._answers.append((match, answer))

    def forget_shells(self) -> None:
        """Model a reboot / WinRM restart: every open shell is gone (clients get a WSMan fault)."""
        with self._lock:
            shells = list(self._shells.values())
            self._shells.clear()
        for shell in shells:
            with shell.cond:
                shell.closed = True
                shell.cond.notify_all()

    def reset_counters(self) -> None:
        """Zero the request counters (e.g. after a warm-up call)."""
        with self._lock:
            self._requests = 0
            self.requests_by_action.clear()

    def _resolve(self, invocation: Invocation) -> Answer:
        with self._lock:
            answers = list(reversed(self._answers))
        for match, responder in answers:
            hit = (
                match in invocation.script
                if isinstance(match, str)
                else match(invocation.script, invocation.parameters)
            )
            if hit:
                return responder(invocation) if callable(responder) else responder
        return self.default_answer

    def _record(self, invocation: Invocation) -> None:
        with self._lock:
            self.invocations.append(invocation)

    # -- sockets --------------------------------------------------------------------------------

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, addr = listener.accept()
            except OSError:
                return  # listener shut down
            if self._stopping.is_set():
                conn.close()
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._connections.add(conn)
            threading.Thread(
                target=self._serve_connection,
                args=(conn, addr),
                name=f"{self.name}-conn",
                daemon=True,
            ).start()

    def _serve_connection(self, conn: socket.socket, addr: Any) -> None:
        try:
            if self._tls_context is not None:
                conn.settimeout(10)
                tls_conn = self._tls_context.wrap_socket(conn, server_side=True)
                with self._lock:
                    self._connections.discard(conn)
                    self._connections.add(tls_conn)
                conn = tls_conn
            _Handler(conn, addr, self)
        except (ConnectionError, TimeoutError, OSError):
            pass  # client went away or host stopped; not a host error
        except Exception as exc:
            self._error(exc)
        finally:
            with self._lock:
                self._connections.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def _close_listener(self) -> None:
        sock, self._listener = self._listener, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() on Linux
            sock.close()

    def _close_connections(self) -> None:
        with self._lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def _error(self, exc: BaseException) -> None:
        with self._lock:
            self.errors.append(exc)
            self.error_traces.append(traceback.format_exc())

    def _count(self, action: str | None) -> None:
        with self._lock:
            if action is None:
                self._requests += 1
            else:
                self.requests_by_action[action] += 1

    # -- WSMan dispatch -------------------------------------------------------------------------

    def handle_soap(self, req: Request, user: str) -> bytes:
        """Run one WSMan request and return the response envelope (raises ProtocolFault)."""
        if req.raw_size > self.max_envelope_size:
            raise ProtocolFault(
                None,
                f"The request envelope is {req.raw_size} bytes; MaxEnvelopeSize is {self.max_envelope_size}.",
                "w:EncodingLimit",
            )
        handler = getattr(self, f"_on_{req.action.lower()}", None)
        if handler is None:
            raise ProtocolFault(
                None, f"Action {req.action} is not supported", "w:ActionNotSupported"
            )
        result: bytes = handler(req, user)
        return result

    def _shell(self, req: Request) -> Shell:
        shell_id = req.shell_id
        with self._lock:
            shell = self._shells.get(shell_id or "")
        if shell is None or shell.closed:
            raise ProtocolFault(
                SHELL_NOT_FOUND,
                f"The request for the Windows Remote Shell with ShellId {shell_id} failed because the shell "
                "was not found on the server. Possible causes are: the specified ShellId is incorrect or the "
                "shell no longer exists on the server. Provide the correct ShellId or create a new shell and "
                "retry the operation.",
                "w:InvalidSelectors",
            )
        return shell

    def _on_create(self, req: Request, user: str) -> bytes:
        body = req.body
        if body is None:
            raise ProtocolFault(None, "Create without a Shell body", "w:SchemaValidationError")
        shell_id = (body.attrib.get("ShellId") or "").upper()
        if not shell_id:
            raise ProtocolFault(
                None, "Create without a ShellId (not a PowerShell pool)", "w:SchemaValidationError"
            )
        creation = body.find("pwsh:creationXml", NS)
        if creation is None or not creation.text:
            raise ProtocolFault(None, "Create without creationXml", "w:SchemaValidationError")
        shell = Shell(shell_id, req.resource_uri, user, self._resolve, self._record)
        with self._lock:
            if shell_id in self._shells:
                raise ProtocolFault(None, f"Shell {shell_id} already exists", "w:AlreadyExists")
            self._shells[shell_id] = shell
        with shell.cond:
            shell.feed(_b64(creation.text))
        return envelope(
            "CreateResponse",
            req.message_id,
            create_response(self.url, req.resource_uri, shell_id, user),
        )

    def _on_command(self, req: Request, user: str) -> bytes:
        shell = self._shell(req)
        body = req.body
        if body is None:
            raise ProtocolFault(None, "Command without CommandLine", "w:SchemaValidationError")
        command_id = (body.attrib.get("CommandId") or "").upper()
        if not command_id:
            raise ProtocolFault(None, "Command without CommandId", "w:SchemaValidationError")
        args = body.find("rsp:Arguments", NS)
        with shell.cond:
            shell.new_pipeline(command_id)
            if args is not None and args.text:
                shell.feed(_b64(args.text), command_id)
        return envelope(
            "CommandResponse",
            req.message_id,
            f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>",
        )

    def _on_send(self, req: Request, user: str) -> bytes:
        shell = self._shell(req)
        if req.body is None:
            raise ProtocolFault(None, "Send without a body", "w:SchemaValidationError")
        with shell.cond:
            for stream in req.body.findall("rsp:Stream", NS):
                if stream.text:
                    shell.feed(
                        _b64(stream.text), (stream.attrib.get("CommandId") or "").upper() or None
                    )
        return envelope("SendResponse", req.message_id, "<rsp:SendResponse/>")

    def _on_receive(self, req: Request, user: str) -> bytes:
        # pypsrp retries a timed-out Receive with the same MessageID: answer it from the cache
        # (after the first attempt finishes) so the data the first attempt took is not lost.
        while True:
            with self._lock:
                cached = self._receive_cache.get(req.message_id)
                first = self._receiving.get(req.message_id)
                if cached is None and first is None:
                    mine = self._receiving[req.message_id] = threading.Event()
                    break
            if cached is not None:
                return cached
            if first is not None:
                first.wait(self.receive_wait + 5)
        try:
            return self._receive(req)
        finally:
            with self._lock:
                self._receiving.pop(req.message_id, None)
            mine.set()

    def _receive(self, req: Request) -> bytes:
        shell = self._shell(req)
        desired = req.body.find("rsp:DesiredStream", NS) if req.body is not None else None
        command_id = (
            (desired.attrib.get("CommandId") or "").upper() or None if desired is not None else None
        )
        budget = max((req.max_envelope_size - _ENVELOPE_OVERHEAD) * 3 // 4, 1024)
        wait = max(min(self.receive_wait, req.operation_timeout), 0.0)
        deadline = time.monotonic() + wait
        with shell.cond:
            while True:
                if shell.closed:
                    self._shell(req)  # raises shell-not-found
                if command_id is not None and command_id not in shell.runs:
                    raise ProtocolFault(
                        None,
                        f"Command {command_id} not found in shell {shell.shell_id}",
                        "w:InvalidSelectors",
                    )
                next_due = shell.execute_due()
                if shell.pending(command_id):
                    chunks = shell.take(command_id, budget)
                    state = None
                    if command_id is not None:
                        done = shell.finished(command_id) and not shell.pending(command_id)
                        state = "Done" if done else "Running"
                    body = receive_response(chunks, command_id, state)
                    break
                if command_id is not None and shell.finished(command_id):
                    body = receive_response([], command_id, "Done")
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stopping.is_set():
                    raise ProtocolFault(
                        OPERATION_TIMEOUT,
                        "The WS-Management service cannot complete the operation within the time specified "
                        "in OperationTimeout.",
                        "w:TimedOut",
                    )
                if next_due is not None:
                    remaining = min(remaining, max(next_due - time.monotonic(), 0.001))
                shell.wait(remaining)
        response = envelope("ReceiveResponse", req.message_id, body)
        with self._lock:
            self._receive_cache[req.message_id] = response
            while len(self._receive_cache) > _RECEIVE_CACHE:
                self._receive_cache.popitem(last=False)
        return response

    def _on_signal(self, req: Request, user: str) -> bytes:
        shell = self._shell(req)
        body = req.body
        command_id = ((body.attrib.get("CommandId") if body is not None else None) or "").upper()
        code_el = body.find("rsp:Code", NS) if body is not None else None
        code = (code_el.text or "").strip() if code_el is not None else ""
        with shell.cond:
            if code == SIGNAL_PS_CTRL_C:
                shell.stop(command_id)
            elif code == SIGNAL_TERMINATE:
                shell.terminate(command_id)
            else:
                shell.stop(command_id)
        return envelope("SignalResponse", req.message_id, "<rsp:SignalResponse/>")

    def _on_delete(self, req: Request, user: str) -> bytes:
        shell = self._shell(req)
        with self._lock:
            self._shells.pop(shell.shell_id, None)
        with shell.cond:
            shell.closed = True
            shell.cond.notify_all()
        return envelope("DeleteResponse", req.message_id, "")

    def _on_get(self, req: Request, user: str) -> bytes:
        if req.resource_uri.endswith("/config"):
            return envelope(
                "GetResponse", req.message_id, config_response(self.max_envelope_size // 1024)
            )
        shell = self._shell(req)
        return envelope(
            "GetResponse",
            req.message_id,
            shell_xml(shell.shell_id, shell.resource_uri, shell.owner),
        )


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise ProtocolFault(
            None, f"invalid base64 payload: {exc}", "w:SchemaValidationError"
        ) from exc


class _Handler(BaseHTTPRequestHandler):
    """One TCP connection: HTTP/1.1 keep-alive, per-connection auth context."""

    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    timeout = 300  # idle keep-alive connections are closed eventually; stop() closes them at once
    host: FakeWinRMHost

    def __init__(self, conn: socket.socket, addr: Any, host: FakeWinRMHost) -> None:
        self.host = host
        self.conn_auth = ConnectionAuth()
        super().__init__(conn, addr, host)  # type: ignore[arg-type]  # host stands in for a server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging (stderr noise in test output)."""

    def do_GET(self) -> None:
        self._send(405, b"", "text/plain")

    def do_POST(self) -> None:
        host = self.host
        host._count(None)
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self._send(413, b"request too large", "text/plain")
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        if host.latency:
            host._stopping.wait(host.latency)

        user = self._authenticate(body)
        if user is None:
            return
        if not body:
            host._count("auth")
            self._send(200, b"", None)
            return

        encrypted = False
        content_type = self.headers.get("Content-Type", "")
        try:
            if content_type.startswith(("multipart/encrypted", "multipart/x-multi-encrypted")):
                body = self.conn_auth.unwrap(body, content_type)
                encrypted = True
        except Exception:
            host._count("auth")
            self._send(400, b"could not decrypt the message", "text/plain")
            self.close_connection = True
            return

        message_id = ""
        fault: Fault | None = None
        try:
            req = parse_request(body)
            message_id = req.message_id
            host._count(req.action)
            fault = host.faults.take(req.action)
            if fault is not None and self._apply_fault(fault, req, encrypted):
                return
            response = host.handle_soap(req, user)
            status = 200
        except ProtocolFault as pf:
            response = fault_envelope(message_id, pf.code, pf.reason, pf.subcode)
            status = 500
        except Exception as exc:
            host._error(exc)
            response = fault_envelope(message_id, 2150858752, f"Loopback host error: {exc!r}")
            status = 500
        if fault is not None and fault.kind == "delay":
            host._stopping.wait(fault.seconds)
        if fault is not None and fault.kind == "cleartext":
            encrypted = False
        self._send_soap(status, response, encrypted)

    def _apply_fault(self, fault: Fault, req: Request, encrypted: bool) -> bool:
        """Act on a planned fault; True when the response has been dealt with."""
        if fault.kind == "http_status":
            self._send(fault.status, f"{fault.status} {fault.message}".encode(), "text/plain")
            return True
        if fault.kind == "wsman_fault":
            self._send_soap(
                500, fault_envelope(req.message_id, fault.wsman_code, fault.message), encrypted
            )
            return True
        if fault.kind == "drop":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return True
        return False  # delay, cleartext: handled after the request ran

    def _authenticate(self, body: bytes) -> str | None:
        """Return the authenticated user, or None after answering 401 (or a handshake leg)."""
        host = self.host
        header = self.headers.get("Authorization", "")
        scheme = header.split(" ", 1)[0].lower()
        if scheme == "basic" and "basic" in host.auth:
            if check_basic(header, host.username, host.password):
                return host.username
            host._count("auth")
            self._unauthorized()
            return None
        if scheme in ("negotiate", "ntlm", "kerberos"):
            try:
                result = self.conn_auth.step(header, host.username, host.password, host.auth)
            except AuthFailed:
                host._count("auth")
                self._unauthorized()
                return None
            token_header = (
                f"{result.scheme} {base64.b64encode(result.out_token).decode()}"
                if result.out_token
                else None
            )
            if not result.complete:
                host._count("auth")
                self._send(401, b"", None, {"WWW-Authenticate": token_header or result.scheme})
                return None
            if not body:
                host._count("auth")
                extra = {"WWW-Authenticate": token_header} if token_header else {}
                self._send(200, b"", None, extra)
                return None
            return self.conn_auth.username or host.username
        if self.conn_auth.complete:
            return self.conn_auth.username or host.username
        host._count("auth")
        self._unauthorized()
        return None

    def _unauthorized(self) -> None:
        challenges = []
        if "negotiate" in self.host.auth:
            challenges.append("Negotiate")
        if "ntlm" in self.host.auth:
            challenges.append("NTLM")
        if "basic" in self.host.auth:
            challenges.append('Basic realm="WSMAN"')
        self._send(401, b"", None, {"WWW-Authenticate": challenges})

    def _send_soap(self, status: int, envelope_bytes: bytes, encrypted: bool) -> None:
        if encrypted:
            content_type, payload = self.conn_auth.wrap(envelope_bytes)
            self._send(status, payload, content_type)
        else:
            self._send(status, envelope_bytes, "application/soap+xml;charset=UTF-8")

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str | None,
        headers: Mapping[str, str | list[str]] | None = None,
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            for item in _as_list(value):
                self.send_header(name, item)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)
        self.wfile.flush()


def _as_list(value: str | list[str]) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    else:
        yield from value
