"""Fleet runs through the command line, with fake remote runners (no network).

What is checked: which PCs a command reaches and with which settings (the
inventory row wins over the command line), passwords read once and never
shown, one confirmation, the table/JSON/report, exit codes, dry-run files,
Ctrl-C, and the audit log of every run.
"""

from __future__ import annotations

import csv
import io
import json
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from qbd_fix.cli import fleet as fleet_cli
from qbd_fix.cli import fleet_view
from qbd_fix.cli.app import app
from qbd_fix.errors import AuthenticationFailedError, WinRMUnavailableError
from qbd_fix.fleet import inventory
from qbd_fix.fleet.inventory import Target
from qbd_fix.fleet.scripts import script_file_names
from qbd_fix.pipeline import Plan
from qbd_fix.result import Result, Status
from qbd_fix.runners import remote
from qbd_fix.runners.base import OnStep, Runner, RunOutcome
from qbd_fix.runners.remote import RemoteConnection
from qbd_fix.script.engine import Script
from qbd_fix.script.quote import ps_literal

PASSWORD = "Fleet-Pw-‘q’-$(never)-Ω9"  # distinctive: must appear in no output, report or log
GROUP = typer.main.get_command(app)
COMMANDS = ["restart-tasks", "restart-web-connector", "reset-certificate", "webroot-whitelist",
            "reinstall-connector", "collect-logs", "doctor"]  # fmt: skip
REQUIRED = {"reinstall-connector": ["--installer", "https://example.invalid/x.exe"]}
DOCTOR_FIXTURES = Path(__file__).parent / "doctor" / "fixtures"


@dataclass
class Lab:
    """What fake remote runners saw, and how each PC answers (by host name)."""

    statuses: dict[str, Status | BaseException | Callable[[], object]] = field(default_factory=dict)
    connections: list[RemoteConnection] = field(default_factory=list)
    scripts: dict[str, Script] = field(default_factory=dict)
    what_if: dict[str, bool] = field(default_factory=dict)
    in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    facts: dict[str, Any] | None = None


class FakeRemote(Runner):
    lab: Lab

    def __init__(self, connection: RemoteConnection, **_: Any) -> None:
        self.connection = connection
        self.target = connection.host
        with self.lab.lock:
            self.lab.connections.append(connection)

    def run(
        self, script: Script, *, what_if: bool = False, on_step: OnStep | None = None
    ) -> RunOutcome:
        lab = self.lab
        with lab.lock:
            lab.scripts[self.target] = script
            lab.what_if[self.target] = what_if
            lab.in_flight += 1
        try:
            answer = lab.statuses.get(self.target, Status.OK)
            if callable(answer) and not isinstance(answer, BaseException | Status):
                answer = answer()  # type: ignore[assignment]
            if isinstance(answer, BaseException):
                raise answer
            assert isinstance(answer, Status)
            data: dict[str, Any] = {"facts": lab.facts} if lab.facts is not None else {}
            message = f"{answer.value} on {self.target} for {script.parameters.get('ClientName')}"
            result = Result(script.name, self.target.upper(), answer, messages=[message], data=data)
            return RunOutcome(target=self.target, result=result, duration=0.01)
        finally:
            with lab.lock:
                lab.in_flight -= 1

    def fetch(self, remote_path: str, local_path: Path, *, sha256: str | None = None) -> None:
        raise AssertionError("no files here")


@pytest.fixture
def lab(monkeypatch: pytest.MonkeyPatch) -> Lab:
    made = Lab()
    runner = type("BoundFakeRemote", (FakeRemote,), {"lab": made})
    monkeypatch.setattr(remote, "RemoteRunner", runner)
    return made


@pytest.fixture
def audit_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state" / "audit.jsonl"
    monkeypatch.setenv("QBD_FIX_AUDIT_LOG", str(path))
    return path


def cli(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Any:
    base = {"QBD_FIX_PASSWORD": PASSWORD, "COLUMNS": "160"}
    return CliRunner().invoke(app, list(args), env={**base, **(env or {})}, input=input)


REMOTE = ["--no-ssl", "--auth", "ntlm", "--username", "admin"]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def audit_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# -- options ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_takes_the_fleet_options(name: str) -> None:
    command = GROUP.commands[name]  # type: ignore[attr-defined]
    opts = {opt: param for param in command.params for opt in param.opts}
    for flag in ("--host", "--inventory", "--limit", "--concurrency", "-j", "--host-timeout",
                 "--retries", "--report", "--audit-log"):  # fmt: skip
        assert flag in opts, flag
    assert opts["--host"].multiple and opts["--limit"].multiple
    assert opts["--concurrency"].default == 16


def test_fleet_options_without_pcs_are_refused(lab: Lab) -> None:
    for extra in (["--report", "r.json"], ["--limit", "g"], ["--retries", "1"]):
        ran = cli("restart-tasks", *extra, "--yes")
        assert ran.exit_code == 2, ran.output
        assert "go(es) with --inventory or --host" in ran.stderr
    assert lab.connections == []


def test_inventory_and_host_together_are_refused(tmp_path: Path, lab: Lab) -> None:
    inv = write(tmp_path / "pcs.csv", "host\npc01\n")
    ran = cli("restart-tasks", "--inventory", str(inv), "--host", "pc02", *REMOTE, "--yes")
    assert ran.exit_code == 2 and "give one of them" in ran.stderr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["-j", "0"], "--concurrency must be between 1 and 512"),
        (["--host-timeout", "0"], "--host-timeout must be more than 0"),
        (["--retries", "11"], "--retries must be between 0 and 10"),
    ],
)
def test_bad_numbers(flags: list[str], message: str, lab: Lab) -> None:
    ran = cli("restart-tasks", "--host", "pc01,pc02", *REMOTE, "--yes", *flags)
    assert ran.exit_code == 2 and message in ran.stderr


