"""An exported script: the remediation's own script as the body, between two adapters.

The body is ``remediation.render()`` text, unchanged, held in a script block literal and run
from a copy made with ``[scriptblock]::Create``: without a file of its own it neither exits
nor relaunches, so the output adapter after it sees its JSON result and reports it the way
the target engine reads results. The body is the same bytes for every target and every set
of values, since all values reach it as arguments.

The adapters are text this module writes. Values appear only as defaults of the outer
``param()`` block, written by :func:`qbd_fix.script.engine.param_block` (and so by
:func:`qbd_fix.script.quote.ps_literal`), in ASCII; names and rule texts the package owns go
through :func:`qbd_fix.script.quote.ps_string`. Values given on the PC (arguments, or
``QBD_<NAME>`` environment variables) are assigned to the outer parameters' variables, whose
``Validate*`` attributes refuse exactly what the body's parameters would refuse.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from qbd_fix import __version__
from qbd_fix.exports import result_line
from qbd_fix.exports.targets import Target
from qbd_fix.remediations.base import Remediation
from qbd_fix.script.engine import param_block
from qbd_fix.script.params import (
    BUDGET_PARAMETER,
    RUNNER_MARGIN_SECONDS,
    ParamValue,
    ScriptParameter,
    budget_parameter,
)
from qbd_fix.script.quote import ps_string

BODY_START = "$QbdExportBody = {\n"
BODY_END = "}\n# ---- end of the remediation script ----\n"


class ExportError(ValueError):
    """An export that cannot be written as asked (the message says why)."""


def environment_name(parameter: ScriptParameter) -> str:
    """``QBD_<NAME>``: the flag's name in capitals (``--client-name`` -> ``QBD_CLIENT_NAME``)."""
    if parameter.name == BUDGET_PARAMETER:
        return "QBD_TIME_BUDGET_SECONDS"
    assert parameter.flag is not None
    return "QBD_" + parameter.flag.dest.upper()


def rule_text(parameter: ScriptParameter) -> str:
    """What a valid value is, in words, for error lines and READMEs."""
    if parameter.kind == "switch":
        return "true or false (also 1/0, yes/no, on/off)"
    if parameter.kind == "int":
        if parameter.minimum is not None:
            return f"a whole number from {parameter.minimum} to {parameter.maximum}"
        return "a whole number"
    parts = []
    if parameter.choices:
        parts.append("one of " + ", ".join(parameter.choices))
    if parameter.pattern:
        parts.append(parameter.pattern_text or f"text matching {parameter.pattern}")
    if parameter.max_length is not None:
        parts.append(f"at most {parameter.max_length} characters")
    return "; ".join(parts) or "text"


def inputs(remediation: Remediation, budget: int) -> list[ScriptParameter]:
    """The parameters a PC may set: the flagged ones, then ``-TimeBudgetSeconds``."""
    return [*remediation.flagged, budget_parameter(budget)]


