"""The doctor's verdict for one remediation: Python's (qbd_fix/doctor/verdict.py) and the
PowerShell port's (templates/_verdict.ps1.j2) agree, case by case.

Every fixture, for every remediation and client name, and variants of the fixtures that take
each branch the port has (tests/support/verdict_cases.py), are judged by both. PowerShell runs
all of them in one process under strict mode (each start of pwsh costs seconds); besides the
verdicts, each topic's status and fix subcommands are compared, so a branch that decides only
a status is checked too.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest

from qbd_fix.doctor import qwclog, rules, webconnector
from qbd_fix.doctor.facts import SCHEMA_VERSION, Facts
from qbd_fix.doctor.report import FindingStatus
from qbd_fix.doctor.verdict import (
    HELD_PROBE,
    HELD_PROBES,
    HELD_RUNNING,
    HELD_SWITCH,
    HELD_SWITCHES,
    Verdict,
    danger_switches,
    verdict,
)
from qbd_fix.doctor.verdict_script import (
    COLLECTED_PATTERN,
    case_table,
    dotnet_pattern,
    template_values,
)
from qbd_fix.errors import ResultError
from qbd_fix.qbwc_codes import CODE_PATTERN, QBWC_CODES
from qbd_fix.script.engine import environment, prune_unused_functions
from tests.support.exports import PWSH
from tests.support.guards import all_state_changes
from tests.support.pwsh import ReferenceCommands, check_script, commands_used
from tests.support.rules import check_rules
from tests.support.verdict_cases import (
    LEGACY,
    NAMES,
    NO_SUCH_CLIENT,
    REFUSED,
    Variant,
    all_variants,
    fixture,
    fixture_cases,
)
from tests.test_scripts import allowed_commands

#: Topics whose status the port works out (the others never name a fix).
PORTED = (
    "tray-icon",
    "certificate",
    "queued-syncs",
    "one-time-sync",
    "antivirus-policy",
    "webroot",
    "network",
    "logs",
)
STATUS = {0: FindingStatus.OK, 1: FindingStatus.WARN, 2: FindingStatus.FAIL}


needs_pwsh = pytest.mark.skipif(not PWSH.is_file(), reason=f"no PowerShell at {PWSH}")


# -- Python's side ---------------------------------------------------------------------------


def load(doc: Any) -> Facts:
    """Facts.from_dict; a document that breaks only the schema is read past it, loosely."""
    try:
        return Facts.from_dict(doc)
    except ResultError:
        if not isinstance(doc, Mapping) or doc.get("schema") != SCHEMA_VERSION:
            raise
        with patch("qbd_fix.doctor.facts.validate"):
            return Facts.from_dict(doc)


def ask_key(name: str, switches: tuple[str, ...]) -> str:
    return " ".join([name, *switches])


def command_key(name: str, switches: frozenset[str]) -> str:
    """A fix line as the port carries it: its subcommand and the danger switches it sets."""
    return " ".join([name, *(s for s in danger_switches(name) if s in switches)])


def judge(facts: Facts, client: str | None, name: str, switches: tuple[str, ...]) -> Any:
    try:
        v = verdict(facts, name, client, switches)
    except ValueError:
        return {"error": True}
    return {"applies": v.applies, "topics": list(v.topics), "held": v.held}


def expected(doc: Any, client: str | None, variant: Variant) -> dict[str, Any]:
    """What PowerShell must answer: the verdict for each remediation and switches asked, each
    topic's status and fix lines; or that the document is refused."""
    try:
        facts = load(doc)
    except ResultError:
        return {"error": True}
    findings = rules.evaluate(facts, client_name=client or None)
    return {
        "verdicts": {
            ask_key(name, switches): judge(facts, client, name, switches)
            for name, switches in variant.asks()
        },
        "findings": [
            {
                "id": f.id,
                "status": f.status if f.id in PORTED else None,
                "commands": sorted({command_key(name, sw) for name, sw in f.runs}),
            }
            for f in findings
        ],
    }


# -- PowerShell's side -------------------------------------------------------------------------


def include() -> str:
    return environment().get_template("_verdict.ps1.j2").render()