# -- one PC stays one PC ------------------------------------------------------------------------


def test_one_host_keeps_the_one_pc_output(lab: Lab, audit_path: Path) -> None:
    ran = cli("restart-tasks", "--host", "pc01", *REMOTE, "--yes", "--client-name", "Acme")
    assert ran.exit_code == 0, ran.output
    assert "restart-tasks on PC01: OK" in ran.stdout
    assert "PCs:" not in ran.stdout  # no fleet table
    (line,) = audit_lines(audit_path)
    assert line["host"] == "pc01" and line["status"] == "ok" and line["client_name"] == "Acme"
    assert line["script_sha256"] == lab.scripts["pc01"].sha256
    assert PASSWORD not in audit_path.read_text(encoding="utf-8")


def test_one_host_failure_is_audited_too(lab: Lab, audit_path: Path) -> None:
    lab.statuses["pc01"] = AuthenticationFailedError("pc01 rejected the credentials")
    ran = cli("webroot-whitelist", "--host", "pc01", *REMOTE, "--yes")
    assert ran.exit_code == 12
    (line,) = audit_lines(audit_path)
    # one PC's audit line is worded as a fleet's
    assert (line["status"], line["error_kind"], line["exit_code"]) == (
        "auth_failed",
        "auth_failed",
        12,
    )


def test_local_runs_are_audited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lab: Lab) -> None:
    local = type("Local", (FakeRemote,), {"lab": lab})

    def make_runner(_plan: object, _target: object) -> Runner:
        return local(RemoteConnection(host="THIS-PC"))

    monkeypatch.setattr(Plan, "runner", make_runner)
    monkeypatch.setattr("qbd_fix.runners.local.local_supported", lambda: True)
    monkeypatch.setenv("COMPUTERNAME", "THIS-PC")
    log = tmp_path / "custom.jsonl"
    ran = cli("webroot-whitelist", "--yes", "--audit-log", str(log))
    assert ran.exit_code == 0, ran.output
    (line,) = audit_lines(log)
    assert line["host"] == "THIS-PC" and line["remediation"] == "webroot-whitelist"


def test_an_unwritable_audit_log_stops_before_anything_runs(tmp_path: Path, lab: Lab) -> None:
    blocker = write(tmp_path / "file", "")
    ran = cli("restart-tasks", "--host", "pc01,pc02", *REMOTE, "--yes",
              "--audit-log", str(blocker / "audit.jsonl"))  # fmt: skip
    assert ran.exit_code == 2 and "cannot write the audit log" in ran.stderr
    assert lab.scripts == {}


# -- targets and per-PC settings ----------------------------------------------------------------

TOML = """
[defaults]
username = "CORP\\\\fleet"
password_env = "FLEET_PW"
group = "east"

[[hosts]]
host = "pc01"
client_name = "O'Brien ‘Ltd’"
port = 15985
tags = ["vip"]

[[hosts]]
host = "pc02"
auth = "negotiate"
ssl = true
username = ".\\\\local"
password_env = "PC02_PW"

[[hosts]]
host = "pc03"
group = "west"
"""


def test_each_pc_gets_its_own_settings(tmp_path: Path, lab: Lab, audit_path: Path) -> None:
    inv = write(tmp_path / "fleet.toml", TOML)
    env = {"FLEET_PW": "fleet-secret-1", "PC02_PW": "pc02-secret-2"}
    ran = cli("restart-tasks", "--inventory", str(inv), *REMOTE, "--port", "5985",
              "--client-name", "Default Co", "--yes", env=env)  # fmt: skip
    assert ran.exit_code == 0, ran.output
    conns = {c.host: c for c in lab.connections}
    assert set(conns) == {"pc01", "pc02", "pc03"}
    pc01, pc02, pc03 = conns["pc01"], conns["pc02"], conns["pc03"]
    assert (pc01.port, pc01.ssl, pc01.auth, pc01.username) == (15985, False, "ntlm", "CORP\\fleet")
    assert (pc02.port, pc02.ssl, pc02.auth, pc02.username) == (5985, True, "negotiate", ".\\local")
    assert (pc03.port, pc03.username) == (5985, "CORP\\fleet")
    assert pc01.password == pc03.password == "fleet-secret-1"
    assert pc02.password == "pc02-secret-2"
    # the row's client name wins; rows without one take --client-name
    assert lab.scripts["pc01"].parameters["ClientName"] == "O'Brien ‘Ltd’"
    assert lab.scripts["pc02"].parameters["ClientName"] == "Default Co"
    assert ps_literal("O'Brien ‘Ltd’") in lab.scripts["pc01"].text
    for secret in ("fleet-secret-1", "pc02-secret-2", PASSWORD):
        assert secret not in ran.stdout + ran.stderr
        assert secret not in audit_path.read_text(encoding="utf-8")
    assert len(audit_lines(audit_path)) == 3
    assert "O'Brien ‘Ltd’" in ran.stdout and "Default Co" in ran.stdout