_FUNCTIONS = r"""function ConvertFrom-QbdExportText {
    # An environment variable's text as its parameter's type; $null when it is not one.
    param([Parameter(Mandatory = $true)] [string] $Kind, [AllowEmptyString()] [string] $Text)
    if ($Kind -eq 'string') { return $Text }
    $trimmed = $Text.Trim().ToLowerInvariant()
    if ($Kind -eq 'int') {
        $number = 0
        $style = [System.Globalization.NumberStyles]::AllowLeadingSign
        if ([int]::TryParse($trimmed, $style, [System.Globalization.CultureInfo]::InvariantCulture, [ref]$number)) { return $number }
        return $null
    }
    if (@('1', 'true', 'yes', 'on') -contains $trimmed) { return $true }
    if (@('0', 'false', 'no', 'off') -contains $trimmed) { return $false }
    return $null
}

function Read-QbdExportEnvironment {
    # Values from QBD_<NAME> (text) or QBD_<NAME>_B64 (base64 of UTF-8 text), each assigned to
    # its parameter's variable, whose Validate attributes refuse what the parameter refuses.
    # An empty variable counts as not set. Returns the problems, one line each; a value is never
    # repeated in them (it may be a secret). Values are data: nothing here runs them.
    param(
        [Parameter(Mandatory = $true)] [object[]] $Inputs,
        [Parameter(Mandatory = $true)] [object] $Bound,
        [Parameter(Mandatory = $true)] [object[]] $Variables
    )
    $problems = New-Object -TypeName System.Collections.ArrayList
    foreach ($entry in $Inputs) {
        $plain = [Environment]::GetEnvironmentVariable($entry.Variable)
        $encoded = [Environment]::GetEnvironmentVariable($entry.Variable + '_B64')
        $hasPlain = -not [string]::IsNullOrEmpty($plain)
        $hasEncoded = -not [string]::IsNullOrEmpty($encoded)
        if (-not $hasPlain -and -not $hasEncoded) { continue }
        if ($hasPlain -and $hasEncoded) {
            $null = $problems.Add(('{0} and {0}_B64 are both set: set only one.' -f $entry.Variable))
            continue
        }
        if ($Bound.ContainsKey($entry.Name)) {
            $null = $problems.Add(('-{0} is given both as a parameter and as {1}: give it once.' -f $entry.Name, $entry.Variable))
            continue
        }
        $source = $entry.Variable
        $text = $plain
        if ($hasEncoded) {
            $source = $entry.Variable + '_B64'
            try {
                $strict = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false, $true
                $text = $strict.GetString([Convert]::FromBase64String($encoded.Trim()))
            } catch {
                $null = $problems.Add(('{0} is not base64 of UTF-8 text.' -f $source))
                continue
            }
        }
        $refusal = '{0} is not a valid -{1}: expected {2}.' -f $source, $entry.Name, $entry.Rule
        $value = ConvertFrom-QbdExportText -Kind $entry.Kind -Text $text
        if ($null -eq $value) {
            $null = $problems.Add($refusal)
            continue
        }
        $variable = @($Variables | Where-Object { $_.Name -eq $entry.Name })[0]
        try {
            if ($entry.Kind -eq 'switch') {
                $variable.Value = [System.Management.Automation.SwitchParameter][bool]$value
            } else {
                $variable.Value = $value
            }
        } catch {
            $null = $problems.Add($refusal)
        }
    }
    return $problems.ToArray()
}

function Read-QbdExportRelaunch {
    # In the 64-bit host started below: take back the values the 32-bit one resolved, each
    # assigned to its parameter's variable (so validated again).
    param([Parameter(Mandatory = $true)] [string] $Json, [Parameter(Mandatory = $true)] [object[]] $Variables)
    $problems = New-Object -TypeName System.Collections.ArrayList
    $given = ConvertFrom-Json -InputObject $Json
    foreach ($property in @($given.PSObject.Properties)) {
        $variable = @($Variables | Where-Object { $_.Name -eq $property.Name })
        if ($variable.Count -eq 0) { continue }
        try {
            if ($variable[0].Value -is [System.Management.Automation.SwitchParameter]) {
                $variable[0].Value = [System.Management.Automation.SwitchParameter][bool]$property.Value
            } else {
                $variable[0].Value = $property.Value
            }
        } catch {
            $null = $problems.Add(('-{0} was refused after the relaunch in 64-bit PowerShell.' -f $property.Name))
        }
    }
    return $problems.ToArray()
}

function Get-QbdExportArgument {
    # Every parameter's value, for the remediation script: switches as their state.
    param([Parameter(Mandatory = $true)] [object[]] $Variables)
    $arguments = @{}
    foreach ($variable in $Variables) {
        $value = $variable.Value
        if ($value -is [System.Management.Automation.SwitchParameter]) { $value = [bool]$value.IsPresent }
        $arguments[$variable.Name] = $value
    }
    return $arguments
}

function New-QbdExportFailure {
    # The one JSON result of a run that stopped before the remediation script started.
    param([Parameter(Mandatory = $true)] [string[]] $Problem, [string] $Check = 'inputs')
    $document = [ordered]@{
        remediation = $QbdExportRemediation
        computer    = $env:COMPUTERNAME
        status      = 'failed'
        checks      = @(@{ name = $Check; passed = $false; evidence = ($Problem -join ' ') })
        actions     = @()
        messages    = @($Problem)
        data        = @{ what_if = [bool]$WhatIfPreference }
    }
    return (ConvertTo-Json -InputObject $document -Depth 4 -Compress)
}

function Get-QbdExportStatus {
    # The status of a JSON result; 'failed' when it cannot be read.
    param([AllowNull()] [object] $Result)
    if ($null -eq $Result -or $null -eq $Result.PSObject.Properties['status']) { return 'failed' }
    $status = [string]$Result.status
    if (@('ok', 'changed', 'needs_user_action', 'failed') -notcontains $status) { return 'failed' }
    return $status
}
"""


