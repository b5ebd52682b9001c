"""reset-certificate: the rendered script is valid 5.1, changes state only through
Invoke-QbdChange, and says exactly what the QuickBooks Admin must click."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
import tree_sitter

from qbd_fix.remediations import REMEDIATIONS
from qbd_fix.script.params import ParamValue
from tests.support.pwsh import REFERENCE_PATH, ReferenceCommands, check_script, parse

NAME = "reset-certificate"
TEMPLATE = Path(__file__).parents[1] / "qbd_fix" / "templates" / "reset_certificate.ps1.j2"
VARIANTS: dict[str, dict[str, ParamValue]] = {
    "defaults": {},
    "launch": {"LaunchInstaller": True},
    "notify": {"NotifyUser": True},
    "all": {
        "LaunchInstaller": True,
        "NotifyUser": True,
        "ClientName": "O'Brien – Books",
        "SdkLogTailKiB": 64,
    },
}

# Verbs and cmdlets that change the machine; result helpers only change the result document.
STATE_CHANGING = re.compile(
    r"^(Stop|Start|Add|Set|Remove|Register|Unregister|Copy|Move)-", re.IGNORECASE
)
STATE_CHANGING_NAMES = {"new-item", "out-file", "set-content"}
RESULT_ONLY = {
    "set-qbdstatus",
    "set-qbddata",
    "add-qbdcheck",
    "add-qbdaction",
    "add-qbdmessage",
    "set-strictmode",
    "start-sleep",
}


@cache
def rendered(variant: str) -> str:
    return REMEDIATIONS[NAME].render(VARIANTS[variant]).text


# -- structural guard: every state change sits in an Invoke-QbdChange -Change block ----------


def _nodes(
    root: tree_sitter.Node,
) -> Iterator[tuple[tree_sitter.Node, tuple[tree_sitter.Node, ...]]]:
    """Every node with its ancestors (innermost last)."""
    stack: list[tuple[tree_sitter.Node, tuple[tree_sitter.Node, ...]]] = [(root, ())]
    while stack:
        node, parents = stack.pop()
        yield node, parents
        stack.extend((child, (*parents, node)) for child in node.children)


def _command_name(node: tree_sitter.Node) -> str | None:
    for child in node.children:
        if child.type == "command_name":
            return (child.text or b"").decode()
    return None


def _is_change_block(node: tree_sitter.Node) -> bool:
    """``node`` is the script block given to ``Invoke-QbdChange -Change``."""
    if node.type != "script_block_expression":
        return False
    elements = node.parent.parent if node.parent is not None else None
    if elements is None or elements.type != "command_elements" or elements.parent is None:
        return False
    if (_command_name(elements.parent) or "").lower() != "invoke-qbdchange":
        return False
    previous = node.parent.prev_named_sibling
    while previous is not None and previous.type == "command_argument_sep":
        previous = previous.prev_named_sibling
    return previous is not None and (previous.text or b"").decode().lower() == "-change"


def _context(parents: tuple[tree_sitter.Node, ...]) -> str | None:
    """``'change'`` inside a -Change block, the function's name inside one, else ``None``."""
    for parent in reversed(parents):
        if _is_change_block(parent):
            return "change"
        if parent.type == "function_statement":
            for child in parent.children:
                if child.type == "function_name":
                    return (child.text or b"").decode().lower()
    return None


def unguarded_state_changes(text: str) -> list[str]:
    """State-changing calls not reached only through an ``Invoke-QbdChange -Change`` block.

    A call inside a function counts as guarded when every call of that function is guarded
    (recursively); ``Invoke-QbdChange`` itself only records results.
    """
    calls: dict[str, list[str | None]] = {}  # function called -> context of each call
    changing: list[tuple[str, str | None, int]] = []
    for node, parents in _nodes(parse(text).root_node):
        if node.type != "command":
            continue
        name = (_command_name(node) or "").lower()
        if not name:
            continue
        context = _context(parents)
        calls.setdefault(name, []).append(context)
        if name in RESULT_ONLY:
            continue
        if STATE_CHANGING.match(name) or name in STATE_CHANGING_NAMES:
            changing.append((name, context, node.start_point[0] + 1))

    def guarded(context: str | None, seen: frozenset[str]) -> bool:
        if context == "change":
            return True
        if context is None or context in seen or context == "invoke-qbdchange":
            return False
        sites = calls.get(context, [])
        return bool(sites) and all(guarded(site, seen | {context}) for site in sites)

    return [
        f"line {line}: {name} (in {context or 'top level'})"
        for name, context, line in changing
        if not guarded(context, frozenset())
    ]


