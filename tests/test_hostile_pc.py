"""A hostile PC answers over WinRM with terminal escapes, bidi tricks, Rich markup and forged
lines: through the real command line and the loopback host, none of it reaches the admin's
terminal, a piped log, ``--json``, the fleet report or a doctor fix line raw."""

from __future__ import annotations

import csv
import json
import re
import signal
import socket
import threading
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qbd_fix.cli.app import app
from tests.loopback import Answer, FakeWinRMHost
from tests.loopback import fixtures as loopback_fixtures

winrm_host = loopback_fixtures.winrm_host

PASSWORD = "Hostile-test-pw-7"
FIXTURES = Path(__file__).parent / "doctor" / "fixtures"

#: Each trick a PC might try, by name.
TRICKS = {
    "osc52": "\x1b]52;c;cm0gLXJmIH4K\x07",
    "osc8": "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\",
    "clear": "\x1b[2J\x1b[H",
    "cursor": "\x1b[5A",
    "c1_csi": "\x9b2J",
    "c1_osc": "\x9d0;title\x9c",
    "rlo": "\u202egpj.exe",
    "zero_width": "a\u200bb\u200cc\u200dd\u200ee\u200ff\ufeffg",
    "separators": "x\u2028y\u2029z",
    "isolates": "\u2066p\u2067q\u2068r\u2069",
    "forged_line": "fine\r\nerror: forged by the PC",
    "bell_del_nul": "b\x07d\x7fn\x00",
    "tab": "a\tb",
}
MARKUP = "[bold]BOLD[/bold] [link=https://evil.example]LINK[/link] [red]RED"
EVIL = "".join(TRICKS.values()) + " " + MARKUP
#: Fleet rows and streams keep a PC's text up to its first line break or tab; JSON round-trips it.
PREFIX = "".join(TRICKS[k] for k in ("osc52", "osc8", "clear", "cursor", "c1_csi", "c1_osc", "rlo"))
#: Rich's own colours on a terminal (the tests inject no SGR sequence of their own).
SGR = re.compile(r"\x1b\[[0-9;]*m")


def unsafe(char: str) -> bool:
    """Written apart from the code under test: controls, format, surrogates, separators."""
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp")


def assert_safe(text: str, *, terminal: bool = False) -> None:
    if terminal:
        text = SGR.sub("", text)
    bad = sorted({f"U+{ord(c):04X}" for c in text if c != "\n" and unsafe(c)})
    assert bad == [], f"raw characters reached the output: {bad}\n{text!r}"
    assert "\nerror: forged" not in text


def result_doc(remediation: str = "restart-tasks", computer: str = "127.0.0.1") -> str:
    return json.dumps(
        {
            "remediation": remediation,
            "computer": computer,
            "status": "needs_user_action",
            "checks": [{"name": "check " + EVIL, "passed": False, "evidence": EVIL}],
            "actions": [{"description": "action " + EVIL, "performed": False}],
            "messages": [EVIL, "second " + EVIL],
            "data": {"what_if": False},
        }
    )


@pytest.fixture
def host(winrm_host: Any) -> FakeWinRMHost:
    made: FakeWinRMHost = winrm_host(username="u", password=PASSWORD, auth=("ntlm",))
    made.default_answer = Answer(output=[result_doc()])
    return made


def connect(port: int) -> list[str]:
    return ["--host", "127.0.0.1", "--port", str(port), "--no-ssl", "--auth", "ntlm",
            "--username", "u", "--connect-timeout", "2", "--operation-timeout", "2"]  # fmt: skip


def invoke(args: list[str], *, terminal: bool = False, columns: int = 400) -> Any:
    env = {"QBD_FIX_PASSWORD": PASSWORD, "COLUMNS": str(columns)}
    if terminal:
        env["FORCE_COLOR"] = "1"
    return CliRunner().invoke(app, args, env=env)


@pytest.mark.parametrize("terminal", [False, True], ids=["piped", "terminal"])
def test_one_pc_result_is_shown_escaped(host: FakeWinRMHost, terminal: bool) -> None:
    ran = invoke(["restart-tasks", *connect(host.port), "--yes"], terminal=terminal)
    assert ran.exit_code == 3, ran.output
    assert_safe(ran.stdout, terminal=terminal)
    assert_safe(ran.stderr, terminal=terminal)
    out = SGR.sub("", ran.stdout)
    # Shown, escaped: the admin still sees what the PC sent.
    assert "\\x1b]52;c;cm0gLXJmIH4K\\x07" in out
    assert "\\u009b2J" in out and "\\u202egpj.exe" in out
    assert "fine\\x0d\\x0aerror: forged by the PC" in out
    # Rich markup from the PC is text, not markup.
    assert MARKUP in out
    assert "action " in out and "check " in out


