"""The doctor's facts script: valid 5.1 PowerShell, known commands, and read-only by construction."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from qbd_fix.doctor import DOCTOR
from qbd_fix.remediations import REMEDIATIONS
from tests.support.pwsh import ReferenceCommands, check_script, commands_used, parse

TEMPLATE = Path(__file__).parents[1] / "qbd_fix" / "templates" / "doctor_facts.ps1.j2"
ALLOWED_FILE = Path(__file__).parent / "support" / "allowed_commands.txt"

#: Verbs of commands that change state; none may be reachable from the doctor's code.
WRITE_VERBS = (
    "Set", "Start", "Stop", "New", "Remove", "Add", "Register", "Unregister", "Restart",
    "Enable", "Disable", "Clear", "Rename", "Move", "Copy", "Install", "Uninstall", "Update",
    "Reset", "Suspend", "Resume", "Send", "Export", "Import",
)  # fmt: skip
WRITE_COMMANDS = {"out-file", "set-content", "add-content", "tee-object", "invoke-qbdchange", "start-qbdinusersession"}
#: Not changes to the PC: an in-memory .NET object, and the script's own strict mode (prelude).
IN_MEMORY = {"new-object", "set-strictmode"}


@cache
def script_text() -> str:
    return DOCTOR.render().text


def own_body() -> str:
    """The doctor template without its includes: the code this command adds."""
    return re.sub(r"\{%.*?%\}|\{\{.*?\}\}", "", TEMPLATE.read_text(encoding="utf-8"))


def _is_write(command: str) -> bool:
    name = command.lower()
    if name in WRITE_COMMANDS:
        return True
    return any(name.startswith(verb.lower() + "-") for verb in WRITE_VERBS)


def call_graph(text: str) -> tuple[set[str], dict[str, set[str]]]:
    """Commands the top level calls, and per function the commands its body calls."""
    root = parse(text).root_node
    functions: dict[str, set[str]] = {}
    spans = []
    stack = [root]
    src = text.encode("utf-8")
    while stack:
        node = stack.pop()
        if node.type == "function_statement":
            name = next(c.text.decode() for c in node.children if c.type == "function_name")
            body = src[node.start_byte : node.end_byte].decode("utf-8")
            functions[name.lower()] = {c.lower() for c in check_script(body).commands}
            spans.append((node.start_byte, node.end_byte))
            continue
        stack.extend(node.children)
    top = bytearray(src)
    for start, end in spans:
        top[start:end] = b" " * (end - start)
    top_commands = {c.lower() for c in check_script(top.decode("utf-8")).commands}
    return top_commands, functions


def reachable_commands(text: str) -> tuple[set[str], set[str]]:
    """(script functions reachable from the top level, outside commands they call)."""
    top, functions = call_graph(text)
    seen_functions: set[str] = set()
    outside: set[str] = set()
    pending = list(top)
    while pending:
        name = pending.pop()
        if name in functions:
            if name not in seen_functions:
                seen_functions.add(name)
                pending.extend(functions[name])
        else:
            outside.add(name)
    return seen_functions, outside


def test_doctor_is_not_a_remediation() -> None:
    assert DOCTOR.read_only
    assert "doctor" not in REMEDIATIONS
    assert all(r.template != DOCTOR.template for r in REMEDIATIONS.values())


def test_script_parses_as_windows_powershell_51() -> None:
    report = check_script(script_text())
    assert report.ok, (report.errors, report.ps7_only, report.quote_mismatches)


def test_own_code_has_no_state_changing_command() -> None:
    """Script functions (the in-memory result helpers) aside, no write verb; no change helper."""
    used = {c.lower() for c in check_script(own_body()).commands}
    _, functions = call_graph(script_text())
    writes = sorted(c for c in used if c in WRITE_COMMANDS or (c not in functions and _is_write(c)))
    assert writes == [], f"state-changing commands in doctor_facts.ps1.j2: {writes}"
    assert "new-object" not in used


def test_nothing_state_changing_is_reachable() -> None:
    functions, outside = reachable_commands(script_text())
    assert "invoke-qbdremediation" in functions
    assert "find-qbdconnector" in functions and "get-qbdinteractiveuser" in functions
    assert not functions & WRITE_COMMANDS, "a state-changing helper is reachable"
    writes = sorted(c for c in outside - IN_MEMORY if _is_write(c))
    assert writes == [], f"reachable state-changing commands: {writes}"


def test_no_file_redirection_or_call_operator_in_own_code() -> None:
    stack = [parse(own_body()).root_node]
    found = []
    while stack:
        node = stack.pop()
        if node.type in ("redirection", "command_invocation_operator"):
            found.append(node.text.decode())
        stack.extend(node.children)
    assert found == []


def test_read_only_check_catches_a_write() -> None:
    """The reachability test would notice a change slipped into a probe."""
    tampered = script_text().replace(
        "function Get-QbdRebootFact {", "function Get-QbdRebootFact {\n    Stop-Process -Id 4 -Force", 1
    )
    _, outside = reachable_commands(tampered)
    assert "stop-process" in outside
    assert _is_write("Stop-Process") and _is_write("Set-Content") and not _is_write("Get-Item")


def test_commands_are_on_the_allowed_list() -> None:
    allowed = {
        line.strip().lower()
        for line in ALLOWED_FILE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    used = commands_used(script_text())
    used.pop("&", None)
    unknown = sorted(c for c in used if c.lower() not in allowed)
    assert unknown == []


def test_commands_exist_in_51_with_those_parameters(reference: ReferenceCommands) -> None:
    problems = []
    for command, params in commands_used(script_text()).items():
        if command == "&" or command.lower().endswith(".exe"):
            continue
        if reference.is_alias(command) or not reference.has_command(command):
            problems.append(f"{command}: not a Windows PowerShell 5.1 command")
            continue
        problems += [
            f"{command} -{p}: no such parameter in 5.1"
            for p in params
            if not p.startswith("@") and reference.accepts_parameter(command, p) is False
        ]
    assert problems == []


def test_parameters_are_typed_and_bounded() -> None:
    names = [p.name for p in DOCTOR.parameters]
    assert names == ["LogTailKiB", "EventDays", "ConnectTimeoutMs"]
    text = DOCTOR.render({"LogTailKiB": 64, "EventDays": 1, "ConnectTimeoutMs": 500}).text
    assert "[int] $LogTailKiB = 64" in text
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
    ],
)
def test_script_gathers(fragment: str) -> None:
    assert fragment in script_text()
