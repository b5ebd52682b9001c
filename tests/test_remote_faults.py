"""When remoting goes wrong: each fault gives one error line, a hint, its own exit code,
no traceback and no password, and never hangs. Then the log bundle copy under stress."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qbd_fix.cli.app import app
from qbd_fix.errors import ExitCode, QbdFixError
from qbd_fix.runners import transfer
from tests.loopback import Answer, FakeWinRMHost, Fault, free_port
from tests.loopback import fixtures as loopback_fixtures

winrm_host = loopback_fixtures.winrm_host

PASSWORD = "S3cret-‛pw’-`$x`"
DOC = json.dumps(
    {
        "remediation": "restart-tasks",
        "computer": "PC01",
        "status": "ok",
        "checks": [],
        "actions": [],
        "messages": [],
        "data": {},
    }
)


def run(
    port: int,
    *extra: str,
    password: str = PASSWORD,
    hostname: str = "127.0.0.1",
    auth: str = "ntlm",
) -> Any:
    args = [
        "restart-tasks", "--host", hostname, "--port", str(port), "--no-ssl", "--auth", auth,
        "--username", "u", "--yes", "--connect-timeout", "1", "--operation-timeout", "1", *extra,
    ]  # fmt: skip
    started = time.monotonic()
    result = CliRunner().invoke(app, args, env={"QBD_FIX_PASSWORD": password})
    result.elapsed = time.monotonic() - started  # type: ignore[attr-defined]
    return result


@pytest.fixture
def host(winrm_host: Any) -> FakeWinRMHost:
    made: FakeWinRMHost = winrm_host(username="u", password=PASSWORD)
    made.default_answer = Answer(output=[DOC])
    return made


def _plan(*faults: Fault) -> Callable[[FakeWinRMHost], None]:
    def apply(host: FakeWinRMHost) -> None:
        for fault in faults:
            host.faults.add(fault)

    return apply


def _answer(answer: Answer) -> Callable[[FakeWinRMHost], None]:
    def apply(host: FakeWinRMHost) -> None:
        host.default_answer = answer

    return apply


# (setup, exit code, a fragment of the one error line, a fragment of the hint)
MATRIX: dict[str, tuple[Callable[[FakeWinRMHost], None], ExitCode, str, str]] = {
    "http 500 on create": (
        _plan(Fault(action="Create", status=500)),
        ExitCode.WINRM_UNAVAILABLE,
        "(HTTP 500)",
        "event log",
    ),
    "http 500 on command": (
        _plan(Fault(action="Command", status=500)),
        ExitCode.WINRM_UNAVAILABLE,
        "while running restart-tasks (HTTP 500)",
        "WinRM",
    ),
    "http 503": (
        _plan(Fault(action="Create", status=503)),
        ExitCode.WINRM_UNAVAILABLE,
        "HTTP 503",
        "Start-Service WinRM",
    ),
    "http 404": (
        _plan(Fault(action="Create", status=404)),
        ExitCode.WINRM_UNAVAILABLE,
        "no WinRM listener",
        "Enable-PSRemoting -Force",
    ),
    "wsman fault": (
        _plan(
            Fault(
                action="Command",
                kind="wsman_fault",
                wsman_code=0x80338012,
                message="The request is not valid.",
            )
        ),
        ExitCode.WINRM_UNAVAILABLE,
        "WSMan fault 0x80338012",
        "Get-Service WinRM",
    ),
    "wsman access denied": (
        _plan(
            Fault(action="Create", kind="wsman_fault", wsman_code=5, message="Access is denied.")
        ),
        ExitCode.ACCESS_DENIED,
        "denied access to u: Access is denied.",
        "Administrators",
    ),
    "shell gone": (
        _plan(Fault(action="Receive", kind="wsman_fault", skip=1)),
        ExitCode.WINRM_UNAVAILABLE,
        "lost the PowerShell session",
        "run the command again",
    ),
    "dropped on command": (
        _plan(Fault(action="Command", kind="drop")),
        ExitCode.UNREACHABLE,
        "connection to 127.0.0.1",
        "restarted",
    ),
    "dropped on receive": (
        _plan(Fault(action="Receive", kind="drop", skip=1)),
        ExitCode.UNREACHABLE,
        "was lost while running restart-tasks",
        "safe to repeat",
    ),
    "slow command": (
        _plan(Fault(action="Command", kind="delay", seconds=4)),
        ExitCode.TIMEOUT,
        "did not answer within 2 s",
        "--operation-timeout",
    ),
    "pipeline fails": (
        _answer(Answer(failed="Cannot find path 'C:\\nope' because it does not exist.")),
        ExitCode.SCRIPT_FAILED,
        "PowerShell failed on 127.0.0.1: Cannot find path",
        "--debug",
    ),
    "no result": (
        _answer(Answer(output=["not json"])),
        ExitCode.RESULT_UNREADABLE,
        "no result document",
        "--debug",
    ),
    "bad result": (
        _answer(Answer(output=['{"remediation": "x", "status": "great"}'])),
        ExitCode.RESULT_UNREADABLE,
        "unknown status",
        "",
    ),
}


def assert_one_line_error(result: Any, code: ExitCode, fragment: str, hint: str) -> None:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == code, result.stderr
    assert lines[0].startswith("error: ")
    assert fragment in lines[0]
    assert all(line.startswith(("error:", "hint:")) for line in lines)
    if hint:
        assert lines[1].startswith("hint: ") and hint in lines[1]
    assert "Traceback" not in result.stderr + result.stdout
    assert PASSWORD not in result.stderr + result.stdout
    assert result.elapsed < 15


@pytest.mark.parametrize("case", list(MATRIX))
def test_fault_matrix(host: FakeWinRMHost, case: str) -> None:
    setup, code, fragment, hint = MATRIX[case]
    setup(host)
    assert_one_line_error(run(host.port), code, fragment, hint)


@pytest.mark.parametrize("auth", ["ntlm", "negotiate"])
def test_wrong_password(host: FakeWinRMHost, auth: str) -> None:
    result = run(host.port, password="wrong-password", auth=auth)
    assert_one_line_error(
        result,
        ExitCode.AUTH_FAILED,
        "rejected the credentials of u",
        "LocalAccountTokenFilterPolicy",
    )
    assert host.invocations == []


def test_refused_port() -> None:
    assert_one_line_error(
        run(free_port()),
        ExitCode.WINRM_UNAVAILABLE,
        "connection refused",
        "Enable-PSRemoting -Force",
    )


def test_unknown_host_name() -> None:
    assert_one_line_error(
        run(5985, hostname="qbd-fix-no-such-pc.invalid"),
        ExitCode.UNREACHABLE,
        "cannot resolve the host name",
        "IP address",
    )


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose accept queue is full: new connections wait for SYN-ACK until they time out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    yield port
    for sock in [*fillers, listener]:
        sock.close()


@pytest.mark.slow
def test_connect_timeout(silent_port: int) -> None:
    """Linux drops SYNs to a full accept queue (a silent PC); Windows resets them, which must
    then read as a refused connection, not as a timeout or a traceback."""
    result = run(silent_port)
    if result.exit_code == ExitCode.WINRM_UNAVAILABLE:
        assert_one_line_error(
            result, ExitCode.WINRM_UNAVAILABLE, "connection refused", "Enable-PSRemoting -Force"
        )
        return
    assert_one_line_error(result, ExitCode.TIMEOUT, "connecting to 127.0.0.1", "--connect-timeout")


@pytest.mark.slow
def test_slow_receive_times_out(host: FakeWinRMHost) -> None:
    host.faults.add(Fault(action="Receive", kind="delay", seconds=5, skip=1, times=None))
    result = run(host.port)
    assert_one_line_error(
        result, ExitCode.TIMEOUT, "did not answer within 2 s", "--operation-timeout"
    )


@pytest.mark.slow
def test_one_slow_receive_is_survived(host: FakeWinRMHost) -> None:
    host.faults.add(Fault(action="Receive", kind="delay", seconds=2.5, skip=1))
    result = run(host.port)
    assert result.exit_code == 0, result.stderr


@pytest.mark.slow
def test_long_running_script_is_polled_not_cut(host: FakeWinRMHost) -> None:
    host.receive_wait = 0.3  # OperationTimeout faults while the script "runs"
    host.default_answer = Answer(output=[DOC], delay=2.0)
    result = run(host.port)
    assert result.exit_code == 0, result.stderr
    assert host.requests_by_action["Receive"] >= 4


def test_tls_listener_with_an_untrusted_certificate(winrm_host: Any) -> None:
    tls_host: FakeWinRMHost = winrm_host(username="u", password=PASSWORD, tls=True)
    args = ["webroot-whitelist", "--host", "127.0.0.1", "--port", str(tls_host.port), "--auth", "ntlm",
            "--username", "u", "--yes", "--connect-timeout", "2", "--operation-timeout", "2"]  # fmt: skip
    env = {"QBD_FIX_PASSWORD": PASSWORD}
    started = time.monotonic()
    result = CliRunner().invoke(app, args, env=env)
    result.elapsed = time.monotonic() - started  # type: ignore[attr-defined]
    assert_one_line_error(
        result, ExitCode.TLS_ERROR, "certificate could not be verified", "--ca-file"
    )

    tls_host.default_answer = Answer(output=[DOC.replace("restart-tasks", "webroot-whitelist")])
    assert tls_host.cert_pem is not None
    trusted = CliRunner().invoke(app, [*args, "--ca-file", tls_host.cert_pem], env=env)
    assert trusted.exit_code == 0, trusted.stderr
    basic_args = [*args[:5], "--auth", "basic", *args[7:], "--no-cert-validation"]
    refused = CliRunner().invoke(app, basic_args, env=env)
    assert refused.exit_code == ExitCode.USAGE
    assert "only Latin-1" in refused.stderr
    assert PASSWORD not in refused.stderr
    tls_host.password = "plain-ascii-pw"
    basic = CliRunner().invoke(app, basic_args, env={"QBD_FIX_PASSWORD": "plain-ascii-pw"})
    assert basic.exit_code == 0, basic.stderr


def test_https_to_an_http_listener(host: FakeWinRMHost) -> None:
    args = ["restart-tasks", "--host", "127.0.0.1", "--port", str(host.port), "--ssl", "--auth", "ntlm",
            "--username", "u", "--yes", "--connect-timeout", "2", "--operation-timeout", "2"]  # fmt: skip
    started = time.monotonic()
    result = CliRunner().invoke(app, args, env={"QBD_FIX_PASSWORD": PASSWORD})
    result.elapsed = time.monotonic() - started  # type: ignore[attr-defined]
    assert_one_line_error(result, ExitCode.TLS_ERROR, "does not speak TLS", "--no-ssl")


# -- bringing the log bundle home ----------------------------------------------------------------

REMOTE_ZIP = "C:\\Windows\\Temp\\qbd-fix\\PC01-logs.zip"


def collect(
    host: FakeWinRMHost,
    dest: Path,
    blob: bytes,
    *,
    on_chunk: Callable[[int], None] | None = None,
    served: bytes | None = None,
) -> Any:
    """collect-logs against *host*, whose bundle has *blob*'s digest and serves *served* (or *blob*)."""
    doc = {
        "remediation": "collect-logs",
        "computer": "PC01",
        "status": "ok",
        "checks": [],
        "actions": [],
        "messages": ["Collected."],
        "data": {
            "bundle": {
                "path": REMOTE_ZIP,
                "sha256": hashlib.sha256(blob).hexdigest(),
                "bytes": len(blob),
            }
        },
    }
    host.default_answer = Answer(output=[json.dumps(doc)])

    def chunk(inv: Any) -> Answer:
        offset, count = int(str(inv.parameters["Offset"])), int(str(inv.parameters["Count"]))
        if on_chunk is not None:
            on_chunk(offset)
        data = (blob if served is None else served)[offset : offset + count]
        return Answer(output=[f"{len(blob)}:{base64.b64encode(data).decode()}"])

    host.answer(lambda script, params: script == transfer.READ_CHUNK_SCRIPT, chunk)
    args = [
        "collect-logs", "--host", "127.0.0.1", "--port", str(host.port), "--no-ssl", "--auth", "ntlm",
        "--username", "u", "--dest", str(dest), "--yes", "--connect-timeout", "2", "--operation-timeout", "3",
    ]  # fmt: skip
    return CliRunner().invoke(app, args, env={"QBD_FIX_PASSWORD": PASSWORD})


