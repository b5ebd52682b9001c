"""Doctor rules over fact fixtures: golden findings and tables, one test per decision, quoting.

Goldens live in tests/doctor/golden; ``QBD_FIX_UPDATE_GOLDEN=1 pytest`` rewrites them.
"""

from __future__ import annotations

import copy
import io
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from qbd_fix.cli.doctor import render_report
from qbd_fix.doctor import DoctorReport, Facts, FindingStatus, report_from_facts
from qbd_fix.doctor.command import Placeholder, fix_command, quote_cmd, quote_powershell, unquotable
from qbd_fix.doctor.facts import as_list, validate
from tests.support.golden import assert_golden
from tests.support.pwsh import ps_single_quoted_literals

HERE = Path(__file__).parent / "doctor"
FIXTURES = sorted(p.stem for p in (HERE / "fixtures").glob("*.json"))
CLIENT = "Codat Engineering - Integration"
COMPANY = "8a210b68-6988-11ed-a1eb-0242ac120002"

#: What each fixture must show, whatever the wording: finding id -> status.
EXPECTED: dict[str, dict[str, str]] = {
    "healthy": {},
    "red_tray": {"tray-icon": "fail"},
    "certificate_missing": {"certificate": "fail", "queued-syncs": "warn"},
    "quickbooks_closed": {"queued-syncs": "warn"},
    "one_time_sync": {"one-time-sync": "fail", "tray-icon": "fail", "generation": "warn"},
    "webroot": {"webroot": "warn"},
    "defender_detection": {"antivirus-policy": "fail", "tray-icon": "fail"},
    "no_route": {"network": "fail"},
    "web_connector": {},
    "web_connector_closed": {"tray-icon": "fail", "queued-syncs": "fail"},
    "web_connector_no_startup": {"tray-icon": "warn"},
    "web_connector_elevation_mismatch": {"queued-syncs": "fail"},
    "web_connector_log_not_writable": {"logs": "fail"},
    "web_connector_qbwc1039": {"one-time-sync": "fail"},
    "web_connector_qbwc1048": {"network": "fail"},
    "web_connector_two_quickbooks": {"queued-syncs": "fail"},
    "web_connector_nobody_logged_on": {"tray-icon": "warn", "queued-syncs": "warn"},
    "nothing_installed": {"generation": "fail", "queued-syncs": "warn", "reboot-pending": "warn"},
}


def load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        (HERE / "fixtures" / f"{name}.json").read_text(encoding="utf-8")
    )
    return doc


def report(name: str | dict[str, Any], **kwargs: Any) -> DoctorReport:
    doc = load(name) if isinstance(name, str) else name
    kwargs.setdefault("shell", "posix")
    return report_from_facts(Facts.from_dict(doc), target="PC01", **kwargs)


def table_text(rep: DoctorReport) -> str:
    console = Console(file=io.StringIO(), width=120)
    render_report(rep, console)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(text, str)
    return text


def test_every_fixture_has_expectations() -> None:
    assert sorted(EXPECTED) == FIXTURES


# -- goldens -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURES)
def test_golden_findings(name: str) -> None:
    doc = report(name).to_dict()
    assert_golden(
        HERE / "golden" / f"{name}.json", json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    )


@pytest.mark.parametrize("name", FIXTURES)
def test_golden_table(name: str) -> None:
    assert_golden(HERE / "golden" / f"{name}.txt", table_text(report(name)))


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_statuses(name: str) -> None:
    rep = report(name)
    statuses = {f.id: f.status.value for f in rep.findings}
    expected = {fid: "ok" for fid in statuses} | EXPECTED[name]
    assert statuses == expected
    assert rep.exit_code == (1 if "fail" in expected.values() else 0)


def test_one_finding_per_topic_in_order() -> None:
    ids = [f.id for f in report("healthy").findings]
    assert ids == [
        "generation", "tray-icon", "certificate", "queued-syncs", "one-time-sync",
        "antivirus-policy", "webroot", "network", "reboot-pending", "logs",
    ]  # fmt: skip
    for finding in report("healthy").findings:
        assert finding.topic and finding.evidence
        assert finding.status in FindingStatus


# -- the fixes each topic names ------------------------------------------------------------------


