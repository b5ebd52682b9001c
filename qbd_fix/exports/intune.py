"""``qbd-fix export intune``: a fix as an Intune Remediation (detection and remediation
scripts) or as one platform script, with the Graph request bodies that create and assign it.

Intune passes no parameters, keeps only the last output line (2,048 characters) and counts
anything on stderr as a script error, so both scripts bake their values in, print one compact
ASCII JSON line last and exit only 0 or 1 (:data:`~qbd_fix.exports.targets.INTUNE_TARGET`).

Detection is the doctor's judgement: ``detect.ps1`` runs the doctor's read-only facts script
unchanged and judges its facts with ``Get-QbdFixVerdict`` (the doctor's rules for the topics
this fix answers, in PowerShell; :mod:`qbd_fix.doctor.verdict` is its Python twin). It exits
1 only when the fix applies, and 0 when the PC is healthy, the fix has nothing to act on, or
the facts do not decide: a remediation never runs blind.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from qbd_fix import __version__
from qbd_fix.doctor.spec import DOCTOR
from qbd_fix.exports import result_line
from qbd_fix.exports.bundle import MANIFEST, baked_values, manifest
from qbd_fix.exports.script import QUIET_STREAMS, body_script, build, crlf, ps_json_literal
from qbd_fix.exports.signing import Signer
from qbd_fix.exports.targets import INTUNE_TARGET
from qbd_fix.remediations.base import Remediation
from qbd_fix.script.engine import PsCode, environment, param_block
from qbd_fix.script.params import ParamValue
from qbd_fix.script.quote import ps_string

PACKAGES = ("remediation", "platform")
RUN_AS = ("system", "user")
#: The group an assignment targets until the admin names one (Graph refuses it as it is).
GROUP_PLACEHOLDER = "REPLACE-WITH-ENTRA-GROUP-ID"
#: Intune's largest platform script, in bytes (Microsoft Learn: 200 KB).
PLATFORM_MAX_BYTES = 200 * 1024
DAILY_AT = "09:00:00"

DOCTOR_START = "$QbdDoctorBody = {\n"
DOCTOR_END = "}\n# ---- end of the doctor's facts script ----\n"


@dataclass(frozen=True)
class Schedule:
    """When Intune runs the detection: every *hours* hours, or daily at :data:`DAILY_AT`."""

    hours: int | None = None

    def graph(self) -> dict[str, object]:
        if self.hours is None:
            return {
                "@odata.type": "#microsoft.graph.deviceHealthScriptDailySchedule",
                "interval": 1,
                "useUtc": False,
                "time": DAILY_AT,
            }
        return {
            "@odata.type": "#microsoft.graph.deviceHealthScriptHourlySchedule",
            "interval": self.hours,
        }

    def words(self) -> str:
        if self.hours is None:
            return f"daily at {DAILY_AT[:5]} (the PC's local time)"
        return f"every {self.hours} hour{'s' if self.hours > 1 else ''}"


@dataclass(frozen=True)
class IntuneOptions:
    """How the package is made: its kind, the account it runs as, its assignment."""

    package: str = "remediation"
    run_as: str = "system"
    group_id: str | None = None
    schedule: Schedule = Schedule()


@lru_cache(maxsize=1)
def verdict_functions() -> str:
    """``Get-QbdFixVerdict`` and its helpers, rendered from their template."""
    text = environment().from_string("{% include '_verdict.ps1.j2' %}").render()
    return text if text.endswith("\n") else text + "\n"


_DETECT_FUNCTIONS = r"""
function Write-QbdDetectLine {
    # The detection's one result line (ASCII JSON, far below Intune's 2,048 characters).
    param(
        [Parameter(Mandatory = $true)] [string] $State,
        [AllowEmptyCollection()] [string[]] $Topics = @(),
        [AllowEmptyString()] [string] $Reason = '',
        [AllowEmptyString()] [string] $Computer = ''
    )
    $line = [ordered]@{
        remediation = $QbdExportRemediation
        check       = 'detect'
        computer    = Get-QbdExportShortText -Text $Computer
        state       = $State
        applies     = ($State -eq 'applies')
        topics      = @($Topics | Select-Object -First 12 | ForEach-Object { Get-QbdExportShortText -Text $_ })
        reason      = Get-QbdExportShortText -Text $Reason
    }
    Write-Output (ConvertTo-QbdExportAscii -Json (ConvertTo-Json -InputObject $line -Depth 3 -Compress))
}
"""

_DETECT_TRAP = r"""
trap {
    try {
        Write-QbdDetectLine -State 'undecided' -Reason ('The detection stopped: {0}' -f $_.Exception.Message) -Computer $env:COMPUTERNAME
    } catch {
        Write-Output QBD_STOPPED_LINE
    }
    exit 0
}
"""

_DETECT_MAIN = r"""
if ($ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage') {
    # Constrained Language mode allows no .NET types beyond core ones: a fixed line, and 0.
    Write-Output QBD_CONSTRAINED_LINE
    exit 0
}
if ($PSCommandPath -and [Environment]::Is64BitOperatingSystem -and -not [Environment]::Is64BitProcess) {
    # A 32-bit host sees Program Files (x86) and the WOW6432Node registry: judge from the
    # 64-bit one. Its exit code is 1 only when the fix applies.
    $QbdDetectNative = Join-Path -Path $env:WINDIR -ChildPath 'sysnative\WindowsPowerShell\v1.0\powershell.exe'
    if (Test-Path -LiteralPath $QbdDetectNative -PathType Leaf) {
        # A native program's stderr under 'Stop' would be an error here: read only its code.
        $ErrorActionPreference = 'Continue'
        & $QbdDetectNative -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -File $PSCommandPath 2>$null
        if ($LASTEXITCODE -eq 1) { exit 1 }
        exit 0
    }
}