def test_guard_checker_catches_an_unguarded_change() -> None:
    script = """
function Write-Note { Set-Content -LiteralPath $p -Value 'x' }
function Invoke-Safe { $null = Invoke-QbdChange -Target 't' -Action 'a' -Change { Write-Note } }
Write-Note
$null = Invoke-QbdChange -Target 't' -Action 'a' -Change { Add-MpPreference -ExclusionPath $p }
Stop-Process -Id 4
"""
    found = unguarded_state_changes(script)
    assert any("set-content" in f for f in found)  # Write-Note is also called unguarded
    assert any("stop-process" in f for f in found)
    assert not any("add-mppreference" in f for f in found)


def test_guard_checker_accepts_functions_only_called_from_change_blocks() -> None:
    script = """
function Write-Note { Set-Content -LiteralPath $p -Value 'x' }
$null = Invoke-QbdChange -Target 't' -Action 'a' -Change { Write-Note }
"""
    assert unguarded_state_changes(script) == []


# -- the rendered script ------------------------------------------------------------------------


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_valid_windows_powershell_51(variant: str) -> None:
    report = check_script(rendered(variant))
    assert report.ok, (report.errors, report.ps7_only, report.quote_mismatches)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_commands_are_defined_or_in_51_with_their_parameters(variant: str) -> None:
    if not REFERENCE_PATH.exists():
        pytest.skip("Windows PowerShell 5.1 reference not present")
    reference = ReferenceCommands.load()
    report = check_script(rendered(variant))
    problems = []
    for command, params in report.external_commands().items():
        if command == "&":
            continue
        if reference.is_alias(command) or not reference.has_command(command):
            problems.append(f"{command}: not in 5.1")
            continue
        problems += [
            f"{command} -{p}" for p in params if not reference.accepts_parameter(command, p)
        ]
    assert problems == []


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_state_change_goes_through_invoke_qbdchange(variant: str) -> None:
    assert unguarded_state_changes(rendered(variant)) == []


def test_user_values_only_reach_the_param_block() -> None:
    value = "Acme'; Remove-Item -Path C:\\ -Recurse; '"
    text = REMEDIATIONS[NAME].render({"ClientName": value}).text
    assert check_script(text).ok
    assert "Remove-Item -Path C:\\ -Recurse" in text.split("Set-StrictMode", 1)[0]
    assert "Remove-Item" not in text.split("Set-StrictMode", 1)[1]


def test_template_avoids_the_change_block_variable_names() -> None:
    source = TEMPLATE.read_text(encoding="utf-8")
    assert not re.search(r"\$(Target|Action|Change|description)\b", source, re.IGNORECASE)


def test_client_name_is_compared_as_text_not_as_a_pattern() -> None:
    text = rendered("defaults")
    assert (
        "$file.Name.StartsWith($ClientName, [System.StringComparison]::OrdinalIgnoreCase)" in text
    )
    assert not re.search(r"-(i|c)?(not)?(like|match)\s+\$ClientName", text, re.IGNORECASE)


def test_double_quoted_strings_hold_no_variables() -> None:
    for node, _ in _nodes(parse(rendered("all")).root_node):
        if node.type in ("expandable_string_literal", "expandable_here_string_literal"):
            assert b"$" not in (node.text or b""), node.text


# -- what the script looks at and says ----------------------------------------------------------


def test_finds_quickbooks_installed_and_running() -> None:
    text = rendered("defaults")
    assert "'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall'" in text
    assert "'HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall'" in text
    assert "'HKLM:\\SOFTWARE\\Intuit\\QuickBooks'" in text
    assert "-notlike 'QuickBooks*'" in text
    assert "\"Name = 'QBW32.exe' OR Name = 'QBW.exe'\"" in text
    assert "-MethodName GetOwner -WhatIf:$false -Confirm:$false" in text  # reads even under -WhatIf
    assert "Write-QbdGeneration -Install $installs" in text


def test_finds_installers_in_every_users_downloads() -> None:
    text = rendered("defaults")
    assert "Get-QbdUserProfile" in text and "-ChildPath 'Downloads'" in text
    assert "'*-quickbooksdesktop-connector*.exe', 'QuickBooksDesktopConnector*.exe'" in text
    used = {
        (n.text or b"").decode().lower()
        for n, _ in _nodes(parse(text).root_node)
        if n.type == "variable"
    }
    assert not used & {"$env:userprofile", "$env:localappdata"}  # the caller's, not the user's
    # Preferred client first, then newest first.
    assert (
        "@{ Expression = 'matches_client'; Descending = $true }, @{ Expression = 'last_write_time'; Descending = $true }"
        in text
    )