def _exit_function(target: Target) -> str:
    lines = [
        "function Get-QbdExportExitCode {",
        f"    # {target.title} reads the exit code.",
        "    param([Parameter(Mandatory = $true)] [string] $Status)",
        "    switch ($Status) {",
    ]
    if target.codes is not None:
        ok, failed, needs = target.codes
        lines += [
            f"        'failed' {{ return {failed} }}",
            f"        'needs_user_action' {{ return {needs} }}",
            f"        default {{ return {ok} }}",
        ]
    else:
        lines.append("        default { return 0 }")
    lines += ["    }", "}", "", "function Exit-QbdExport {"]
    lines.append("    # Run as a file: end with the code; otherwise the caller reads the result.")
    lines.append("    param([Parameter(Mandatory = $true)] [int] $Code)")
    if target.codes is None:
        lines.append("    # The engine reads $Ansible, not the exit code: never exit.")
        lines.append("    return")
    else:
        lines.append("    if (-not $PSCommandPath) { return }")
        if target.set_should_exit:
            lines.append("    # Without SetShouldExit the agent sees every code above 1 as 1.")
            lines.append("    $host.SetShouldExit($Code)")
        lines.append("    exit $Code")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _result_function(target: Target) -> str:
    """``Write-QbdExportResult``: the JSON result as the engine reads it."""
    lines = ["", "function Write-QbdExportResult {"]
    if target.line_limit is None:
        lines += [
            "    # The result's JSON, as the remediation script wrote it.",
            "    param([Parameter(Mandatory = $true)] [string] $Json)",
            "    Write-Output $Json",
        ]
    else:
        lines += [
            f"    # {target.title} keeps the last line only, up to {target.line_limit} characters.",
            "    param([Parameter(Mandatory = $true)] [string] $Json)",
            f"    Write-Output (ConvertTo-QbdExportLine -Json $Json -Limit {target.line_limit})",
        ]
    lines.append("}")
    text = "\n".join(lines) + "\n"
    return (result_line.FUNCTIONS + text) if target.line_limit is not None else text


_LANGUAGE_MODE_PROBLEM = (
    "PowerShell runs in {0} here (AppLocker or WDAC script enforcement), and this script needs "
    "FullLanguage. Nothing was changed. Allow the script (sign it, or add a policy rule for "
    "it), then run it again."
)


def failure_literal(remediation: str, check: str, problem: str) -> str:
    """A failed result as a PowerShell string literal of compact ASCII JSON, for places where
    nothing else may run: Constrained Language mode allows no .NET types beyond core ones,
    and a trap's own error would reach stderr."""
    document: dict[str, object] = {
        "remediation": remediation,
        "computer": None,
        "status": "failed",
        "checks": [{"name": check, "passed": False, "evidence": problem}],
        "actions": [],
        "messages": [problem],
        "data": {},
    }
    return ps_json_literal(document)


def ps_json_literal(document: Mapping[str, object]) -> str:
    """*document* as compact ASCII JSON in a PowerShell string literal (the package's own
    fixed text: nothing from the PC or the user)."""
    return ps_string(json.dumps(document, separators=(",", ":"), ensure_ascii=True))


def crlf(text: str) -> bytes:
    """A script's LF text as the engines' file form: ASCII with CRLF line ends, no BOM."""
    return text.replace("\n", "\r\n").encode("ascii")


def _takes_values(target: Target) -> str:
    """``$true`` where the engine passes values (they must survive a 64-bit relaunch)."""
    return "$true" if target.arguments or target.environment else "$false"


def _main_input(remediation: Remediation, target: Target) -> str:
    if target.line_limit is None:
        report = (
            "    $QbdExportMode = [string]$ExecutionContext.SessionState.LanguageMode\n"
            "    $QbdExportJson = New-QbdExportFailure -Problem @(("
            + ps_string(_LANGUAGE_MODE_PROBLEM)
            + " -f $QbdExportMode)) -Check 'language-mode'\n"
            "    Write-QbdExportResult -Json $QbdExportJson"
        )
    else:
        problem = _LANGUAGE_MODE_PROBLEM.format("a restricted language mode")
        literal = failure_literal(remediation.name, "language-mode", problem)
        report = f"    Write-Output {literal}"
    return (
        _MAIN_INPUT.replace("QBD_LANGUAGE_MODE_RESULT", report)
        .replace("QBD_FAILED_CODE", str(target.failed_code or 0))
        .replace("QBD_TAKES_VALUES", _takes_values(target))
    )


