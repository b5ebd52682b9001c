"""Tests of the static PowerShell checker in tests/support/pwsh.py.

The checker stands in for PowerShell itself in the rest of the suite, so it must flag what
PowerShell 5.1 would reject and must not miss commands hidden in nested blocks.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.pwsh import (
    COMMON_PARAMETERS,
    SINGLE_QUOTES,
    SPLAT_MARKER,
    ReferenceCommands,
    UnterminatedStringError,
    check_script,
    commands_used,
    parse,
    ps_single_quoted_literals,
    read_single_quoted,
)

QUOTES = "'\u2018\u2019\u201a\u201b"

REALISTIC = """\
[CmdletBinding(SupportsShouldProcess = $true)] param(
    [Parameter(Mandatory = $true)]
    [string]$TaskName = 'Codat QBD Connector',
    [int]$TimeoutSeconds = 60
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
[Console]::OutputEncoding = [System.Text.UTF8Encoding]::new($false)

function Get-TaskState {
    [CmdletBinding()] param([string]$Name)
    $task = Get-ScheduledTask -TaskName $Name -ErrorAction SilentlyContinue
    if ($null -eq $task) { return 'Missing' }
    return [string]$task.State
}

$result = @{
    task    = $TaskName
    state   = Get-TaskState -Name $TaskName
    actions = @()
}
$note = @'
Quotes ' and " and $(not code) stay as they are here.
'@
try {
    if ($PSCmdlet.ShouldProcess($TaskName, 'Start')) {
        Start-ScheduledTask -TaskName:$TaskName
        $deadline = (Get-Date).AddSeconds($TimeoutSeconds)
        while ((Get-Date) -lt $deadline) {
            $info = Get-ScheduledTaskInfo -TaskName $TaskName
            if ($info.LastTaskResult -ne 267009) { break }
            Start-Sleep -Milliseconds 500
        }
        $result.actions += "started $TaskName at $(Get-Date -Format 'o')"
    }
}
catch {
    Write-Warning -Message $_.Exception.Message
    $result.error = $_.Exception.Message
}
Get-ChildItem -Path 'C:\\Users' -Directory |
    Where-Object { $_.Name -notin @('Public', 'Default') } |
    ForEach-Object -Process { $result.actions += $_.Name }
ConvertTo-Json -InputObject $result -Depth 5 -Compress
"""


# -- syntax ------------------------------------------------------------------------------------


def test_realistic_script_is_clean() -> None:
    report = check_script(REALISTIC)
    assert report.errors == []
    assert report.ps7_only == []
    assert report.quote_mismatches == []
    assert report.ok
    assert report.functions == {"Get-TaskState"}
    assert report.commands["Start-ScheduledTask"] == {"TaskName"}
    assert report.commands["Get-ScheduledTask"] == {"TaskName", "ErrorAction"}
    assert report.commands["Get-Date"] == {"Format"}  # found inside "...$( )..."
    assert report.commands["ForEach-Object"] == {"Process"}
    assert "Where-Object" in report.commands  # found inside a pipeline
    assert report.commands["ConvertTo-Json"] == {"InputObject", "Depth", "Compress"}
    literal_texts = [lit.text for lit in report.string_literals]
    assert "'Codat QBD Connector'" in literal_texts
    assert "'o'" in literal_texts  # in a subexpression of a double-quoted string


def test_literal_positions_are_characters_not_bytes() -> None:
    text = "$a = 'é€'\n$b = 'x'"
    lits = check_script(text).string_literals
    assert [(lit.text, lit.line, lit.column) for lit in lits] == [("'é€'", 1, 6), ("'x'", 2, 6)]
    assert text[lits[1].start : lits[1].end] == "'x'"


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param("function F {\n  Get-Item -Path 'x'\n", id="unclosed-brace"),
        pytest.param("if ($true) { Write-Output 'x' ", id="unclosed-if-brace"),
        pytest.param("$x = 'never closed\nGet-Item\n", id="unclosed-single-quote"),
        pytest.param('$x = "never closed\nGet-Item\n', id="unclosed-double-quote"),
        pytest.param("$x = @'\nbody\n", id="unclosed-here-string"),
        pytest.param("$x = @(1, 2\n", id="unclosed-paren"),
        pytest.param("$h = @{ a = 1\n", id="unclosed-hashtable"),
    ],
)
def test_syntax_errors_are_reported_with_position(broken: str) -> None:
    report = check_script(broken)
    assert report.errors, broken
    assert not report.ok
    line_col = report.errors[0].split(":", 2)[:2]
    assert all(part.isdigit() for part in line_col)


# -- PowerShell 7-only syntax ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("$a = $b ? 1 : 2", "ternary_expression"),
        ("$a = $b ?? 'x'", "null_coalesce_expression"),
        ("$a ??= 'x'", "??="),
        ("Get-Item x && Write-Output ok", "pipeline_chain_tail"),
        ("Get-Item x || Write-Output failed", "pipeline_chain_tail"),
        ("function F { process { $_ } clean { 'done' } }", "clean"),
        ("$n = ${obj}?.Name", "?."),
        ("if (${obj}?.Name()) { }", "?."),
        ("$n = ${arr}?[0]", "?["),
        ("Write-Output ${arr}?[0]", "?["),
        ("1..5 | ForEach-Object -Parallel { $_ }", "-Parallel"),
        ("Get-Item x | foreach-object -parallel { $_ } -ThrottleLimit 2", "-Parallel"),
        ("Get-Item x | % -Par { $_ }", "-Parallel"),
        ('Write-Output "`e[1m bold"', "`e"),
        ('Write-Output "smile `u{1F600}"', "`u{1F600}"),
        ('$h = @"\n`e[0m\n"@', "`e"),
    ],
)
def test_ps7_only_syntax_is_flagged(script: str, expected: str) -> None:
    report = check_script(script)
    assert any(expected in finding for finding in report.ps7_only), report
    assert not report.ok


@pytest.mark.parametrize(
    "script",
    [
        'Write-Output "a ``e literal backtick then e"',
        "Write-Output '`e and `u{41} stay verbatim here'",
        "$a = if ($b) { 1 } else { 2 }",
        "$a = $b; if ($null -eq $a) { $a = 'x' }",
        "Get-Item x | ForEach-Object -Process { $_ }",
        'Write-Output "$($x.Name) `t`n`r`0 ok"',
        "function F { begin { } process { $_ } end { } }",
    ],
)
def test_windows_powershell_51_syntax_is_not_flagged(script: str) -> None:
    report = check_script(script)
    assert report.ps7_only == []
    assert report.ok, report


# -- commands and parameters -------------------------------------------------------------------


def test_parameters_colon_form_splat_and_dash_variants() -> None:
    cmds = check_script(
        "Get-Item -Path:$p -Force:$true @extra\n"
        "Remove-Item –LiteralPath 'x' -Recurse\n"  # en dash: PowerShell accepts it
        "Copy-Item @splat\n"
    ).commands
    assert cmds["Get-Item"] == {"Path", "Force", SPLAT_MARKER}
    assert cmds["Remove-Item"] == {"LiteralPath", "Recurse"}
    assert cmds["Copy-Item"] == {SPLAT_MARKER}


def test_call_and_dot_source_operators_are_recorded() -> None:
    cmds = check_script(
        "& $exe /x 'a'\n& 'C:\\t.exe' -Flag\n. ./lib.ps1\n& { Get-Service }"
    ).commands
    assert cmds["&"] == {"Flag"}
    assert cmds["."] == set()
    assert "Get-Service" in cmds  # inside the script block run by &


def test_commands_in_nested_blocks_are_found() -> None:
    script = """\
function Outer {
    $inner = { Get-Process -Name 'x' }
    $v = $(Get-Service -Name 'y')
    $w = @(Get-CimInstance -ClassName Win32_UserProfile)
    if ($true) { foreach ($i in 1..3) { Test-Path -LiteralPath "$(Resolve-Path -Path '.')" } }
    switch ($v) { 'a' { Write-Verbose -Message 'a' } }
}
"""
    cmds = check_script(script).commands
    assert set(cmds) == {
        "Get-Process",
        "Get-Service",
        "Get-CimInstance",
        "Test-Path",
        "Resolve-Path",
        "Write-Verbose",
    }


def test_member_invocations_ranges_and_case_are_handled() -> None:
    cmds = check_script(
        "[IO.File]::ReadAllText($p)\n$x.Method()\n$s.Trim().ToLower()\n"
        "1..5 | get-item\n0..2|Write-Output\n$a..$b | Out-Null\n"
    ).commands
    assert set(cmds) == {"get-item", "Write-Output", "Out-Null"}  # case as written


def test_function_exclusion() -> None:
    script = """\
function Invoke-Step {
    param([string]$Name)
    Write-Verbose -Message $Name
}
function script:Get-State { 'x' }
filter Select-Ok { $_ }
Invoke-Step -Name 'a'
invoke-step -Name 'b'
Get-State
Get-Item x | Select-Ok
"""
    report = check_script(script)
    assert report.ok, report
    assert report.functions == {"Invoke-Step", "script:Get-State", "Select-Ok"}
    assert "Invoke-Step" in report.commands
    assert commands_used(script) == {"Write-Verbose": {"Message"}, "Get-Item": set()}


# -- PowerShell's single-quote rule ------------------------------------------------------------


@pytest.mark.parametrize("opening", QUOTES)
@pytest.mark.parametrize("closing", QUOTES)
def test_any_of_the_five_quotes_opens_and_closes(opening: str, closing: str) -> None:
    text = f"{opening}abc{closing} rest"
    assert read_single_quoted(text, 0) == ("abc", 5)


@pytest.mark.parametrize("first", QUOTES)
@pytest.mark.parametrize("second", QUOTES)
def test_two_quotes_in_a_row_keep_the_second(first: str, second: str) -> None:
    assert read_single_quoted(f"'a{first}{second}b'", 0) == (f"a{second}b", 6)


def test_reader_rejects_non_quotes_and_unterminated() -> None:
    with pytest.raises(ValueError, match="no single-quote"):
        read_single_quoted("abc", 0)
    with pytest.raises(UnterminatedStringError):
        read_single_quoted("'abc''", 0)
    # An unpaired typographic quote ends the literal early: the classic injection.
    assert read_single_quoted("'it\u2019s'", 0) == ("it", 4)


def test_literal_scan_skips_comments_double_quotes_and_here_strings() -> None:
    script = """\
# it's a comment
<# block 'comment' #>
$a = "don't `" \u201csmart\u201d ""doubled"" it's"
$b = \u201cdouble \u2018smart\u2019\u201d
$c = @'
it's verbatim
'@
$d = @"
it's $(Get-X -Name 'inner') here
"@
$e = 'one''two'
Write-Output a`'b
Write-Output a#b'c'
$f = ${weird'name}
"""
    values = [value for _, _, value in ps_single_quoted_literals(script)]
    assert values == ["inner", "one'two", "c"]
    for start, end, _ in ps_single_quoted_literals(script):
        assert script[start] in SINGLE_QUOTES
        assert script[end - 1] in SINGLE_QUOTES


def test_unicode_quote_mismatch_is_reported() -> None:
    # tree-sitter reads one literal; PowerShell ends it at the U+2019 and then fails.
    report = check_script("$name = 'O\u2019Brien'\n")
    assert report.errors == []
    assert report.quote_mismatches
    assert not report.ok
    # Doubled, both views agree again.
    assert check_script("$name = 'O\u2019\u2019Brien'\n").ok


@pytest.mark.parametrize(
    "script",
    [
        "[CmdletBinding()]\nparam\n(\n  [string]$A\n)\n",
        "function F { param($a) $a }",
        'Start-Process -FilePath x -ArgumentList "a",$x,Bareword',
    ],
)
def test_known_tree_sitter_false_errors(script: str) -> None:
    """Shapes valid in PowerShell that tree-sitter-pwsh 0.38 rejects or misreads (the first one
    silently, as a command named ``param``, which the checker turns into an error): templates
    must avoid them. If this starts failing, the grammar improved: drop the workaround notes."""
    assert check_script(script).errors


def test_param_on_the_line_after_the_attribute_is_fine() -> None:
    assert check_script("[CmdletBinding()]\nparam(\n  [string]$A\n)\nGet-Item -Path $A\n").ok


def test_tree_sitter_treats_typographic_quotes_as_ordinary_characters() -> None:
    """Documents the finding behind the tokenizer port: tree-sitter-pwsh reads U+2018..U+201B
    as plain characters (here a bare command name), PowerShell as a quoted string."""
    root = parse("\u2018abc\u2019").root_node
    assert not root.has_error
    command = root.children[0].children[0].children[0].children[0]
    assert command.type == "command"
    assert command.children[0].type == "command_name"
    assert ps_single_quoted_literals("\u2018abc\u2019") == [(0, 5, "abc")]


def _ps_quote(value: str) -> str:
    return "'" + "".join(c * 2 if c in SINGLE_QUOTES else c for c in value) + "'"


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        st.characters(
            exclude_categories=["Cs"],
            exclude_characters="\x00",
        )
        | st.sampled_from(QUOTES + '"\u201c\u201d\u201e`$#@\u00a0\r\n')
    )
)
def test_quoting_round_trips_through_both_views(value: str) -> None:
    """Wrapping in U+0027 and doubling all five quotes gives exactly one literal, to PowerShell
    (per the ported rule) and to tree-sitter-pwsh (for which the non-ASCII quotes are ordinary
    characters, so doubling them is harmless there)."""
    literal = _ps_quote(value)
    assert read_single_quoted(literal, 0) == (value, len(literal))
    assert ps_single_quoted_literals(literal) == [(0, len(literal), value)]
    report = check_script(f"$v = {literal}\n")
    assert report.errors == []
    assert [lit.text for lit in report.string_literals] == [literal]
    assert report.quote_mismatches == []