def test_red_tray_fix_restarts_the_tasks() -> None:
    finding = report("red_tray").finding("tray-icon")
    assert finding.fix == f"qbd-fix restart-tasks --client-name '{CLIENT}'"
    assert any("QuickbooksDesktopUI.exe is not running" in e for e in finding.evidence)
    assert any("0x41306 (terminated by a user)" in e for e in finding.evidence)


def test_red_tray_with_nobody_logged_on_is_a_warning() -> None:
    doc = load("red_tray")
    doc["users"] = []
    doc["tasks"][0]["state"] = "Running"
    finding = report(doc).finding("tray-icon")
    assert finding.status is FindingStatus.WARN
    assert finding.fix is None


def test_disabled_task_names_no_restart() -> None:
    doc = load("red_tray")
    doc["tasks"][1]["state"] = "Disabled"
    finding = report(doc).finding("tray-icon")
    assert finding.status is FindingStatus.FAIL
    assert finding.fix is None
    assert any("disabled" in e for e in finding.evidence)


def test_tray_process_of_another_client_does_not_count() -> None:
    doc = load("healthy")
    doc["processes"][0]["path"] = (
        "C:\\Program Files (x86)\\Other\\QuickBooks-connector\\QuickbooksDesktopUI.exe"
    )
    assert report(doc).finding("tray-icon").status is FindingStatus.FAIL


def test_certificate_fail_names_reset_certificate() -> None:
    finding = report("certificate_missing").finding("certificate")
    assert finding.fix == f"qbd-fix reset-certificate --client-name '{CLIENT}' --notify-user"
    assert any(e.startswith("0x8004041D x4") for e in finding.evidence)
    assert any("Integrated Applications" in e for e in finding.evidence)


@pytest.mark.parametrize(
    ("code", "status"),
    [("0x8004041A", "fail"), ("0x80040420", "fail"), ("0x80040418", "warn"), ("0x80040408", "ok")],
)
def test_certificate_codes(code: str, status: str) -> None:
    doc = load("healthy")
    doc["logs"][0]["codes"] = [
        {"code": code.lower().removeprefix("0x"), "count": 1, "last_line": ""}
    ]
    assert report(doc).finding("certificate").status.value == status


def test_codes_in_the_connector_log_count_too() -> None:
    doc = load("healthy")
    doc["logs"][1]["codes"] = [{"code": "0x8004041D", "count": 2, "last_line": ""}]
    assert report(doc).finding("certificate").status is FindingStatus.FAIL


def test_queued_syncs_ok_when_quickbooks_closed_without_errors() -> None:
    doc = load("quickbooks_closed")
    doc["logs"][0]["codes"] = []
    finding = report(doc).finding("queued-syncs")
    assert finding.status is FindingStatus.OK
    assert any("unattended access looks granted" in e for e in finding.evidence)


def test_queued_syncs_warning_names_the_grant() -> None:
    finding = report("quickbooks_closed").finding("queued-syncs")
    assert finding.fix == f"qbd-fix reset-certificate --client-name '{CLIENT}' --notify-user"
    assert any("Yes, always" in e for e in finding.evidence)


def test_company_file_is_evidence_when_quickbooks_runs() -> None:
    evidence = report("healthy").finding("queued-syncs").evidence
    assert any("Acme Ltd.QBW" in e for e in evidence)


def test_one_time_sync_keeps_the_company_id() -> None:
    finding = report("one_time_sync").finding("one-time-sync")
    assert finding.fix == (
        f"qbd-fix reinstall-connector --installer <URL> --client-name '{CLIENT}' --company-id {COMPANY}"
    )
    assert any("same Company ID" in e for e in finding.evidence)


def test_link_json_without_company_id_is_a_warning() -> None:
    doc = load("one_time_sync")
    doc["generations"][0]["link_json"]["company_ids"] = []
    finding = report(doc).finding("one-time-sync")
    assert finding.status is FindingStatus.WARN
    assert finding.fix is None


def test_defender_detection_is_evidence() -> None:
    finding = report("defender_detection").finding("antivirus-policy")
    assert finding.fix == "qbd-fix collect-logs"
    assert any(
        "threat ID 2147735503" in e and "QuickbooksDesktop.exe" in e for e in finding.evidence
    )
    assert any("AppLocker event 8004 (blocked)" in e for e in finding.evidence)
    assert any("Codat support" in e for e in finding.evidence)