@pytest.mark.parametrize("terminal", [False, True], ids=["piped", "terminal"])
def test_debug_streams_and_error_lines_are_escaped(host: FakeWinRMHost, terminal: bool) -> None:
    host.default_answer = Answer(
        output=[result_doc()], errors=[EVIL], warnings=[EVIL], verbose=["v " + EVIL]
    )
    ran = invoke(["restart-tasks", *connect(host.port), "--yes", "--debug"], terminal=terminal)
    assert_safe(ran.stdout, terminal=terminal)
    assert "v \\x1b]52;" in SGR.sub("", ran.stdout)

    host.default_answer = Answer(failed="failed " + EVIL)
    ran = invoke(["restart-tasks", *connect(host.port), "--yes"], terminal=terminal)
    assert ran.exit_code == 16
    assert_safe(ran.stderr, terminal=terminal)
    err = SGR.sub("", ran.stderr)
    assert err.startswith("error: ") and "failed \\x1b]52;" in err
    assert MARKUP in err


def test_json_output_is_ascii_safe_and_round_trips(host: FakeWinRMHost) -> None:
    host.default_answer = Answer(output=[result_doc()], errors=[EVIL])
    ran = invoke(["restart-tasks", *connect(host.port), "--yes", "--json", "--debug"])
    assert_safe(ran.stdout)
    doc = json.loads(ran.stdout)
    assert doc["messages"][0] == EVIL
    assert doc["streams"]["errors"][0].startswith(PREFIX)
    assert doc["checks"][0]["evidence"] == EVIL


def test_a_result_for_another_remediation_or_computer_is_flagged(
    host: FakeWinRMHost,
) -> None:
    host.default_answer = Answer(output=[result_doc("collect-logs", "OTHER-PC")])
    args = ["restart-tasks", "--host", "localhost", *connect(host.port)[2:], "--yes"]
    ran = invoke(args)
    lines = [line for line in ran.stdout.splitlines() if "warning:" in line]
    assert len(lines) == 1, ran.stdout
    assert "collect-logs" in lines[0] and "restart-tasks" in lines[0]
    assert "OTHER-PC" in lines[0] and "localhost" in lines[0]
    doc = json.loads(invoke([*args, "--json"]).stdout)
    assert doc["mismatch"] == {
        "remediation": "collect-logs",
        "computer": "OTHER-PC",
    }
    # The PC that answers for itself is not flagged.
    host.default_answer = Answer(output=[result_doc("restart-tasks", socket.gethostname().upper())])
    assert "warning:" not in invoke(args).stdout
    assert json.loads(invoke([*args, "--json"]).stdout)["mismatch"] is None


# -- fleets -----------------------------------------------------------------------------------


def inventory(folder: Path, hosts: list[FakeWinRMHost], client: str = "Acme") -> Path:
    path = folder / "pcs.csv"
    rows = [f"127.0.0.1,{h.port},{client}" for h in hosts]
    path.write_text("\n".join(["host,port,client_name", *rows]) + "\n", encoding="utf-8")
    return path


def fleet_args(folder: Path, hosts: list[FakeWinRMHost], *extra: str) -> list[str]:
    return ["restart-tasks", "--inventory", str(inventory(folder, hosts)), "--no-ssl",
            "--auth", "ntlm", "--username", "u", "--connect-timeout", "2",
            "--operation-timeout", "2", "--audit-log", str(folder / "audit.jsonl"),
            "--yes", *extra]  # fmt: skip


