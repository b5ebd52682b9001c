"""The PowerShell Remoting runner's parts: connection settings, option checks, error
translation, error records, and the chunked file copy (no host needed), then the
runner itself against the loopback WinRM host."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
import requests
from pypsrp.exceptions import AuthenticationError, WinRMTransportError, WSManFaultError
from pypsrp.wsman import _TransportHTTP

from qbd_fix.cli.connection import password_prompt
from qbd_fix.connection import ConnectionSettings, read_passwords
from qbd_fix.errors import (
    AccessDeniedError,
    AuthenticationFailedError,
    ExitCode,
    HostUnreachableError,
    QbdFixError,
    ResultError,
    RunTimeoutError,
    ScriptFailedError,
    TlsError,
    TransferError,
    UsageError,
    WinRMUnavailableError,
)
from qbd_fix.runners import transfer
from qbd_fix.runners.remote import (
    RemoteConnection,
    RemoteRunner,
    describe_error,
    read_timeout,
    translate,
)
from qbd_fix.script.engine import Script
from tests.loopback import Answer, FakeWinRMHost
from tests.loopback import fixtures as loopback_fixtures

winrm_host = loopback_fixtures.winrm_host
fake_winrm_host = loopback_fixtures.fake_winrm_host

SECRET = "Pa$$w0rd-’-never-shown"


def conn(**kw: Any) -> RemoteConnection:
    base: dict[str, Any] = {"host": "pc01", "username": "CORP\\admin", "password": SECRET}
    base.update(kw)
    return RemoteConnection(**base)


# -- connection settings -------------------------------------------------------------------------


def test_repr_and_str_hide_the_password() -> None:
    c = conn()
    for text in (repr(c), str(c), repr(RemoteRunner(c))):
        assert SECRET not in text
        assert "***" in text


def test_connection_settings_repr_names_only_the_password_variable() -> None:
    assert "QBD_FIX_PASSWORD" in repr(ConnectionSettings(host="pc01"))


@pytest.mark.parametrize(
    ("ssl_on", "auth", "wrap"),
    [
        (False, "ntlm", True),
        (False, "negotiate", True),
        (True, "ntlm", False),
        (True, "basic", False),
    ],
)
def test_message_encryption_over_http_only(ssl_on: bool, auth: str, wrap: bool) -> None:
    kwargs = conn(ssl=ssl_on, auth=auth).wsman_kwargs()
    transport = _TransportHTTP(
        **{k: v for k, v in kwargs.items() if k not in ("operation_timeout",)}
    )
    assert transport.wrap_required is wrap
    assert transport.port == (5986 if ssl_on else 5985)


def test_basic_over_http_is_refused_even_in_the_library() -> None:
    with pytest.raises(ValueError, match="clear text"):
        conn(auth="basic", ssl=False)


@pytest.mark.parametrize(
    ("given", "bare", "endpoint"),
    [
        ("::1", "::1", "http://[::1]:5985/wsman"),
        ("[2001:db8::0:1]", "2001:db8::1", "http://[2001:db8::1]:5985/wsman"),
        ("10.0.0.5", "10.0.0.5", "http://10.0.0.5:5985/wsman"),
        ("PC01.corp.example.", "PC01.corp.example", "http://PC01.corp.example:5985/wsman"),
    ],
)
def test_hosts_and_the_url_pypsrp_builds(given: str, bare: str, endpoint: str) -> None:
    assert ConnectionSettings(host=given, username="u").check() == bare
    kwargs = conn(host=bare, ssl=False).wsman_kwargs()
    transport = _TransportHTTP(**{k: v for k, v in kwargs.items() if k != "operation_timeout"})
    assert transport.endpoint == endpoint


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "http://pc01",
        "pc01:5985",
        "[pc01]",
        "fe80::1%eth0",
        "999.1.1.1",
        "-pc",
        "pc_01..x",
        "a b",
        "::g",
    ],
)
def test_bad_hosts_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError, match=r"^--host: "):
        ConnectionSettings(host=bad, username="u").check()


def test_read_timeout_leaves_room_for_the_operation_timeout() -> None:
    assert read_timeout(1) == 2
    assert read_timeout(30) == 35
    assert read_timeout(8) == 10


def options(**kw: Any) -> ConnectionSettings:
    base: dict[str, Any] = {"host": "pc01", "username": "u", "auth": "ntlm"}
    base.update(kw)
    return ConnectionSettings(**base)


@pytest.mark.parametrize(
    ("kw", "fragment"),
    [
        ({"auth": "basic", "ssl": False}, "clear text"),
        ({"auth": "ntlm", "username": None}, "needs --username"),
        ({"auth": "certificate"}, "--certificate-pem"),
        ({"auth": "certificate", "ssl": False}, "needs --ssl"),
        ({"auth": "kerberos", "host": "10.0.0.5"}, "name, not an IP"),
        ({"port": 70000}, "--port"),
        ({"operation_timeout": 0}, "--operation-timeout"),
        ({"connect_timeout": 0}, "--connect-timeout"),
        ({"password_env": "1-bad"}, "--password-env"),
        ({"ca_file": "/nonexistent/ca.pem"}, "no such file"),
        ({"certificate_pem": "/x.pem"}, "go with --auth certificate"),
        ({"host": None, "port": 5985}, "--port"),
    ],
)
def test_option_combinations_that_cannot_work(kw: dict[str, Any], fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment.replace("(", r"\(")):
        options(**kw).check()


def test_missing_auth_library_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "requests_credssp" else real(name, *a),
    )
    with pytest.raises(UsageError) as err:
        options(auth="credssp").check()
    assert err.value.hint is not None and "qbd-fix[credssp]" in err.value.hint


def test_password_from_the_named_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_PW", SECRET)
    settings = options(password_env="MY_PW")
    passwords = read_passwords({settings: 1})
    made = settings.remote(passwords["MY_PW"])
    assert made.password == SECRET
    assert SECRET not in repr(made)


def test_no_password_and_no_terminal_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QBD_FIX_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    settings = options()
    with pytest.raises(UsageError, match=r"set the environment variable QBD_FIX_PASSWORD$"):
        read_passwords({settings: 1}, password_prompt(settings, ("pc01",)))


def test_password_prompt_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QBD_FIX_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return SECRET

    monkeypatch.setattr("getpass.getpass", prompt)
    settings = options()
    passwords = read_passwords({settings: 1}, password_prompt(settings, ("pc01",)))
    assert passwords == {"QBD_FIX_PASSWORD": SECRET}
    assert asked == ["Password for u on pc01: "]


# -- translating transport errors ----------------------------------------------------------------


def _wrapped(inner: BaseException) -> requests.exceptions.ConnectionError:
    """Shape of requests' errors: ConnectionError(MaxRetryError(reason=inner))."""

    class MaxRetry(Exception):
        def __init__(self, reason: BaseException) -> None:
            super().__init__("Max retries exceeded")
            self.reason = reason

    return requests.exceptions.ConnectionError(MaxRetry(inner))