def wrapper() -> str:
    """The include as a script would carry it: strict, stopping at the first error."""
    return (
        "Set-StrictMode -Version 3.0\n$ErrorActionPreference = 'Stop'\n\n"
        + include()
        + "\n$facts = ConvertFrom-Json -InputObject $env:QBD_FACTS\n"
        + "$verdict = Get-QbdFixVerdict -Facts $facts -Remediation $env:QBD_REMEDIATION\n"
        + "if ($verdict.applies) { exit 1 }\nexit 0\n"
    )


_DRIVER = r"""
param([string] $Cases, [string] $Out)
$all = ConvertFrom-Json -InputObject ([System.IO.File]::ReadAllText($Cases))
$results = New-Object -TypeName System.Collections.ArrayList
foreach ($group in $all.groups) {
    $facts = ConvertFrom-Json -InputObject $all.docs[$group.doc]
    $named = @{}
    if ($null -ne $group.client) { $named['ClientName'] = [string]$group.client }
    $entry = [ordered]@{ findings = $null; verdicts = [ordered]@{}; error = $null }
    try {
        $entry.findings = @(foreach ($finding in @(Get-QbdFixVerdictFinding -Facts $facts @named)) {
            [ordered]@{ id = $finding.id; status = $finding.status; ported = $finding.ported; commands = @($finding.commands) }
        })
    } catch {
        $entry.error = $_.Exception.Message
    }
    foreach ($ask in $group.asks) {
        $key = (@($ask.name) + @($ask.switches)) -join ' '
        $switches = [string[]]@($ask.switches)
        try {
            if ($switches.Count -eq 0) {
                $verdict = Get-QbdFixVerdict -Facts $facts -Remediation $ask.name @named
            } else {
                $verdict = Get-QbdFixVerdict -Facts $facts -Remediation $ask.name @named -Switches $switches
            }
            $entry.verdicts[$key] = [ordered]@{ applies = $verdict.applies; topics = @($verdict.topics); held = $verdict.held; type = $verdict.topics.GetType().Name; heldType = $verdict.held.GetType().Name }
        } catch {
            $entry.verdicts[$key] = [ordered]@{ error = $_.Exception.Message }
        }
    }
    $null = $results.Add($entry)
}
[System.IO.File]::WriteAllText($Out, (ConvertTo-Json -InputObject $results -Depth 8))
"""


