"""restart-web-connector: how the script finds, leaves, ends and starts each user's Web
Connector, and what the command line passes (syntax, commands and the Invoke-QbdChange guard
for every variant: tests/test_scripts.py; behaviour on a fake PC:
tests/pester/restart-web-connector.Tests.ps1)."""

from __future__ import annotations

import re
from functools import cache

import pytest
import typer

from qbd_fix import pipeline
from qbd_fix.cli import commands
from qbd_fix.cli import run as run_command
from qbd_fix.errors import UsageError
from qbd_fix.remediations import REMEDIATIONS
from tests.support.guards import command_name, context_of, syntax_nodes
from tests.support.pwsh import parse
from tests.support.variants import variant_values

NAME = "restart-web-connector"


@cache
def rendered(variant: str = "defaults") -> str:
    return REMEDIATIONS[NAME].render(variant_values(NAME, variant)).text


def function_body(text: str, name: str) -> str:
    return text.split(f"function {name} {{", 1)[1].split("\nfunction ", 1)[0]


def contexts(text: str, command: str) -> list[str | None]:
    """Where each call of *command* sits: 'change' inside an Invoke-QbdChange block."""
    return [
        context_of(parents)
        for node, parents in syntax_nodes(parse(text).root_node)
        if node.type == "command" and (command_name(node) or "").lower() == command.lower()
    ]


def test_is_in_the_catalogue_after_restart_tasks() -> None:
    names = list(REMEDIATIONS)
    assert names.index(NAME) == names.index("restart-tasks") + 1
    remediation = REMEDIATIONS[NAME]
    assert remediation.seed_section == "The QuickBooks Connector tray icon is red"
    assert not remediation.read_only
    assert [p.name for p in remediation.parameters] == [
        "ForceClose",
        "ResetLog",
        "StartTimeoutSeconds",
    ]


def test_ends_only_with_force_close_and_only_inside_a_change_block() -> None:
    text = rendered()
    assert contexts(text, "Stop-Process") == ["change"]
    close = function_body(text, "Invoke-QbdWebConnectorClose")
    # Without -ForceClose a running Web Connector is reported and left alone.
    before_stop = close.split("Stop-Process", 1)[0]
    assert "if (-not $ForceClose) {" in before_stop and "continue" in before_stop
    assert "$state.outcome = 'left_running'" in before_stop
    # Only the processes of that user, as read before anything changed.
    assert "foreach ($processId in @($state.before.process_ids))" in close


def test_starts_in_the_users_session_by_sid_inside_a_change_block() -> None:
    text = rendered()
    assert contexts(text, "Start-QbdInUserSession") == ["change"]
    start = function_body(text, "Invoke-QbdWebConnectorStart")
    assert "Start-QbdInUserSession -UserSid $userSid -Execute $program -RunLevel $runLevel" in start
    assert "New-ScheduledTaskPrincipal -UserId $UserSid -LogonType Interactive" in text
    # Verified in that user's own processes, bounded by -StartTimeoutSeconds.
    assert "Wait-QbdCondition -TimeoutSeconds $StartTimeoutSeconds" in start
    assert "Where-Object { $_.sid -eq $userSid }" in start


def test_run_level_follows_quickbooks_and_needs_an_administrator() -> None:
    level = function_body(rendered(), "Get-QbdWebConnectorRunLevel")
    # QuickBooks closed or unreadable but set to run as administrator: elevated like it,
    # unless the user is known not to be an administrator.
    flagged, level = level.split("switch ($State.quickbooks)", 1)
    assert "-notcontains $State.quickbooks -and $State.quickbooks_runs_as_admin" in flagged
    assert flagged.index("if ($State.is_admin -eq $false)") < flagged.index("level = 'Highest'")
    elevated, rest = level.split("'not_elevated'", 1)
    assert "'elevated' {" in elevated and "level = 'Highest'" in elevated
    assert "if ($State.is_admin -eq $true)" in elevated
    assert "Highest" not in rest  # not elevated, unknown, not running: Limited
    assert "\"Name = 'QBW32.exe' OR Name = 'QBW.exe'\"" in rendered()