def _trap(remediation: Remediation, target: Target) -> str:
    """For an engine that counts stderr as failure: any error the adapters meet still ends in
    the one JSON result and the failed exit code, with nothing on stderr, even when writing
    the result fails too."""
    if not target.quiet:
        return ""
    fallback = failure_literal(
        remediation.name, "script", "The script stopped before it could write its result."
    )
    return (
        "\ntrap {\n"
        "    try {\n"
        "        $QbdExportTrapped = New-QbdExportFailure -Problem @(('The script stopped: {0}' -f "
        "$_.Exception.Message)) -Check 'script'\n"
        "        Write-QbdExportResult -Json $QbdExportTrapped\n"
        "    } catch {\n"
        f"        Write-Output {fallback}\n"
        "    }\n"
        f"    exit {target.failed_code}\n"
        "}\n"
    )


#: Streams other than output and the result, discarded where the engine reads stderr as failure.
QUIET_STREAMS = "2>$null 3>$null 4>$null 5>$null 6>$null"


def _ansible_function(target: Target) -> str:
    if not target.ansible:
        return ""
    return r"""
function Set-QbdExportAnsible {
    # ansible.windows.win_powershell: the result as $Ansible.Result, failed only for a failed
    # run, changed only for a changed one (or, under -WhatIf, when something would change).
    param([AllowNull()] [object] $Result, [Parameter(Mandatory = $true)] [string] $Status)
    $engine = Get-Variable -Name 'Ansible' -ValueOnly -ErrorAction SilentlyContinue
    if ($null -eq $engine) { return }
    $wouldChange = $false
    if ($WhatIfPreference -and $null -ne $Result -and $null -ne $Result.PSObject.Properties['actions']) {
        $wouldChange = @($Result.actions).Count -gt 0
    }
    $engine.Result = $Result
    $engine.Changed = ($Status -eq 'changed') -or $wouldChange
    $engine.Failed = ($Status -eq 'failed')
}
"""


def _inputs_table(parameters: list[ScriptParameter]) -> str:
    rows = []
    for p in parameters:
        fields = (
            f"Name = {ps_string(p.name)}; Kind = {ps_string(p.kind)}; "
            f"Variable = {ps_string(environment_name(p))}; "
            f"Rule = {ps_string(rule_text(p), ascii_only=True)}"
        )
        rows.append(f"    @{{ {fields} }}")
    return "$QbdExportInputs = @(\n" + ",\n".join(rows) + "\n)\n"


_MAIN_INPUT = r"""
if ($ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage') {
    # Constrained Language Mode (AppLocker or WDAC script enforcement) blocks the .NET calls
    # this script makes: say so in the one JSON result, before any of them.
QBD_LANGUAGE_MODE_RESULT
    if ($PSCommandPath) { exit QBD_FAILED_CODE }
    return
}
$QbdExportVariables = @(Get-Variable -Scope Local -Name $QbdExportNames)
$QbdExportProblems = @()
if ($PSCommandPath -and $env:QBD_EXPORT_VALUES -and QBD_TAKES_VALUES) {
    $QbdExportRelaunched = $env:QBD_EXPORT_VALUES
    [Environment]::SetEnvironmentVariable('QBD_EXPORT_VALUES', $null)
    $QbdExportProblems = @(Read-QbdExportRelaunch -Json $QbdExportRelaunched -Variables $QbdExportVariables)
}"""

_ENV_INPUT = r""" else {
    $QbdExportProblems = @(Read-QbdExportEnvironment -Inputs $QbdExportInputs -Bound $PSBoundParameters -Variables $QbdExportVariables)
}"""

_MAIN_CHECK = r"""
if ($QbdExportProblems.Count -gt 0) {
    foreach ($QbdExportProblem in $QbdExportProblems) { Write-Output ('qbd-fix: {0}' -f $QbdExportProblem) }
    $QbdExportJson = New-QbdExportFailure -Problem $QbdExportProblems
    $QbdExportFailed = ConvertFrom-Json -InputObject $QbdExportJson
"""

