"""Facts documents for the verdict's parity test (tests/test_verdict.py): every fixture, and
variants of the fixtures that take each branch of the PowerShell port, each with the client
names to judge it for and the remediations to ask about.

Variants that break the facts schema on purpose (a lone object where a list belongs, text
where a number belongs) stand for what a hand-made or older facts script might send: Python
reads them the loose way Facts.from_dict reads past the schema, PowerShell as they come.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from qbd_fix.doctor import qwclog, rules, webconnector
from qbd_fix.doctor.facts import SCHEMA_VERSION, Facts
from qbd_fix.doctor.verdict import PROBES, danger_switches, switch_names
from qbd_fix.remediations import REMEDIATIONS

FIXTURES = Path(__file__).parents[1] / "doctor" / "fixtures"
NAMES = tuple(REMEDIATIONS)
LEGACY = "Codat Engineering - Integration"
NO_SUCH_CLIENT = "No Such Client"
AMY = "S-1-5-21-1000-2000-3000-1001"
BOB = "S-1-5-21-1000-2000-3000-1002"
ADMINISTRATORS = "S-1-5-32-544"
USERS = "S-1-5-32-545"


@dataclass(frozen=True)
class Variant:
    """A facts document, the client names to judge it for, and the remediations to ask about
    (each with the switches of :func:`switch_sets`, and any *extra* (remediation, switches))."""

    name: str
    doc: Any
    clients: tuple[str | None, ...] = (None,)
    remediations: tuple[str, ...] = NAMES
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def asks(self) -> list[tuple[str, tuple[str, ...]]]:
        return [
            *((name, switches) for name in self.remediations for switches in switch_sets(name)),
            *self.extra,
        ]


def switch_sets(remediation: str) -> list[tuple[str, ...]]:
    """The exports a verdict is asked for: no switch, each danger switch alone, every danger
    switch at once (when there are several), and a switch that is no danger (advice)."""
    dangers = danger_switches(remediation)
    sets: list[tuple[str, ...]] = [(), *((d,) for d in dangers)]
    if len(dangers) > 1:
        sets.append(dangers)
    advice = [s for s in switch_names(remediation) if s not in dangers]
    if advice:
        sets.append((advice[0],))
    return sets


@cache
def _fixture_text(name: str) -> str:
    return (FIXTURES / f"{name}.json").read_text("utf-8")


def fixture(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(_fixture_text(name))
    return doc


def fixture_cases() -> list[Variant]:
    cases = []
    for path in sorted(FIXTURES.glob("*.json")):
        doc = fixture(path.stem)
        clients = Facts.from_dict(doc).legacy_clients()
        cases.append(Variant(path.stem, doc, (None, *clients, NO_SUCH_CLIENT)))
    return cases


def process(name: str, **fields: Any) -> dict[str, Any]:
    found = {
        "name": name,
        "pid": 4242,
        "path": f"C:\\Program Files (x86)\\Intuit\\QuickBooks 2024\\{name}",
        "user": "PC01\\amy",
        "user_sid": AMY,
        "session": 1,
        "elevated": False,
        "company_file": None,
    }
    found.update(fields)
    return found


def named(doc: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [p for p in doc["processes"] if p["name"] == name]


def without(doc: dict[str, Any], name: str) -> dict[str, Any]:
    doc["processes"] = [p for p in doc["processes"] if p["name"] != name]
    return doc


def task(doc: dict[str, Any], role: str) -> dict[str, Any]:
    found: dict[str, Any] = next(t for t in doc["tasks"] if t["role"] == role)
    return found


def legacy_client(doc: dict[str, Any], client: str, folder: str | None = None) -> dict[str, Any]:
    """Another legacy connector (folder and tasks, both running) for *client*."""
    healthy = fixture("healthy")
    base = f"C:\\Program Files (x86)\\{folder or client}\\QuickBooks-connector"
    install = healthy["generations"][0]
    install.update(client_name=client, path=base, executable=base + "\\QuickbooksDesktop.exe")
    install["link_json"] = None
    doc["generations"].append(install)
    for role, prefix in (("service", "QuickbooksDesktop_"), ("ui", "QuickbooksDesktopUi_")):
        entry = copy.deepcopy(task(healthy, role))
        entry.update(client=client, name=prefix + client, state="Running")
        doc["tasks"].append(entry)
    return doc


def qbsdk_codes(doc: dict[str, Any], *codes: str) -> dict[str, Any]:
    log = next(entry for entry in doc["logs"] if entry["kind"] == "qbsdklog")
    log["codes"] = [{"code": c, "count": 1, "last_line": f"error {c}"} for c in codes]
    return doc


def wc(doc: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = doc["web_connector"]
    return found


def wc_log(doc: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = doc["web_connector"]["log"]
    return found


def line(when: str, message: str) -> str:
    return f"{when} UTC\t: QBWebConnector.SOAPWebService.do_x() : {message}"


def with_lines(*lines: str, base: str = "web_connector") -> dict[str, Any]:
    doc = fixture(base)
    wc_log(doc)["lines"] = list(lines)
    return doc


def with_web_connector(doc: dict[str, Any]) -> dict[str, Any]:
    """*doc* (a legacy PC) with the Web Connector of web_connector.json installed and running."""
    current = fixture("web_connector")
    doc["generations"] += current["generations"]
    doc["web_connector"] = current["web_connector"]
    doc["processes"] += named(current, "QBWebConnector.exe")
    return doc


def edit(base: str, change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    """A copy of fixture *base*, changed in place by *change*."""
    doc = fixture(base)
    change(doc)
    return doc


NEW = "20240514.09:00:00"
OLD = "20240501.09:00:00"


def legacy_variants() -> Iterator[Variant]:
    both = (None, LEGACY, LEGACY.upper(), NO_SUCH_CLIENT)
    healthy = "healthy"
    yield Variant(
        "tray-service-task-missing",
        edit(healthy, lambda d: d.update(tasks=[task(d, "ui")])),
        both,
    )
    yield Variant(
        "tray-task-disabled", edit(healthy, lambda d: task(d, "ui").update(state="Disabled")), both
    )
    yield Variant(
        "tray-app-of-another-folder",
        edit(healthy, lambda d: named(d, rules.TRAY_PROCESS)[0].update(path="C:\\Other\\x.exe")),
        both,
    )
    yield Variant(
        "tray-app-path-unknown",
        edit(healthy, lambda d: named(d, rules.TRAY_PROCESS)[0].update(path="")),
    )
    yield Variant(
        "tray-app-gone-nobody-signed-in",
        edit(healthy, lambda d: without(d, rules.TRAY_PROCESS).update(users=[])),
        both,
    )
    yield Variant("tray-app-gone", edit(healthy, lambda d: without(d, rules.TRAY_PROCESS)), both)
    yield Variant(
        "tray-service-ready", edit(healthy, lambda d: task(d, "service").update(state="Ready"))
    )
    yield Variant(
        "tray-task-state-missing",
        edit(healthy, lambda d: task(d, "service").update(state="")),
    )
    yield Variant(
        "tray-app-name-in-capitals",
        edit(
            healthy,
            lambda d: named(d, rules.TRAY_PROCESS)[0].update(name="QUICKBOOKSDESKTOPUI.EXE"),
        ),
    )

    def second_client_stopped(doc: dict[str, Any]) -> None:
        legacy_client(doc, "Acme Books")
        doc["tasks"][-2]["state"] = "Ready"

    yield Variant(
        "two-clients-one-stopped",
        edit(healthy, second_client_stopped),
        (None, LEGACY, "ACME BOOKS", NO_SUCH_CLIENT),
    )

    def folded_client(doc: dict[str, Any]) -> None:
        doc["generations"] = []
        doc["tasks"] = []
        legacy_client(doc, "Straße Books", folder="STRASSE Books")
        named(doc, rules.TRAY_PROCESS)[0]["path"] = (
            "C:\\Program Files (x86)\\Straße Books\\QuickBooks-connector\\QuickbooksDesktopUI.exe"
        )
        doc["tasks"][0]["client"] = "STRASSE BOOKS"  # the same client, by case folding

    yield Variant(
        "client-name-case-folded",
        edit(healthy, folded_client),
        (None, "strasse books", "STRASSE BOOKS", "Straße Books", "Strase Books"),
    )

    def dotted_client(doc: dict[str, Any]) -> None:
        doc["generations"] = []
        doc["tasks"] = []
        legacy_client(doc, "İzmir Muhasebe")
        named(doc, rules.TRAY_PROCESS)[0]["path"] = (
            "C:\\Program Files (x86)\\i̇zmir muhasebe\\QuickBooks-connector\\QuickbooksDesktopUI.exe"
        )

    yield Variant(
        "client-name-dotted-capital",
        edit(healthy, dotted_client),
        (None, "i̇zmir muhasebe", "izmir muhasebe", "İZMİR MUHASEBE"),
    )
    yield Variant(
        "client-name-final-sigma",
        edit(healthy, lambda d: legacy_client(d, "ΟΔΟΣ")),
        (None, "οδος", "ΟΔΟΣ", "οδοσ"),
    )
    yield Variant(
        "tasks-without-folder",
        edit(healthy, lambda d: d.update(generations=[])),
        (None, LEGACY, NO_SUCH_CLIENT),
    )
    yield Variant(
        "tasks-without-folder-app-gone",
        edit(healthy, lambda d: without(d, rules.TRAY_PROCESS).update(generations=[])),
        (None, LEGACY),
    )
    yield Variant(
        "legacy-and-web-connector-closed",
        edit(healthy, lambda d: without(with_web_connector(d), "QBWebConnector.exe")),
        (None, LEGACY),
    )
    yield Variant(
        "legacy-app-gone-and-web-connector",
        edit(healthy, lambda d: with_web_connector(without(d, rules.TRAY_PROCESS))),
        (None, LEGACY),
    )

    def tasks_only_beside_web_connector(doc: dict[str, Any]) -> None:
        legacy = fixture(healthy)
        doc["tasks"] = legacy["tasks"]
        task(doc, "service")["state"] = "Ready"

    yield Variant(
        "web-connector-with-legacy-tasks-only",
        edit("web_connector", tasks_only_beside_web_connector),
        (None, LEGACY),
    )
    # certificate and queued-syncs: SDK codes in the logs
    yield Variant("certificate-warn-code", edit(healthy, lambda d: qbsdk_codes(d, "0x80040418")))
    yield Variant(
        "certificate-code-spelled-loosely", edit(healthy, lambda d: qbsdk_codes(d, " 8004041d "))
    )
    yield Variant(
        "certificate-codes-malformed",
        edit(healthy, lambda d: qbsdk_codes(d, "0x8004041", "0x8004041DZ", "0X8004041A\u200b", "")),
    )

    def code_in_connector_log(client: str) -> Callable[[dict[str, Any]], object]:
        def change(doc: dict[str, Any]) -> None:
            log = next(entry for entry in doc["logs"] if entry["kind"] == "connector")
            log["client_name"] = client
            log["codes"] = [{"code": "0x8004041A", "count": 2, "last_line": "x"}]

        return change

    yield Variant(
        "certificate-code-in-another-clients-log",
        edit(healthy, code_in_connector_log("Other Client")),
        (None, LEGACY),
    )
    yield Variant(
        "certificate-code-in-own-log",
        edit(healthy, code_in_connector_log(LEGACY.lower())),
        (None, LEGACY),
    )
    closed = "quickbooks_closed"
    yield Variant("quickbooks-closed-no-codes", edit(healthy, lambda d: without(d, "QBW32.exe")))

    def tools_only(doc: dict[str, Any]) -> None:
        without(doc, "QBW32.exe")
        entry = copy.deepcopy(doc["uninstall"][0])
        doc["uninstall"] = [
            {**entry, "name": name}
            for name in ("QuickBooks Tool Hub", "QuickBooks Web Connector", "Intuit QuickBooks")
        ]

    yield Variant("quickbooks-closed-not-installed", edit(healthy, tools_only))
    yield Variant(
        "quickbooks-closed-needs-it-open",
        edit(healthy, lambda d: qbsdk_codes(without(d, "QBW32.exe"), "0x80040416")),
    )
    yield Variant(
        "quickbooks-name-in-capitals",
        edit(closed, lambda d: d["processes"].append(process("qbw.EXE"))),
    )
    # one-time-sync: link.json and what is left of the connector
    one = "one_time_sync"
    link = "link_json"
    yield Variant(
        "link-not-present", edit(one, lambda d: d["generations"][0][link].update(present=False))
    )
    yield Variant(
        "link-unreadable", edit(one, lambda d: d["generations"][0][link].update(readable=False))
    )
    yield Variant(
        "link-without-ids", edit(one, lambda d: d["generations"][0][link].update(company_ids=[]))
    )
    yield Variant(
        "link-empty-id", edit(one, lambda d: d["generations"][0][link].update(company_ids=[""]))
    )
    yield Variant("link-null", edit(one, lambda d: d["generations"][0].update(link_json=None)))
    yield Variant(
        "link-program-gone", edit(healthy, lambda d: d["generations"][0].update(executable=""))
    )
    yield Variant("link-tasks-gone", edit(healthy, lambda d: d.update(tasks=[])), (None, LEGACY))
    # antivirus-policy, webroot, network
    detection = {
        "threat_id": "2147735503",
        "resources": ["file:_C:\\x.exe"],
        "time": None,
        "action_success": True,
        "process": "",
    }
    event = {"log": "Microsoft-Windows-AppLocker/EXE and DLL", "time": None, "message": "x"}
    yield Variant("policy-audit", edit(healthy, lambda d: d.update(policy=[{**event, "id": 8003}])))
    yield Variant(
        "policy-blocked-and-audit",
        edit(healthy, lambda d: d.update(policy=[{**event, "id": 8006}, {**event, "id": 8004}])),
    )
    yield Variant(
        "defender-detection-no-policy",
        edit(healthy, lambda d: d["defender"].update(detections=[detection])),
    )
    yield Variant("defender-missing", edit("defender_detection", lambda d: d.update(defender=None)))
    yield Variant("webroot-null", edit("webroot", lambda d: d.update(webroot=None)))
    yield Variant("network-untested", edit(healthy, lambda d: d.update(network=[])))

    def down(*proxies: str | None) -> Callable[[dict[str, Any]], object]:
        def change(doc: dict[str, Any]) -> None:
            for entry, proxy in zip(doc["network"], proxies, strict=False):
                entry.update(reachable=False, error="timed out", proxy=proxy)

        return change

    yield Variant("network-down-behind-proxy", edit(healthy, down("http://proxy:8080", "x")))
    yield Variant("network-down-one-direct", edit(healthy, down("http://proxy:8080", "")))


def web_connector_variants() -> Iterator[Variant]:
    base = "web_connector"
    program = webconnector.PROGRAM
    yield Variant(
        "wc-program-missing",
        edit(base, lambda d: (wc(d).update(executable=None), without(d, program))),
    )
    yield Variant(
        "wc-closed-nobody-signed-in",
        edit(base, lambda d: without(d, program).update(users=[])),
    )
    yield Variant(
        "wc-two-in-one-session",
        edit(base, lambda d: d["processes"].append(process(program, pid=5121))),
    )
    yield Variant(
        "wc-two-sessions-unknown",
        edit(
            base,
            lambda d: (
                named(d, program)[0].update(session=None),
                d["processes"].append(process(program, pid=5121, session=None)),
            ),
        ),
    )
    yield Variant("wc-session-0", edit(base, lambda d: named(d, program)[0].update(session=0)))
    yield Variant(
        "wc-for-a-signed-out-user",
        edit(base, lambda d: named(d, program)[0].update(user_sid=BOB, user="PC01\\bob")),
    )
    yield Variant(
        "wc-log-silent-a-day", edit(base, lambda d: d.update(collected_at="2024-05-15T09:00:01Z"))
    )
    yield Variant(
        "wc-log-silent-just-a-day",
        edit(base, lambda d: d.update(collected_at="2024-05-15T09:00:04.9999999Z")),
    )
    yield Variant(
        "wc-log-silent-unknown-collection",
        edit(base, lambda d: d.update(collected_at="2024-05-16T09:15:60Z")),
    )
    yield Variant(
        "wc-collected-short", edit(base, lambda d: d.update(collected_at="2024-05-16T09:15"))
    )
    yield Variant(
        "wc-collected-lower-t", edit(base, lambda d: d.update(collected_at="2024-05-16t09:15:00"))
    )
    yield Variant(
        "wc-registered-for-another-user",
        edit(base, lambda d: wc(d)["apps"][0].update(sid=BOB)),
    )
    yield Variant("wc-startup-unknown", edit(base, lambda d: wc(d).update(startup=None)))
    yield Variant(
        "wc-startup-switched-off", edit(base, lambda d: wc(d)["startup"][0].update(approved=3))
    )
    yield Variant(
        "wc-startup-negative-approved",
        edit(base, lambda d: wc(d)["startup"][0].update(approved=-1)),
    )
    entry = fixture(base)["web_connector"]["startup"][0]
    task_entry = {**entry, "kind": "task", "scope": "task", "state": "Disabled", "approved": None}
    yield Variant(
        "wc-startup-task-disabled", edit(base, lambda d: wc(d).update(startup=[task_entry]))
    )
    yield Variant(
        "wc-startup-task-ready",
        edit(base, lambda d: wc(d).update(startup=[{**task_entry, "state": "Ready"}])),
    )
    yield Variant(
        "wc-startup-other-program",
        edit(base, lambda d: wc(d).update(startup=[{**entry, "name": "OneDrive", "command": ""}])),
    )
    yield Variant(
        "wc-startup-codat-tool",
        edit(
            base,
            lambda d: wc(d).update(
                startup=[{**entry, "name": "Codat", "command": "QuickBooksDesktopConnector.exe"}]
            ),
        ),
    )
    yield Variant("wc-probe-failed", edit(base, lambda d: d.update(web_connector=None)))
    yield Variant(
        "wc-probe-failed-no-program",
        edit(
            base,
            lambda d: (d.update(web_connector=None), d["generations"][0].update(executable="")),
        ),
    )
    yield Variant(
        "wc-folder-without-generation",
        edit(base, lambda d: d.update(generations=[]) or wc(d).update(executable=None)),
    )
    yield Variant(
        "wc-generation-but-folder-not-installed",
        edit(base, lambda d: wc(d).update(installed=False)),
    )
    # queued-syncs
    yield Variant(
        "wc-elevation-unknown",
        edit(
            "web_connector_elevation_mismatch",
            lambda d: named(d, "QBW32.exe")[0].update(elevated=None),
        ),
    )
    yield Variant(
        "wc-elevation-differs-in-another-session",
        edit(
            "web_connector_elevation_mismatch", lambda d: named(d, "QBW32.exe")[0].update(session=2)
        ),
    )

    def two_files(first: str, second: str) -> Callable[[dict[str, Any]], object]:
        def change(doc: dict[str, Any]) -> None:
            named(doc, "QBW32.exe")[0]["company_file"] = first
            doc["processes"].append(process("QBW.exe", session=2, company_file=second))

        return change

    yield Variant(
        "wc-two-company-files", edit(base, two_files("C:\\a\\Acme.QBW", "C:\\a\\Other.QBW"))
    )
    yield Variant(
        "wc-one-company-file-two-spellings",
        edit(base, two_files("C:\\a\\Acme.QBW", "C:\\A\\ACME.qbw")),
    )
    yield Variant(
        "wc-other-file-open-in-sdk-log",
        edit(base, lambda d: qbsdk_codes(d, webconnector.OTHER_FILE_OPEN)),
    )
    yield Variant(
        "wc-other-file-open-in-qwclog",
        with_lines(line(NEW, "QuickBooks error -2147220470 (the file is open)")),
    )
    # one-time-sync
    yield Variant("wc-apps-unknown", edit(base, lambda d: wc(d).update(apps=None)))
    yield Variant("wc-apps-none-signed-in", edit(base, lambda d: wc(d).update(apps=[])))
    yield Variant(
        "wc-apps-none-nobody-signed-in",
        edit(base, lambda d: wc(d).update(apps=[], hives=["S-1-5-18"])),
    )
    # logs
    yield Variant("wc-log-unknown", edit(base, lambda d: wc(d).update(log=None)))
    yield Variant(
        "wc-log-folder-missing", edit(base, lambda d: wc_log(d).update(folder_present=False))
    )
    yield Variant("wc-log-read-only", edit(base, lambda d: wc_log(d).update(read_only=True)))
    yield Variant(
        "wc-log-denied",
        edit(base, lambda d: wc_log(d)["file_access"].update(write_denied=[USERS])),
    )
    yield Variant("wc-log-access-unknown", edit(base, lambda d: wc_log(d).update(file_access=None)))
    yield Variant(
        "wc-log-absent-folder-denied",
        edit(
            base,
            lambda d: (
                wc_log(d).update(present=False),
                wc_log(d)["folder_access"].update(write_allowed=[], write_denied=["S-1-1-0"]),
            ),
        ),
    )
    yield Variant(
        "wc-log-absent-folder-unknown",
        edit(base, lambda d: wc_log(d).update(present=False, folder_access=None)),
    )

    def admins_only(elevated: bool | None) -> Callable[[dict[str, Any]], object]:
        def change(doc: dict[str, Any]) -> None:
            wc_log(doc)["file_access"]["write_allowed"] = [ADMINISTRATORS]
            named(doc, program)[0]["elevated"] = elevated

        return change

    yield Variant("wc-log-admins-only-elevated", edit(base, admins_only(True)))
    yield Variant("wc-log-admins-only-not-elevated", edit(base, admins_only(False)))

    def signed_in_writes(doc: dict[str, Any]) -> None:
        without(doc, program)
        wc_log(doc)["file_access"]["write_allowed"] = [AMY]

    yield Variant("wc-log-closed-signed-in-user-writes", edit(base, signed_in_writes))
    yield Variant(
        "wc-log-absent-with-lines",
        edit(
            base,
            lambda d: wc_log(d).update(present=False, lines=[line(NEW, "QBWC1005: log folder")]),
        ),
    )


def code_variants() -> Iterator[Variant]:
    for code in ("QBWC1005", "QBWC1033", "QBWC1041", "QBWC1011", "QBWC1007", "QBWC1039"):
        yield Variant(f"qwclog-{code}", with_lines(line(NEW, f"error {code}: {code}")))
    yield Variant("qwclog-unknown-code", with_lines(line(NEW, "QBWC9999 something")))
    yield Variant(
        "qwclog-old-code",
        with_lines(line(OLD, "QBWC1005 old"), line("20240508.09:00:00", "later"), line(NEW, "ok")),
    )
    yield Variant(
        "qwclog-code-just-a-week-old",
        with_lines(line("20240507.09:00:00", "QBWC1005"), line(NEW, "ok")),
    )
    yield Variant(
        "qwclog-code-lower-case-continuation",
        with_lines(line(OLD, "start"), "   at qbwc1041 in stack", line(NEW, "ok")),
    )
    yield Variant(
        "qwclog-code-before-first-timestamp",
        with_lines("tail of an entry QBWC1005", line(NEW, "ok")),
    )
    yield Variant(
        "qwclog-impossible-timestamp",
        with_lines(line(OLD, "start"), line("20240230.09:00:00", "QBWC1033"), line(NEW, "ok")),
    )
    yield Variant(
        "qwclog-bom-and-crlf",
        with_lines("\ufeff" + line(OLD, "QBWC1011") + "\r\n", line(NEW, "ok") + "\r"),
    )
    long_line = line(NEW, "QBWC1041 " + "x" * 4500 + " QBWC1005")
    yield Variant("qwclog-long-line", with_lines(long_line))
    astral = line(NEW, "\U0001f600" * 3990 + " QBWC1033")  # cut within code points, not units
    yield Variant("qwclog-long-line-astral", with_lines(astral))
    yield Variant(
        "qwclog-not-codes",
        with_lines(line(NEW, "XQBWC1005 QBWC10050 QBWC100 0x8004040A1 1234567890123")),
    )
    yield Variant(
        "qwclog-sdk-codes",
        with_lines(line(NEW, "8004040a 0X8004041D 2147746826 -9999999999 -2147220470")),
    )
    many = [line(NEW, "ok")] * qwclog.MAX_LINES + [line(NEW, "QBWC1005")]
    yield Variant(
        "qwclog-more-lines-than-read",
        with_lines(*many),
        remediations=("restart-web-connector",),
    )


def loose_variants() -> Iterator[Variant]:
    """Documents that break the schema the way a hand-made or older script's might."""
    healthy = "healthy"
    base = "web_connector"
    yield Variant(
        "lone-process",
        edit(healthy, lambda d: d.update(processes=named(d, rules.TRAY_PROCESS)[0])),
        (None, LEGACY),
    )
    yield Variant(
        "lone-generation-and-user",
        edit(healthy, lambda d: d.update(generations=d["generations"][0], users=d["users"][0])),
        (None, LEGACY),
    )
    yield Variant(
        "null-lists",
        edit(healthy, lambda d: d.update(tasks=None, uninstall=None, logs=None, network=None)),
        (None, LEGACY),
    )
    yield Variant(
        "lone-policy-event-and-detection",
        edit(
            healthy,
            lambda d: (
                d.update(policy={"log": "x", "id": "8003", "time": None, "message": ""}),
                d["defender"].update(detections={"threat_id": "1", "resources": "x"}),
            ),
        ),
    )
    yield Variant(
        "policy-id-not-a-number",
        edit(healthy, lambda d: d.update(policy=[{"log": "x", "id": "audit"}, {"id": 8006.0}])),
    )
    yield Variant(
        "missing-members",
        edit(healthy, lambda d: [d.pop(k) for k in ("defender", "webroot", "policy", "users")]),
    )
    yield Variant(
        "webroot-present-text", edit(healthy, lambda d: d["webroot"].update(present="false"))
    )
    yield Variant("defender-not-an-object", edit(healthy, lambda d: d.update(defender="x")))
    yield Variant(
        "odd-list-items",
        edit(
            "quickbooks_closed",
            lambda d: d["processes"].extend(["QBW32.exe", [process("QBW32.exe")], None]),
        ),
    )
    yield Variant(
        "lone-company-id",
        edit("one_time_sync", lambda d: d["generations"][0]["link_json"].update(company_ids="x")),
    )
    yield Variant(
        "lone-code-in-log",
        edit(healthy, lambda d: d["logs"][0].update(codes={"code": "0x8004041D", "count": 1})),
    )
    yield Variant(
        "web-connector-lone-values",
        edit(
            base,
            lambda d: (
                wc(d).update(hives=AMY, apps=wc(d)["apps"][0], startup=wc(d)["startup"][0]),
                wc_log(d)["file_access"].update(write_allowed=USERS),
            ),
        ),
    )
    yield Variant(
        "web-connector-lone-line",
        edit(base, lambda d: wc_log(d).update(lines=line(NEW, "QBWC1033 lone"))),
    )
    yield Variant(
        "web-connector-nested-values",
        edit(
            base,
            lambda d: (
                wc(d).update(apps=[], hives=[[AMY], {"sid": AMY}]),
                wc_log(d).update(lines=[[line(NEW, "QBWC1005 it's")], {"line": "QBWC1033"}]),
            ),
        ),
    )
    yield Variant(
        "web-connector-odd-lines",
        edit(base, lambda d: wc_log(d).update(lines=[None, 5, line(NEW, "QBWC1005"), True])),
    )
    yield Variant(
        "process-values-as-text",
        edit(
            base,
            lambda d: (
                named(d, webconnector.PROGRAM)[0].update(session="0", elevated="yes"),
                wc(d)["startup"][0].update(approved="3"),
            ),
        ),
    )
    yield Variant(
        "process-values-odd",
        edit(
            "web_connector_elevation_mismatch",
            lambda d: (
                named(d, webconnector.PROGRAM)[0].update(session=1.7, elevated=" TRUE "),
                named(d, "QBW32.exe")[0].update(session="1_0", elevated=0),
            ),
        ),
    )
    yield Variant(
        "process-session-text-with-spaces",
        edit(base, lambda d: named(d, webconnector.PROGRAM)[0].update(session="\u2003 0 ")),
    )
    yield Variant(
        "web-connector-log-read-only-text",
        edit(base, lambda d: wc_log(d).update(read_only="1", folder_present="no")),
    )
    yield Variant(
        "web-connector-missing-members",
        edit(base, lambda d: [wc(d).pop(k) for k in ("hives", "apps", "startup", "log")]),
    )
    yield Variant(
        "web-connector-installed-text",
        edit(base, lambda d: (d.update(generations=[]), wc(d).update(installed="false"))),
    )


