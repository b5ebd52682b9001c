"""The Windows PowerShell 5.1 run-time rules (tests/support/rules.py): every rule flags its own
bad sample and passes its good one, and the harder cases of each are pinned down here."""

from __future__ import annotations

import pytest

from tests.support.pwsh import check_script
from tests.support.rules import RULES, Rule, check_rules

IDS = [r.id for r in RULES]


def ids_of(text: str) -> list[str]:
    return [f.rule for f in check_rules(text)]


def found(rule: str, text: str) -> list[int]:
    """Lines where ``rule`` fires in ``text``."""
    return [f.line for f in check_rules(text) if f.rule == rule]


def test_rules_are_unique_and_say_what_to_write_instead() -> None:
    assert len(set(IDS)) == len(IDS)
    for rule in RULES:
        assert rule.id == rule.id.lower() and " " not in rule.id
        assert "\n" not in rule.message and ":" in rule.message, rule.id


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_samples_are_valid_windows_powershell(rule: Rule) -> None:
    for sample in (rule.flagged, rule.passes):
        report = check_script(sample)
        assert (report.errors, report.ps7_only) == ([], []), sample


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_flags_its_bad_sample(rule: Rule) -> None:
    assert rule.id in ids_of(rule.flagged)


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_passes_its_good_sample(rule: Rule) -> None:
    assert rule.id not in ids_of(rule.passes)


# -- count-of-output ---------------------------------------------------------------------------


def test_count_follows_the_assignment_before_the_use_in_the_same_function() -> None:
    script = """
function Get-Few {
    $items = Get-ChildItem -LiteralPath 'C:\\x'
    $items.Count
    $items = @(Get-ChildItem -LiteralPath 'C:\\y')
}
function Get-Other {
    $items = @(Get-ChildItem -LiteralPath 'C:\\x')
    $items.Count
}
$list = Get-Few | Sort-Object
if ($list.Count -eq 0) { 'none' }
[array]$typed = Get-Few
$typed.Count
$size = (Get-Item -LiteralPath 'C:\\x.log').Length
$words = ('a,b' -split ',').Count
$stream = New-Object -TypeName System.IO.MemoryStream
$file = Get-ChildItem -LiteralPath 'C:\\x.log'
$bytes = $file.Length + $stream.Length
$n = (Get-ChildItem -LiteralPath 'C:\\x').Length
"""
    # .Length through a variable is a stream's, a file's or a string's own property
    assert found("count-of-output", script) == [4, 12, 20]


def test_count_on_a_function_that_emits_its_list_whole_is_safe() -> None:
    script = """
function Get-List {
    $list = New-Object System.Collections.ArrayList
    return , $list
}
$items = Get-List
$items.Count
(Get-List).Count
"""
    assert found("count-of-output", script) == []


def test_count_of_a_script_scope_variable_is_tracked_across_functions() -> None:
    script = """
$script:users = Get-CimInstance -ClassName Win32_UserProfile
function Show-Users {
    $script:users.Count
}
"""
    assert found("count-of-output", script) == [4]


# -- comma-list-wrapped ------------------------------------------------------------------------


def test_comma_list_wrapped_inside_and_through_pipelines() -> None:
    script = """
function Get-Facts {
    $found = New-Object System.Collections.ArrayList
    return , @($found)
}
function Get-Section {
    return , @(Get-Facts)
}
$one = Get-Facts
$items = @(Get-Facts | ForEach-Object { $_ })
"""
    # only the call whose output @() takes as it is: ForEach-Object { $_ } unrolls the list
    assert found("comma-list-wrapped", script) == [7]


# -- task-result-not-run -----------------------------------------------------------------------


def test_task_result_through_a_cast_variable_and_with_hex() -> None:
    bad = """
function Test-Started {
    $result = [int64](Get-ScheduledTaskInfo -TaskName 'T').LastTaskResult
    return ($result -ne 0x41303)
}
"""
    good = """
function Test-Started {
    $info = Get-ScheduledTaskInfo -TaskName 'T'
    $task = Get-ScheduledTask -TaskName 'T'
    return ($task.State -eq 'Running') -or ($info.LastTaskResult -ne 267011 -and $info.LastTaskResult -eq 0)
}
"""
    assert found("task-result-not-run", bad) == [4]
    assert found("task-result-not-run", good) == []