@pytest.mark.slow
def test_multi_megabyte_bundle_arrives_byte_identical(host: FakeWinRMHost, tmp_path: Path) -> None:
    blob = os.urandom(5 * 1024 * 1024 + 12345)
    dest = tmp_path / "bundle.zip"
    result = collect(host, dest, blob)
    assert result.exit_code == 0, result.stderr
    assert dest.read_bytes() == blob
    reads = [i for i in host.invocations if i.script == transfer.READ_CHUNK_SCRIPT]
    assert len(reads) == 6
    assert {type(i.parameters["Offset"]) for i in reads} == {int}
    assert host.invocations[-1].script == transfer.REMOVE_FILE_SCRIPT
    assert host.invocations[-1].parameters == {"Path": REMOTE_ZIP}
    assert host.requests_by_action["Create"] == 1  # one pool for the run and the copy
    assert list(tmp_path.iterdir()) == [dest]


@pytest.mark.slow
def test_one_dropped_chunk_is_retried(host: FakeWinRMHost, tmp_path: Path) -> None:
    blob = os.urandom(3 * 1024 * 1024)
    dropped: list[int] = []

    def drop_once(offset: int) -> None:
        if offset == 1 << 20 and not dropped:
            dropped.append(offset)
            host.faults.add(Fault(action="Receive", kind="drop"))

    dest = tmp_path / "bundle.zip"
    result = collect(host, dest, blob, on_chunk=drop_once)
    assert result.exit_code == 0, result.stderr
    assert dest.read_bytes() == blob
    assert host.requests_by_action["Create"] == 2  # the broken pool was replaced


