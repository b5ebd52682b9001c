"""Tests of the loopback WinRM host against unmodified pypsrp (no Windows, loopback only)."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypsrp.exceptions import AuthenticationError, WinRMTransportError, WSManFaultError
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from tests.loopback import SHELL_NOT_FOUND, Answer, FakeWinRMHost, Fault, free_port
from tests.loopback import fixtures as loopback_fixtures

winrm_host = loopback_fixtures.winrm_host
fake_winrm_host = loopback_fixtures.fake_winrm_host

AUTHS = ["basic", "ntlm", "negotiate"]

HOSTILE = [
    "it's",
    "\u2018curly\u2019 \u201a\u201b quotes",
    "$(Remove-Item C:\\ -Recurse)",
    "back`tick`n and `$env:PATH",
    "line1\nline2\r\nline3\ttab",
    "na\u00efve caf\u00e9 \u65e5\u672c\u8a9e \U0001f600",
    '"double" & <xml> ]]> &amp;',
    "; exit 1 #",
    "",
    " leading and trailing ",
]


def invoke(
    host: FakeWinRMHost,
    auth: str,
    script: str,
    params: dict[str, Any] | None = None,
    **client: Any,
) -> tuple[PowerShell, list[Any]]:
    """Open a pool, run one pipeline, close the pool (what the CLI does per host)."""
    wsman = WSMan(**host.client_kwargs(auth, **client))
    with RunspacePool(wsman) as pool:
        ps = PowerShell(pool)
        ps.add_script(script)
        if params:
            ps.add_parameters(params)
        output = ps.invoke()
    return ps, output


def invoke_no_close(host: FakeWinRMHost, auth: str, script: str, **client: Any) -> list[Any]:
    """Run a pipeline without closing the pool, so a fault's exception is not masked by Delete."""
    wsman = WSMan(**host.client_kwargs(auth, **client))
    pool = RunspacePool(wsman)
    pool.open()
    try:
        result: list[Any] = PowerShell(pool).add_script(script).invoke()
    finally:
        wsman.close()
    return result


@pytest.mark.parametrize("auth", AUTHS)
def test_script_and_typed_parameters_arrive_intact(
    fake_winrm_host: FakeWinRMHost, auth: str
) -> None:
    host = fake_winrm_host
    host.answer("Get-Thing", Answer(output=['{"ok": true}']))
    params: dict[str, Any] = {f"p{i}": s for i, s in enumerate(HOSTILE)}
    params.update({"Flag": True, "Off": False, "Count": 42, "Negative": -7})
    script = "param($p0)\n# " + " | ".join(HOSTILE) + "\nGet-Thing"

    ps, output = invoke(host, auth, script, params)

    assert output == ['{"ok": true}']
    assert ps.had_errors is False
    (inv,) = host.invocations
    assert inv.script == script
    assert inv.parameters == params
    for name, value in params.items():
        assert type(inv.parameters[name]) is type(value), name
    assert inv.username
    assert inv.username.endswith("u")


@pytest.mark.parametrize("auth", AUTHS)
def test_streams_come_back(fake_winrm_host: FakeWinRMHost, auth: str) -> None:
    host = fake_winrm_host
    host.answer(
        "Streams",
        Answer(
            output=["first", 2, True],
            errors=["non-terminating problem"],
            warnings=["careful"],
            verbose=["chatty"],
            information=["fyi"],
            debug=["dbg"],
        ),
    )
    ps, output = invoke(host, auth, "Streams")
    assert output == ["first", 2, True]
    assert ps.had_errors is False  # Write-Error does not fail the pipeline
    assert [str(e) for e in ps.streams.error] == ["non-terminating problem"]
    assert [str(w) for w in ps.streams.warning] == ["careful"]
    assert [str(v) for v in ps.streams.verbose] == ["chatty"]
    assert [str(d) for d in ps.streams.debug] == ["dbg"]
    assert [i.message_data for i in ps.streams.information] == ["fyi"]


def test_failed_pipeline_sets_had_errors(fake_winrm_host: FakeWinRMHost) -> None:
    host = fake_winrm_host
    host.answer("Boom", Answer(output=["partial"], failed="Access is denied."))
    ps, output = invoke(host, "basic", "Boom")
    assert ps.had_errors is True
    assert output == ["partial"]
    assert any("Access is denied." in str(e) for e in ps.streams.error)


