"""Every remediation through the real command line, pypsrp and the loopback WinRM host.

What arrives on the "PC" must be exactly the script ``--dry-run`` prints, with
every value as a typed parameter, hostile text intact; and the result renders.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qbd_fix.cli.app import app
from qbd_fix.remediations import REMEDIATIONS
from qbd_fix.runners import transfer
from qbd_fix.script.params import BUDGET_PARAMETER, ScriptParameter
from tests.loopback import Answer, FakeWinRMHost
from tests.loopback import fixtures as loopback_fixtures

winrm_host = loopback_fixtures.winrm_host
fake_winrm_host = loopback_fixtures.fake_winrm_host

PASSWORD = "Hunter2-‘pw’-$(never)"
#: All five characters PowerShell reads as a single quote, a subexpression, backticks, non-ASCII.
HOSTILE = "O'Brien ‘Ltd’ ‚x‛ $(Remove-Item C:\\ -Recurse) `$env:PATH` naïve 日本 😀"
INSTALLER = "https://example.invalid/x.exe"

CASES: dict[str, list[str]] = {
    "restart-tasks": ["--client-name", HOSTILE, "--task-timeout", "45", "--restart-if-unhealthy"],
    "restart-web-connector": ["--force-close", "--start-timeout", "30"],
    "reset-certificate": ["--client-name", HOSTILE, "--notify-user"],
    "webroot-whitelist": ["--defender-exclusion"],
    "reinstall-connector": [
        "--installer",
        INSTALLER,
        "--client-name",
        HOSTILE,
        "--company-id",
        "8A210B68-6988-11ED-A1EB-0242AC120002",
        "--install-timeout",
        "300",
    ],
    "collect-logs": ["--max-file-mib", "5", "--event-days", "3", "--no-redact"],
}
EXPECTED: dict[str, dict[str, object]] = {
    "restart-tasks": {"ClientName": HOSTILE, "TaskTimeoutSeconds": 45, "RestartIfUnhealthy": True},
    "restart-web-connector": {"ForceClose": True, "StartTimeoutSeconds": 30},
    "reset-certificate": {"ClientName": HOSTILE, "LaunchInstaller": False, "NotifyUser": True},
    "webroot-whitelist": {"DefenderExclusion": True},
    "reinstall-connector": {
        "Installer": INSTALLER,
        "ClientName": HOSTILE,
        "CompanyId": "8a210b68-6988-11ed-a1eb-0242ac120002",
        "Force": False,
        "InstallTimeoutSeconds": 300,
    },
    "collect-logs": {"NoRedact": True, "MaxFileMiB": 5, "EventDays": 3},
}
_PY = {"string": str, "switch": bool, "int": int}


def cli(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, list(args), env={"QBD_FIX_PASSWORD": PASSWORD, **(env or {})})


def remote(host: FakeWinRMHost, auth: str = "ntlm") -> list[str]:
    return [
        "--host", "127.0.0.1", "--port", str(host.port), "--no-ssl", "--auth", auth,
        "--username", host.username, "--connect-timeout", "2", "--operation-timeout", "2",
    ]  # fmt: skip


def result_doc(name: str, **data: object) -> str:
    doc = {
        "remediation": name,
        "computer": "PC-Ω",
        "status": "changed",
        "checks": [{"name": "connector found", "passed": True, "evidence": f"for {HOSTILE}"}],
        "actions": [{"description": "started the tasks", "performed": True}],
        "messages": ["Done on the remote PC."],
        "data": data,
    }
    return json.dumps(doc, ensure_ascii=False)


def serve_file(host: FakeWinRMHost, blob: bytes) -> None:
    """Answer the chunk reader from *blob*, like the PC's file."""

    def chunk(inv: Any) -> Answer:
        offset, count = int(str(inv.parameters["Offset"])), int(str(inv.parameters["Count"]))
        data = base64.b64encode(blob[offset : offset + count]).decode()
        return Answer(output=[f"{len(blob)}:{data}"])

    host.answer(lambda script, params: script == transfer.READ_CHUNK_SCRIPT, chunk)


CONSTANT_SCRIPTS = (transfer.READ_CHUNK_SCRIPT, transfer.REMOVE_FILE_SCRIPT)
BUNDLE = "C:\\Windows\\Temp\\qbd-fix\\logs-’$(x).zip"


@pytest.fixture
def host(winrm_host: Any) -> FakeWinRMHost:
    made: FakeWinRMHost = winrm_host(username="u", password=PASSWORD)
    return made