#: A fixture where each remediation is the doctor's fix (with the switches it needs).
NAMED_IN = {
    "restart-tasks": "red_tray",
    "restart-web-connector": "web_connector_closed",
    "reset-certificate": "certificate_missing",
    "webroot-whitelist": "webroot",
    "collect-logs": "defender_detection",
    "reinstall-connector": "one_time_sync",
}


def with_errors(base: str, *errors: Any) -> dict[str, Any]:
    return edit(base, lambda d: d.update(errors=list(errors)))


def held_variants() -> Iterator[Variant]:
    """Each reason a verdict is held: a failed probe the remediation reads (each probe of
    :data:`PROBES`, its sub-probes, names that only look like one), danger switches the
    export lacks, and a Web Connector restart without --force-close that would change nothing."""
    for name, base in NAMED_IN.items():
        for probe in PROBES[name]:
            yield Variant(
                f"probe-failed-{name}-{probe}",
                with_errors(base, f"{probe}: Access is denied."),
                remediations=(name,),
            )
    for probe in ("web_connector.apps", "web_connector.startup.tasks", "web_connector.log"):
        yield Variant(
            f"probe-failed-{probe}", with_errors("web_connector_closed", f"{probe}: timed out")
        )
    yield Variant(
        "probe-failed-several",
        with_errors(
            "defender_detection",
            "policy: The RPC server is unavailable.",
            "processes: Access denied",
            "policy: again",
            "tasks: no module",
            "defender: not there",
        ),
        (None, LEGACY),
    )
    yield Variant(
        "probe-failed-several-web-connector",
        with_errors("web_connector_closed", "web_connector.apps: x", "users: y", "os: z"),
    )
    yield Variant(
        "probe-failed-several-reinstall",
        with_errors("one_time_sync", "generations: a", "web_connector.log: b", "tasks: c"),
        (None, LEGACY),
    )
    yield Variant(
        "probe-names-that-only-look-failed",
        with_errors(
            "web_connector_closed",
            "antivirus: Invalid namespace",
            "processes",
            "processesx: no",
            "web_connectors: no",
            "Processes: case",
            " users: space",
            "tasks.extra no colon",
        ),
    )
    yield Variant(
        "probe-error-sub-probe-of-a-listed-probe",
        with_errors("red_tray", "tasks.folder: nope", "users.: odd", "generations:"),
    )
    yield Variant(
        "probe-errors-loose",
        edit("webroot", lambda d: d.update(errors=[None, 5, "", "webroot: down", ["webroot: x"]])),
    )
    yield Variant("probe-errors-lone", edit("webroot", lambda d: d.update(errors="webroot: down")))
    yield Variant(
        "probe-error-non-ascii",
        with_errors("web_connector_closed", "web_connector.\u00e9t\u00e9: \u2014 failed"),
    )
    # danger switches: the Web Connector stuck (--force-close) and its log (--reset-log) at once
    yield Variant(
        "switches-force-close-and-reset-log",
        edit(
            "web_connector_log_not_writable",
            lambda d: named(d, webconnector.PROGRAM)[0].update(session=0),
        ),
        remediations=("restart-web-connector",),
    )
    yield Variant(
        "switches-plain-and-force-close",
        edit(
            "web_connector_elevation_mismatch",
            lambda d: wc_log(d).update(folder_present=False),
        ),
        remediations=("restart-web-connector",),
    )
    yield from web_connector_user_variants()