def test_answers_match_by_callable_latest_wins_and_default(fake_winrm_host: FakeWinRMHost) -> None:
    host = fake_winrm_host
    host.default_answer = Answer(output=["default"])
    host.answer("Thing", Answer(output=["old"]))
    host.answer("Thing", Answer(output=["new"]))
    host.answer(
        lambda script, params: params.get("Mode") == "x", lambda inv: Answer(output=[inv.script])
    )
    wsman = WSMan(**host.client_kwargs("basic"))
    with RunspacePool(wsman) as pool:
        assert PowerShell(pool).add_script("Thing").invoke() == ["new"]
        assert PowerShell(pool).add_script("Other").invoke() == ["default"]
        assert PowerShell(pool).add_script("Cb").add_parameter("Mode", "x").invoke() == ["Cb"]
        assert PowerShell(pool).add_cmdlet("Get-Date").add_parameter("Format", "o").invoke() == [
            "default"
        ]
    assert host.invocations[-1].command_name == "Get-Date"
    assert host.invocations[-1].parameters == {"Format": "o"}


def test_delayed_answer_long_polls(fake_winrm_host: FakeWinRMHost) -> None:
    host = fake_winrm_host
    host.receive_wait = 0.2  # several OperationTimeout faults, which pypsrp ignores while polling
    host.answer("Slow", Answer(output=["done"], delay=0.5))
    start = time.monotonic()
    _, output = invoke(host, "ntlm", "Slow")
    assert output == ["done"]
    assert 0.5 <= time.monotonic() - start < 30  # pypsrp's own retry back-off would take minutes
    assert host.requests_by_action["Receive"] >= 3


@pytest.mark.parametrize("auth", AUTHS)
def test_wrong_password_is_authentication_error(fake_winrm_host: FakeWinRMHost, auth: str) -> None:
    with pytest.raises(AuthenticationError):
        invoke(fake_winrm_host, auth, "x", password="wrong")
    assert fake_winrm_host.invocations == []


def test_hosts_with_different_passwords_coexist(winrm_host: Any) -> None:
    first = winrm_host(username="admin", password="one")
    second = winrm_host(username="admin", password="two")
    for _ in range(2):
        assert invoke(first, "ntlm", "x")[0].had_errors is False
        assert invoke(second, "negotiate", "x")[0].had_errors is False
    with pytest.raises(AuthenticationError):
        invoke(second, "ntlm", "x", password="one")


def test_auth_kinds_can_be_restricted(winrm_host: Any) -> None:
    host = winrm_host(auth=("ntlm",))
    with pytest.raises(AuthenticationError):
        invoke(host, "basic", "x")
    assert invoke(host, "ntlm", "x")[0].had_errors is False


@pytest.mark.parametrize("auth", ["basic", "ntlm"])
def test_http_status_fault(fake_winrm_host: FakeWinRMHost, auth: str) -> None:
    fault = fake_winrm_host.faults.add(Fault(action="Command", kind="http_status", status=500))
    with pytest.raises(WinRMTransportError) as err:
        invoke_no_close(fake_winrm_host, auth, "x")
    assert err.value.code == 500
    assert fault.hits == 1


@pytest.mark.parametrize("auth", ["basic", "ntlm"])
def test_wsman_fault(fake_winrm_host: FakeWinRMHost, auth: str) -> None:
    fake_winrm_host.faults.add(Fault(action="Create", kind="wsman_fault", wsman_code=2150858770))
    with pytest.raises(WSManFaultError) as err:
        invoke_no_close(fake_winrm_host, auth, "x")
    assert err.value.code == 2150858770


@pytest.mark.parametrize("auth", ["basic", "ntlm"])
def test_dropped_connection_during_pipeline_receive(
    fake_winrm_host: FakeWinRMHost, auth: str
) -> None:
    # skip=1: the first Receive belongs to opening the pool, the second polls the pipeline
    fake_winrm_host.faults.add(Fault(action="Receive", kind="drop", skip=1))
    with pytest.raises(requests.exceptions.ConnectionError):
        invoke_no_close(fake_winrm_host, auth, "x")


