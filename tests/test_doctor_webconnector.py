"""The doctor on a Web Connector PC: one decision per test, each on the healthy Web Connector
fixture (tests/doctor/fixtures/web_connector.json) changed in one place."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from qbd_fix.doctor import DoctorReport, Facts, Finding, FindingStatus, report_from_facts
from qbd_fix.qbwc_codes import QBWC_CODES

FIXTURES = Path(__file__).parent / "doctor" / "fixtures"
AMY = "S-1-5-21-1000-2000-3000-1001"
BOB = "S-1-5-21-1000-2000-3000-1002"
OK, WARN, FAIL = FindingStatus.OK, FindingStatus.WARN, FindingStatus.FAIL
RESTART = "qbd-fix restart-web-connector"
FORCE = "qbd-fix restart-web-connector --force-close"
RESET_LOG = "qbd-fix restart-web-connector --reset-log"


def healthy() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((FIXTURES / "web_connector.json").read_text("utf-8"))
    return doc


def report(doc: dict[str, Any], **kwargs: Any) -> DoctorReport:
    kwargs.setdefault("shell", "posix")
    return report_from_facts(Facts.from_dict(doc), target="PC01", **kwargs)


def finding(doc: dict[str, Any], topic: str, **kwargs: Any) -> Finding:
    return report(doc, **kwargs).finding(topic)


def text(found: Finding) -> str:
    return "\n".join(found.evidence)


def processes(doc: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [p for p in doc["processes"] if p["name"] == name]


def web(doc: dict[str, Any]) -> dict[str, Any]:
    wc: dict[str, Any] = doc["web_connector"]
    return wc


def log_line(when: str, message: str, source: str = "QBWebConnector.SOAPWebService.do_x()") -> str:
    return f"{when} UTC\t: {source} : {message}"


def test_healthy_web_connector_pc_is_all_ok() -> None:
    rep = report(healthy())
    assert {f.id: f.status for f in rep.findings} == {f.id: OK for f in rep.findings}
    tray = rep.finding("tray-icon")
    assert tray.evidence[0] == (
        "QBWebConnector.exe pid 5120 in session 1 for PC01\\amy (not elevated)"
    )
    assert "Start-up entry for the Web Connector: Run value 'QuickBooks Web Connector'" in text(
        tray
    )
    assert "legacy" not in text(tray)  # the legacy tray app's evidence does not apply here
    queued = rep.finding("queued-syncs")
    assert '"Waiting for asynchronous response from third party" has five causes' in text(queued)
    assert "2) the Web Connector is closed: no: it runs (pid 5120)." in queued.evidence


def test_registered_apps_are_shown_with_secrets_redacted() -> None:
    doc = healthy()
    # A document from elsewhere that carries a secret-named value: it is never shown.
    web(doc)["apps"][0]["values"].append(
        {"name": "UserPwd", "kind": "String", "value": "hunter2", "redacted": None}
    )
    rep = report(doc)
    shown = json.dumps(rep.to_dict())
    assert "hunter2" not in shown
    line = next(e for e in rep.finding("generation").evidence if "'Codat Connector'" in e)
    assert "Password=***" in line and "UserPwd=***" in line
    assert "AppURL=https://quickbooksdesktop.codat.io/qbwc" in line


# -- is the Web Connector running (the red tray icon) ---------------------------------------------


def test_closed_web_connector_fails_with_restart() -> None:
    doc = healthy()
    doc["processes"] = processes(doc, "QBW32.exe")
    rep = report(doc)
    tray = rep.finding("tray-icon")
    assert tray.status is FAIL and tray.fix == RESTART
    assert "QBWebConnector.exe is not running (signed in: PC01\\amy)" in tray.evidence[0]
    queued = rep.finding("queued-syncs")
    assert queued.status is FAIL and queued.fix == RESTART
    assert (
        "2) the Web Connector is closed: YES: QBWebConnector.exe is not running." in queued.evidence
    )
    # which connector is installed is not judged on whether it runs
    assert rep.finding("generation").status is OK


def test_closed_with_nobody_signed_in_is_a_warning_without_a_fix() -> None:
    doc = healthy()
    doc["processes"], doc["users"] = [], []
    rep = report(doc)
    for topic in ("tray-icon", "queued-syncs"):
        assert rep.finding(topic).status is WARN and rep.finding(topic).fix is None, topic


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda p: p.append(dict(p[0], pid=6000)), "2 Web Connectors run in session 1"),
        (lambda p: p[0].update(session=0), "session 0, which has no desktop"),
        (lambda p: p[0].update(user="PC01\\bob", user_sid=BOB), "not signed in (PC01\\bob)"),
    ],
)
def test_a_stuck_web_connector_is_force_closed(change: Any, reason: str) -> None:
    doc = healthy()
    programs = processes(doc, "QBWebConnector.exe")
    change(programs)
    doc["processes"] = programs + processes(doc, "QBW32.exe")
    tray = finding(doc, "tray-icon")
    assert tray.status is FAIL and tray.fix == FORCE
    assert reason in text(tray)


def test_a_silent_log_while_it_runs_suggests_force_close() -> None:
    doc = healthy()
    doc["collected_at"] = "2024-05-16T09:00:05.0000000Z"  # newest log entry: 2024-05-14 09:00
    tray = finding(doc, "tray-icon")
    assert tray.status is WARN and tray.fix == FORCE
    assert "newest entry is 48 hours old" in text(tray) and "Auto-Run" in text(tray)
    doc["collected_at"] = "2024-05-15T08:00:00.0000000Z"
    assert finding(doc, "tray-icon").status is OK


def test_a_missing_program_means_reinstall() -> None:
    doc = healthy()
    web(doc)["executable"] = None
    doc["processes"] = processes(doc, "QBW32.exe")
    rep = report(doc)
    reinstall = "qbd-fix reinstall-connector --installer <URL>"
    assert rep.finding("tray-icon").status is FAIL and rep.finding("tray-icon").fix == reinstall
    deauthorised = rep.finding("one-time-sync")
    assert deauthorised.status is FAIL and deauthorised.fix == reinstall
    assert "same Company ID" in text(deauthorised)


def test_running_for_a_user_without_the_registration_is_a_warning() -> None:
    doc = healthy()
    web(doc)["apps"][0]["sid"] = BOB
    tray = finding(doc, "tray-icon")
    assert tray.status is WARN
    assert "runs for PC01\\amy but its applications are registered for " + BOB in text(tray)


# -- start-up entries -------------------------------------------------------------------------------


def test_no_start_up_entry_is_a_warning_with_steps() -> None:
    doc = healthy()
    web(doc)["startup"] = []
    tray = finding(doc, "tray-icon")
    assert tray.status is WARN and tray.fix is None
    assert "No start-up entry (Run key, Startup folder or scheduled task)" in text(tray)
    assert "shell:startup" in text(tray) and "QuickBooksDesktopConnector.exe again" in text(tray)


@pytest.mark.parametrize(
    "entry",
    [
        {"kind": "startup-folder", "scope": "user", "sid": AMY, "user": "", "name": "QuickBooks Web Connector.lnk",
         "location": "C:\\Users\\amy\\AppData\\Roaming\\Microsoft\\Windows\\Start Menu\\Programs\\Startup",
         "command": "", "state": None, "approved": None},
        {"kind": "task", "scope": "task", "sid": None, "user": AMY, "name": "Codat auto-run", "location": "\\Codat\\",
         "command": "C:\\Program Files (x86)\\Codat\\AutoRun.exe", "state": "Ready", "approved": None},
        {"kind": "run-key", "scope": "machine-32", "sid": None, "user": "", "name": "QBWC",
         "location": "HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Run",
         "command": "QBWebConnector.exe", "state": None, "approved": 6},
    ],
    ids=["startup-folder", "codat-task", "machine-run-key"],
)  # fmt: skip
def test_any_kind_of_start_up_entry_counts(entry: dict[str, Any]) -> None:
    doc = healthy()
    web(doc)["startup"] = [entry]
    tray = finding(doc, "tray-icon")
    assert tray.status is OK, tray.evidence
    assert any(e.startswith("Start-up entry for ") for e in tray.evidence)


@pytest.mark.parametrize(
    "change",
    [
        lambda e: e.update(approved=3),  # Task Manager's switch off
        lambda e: e.update(kind="task", scope="task", state="Disabled", location="\\"),
    ],
    ids=["switched-off", "task-disabled"],
)
def test_a_switched_off_entry_does_not_count(change: Any) -> None:
    doc = healthy()
    change(web(doc)["startup"][0])
    tray = finding(doc, "tray-icon")
    assert tray.status is WARN
    assert "switched off" in text(tray) and "Task Manager > Startup apps" in text(tray)


def test_an_entry_for_another_program_does_not_count() -> None:
    doc = healthy()
    entry = web(doc)["startup"][0]
    entry.update(name="QuickBooks Update Agent", command="C:\\Program Files\\Intuit\\QBUpdate.exe")
    assert finding(doc, "tray-icon").status is WARN


def test_start_up_entries_that_could_not_be_read_are_unknown() -> None:
    doc = healthy()
    web(doc)["startup"] = None
    doc["errors"] = ["web_connector.startup: Access is denied."]
    tray = finding(doc, "tray-icon")
    assert tray.status is WARN
    assert (
        "Start-up entries could not be read: web_connector.startup: Access is denied."
        in tray.evidence
    )


# -- elevation, several QuickBooks, another company file ------------------------------------------


@pytest.mark.parametrize(("program", "quickbooks"), [(True, False), (False, True)])
def test_elevation_mismatch_fails_with_steps(program: bool, quickbooks: bool) -> None:
    doc = healthy()
    processes(doc, "QBWebConnector.exe")[0]["elevated"] = program
    processes(doc, "QBW32.exe")[0]["elevated"] = quickbooks
    queued = finding(doc, "queued-syncs")
    assert queued.status is FAIL
    assert "Elevation differs" in text(queued) and "second, hidden QuickBooks" in text(queued)
    assert "To fix: Run both at the same level" in text(queued)


def test_unknown_elevation_is_said_not_guessed() -> None:
    doc = healthy()
    processes(doc, "QBWebConnector.exe")[0]["elevated"] = None
    processes(doc, "QBW32.exe")[0]["elevated"] = True
    queued = finding(doc, "queued-syncs")
    assert queued.status is OK
    assert "same elevation is unknown" in text(queued) and "SYSTEM" in text(queued)


def test_elevation_is_compared_within_a_session_only() -> None:
    doc = healthy()
    processes(doc, "QBWebConnector.exe")[0]["elevated"] = True
    processes(doc, "QBW32.exe")[0]["session"] = 2
    assert "Elevation differs" not in text(finding(doc, "queued-syncs"))


def test_several_quickbooks_and_different_company_files_fail() -> None:
    doc = healthy()
    second = dict(processes(doc, "QBW32.exe")[0], pid=9544, company_file="D:\\Other.QBW")
    doc["processes"].append(second)
    queued = finding(doc, "queued-syncs")
    assert queued.status is FAIL
    assert "2 QuickBooks instances run" in text(queued)
    assert "Different company files are open" in text(queued)
    assert "4) a different company file is open: YES (above)." in queued.evidence


def test_another_company_file_reported_by_quickbooks_fails() -> None:
    doc = healthy()
    doc["logs"][0]["codes"].append({"code": "0x8004040A", "count": 3, "last_line": "x"})
    queued = finding(doc, "queued-syncs")
    assert queued.status is FAIL
    assert "QuickBooks answered 0x8004040A (3x in qbsdklog.txt)" in text(queued)


# -- the registration (deauthorised company) ------------------------------------------------------


def test_no_registered_application_is_a_warning() -> None:
    doc = healthy()
    web(doc)["apps"] = []
    linked = finding(doc, "one-time-sync")
    assert linked.status is WARN
    assert "No application is registered with the Web Connector" in text(linked)
    assert "run the .qwc file from Codat's link page" in text(linked)


def test_registrations_cannot_be_read_while_nobody_is_signed_in() -> None:
    doc = healthy()
    doc["users"], doc["processes"] = [], []
    web(doc)["apps"] = []
    web(doc)["hives"] = ["S-1-5-18"]
    assert finding(doc, "one-time-sync").status is OK


# -- QWCLog.txt -------------------------------------------------------------------------------------


def deny_users(doc: dict[str, Any], item: str = "file_access") -> None:
    web(doc)["log"][item] = {"write_allowed": ["S-1-5-18", "S-1-5-32-544"], "write_denied": []}


def test_a_log_users_cannot_write_is_reset() -> None:
    doc = healthy()
    deny_users(doc)
    logs = finding(doc, "logs")
    assert logs.status is FAIL
    assert logs.fix == f"{RESET_LOG}\nqbd-fix collect-logs"
    assert "cannot write QWCLog.txt" in text(logs) and "a new log will be" in text(logs)


def test_a_deny_rule_wins_and_a_read_only_file_cannot_be_written() -> None:
    doc = healthy()
    web(doc)["log"]["file_access"]["write_denied"] = ["S-1-5-32-545"]
    assert finding(doc, "logs").status is FAIL
    doc = healthy()
    web(doc)["log"]["read_only"] = True
    assert "marked read-only" in text(finding(doc, "logs"))


def test_an_elevated_web_connector_writes_as_administrator() -> None:
    doc = healthy()
    deny_users(doc)
    processes(doc, "QBWebConnector.exe")[0]["elevated"] = True
    assert finding(doc, "logs").status is OK


def test_a_folder_nobody_may_write_needs_a_person() -> None:
    doc = healthy()
    deny_users(doc)
    deny_users(doc, "folder_access")
    logs = finding(doc, "logs")
    assert logs.status is FAIL
    assert "renaming the log would not help" in text(logs) and "icacls" in text(logs)


def test_a_missing_log_folder_fails() -> None:
    doc = healthy()
    log = web(doc)["log"]
    log.update(present=False, folder_present=False, file_access=None, folder_access=None, lines=[])
    logs = finding(doc, "logs")
    assert logs.status is FAIL and RESTART in (logs.fix or "")
    assert "QBWC1005 or QBWC1006" in text(logs)


def test_unreadable_access_rules_are_unknown() -> None:
    doc = healthy()
    web(doc)["log"]["file_access"] = None
    logs = finding(doc, "logs")
    assert logs.status is OK and "unknown" in text(logs)


def add_lines(doc: dict[str, Any], *lines: str) -> None:
    web(doc)["log"]["lines"] += list(lines)


@pytest.mark.parametrize("code", sorted(QBWC_CODES))
def test_each_known_code_lands_under_its_topic_with_its_fix(code: str) -> None:
    known = QBWC_CODES[code]
    doc = healthy()
    add_lines(doc, log_line("20240514.09:05:00", f"{code}: something went wrong"))
    found = finding(doc, known.topic)
    assert found.status.value == known.severity
    assert any(
        e.startswith(f"{code} x1 in QWCLog.txt (2024-05-14 09:05 UTC)") for e in found.evidence
    )
    if known.steps:
        assert f"To fix {code}: {known.steps}" in found.evidence
    if known.command:
        assert "qbd-fix " + " ".join(known.command) in (found.fix or "").split("\n")


def test_an_old_code_is_a_warning() -> None:
    doc = healthy()
    web(doc)["log"]["lines"] = [
        log_line("20240501.09:05:00", "QBWC1039: There was a problem adding the application."),
        *web(doc)["log"]["lines"],
    ]
    linked = finding(doc, "one-time-sync")
    assert linked.status is WARN
    assert "(not seen in the last 7 days of the log)" in text(linked)


def test_an_unknown_code_is_a_log_warning() -> None:
    doc = healthy()
    add_lines(doc, log_line("20240514.09:05:00", "QBWC9999: new"))
    logs = finding(doc, "logs")
    assert logs.status is WARN and "QBWC9999 x1" in text(logs)
    assert "not in Intuit's list" in text(logs)


def test_quickbooks_own_code_is_named_beside_the_web_connector_s() -> None:
    doc = healthy()
    add_lines(
        doc,
        log_line("20240514.09:05:00", "QBWC1013: Error connecting to QuickBooks."),
        "   at QBWebConnector.QBXMLRPHelper.BeginSession() HRESULT = 0x80040408",
    )
    queued = finding(doc, "queued-syncs")
    assert queued.status is FAIL
    assert "QuickBooks said 0x80040408: Could not start QuickBooks" in text(queued)


def test_the_log_summary_names_the_codes_and_the_time_span() -> None:
    doc = healthy()
    add_lines(doc, log_line("20240514.09:05:00", "QBWC1048: certificate"))
    logs = finding(doc, "logs")
    assert any(
        e.startswith(
            "QWCLog.txt's last 10 lines (10 entries, 2024-05-14 08:00 UTC to 2024-05-14 09:05 UTC"
        )
        and e.endswith("hold QBWC1048.")
        for e in logs.evidence
    )
    assert finding(doc, "network").status is FAIL


# -- both generations, --host, and no Web Connector ------------------------------------------------


def test_fixes_carry_the_host() -> None:
    doc = healthy()
    doc["processes"] = processes(doc, "QBW32.exe")
    deny_users(doc)
    rep = report(doc, host="PC01", shell="powershell")
    assert rep.finding("tray-icon").fix == "qbd-fix restart-web-connector --host PC01"
    assert rep.finding("logs").fix == (
        "qbd-fix restart-web-connector --host PC01 --reset-log\nqbd-fix collect-logs --host PC01"
    )


def test_with_a_legacy_connector_too_both_are_judged() -> None:
    legacy = json.loads((FIXTURES / "healthy.json").read_text("utf-8"))
    doc = healthy()
    doc["generations"] = legacy["generations"] + doc["generations"]
    doc["tasks"] = legacy["tasks"]
    doc["processes"] = legacy["processes"] + processes(doc, "QBWebConnector.exe")
    tray = finding(doc, "tray-icon")
    assert tray.status is OK
    assert any(e.startswith("task \\QuickbooksDesktop_") for e in tray.evidence)
    assert any(e.startswith("QBWebConnector.exe pid 5120") for e in tray.evidence)


def test_a_pc_without_the_web_connector_gets_none_of_this() -> None:
    legacy = json.loads((FIXTURES / "healthy.json").read_text("utf-8"))
    before = report(legacy).to_dict()
    changed = copy.deepcopy(legacy)
    web(changed)["log"]["lines"] = [log_line("20240514.09:05:00", "QBWC1039: leftover")]
    web(changed)["log"]["present"] = True
    assert report(changed).to_dict() == before


def test_webroot_names_the_web_connector_folder_too() -> None:
    doc = healthy()
    doc["webroot"] = {
        "present": True,
        "services": [{"name": "WRSVC", "status": "Running"}],
        "executable": "C:\\Program Files (x86)\\Webroot\\WRSA.exe",
        "version": "9.0.35.12",
        "registry": True,
    }
    found = finding(doc, "webroot")
    assert found.status is WARN and found.fix == "qbd-fix webroot-whitelist"
    assert "Common Files\\Intuit\\QuickBooks\\QBWebConnector" in text(found)