$QbdDetectState = 'undecided'
$QbdDetectTopics = @()
$QbdDetectReason = ''
$QbdDetectComputer = $env:COMPUTERNAME
try {
    $QbdDetectOutput = @(& ([scriptblock]::Create($QbdDoctorBody.ToString())) QBD_QUIET)
    if ($QbdDetectOutput.Count -eq 0) { throw 'the facts script printed nothing' }
    $QbdDetectDocument = ConvertFrom-Json -InputObject ([string]$QbdDetectOutput[-1])
    $QbdDetectFacts = Get-QbdExportField -Item (Get-QbdExportField -Item $QbdDetectDocument -Name 'data') -Name 'facts'
    if ($null -eq $QbdDetectFacts -or $QbdDetectFacts -is [string] -or $QbdDetectFacts -is [System.ValueType]) {
        throw 'the facts script gathered no facts'
    }
    $QbdDetectName = Get-QbdExportField -Item $QbdDetectFacts -Name 'computer'
    if ($QbdDetectName -is [string] -and $QbdDetectName) { $QbdDetectComputer = $QbdDetectName }
    $QbdDetectVerdict = Get-QbdFixVerdict -Facts $QbdDetectFacts -Remediation $QbdExportRemediation -ClientName $QbdDetectClientName -Switches $QbdDetectSwitches
    $QbdDetectTopics = @($QbdDetectVerdict.topics)
    if ($QbdDetectVerdict.applies) {
        $QbdDetectState = 'applies'
        $QbdDetectReason = 'The doctor finds what this fix answers: ' + (@($QbdDetectTopics) -join ', ') + '.'
    } elseif ($QbdDetectVerdict.held) {
        # The doctor finds something, but this export's fix would not act on it, or a probe
        # it rests on failed: running the remediation would change nothing.
        $QbdDetectState = 'held'
        $QbdDetectReason = [string]$QbdDetectVerdict.held
    } elseif ([string](Get-QbdExportField -Item $QbdDetectDocument -Name 'status') -eq 'failed') {
        $QbdDetectReason = 'The facts script stopped early, and its partial facts do not call for this fix.'
    } else {
        $QbdDetectState = 'healthy'
        $QbdDetectReason = 'The doctor finds nothing this fix answers.'
    }
} catch {
    $QbdDetectState = 'undecided'
    $QbdDetectReason = 'The facts could not be judged: {0}' -f $_.Exception.Message
}
Write-QbdDetectLine -State $QbdDetectState -Topics $QbdDetectTopics -Reason $QbdDetectReason -Computer $QbdDetectComputer
if ($QbdDetectState -eq 'applies') { exit 1 }
exit 0
"""


def detect_text(remediation: Remediation, values: Mapping[str, ParamValue]) -> str:
    """``detect.ps1`` (LF line ends): the doctor's facts script, judged for *remediation*."""
    # The values the verdict reads: the client the fix is for, and its switches (a finding
    # whose fix needs --force-close, say, calls for this export only when it sets it).
    read = [p for p in remediation.parameters if p.name == "ClientName" or p.kind == "switch"]
    if read:
        block = param_block(
            read, {p.name: values.get(p.name, p.default) for p in read}, ascii_only=True
        )
    else:
        block = PsCode("[CmdletBinding()]\nparam()")
    client_line = (
        "$QbdDetectClientName = $ClientName\n"
        if any(p.name == "ClientName" for p in read)
        else "$QbdDetectClientName = ''\n"
    )
    switches = ", ".join(ps_string(p.name) for p in read if p.kind == "switch")
    client_line += (
        f"$QbdDetectSwitches = @(@({switches}) | Where-Object {{ "
        "[bool](Get-Variable -Name $_ -ValueOnly) })\n"
    )
    header = [
        f"# qbd-fix {__version__}: detection for {remediation.name} (Microsoft Intune Remediations).",
        f"# {remediation.title}.",
        "# Generated by `qbd-fix export intune`; edit nothing. The doctor's read-only facts script",
        "# runs unchanged below, and its facts are judged for this fix as `qbd-fix doctor` judges",
        "# them for the values below. Exit 1 only when the fix applies; 0 when healthy, when the",
        "# fix would not act on what is found (held), or when the facts do not decide.",
        "# Output: one JSON line (remediation, computer, state, applies, topics, reason).",
    ]
    parts = [
        "\n".join(header) + "\n",
        block + "\n\n",
        "Set-StrictMode -Version 3.0\n$ErrorActionPreference = 'Stop'\n",
        "$ProgressPreference = 'SilentlyContinue'\n",
        f"$QbdExportRemediation = {ps_string(remediation.name)}\n",
        client_line,
        "\n",
        result_line.FUNCTIONS,
        _DETECT_FUNCTIONS,
        "\n",
        verdict_functions(),
        _DETECT_TRAP.replace(
            "QBD_STOPPED_LINE",
            _undecided_literal(remediation, "The detection stopped before it could judge."),
        ),
        "\n",
        DOCTOR_START,
        body_script(DOCTOR),
        DOCTOR_END,
        _DETECT_MAIN.replace("QBD_QUIET", QUIET_STREAMS).replace(
            "QBD_CONSTRAINED_LINE",
            _undecided_literal(
                remediation,
                "PowerShell runs in a restricted language mode here (AppLocker or WDAC script "
                "enforcement); the facts script needs FullLanguage.",
            ),
        ),
    ]
    text = "".join(parts)
    if not text.isascii():
        raise ValueError(f"{remediation.name}: the detection script would hold non-ASCII text")
    return text