def test_slow_command_is_read_timeout(fake_winrm_host: FakeWinRMHost) -> None:
    fake_winrm_host.faults.add(Fault(action="Command", kind="delay", seconds=1.5))
    with pytest.raises(requests.exceptions.ReadTimeout):
        invoke_no_close(fake_winrm_host, "basic", "x", read_timeout=0.5)


@pytest.mark.parametrize("auth", ["basic", "ntlm"])
def test_slow_receive_is_retried_without_losing_output(
    fake_winrm_host: FakeWinRMHost, auth: str
) -> None:
    host = fake_winrm_host
    host.answer("x", Answer(output=["kept"]))
    host.faults.add(Fault(action="Receive", kind="delay", seconds=1.0, skip=1))
    output = invoke_no_close(host, auth, "x", read_timeout=0.4, reconnection_backoff=0.05)
    assert output == ["kept"]


def test_forgotten_shell_is_wsman_fault(fake_winrm_host: FakeWinRMHost) -> None:
    wsman = WSMan(**fake_winrm_host.client_kwargs("basic"))
    pool = RunspacePool(wsman)
    pool.open()
    fake_winrm_host.forget_shells()
    with pytest.raises(WSManFaultError) as err:
        PowerShell(pool).add_script("x").invoke()
    assert err.value.code == SHELL_NOT_FOUND


def test_refused_port() -> None:
    port = free_port()
    with pytest.raises(requests.exceptions.ConnectionError):
        WSMan(
            "127.0.0.1",
            port=port,
            username="u",
            password="p",
            ssl=False,
            auth="basic",
            encryption="never",
            connection_timeout=2,
        ).get_server_config()


def test_refuse_stops_a_running_host(winrm_host: Any) -> None:
    host = winrm_host()
    assert invoke(host, "basic", "x")[0].had_errors is False
    host.refuse()
    with pytest.raises(requests.exceptions.ConnectionError):
        invoke(host, "basic", "x")