@pytest.mark.parametrize("terminal", [False, True], ids=["piped", "terminal"])
def test_fleet_table_progress_and_reports_are_escaped(
    winrm_host: Any, tmp_path: Path, terminal: bool
) -> None:
    hosts = []
    for _ in range(2):
        made = winrm_host(username="u", password=PASSWORD, auth=("ntlm",))
        made.default_answer = Answer(output=[result_doc()])
        hosts.append(made)
    csv_report, json_report = tmp_path / "run.csv", tmp_path / "run.json"
    ran = invoke(fleet_args(tmp_path, hosts, "--report", str(csv_report)), terminal=terminal)
    assert ran.exit_code == 3, ran.output
    assert_safe(ran.stdout, terminal=terminal)
    assert_safe(ran.stderr, terminal=terminal)
    if not terminal:  # piped: one progress line per PC on stderr
        assert ran.stderr.count("\\x1b]52;") == 2
    raw = csv_report.read_text(encoding="utf-8-sig")
    assert_safe(raw.replace("\r\n", "\n"))
    rows = list(csv.DictReader(raw.splitlines()))
    assert len(rows) == 2 and "\\x1b]52;" in rows[0]["summary"]
    assert json.loads(rows[0]["result_json"])["messages"][0].startswith(PREFIX)

    ran = invoke(fleet_args(tmp_path, hosts, "--report", str(json_report), "--json"))
    assert_safe(ran.stdout)
    assert json.loads(ran.stdout)["hosts"][0]["result"]["messages"][0].startswith(PREFIX)
    text = json_report.read_text(encoding="utf-8")
    assert_safe(text)
    assert json.loads(text)["hosts"][1]["summary"].startswith(PREFIX)


@pytest.mark.parametrize("columns", [80, 120])
def test_fleet_table_keeps_host_and_status_with_a_long_summary(
    winrm_host: Any, tmp_path: Path, columns: int
) -> None:
    made = winrm_host(username="u", password=PASSWORD, auth=("ntlm",))
    doc = json.loads(result_doc())
    doc["messages"] = ["The connector needs the user to re-grant the certificate " * 4]
    made.default_answer = Answer(output=[json.dumps(doc)])
    ran = invoke(fleet_args(tmp_path, [made]), columns=columns)
    assert ran.exit_code == 3, ran.output
    lines = ran.stdout.splitlines()
    assert all(len(line) <= columns for line in lines), lines
    header = next(line for line in lines if "host" in line and "status" in line)
    assert "time" in header
    row = next(line for line in lines if f"127.0.0.1:{made.port}" in line)
    assert "need action" in row and re.search(r"\d+\.\d s", row)


def test_fleet_flags_a_result_for_another_remediation(winrm_host: Any, tmp_path: Path) -> None:
    made = winrm_host(username="u", password=PASSWORD, auth=("ntlm",))
    made.default_answer = Answer(output=[result_doc("reinstall-connector")])
    report = tmp_path / "run.json"
    ran = invoke(fleet_args(tmp_path, [made], "--report", str(report)))
    assert "reinstall-connector" in ran.stdout and "restart-tasks" in ran.stdout
    row = json.loads(report.read_text(encoding="utf-8"))["hosts"][0]
    assert row["mismatch"] == {"remediation": "reinstall-connector", "computer": None}


# -- doctor fix lines -------------------------------------------------------------------------

HOSTILE_CLIENT = "Acme\r\nqbd-fix reinstall-connector --force & calc"


