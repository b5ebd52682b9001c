"""The doctor's facts script: read-only by construction, and what it gathers (syntax, commands
and the read-only guard: tests/test_scripts.py, which renders the doctor beside the
remediations)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from qbd_fix.doctor import DOCTOR
from qbd_fix.remediations import REMEDIATIONS
from tests.support.guards import is_state_changing_command, reachable_functions
from tests.support.pwsh import check_script, parse

TEMPLATE = Path(__file__).parents[1] / "qbd_fix" / "templates" / "doctor_facts.ps1.j2"
#: The doctor's record of a failed probe: it only appends to a list in memory.
IN_MEMORY_FUNCTIONS = ("Add-QbdFactError",)


@cache
def script_text() -> str:
    return DOCTOR.render().text


def own_body() -> str:
    """The doctor template without its includes: the code this command adds."""
    return re.sub(r"\{%.*?%\}|\{\{.*?\}\}", "", TEMPLATE.read_text(encoding="utf-8"))


def test_doctor_is_not_a_remediation() -> None:
    assert DOCTOR.read_only
    assert "doctor" not in REMEDIATIONS
    assert all(r.template != DOCTOR.template for r in REMEDIATIONS.values())


def test_own_code_has_no_state_changing_command() -> None:
    """The doctor's own code calls no changing command, the change wrapper included, and builds
    no .NET objects (the in-memory result helpers aside)."""
    used = {c.lower() for c in check_script(own_body()).commands}
    writes = sorted(
        c
        for c in used
        if is_state_changing_command(c, read_only=True, not_changes=IN_MEMORY_FUNCTIONS)
    )
    assert writes == [], f"state-changing commands in doctor_facts.ps1.j2: {writes}"
    assert "new-object" not in used


def test_the_probes_are_reachable_and_no_change_helper_is() -> None:
    """What the read-only guard (tests/test_scripts.py) covers: the probes, reached from the top
    level; and the prelude's change helpers stay unreachable."""
    functions = reachable_functions(script_text())
    assert "invoke-qbdremediation" in functions
    assert "find-qbdconnector" in functions and "get-qbdinteractiveuser" in functions
    assert "get-qbdrebootfact" in functions
    assert not functions & {"invoke-qbdchange", "start-qbdinusersession"}


def test_no_file_redirection_or_call_operator_in_own_code() -> None:
    stack = [parse(own_body()).root_node]
    found = []
    while stack:
        node = stack.pop()
        if node.type in ("redirection", "command_invocation_operator"):
            found.append((node.text or b"").decode())
        stack.extend(node.children)
    assert found == []


def test_parameters_are_typed_and_bounded() -> None:
    names = [p.name for p in DOCTOR.parameters]
    assert names == ["LogTailKiB", "EventDays", "QwcLogLines", "ConnectTimeoutMs"]
    text = DOCTOR.render(
        {"LogTailKiB": 64, "EventDays": 1, "QwcLogLines": 50, "ConnectTimeoutMs": 500}
    ).text
    assert "[int] $LogTailKiB = 64" in text and "[int] $QwcLogLines = 50" in text
    with pytest.raises(TypeError):
        DOCTOR.render({"LogTailKiB": "64"})


@pytest.mark.parametrize(
    "fragment",
    [
        "Get-ScheduledTaskInfo",  # last run time and result of the two tasks
        "QuickbooksDesktopUI.exe",
        "QBWebConnector.exe",
        "QBW32.exe",
        "CommandLine",  # company file from QuickBooks' command line
        "[System.IO.FileShare]::ReadWrite",  # logs held open by their writers
        "qbsdklog.txt",
        "QWCLog.txt",
        "root/SecurityCenter2",
        "WRSVC",
        "WRCoreService",
        "WRSkyClient",
        "Get-MpComputerStatus",
        "Get-MpThreatDetection",
        "Microsoft-Windows-AppLocker/EXE and DLL",
        "Microsoft-Windows-AppLocker/MSI and Script",
        "Microsoft-Windows-SoftwareRestrictionPolicies",
        "quickbooksdesktop.codat.io",
        "connectors.codat.io",
        "System.Net.Sockets.TcpClient",
        "Component Based Servicing\\RebootPending",
        "WindowsUpdate\\Auto Update\\RebootRequired",
        "PendingFileRenameOperations",
        "Get-QbdInteractiveUser",
        "Set-QbdData -Name 'facts'",
        # the current generation: the Web Connector
        "Common Files\\Intuit\\QuickBooks\\QBWebConnector",
        "Software\\Intuit\\QB web connector",
        "CurrentVersion\\Run",
        "WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Run",
        "Start Menu\\Programs\\Startup",
        "StartupApproved",
        "Intuit\\QBWebConnector\\log",
        "Get-Acl -LiteralPath",
        "TokenElevation = 20",
        "Write-QbdStep -Step",
    ],
)
def test_script_gathers(fragment: str) -> None:
    assert fragment in script_text()


def test_secret_values_are_never_read() -> None:
    """A registry value whose name suggests a secret, or is not known to be harmless, or whose
    kind is not text or a number, is redacted before GetValue is called."""
    text = script_text()
    body = text[text.index("function Get-QbdRegistryValueFact") :]
    body = body[: body.index("\n}\n")]
    read = body.index(".GetValue($Name)")
    assert body.index("$Name -notmatch $script:QbdHarmlessValueName") < read
    assert body.index("$script:QbdSecretName") < read
    assert body.index("-notcontains $kind") < read
    assert body.count(".GetValue(") == 1
    assert "$script:QbdSecretName = '(?i)(pass|pwd|secret|token|key|cred)'" in text
    assert "$script:QbdHarmlessValueName = '(?i)^(AppName|" in text


def _facts_block() -> str:
    text = script_text()
    start = text.index("    $facts = [ordered]@{")
    return text[start : text.index("\n    }\n", start)]


def test_each_list_fact_is_emitted_once_flat() -> None:
    """Every fact the schema calls a list is wrapped in @() exactly once where it is collected,
    and nothing the script runs emits a list with the unary comma (which @() would nest)."""
    from qbd_fix.doctor.facts import schema
    from tests.support.rules import check_rules

    lists = sorted(
        name
        for name, spec in schema()["properties"].items()
        if "array"
        in ([spec["type"]] if isinstance(spec.get("type"), str) else spec.get("type", []))
    )
    assert {"tasks", "processes", "uninstall", "policy", "users", "antivirus"} <= set(lists)
    block = _facts_block()
    text = script_text()
    for name in lists:
        line = re.search(rf"^\s+{name}\s+= (.+)$", block, re.MULTILINE)
        assert line is not None, name
        value = line.group(1).strip()
        if value.startswith("$"):  # collected into a variable first: look at its assignment
            variable = re.escape(value.removeprefix("$script:").removeprefix("$"))
            assigned = re.findall(rf"^\s+\$(?:script:)?{variable} = (.+)$", text, re.MULTILINE)
            assert assigned, name
            value = assigned[0].strip()
        assert value.startswith("@(") and not value.startswith("@(@("), (name, value)
    assert not re.search(r"return\s*,", text), "a function emits a list with the unary comma"
    assert [f for f in check_rules(text) if f.rule == "comma-list-wrapped"] == []