@pytest.mark.slow
def test_connection_lost_mid_copy_leaves_no_file(host: FakeWinRMHost, tmp_path: Path) -> None:
    blob = os.urandom(3 * 1024 * 1024)

    def break_for_good(offset: int) -> None:
        if offset == 2 << 20:
            host.faults.add(Fault(action="Receive", kind="drop", times=None))

    dest = tmp_path / "out" / "bundle.zip"
    started = time.monotonic()
    result = collect(host, dest, blob, on_chunk=break_for_good)
    result.elapsed = time.monotonic() - started
    assert_one_line_error(
        result,
        ExitCode.TRANSFER_FAILED,
        "broke at byte 2097152 after 3 attempts",
        "collect-logs again",
    )
    assert not dest.exists()
    assert list((tmp_path / "out").iterdir()) == []  # no partial or temporary file


def test_digest_mismatch_leaves_no_file(host: FakeWinRMHost, tmp_path: Path) -> None:
    blob = os.urandom(5000)
    dest = tmp_path / "bundle.zip"
    started = time.monotonic()
    result = collect(host, dest, blob, served=blob[:-1] + bytes([blob[-1] ^ 1]))
    result.elapsed = time.monotonic() - started
    assert_one_line_error(
        result, ExitCode.TRANSFER_FAILED, "does not match the SHA-256", "nothing was kept"
    )
    assert list(tmp_path.iterdir()) == []
    assert all(
        i.script != transfer.REMOVE_FILE_SCRIPT for i in host.invocations
    )  # the PC keeps its copy


