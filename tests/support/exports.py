"""Shared by the tests of exported scripts: where PowerShell 7 is, and a stand-in body.

The stand-in replaces the remediation script inside an exported file, so the adapters, which
are the real ones, can be driven end to end: it reports the values it received and the status
asked of it (``FAKE_STATUS``), and ``FAKE_NOISE`` makes it write to every other stream.
"""

from __future__ import annotations

import os
from pathlib import Path

from qbd_fix.exports.script import BODY_END, BODY_START, ExportScript
from qbd_fix.script.engine import param_block


def pwsh_path() -> Path:
    if os.environ.get("QBD_PWSH"):
        return Path(os.environ["QBD_PWSH"])
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "qbd-pwsh" / "tools" / ("pwsh.exe" if os.name == "nt" else "pwsh")


PWSH = pwsh_path()

FAKE = r"""
$received = [ordered]@{}
foreach ($key in @($PSBoundParameters.Keys)) {
    $value = $PSBoundParameters[$key]
    if ($value -is [System.Management.Automation.SwitchParameter]) { $value = [bool]$value.IsPresent }
    $received[$key] = $value
}
if ($env:FAKE_NOISE) {
    Write-Warning 'a warning'
    Write-Verbose 'verbose text' -Verbose
    Write-Host 'host text'
    Write-Information 'information' -InformationAction Continue
    Write-Error 'a non-terminating error' -ErrorAction Continue
}
if ($env:FAKE_THROW) { throw 'the stand-in stopped' }
$checks = @()
if ($env:FAKE_BIG) {
    foreach ($i in 1..40) { $checks += @{ name = "check $i"; passed = ($i -gt 30); evidence = ('evidence ' * 60) } }
}
$actions = @()
if ($WhatIfPreference) { $actions = @(@{ description = 'would restart'; performed = $false }) }
Write-Output 'a line before the result'
ConvertTo-Json -Compress -Depth 5 -InputObject ([ordered]@{
    remediation = 'stand-in'; status = $env:FAKE_STATUS; checks = $checks; actions = $actions
    messages = @(); data = [ordered]@{ received = $received; what_if = [bool]$WhatIfPreference }
})
"""


def with_stand_in(export: ExportScript) -> str:
    """The exported text with the remediation script replaced by :data:`FAKE`."""
    fake = param_block(export.declared, {}) + "\n" + FAKE
    start = export.text.index(BODY_START) + len(BODY_START)
    end = export.text.index(BODY_END)
    return export.text[:start] + fake + export.text[end:]