@pytest.mark.parametrize(
    ("exc", "kind", "code", "fragment"),
    [
        (
            AuthenticationError("Failed to authenticate the user u with ntlm"),
            AuthenticationFailedError,
            ExitCode.AUTH_FAILED,
            "rejected the credentials",
        ),
        (
            WSManFaultError(5, "pc01", "Access is denied.", None, None, None),
            AccessDeniedError,
            ExitCode.ACCESS_DENIED,
            "denied access",
        ),
        (
            WSManFaultError(0x80070005, None, "Access is denied.", None, None, None),
            AccessDeniedError,
            ExitCode.ACCESS_DENIED,
            "denied access",
        ),
        (
            WSManFaultError(0x8033805B, None, "shell not found", None, None, None),
            WinRMUnavailableError,
            ExitCode.WINRM_UNAVAILABLE,
            "lost the PowerShell session",
        ),
        (
            WSManFaultError("w:Weird", None, "odd", None, None, None),
            WinRMUnavailableError,
            ExitCode.WINRM_UNAVAILABLE,
            "w:Weird",
        ),
        (
            WinRMTransportError("http", 404, "Not Found"),
            WinRMUnavailableError,
            ExitCode.WINRM_UNAVAILABLE,
            "HTTP 404",
        ),
        (
            WinRMTransportError("http", 503, ""),
            WinRMUnavailableError,
            ExitCode.WINRM_UNAVAILABLE,
            "HTTP 503",
        ),
        (
            WinRMTransportError("http", 500, "boom"),
            WinRMUnavailableError,
            ExitCode.WINRM_UNAVAILABLE,
            "HTTP 500",
        ),
        (WinRMTransportError("http", 403, ""), AccessDeniedError, ExitCode.ACCESS_DENIED, "403"),
        (
            _wrapped(socket.gaierror(-2, "Name or service not known")),
            HostUnreachableError,
            ExitCode.UNREACHABLE,
            "cannot resolve",
        ),
        (
            _wrapped(ConnectionRefusedError(111, "Connection refused")),
            WinRMUnavailableError,
            ExitCode.WINRM_UNAVAILABLE,
            "connection refused",
        ),
        (
            _wrapped(OSError(113, "No route to host")),
            HostUnreachableError,
            ExitCode.UNREACHABLE,
            "no route",
        ),
        (
            requests.exceptions.ConnectionError(ConnectionResetError(104, "reset")),
            HostUnreachableError,
            ExitCode.UNREACHABLE,
            "was lost",
        ),
        (
            requests.exceptions.ConnectTimeout("connect timed out"),
            RunTimeoutError,
            ExitCode.TIMEOUT,
            "connecting to",
        ),
        (
            requests.exceptions.ReadTimeout("read timed out"),
            RunTimeoutError,
            ExitCode.TIMEOUT,
            "did not answer",
        ),
        (
            requests.exceptions.SSLError(
                _wrapped(
                    ssl.SSLError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
                )
            ),
            TlsError,
            ExitCode.TLS_ERROR,
            "could not be verified",
        ),
        (
            requests.exceptions.SSLError(
                ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
            ),
            TlsError,
            ExitCode.TLS_ERROR,
            "does not speak TLS",
        ),
    ],
)
def test_translate(
    exc: BaseException, kind: type[QbdFixError], code: ExitCode, fragment: str
) -> None:
    err = translate(exc, conn(), doing="running restart-tasks")
    assert type(err) is kind
    assert err.exit_code == code
    assert fragment in err.message
    assert err.hint
    assert "\n" not in err.message