def test_task_result_recorded_but_not_compared_is_fine() -> None:
    script = "$info = Get-ScheduledTaskInfo -TaskName 'T'\n$last = [int64]$info.LastTaskResult\n"
    assert found("task-result-not-run", script) == []


# -- wildcard-path -----------------------------------------------------------------------------

DERIVED = """
[CmdletBinding()]
param(
    [string] $ClientName = '',
    [string] $OutputDirectory = 'C:\\Temp'
)
function Find-Task {
    param([string] $Name)
    $label = 'QuickbooksDesktop_' + $Name
    Get-ScheduledTask -TaskName $label
}
function Find-Folder {
    param([string] $Name)
    Get-ChildItem -Path $Name
}
foreach ($part in @($OutputDirectory, 'x')) {
    $full = Join-Path -Path 'C:\\' -ChildPath $part
    Test-Path -Path $full
    Test-Path -LiteralPath $full
}
$null = Find-Task -Name $ClientName
$null = Find-Folder -Name 'C:\\Fixed'
Get-Process -Name ([WildcardPattern]::Escape($ClientName))
Get-ChildItem -Path 'C:\\Users' -Filter $ClientName
Get-Item -Path 'C:\\Fixed'
"""


def test_wildcard_path_follows_derivation_through_assignments_loops_and_calls() -> None:
    # Find-Folder is only ever given a constant; Escape() makes a user value safe
    assert found("wildcard-path", DERIVED) == [10, 18, 24]


def test_wildcard_path_is_silent_without_a_param_block() -> None:
    assert found("wildcard-path", "$name = 'x'\nGet-Item -Path $name\n") == []


# -- shutdown, exit, json, principal, events, language mode --------------------------------------


@pytest.mark.parametrize(
    ("line", "flagged"),
    [
        ("shutdown.exe /r /t 60", True),
        ("shutdown /r /T $delay", True),
        ("shutdown.exe /r -t 30", True),
        ("shutdown.exe /r /t 0", False),
        ("shutdown.exe /r", False),
    ],
)
def test_shutdown_timer(line: str, flagged: bool) -> None:
    assert bool(found("shutdown-timer", line + "\n")) is flagged


@pytest.mark.parametrize(
    ("line", "flagged"),
    [("exit 0", False), ("exit 1", False), ("exit 3", False), ("exit", False),
     ("exit (Get-QbdExitCode)", False), ("exit 2", True), ("exit 0x10", True)],
)  # fmt: skip
def test_exit_codes(line: str, flagged: bool) -> None:
    assert bool(found("exit-code", line + "\n")) is flagged


def test_json_rules() -> None:
    script = (
        "$a = $x | ConvertTo-Json -Depth 3\n"
        "$b = ConvertTo-Json -InputObject $x -Compress\n"
        "$c = ConvertTo-Json -InputObject $x -Depth 3\n"
    )
    assert found("json-pipeline", script) == [1]
    assert found("json-depth", script) == [2]


@pytest.mark.parametrize(
    ("argument", "flagged"),
    [("$userSid", False), ("$script:ownerSid", False), ("'S-1-5-21-1-2-3-1001'", False),
     ("$UserId", True), ("'CORP\\ann'", True), ("$owner.Name", True)],
)  # fmt: skip
def test_task_principal(argument: str, flagged: bool) -> None:
    script = f"$p = New-ScheduledTaskPrincipal -UserId {argument} -LogonType Interactive\n"
    assert bool(found("task-principal-name", script)) is flagged


def test_winevent_application_with_log_name_and_inline_table() -> None:
    script = (
        "Get-WinEvent -LogName 'Application' -MaxEvents 10\n"
        "Get-WinEvent -LogName 'Application' -ProviderName 'QBSDK'\n"
        "Get-WinEvent -FilterHashtable @{ LogName = 'Application'; Level = 2 }\n"
        "Get-WinEvent -FilterHashtable @{ LogName = 'System'; Level = 2 }\n"
    )
    assert found("winevent-application", script) == [1, 3]


def test_language_mode_flags_a_static_dotnet_call_once() -> None:
    script = "[IO.File]::ReadAllText('a')\n[IO.File]::ReadAllText('b')\n"
    assert found("language-mode", script) == [1]
    assert found("language-mode", "$x = 1\n") == []