def test_reads_the_sdk_log_tail_shared_and_knows_the_codes() -> None:
    text = rendered("defaults")
    assert "'Intuit\\QuickBooks\\qbsdklog.txt'" in text
    assert "[System.IO.FileShare]::ReadWrite" in text
    assert "Get-Content" not in text.split("function Get-QbdSdkLog", 1)[1].split("function ", 1)[0]
    for code in (
        "0x80040154", "0x80040403", "0x80040408", "0x8004040A", "0x80040416", "0x80040417",
        "0x80040418", "0x8004041A", "0x8004041D", "0x80040420", "0x80040422", "0x80040424",
    ):  # fmt: skip
        assert f"'{code}' = '" in text, code
    assert 'the "Yes, always" grant is missing' in text
    assert "codes = [ordered]@{}" in text and "last_line = $last" in text


def test_steps_are_the_seeds_in_order() -> None:
    text = rendered("defaults")
    steps = [
        "'Step 1: On this PC, open QuickBooks Desktop as the QuickBooks Admin user, with the company file the connector uses",
        "'Step 2: Go to Edit > Preferences > Integrated Applications > Company Preferences.'",
        "'Step 3: Select {0} and click Remove, then OK.'",
        "'Step 4: {0}'",
        "'Step 5: When QuickBooks shows the Application Certificate prompt, choose \"Yes, always; allow access even if QuickBooks is not running\" and confirm.'",
    ]
    positions = [text.index(step) for step in steps]
    assert positions == sorted(positions)
    assert "'the application named ''QuickBooks Connector'''" in text
    assert (
        "Re-run the connector installer {0} (in {1}''s Downloads), or re-visit the connector download page."
        in text
    )


def test_outcome_is_needs_user_action_with_generation_specific_guidance() -> None:
    text = rendered("defaults")
    body = text.split("function Invoke-QbdRemediation", 1)[1]
    assert "Set-QbdStatus -Status 'needs_user_action'" in body
    assert "The connector is not installed on this PC" in body
    assert "re-run the installer from the connector download page".lower() in body.lower()
    assert (
        "the name under Integrated Applications may differ from ''QuickBooks Connector'', but the steps below still apply"
        in body
    )


def test_launch_installer_needs_an_interactive_user_and_uses_their_session() -> None:
    text = rendered("launch")
    fn = text.split("function Invoke-QbdLaunchInstaller", 1)[1].split("\nfunction ", 1)[0]
    assert "nobody is logged on" in fn
    assert "no connector installer was found" in fn
    assert "Invoke-QbdChange -Target" in fn
    assert "Start-QbdInUserSession -UserId $userId -Execute $installerPath" in fn
    assert "is already running" in fn  # idempotent: a second run does not start it twice
    assert "Get-QbdInteractiveUser" in text


def test_notify_user_writes_a_note_and_opens_notepad_in_the_users_session() -> None:
    text = rendered("notify")
    fn = text.split("function Invoke-QbdNotifyUser", 1)[1].split("\nfunction ", 1)[0]
    assert "Join-Path -Path $env:ProgramData -ChildPath 'qbd-fix'" in fn
    assert "New-Item -Path $noteFolder -ItemType Directory -Force" in fn
    assert "Set-Content -LiteralPath $notePath -Value $noteText -Encoding UTF8 -NoNewline" in fn
    assert "already holds these steps; not rewritten" in fn  # idempotent
    assert "Start-QbdInUserSession -UserId $userId -Execute 'notepad.exe'" in fn
    assert "nobody is logged on" in fn
    assert "msg.exe" not in TEMPLATE.read_text(encoding="utf-8").split("msg.exe is missing", 1)[1]


def test_switches_are_parameters_not_template_branches() -> None:
    # The same script text serves every switch: only the param block differs.
    body = {v: rendered(v).split("Set-StrictMode", 1)[1] for v in ("defaults", "launch", "notify")}
    assert body["defaults"] == body["launch"] == body["notify"]
    assert "[switch] $LaunchInstaller = $true" in rendered("launch")
    assert "[int] $SdkLogTailKiB = 256" in rendered("defaults")


def test_guard_check_sees_this_scripts_changes() -> None:
    text = rendered("notify")
    mutated = text.replace(
        "    $noteText = $lines -join",
        "    Set-Content -LiteralPath $notePath -Value 'x'\n    $noteText = $lines -join",
    )
    assert mutated != text
    assert any("set-content" in f for f in unguarded_state_changes(mutated))