def run_powershell(variants: list[Variant], tmp: Path) -> list[dict[str, Any]]:
    """Every (document, client) group of *variants* through the port, in one pwsh process."""
    docs: list[str] = []
    groups = []
    for variant in variants:
        docs.append(json.dumps(variant.doc, ensure_ascii=False))
        for client in variant.clients:
            asks = [{"name": name, "switches": list(sw)} for name, sw in variant.asks()]
            groups.append({"doc": len(docs) - 1, "client": client, "asks": asks})
    cases = tmp / "cases.json"
    cases.write_text(json.dumps({"docs": docs, "groups": groups}), "utf-8")
    script = tmp / "driver.ps1"
    prelude = "Set-StrictMode -Version 3.0\n$ErrorActionPreference = 'Stop'\n"
    head, body = _DRIVER.split("\n", 2)[1], _DRIVER.split("\n", 2)[2]
    script.write_text(head + "\n" + prelude + include() + "\n" + body, "utf-8-sig")
    out = tmp / "out.json"
    command = [str(PWSH), "-NoLogo", "-NoProfile", "-NonInteractive", "-File", str(script)]
    done = subprocess.run(
        [*command, "-Cases", str(cases), "-Out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr or done.stdout
    results: list[dict[str, Any]] = json.loads(out.read_text("utf-8-sig"))
    assert len(results) == len(groups)
    return results


def _group_keys(variants: list[Variant]) -> list[tuple[Variant, str | None]]:
    return [(v, client) for v in variants for client in v.clients]


@pytest.fixture(scope="module")
def parity(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, Any, Any]]:
    """(case, Python's answer, PowerShell's answer) for every document and client name."""
    if not PWSH.is_file():
        pytest.skip(f"no PowerShell at {PWSH}")
    variants = [*fixture_cases(), *all_variants(), *REFUSED]
    answers = run_powershell(variants, tmp_path_factory.mktemp("verdict"))
    return [
        (f"{v.name}[{client!r}]", expected(v.doc, client, v), answer)
        for (v, client), answer in zip(_group_keys(variants), answers, strict=True)
    ]


def _compare(case: str, want: dict[str, Any], got: dict[str, Any]) -> list[str]:
    problems = []
    if want.get("error"):
        if got["error"] is None or any("error" not in v for v in got["verdicts"].values()):
            problems.append(f"{case}: PowerShell judged a document Python refuses")
        return problems
    if got["error"] is not None:
        return [f"{case}: PowerShell failed: {got['error']}"]
    if set(got["verdicts"]) != set(want["verdicts"]):
        problems.append(
            f"{case}: asked {sorted(want['verdicts'])}, answered {sorted(got['verdicts'])}"
        )
    for name, answer in got["verdicts"].items():
        if want["verdicts"].get(name, {}).get("error"):
            if "error" not in answer:
                problems.append(f"{case} {name}: PowerShell judged what Python refuses: {answer}")
            continue
        if "error" in answer:
            problems.append(f"{case} {name}: PowerShell failed: {answer['error']}")
            continue
        if (answer["type"], answer["heldType"]) != ("String[]", "String"):
            problems.append(f"{case} {name}: topics {answer['type']}, held {answer['heldType']}")
        mine = {"applies": answer["applies"], "topics": answer["topics"], "held": answer["held"]}
        if mine != want["verdicts"][name]:
            problems.append(f"{case} {name}: PowerShell {mine}, Python {want['verdicts'][name]}")
    ported = [f["id"] for f in got["findings"] if f["ported"]]
    if ported != list(PORTED):
        problems.append(f"{case}: ported topics {ported}")
    for mine, theirs in zip(got["findings"], want["findings"], strict=True):
        status = STATUS[mine["status"]] if mine["ported"] else None
        found = {"id": mine["id"], "status": status, "commands": sorted(set(mine["commands"]))}
        if found != theirs:
            problems.append(f"{case}: PowerShell {found}, Python {theirs}")
    return problems


@needs_pwsh
def test_powershell_and_python_agree_on_every_case(parity: list[tuple[str, Any, Any]]) -> None:
    problems = [p for case, want, got in parity for p in _compare(case, want, got)]
    assert problems == [], "\n".join(problems[:40])


@needs_pwsh
def test_the_cases_are_many_and_refused_ones_are_refused(
    parity: list[tuple[str, Any, Any]],
) -> None:
    refused = [case for case, want, _ in parity if want.get("error")]
    assert len(refused) == len(REFUSED)
    verdicts = sum(len(got["verdicts"]) for _, _, got in parity)
    assert verdicts > 3000
    held = sum(1 for _, _, got in parity for v in got["verdicts"].values() if v.get("held"))
    assert held > 100


def _all_verdicts() -> list[tuple[str, tuple[str, ...], Verdict]]:
    found = []
    for variant in [*fixture_cases(), *all_variants()]:
        facts = load(variant.doc)
        for client in variant.clients:
            for name, switches in variant.asks():
                try:
                    found.append((name, switches, verdict(facts, name, client, switches)))
                except ValueError:
                    continue
    return found


def test_variants_say_yes_and_no_for_every_remediation_and_export() -> None:
    seen: dict[tuple[str, tuple[str, ...]], set[bool]] = {}
    for name, switches, v in _all_verdicts():
        seen.setdefault((name, switches), set()).add(v.applies)
    assert {name for name, _ in seen} == set(NAMES)
    assert {k for k, v in seen.items() if v != {True, False}} == set()


def test_variants_hold_for_every_reason() -> None:
    """Each held reason for each remediation whose verdict can be held for it."""
    templates = {
        "probe": HELD_PROBE,
        "probes": HELD_PROBES,
        "switch": HELD_SWITCH,
        "switches": HELD_SWITCHES,
        "running": HELD_RUNNING,
    }
    seen: set[tuple[str, str]] = set()
    for name, _, v in _all_verdicts():
        assert v.applies == (bool(v.topics) and not v.held)
        for kind, template in templates.items():
            head, _, tail = template.partition("{0}")
            if v.held and v.held.startswith(head) and v.held.endswith(tail):
                seen.add((name, kind))
    wanted = {(name, kind) for name in NAMES for kind in ("probe", "probes")} - {
        ("reset-certificate", "probes"),
        ("webroot-whitelist", "probes"),
    }
    wanted |= {
        ("restart-web-connector", "switch"),
        ("restart-web-connector", "switches"),
        ("restart-web-connector", "running"),
    }
    assert wanted <= seen, sorted(wanted - seen)
    assert {kind for _, kind in seen} == set(templates)


def test_variants_take_every_fix_of_every_topic() -> None:
    """Each (topic, subcommand) pair the doctor can name, named by some variant's finding."""
    named_pairs = set()
    for variant in [*fixture_cases(), *all_variants()]:
        facts = load(variant.doc)
        for client in variant.clients:
            for found in rules.evaluate(facts, client_name=client or None):
                named_pairs |= {(found.id, c, found.status) for c in found.commands}
    wanted = {
        ("tray-icon", "restart-tasks"),
        ("tray-icon", "reinstall-connector"),
        ("tray-icon", "restart-web-connector"),
        ("certificate", "reset-certificate"),
        ("queued-syncs", "reset-certificate"),
        ("queued-syncs", "restart-web-connector"),
        ("one-time-sync", "reinstall-connector"),
        ("one-time-sync", "restart-web-connector"),
        ("antivirus-policy", "collect-logs"),
        ("webroot", "webroot-whitelist"),
        ("network", "collect-logs"),
        ("logs", "collect-logs"),
        ("logs", "restart-web-connector"),
    }
    assert wanted <= {(topic, command) for topic, command, _ in named_pairs}
    failing = {(t, c) for t, c, s in named_pairs if s is not FindingStatus.OK}
    assert ("logs", "collect-logs") in failing  # an OK finding's offer, until a part warns


# -- the include as code ---------------------------------------------------------------------


def test_include_is_ascii_and_passes_the_51_checks(reference: ReferenceCommands) -> None:
    text = wrapper()
    assert text.isascii()
    report = check_script(text)
    assert (report.errors, report.ps7_only, report.quote_mismatches) == ([], [], [])
    assert [str(f) for f in check_rules(text)] == []
    used = commands_used(text)
    assert sorted(c for c in used if c.lower() not in allowed_commands()) == []
    problems = [
        f"{command} -{param}"
        for command, params in used.items()
        for param in params
        if not reference.accepts_parameter(command, param)
    ]
    assert problems == []


def test_include_changes_nothing_and_carries_no_dead_function() -> None:
    text = wrapper()
    assert all_state_changes(text) == []
    assert prune_unused_functions(text) == text


def test_constants_come_from_python() -> None:
    """The rendered values are the rules' own: a change there changes the script."""
    text = include()
    values = template_values()
    for name, value in values.items():
        assert value in text, name
    for code, known in QBWC_CODES.items():
        assert f"'{code}' = @('{known.topic}'" in text


# -- the rendered patterns and tables ----------------------------------------------------------


SAMPLES = [
    "20240514.08:00:00 UTC\t: x : QBWC1005 and qbwc1033, 0x8004040a -2147220470 2147746826",
    "20241399.25:61:00 UTC : QBWC10050 XQBWC1041 QBWC1041x 9QBWC1042",
    "20240514.08:00:00 UTC:QBWC1048 8004041D -9999999999 12345678901 0X8004041A",
    "  20240514.08:00:00 UTC : late start",
    "2024051.08:00:00 UTC : short",
    "",
]


@pytest.mark.parametrize(
    ("pattern", "anchored"), [(CODE_PATTERN, False), (qwclog._SDK, False), (qwclog._START, True)]
)
def test_dotnet_patterns_match_as_pythons_do(pattern: re.Pattern[str], anchored: bool) -> None:
    """On ASCII text (the .NET spelling differs only for other digits)."""
    converted = re.compile(dotnet_pattern(pattern, anchored=anchored), pattern.flags)
    for sample in SAMPLES:
        if anchored:
            mine = converted.match(sample)
            theirs = pattern.match(sample)
            assert (mine and mine.groups()) == (theirs and theirs.groups()), sample
        else:
            assert [m.groups() for m in converted.finditer(sample)] == [
                m.groups() for m in pattern.finditer(sample)
            ]


def test_dotnet_pattern_refuses_escapes_it_cannot_vouch_for() -> None:
    with pytest.raises(ValueError, match="escape"):
        dotnet_pattern(re.compile(r"\w+"))
    with pytest.raises(ValueError, match="named group"):
        dotnet_pattern(re.compile(r"(?P<x>a)"))


def _collected_by_pattern(text: str) -> datetime | None:
    pattern = re.compile(COLLECTED_PATTERN.replace(r"\z", r"\Z"))
    if len(text) < 19:
        return None
    match = pattern.match(text[:19])
    if match is None:
        return None
    try:
        return datetime(*(int(g) for g in match.groups()), tzinfo=timezone.utc)
    except ValueError:
        return None


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-14T09:15:00.0000000Z",
        "2024-05-14t09:15:00",
        "2024-5-14T09:15:00.0000000Z",
        "2024-05-14 09:15:00Z",
        "2024-02-29T23:59:59Z",
        "2023-02-29T23:59:59Z",
        "2024-05-14T24:00:00Z",
        "2024-05-14T09:15:60Z",
        "0000-05-14T09:15:00Z",
        "2024-13-14T09:15:00Z",
        "2024-05-14T09:15",
        "",
    ],
)
def test_collected_pattern_reads_what_python_reads(text: str) -> None:
    assert _collected_by_pattern(text) == webconnector._collected(text)


