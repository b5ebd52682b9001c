# Run every *.Tests.ps1 here with the Pester module at -PesterPath (or the newest Pester 5
# installed), after python tests/pester/render.py has written out/. Exit code: 0 when every test
# passed (skipped ones included), 1 otherwise. Used by tools/check.py; works on Windows
# PowerShell 5.1 and PowerShell 7.
param(
    [string] $PesterPath = '',
    [ValidateSet('None', 'Normal', 'Detailed', 'Diagnostic')] [string] $Verbosity = 'Normal'
)
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

if ($PesterPath) {
    $pester = Import-Module -Name $PesterPath -PassThru
} else {
    $pester = Import-Module -Name Pester -MinimumVersion 5.5.0 -PassThru
}
if ($pester.Version.Major -ne 5) {
    throw ('Pester 5 is needed; {0} has {1}.' -f $pester.Path, $pester.Version)
}
$here = Split-Path -Path $MyInvocation.MyCommand.Path -Parent
if (-not (Test-Path -LiteralPath (Join-Path -Path $here -ChildPath 'out') -PathType Container)) {
    throw 'tests/pester/out is missing: run python tests/pester/render.py first.'
}

$configuration = New-PesterConfiguration
$configuration.Run.Path = $here
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = $Verbosity
$result = Invoke-Pester -Configuration $configuration
'Pester {0} on PowerShell {1}: {2} passed, {3} failed, {4} skipped.' -f $pester.Version, $PSVersionTable.PSVersion, $result.PassedCount, $result.FailedCount, $result.SkippedCount
if ($result.FailedCount -gt 0 -or @($result.FailedContainers).Count -gt 0) { exit 1 }
exit 0