def test_limit_by_group_tag_and_glob(tmp_path: Path, lab: Lab) -> None:
    inv = write(tmp_path / "fleet.toml", TOML)
    env = {"FLEET_PW": "a", "PC02_PW": "b"}
    for pattern, expected in (("west", {"pc03"}), ("vip", {"pc01"}), ("PC0[12]", {"pc01", "pc02"})):
        lab.connections.clear()
        ran = cli("webroot-whitelist", "-i", str(inv), "-l", pattern, *REMOTE, "--yes", env=env)
        assert ran.exit_code == 0, ran.output
        assert {c.host for c in lab.connections} == expected
    ran = cli("webroot-whitelist", "-i", str(inv), "-l", "nowhere", *REMOTE, "--yes", env=env)
    assert ran.exit_code == 2 and "--limit 'nowhere' matches no host" in ran.stderr


def test_missing_passwords_are_one_error_before_anything_runs(tmp_path: Path, lab: Lab) -> None:
    inv = write(tmp_path / "fleet.toml", TOML)
    ran = cli("restart-tasks", "--inventory", str(inv), *REMOTE, "--yes",
              env={"FLEET_PW": "", "PC02_PW": ""})  # fmt: skip
    assert ran.exit_code == 2
    assert "FLEET_PW (2 PCs), PC02_PW (1 PC)" in ran.stderr
    assert lab.connections == []