def test_translate_scrubs_the_password() -> None:
    leaky = WSManFaultError(1, None, f"bad thing with {SECRET} inside", None, None, None)
    err = translate(leaky, conn())
    assert SECRET not in err.message
    assert "***" in err.message
    other = translate(RuntimeError(f"x {SECRET}"), conn())
    assert SECRET not in other.message


def test_refused_hint_names_the_default_ports() -> None:
    err = translate(_wrapped(ConnectionRefusedError(111, "refused")), conn(ssl=True))
    assert err.hint is not None
    assert "Enable-PSRemoting -Force" in err.hint
    assert "5986" in err.hint


class _Record:
    """An error record as pypsrp deserialises one from Windows PowerShell."""

    def __init__(self, text: str, **fields: Any) -> None:
        self._text = text
        for name, value in fields.items():
            setattr(self, name, value)

    def __str__(self) -> str:
        return self._text


def test_describe_error_adds_the_position() -> None:
    record = _Record(
        "The term 'Get-Nope' is not recognized",
        invocation_position_message="At line:42 char:5\n+     Get-Nope\n+     ~~~~~~~~",
    )
    assert describe_error(record) == "The term 'Get-Nope' is not recognized (At line:42 char:5)"
    stack = _Record(
        "Boom", script_stacktrace="at Invoke-QbdRemediation, <No file>: line 7\nat <ScriptBlock>"
    )
    assert describe_error(stack) == "Boom (at Invoke-QbdRemediation, <No file>: line 7)"
    assert describe_error(_Record("None", message="from fields")) == "from fields"


# -- chunked copy --------------------------------------------------------------------------------


def reader(blob: bytes, *, fail_at: set[int] | None = None, exc: QbdFixError | None = None) -> Any:
    calls: list[int] = []

    def read(offset: int, count: int) -> list[object]:
        calls.append(offset)
        if fail_at and offset in fail_at:
            fail_at.discard(offset)
            raise exc or HostUnreachableError("the connection was lost")
        data = blob[offset : offset + count]
        return [f"{len(blob)}:{base64.b64encode(data).decode()}"]

    read.calls = calls  # type: ignore[attr-defined]
    return read