def _undecided_literal(remediation: Remediation, reason: str) -> str:
    """An undecided detection line as a PowerShell literal, for where nothing else may run."""
    line: dict[str, object] = {
        "remediation": remediation.name,
        "check": "detect",
        "computer": None,
        "state": "undecided",
        "applies": False,
        "topics": [],
        "reason": reason,
    }
    return ps_json_literal(line)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _json(document: object) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=True) + "\n").encode("ascii")


def _group(options: IntuneOptions) -> dict[str, object]:
    return {
        "@odata.type": "#microsoft.graph.groupAssignmentTarget",
        "groupId": options.group_id or GROUP_PLACEHOLDER,
    }


def _description(remediation: Remediation, options: IntuneOptions) -> str:
    if options.package == "platform":
        return f"{remediation.title}. qbd-fix {__version__}; runs once per assignment."
    return (
        f"{remediation.title}. qbd-fix {__version__}; detection is qbd-fix doctor's judgement: "
        "the fix runs only where the doctor says it applies."
    )


def health_script_body(
    remediation: Remediation, detect: bytes, remediate: bytes, options: IntuneOptions, signed: bool
) -> dict[str, object]:
    """``POST /beta/deviceManagement/deviceHealthScripts``: scripts as base64 of the files."""
    return {
        "@odata.type": "#microsoft.graph.deviceHealthScript",
        "displayName": f"qbd-fix {remediation.name}",
        "description": _description(remediation, options),
        "publisher": "qbd-fix",
        "version": __version__,
        "runAsAccount": options.run_as,
        "enforceSignatureCheck": signed,
        "runAs32Bit": False,
        "detectionScriptContent": _b64(detect),
        "remediationScriptContent": _b64(remediate),
    }