@pytest.mark.parametrize("auth", ["basic", "ntlm"])
def test_multi_megabyte_output_and_large_parameter(
    fake_winrm_host: FakeWinRMHost, auth: str
) -> None:
    host = fake_winrm_host
    blob = hashlib.sha256(b"seed").digest() * (3 * 1024 * 1024 // 32)
    text = base64.b64encode(blob).decode()
    chunks = [text[i : i + 1_000_000] for i in range(0, len(text), 1_000_000)]
    host.answer(
        "Read-Chunk", lambda inv: Answer(output=[chunks[int(str(inv.parameters["Index"]))]])
    )
    host.answer("Echo", lambda inv: Answer(output=[inv.parameters["Big"]]))
    # ~600 KB: more than one 500 KiB envelope, so the CreatePipeline fragments go through Send
    big = "\u2019x$(y)`z\n" * 100 + "a" * 600_000 + "\u2019\n"
    wsman = WSMan(**host.client_kwargs(auth))
    with RunspacePool(wsman) as pool:
        got = [
            PowerShell(pool).add_script("Read-Chunk").add_parameter("Index", i).invoke()[0]
            for i in range(len(chunks))
        ]
        echoed = PowerShell(pool).add_script("Echo").add_parameter("Big", big).invoke()
    assert base64.b64decode("".join(got)) == blob
    assert echoed == [big]
    assert host.invocations[-1].parameters["Big"] == big
    assert host.requests_by_action["Send"] >= 1


@pytest.mark.parametrize(("auth", "expected"), [("basic", 5), ("ntlm", 8), ("negotiate", 8)])
def test_request_counts(fake_winrm_host: FakeWinRMHost, auth: str, expected: int) -> None:
    invoke(fake_winrm_host, auth, "x")
    assert fake_winrm_host.requests == expected
    counts = fake_winrm_host.requests_by_action
    assert counts["Create"] == 1
    assert counts["Command"] == 1
    assert counts["Receive"] == 2
    assert counts["Delete"] == 1


def test_signal_on_close_and_pipeline_input(fake_winrm_host: FakeWinRMHost) -> None:
    host = fake_winrm_host
    host.answer("Input", lambda inv: Answer(output=[len(inv.input)]))
    wsman = WSMan(**host.client_kwargs("basic"))
    with RunspacePool(wsman) as pool:
        ps = PowerShell(pool).add_script("Input")
        assert ps.invoke(input=["a", "b", "c"]) == [3]  # type: ignore[arg-type]  # pypsrp takes lists
        ps.close()
    assert host.invocations[-1].input == ["a", "b", "c"]
    assert host.requests_by_action["Signal"] == 1
    assert host.shells == []


def test_many_hosts_in_parallel(winrm_host: Any) -> None:
    hosts = [winrm_host() for _ in range(20)]
    for i, host in enumerate(hosts):
        host.answer("Who", Answer(output=[i]))
    results: dict[int, Any] = {}

    def work(i: int) -> None:
        results[i] = invoke(hosts[i], "ntlm", "Who")[1]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(hosts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == {i: [i] for i in range(len(hosts))}


@pytest.fixture(scope="module")
def shared_pool() -> Iterator[tuple[FakeWinRMHost, RunspacePool]]:
    host = FakeWinRMHost().start()
    host.answer("Echo", lambda inv: Answer(output=[inv.parameters.get("Value")]))
    pool = RunspacePool(WSMan(**host.client_kwargs("ntlm")))
    pool.open()
    yield host, pool
    pool.close()
    host.stop()
    assert host.errors == []


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=st.text(st.characters(exclude_categories=["Cs"]), max_size=200))
def test_any_text_round_trips(shared_pool: tuple[FakeWinRMHost, RunspacePool], value: str) -> None:
    host, pool = shared_pool
    output = PowerShell(pool).add_script("Echo").add_parameter("Value", value).invoke()
    assert host.invocations[-1].parameters["Value"] == value
    assert output == [value]


@pytest.mark.parametrize("auth", AUTHS)
def test_https_listener(winrm_host: Any, auth: str) -> None:
    host = winrm_host(tls=True)
    host.answer("x", Answer(output=["over tls"]))
    assert host.url.startswith("https://")
    assert invoke(host, auth, "x")[1] == ["over tls"]
    assert invoke(host, "basic", "x", cert_validation=host.cert_pem)[1] == ["over tls"]


def test_is_alive_and_server_config(fake_winrm_host: FakeWinRMHost) -> None:
    wsman = WSMan(**fake_winrm_host.client_kwargs("basic"))
    wsman.update_max_payload_size()
    assert wsman.max_envelope_size == 512000
    pool = RunspacePool(wsman)
    pool.open()
    assert pool.is_alive() is True
    fake_winrm_host.forget_shells()
    assert pool.is_alive() is False  # pypsrp maps the shell-not-found fault to "not alive"


def test_exception_inside_host_is_recorded_and_faulted(fake_winrm_host: FakeWinRMHost) -> None:
    def broken(inv: Any) -> Answer:
        raise RuntimeError("bug in a test's answer")

    fake_winrm_host.answer("x", broken)
    with pytest.raises(WSManFaultError, match="bug in a test's answer"):
        invoke_no_close(fake_winrm_host, "ntlm", "x")
    assert [type(e) for e in fake_winrm_host.errors] == [RuntimeError]
    assert "broken" in fake_winrm_host.error_traces[0]
    fake_winrm_host.errors.clear()  # else the fixture fails this test at teardown, by design


def test_latency_applies_to_every_request(winrm_host: Any) -> None:
    host = winrm_host(latency=0.05)
    start = time.monotonic()
    invoke(host, "basic", "x")
    assert time.monotonic() - start >= 5 * 0.05  # Create, Receive, Command, Receive, Delete


def test_receive_retried_while_first_attempt_long_polls(fake_winrm_host: FakeWinRMHost) -> None:
    # The client's read timeout (0.3 s) is shorter than the host's long-poll (1 s): pypsrp
    # retries the Receive with the same MessageID while the first attempt is still waiting.
    host = fake_winrm_host
    host.answer("x", Answer(output=["not lost"], delay=0.6))
    output = invoke_no_close(host, "basic", "x", read_timeout=0.3, reconnection_backoff=0.01)
    assert output == ["not lost"]