# -- xml-dtd -------------------------------------------------------------------------------------


def test_xml_parsed_with_defaults_is_flagged_every_way() -> None:
    script = """
$one = [xml]$text
[xml]$two = Get-Content -LiteralPath $path -Raw
$three = [System.Xml.XmlDocument]$text
$found = Select-Xml -LiteralPath $path -XPath '/QBWCXML'
$document = New-Object -TypeName System.Xml.XmlDocument
$document.LoadXml($text)
$document.Load($path)
$reader = [System.Xml.XmlReader]::Create($stream)
"""
    assert found("xml-dtd", script) == [2, 3, 4, 5, 7, 8, 9]


def test_xml_through_a_prohibiting_reader_and_other_loads_pass() -> None:
    script = """
$settings = New-Object -TypeName System.Xml.XmlReaderSettings
$settings.DtdProcessing = [System.Xml.DtdProcessing]::Prohibit
$reader = [System.Xml.XmlReader]::Create($stream, $settings)
$document = New-Object -TypeName System.Xml.XmlDocument
$document.Load($reader)
$assembly = [System.Reflection.Assembly]::Load($bytes)
$text = [string]$document.get_DocumentElement().get_InnerText()
"""
    assert found("xml-dtd", script) == []


# -- suppressions ------------------------------------------------------------------------------


def test_a_suppression_with_a_reason_silences_its_line_only() -> None:
    script = (
        "# qbd-check: allow exit-code the agent maps 2 itself\n"
        "exit 2\n"
        "exit 4  # qbd-check: allow exit-code documented for this agent\n"
        "exit 5\n"
    )
    assert [(f.rule, f.line) for f in check_rules(script)] == [("exit-code", 4)]


@pytest.mark.parametrize(
    ("comment", "problem"),
    [
        ("# qbd-check: allow exit-code", "gives no reason"),
        ("# qbd-check: allow no-such-rule because", "names no rule"),
        ("# qbd-check: allow json-depth not needed", "silences nothing"),
    ],
)
def test_a_bad_suppression_is_a_finding(comment: str, problem: str) -> None:
    findings = check_rules(f"{comment}\nexit 2\n")
    assert any(f.rule == "suppression" and problem in f.message for f in findings)


# -- null-collected ----------------------------------------------------------------------------


def test_null_collected_flags_the_count_directly_and_through_the_last_assignment() -> None:
    script = """
function Get-Owner {
    param($Id)
    if (-not $Id) { return $null }
    'alice'
}
$direct = @(Get-Owner -Id 1).Count
$owners = @(Get-Owner -Id 2)
$owners.Count
$owners = @('bob')
$owners.Count
$safe = @(Get-Owner -Id 3 | Where-Object { $null -ne $_ })
$safe.Count
"""
    assert found("null-collected", script) == [7, 9]


def test_null_collected_needs_a_function_that_returns_null() -> None:
    script = """
function Get-Owner {
    param($Id)
    if (-not $Id) { return }
    'alice'
}
$owners = @(Get-Owner -Id 2)
$owners.Count
"""
    assert found("null-collected", script) == []


# -- array-type-of-output ----------------------------------------------------------------------


def test_array_type_of_output_follows_the_last_assignment_and_casts() -> None:
    script = """
function Get-Data {
    Get-ItemPropertyValue -LiteralPath 'HKLM:\\\\x' -Name 'Blob'
}
function Test-One {
    $data = Get-Data
    $data = @(Get-Data)
    $data -is [byte[]]
}
function Test-Two {
    [byte[]] $data = Get-Data
    $data -is [byte[]]
}
function Test-Three {
    $data = Get-Data
    $data -is [string]
    $data -is [string[]]
}
"""
    assert found("array-type-of-output", script) == [17]


# -- json-array-one-object ---------------------------------------------------------------------


def test_json_array_piped_on_or_collected_is_flagged_where_it_is() -> None:
    script = """
$items = @(ConvertFrom-Json -InputObject $text)
$count = @($text | ConvertFrom-Json).Count
$names = $text | ConvertFrom-Json | Select-Object -ExpandProperty name
$whole = ConvertFrom-Json -InputObject $text
foreach ($item in $whole) { $item }
$first = (ConvertFrom-Json -InputObject $text)[0]
"""
    assert found("json-array-one-object", script) == [2, 3, 4]