def platform_script_body(
    remediation: Remediation, script: bytes, options: IntuneOptions, signed: bool
) -> dict[str, object]:
    """``POST /beta/deviceManagement/deviceManagementScripts``."""
    return {
        "@odata.type": "#microsoft.graph.deviceManagementScript",
        "displayName": f"qbd-fix {remediation.name}",
        "description": _description(remediation, options),
        "runAsAccount": options.run_as,
        "enforceSignatureCheck": signed,
        "runAs32Bit": False,
        "fileName": "script.ps1",
        "scriptContent": _b64(script),
    }


def assign_body(options: IntuneOptions) -> dict[str, object]:
    """``POST .../{id}/assign``: the group, and for a Remediation its schedule."""
    if options.package == "platform":
        return {
            "deviceManagementScriptAssignments": [
                {
                    "@odata.type": "#microsoft.graph.deviceManagementScriptAssignment",
                    "target": _group(options),
                }
            ]
        }
    return {
        "deviceHealthScriptAssignments": [
            {
                "@odata.type": "#microsoft.graph.deviceHealthScriptAssignment",
                "target": _group(options),
                "runRemediationScript": True,
                "runSchedule": options.schedule.graph(),
            }
        ]
    }


def export_files(
    remediation: Remediation,
    values: Mapping[str, ParamValue],
    options: IntuneOptions = IntuneOptions(),
    signer: Signer | None = None,
) -> dict[str, bytes]:
    """Every file of an Intune export, by name. *signer* signs each script after rendering
    (the Graph bodies then carry the signed bytes and ``enforceSignatureCheck``)."""
    from qbd_fix.exports.intune_readme import readme

    export = build(remediation, values, INTUNE_TARGET)
    signed = signer is not None
    scripts: dict[str, bytes] = {}
    if options.package == "platform":
        scripts["script.ps1"] = export.file_bytes()
    else:
        scripts["detect.ps1"] = crlf(detect_text(remediation, export.parameters))
        scripts["remediate.ps1"] = export.file_bytes()
    if signer is not None:
        scripts = {name: signer.sign(name, data) for name, data in scripts.items()}
    files = dict(scripts)
    if options.package == "platform":
        size = len(scripts["script.ps1"])
        if size > PLATFORM_MAX_BYTES:
            raise ValueError(
                f"{remediation.name}: the platform script is {size} bytes, above Intune's "
                f"{PLATFORM_MAX_BYTES}; export it with --package remediation"
            )
        files["deviceManagementScript.json"] = _json(
            platform_script_body(remediation, scripts["script.ps1"], options, signed)
        )
    else:
        files["deviceHealthScript.json"] = _json(
            health_script_body(
                remediation, scripts["detect.ps1"], scripts["remediate.ps1"], options, signed
            )
        )
    files["assign.json"] = _json(assign_body(options))
    files["README.md"] = readme(
        export, options, signed, sizes={n: len(d) for n, d in scripts.items()}
    ).encode("utf-8")
    files[MANIFEST] = manifest(
        "intune",
        files,
        remediation=remediation.name,
        package=options.package,
        run_as=options.run_as,
        values=baked_values(export.declared, export.parameters),
        timeout_seconds=export.timeout,
        result_line_limit=INTUNE_TARGET.line_limit,
        exit_codes={
            "ok": 0,
            "failed": 1,
            "needs_user_action": 1,
            **({"detect_applies": 1} if options.package == "remediation" else {}),
        },
        signature=signer.describe() if signer is not None else None,
    )
    return files


__all__ = [
    "GROUP_PLACEHOLDER",
    "PACKAGES",
    "RUN_AS",
    "IntuneOptions",
    "Schedule",
    "assign_body",
    "detect_text",
    "export_files",
    "health_script_body",
    "platform_script_body",
]