def test_reads_elevation_from_the_process_token_and_compiles_once() -> None:
    text = rendered()
    reader = function_body(text, "Test-QbdProcessTokenReader")
    assert "if ($null -ne ('QbdFix.ProcessToken' -as [type])) { return $true }" in reader
    assert "Get-Variable -Name 'QbdTokenReaderError' -Scope Script" in reader
    for call in ("OpenProcess(", "OpenProcessToken(", "GetTokenInformation(", "EnterDebugMode"):
        assert call in reader
    assert "TokenElevation = 20" in reader and "TokenQuery = 0x0008" in reader
    assert "[QbdFix.ProcessToken]::IsElevated($ProcessId)" in text


def test_looks_for_all_three_kinds_of_start_up_entry() -> None:
    text = rendered()
    assert "Get-QbdStartupEntry -Hive @(Get-QbdLoadedHive)" in function_body(
        text, "Get-QbdWebConnectorStartup"
    )
    entries = function_body(text, "Get-QbdStartupEntry")
    assert "'HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Run'" in entries
    assert "$machineBase + '\\Run'" in entries
    assert "$item.Root + '\\Software\\Microsoft\\Windows\\CurrentVersion'" in entries
    assert "'Microsoft\\Windows\\Start Menu\\Programs\\StartUp'" in entries
    assert "'AppData\\Roaming\\Microsoft\\Windows\\Start Menu\\Programs\\Startup'" in entries
    tasks = function_body(text, "Get-QbdWebConnectorTask")
    assert "Get-ScheduledTask -ErrorAction SilentlyContinue" in tasks
    program = function_body(text, "Get-QbdStartupProgram")
    assert "'QBWebConnector'" in program and "'codat'" in program


def test_reads_of_the_web_connectors_settings_stop_at_app_names_and_appurl() -> None:
    """Passwords live in the user's hive under the Web Connector's keys: of those keys only
    the application names and their AppURL are read, to tell who uses the Web Connector."""
    text = rendered("everything")
    lowered = text.lower()
    assert "software\\intuit\\qbwebconnector" not in lowered
    assert "software\\intuit\\qb web connector" in lowered
    layers = function_body(text, "Test-QbdQuickBooksRunsAsAdministrator")
    reads = re.findall(r"\.GetValue\(([^)]*)\)", text.replace(layers, ""))
    assert reads == ["'AppURL'"]
    # The compatibility layers are read only for QuickBooks' own programs.
    assert re.findall(r"\.GetValue\(([^)]*)\)", layers) == ["$name"]
    assert layers.index("-notcontains $program) { continue }") < layers.index(".GetValue($name)")
    assert "GetValueNames()) -contains 'AppURL'" in text


def test_budget_covers_two_users_full_restarts() -> None:
    remediation = REMEDIATIONS[NAME]
    assert remediation.time_budget({"StartTimeoutSeconds": 60}) == 2 * (60 + 30) + 60
    script = remediation.render({"StartTimeoutSeconds": 600})
    assert script.parameters["TimeBudgetSeconds"] == 2 * (600 + 30) + 60


def cli_parse(**given: object) -> commands.Invocation:
    return commands.parse(REMEDIATIONS[NAME], dict(given))


def test_cli_passes_the_flags_as_parameters() -> None:
    invocation = cli_parse(force_close=True, reset_log=False, start_timeout=90)
    assert invocation.values == {"ForceClose": True, "ResetLog": False, "StartTimeoutSeconds": 90}
    assert invocation.dangers == ("ends a running Web Connector (a sync in progress stops)",)
    both = cli_parse(force_close=True, reset_log=True, start_timeout=60).dangers
    assert both == (
        "ends a running Web Connector (a sync in progress stops)",
        "renames the Web Connector's log and lets the Users group modify its log folder",
    )
    assert cli_parse(force_close=False, reset_log=False, start_timeout=60).dangers == ()