@pytest.mark.parametrize("size", [0, 1, 1000, 4096, 4097])
def test_download_sizes(tmp_path: Path, size: int) -> None:
    blob = bytes(range(256)) * (size // 256) + bytes(size % 256)
    dest = tmp_path / "out" / "b.zip"
    got = transfer.download(
        reader(blob), "C:\\b.zip", dest, sha256=hashlib.sha256(blob).hexdigest(), chunk_size=1024
    )
    assert got == dest
    assert dest.read_bytes() == blob


def test_download_retries_a_broken_chunk(tmp_path: Path) -> None:
    blob = b"x" * 5000
    read = reader(blob, fail_at={2048})
    digest = hashlib.sha256(blob).hexdigest()
    transfer.download(
        read, "C:\\b.zip", tmp_path / "b.zip", sha256=digest, chunk_size=1024, backoff=0
    )
    assert (tmp_path / "b.zip").read_bytes() == blob
    assert read.calls.count(2048) == 2


def test_download_gives_up_and_leaves_nothing(tmp_path: Path) -> None:
    def read(offset: int, count: int) -> list[object]:
        if offset >= 1024:
            raise RunTimeoutError("no answer")
        return [f"5000:{base64.b64encode(b'x' * count).decode()}"]

    with pytest.raises(TransferError, match="broke at byte 1024 after 3 attempts"):
        transfer.download(
            read, "C:\\b.zip", tmp_path / "b.zip", sha256="0" * 64, chunk_size=1024, backoff=0
        )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (["12:@@@"], "base64"),
        (["garbage"], "<length>"),
        ([], "0 lines"),
    ],
)
def test_download_refuses_bad_reader_answers(
    tmp_path: Path, answer: list[object], fragment: str
) -> None:
    with pytest.raises(TransferError, match=fragment):
        transfer.download(lambda o, c: answer, "C:\\b.zip", tmp_path / "b.zip", sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_download_checks_the_digest_and_a_changing_file(tmp_path: Path) -> None:
    blob = b"abc" * 1000
    with pytest.raises(TransferError, match="SHA-256"):
        transfer.download(reader(blob), "C:\\b.zip", tmp_path / "b.zip", sha256="0" * 64)

    def growing(offset: int, count: int) -> list[object]:
        return [f"{3000 + offset}:{base64.b64encode(blob[offset : offset + count]).decode()}"]

    with pytest.raises(TransferError, match="changed on the PC"):
        transfer.download(
            growing, "C:\\b.zip", tmp_path / "b.zip", sha256="0" * 64, chunk_size=1024
        )
    assert list(tmp_path.iterdir()) == []


def test_big_offsets_go_as_text() -> None:
    assert transfer.chunk_parameters("C:\\b", 5, 10) == {"Path": "C:\\b", "Offset": 5, "Count": 10}
    assert transfer.chunk_parameters("C:\\b", 2**31, 10)["Offset"] == str(2**31)


def test_constant_scripts_pass_the_static_checks() -> None:
    from tests.support.pwsh import check_script

    for text in (transfer.READ_CHUNK_SCRIPT, transfer.REMOVE_FILE_SCRIPT):
        report = check_script(text)
        assert report.ok, report.errors
        assert not report.ps7_only


# -- the runner on the loopback host -------------------------------------------------------------


DOC = {
    "remediation": "restart-tasks",
    "computer": "PC01",
    "status": "ok",
    "checks": [],
    "actions": [],
    "messages": [],
    "data": {},
}


def loopback_conn(host: FakeWinRMHost, **kw: Any) -> RemoteConnection:
    base: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": host.port,
        "ssl": False,
        "auth": "ntlm",
        "username": host.username,
        "password": host.password,
        "connect_timeout": 2,
        "operation_timeout": 2,
    }
    base.update(kw)
    return RemoteConnection(**base)