def test_audit_mode_applocker_event_is_a_warning() -> None:
    doc = load("defender_detection")
    doc["defender"]["detections"] = []
    doc["policy"][0]["id"] = 8003
    assert report(doc).finding("antivirus-policy").status is FindingStatus.WARN


def test_srp_event_blocks() -> None:
    doc = load("healthy")
    doc["policy"] = [
        {
            "log": "Application",
            "id": 865,
            "time": None,
            "message": "Access to QuickbooksDesktop.exe restricted",
        }
    ]
    finding = report(doc).finding("antivirus-policy")
    assert finding.status is FindingStatus.FAIL
    assert any("Software Restriction Policies event 865" in e for e in finding.evidence)


def test_webroot_names_the_whitelist_command_and_folders() -> None:
    finding = report("webroot").finding("webroot")
    assert finding.fix == "qbd-fix webroot-whitelist"
    assert any("9.0.35.12" in e for e in finding.evidence)
    assert any("QuickBooks-connector" in e for e in finding.evidence)


def test_network_behind_a_proxy_is_a_warning() -> None:
    doc = load("no_route")
    for item in doc["network"]:
        item["proxy"] = "http://proxy.example:8080/"
    assert report(doc).finding("network").status is FindingStatus.WARN


def test_network_not_checked_is_a_warning() -> None:
    doc = load("healthy")
    doc["network"] = []
    assert report(doc).finding("network").status is FindingStatus.WARN


def test_web_connector_generation_notes() -> None:
    rep = report("web_connector")
    evidence = " ".join(rep.finding("generation").evidence)
    assert "Intuit Web Connector" in evidence and "Auto-Run" in evidence
    assert "QBWebConnector.exe running: yes" in evidence
    assert rep.finding("tray-icon").status is FindingStatus.OK


def test_web_connector_not_running_is_judged_as_the_red_tray_icon() -> None:
    doc = load("web_connector")
    doc["processes"] = doc["processes"][1:2]
    rep = report(doc)
    assert "QBWebConnector.exe running: no" in rep.finding("generation").evidence
    assert rep.finding("generation").status is FindingStatus.OK
    assert rep.finding("tray-icon").status is FindingStatus.FAIL
    assert rep.finding("tray-icon").fix == "qbd-fix restart-web-connector"


def test_per_user_generation_is_described() -> None:
    doc = load("nothing_installed")
    doc["generations"] = [
        {
            "generation": "per-user",
            "path": "C:\\Users\\amy\\AppData\\Local\\Codat",
            "client_name": "",
            "user": "amy",
            "executable": "C:\\Users\\amy\\AppData\\Local\\Codat\\QuickBooksDesktop.exe",
            "version": None,
            "link_json": None,
            "log": "",
        }
    ]
    finding = report(doc).finding("generation")
    assert finding.status is FindingStatus.OK
    assert "per-user connector for user amy" in finding.evidence[0]


def test_nothing_installed_gives_guidance() -> None:
    finding = report("nothing_installed").finding("generation")
    assert finding.status is FindingStatus.FAIL
    assert any("Install the connector" in e for e in finding.evidence)


def test_logs_always_name_collect_logs() -> None:
    for name in FIXTURES:
        finding = report(name).finding("logs")
        assert (finding.fix or "").split("\n")[-1] == "qbd-fix collect-logs", name
        if finding.status is not FindingStatus.OK:
            assert finding.fix == "qbd-fix restart-web-connector --reset-log\nqbd-fix collect-logs"


# -- the Web Connector fixtures: the fix each names -----------------------------------------------


@pytest.mark.parametrize(
    ("name", "topic", "fix", "says"),
    [
        ("web_connector_closed", "tray-icon", "qbd-fix restart-web-connector", "is not running"),
        ("web_connector_no_startup", "tray-icon", None, "shell:startup"),
        ("web_connector_elevation_mismatch", "queued-syncs", "qbd-fix restart-web-connector --force-close", "second, hidden QuickBooks"),
        ("web_connector_log_not_writable", "logs", "qbd-fix restart-web-connector --reset-log\nqbd-fix collect-logs", "cannot write QWCLog.txt"),
        ("web_connector_qbwc1039", "one-time-sync", None, "CP3 tool"),
        ("web_connector_qbwc1048", "network", None, "HTTPS inspection"),
        ("web_connector_two_quickbooks", "queued-syncs", None, "2 QuickBooks instances run"),
        ("web_connector_nobody_logged_on", "tray-icon", None, "nobody is signed in"),
    ],
)  # fmt: skip
def test_web_connector_fixture_fix(name: str, topic: str, fix: str | None, says: str) -> None:
    finding = report(name).finding(topic)
    assert finding.fix == fix
    assert says in " ".join(finding.evidence)