def test_the_confirmation_names_both_dangerous_options(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    invocation = cli_parse(force_close=True, reset_log=True, start_timeout=60)
    monkeypatch.setattr("qbd_fix.cli.fleet.interactive", lambda: True)
    monkeypatch.setattr(typer, "confirm", lambda *_args, **_kwargs: False)
    job = pipeline.Job(REMEDIATIONS[NAME], invocation.values)
    plan = pipeline.plan(job, pipeline.resolve_targets(["PC01"]), contact=False)
    with pytest.raises(typer.Exit):
        run_command.confirm(REMEDIATIONS[NAME], plan, invocation.dangers)
    told = " ".join(capsys.readouterr().err.split())
    assert "restart-web-connector on PC01 may: starts QBWebConnector.exe" in told
    assert (
        "With these options it also ends a running Web Connector (a sync in progress stops); "
        "renames the Web Connector's log" in told
    )


@pytest.mark.parametrize("seconds", [0, 601])
def test_cli_bounds_the_start_timeout(seconds: int) -> None:
    with pytest.raises(UsageError, match="--start-timeout must be between 1 and 600"):
        cli_parse(force_close=False, reset_log=False, start_timeout=seconds)


def test_reset_log_renames_never_deletes_and_adds_the_users_rule_only_if_missing() -> None:
    text = rendered("ResetLog")
    reset = function_body(text, "Invoke-QbdWebConnectorLogReset")
    assert contexts(text, "Rename-Item") == ["change"]
    assert contexts(text, "Set-Acl") == ["change"]
    assert "Remove-Item" not in reset
    assert "Rename-Item -LiteralPath $logPath -NewName $backupName -ErrorAction Stop" in reset
    assert "'QWCLog-{0}.txt' -f $stamp" in function_body(text, "Get-QbdLogBackupName")
    # Every Web Connector must be closed first: the log is open while one runs.
    holders = reset.index("if ($holders.Count -gt 0)")
    assert holders < reset.index("Rename-Item") and holders < reset.index("Grant-QbdUsersLogFolder")
    grant = function_body(text, "Grant-QbdUsersLogFolder")
    assert grant.index("if (@($before | Where-Object { $_.grants_modify }).Count -gt 0)") < (
        grant.index("Set-Acl")
    )
    assert "-ArgumentList 'S-1-5-32-545'" in grant
    assert "[System.Security.AccessControl.FileSystemRights]::Modify" in grant
    rules = function_body(text, "Get-QbdUsersFolderRule")
    assert "-ne 'S-1-5-32-545'" in rules  # by SID: the group's name is localised


def test_reset_log_sits_between_closing_and_starting() -> None:
    main = function_body(rendered(), "Invoke-QbdRemediation")
    order = [
        main.index("Invoke-QbdWebConnectorClose -Run $run"),
        main.index("if ($ResetLog) { Invoke-QbdWebConnectorLogReset -Run $run }\n    Invoke"),
        main.index("Invoke-QbdWebConnectorStart -Run $run"),
    ]
    assert order == sorted(order)


SHARED = (
    "Get-QbdWebConnectorInstall",
    "Get-QbdWebConnectorRun",
    "Invoke-QbdWebConnectorClose",
    "Invoke-QbdWebConnectorStart",
    "Write-QbdWebConnectorOutcome",
    "Write-QbdNobodySignedIn",
    "Get-QbdWebConnectorStartup",
)


def test_restart_tasks_brings_the_web_connector_back_with_the_same_functions() -> None:
    """On a PC with only the Web Connector, restart-tasks runs restart-web-connector's own
    functions (one include), leaving running ones alone, and says so."""
    tasks = REMEDIATIONS["restart-tasks"].render().text
    web = rendered()
    for name in SHARED:
        assert function_body(tasks, name) == function_body(web, name), name
    main = function_body(tasks, "Invoke-QbdRemediation")
    branch = main.split("if ($pairs.Count -eq 0) {", 1)[1].split("Write-QbdNoTaskGuidance", 1)[0]
    assert "$_.generation -eq 'web-connector'" in branch
    assert (
        "Invoke-QbdWebConnectorRestart -Install $installs -ForceClose $false "
        "-StartTimeoutSeconds $TaskTimeoutSeconds"
    ) in branch
    assert "as qbd-fix restart-web-connector does" in branch
    # The log reset is restart-web-connector's alone: restart-tasks carries none of it.
    for absent in ("Invoke-QbdWebConnectorLogReset", "Rename-Item", "Set-Acl"):
        assert absent not in tasks
    assert "Invoke-QbdWebConnectorRestart" not in web