@pytest.mark.parametrize("name", list(CASES))
def test_remote_run_gets_the_dry_run_script_and_typed_values(
    host: FakeWinRMHost, name: str, tmp_path: Path
) -> None:
    blob = os.urandom(3000)
    data: dict[str, object] = {}
    if name == "collect-logs":
        data = {"bundle": {"path": BUNDLE, "sha256": hashlib.sha256(blob).hexdigest()}}
        serve_file(host, blob)

    def main(script: str, params: dict[str, object]) -> bool:
        return script not in CONSTANT_SCRIPTS

    host.answer(
        main, Answer(output=["other output", result_doc(name, **data)], warnings=["careful"])
    )

    dry = cli(name, *CASES[name], "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    extra = ["--dest", str(tmp_path / "logs.zip")] if name == "collect-logs" else []
    ran = cli(name, *CASES[name], *remote(host), "--yes", *extra)
    assert ran.exit_code == 0, ran.stderr

    sent = [i for i in host.invocations if main(i.script, i.parameters)]
    assert len(sent) == 1
    assert sent[0].script == dry.stdout
    assert EXPECTED[name].items() <= sent[0].parameters.items()
    assert set(sent[0].parameters) == {p.name for p in REMEDIATIONS[name].parameters} | {
        BUDGET_PARAMETER
    }
    parameter: ScriptParameter
    for parameter in REMEDIATIONS[name].parameters:
        assert type(sent[0].parameters[parameter.name]) is _PY[parameter.kind], parameter.name
    assert "CHANGED" in ran.stdout
    assert "PC-Ω" in ran.stdout
    assert "Done on the remote PC." in ran.stdout
    assert PASSWORD not in ran.stdout + ran.stderr
    if name == "collect-logs":
        assert (tmp_path / "logs.zip").read_bytes() == blob
        assert host.invocations[-1].script == transfer.REMOVE_FILE_SCRIPT
        assert host.invocations[-1].parameters == {"Path": BUNDLE}
        assert "logs.zip" in ran.stdout


def test_what_if_goes_as_a_parameter_and_fetches_nothing(
    host: FakeWinRMHost, tmp_path: Path
) -> None:
    host.default_answer = Answer(
        output=[result_doc("collect-logs", what_if=True, bundle={"path": BUNDLE})]
    )
    ran = cli("collect-logs", *remote(host), "--what-if", "--dest", str(tmp_path / "l.zip"))
    assert ran.exit_code == 0, ran.stderr
    (inv,) = host.invocations
    assert inv.parameters["WhatIf"] is True
    assert "What-if run" in ran.stdout
    assert list(tmp_path.iterdir()) == []


def test_json_output_and_debug_streams(host: FakeWinRMHost) -> None:
    host.default_answer = Answer(
        output=[result_doc("webroot-whitelist")],
        verbose=["looked at WRSA.exe"],
        information=["fyi"],
    )
    ran = cli("webroot-whitelist", *remote(host, "negotiate"), "--yes", "--json", "--debug")
    assert ran.exit_code == 0, ran.stderr
    doc = json.loads(ran.stdout)
    assert doc["target"] == "127.0.0.1"
    assert doc["computer"] == "PC-Ω"
    assert doc["streams"]["verbose"] == ["looked at WRSA.exe"]
    assert doc["streams"]["information"] == ["fyi"]
    assert PASSWORD not in ran.stdout + ran.stderr


def test_status_exit_codes_carry_over(host: FakeWinRMHost) -> None:
    doc = json.loads(result_doc("restart-tasks"))
    doc["status"] = "needs_user_action"
    host.default_answer = Answer(output=[json.dumps(doc)])
    assert cli("restart-tasks", *remote(host), "--yes").exit_code == 3


def test_password_from_another_variable(host: FakeWinRMHost) -> None:
    host.default_answer = Answer(output=[result_doc("webroot-whitelist")])
    ran = cli(
        "webroot-whitelist", *remote(host), "--yes", "--password-env", "PC_PW",
        env={"QBD_FIX_PASSWORD": "", "PC_PW": PASSWORD},
    )  # fmt: skip
    assert ran.exit_code == 0, ran.stderr


def test_no_password_without_a_terminal_is_one_line(host: FakeWinRMHost) -> None:
    ran = cli("webroot-whitelist", *remote(host), "--yes", env={"QBD_FIX_PASSWORD": ""})
    assert ran.exit_code == 2
    assert "set the environment variable QBD_FIX_PASSWORD" in ran.stderr
    assert host.requests == 0


def test_basic_over_http_is_refused(host: FakeWinRMHost) -> None:
    ran = cli("restart-tasks", *remote(host, "basic"), "--yes")
    assert ran.exit_code == 2
    assert "clear text" in ran.stderr
    assert host.requests == 0


def test_remote_options_without_host_are_refused() -> None:
    ran = cli("webroot-whitelist", "--username", "u", "--yes")
    assert ran.exit_code == 2
    assert "--host" in ran.stderr


def test_dry_run_with_host_needs_no_password_or_connection() -> None:
    ran = cli("restart-tasks", "--host", "pc01", "--dry-run", env={"QBD_FIX_PASSWORD": ""})
    assert ran.exit_code == 0
    assert "[CmdletBinding(SupportsShouldProcess = $true)]" in ran.stdout


def test_confirmation_names_the_remote_pc(host: FakeWinRMHost) -> None:
    ran = cli("restart-tasks", *remote(host))
    assert ran.exit_code == 2
    assert "may change 127.0.0.1" in ran.stderr
    assert host.requests == 0


@pytest.mark.slow
def test_the_documented_command_in_a_terminal(host: FakeWinRMHost) -> None:
    """``qbd-fix restart-tasks --host 127.0.0.1 --port P --no-ssl --auth ntlm --username u``:
    the real program, on a terminal, asked to confirm; the password comes from the environment."""
    host.default_answer = Answer(output=[result_doc("restart-tasks")])
    exe = Path(sys.executable).with_name("qbd-fix")
    command = [str(exe), "restart-tasks", "--host", "127.0.0.1", "--port", str(host.port),
               "--no-ssl", "--auth", "ntlm", "--username", "u"]  # fmt: skip
    primary, secondary = pty.openpty()
    env = {**os.environ, "QBD_FIX_PASSWORD": PASSWORD, "NO_COLOR": "1", "TERM": "dumb"}
    proc = subprocess.Popen(
        command, stdin=secondary, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    os.close(secondary)
    time.sleep(0.2)
    os.write(primary, b"y\n")
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        os.close(primary)
    text = out.decode() + err.decode()
    assert proc.returncode == 0, text
    assert "Continue?" in text
    assert "CHANGED" in text
    assert PASSWORD not in text
    assert host.invocations[0].parameters["ClientName"] == ""


def test_help_does_not_import_pypsrp() -> None:
    code = "import sys; from qbd_fix.cli.app import app; sys.exit('pypsrp' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