def _decode(table: str) -> dict[str, str]:
    found = {}
    for token in table.split(" "):
        if "=" in token:
            key, value = token.split("=")
            found[chr(int(key, 16))] = "".join(chr(int(c, 16)) for c in value.split("."))
            continue
        first, count, step, delta = (int(part, 16) for part in token.split(","))
        for i in range(count):
            found[chr(first + i * step)] = chr(first + i * step + delta)
    return found


def test_case_tables_are_pythons_lower_and_casefold() -> None:
    lower = _decode(case_table(str.lower))
    fold = _decode(case_table(str.casefold, str.lower))
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        ch = chr(code)
        assert lower.get(ch, ch) == ch.lower()
        assert fold.get(ch, lower.get(ch, ch)) == ch.casefold()


# -- verdict() in Python -------------------------------------------------------------------------


def facts_of(name: str) -> Facts:
    return Facts.from_dict(fixture(name))


def test_unknown_remediation_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown remediation 'restart-everything'"):
        verdict(facts_of("healthy"), "restart-everything")


def test_a_red_tray_icon_asks_for_restart_tasks_only() -> None:
    facts = facts_of("red_tray")
    assert verdict(facts, "restart-tasks") == Verdict(True, ("tray-icon",))
    assert verdict(facts, "restart-tasks", LEGACY.lower()) == Verdict(True, ("tray-icon",))
    assert verdict(facts, "restart-tasks", NO_SUCH_CLIENT) == Verdict(False, ())
    assert verdict(facts, "reset-certificate") == Verdict(False, ())