def test_a_terminal_is_asked_once_per_variable(
    tmp_path: Path, lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    inv = write(tmp_path / "fleet.toml", TOML)
    asked: list[str] = []

    def getpass(prompt: str) -> str:
        asked.append(prompt)
        return "typed-" + prompt.split()[2]

    monkeypatch.setattr("getpass.getpass", getpass)
    monkeypatch.setattr(fleet_cli, "interactive", lambda: True)
    ran = cli("restart-tasks", "--inventory", str(inv), *REMOTE, "--yes",
              env={"FLEET_PW": "", "PC02_PW": ""})  # fmt: skip
    assert ran.exit_code == 0, ran.output
    assert asked == ["Password for FLEET_PW (2 PCs): ", "Password for PC02_PW (1 PC): "]
    conns = {c.host: c.password for c in lab.connections}
    assert conns == {"pc01": "typed-FLEET_PW", "pc02": "typed-PC02_PW", "pc03": "typed-FLEET_PW"}


def test_a_bad_row_names_its_line(tmp_path: Path, lab: Lab) -> None:
    inv = write(tmp_path / "pcs.csv", "host,auth,ssl\npc01,ntlm,false\npc02,basic,false\n")
    ran = cli("restart-tasks", "--inventory", str(inv), "-u", "admin", "--yes")
    assert ran.exit_code == 2
    assert "pcs.csv:3 (pc02): auth=basic over ssl=false is refused" in ran.stderr
    assert "--" not in ran.stderr.splitlines()[0], "a row's settings are named as columns"
    assert lab.connections == []


@pytest.mark.parametrize(
    ("rows", "flags", "message"),
    [
        ("host,auth\npc01,basic\n", ["--no-ssl"], "pcs.csv:2 (pc01): auth=basic over --no-ssl"),
        ("host,ssl\npc01,false\n", ["--auth", "basic"], "pcs.csv:2 (pc01): --auth basic over ssl=false"),
        ("host,auth\npc01,ntlm\n", [], "pcs.csv:2 (pc01): auth=ntlm needs a user name: a username column or --username"),
        ("host,auth\n10.0.0.1,kerberos\n", ["-u", "a"], "pcs.csv:2 (10.0.0.1): auth=kerberos needs the PC's name"),
        ("host,auth,ssl\npc01,certificate,false\n", [], "pcs.csv:2 (pc01): auth=certificate needs ssl=true"),
        # the command line alone keeps the flags' wording
        ("host\npc01\n", ["--no-ssl", "--auth", "basic", "-u", "a"], "pcs.csv:2 (pc01): --auth basic over --no-ssl"),
    ],
)  # fmt: skip
def test_row_errors_name_columns_and_flags_as_given(
    tmp_path: Path, lab: Lab, rows: str, flags: list[str], message: str
) -> None:
    inv = write(tmp_path / "pcs.csv", rows)
    ran = cli("restart-tasks", "--inventory", str(inv), "--yes", *flags)
    assert ran.exit_code == 2, ran.output
    assert message in ran.stderr
    assert len(ran.stderr.splitlines()) <= 2  # error and hint, no traceback
    assert lab.connections == []


def test_password_column_is_refused_with_file_and_line(tmp_path: Path, lab: Lab) -> None:
    inv = write(tmp_path / "pcs.csv", f"# PCs\nhost,password\npc01,{PASSWORD}\n")
    ran = cli("restart-tasks", "--inventory", str(inv), *REMOTE, "--yes")
    assert ran.exit_code == 2
    assert "pcs.csv:2: column or key 'password' refused" in ran.stderr
    assert PASSWORD not in ran.output


def test_duplicates_are_reported(tmp_path: Path, lab: Lab) -> None:
    inv = write(tmp_path / "pcs.csv", "host,client_name\npc01,A\npc02,B\nPC01,C\n")
    ran = cli("restart-tasks", "--inventory", str(inv), *REMOTE, "--yes")
    assert ran.exit_code == 2
    assert "pcs.csv:4: duplicate host 'PC01' (first at pcs.csv:2)" in ran.stderr
    ran = cli("restart-tasks", "--host", "pc01", "--host", "pc02,PC01", *REMOTE, "--yes")
    assert ran.exit_code == 2 and "given twice" in ran.stderr


@pytest.mark.parametrize(
    ("rows", "flags", "port"),
    [
        ("pc01,\npc02,\nPC01,5985\n", ["--no-ssl"], 5985),  # the HTTP default
        ("pc01,5986\npc02,\npc01,\n", [], 5986),  # the HTTPS default
        ("pc01,\npc01,6000\n", ["--port", "6000", "--no-ssl"], 6000),  # --port fills blanks
    ],
)
def test_a_blank_port_is_the_default_port(
    tmp_path: Path, lab: Lab, rows: str, flags: list[str], port: int
) -> None:
    inv = write(tmp_path / "pcs.csv", "host,port\n" + rows)
    ran = cli(
        "restart-tasks", "--inventory", str(inv), "--auth", "ntlm", "-u", "a", "--yes", *flags
    )
    assert ran.exit_code == 2, ran.output
    assert "duplicate host" in ran.stderr and f"a blank port means {port} here" in ran.stderr
    assert lab.connections == []


def test_a_blank_port_and_another_port_are_two_pcs(tmp_path: Path, lab: Lab) -> None:
    inv = write(tmp_path / "pcs.csv", "host,port\npc01,\npc01,5986\n")
    ran = cli("restart-tasks", "--inventory", str(inv), *REMOTE, "--yes")
    assert ran.exit_code == 0, ran.output
    assert sorted(c.effective_port for c in lab.connections) == [5985, 5986]


@pytest.mark.parametrize("host", ["pc\n01", "pc01\n.corp.example", "pc01\t", "pc01\x1b[2J"])
def test_a_host_with_a_control_character_is_refused(tmp_path: Path, lab: Lab, host: str) -> None:
    cell = '"' + host + '"'
    inv = write(tmp_path / "pcs.csv", f"host,client_name\npc00,A\n{cell},B\n")
    ran = cli("restart-tasks", "--inventory", str(inv), *REMOTE, "--yes")
    assert ran.exit_code == 2, ran.output
    (line,) = ran.stderr.splitlines()
    assert line.startswith("error: pcs.csv:3: host: ") and "control character" in line
    assert "\x1b" not in ran.stderr
    ran = cli("restart-tasks", "--host", f"pc00,{host}", *REMOTE, "--yes")
    assert ran.exit_code == 2, ran.output
    (line,) = ran.stderr.splitlines()
    assert line.startswith("error: --host: ") and "control character" in line
    assert lab.connections == []


# -- confirmation, what-if, output, exit codes ----------------------------------------------------


def test_one_confirmation_for_the_fleet(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    hosts = ",".join(f"pc{i:02d}" for i in range(8))
    ran = cli("restart-tasks", "--host", hosts, *REMOTE)
    assert ran.exit_code == 2 and "may change 8 PCs: pass --yes" in ran.stderr
    monkeypatch.setattr(fleet_cli, "interactive", lambda: True)
    ran = cli("restart-tasks", "--host", hosts, *REMOTE, "--restart-if-unhealthy", input="n\n")
    assert ran.exit_code == 1 and lab.scripts == {}
    assert "restart-tasks on 8 PCs (pc00, pc01, pc02, pc03, pc04 and 3 more) may:" in ran.stderr
    assert "restarts the PC" in ran.stderr
    assert ran.stderr.count("Continue on all 8 PCs?") == 1
    ran = cli("restart-tasks", "--host", hosts, *REMOTE, input="y\n")
    assert ran.exit_code == 0 and len(lab.scripts) == 8


def test_what_if_needs_no_confirmation(lab: Lab) -> None:
    ran = cli("restart-tasks", "--host", "pc01,pc02", *REMOTE, "--what-if")
    assert ran.exit_code == 0, ran.output
    assert lab.what_if == {"pc01": True, "pc02": True}


@pytest.mark.parametrize(
    ("statuses", "code"),
    [
        ({}, 0),
        ({"pc02": Status.CHANGED}, 0),
        ({"pc02": Status.NEEDS_USER_ACTION, "pc03": Status.CHANGED}, 3),
        ({"pc02": Status.NEEDS_USER_ACTION, "pc03": Status.FAILED}, 1),
        ({"pc03": WinRMUnavailableError("nothing listens", before_script=True)}, 1),
    ],
)
def test_exit_codes(lab: Lab, statuses: dict[str, Any], code: int) -> None:
    lab.statuses.update(statuses)
    ran = cli("webroot-whitelist", "--host", "pc01,pc02,pc03", *REMOTE, "--yes",
              "--retries", "0")  # fmt: skip
    assert ran.exit_code == code, ran.output


def test_table_and_counts(lab: Lab) -> None:
    lab.statuses.update({"pc02": Status.CHANGED, "pc03": Status.NEEDS_USER_ACTION})
    lab.statuses["pc04"] = AuthenticationFailedError("pc04 rejected the credentials")
    ran = cli("restart-tasks", "--host", "pc01,pc02,pc03,pc04", *REMOTE, "--yes", "-c", "Acme")
    assert ran.exit_code == 1
    lines = ran.stdout.splitlines()
    header = next(line for line in lines if "host" in line and "status" in line)
    assert header.split() == ["host", "client", "status", "summary", "time"]
    rows = [line.split() for line in lines if line.strip().startswith("pc0")]
    assert [r[0] for r in rows] == ["pc01", "pc02", "pc03", "pc04"]  # inventory order
    assert "need action" in ran.stdout and "auth failed" in ran.stdout
    assert lines[-1].startswith("4 PCs: 1 ok, 1 changed, 1 need action, 1 auth failed in ")
    # not a terminal: one plain line per finished PC on stderr
    finished = [line for line in ran.stderr.splitlines() if line.startswith("[")]
    assert len(finished) == 4 and finished[-1].startswith("[4/4] ")


def test_json_has_every_host_and_the_summary(lab: Lab) -> None:
    lab.statuses["pc02"] = Status.FAILED
    ran = cli("restart-tasks", "--host", "pc01,pc02", *REMOTE, "--yes", "--json")
    assert ran.exit_code == 1
    doc = json.loads(ran.stdout)
    assert [h["host"] for h in doc["hosts"]] == ["pc01", "pc02"]
    assert doc["hosts"][1]["result"]["status"] == "failed"
    assert doc["summary"]["counts"]["failed"] == 1 and doc["summary"]["exit_code"] == 1


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_report_files(tmp_path: Path, lab: Lab, suffix: str) -> None:
    lab.statuses["pc02"] = WinRMUnavailableError("nothing listens on pc02", before_script=True)
    path = tmp_path / f"out{suffix}"
    ran = cli("restart-tasks", "--host", "pc01,pc02", *REMOTE, "--yes", "--report", str(path),
              "--retries", "0")  # fmt: skip
    assert ran.exit_code == 1
    assert f"Report: {path}" in ran.stderr
    text = path.read_text(encoding="utf-8-sig")
    assert PASSWORD not in text
    if suffix == ".json":
        doc = json.loads(text)
        assert {h["host"]: h["status"] for h in doc["hosts"]} == {
            "pc01": "ok",
            "pc02": "unreachable",
        }
        assert doc["summary"]["exit_code"] == 1 and doc["run"]["remediation"] == "restart-tasks"
    else:
        rows = list(csv.DictReader(io.StringIO(text)))
        assert {r["host"]: r["status"] for r in rows} == {"pc01": "ok", "pc02": "unreachable"}


def test_report_needs_a_known_extension(lab: Lab) -> None:
    ran = cli("restart-tasks", "--host", "pc01,pc02", *REMOTE, "--yes", "--report", "r.txt")
    assert ran.exit_code == 2 and "use a .json or .csv file name" in ran.stderr


def test_a_zip_destination_is_refused_for_a_fleet(lab: Lab) -> None:
    ran = cli("collect-logs", "--host", "pc01,pc02", *REMOTE, "--yes", "--dest", "x.zip")
    assert ran.exit_code == 2 and "one zip per PC" in ran.stderr


# -- doctor -------------------------------------------------------------------------------------


def test_doctor_on_a_fleet(lab: Lab, tmp_path: Path) -> None:
    lab.facts = json.loads((DOCTOR_FIXTURES / "red_tray.json").read_text(encoding="utf-8"))
    report = tmp_path / "doctor.json"
    ran = cli("doctor", "--host", "pc01,pc02", *REMOTE, "--report", str(report))
    assert ran.exit_code == 1, ran.output
    doc = json.loads(report.read_text(encoding="utf-8"))
    first = next(h for h in doc["hosts"] if h["host"] == "pc01")  # rows come as PCs finish
    assert first["status"] == "failed" and "tray-icon" in first["summary"]
    findings = first["result"]["data"]["doctor"]["findings"]
    tray = next(f for f in findings if f["id"] == "tray-icon")
    assert tray["fix"].startswith("qbd-fix restart-tasks --host pc01 ")
    lab.facts = json.loads((DOCTOR_FIXTURES / "healthy.json").read_text(encoding="utf-8"))
    assert cli("doctor", "--host", "pc01,pc02", *REMOTE).exit_code == 0


# -- dry run ------------------------------------------------------------------------------------


def test_fleet_dry_run_needs_an_output_folder(tmp_path: Path) -> None:
    ran = cli("restart-tasks", "--host", "pc01,pc02", "--dry-run")
    assert ran.exit_code == 2 and "add --output DIR" in ran.stderr
    file = write(tmp_path / "x.ps1", "")
    ran = cli("restart-tasks", "--host", "pc01,pc02", "--dry-run", "--output", str(file))
    assert ran.exit_code == 2 and "needs a folder" in ran.stderr


def test_fleet_dry_run_writes_one_script_per_pc(tmp_path: Path) -> None:
    rows = ["host,port,client_name"]
    rows += [f"pc{i:03d},,Client {i} ‘Ltd’" for i in range(150)]
    rows += ["fe80::1,5985,IPv6 Co", "10.0.0.1,5985,", "10.0.0.1_5985,,Clash Co"]
    inv = write(tmp_path / "pcs.csv", "\n".join(rows) + "\n")
    out = tmp_path / "scripts"
    ran = cli("restart-tasks", "--inventory", str(inv), "--dry-run", "--output", str(out),
              "--client-name", "Fallback", env={"QBD_FIX_PASSWORD": ""})  # fmt: skip
    assert ran.exit_code == 0, ran.output
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 153
    assert "pc007-restart-tasks.ps1" in files
    assert "[fe80_1]_5985-restart-tasks.ps1" in files
    assert {"10.0.0.1_5985-restart-tasks.ps1", "10.0.0.1_5985-restart-tasks-2.ps1"} <= set(files)
    assert all(not set(name) & set('<>:"/\\|?*') for name in files)
    text = (out / "pc007-restart-tasks.ps1").read_bytes().decode("utf-8-sig")
    assert ps_literal("Client 7 ‘Ltd’") in text and "\r\n" in text
    fallback = (out / "10.0.0.1_5985-restart-tasks.ps1").read_bytes().decode("utf-8-sig")
    assert ps_literal("Fallback") in fallback
    assert ran.stderr.count("Wrote ") == 153
    assert "153 scripts in" in ran.stderr


def test_script_file_names_are_unique_ignoring_case() -> None:
    targets = [Target(host="a"), Target(host="A", port=1), Target(host="a_1")]
    assert script_file_names(targets, "x") == ["a-x.ps1", "A_1-x.ps1", "a_1-x-2.ps1"]


# -- progress rendering -------------------------------------------------------------------------


def test_live_progress_renders_on_a_terminal(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    from qbd_fix.cli import output

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120)
    monkeypatch.setattr(output, "stderr_console", lambda: console)
    monkeypatch.setattr(fleet_view.FleetProgress, "__init__", _live_init)
    lab.statuses.update({"pc02": Status.CHANGED, "pc03": Status.FAILED})
    ran = cli("restart-tasks", "--host", "pc01,pc02,pc03", *REMOTE, "--yes")
    assert ran.exit_code == 1
    text = buffer.getvalue()
    assert "3/3" in text and "1 ok" in text and "1 changed" in text and "1 failed" in text


_original_init = fleet_view.FleetProgress.__init__


def _live_init(self: fleet_view.FleetProgress, total: int, title: str, **_: Any) -> None:
    _original_init(self, total, title, live=True)


# -- Ctrl-C -------------------------------------------------------------------------------------


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


def _interrupt_when(condition: Callable[[], bool], times: int = 1) -> threading.Thread:
    def send() -> None:
        deadline = time.monotonic() + 10
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.01)
        for _ in range(times):
            # raised on this thread, the signal is seen by the main thread at its next poll
            # (at most 0.25 s): two signals sooner than that would count as one
            signal.raise_signal(signal.SIGINT)
            time.sleep(0.6)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def test_ctrl_c_finishes_running_pcs_and_marks_the_rest(
    lab: Lab, tmp_path: Path, gate: threading.Event, audit_path: Path
) -> None:
    def slow() -> Status:
        gate.wait(0.6)
        return Status.CHANGED

    hosts = [f"pc{i:02d}" for i in range(12)]
    for host in hosts:
        lab.statuses[host] = slow
    report = tmp_path / "r.json"
    previous = signal.getsignal(signal.SIGINT)
    thread = _interrupt_when(lambda: lab.in_flight == 3)
    ran = cli("restart-tasks", "--host", ",".join(hosts), *REMOTE, "--yes", "-j", "3",
              "--report", str(report))  # fmt: skip
    thread.join()
    assert signal.getsignal(signal.SIGINT) is previous, "the old handler is back"
    assert ran.exit_code == 130, ran.output
    assert "Stopping: no new PCs" in ran.stderr
    doc = json.loads(report.read_text(encoding="utf-8"))
    statuses = [h["status"] for h in doc["hosts"]]
    assert statuses.count("changed") == 3, "the running PCs finished"
    assert statuses.count("not_run") == 9
    assert doc["summary"]["interrupted"] is True
    assert len(audit_lines(audit_path)) == 3, "PCs never started are not audited"
    assert "(stopped)" in ran.stdout.splitlines()[-1]


def test_second_ctrl_c_cancels_running_pcs(lab: Lab, gate: threading.Event) -> None:
    hosts = [f"pc{i:02d}" for i in range(6)]
    for host in hosts:
        lab.statuses[host] = lambda: gate.wait(60) and Status.OK
    thread = _interrupt_when(lambda: lab.in_flight == 2, times=2)
    began = time.monotonic()
    ran = cli("restart-tasks", "--host", ",".join(hosts), *REMOTE, "--yes", "-j", "2", "--json")
    thread.join()
    assert time.monotonic() - began < 30, ran.output  # a hang guard: running PCs take 60 s
    assert ran.exit_code == 130
    doc = json.loads(ran.stdout)
    statuses = sorted(h["status"] for h in doc["hosts"])
    assert statuses == ["cancelled"] * 2 + ["not_run"] * 4
    assert doc["summary"]["cancelled"] is True


# -- the README's examples ----------------------------------------------------------------------


def test_the_readme_inventories_load(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Fleets\n", 1)[1].split("\n## ", 1)[0]
    csv_text = re.search(r"```text\n(.*?)```", section, re.DOTALL)
    toml_text = re.search(r"```toml\n(.*?)```", section, re.DOTALL)
    assert csv_text and toml_text
    from_csv = inventory.load(write(tmp_path / "clients.csv", csv_text.group(1)))
    from_toml = inventory.load(write(tmp_path / "clients.toml", toml_text.group(1)))
    for targets in (from_csv, from_toml):
        pc01, pc31 = targets
        assert (pc01.host, pc01.client_name, pc01.group) == (
            "PC01.corp.example",
            "Acme Bookkeeping",
            "east",
        )
        assert (pc31.port, pc31.ssl, pc31.auth, pc31.password_env) == (
            5985,
            False,
            "ntlm",
            "PW_OBRIEN",
        )
        assert pc31.username == ".\\support"
    assert from_csv[1].tags == ("workgroup", "lab") and from_csv[1].client_name == "O'Brien & Sons"
    assert from_toml[0].username == "CORP\\admin" and from_toml[0].tags == ("vip",)


# -- outputs never overwrite inputs ---------------------------------------------------------------


def _output_cases(tmp_path: Path) -> list[tuple[list[str], str]]:
    inv = tmp_path / "pcs.csv"
    link = tmp_path / "link.csv"
    link.symlink_to(inv)
    hard = tmp_path / "hard.json"
    hard.hardlink_to(inv)
    return [
        (["--report", str(inv)], "--report"),
        (["--report", str(link)], "--report"),  # a symlink to the inventory
        (["--report", str(hard)], "--report"),  # a hard link: the same inode
        (["--report", str(tmp_path / "sub" / ".." / "pcs.csv")], "--report"),
        (["--audit-log", str(inv)], "--audit-log"),
        (["--report", str(tmp_path / "r.json"), "--audit-log", str(tmp_path / "r.json")], ""),
    ]


@pytest.mark.parametrize("case", range(6))
def test_an_output_that_is_an_input_is_refused(tmp_path: Path, lab: Lab, case: int) -> None:
    inv = write(tmp_path / "pcs.csv", "host,client_name\npc01,A\npc02,B\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "r.json").write_text("{}", encoding="utf-8")
    flags, flag = _output_cases(tmp_path)[case]
    before = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    ran = cli("restart-tasks", "--inventory", str(inv), *REMOTE, "--yes", *flags)
    assert ran.exit_code == 2, ran.output
    error = ran.stderr.splitlines()[0]
    assert error.startswith(f"error: {flag}") and "is the same file as" in error
    assert lab.connections == [], "nothing ran"
    assert {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    assert not list(tmp_path.glob(".*.part"))


def test_a_ca_file_is_an_input_too(tmp_path: Path, lab: Lab) -> None:
    ca = write(tmp_path / "ca.pem", "-----BEGIN CERTIFICATE-----\n")
    ran = cli("restart-tasks", "--host", "pc01,pc02", "--auth", "ntlm", "-u", "a", "--yes",
              "--ca-file", str(ca), "--report", str(tmp_path / "ca.pem"))  # fmt: skip
    assert ran.exit_code == 2 and "--report" in ran.stderr and "--ca-file" in ran.stderr
    assert ca.read_text() == "-----BEGIN CERTIFICATE-----\n"


def test_a_dry_run_script_that_would_replace_an_input_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "scripts"
    out.mkdir()
    ca = write(out / "pc01-restart-tasks.ps1", "kept")
    ran = cli("restart-tasks", "--host", "pc01,pc02", "--ca-file", str(ca), "--dry-run",
              "--output", str(out))  # fmt: skip
    assert ran.exit_code == 2 and "--output" in ran.stderr, ran.output
    assert ca.read_text() == "kept"


# -- secrets in URLs, ports in the audit log, the report's exit code -----------------------------

SAS = "sv=2022-11-02&ss=b&sp=r&se=2030-01-01&sig=Zm9vYmFyLXNpZ25hdHVyZQ%3D%3D"
INSTALLER = f"https://deploy:S3cr3t-Pa55@files.example.com/connector.exe?{SAS}"


def test_installer_credentials_are_redacted(tmp_path: Path, lab: Lab, audit_path: Path) -> None:
    def echo() -> Status:
        return Status.FAILED

    lab.statuses["pc02"] = echo
    report = tmp_path / "run.json"
    csv_report = tmp_path / "run.csv"
    for path in (report, csv_report):
        ran = cli("reinstall-connector", "--host", "pc01,pc02", *REMOTE, "--yes",
                  "--installer", INSTALLER, "--report", str(path))  # fmt: skip
        assert ran.exit_code == 1, ran.output
    assert lab.scripts["pc01"].parameters["Installer"] == INSTALLER, "the PC gets the real URL"
    texts = [report.read_text(encoding="utf-8"), csv_report.read_text(encoding="utf-8-sig"),
             audit_path.read_text(encoding="utf-8")]  # fmt: skip
    for text in texts:
        for secret in ("S3cr3t-Pa55", "Zm9vYmFyLXNpZ25hdHVyZQ", "deploy:"):
            assert secret not in text
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert doc["run"]["parameters"]["Installer"] == (
        "https://***@files.example.com/connector.exe?sv=2022-11-02&ss=b&sp=r&se=2030-01-01&sig=***"
    )
    line = audit_lines(audit_path)[-1]
    assert line["parameters"]["Installer"] == doc["run"]["parameters"]["Installer"]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://files.example.com/c.exe", "https://files.example.com/c.exe"),
        ("https://u:p@h.example/c.exe", "https://***@h.example/c.exe"),
        ("https://h.example/c.exe?X-Amz-Signature=ab12&X-Amz-Credential=AKIA%2F1&v=2",
         "https://h.example/c.exe?X-Amz-Signature=***&X-Amz-Credential=***&v=2"),
        ("https://h.example/c.exe?access_token=eyJhbGciOi&x=1", "https://h.example/c.exe?access_token=***&x=1"),
        ("https://h.example/c.exe?0123456789abcdefghij", "https://h.example/c.exe?***"),
        ("C:\\Installers\\connector.exe", "C:\\Installers\\connector.exe"),
    ],
)  # fmt: skip
def test_redact_url(url: str, shown: str) -> None:
    from qbd_fix.fleet.audit import redact_url

    assert redact_url(url) == shown


def test_audit_lines_carry_the_port(tmp_path: Path, lab: Lab, audit_path: Path) -> None:
    inv = write(tmp_path / "pcs.csv", "host,port,ssl\npc01,,false\npc02,6001,false\npc03,,true\n")
    ran = cli("restart-tasks", "--inventory", str(inv), "--auth", "ntlm", "-u", "a", "--yes")
    assert ran.exit_code == 0, ran.output
    ports = {line["host"]: line["port"] for line in audit_lines(audit_path)}
    assert ports == {"pc01": 5985, "pc02": 6001, "pc03": 5986}
    ran = cli("restart-tasks", "--host", "pc04", "--port", "6002", *REMOTE, "--yes")
    assert ran.exit_code == 0, ran.output
    assert audit_lines(audit_path)[-1]["port"] == 6002


def test_the_report_exit_code_is_the_process_one_after_ctrl_c(
    lab: Lab, tmp_path: Path, gate: threading.Event
) -> None:
    def slow() -> Status:
        gate.wait(0.6)
        return Status.OK

    hosts = [f"pc{i:02d}" for i in range(6)]
    for host in hosts:
        lab.statuses[host] = slow
    report = tmp_path / "r.json"
    thread = _interrupt_when(lambda: lab.in_flight == 2)
    ran = cli("restart-tasks", "--host", ",".join(hosts), *REMOTE, "--yes", "-j", "2",
              "--report", str(report), "--json")  # fmt: skip
    thread.join()
    assert ran.exit_code == 130, ran.output
    assert json.loads(report.read_text(encoding="utf-8"))["summary"]["exit_code"] == 130
    assert json.loads(ran.stdout)["summary"]["exit_code"] == 130


def test_preflight_renders_nothing_and_scripts_stay_few(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qbd_fix import pipeline
    from qbd_fix.connection import ConnectionSettings
    from qbd_fix.remediations import get
    from qbd_fix.remediations.base import Remediation

    rows = "\n".join(f"pc{i:03d},Client {i}" for i in range(300))
    inv = write(tmp_path / "pcs.csv", f"host,client_name\n{rows}\n")
    renders: list[object] = []
    original = Remediation.render
    monkeypatch.setattr(
        Remediation, "render", lambda self, values=None: renders.append(1) or original(self, values)
    )
    monkeypatch.setenv("QBD_FIX_PASSWORD", PASSWORD)
    plan = pipeline.plan(
        pipeline.Job(get("restart-tasks"), {"ClientName": "Default"}),
        pipeline.resolve_targets((), str(inv)),
        ConnectionSettings(username="a", auth="ntlm", ssl=False),
    )
    assert len(plan.targets) == 300 and renders == [], "the pre-flight checks values only"
    scripts = [plan.book(t) for t in plan.targets]
    assert len({s.parameters["ClientName"] for s in scripts}) == 300
    assert len(plan.book._cache) <= plan.book.CACHE_SIZE, "a bounded cache, not one per PC"
    assert plan.connections is not None
    assert plan.connections(plan.targets[7]).host == "pc007"
    assert plan.port(plan.targets[7]) == 5985