# -- reference data ----------------------------------------------------------------------------

# The ``reference`` fixture (tests/conftest.py) loads tests/support/winps51_commands.json.


def test_reference_commands(reference: ReferenceCommands) -> None:
    assert reference.has_command("Get-ScheduledTask")
    assert reference.has_command("get-scheduledtask")
    assert reference.has_command("Microsoft.PowerShell.Management\\Get-Item")
    assert not reference.has_command("Get-Nonexistent")
    assert reference.parameters("Get-Nonexistent") is None
    params = reference.parameters("get-item")
    assert params is not None
    assert "Path" in params
    assert "Parallel" not in (reference.parameters("ForEach-Object") or set())
    assert reference.accepts_parameter("Get-Item", "literalpath") is True
    assert reference.accepts_parameter("Get-Item", "ErrorAction") is True
    assert reference.accepts_parameter("Get-Item", "Bogus") is False
    assert reference.accepts_parameter("Nope", "Path") is None
    assert "ErrorAction" in COMMON_PARAMETERS


def test_reference_aliases(reference: ReferenceCommands) -> None:
    assert reference.is_alias("%")
    assert reference.is_alias("Where")
    assert reference.has_command("%")
    assert reference.parameters("%") is None
    assert not reference.is_alias("ForEach-Object")