def test_a_placeholder_value_still_names_the_remediation() -> None:
    facts = facts_of("one_time_sync")
    found = rules.evaluate(facts)
    assert any("<URL>" in (f.fix or "") for f in found)
    assert verdict(facts, "reinstall-connector") == Verdict(True, ("tray-icon", "one-time-sync"))


def test_an_ok_finding_offering_a_fix_does_not_apply() -> None:
    assert verdict(facts_of("healthy"), "collect-logs") == Verdict(False, ())


def test_any_line_of_a_fix_counts() -> None:
    facts = facts_of("web_connector_log_not_writable")
    logs = next(f for f in rules.evaluate(facts) if f.id == "logs")
    assert len((logs.fix or "").splitlines()) == 2
    assert logs.commands == ("restart-web-connector", "collect-logs")
    assert logs.runs == (
        ("restart-web-connector", frozenset({"ResetLog"})),
        ("collect-logs", frozenset()),
    )
    assert verdict(facts, "collect-logs") == Verdict(True, ("logs",))
    both = {"ResetLog", "ForceClose"}
    assert verdict(facts, "restart-web-connector", None, both) == Verdict(True, ("logs",))


# -- what the baked fix can do -----------------------------------------------------------------


def test_a_fix_line_counts_only_with_its_danger_switches() -> None:
    facts = facts_of("web_connector_elevation_mismatch")
    needs = "the doctor's fix needs --force-close, which this export does not set"
    assert verdict(facts, "restart-web-connector") == Verdict(False, (), needs)
    assert verdict(facts, "restart-web-connector", None, ["ResetLog"]) == Verdict(False, (), needs)
    assert verdict(facts, "restart-web-connector", None, {"ForceClose"}) == Verdict(
        True, ("queued-syncs",)
    )