def test_client_name_selects_one_connector() -> None:
    doc = load("red_tray")
    other = copy.deepcopy(doc["tasks"])
    for task in other:
        task["client"] = "Other Co"
        task["name"] = task["name"].replace(CLIENT, "Other Co")
        task["state"] = "Running"
    doc["tasks"] = doc["tasks"] + other
    both = report(doc).finding("tray-icon")
    assert both.status is FindingStatus.FAIL
    only_other = report(doc, client_name="other co").finding("tray-icon")
    assert only_other.status is FindingStatus.FAIL  # its tray process is not under its folder
    assert only_other.fix == "qbd-fix restart-tasks --client-name 'Other Co'"


def test_unknown_client_name_is_reported() -> None:
    rep = report("healthy", client_name="Nobody")
    assert rep.finding("generation").status is FindingStatus.WARN
    assert rep.finding("tray-icon").status is FindingStatus.WARN


def test_remote_host_goes_into_every_fix() -> None:
    rep = report("one_time_sync", host="PC01", shell="powershell")
    fixes = [f.fix for f in rep.findings if f.fix]
    assert fixes and all(
        fix.startswith("qbd-fix ") and " --host PC01 " in fix + " " for fix in fixes
    )
    assert rep.finding("tray-icon").fix == (
        f"qbd-fix reinstall-connector --host PC01 --installer <URL> --client-name '{CLIENT}' --company-id {COMPANY}"
    )


# -- the facts document has one shape: the script's, checked against its schema ------------


def test_every_fixture_matches_the_schema() -> None:
    for name in FIXTURES:
        validate(load(name))


def test_null_probes_and_empty_lists_parse() -> None:
    facts = Facts.from_dict(load("nothing_installed"))
    assert [u.account for u in facts.users] == ["PC02\\bob"]
    assert facts.users[0].sid.startswith("S-1-5-21-")
    assert facts.reboot_reasons == ["WindowsUpdate\\Auto Update\\RebootRequired"]
    assert facts.antivirus is None  # the probe failed: unknown, not "none registered"
    assert facts.defender is not None and facts.defender.detections == []
    detected = Facts.from_dict(load("defender_detection"))
    assert detected.defender is not None
    assert detected.defender.detections[0].resources[0].endswith("QuickbooksDesktop.exe")


def test_empty_antivirus_list_means_none_registered() -> None:
    doc = load("healthy")
    doc["antivirus"] = []
    assert Facts.from_dict(doc).antivirus == []


@pytest.mark.parametrize(
    ("change", "where"),
    [
        # What `return , @(...)` wrapped again in @() at the call site gives: a list in a list.
        (lambda d: d.update(tasks=[d["tasks"]]), "tasks/0"),
        (lambda d: d.update(users=[[u] for u in d["users"]]), "users/0"),
        # What an unrolled one-item list gives: the bare item.
        (lambda d: d.update(processes=d["processes"][0]), "processes"),
        (lambda d: d.update(policy=None), "policy"),
        (lambda d: d.update(users=["PC01\\amy"]), "users/0"),
        (lambda d: d["tasks"][0].pop("state"), "tasks/0"),
        (lambda d: d.update(extra=1), "(top)"),
    ],
)
def test_a_document_of_another_shape_is_refused_naming_where(change: Any, where: str) -> None:
    from qbd_fix.errors import ResultError

    doc = load("red_tray")
    change(doc)
    with pytest.raises(ResultError, match=f"schema at {re.escape(where)}:"):
        Facts.from_dict(doc)


def test_another_schema_version_is_refused() -> None:
    from qbd_fix.errors import ResultError

    doc = load("healthy")
    doc["schema"] = 1
    with pytest.raises(ResultError, match="version 1"):
        Facts.from_dict(doc)


def test_as_list() -> None:
    assert as_list(None) == [] and as_list({"a": 1}) == [{"a": 1}] and as_list([1]) == [1]