def test_run_sends_text_and_typed_parameters_and_reuses_one_pool(
    fake_winrm_host: FakeWinRMHost,
) -> None:
    host = fake_winrm_host
    host.default_answer = Answer(
        output=["noise", json.dumps(DOC)], warnings=["w"], verbose=["v"], information=["i"]
    )
    script = Script("restart-tasks", "param($A)\n'x'\n", {"A": "’$(x)`", "B": True, "C": 7})
    with RemoteRunner(loopback_conn(host)) as runner:
        first = runner.run(script)
        second = runner.run(script, what_if=True)
    assert first.result.computer == "PC01"
    assert first.streams.warnings == ["w"]
    assert first.streams.verbose == ["v"]
    assert first.streams.information == ["i"]
    assert first.exit_code is None
    one, two = host.invocations
    assert one.script == script.text
    assert one.parameters == {"A": "’$(x)`", "B": True, "C": 7}
    assert two.parameters == {"A": "’$(x)`", "B": True, "C": 7, "WhatIf": True}
    assert host.requests_by_action["Create"] == 1
    assert host.requests_by_action["Delete"] == 1
    assert second.result.status.value == "ok"


def test_failed_pipeline_is_script_failed(fake_winrm_host: FakeWinRMHost) -> None:
    fake_winrm_host.default_answer = Answer(failed="Cannot bind parameter 'X'.")
    with (
        RemoteRunner(loopback_conn(fake_winrm_host)) as runner,
        pytest.raises(ScriptFailedError) as err,
    ):
        runner.run(Script("restart-tasks", "x", {}))
    assert "Cannot bind parameter 'X'." in err.value.message


def test_non_terminating_errors_without_result(fake_winrm_host: FakeWinRMHost) -> None:
    fake_winrm_host.default_answer = Answer(errors=["first problem", "second"])
    with RemoteRunner(loopback_conn(fake_winrm_host)) as runner, pytest.raises(ResultError) as err:
        runner.run(Script("restart-tasks", "x", {}))
    assert "first problem" in err.value.message


def test_run_deadline_stops_the_pipeline(fake_winrm_host: FakeWinRMHost) -> None:
    host = fake_winrm_host
    host.receive_wait = 0.2
    host.default_answer = Answer(output=[json.dumps(DOC)], delay=30)
    runner = RemoteRunner(loopback_conn(host), run_timeout=0.5)
    with runner, pytest.raises(RunTimeoutError, match="ran longer than"):
        runner.run(Script("restart-tasks", "x", {}))
    assert host.requests_by_action["Signal"] >= 1


def test_a_broken_pool_is_reopened(fake_winrm_host: FakeWinRMHost) -> None:
    from tests.loopback import Fault

    host = fake_winrm_host
    host.default_answer = Answer(output=[json.dumps(DOC)])
    with RemoteRunner(loopback_conn(host)) as runner:
        runner.run(Script("restart-tasks", "x", {}))
        host.faults.add(Fault(action="Command", kind="drop"))
        with pytest.raises(HostUnreachableError):
            runner.run(Script("restart-tasks", "x", {}))
        assert runner.run(Script("restart-tasks", "x", {})).result.status.value == "ok"
    assert host.requests_by_action["Create"] == 2


def test_fetch_removes_the_remote_copy(fake_winrm_host: FakeWinRMHost, tmp_path: Path) -> None:
    host = fake_winrm_host
    blob = b"zipdata" * 100
    host.answer(
        lambda script, params: script == transfer.READ_CHUNK_SCRIPT,
        lambda inv: Answer(
            output=[
                f"{len(blob)}:{base64.b64encode(blob[int(str(inv.parameters['Offset'])) :][: int(str(inv.parameters['Count']))]).decode()}"
            ]
        ),
    )
    with RemoteRunner(loopback_conn(host), chunk_size=256) as runner:
        runner.fetch(
            "C:\\Windows\\Temp\\b.zip", tmp_path / "b.zip", sha256=hashlib.sha256(blob).hexdigest()
        )
    assert (tmp_path / "b.zip").read_bytes() == blob
    removal = host.invocations[-1]
    assert removal.script == transfer.REMOVE_FILE_SCRIPT
    assert removal.parameters == {"Path": "C:\\Windows\\Temp\\b.zip"}
    reads = [i for i in host.invocations if i.script == transfer.READ_CHUNK_SCRIPT]
    assert [i.parameters["Offset"] for i in reads] == [0, 256, 512]
