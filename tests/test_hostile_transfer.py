"""A PC that answers anything: what it can and cannot do to the admin's memory and files.

Every case goes through the real command line, pypsrp and the loopback WinRM host
answering what a broken or compromised PC could: piles of output, one enormous
object, a bundle larger than announced, no digest, a file offered by the wrong
remediation, undecodable text, nested or mistyped JSON, clear text on an
encrypted session. Each ends in one error line with its own exit code, or in a
result marked as truncated; no file is ever overwritten or left half-written.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qbd_fix.cli.app import app
from qbd_fix.errors import ExitCode
from qbd_fix.runners import limits, transfer
from tests.loopback import Answer, FakeWinRMHost, Fault
from tests.loopback import fixtures as loopback_fixtures

winrm_host = loopback_fixtures.winrm_host

PASSWORD = "Hostile-‘pw’-$(no)"
REMOTE_ZIP = "C:\\Windows\\Temp\\qbd-fix\\logs.zip"


def doc(remediation: str = "restart-tasks", **data: Any) -> dict[str, Any]:
    return {
        "remediation": remediation,
        "computer": "PC01",
        "status": "ok",
        "checks": [],
        "actions": [],
        "messages": ["Done."],
        "data": data,
    }


def cli(command: str, host: FakeWinRMHost, *extra: str, wait: int = 3) -> Any:
    """*command* against *host*; *wait* is --operation-timeout (the loopback host builds a
    large answer whole before the first byte leaves)."""
    args = [
        command, "--host", "127.0.0.1", "--port", str(host.port), "--no-ssl", "--auth", "ntlm",
        "--username", "u", "--yes", "--connect-timeout", "2", "--operation-timeout", str(wait),
        *extra,
    ]  # fmt: skip
    return CliRunner().invoke(app, args, env={"QBD_FIX_PASSWORD": PASSWORD})


def one_line_error(result: Any, code: ExitCode, fragment: str) -> None:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == code, result.stderr + result.stdout
    assert lines and lines[0].startswith("error: ") and fragment in lines[0], lines
    assert all(line.startswith(("error:", "hint:")) for line in lines)
    assert "Traceback" not in result.stderr + result.stdout
    assert PASSWORD not in result.stderr + result.stdout


@pytest.fixture
def host(winrm_host: Any) -> FakeWinRMHost:
    made: FakeWinRMHost = winrm_host(username="u", password=PASSWORD)
    made.default_answer = Answer(output=[json.dumps(doc())])
    return made


def serve(host: FakeWinRMHost, blob: bytes, *, length: int | None = None) -> list[int]:
    """Answer the chunk reader with *blob*, reporting *length* (default: the blob's)."""
    offsets: list[int] = []

    def chunk(inv: Any) -> Answer:
        offset, count = int(str(inv.parameters["Offset"])), int(str(inv.parameters["Count"]))
        offsets.append(offset)
        data = blob[offset : offset + count]
        reported = len(blob) if length is None else length
        return Answer(output=[f"{reported}:{base64.b64encode(data).decode()}"])

    host.answer(lambda script, params: script == transfer.READ_CHUNK_SCRIPT, chunk)
    return offsets


def offer(host: FakeWinRMHost, remediation: str, **bundle: Any) -> None:
    host.answer(
        lambda script, params: (
            script not in (transfer.READ_CHUNK_SCRIPT, transfer.REMOVE_FILE_SCRIPT)
        ),
        Answer(output=[json.dumps(doc(remediation, bundle={"path": REMOTE_ZIP, **bundle}))]),
    )


def removed(host: FakeWinRMHost) -> bool:
    return any(i.script == transfer.REMOVE_FILE_SCRIPT for i in host.invocations)


def digest(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


# -- bundle files: unique names, never over a file -----------------------------------------------


def test_pcs_behind_one_address_each_get_their_own_bundle(winrm_host: Any, tmp_path: Path) -> None:
    hosts = [winrm_host(username="u", password=PASSWORD) for _ in range(4)]
    blobs = {}
    for number, pc in enumerate(hosts):
        blob = f"PK bundle of PC {number}".encode() + os.urandom(2000)
        blobs[pc.port] = blob
        serve(pc, blob)
        offer(pc, "collect-logs", sha256=digest(blob), size=len(blob))
    inventory = tmp_path / "pcs.csv"
    inventory.write_text(
        "host,port,ssl,auth,username\n"
        + "".join(f"127.0.0.1,{pc.port},false,ntlm,u\n" for pc in hosts),
        encoding="utf-8",
    )
    out = tmp_path / "logs"
    args = ["collect-logs", "--inventory", str(inventory), "--dest", str(out), "--yes",
            "--audit-log", str(tmp_path / "audit.jsonl"), "--json"]  # fmt: skip
    ran = CliRunner().invoke(app, args, env={"QBD_FIX_PASSWORD": PASSWORD})
    assert ran.exit_code == 0, ran.stderr
    files = sorted(out.iterdir())
    assert len(files) == 4, files
    assert sorted(f.read_bytes() for f in files) == sorted(blobs.values())
    for pc in hosts:
        (mine,) = [f for f in files if f.name.startswith(f"127.0.0.1_{pc.port}-")]
        assert mine.read_bytes() == blobs[pc.port]
        assert removed(pc)
    paths = {h["result"]["data"]["bundle"]["local_path"] for h in json.loads(ran.stdout)["hosts"]}
    assert paths == {str(f) for f in files}


def test_an_existing_file_is_never_overwritten(host: FakeWinRMHost, tmp_path: Path) -> None:
    blob = b"PK new bundle" + os.urandom(500)
    serve(host, blob)
    offer(host, "collect-logs", sha256=digest(blob), size=len(blob))
    existing = tmp_path / "ticket.zip"
    existing.write_bytes(b"the admin's earlier bundle")
    ran = cli("collect-logs", host, "--dest", str(existing))
    assert ran.exit_code == 0, ran.stderr
    assert existing.read_bytes() == b"the admin's earlier bundle"
    assert (tmp_path / "ticket-2.zip").read_bytes() == blob
    assert "ticket-2.zip" in ran.stdout
    assert removed(host)


def test_the_bundle_name_never_comes_from_the_pc(host: FakeWinRMHost, tmp_path: Path) -> None:
    blob = b"PK" + os.urandom(100)
    serve(host, blob)
    offer(
        host,
        "collect-logs",
        sha256=digest(blob),
        size=len(blob),
        local_path=str(tmp_path / "chosen-by-the-pc.zip"),
    )
    ran = cli("collect-logs", host, "--dest", str(tmp_path / "out"))
    assert ran.exit_code == 0, ran.stderr
    (landed,) = (tmp_path / "out").iterdir()
    assert landed.name.startswith(f"127.0.0.1_{host.port}-") and landed.read_bytes() == blob
    assert not (tmp_path / "chosen-by-the-pc.zip").exists()
    assert "chosen-by-the-pc" not in ran.stdout


# -- bundle size and digest ----------------------------------------------------------------------


def test_a_bundle_larger_than_announced_is_refused(host: FakeWinRMHost, tmp_path: Path) -> None:
    blob = os.urandom(3000)
    serve(host, blob)
    offer(host, "collect-logs", sha256=digest(blob), size=1000)
    one_line_error(
        cli("collect-logs", host, "--dest", str(tmp_path / "b.zip")),
        ExitCode.TRANSFER_FAILED,
        "the result announced 1000",
    )
    assert list(tmp_path.iterdir()) == []
    assert not removed(host)


def test_a_reader_sending_more_than_its_length_is_refused(
    host: FakeWinRMHost, tmp_path: Path
) -> None:
    blob = os.urandom(3000)
    serve(host, blob, length=1000)  # claims 1000 bytes, sends a 3000-byte chunk
    offer(host, "collect-logs", sha256=digest(blob))
    one_line_error(
        cli("collect-logs", host, "--dest", str(tmp_path / "b.zip")),
        ExitCode.TRANSFER_FAILED,
        "more than was asked for",
    )
    assert list(tmp_path.iterdir()) == []
    assert not removed(host)


@pytest.mark.slow
def test_max_bundle_mib_stops_the_copy(host: FakeWinRMHost, tmp_path: Path) -> None:
    blob = os.urandom(3 << 20)
    offsets = serve(host, blob)
    offer(host, "collect-logs", sha256=digest(blob))  # no size announced: the limit still holds
    one_line_error(
        cli("collect-logs", host, "--dest", str(tmp_path / "b.zip"), "--max-bundle-mib", "2"),
        ExitCode.TRANSFER_FAILED,
        "more than --max-bundle-mib 2 allows",
    )
    assert offsets == [0]  # the PC's reported length was enough to stop
    assert list(tmp_path.iterdir()) == []
    assert not removed(host)


def test_an_announced_size_past_the_limit_copies_nothing(
    host: FakeWinRMHost, tmp_path: Path
) -> None:
    blob = os.urandom(1000)
    offsets = serve(host, blob)
    offer(host, "collect-logs", sha256=digest(blob), size=5 << 20)
    one_line_error(
        cli("collect-logs", host, "--dest", str(tmp_path / "b.zip"), "--max-bundle-mib", "1"),
        ExitCode.TRANSFER_FAILED,
        "the result announces a log bundle of 5242880 bytes",
    )
    assert offsets == []


@pytest.mark.parametrize("value", ["0", "-5", "99999999", "lots"])
def test_max_bundle_mib_is_validated(host: FakeWinRMHost, value: str) -> None:
    ran = cli("collect-logs", host, "--max-bundle-mib", value)
    assert ran.exit_code == ExitCode.USAGE
    assert "--max-bundle-mib" in ran.stderr and "Traceback" not in ran.stderr
    assert host.requests == 0


@pytest.mark.parametrize(
    "sha256",
    [None, "", "abc", "g" * 64, ["0" * 64], 12345, {"value": "0" * 64}],
    ids=["absent", "empty", "short", "not-hex", "list", "number", "object"],
)
def test_an_absent_or_malformed_digest_is_a_failed_transfer(
    host: FakeWinRMHost, tmp_path: Path, sha256: object
) -> None:
    blob = os.urandom(500)
    offsets = serve(host, blob)
    bundle: dict[str, Any] = {"size": len(blob)}
    if sha256 is not None:
        bundle["sha256"] = sha256
    offer(host, "collect-logs", **bundle)
    one_line_error(
        cli("collect-logs", host, "--dest", str(tmp_path / "b.zip")),
        ExitCode.TRANSFER_FAILED,
        "SHA-256",
    )
    assert offsets == [] and list(tmp_path.iterdir()) == []
    assert not removed(host)


@pytest.mark.parametrize("size", ["500", -1, True, 1.5, [500]])
def test_a_malformed_size_is_a_failed_transfer(
    host: FakeWinRMHost, tmp_path: Path, size: object
) -> None:
    blob = os.urandom(500)
    serve(host, blob)
    offer(host, "collect-logs", sha256=digest(blob), size=size)
    one_line_error(
        cli("collect-logs", host, "--dest", str(tmp_path / "b.zip")),
        ExitCode.TRANSFER_FAILED,
        "malformed size",
    )
    assert not removed(host)


# -- only collect-logs brings files home ---------------------------------------------------------


@pytest.mark.parametrize("remediation", ["restart-tasks", "webroot-whitelist"])
def test_a_bundle_in_another_result_is_ignored_and_noted(
    host: FakeWinRMHost, tmp_path: Path, remediation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    blob = os.urandom(500)
    serve(host, blob)
    offer(host, remediation, sha256=digest(blob), size=len(blob))
    ran = cli(remediation, host, "--json")
    assert ran.exit_code == 0, ran.stderr
    document = json.loads(ran.stdout)
    assert "bundle" not in document["data"]
    assert any("ignored data.bundle" in note for note in document["notes"])
    assert all(i.script != transfer.READ_CHUNK_SCRIPT for i in host.invocations)
    assert not removed(host)
    assert list(tmp_path.iterdir()) == []
    shown = cli(remediation, host)
    assert shown.exit_code == 0 and "note: ignored data.bundle" in shown.stdout


# -- output the PC cannot make us keep -------------------------------------------------------------


def test_a_flood_of_output_is_kept_bounded_and_marked(host: FakeWinRMHost) -> None:
    noise = [f"line {i} " + "x" * 900 for i in range(1500)]
    host.default_answer = Answer(
        output=[*noise, json.dumps(doc())],
        errors=[f"error {i}" for i in range(limits.MAX_STREAM_ITEMS + 100)],
        verbose=["v" * 1000] * 400,
    )
    ran = cli("restart-tasks", host, "--json", "--debug", wait=30)
    assert ran.exit_code == 0, ran.stderr
    document = json.loads(ran.stdout)
    assert document["status"] == "ok" and document["truncated"] is True
    notes = " ".join(document["notes"])
    assert "truncated output: kept" in notes and "of 1501 items" in notes
    assert "truncated errors: kept 500 of 600" in notes
    assert "truncated verbose" in notes
    streams = document["streams"]
    assert sum(len(x) for x in streams["output"]) <= limits.MAX_OUTPUT_CHARS + 400
    assert len(streams["errors"]) <= limits.MAX_STREAM_ITEMS + 1
    assert streams["errors"][-1].startswith("error 599")  # the last one is always kept
    assert sum(len(x) for x in streams["verbose"]) <= limits.MAX_STREAM_CHARS + 1000


@pytest.mark.slow
def test_one_enormous_object_is_dropped_unread(host: FakeWinRMHost) -> None:
    host.default_answer = Answer(
        output=["x" * (limits.MAX_MESSAGE_BYTES + (1 << 20)), json.dumps(doc())]
    )
    ran = cli("restart-tasks", host, "--json", wait=30)
    assert ran.exit_code == 0, ran.stderr
    document = json.loads(ran.stdout)
    assert document["truncated"] is True
    assert any("larger than 8.0 MiB were dropped unread" in n for n in document["notes"])


def test_an_oversized_result_document_is_unreadable(host: FakeWinRMHost) -> None:
    big = doc(blob="y" * (3 << 20))
    host.default_answer = Answer(output=[json.dumps(big)])
    one_line_error(
        cli("restart-tasks", host, wait=30),
        ExitCode.RESULT_UNREADABLE,
        "was not read as the result",
    )


# -- text and structure that cannot be read -------------------------------------------------------


@pytest.mark.parametrize(
    "output",
    [
        ["noise \ud800", json.dumps(doc())],
        [json.dumps(doc(), ensure_ascii=False).replace("Done.", "Done \udc00")],
    ],
    ids=["lone-surrogate-in-output", "lone-surrogate-in-the-result"],
)
def test_undecodable_text_is_an_unreadable_result(host: FakeWinRMHost, output: list[str]) -> None:
    host.default_answer = Answer(output=list(output))
    one_line_error(cli("restart-tasks", host), ExitCode.RESULT_UNREADABLE, "could not be read")


def test_an_escaped_lone_surrogate_is_an_unreadable_result(host: FakeWinRMHost) -> None:
    text = json.dumps(doc()).replace("Done.", "Done \\ud800")  # valid JSON, invalid Unicode
    host.default_answer = Answer(output=[text])
    one_line_error(cli("restart-tasks", host), ExitCode.RESULT_UNREADABLE, "not valid Unicode")


def _nested(depth: int) -> str:
    inner = "[" * depth + "]" * depth
    return '{"remediation": "restart-tasks", "status": "ok", "data": {"x": ' + inner + "}}"


MALFORMED: dict[str, tuple[Callable[[], list[str]], str]] = {
    "deeply nested": (lambda: [_nested(100_000)], "nested deeper than"),
    "moderately nested": (lambda: [_nested(100)], "nested deeper than"),
    "status not text": (lambda: [json.dumps({**doc(), "status": ["ok"]})], "'status'"),
    "data a list": (lambda: [json.dumps({**doc(), "data": [1, 2]})], "'data' is not an object"),
    "check a number": (lambda: [json.dumps({**doc(), "checks": [5]})], "a check is not"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_results_are_one_line(host: FakeWinRMHost, case: str) -> None:
    output, fragment = MALFORMED[case]
    host.default_answer = Answer(output=output())
    one_line_error(cli("restart-tasks", host), ExitCode.RESULT_UNREADABLE, fragment)


@pytest.mark.parametrize(
    "bundle",
    [[REMOTE_ZIP], "C:\\logs.zip", 5],
    ids=["list", "text", "number"],
)
def test_a_bundle_that_is_not_an_object_is_unreadable(
    host: FakeWinRMHost, tmp_path: Path, bundle: object
) -> None:
    host.default_answer = Answer(output=[json.dumps(doc("collect-logs", bundle=bundle))])
    one_line_error(
        cli("collect-logs", host, "--dest", str(tmp_path)),
        ExitCode.RESULT_UNREADABLE,
        "data.bundle is not an object",
    )


def test_a_bundle_path_that_is_not_text_is_unreadable(host: FakeWinRMHost, tmp_path: Path) -> None:
    host.default_answer = Answer(
        output=[json.dumps(doc("collect-logs", bundle={"path": ["C:\\x"], "sha256": "0" * 64}))]
    )
    one_line_error(
        cli("collect-logs", host, "--dest", str(tmp_path)),
        ExitCode.RESULT_UNREADABLE,
        "data.bundle.path",
    )


# -- clear text on an encrypted session -----------------------------------------------------------


@pytest.mark.parametrize("action", ["Command", "Receive"])
def test_a_clear_text_answer_on_an_encrypted_session_is_refused(
    host: FakeWinRMHost, action: str
) -> None:
    host.faults.add(Fault(action=action, kind="cleartext", skip=1 if action == "Receive" else 0))
    one_line_error(cli("restart-tasks", host), ExitCode.TLS_ERROR, "clear text")


def test_a_clear_text_error_page_is_still_an_http_error(host: FakeWinRMHost) -> None:
    host.faults.add(Fault(action="Command", status=503))
    one_line_error(cli("restart-tasks", host), ExitCode.WINRM_UNAVAILABLE, "HTTP 503")


def test_an_answer_larger_than_any_envelope_is_refused_unread() -> None:
    # Not the fixture's host: the client hangs up mid-answer, which that host counts as its
    # own error (a broken pipe); here that is the point.
    with FakeWinRMHost(username="u", password=PASSWORD) as host:
        host.default_answer = Answer(output=[json.dumps(doc())])
        body = "x" * (limits.MAX_RESPONSE_BYTES + 1)
        host.faults.add(Fault(action="Command", status=500, message=body))
        one_line_error(cli("restart-tasks", host), ExitCode.WINRM_UNAVAILABLE, "refused unread")
    assert all(isinstance(e, ConnectionError) for e in host.errors)


# -- nothing of a run stays behind, here or on the PC ----------------------------------------------


def test_every_pipeline_of_a_copy_is_closed_after_its_answer(
    host: FakeWinRMHost, tmp_path: Path
) -> None:
    from qbd_fix.runners.remote import RemoteConnection, RemoteRunner
    from qbd_fix.script.engine import Script

    blob = os.urandom(2500)
    serve(host, blob)
    conn = RemoteConnection(
        host="127.0.0.1", port=host.port, ssl=False, auth="ntlm", username="u", password=PASSWORD
    )
    with RemoteRunner(conn, chunk_size=1000) as runner:
        runner.run(Script("restart-tasks", "x", {}))
        placed = runner.fetch(REMOTE_ZIP, tmp_path / "b.zip", sha256=digest(blob), size=len(blob))
        assert runner._pool is not None and runner._pool.pipelines == {}
        shells = host.shells
    assert placed.read_bytes() == blob
    assert len(host.invocations) == 5  # the run, 3 chunks, the removal
    assert host.requests_by_action["Signal"] == 4  # the copy's; the run's ends with the shell
    assert len(shells) == 1


def test_a_folder_that_cannot_be_written_is_a_failed_transfer(
    host: FakeWinRMHost, tmp_path: Path
) -> None:
    from qbd_fix.errors import TransferError
    from qbd_fix.runners.remote import RemoteConnection, RemoteRunner

    blob = os.urandom(500)
    serve(host, blob)
    blocker = tmp_path / "not-a-folder"  # the command line refuses such a --dest up front
    blocker.write_bytes(b"")
    conn = RemoteConnection(
        host="127.0.0.1", port=host.port, ssl=False, auth="ntlm", username="u", password=PASSWORD
    )
    with RemoteRunner(conn) as runner, pytest.raises(TransferError, match="cannot write the log"):
        runner.fetch(REMOTE_ZIP, blocker / "logs" / "b.zip", sha256=digest(blob))
    assert not removed(host)


def test_json_printed_after_the_result_does_not_hide_it(host: FakeWinRMHost) -> None:
    host.default_answer = Answer(
        output=[json.dumps(doc()), *(json.dumps({"n": i}) for i in range(5))]
    )
    ran = cli("restart-tasks", host, "--json")
    assert ran.exit_code == 0, ran.stderr
    assert json.loads(ran.stdout)["status"] == "ok"