@pytest.mark.parametrize(
    ("fault", "before"),
    [
        (Fault(action="Create", status=503), True),
        (Fault(action="Receive", kind="drop"), True),  # the pool's first Receive: no script yet
        (Fault(action="Command", kind="drop"), False),
        (Fault(action="Receive", kind="drop", skip=1), False),
    ],
)
def test_failures_before_the_script_are_marked(
    host: FakeWinRMHost, fault: Fault, before: bool
) -> None:
    from qbd_fix.runners.remote import RemoteConnection, RemoteRunner
    from qbd_fix.script.engine import Script

    host.faults.add(fault)
    conn = RemoteConnection(
        host="127.0.0.1", port=host.port, ssl=False, auth="ntlm", username="u", password=PASSWORD,
        connect_timeout=2, operation_timeout=2,
    )  # fmt: skip
    with RemoteRunner(conn) as runner, pytest.raises(QbdFixError) as err:
        runner.run(Script("restart-tasks", "x", {}))
    assert err.value.before_script is before


def test_refused_and_unresolved_are_before_the_script() -> None:
    from qbd_fix.runners.remote import RemoteConnection, RemoteRunner
    from qbd_fix.script.engine import Script

    for name, port in (("127.0.0.1", free_port()), ("qbd-fix-no-such-pc.invalid", 5985)):
        conn = RemoteConnection(
            host=name, port=port, ssl=False, auth="ntlm", username="u", password="p"
        )
        with RemoteRunner(conn) as runner, pytest.raises(QbdFixError) as err:
            runner.run(Script("restart-tasks", "x", {}))
        assert err.value.before_script is True