def web_connector_user_variants() -> Iterator[Variant]:
    """Who restart-web-connector acts for without --force-close: signed-in users without a
    Web Connector of their own who use it (an application, or a start-up entry of theirs)."""
    ask = ("restart-web-connector", "collect-logs")
    closed = "web_connector_closed"
    bob = {"account": "PC01\\bob", "sid": BOB, "is_admin": False}
    yield Variant(
        "wc-closed-user-without-app-or-entry",
        edit(closed, lambda d: wc(d).update(apps=[], startup=[])),
        remediations=ask,
    )
    yield Variant(
        "wc-closed-user-with-app-only",
        edit(closed, lambda d: wc(d).update(startup=[])),
        remediations=ask,
    )
    yield Variant(
        "wc-closed-user-with-entry-only",
        edit(closed, lambda d: wc(d).update(apps=[])),
        remediations=ask,
    )
    yield Variant(
        "wc-closed-user-with-switched-off-entry-only",
        edit(closed, lambda d: (wc(d).update(apps=[]), wc(d)["startup"][0].update(approved=3))),
        remediations=ask,
    )

    def machine_entry(doc: dict[str, Any]) -> None:
        wc(doc).update(apps=[])
        wc(doc)["startup"][0].update(sid=None, scope="machine", location="HKEY_LOCAL_MACHINE\\Run")

    yield Variant("wc-closed-machine-entry-only", edit(closed, machine_entry), remediations=ask)
    yield Variant(
        "wc-closed-entry-of-another-program",
        edit(
            closed,
            lambda d: (
                wc(d).update(apps=[]),
                wc(d)["startup"][0].update(name="OneDrive", command="OneDrive.exe"),
            ),
        ),
        remediations=ask,
    )
    yield Variant(
        "wc-closed-codat-entry",
        edit(
            closed,
            lambda d: (
                wc(d).update(apps=[]),
                wc(d)["startup"][0].update(name="Codat", command="C:\\Codat\\tool.exe"),
            ),
        ),
        remediations=ask,
    )
    yield Variant(
        "wc-closed-app-of-another-user",
        edit(closed, lambda d: (wc(d).update(startup=[]), wc(d)["apps"][0].update(sid=BOB))),
        remediations=ask,
    )
    yield Variant(
        "wc-closed-apps-and-startup-unknown",
        edit(closed, lambda d: wc(d).update(apps=None, startup=None)),
        remediations=ask,
    )
    yield Variant(
        "wc-closed-facts-missing",
        edit(closed, lambda d: d.update(web_connector=None)),
        remediations=ask,
    )
    yield Variant(
        "wc-closed-user-sid-empty",
        edit(
            closed, lambda d: d["users"].append({"account": "PC01\\x", "sid": "", "is_admin": None})
        ),
        remediations=ask,
    )
    # running for amy; the fix (log folder missing) names restart-web-connector plainly
    running = "web_connector"

    def folder_missing(doc: dict[str, Any]) -> None:
        wc_log(doc).update(folder_present=False)

    yield Variant("wc-running-for-its-user", edit(running, folder_missing), remediations=ask)

    def bob_signed_in(uses: bool, runs: bool) -> Callable[[dict[str, Any]], object]:
        def change(doc: dict[str, Any]) -> None:
            folder_missing(doc)
            doc["users"].append(bob)
            wc(doc)["hives"].append(BOB)
            if uses:
                wc(doc)["apps"].append({**wc(doc)["apps"][0], "sid": BOB})
            if runs:
                doc["processes"].append(
                    process(
                        webconnector.PROGRAM, pid=6001, user="PC01\\bob", user_sid=BOB, session=2
                    )
                )

        return change

    for uses in (True, False):
        for runs in (True, False):
            yield Variant(
                f"wc-running-bob-{'uses' if uses else 'does-not-use'}-{'running' if runs else 'closed'}",
                edit(running, bob_signed_in(uses, runs)),
                remediations=ask,
            )
    yield Variant(
        "wc-running-owner-unknown",
        edit(
            running,
            lambda d: (folder_missing(d), named(d, webconnector.PROGRAM)[0].update(user_sid=None)),
        ),
        remediations=ask,
    )
    yield Variant(
        "wc-closed-nobody-signed-in-folder-missing",
        edit(closed, lambda d: (folder_missing(d), d.update(users=[]))),
        remediations=ask,
    )


def all_variants() -> list[Variant]:
    found = [*legacy_variants(), *web_connector_variants(), *code_variants(), *loose_variants()]
    found += held_variants()
    found.append(
        Variant(
            "unknown-switches",
            fixture("web_connector_closed"),
            remediations=(),
            extra=(
                ("restart-tasks", ("ForceClose",)),
                ("restart-web-connector", ("forceclose",)),
                ("restart-web-connector", ("ForceClose", "")),
                ("collect-logs", ("ClientName",)),
            ),
        )
    )
    found.append(Variant("empty-client-name", fixture("red_tray"), ("",)))
    return found


#: Documents both sides refuse: not an object, another schema version, no version.
REFUSED = [
    Variant("not-an-object", [1]),
    Variant("another-version", {**fixture("healthy"), "schema": SCHEMA_VERSION - 1}),
    Variant("version-as-text", {**fixture("healthy"), "schema": str(SCHEMA_VERSION)}),
    Variant("no-version", {k: v for k, v in fixture("healthy").items() if k != "schema"}),
]