def hostile_facts(client: str) -> dict[str, Any]:
    facts: dict[str, Any] = json.loads((FIXTURES / "red_tray.json").read_text(encoding="utf-8"))
    text = json.dumps(facts).replace("Codat Engineering - Integration", "@@CLIENT@@")
    facts = json.loads(text)

    def swap(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        if isinstance(value, str):
            return value.replace("@@CLIENT@@", client)
        return value

    return swap(facts)  # type: ignore[no-any-return]


def doctor_answer(client: str, computer: str = "PC01") -> Answer:
    facts = hostile_facts(client)
    facts["computer"] = computer
    doc = {
        "remediation": "doctor",
        "computer": computer,
        "status": "ok",
        "messages": ["Facts gathered."],
        "data": {"facts": facts},
    }
    return Answer(output=[json.dumps(doc)])


@pytest.mark.parametrize("shell", ["posix", "powershell", "cmd"])
@pytest.mark.parametrize("terminal", [False, True], ids=["piped", "terminal"])
def test_doctor_refuses_a_client_name_with_a_line_break(
    host: FakeWinRMHost, shell: str, terminal: bool
) -> None:
    host.default_answer = doctor_answer(HOSTILE_CLIENT, computer="PC01" + TRICKS["osc52"])
    ran = invoke(["doctor", *connect(host.port), "--shell", shell], terminal=terminal)
    assert ran.exit_code == 1, ran.output
    out = SGR.sub("", ran.stdout)
    assert_safe(out)
    assert HOSTILE_CLIENT not in out
    for line in out.splitlines():
        assert not line.lstrip("│ ").startswith("qbd-fix reinstall-connector --force")
    fixes = out.split("To fix (copy a line as it is):", 1)[1].splitlines()
    restart = [line.strip() for line in fixes if "restart-tasks" in line]
    assert restart == ["qbd-fix restart-tasks --host 127.0.0.1 --client-name <CLIENT_NAME>"], fixes
    assert "The client name holds a line break, so it cannot be pasted safely" in out
    assert "it reads 'Acme\\x0d\\x0aqbd-fix reinstall-connector --force & calc'" in out

    doc = json.loads(invoke(["doctor", *connect(host.port), "--shell", shell, "--json"]).stdout)
    tray = next(f for f in doc["findings"] if f["id"] == "tray-icon")
    assert "\n" not in tray["fix"].replace("\nqbd-fix", "")
    assert any("line break" in note for note in tray["fix_notes"])


def test_doctor_shows_bidi_and_zero_width_client_names_escaped(host: FakeWinRMHost) -> None:
    client = "Acme\u202eskooB\u200b"
    host.default_answer = doctor_answer(client)
    ran = invoke(["doctor", *connect(host.port), "--shell", "posix"])
    assert_safe(ran.stdout)
    assert "Acme\\u202eskooB\\u200b" in ran.stdout
    assert "--client-name <CLIENT_NAME>" in ran.stdout


# -- secrets in the wrong place, bad output paths, Ctrl-C -------------------------------------

SECRET = "Hunter2Secret"


@pytest.mark.parametrize(
    "args",
    [
        ["--port", SECRET],
        ["--port", "99" + "9" * 6],
        ["--password-env", SECRET + "!x"],
        ["--password-env", SECRET],  # a valid name, but not in capitals: not echoed
    ],
    ids=["port-text", "port-number", "password-env-bad", "password-env-unset"],
)
def test_a_password_typed_into_an_option_is_not_echoed(args: list[str]) -> None:
    ran = CliRunner().invoke(
        app, ["restart-tasks", "--host", "pc01", "-u", "u", "--yes", *args], env={}
    )
    assert ran.exit_code == 2, ran.output
    assert SECRET not in ran.output and "999999" not in ran.output
    assert ran.stderr.startswith("error: ") and ran.stdout == ""


@pytest.mark.parametrize("column", ["port", "password_env"])
def test_a_password_typed_into_an_inventory_column_is_not_echoed(
    tmp_path: Path, column: str
) -> None:
    path = tmp_path / "pcs.csv"
    path.write_text(f"host,{column}\npc01,{SECRET} !x\n", encoding="utf-8")
    ran = CliRunner().invoke(
        app, ["restart-tasks", "--inventory", str(path), "-u", "u", "--yes"], env={}
    )
    assert ran.exit_code == 2, ran.output
    assert SECRET not in ran.output and "pcs.csv:2" in ran.stderr


@pytest.mark.parametrize(
    "output",
    ["", "/proc/1/no-such-folder/x.ps1", "/tmp/" + "n" * 300 + ".ps1", "/tmp/" + "d/" * 3000],
    ids=["empty", "unwritable", "long-name", "long-path"],
)
def test_an_output_path_that_cannot_be_written_is_a_usage_error(output: str) -> None:
    ran = CliRunner().invoke(app, ["restart-tasks", "--dry-run", "--output", output])
    assert ran.exit_code == 2, ran.output
    assert ran.stderr.startswith("error: --output") and ran.stderr.count("\n") <= 2
    assert "Traceback" not in ran.output and ran.stdout == ""


def test_ctrl_c_while_running_on_one_pc(host: FakeWinRMHost) -> None:
    host.default_answer = Answer(output=[result_doc()], delay=5)
    timer = threading.Timer(1.0, lambda: signal.raise_signal(signal.SIGINT))
    timer.start()
    try:
        ran = invoke(["restart-tasks", *connect(host.port), "--yes"])
    finally:
        timer.cancel()
    assert ran.exit_code == 130
    assert ran.stderr == "error: interrupted\n"
