"""reinstall-connector: the script renders for every option, calls only 5.1 commands, and
changes nothing outside ``Invoke-QbdChange`` or before the Company ID has been checked and
link.json and the logs backed up."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
import tree_sitter

from qbd_fix.remediations.reinstall_connector import REINSTALL_CONNECTOR
from qbd_fix.script.params import ParamValue
from tests.support.pwsh import REFERENCE_PATH, ReferenceCommands, check_script, commands_used, parse

TEMPLATE = Path(__file__).resolve().parents[1] / "qbd_fix" / "templates" / "reinstall_connector.ps1.j2"
COMPANY = "8a210b68-6988-11ed-a1eb-0242ac120002"

VARIANTS: dict[str, dict[str, ParamValue]] = {
    "defaults": {},
    "force": {"Force": True},
    "url": {"Installer": "https://example.com/downloads/Acme-quickbooksdesktop-connector.exe"},
    "path": {"Installer": "C:\\Users\\Ann\\Downloads\\O'Brien-quickbooksdesktop-connector.exe"},
    "msi": {"Installer": "\\\\server\\share\\QuickBooks Connector.msi"},
    "client-and-company": {"ClientName": "O'Brien & Sons \u2013 Books [EU] *", "CompanyId": COMPANY},
    "timeout": {"InstallTimeoutSeconds": 30},
    "everything": {
        "Installer": "https://example.com/a.exe",
        "ClientName": "Codat Engineering - Integration",
        "CompanyId": "{" + COMPANY.upper() + "}",
        "Force": True,
        "InstallTimeoutSeconds": 1200,
    },
}

# Commands and .NET methods that change the PC. Each must run inside an Invoke-QbdChange -Change
# block, or inside a function that is itself only called from one.
CHANGING_COMMANDS = frozenset(
    c.lower()
    for c in (
        "Stop-Process", "Start-Process", "Stop-ScheduledTask", "Start-ScheduledTask",
        "Register-ScheduledTask", "Unregister-ScheduledTask", "Disable-ScheduledTask",
        "Invoke-WebRequest", "New-Item", "Copy-Item", "Move-Item", "Remove-Item", "Rename-Item",
        "Set-Content", "Add-Content", "Out-File", "Set-Acl", "Set-ItemProperty",
        "Remove-ItemProperty", "msiexec.exe", "shutdown.exe",
    )
)
CHANGING_METHODS = frozenset(
    {"writealltext", "writeallbytes", "appendalltext", "delete", "move", "createdirectory", "setaccesscontrol"}
)


@cache
def rendered(variant: str) -> str:
    return REINSTALL_CONNECTOR.render(VARIANTS[variant]).text


def function_body(text: str, name: str) -> str:
    """The text of one function, from its ``function`` line to the next top-level function."""
    start = text.index(f"function {name} {{")
    end = text.find("\nfunction ", start + 1)
    return text[start : end if end > 0 else len(text)]


# ------------------------------------------------------------------------------------------
# Syntax and commands
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_renders_valid_51_script(variant: str) -> None:
    report = check_script(rendered(variant))
    assert report.ok, (report.errors, report.ps7_only, report.quote_mismatches)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_values_do_not_change_the_script_shape(variant: str) -> None:
    assert commands_used(rendered(variant)) == commands_used(rendered("defaults"))


@pytest.mark.skipif(not REFERENCE_PATH.exists(), reason="Windows PowerShell 5.1 reference not available")
def test_commands_exist_in_51_with_their_parameters() -> None:
    reference = ReferenceCommands.load()
    problems = []
    for command, params in commands_used(rendered("everything")).items():
        if command == "&" or command.lower().endswith(".exe"):
            continue
        if not reference.has_command(command) or reference.is_alias(command):
            problems.append(command)
            continue
        problems += [f"{command} -{p}" for p in params if not reference.accepts_parameter(command, p)]
    assert problems == []


# ------------------------------------------------------------------------------------------
# Every change goes through Invoke-QbdChange (checked on the syntax tree)
# ------------------------------------------------------------------------------------------


def _command_name(node: tree_sitter.Node) -> str:
    for child in node.children:
        if child.type == "command_name":
            return (child.text or b"").decode()
    return ""


def _in_change_block(node: tree_sitter.Node) -> bool:
    """Whether *node* lies in the script block given to ``Invoke-QbdChange -Change``."""
    current = node.parent
    while current is not None:
        if current.type == "script_block_expression" and current.parent is not None:
            argument = current.parent
            previous = argument.prev_named_sibling
            while previous is not None and previous.type == "command_argument_sep":
                previous = previous.prev_named_sibling
            elements = argument.parent
            command = elements.parent if elements is not None else None
            if (
                previous is not None
                and previous.type == "command_parameter"
                and (previous.text or b"").decode().lower() == "-change"
                and command is not None
                and _command_name(command).lower() == "invoke-qbdchange"
            ):
                return True
        current = current.parent
    return False


def _is_change(node: tree_sitter.Node) -> bool:
    if node.type == "command":
        return _command_name(node).lower() in CHANGING_COMMANDS
    if node.type == "invocation_expression":
        member = next((c for c in node.children if c.type == "member_name"), None)
        name = (member.text or b"").decode().lower() if member is not None else ""
        if name in CHANGING_METHODS:
            return True
        target = (node.children[0].text or b"").decode().lower() if node.children else ""
        return name == "create" and "io.file" in target
    return False


def _enclosing_function(node: tree_sitter.Node) -> str | None:
    current = node.parent
    while current is not None:
        if current.type == "function_statement":
            for child in current.children:
                if child.type == "function_name":
                    return (child.text or b"").decode().lower()
        current = current.parent
    return None


def unguarded_changes(text: str) -> tuple[list[str], set[str]]:
    """Changes reachable outside a -Change block: ``(top-level findings, changing functions)``.

    A function is "changing" when it changes something (or calls a changing function) outside
    a -Change block; calling such a function outside a -Change block is then itself a change.
    """
    nodes: list[tree_sitter.Node] = []
    stack = [parse(text).root_node]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node.children)
    changing: set[str] = set()
    while True:
        found: list[tuple[str | None, str]] = []
        for node in nodes:
            called = _command_name(node).lower() if node.type == "command" else ""
            if (_is_change(node) or called in changing) and not _in_change_block(node):
                line = node.start_point[0] + 1
                found.append((_enclosing_function(node), f"{line}: {(node.text or b'').decode()[:60]}"))
        grown = changing | {fn for fn, _ in found if fn is not None}
        if grown == changing:
            return [where for fn, where in found if fn is None], changing
        changing = grown


def test_detector_flags_a_change_outside_invoke_qbdchange() -> None:
    script = (
        "function Stop-It {\n    param([int] $Id)\n    Stop-Process -Id $Id\n}\n"
        "function Invoke-QbdRemediation {\n    Stop-It -Id 1\n}\n"
        "$null = Invoke-QbdChange -Target 'a' -Action 'b' -Change { Stop-It -Id 2 }\n"
        "Invoke-QbdRemediation\n"
    )
    top, changing = unguarded_changes(script)
    assert changing == {"stop-it", "invoke-qbdremediation"}
    assert len(top) == 1 and "Invoke-QbdRemediation" in top[0]


@pytest.mark.parametrize("variant", ["defaults", "everything"])
def test_every_change_is_inside_invoke_qbdchange(variant: str) -> None:
    top, changing = unguarded_changes(rendered(variant))
    assert top == []
    assert "invoke-qbdremediation" not in changing
    # The detector must see the real work, or this test proves nothing.
    assert {"backup-qbdconnector", "invoke-qbduninstallcommand", "start-qbdinusersession"} <= changing


# ------------------------------------------------------------------------------------------
# Order and behaviour, read from the script text
# ------------------------------------------------------------------------------------------


def test_every_refusal_comes_before_the_first_change() -> None:
    body = function_body(rendered("defaults"), "Invoke-QbdRemediation")
    first_change = body.index("Invoke-QbdChange")
    refusals = [m.start() for m in re.finditer("Nothing was changed", body)]
    assert len(refusals) >= 8
    assert max(refusals) < first_change
    # The Company ID comparison itself happens before the first change.
    assert body.index("$linkIds -notcontains $expectedId") < first_change
    assert body.index("No Company ID found and none given: refusing to uninstall") < first_change


def test_backup_then_download_then_uninstall_then_install() -> None:
    body = function_body(rendered("defaults"), "Invoke-QbdRemediation")
    backup = body.index("Backup-QbdConnector -Folder")
    download = body.index("Invoke-WebRequest -Uri $Installer")
    stop = body.index("Stop-ScheduledTask -InputObject")
    uninstall = body.index("Invoke-QbdUninstallCommand -Command")
    install = body.index("Start-QbdInUserSession -UserId $installUser")
    verify = body.index("company-id-kept")
    assert backup < download < stop < uninstall < install < verify
    # An unverified or declined backup stops the run.
    assert "if (-not $backup.verified)" in body


def test_backup_is_verified_and_keeps_the_company_id() -> None:
    text = rendered("defaults")
    assert "Join-Path -Path $env:ProgramData -ChildPath 'qbd-fix\\backups'" in text
    assert "'yyyyMMddTHHmmssZ'" in text
    assert "company-id.txt" in text and "backup-manifest.json" in text
    copy = function_body(text, "Copy-QbdFileVerified")
    assert "[System.IO.FileShare]::ReadWrite" in copy
    assert "Get-FileHash -LiteralPath $Destination -Algorithm SHA256" in copy
    assert "throw" in copy
    assert "$copies.Count -eq @($File).Count" in function_body(text, "Backup-QbdConnector")
    # Client names become folder names only through a constant character class.
    assert "$Text -replace '[^A-Za-z0-9 ._-]', '_'" in function_body(text, "Get-QbdSafeName")


def test_uninstall_prefers_quiet_and_msi_and_is_bounded() -> None:
    text = rendered("defaults")
    command = function_body(text, "Get-QbdUninstallCommand")
    assert "@('/x', $productCode, '/qn', '/norestart')" in command
    assert command.index("$Entry.quiet_uninstall") < command.index("$commandLine = $Entry.uninstall")
    run = function_body(text, "Invoke-QbdUninstallCommand")
    assert "-PassThru" in run and "WaitForExit($TimeoutSeconds * 1000)" in run
    assert "$null = $process.Handle" in run
    split = function_body(text, "Split-QbdCommandLine")
    assert "$text.StartsWith('\"')" in split and "ExpandEnvironmentVariables" in split
    entries = function_body(text, "Get-QbdUninstallEntry")
    for root in ("HKLM:\\SOFTWARE\\Microsoft", "HKLM:\\SOFTWARE\\WOW6432Node", "Registry::HKEY_USERS"):
        assert root in entries
    assert "$displayName.IndexOf($Name, [System.StringComparison]::OrdinalIgnoreCase)" in entries


def test_user_values_are_never_patterns() -> None:
    source = TEMPLATE.read_text(encoding="utf-8")
    assert not re.search(r"-(not)?(c|i)?(like|match)\s+\$(ClientName|CompanyId|Installer|Name)\b", source)
    assert not re.search(r"-Filter\s+\$", source)
    assert not re.search(r"\s-(not)?(c|i)?like\s", source, flags=re.IGNORECASE)
    assert "$_.client_name -eq $ClientName" in source


def test_installer_download_and_user_session() -> None:
    text = rendered("defaults")
    body = function_body(text, "Invoke-QbdRemediation")
    tls = body.index("[Net.SecurityProtocolType]::Tls12")
    assert tls < body.index("Invoke-WebRequest -Uri $Installer -UseBasicParsing -OutFile $installerPath")
    assert "Test-Path -LiteralPath $Installer -PathType Leaf" in body
    assert "Get-QbdInteractiveUser" in body
    assert "Nobody is logged on" in body
    # Nobody logged on is found out before anything changes.
    assert body.index("Nobody is logged on") < body.index("Invoke-QbdChange")


def test_reports_relinking_steps_and_company_id_check_after_install() -> None:
    text = rendered("defaults")
    steps = function_body(text, "Write-QbdRelinkSteps")
    assert "ongoing sync" in steps and "SAME Company ID" in steps
    body = function_body(text, "Invoke-QbdRemediation")
    assert "$newIds -notcontains $savedId" in body
    assert body.count("Write-QbdRelinkSteps -SavedId $savedId") >= 4
    web = function_body(text, "Write-QbdWebConnectorSteps")
    assert "Web Connector" in web and "QuickBooksDesktopConnector.exe" in web


def test_does_not_name_variables_the_change_wrapper_uses() -> None:
    source = TEMPLATE.read_text(encoding="utf-8")
    assert not re.search(r"\$(Target|Action|Change|description)\b", source, flags=re.IGNORECASE)


def test_what_if_is_carried_through() -> None:
    body = function_body(rendered("defaults"), "Invoke-QbdRemediation")
    assert "WhatIf: nothing was changed" in body
    assert "elseif (-not $WhatIfPreference)" in body