_MAIN_CHECK_END = r"""    Write-QbdExportResult -Json $QbdExportJson
    Exit-QbdExport -Code (Get-QbdExportExitCode -Status 'failed')
    return
}
$QbdExportArguments = Get-QbdExportArgument -Variables $QbdExportVariables

if ($PSCommandPath -and [Environment]::Is64BitOperatingSystem -and -not [Environment]::Is64BitProcess) {
    # A 32-bit host (some RMM agents) sees Program Files (x86) and the WOW6432Node registry:
    # run again in the 64-bit one. The resolved values travel as JSON data, never as code.
    $QbdExportNative = Join-Path -Path $env:WINDIR -ChildPath 'sysnative\WindowsPowerShell\v1.0\powershell.exe'
    if (Test-Path -LiteralPath $QbdExportNative -PathType Leaf) {
        # Values the engine passed travel on; baked ones are the 64-bit copy's own defaults.
        if (QBD_TAKES_VALUES) { $env:QBD_EXPORT_VALUES = ConvertTo-Json -InputObject $QbdExportArguments -Depth 2 -Compress }
        $QbdExportRelaunch = @('-NoLogo', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', $PSCommandPath)
        if ($WhatIfPreference) { $QbdExportRelaunch += '-WhatIf' }
        & $QbdExportNative @QbdExportRelaunch
        Exit-QbdExport -Code $LASTEXITCODE
        return
    }
}
if ($WhatIfPreference) { $QbdExportArguments['WhatIf'] = $true }

# ---- the remediation script, exactly as qbd-fix renders it ----
"""

_MAIN_OUTPUT = r"""
# Run without a file of its own, the remediation script neither exits nor relaunches: its
# last output is its JSON result, reported here the way the engine reads results.
$QbdExportJson = $null
try {
    $QbdExportOutput = @(& ([scriptblock]::Create($QbdExportBody.ToString())) @QbdExportArguments QBD_QUIET)
    if ($QbdExportOutput.Count -gt 0) {
        $QbdExportJson = [string]$QbdExportOutput[-1]
        if ($QbdExportOutput.Count -gt 1) {
            foreach ($QbdExportLine in $QbdExportOutput[0..($QbdExportOutput.Count - 2)]) { Write-Output ([string]$QbdExportLine) }
        }
    }
} catch {
    $QbdExportJson = New-QbdExportFailure -Problem @(('The remediation script stopped: {0}' -f $_.Exception.Message))
}
$QbdExportResult = $null
try {
    if ($QbdExportJson) { $QbdExportResult = ConvertFrom-Json -InputObject $QbdExportJson }
} catch {
    $QbdExportResult = $null
}
if ($null -eq $QbdExportResult) {
    $QbdExportJson = New-QbdExportFailure -Problem @('The remediation script printed no JSON result.')
    $QbdExportResult = ConvertFrom-Json -InputObject $QbdExportJson
}
$QbdExportStatus = Get-QbdExportStatus -Result $QbdExportResult
"""


@dataclass(frozen=True)
class ExportScript:
    """An exported script's text (LF line ends) and the pieces it was built from."""

    remediation: Remediation
    target: Target
    text: str
    body: str
    parameters: dict[str, ParamValue]
    """The values baked in, ``-TimeBudgetSeconds`` included."""

    @property
    def filename(self) -> str:
        return f"{self.remediation.name}.ps1"

    @property
    def declared(self) -> list[ScriptParameter]:
        """The outer ``param()`` block's parameters: the fix's own and ``-TimeBudgetSeconds``."""
        return [*self.remediation.parameters, budget_parameter(self.budget)]

    def file_bytes(self) -> bytes:
        data = crlf(self.text)
        return (b"\xef\xbb\xbf" + data) if self.target.bom else data

    @property
    def timeout(self) -> int:
        """Seconds the engine should allow: the script's budget and the runners' margin."""
        return self.budget + RUNNER_MARGIN_SECONDS

    @property
    def budget(self) -> int:
        value = self.parameters[BUDGET_PARAMETER]
        assert isinstance(value, int)
        return value


def body_of(text: str) -> str:
    """The remediation script held between the adapters of an exported script's text."""
    start = text.index(BODY_START) + len(BODY_START)
    end = text.index(BODY_END, start)
    return text[start:end]


@lru_cache(maxsize=32)
def body_script(remediation: Remediation) -> str:
    """The body: the remediation script rendered with its defaults (the same for every target
    and every set of values, which all reach it as arguments)."""
    body = remediation.render().text
    if not body.isascii():
        raise ExportError(f"{remediation.name}: the script holds non-ASCII text")
    return body if body.endswith("\n") else body + "\n"