def test_non_mapping_facts_is_a_result_error() -> None:
    from qbd_fix.errors import ResultError

    with pytest.raises(ResultError):
        Facts.from_dict([])  # type: ignore[arg-type]


# -- quoting the fix for the user's shell ---------------------------------------------------------

HOSTILE = [
    "O'Brien & Sons",
    "a $(rm -rf ~) b",
    '`$(calc)` "quoted" ; echo pwned',
    "it’s ‘curly’ ‚low‛",
    "--yes",
    "100% %PATH% !x! ^caret | pipe > out < in",
    "trailing backslash \\",
    "tab\there",
    "Codat Engineering - Integration",
]


@pytest.mark.parametrize("name", [n for n in HOSTILE if unquotable(n, "posix") is None])
def test_posix_fix_round_trips(name: str) -> None:
    line = fix_command("restart-tasks", [("--client-name", name)], host="PC01", shell="posix")
    assert shlex.split(line) == [
        "qbd-fix",
        "restart-tasks",
        "--host",
        "PC01",
        "--client-name",
        name,
    ]


def _powershell_words(line: str) -> list[str]:
    """Split a line the way PowerShell's tokenizer reads bare words and verbatim strings."""
    literals = ps_single_quoted_literals(line)
    words: list[str] = []
    pos = 0
    for start, end, value in literals:
        words += line[pos:start].split()
        words.append(value)
        pos = end
    words += line[pos:].split()
    return words


@pytest.mark.parametrize("name", [n for n in HOSTILE if unquotable(n, "powershell") is None])
def test_powershell_fix_round_trips(name: str) -> None:
    line = fix_command("restart-tasks", [("--client-name", name)], host="PC01", shell="powershell")
    assert _powershell_words(line) == [
        "qbd-fix",
        "restart-tasks",
        "--host",
        "PC01",
        "--client-name",
        name,
    ]
    assert '"' not in line.replace(
        quote_powershell(name), ""
    )  # nothing expandable outside the literal


def test_powershell_control_characters_become_char_codes() -> None:
    assert quote_powershell("tab\there") == "('tab' + [char]9 + 'here')"


def test_powershell_bare_words_stay_bare() -> None:
    assert quote_powershell("PC01") == "PC01"
    assert quote_powershell("pc-01.corp.example") == "pc-01.corp.example"
    assert quote_powershell("-x") == "'-x'"
    assert quote_powershell("@splat") == "'@splat'"


def test_cmd_quoting() -> None:
    assert quote_cmd("PC01") == "PC01"
    assert quote_cmd("a b") == '^"a b^"'
    assert quote_cmd('say "hi" & exit') == '^"say \\^"hi\\^" ^& exit^"'
    assert quote_cmd("100%") == '^"100^%^"'
    assert quote_cmd("end\\") == "end\\"  # a bare trailing backslash is plain text
    assert quote_cmd("my dir\\") == '^"my dir\\\\^"'  # doubled before the closing quote


def test_placeholder_is_not_quoted() -> None:
    line = fix_command("reinstall-connector", [("--installer", Placeholder("URL"))], shell="posix")
    assert line == "qbd-fix reinstall-connector --installer <URL>"


def test_option_names_are_checked() -> None:
    with pytest.raises(ValueError, match="not an option"):
        fix_command("restart-tasks", [("; rm", None)])
    with pytest.raises(ValueError, match="unknown shell"):
        fix_command("restart-tasks", [("--client-name", "x")], shell="fish")  # type: ignore[arg-type]


@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        min_size=1,
        max_size=40,
    )
)
def test_posix_round_trip_any_text(name: str) -> None:
    notes: list[str] = []
    line = fix_command("reset-certificate", [("--client-name", name)], shell="posix", notes=notes)
    if unquotable(name, "posix") is None:
        assert shlex.split(line)[-1] == name and notes == []
    else:  # a control or invisible character: a placeholder, and why
        assert line.endswith("--client-name <CLIENT_NAME>") and len(notes) == 1


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40))
def test_powershell_round_trip_any_text(name: str) -> None:
    line = fix_command("reset-certificate", [("--client-name", name)], shell="powershell")
    words = _powershell_words(line)
    if unquotable(name, "powershell") is not None:
        assert words[-1] == "<CLIENT_NAME>"
    elif quote_powershell(name) != name:  # quoted: exactly one literal, holding the value
        assert words[-1] == name