def test_a_switch_without_danger_does_not_gate() -> None:
    facts = facts_of("certificate_missing")
    found = next(f for f in rules.evaluate(facts) if f.id == "certificate")
    assert found.runs == (("reset-certificate", frozenset({"NotifyUser"})),)
    want = Verdict(True, ("certificate", "queued-syncs"))
    assert verdict(facts, "reset-certificate") == want
    assert verdict(facts, "reset-certificate", None, ("NotifyUser",)) == want


def test_unknown_switches_are_refused() -> None:
    facts = facts_of("healthy")
    with pytest.raises(ValueError, match="restart-tasks has no switch ForceClose"):
        verdict(facts, "restart-tasks", None, {"ForceClose"})
    with pytest.raises(ValueError, match="no switch forceclose"):
        verdict(facts, "restart-web-connector", None, ["forceclose"])
    with pytest.raises(ValueError, match="no switch ClientName"):
        verdict(facts, "restart-tasks", None, ["ClientName"])


def test_a_failed_probe_holds_the_verdict() -> None:
    doc = fixture("web_connector_closed")
    doc["errors"] = ["processes: Access is denied.", "antivirus: Invalid namespace"]
    held = Verdict(False, ("tray-icon", "queued-syncs"), HELD_PROBE.format("processes"))
    assert verdict(Facts.from_dict(doc), "restart-web-connector") == held
    doc["errors"] = ["web_connector.startup.tasks: x", "users: y", "web_connectorx: z"]
    found = verdict(Facts.from_dict(doc), "restart-web-connector")
    assert found.held == HELD_PROBES.format("web_connector.startup.tasks, users")
    doc["errors"] = ["webroot: down"]  # not a probe this fix reads
    assert verdict(Facts.from_dict(doc), "restart-web-connector").applies


def test_a_restart_without_force_close_must_have_someone_to_start() -> None:
    doc = fixture("web_connector_closed")
    assert verdict(Facts.from_dict(doc), "restart-web-connector").applies
    doc["web_connector"]["apps"] = []
    assert verdict(Facts.from_dict(doc), "restart-web-connector").applies  # her Run value
    doc["web_connector"]["startup"][0]["sid"] = None  # the machine's: names nobody
    held = verdict(Facts.from_dict(doc), "restart-web-connector")
    assert (held.applies, held.held) == (False, HELD_RUNNING.format("--force-close"))
    assert verdict(Facts.from_dict(doc), "restart-web-connector", None, ["ForceClose"]).applies
    # with --reset-log and no Web Connector running anywhere, the log is reset
    assert verdict(Facts.from_dict(doc), "restart-web-connector", None, ["ResetLog"]).applies


def test_an_empty_client_name_is_none() -> None:
    facts = facts_of("red_tray")
    assert verdict(facts, "restart-tasks", "") == verdict(facts, "restart-tasks")


def test_subcommands_stay_out_of_the_report() -> None:
    found = next(f for f in rules.evaluate(facts_of("red_tray")) if f.id == "tray-icon")
    assert found.commands == ("restart-tasks",)
    assert "commands" not in found.to_dict()