def bind(remediation: Remediation, values: Mapping[str, ParamValue]) -> dict[str, ParamValue]:
    """Every parameter's value (given, else its default), checked as the script checks it,
    and ``-TimeBudgetSeconds`` for these values."""
    known = {p.name: p for p in remediation.parameters}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ExportError(f"{remediation.name}: unknown parameters {', '.join(unknown)}")
    bound: dict[str, ParamValue] = {}
    for p in remediation.parameters:
        value = p.check(values.get(p.name, p.default))
        p.check_bounds(value)
        bound[p.name] = value
    bound[BUDGET_PARAMETER] = remediation.time_budget(bound)
    return bound


def build(
    remediation: Remediation, values: Mapping[str, ParamValue], target: Target
) -> ExportScript:
    """The exported script of *remediation* for *target*, with *values* as its defaults."""
    baked = bind(remediation, values)
    body = body_script(remediation)
    budget = baked[BUDGET_PARAMETER]
    assert isinstance(budget, int)
    parameters = [*remediation.parameters, budget_parameter(budget)]
    outer = param_block(parameters, baked, ascii_only=True)
    accepted = (
        ["baked in below (the engine passes none)"]
        if not target.arguments and not target.environment
        else []
    )
    if target.arguments:
        accepted.append("script parameters (as the remediation script takes them)")
    if target.environment:
        accepted.append("environment variables QBD_<NAME> or QBD_<NAME>_B64 (base64 of UTF-8)")
    header = [
        f"# qbd-fix {__version__}: {remediation.name} for {target.title}.",
        f"# {remediation.title}.",
        "# Generated by `qbd-fix export`; edit nothing: the remediation script below runs",
        "# unchanged between an input adapter (values) and an output adapter (result).",
        "# Values: " + "; or ".join(accepted) + ". See README.md.",
        (
            "# Output: one JSON result as the last line."
            if target.quiet
            else "# Output: progress lines, then one JSON result as the last line."
        ),
    ]
    if target.codes is not None:
        ok, failed, needs = target.codes
        if failed == needs:
            header.append(f"# Exit codes: {ok} ok or changed, {failed} failed or needs a person.")
        else:
            header.append(
                f"# Exit codes: {ok} ok or changed, {failed} failed, {needs} needs a person."
            )
    else:
        header.append("# Result: $Ansible.Result, .Changed and .Failed; no exit code.")
    names = ", ".join(ps_string(p.name) for p in parameters)
    parts = [
        "\n".join(header) + "\n",
        outer + "\n\n",
        "Set-StrictMode -Version 3.0\n$ErrorActionPreference = 'Stop'\n",
        # No console to draw progress on: keep it off the engine's output.
        "$ProgressPreference = 'SilentlyContinue'\n" if target.quiet else "",
        f"$QbdExportRemediation = {ps_string(remediation.name)}\n",
        f"$QbdExportNames = @({names})\n",
        _inputs_table(inputs(remediation, budget)) + "\n",
        _FUNCTIONS + "\n",
        _exit_function(target),
        _result_function(target),
        _ansible_function(target),
        _trap(remediation, target),
        _main_input(remediation, target),
        _ENV_INPUT if target.environment else "",
        _MAIN_CHECK,
        "    Set-QbdExportAnsible -Result $QbdExportFailed -Status 'failed'\n"
        if target.ansible
        else "",
        _MAIN_CHECK_END.replace("QBD_TAKES_VALUES", _takes_values(target)),
        BODY_START,
        body,
        BODY_END,
        _MAIN_OUTPUT.replace(" QBD_QUIET", " " + QUIET_STREAMS if target.quiet else ""),
        "Set-QbdExportAnsible -Result $QbdExportResult -Status $QbdExportStatus\n"
        if target.ansible
        else "",
        "Write-QbdExportResult -Json $QbdExportJson\n",
        "Exit-QbdExport -Code (Get-QbdExportExitCode -Status $QbdExportStatus)\n",
    ]
    text = "".join(parts)
    if not text.isascii():
        raise ExportError(f"{remediation.name}: the exported script would hold non-ASCII text")
    return ExportScript(remediation, target, text, body, baked)


__all__ = [
    "BODY_END",
    "BODY_START",
    "RUNNER_MARGIN_SECONDS",
    "ExportError",
    "ExportScript",
    "body_of",
    "build",
    "environment_name",
    "inputs",
    "rule_text",
]
