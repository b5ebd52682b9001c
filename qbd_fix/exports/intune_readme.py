"""The README.md of an Intune export: what each file is, the portal steps, the two Graph calls."""

from __future__ import annotations

from collections.abc import Mapping

from qbd_fix.exports import result_line
from qbd_fix.exports.bundle import markdown_value
from qbd_fix.exports.intune import GROUP_PLACEHOLDER, IntuneOptions
from qbd_fix.exports.script import ExportScript
from qbd_fix.exports.targets import INTUNE_TARGET

GRAPH = "https://graph.microsoft.com/beta/deviceManagement"


def _values(export: ExportScript) -> list[str]:
    lines = ["| parameter | value baked in |", "|---|---|"]
    secret = {p.name for p in export.remediation.parameters if p.secret}
    for name, value in export.parameters.items():
        lines.append(f"| {name} | {markdown_value(value, secret=name in secret)} |")
    return lines


def _credentials(options: IntuneOptions) -> str:
    return "**Yes** (the signed-in user)." if options.run_as == "user" else "**No** (SYSTEM)."


def _remediation_part(export: ExportScript, options: IntuneOptions) -> list[str]:
    name = export.remediation.name
    return [
        "## Files",
        "",
        "- `detect.ps1`: the doctor's read-only facts script, unchanged, judged for this fix (with "
        "the values below) as `qbd-fix doctor` judges it. Exit 1 only when the fix applies "
        "(`applies`); exit 0 when the PC is healthy (`healthy`), when the doctor finds "
        "something this fix, with these values, would not act on, or a probe the decision "
        "rests on failed (`held`, with the reason), or when the facts do not decide "
        "(`undecided`): the remediation never runs blind, nor where it would change nothing. "
        'Its last line: `{"remediation", "check": "detect", "computer", "state", '
        '"applies", "topics", "reason"}`.',
        f"- `remediate.ps1`: `qbd-fix {name}` itself with the values below; exit 0 when it "
        "fixed or found nothing to do, 1 when it failed or needs a person.",
        "- `deviceHealthScript.json`, `assign.json`: the Graph request bodies (below).",
        "- `manifest.json`: tool version, values, SHA-256 of every file.",
        "",
        "## In the Intune admin center",
        "",
        "Devices > Scripts and remediations > Remediations > Create:",
        "",
        "1. Name it (for example `qbd-fix " + name + "`).",
        "2. Detection script file: `detect.ps1`; remediation script file: `remediate.ps1`.",
        "3. *Run this script using the logged-on credentials*: " + _credentials(options),
        "4. *Enforce script signature check*: Yes only for a signed export (see Signing).",
        "5. *Run script in 64-bit PowerShell*: **Yes**.",
        f"6. Assign it to a device group; schedule: {options.schedule.words()}.",
        "",
        "Remediations need Windows Enterprise E3/E5, Education A3/A5 or Windows VDA licences. "
        "Without them, export with `--package platform`.",
        "",
        "## With Microsoft Graph",
        "",
        "Permission: `DeviceManagementScripts.ReadWrite.All`. With the Microsoft Graph "
        "PowerShell SDK (`Connect-MgGraph -Scopes DeviceManagementScripts.ReadWrite.All`):",
        "",
        "```powershell",
        f"$script = Invoke-MgGraphRequest -Method POST -Uri '{GRAPH}/deviceHealthScripts' "
        "-Body (Get-Content -Raw -LiteralPath .\\deviceHealthScript.json) "
        "-ContentType 'application/json'",
        f'Invoke-MgGraphRequest -Method POST -Uri "{GRAPH}/deviceHealthScripts/$($script.id)/assign" '
        "-Body (Get-Content -Raw -LiteralPath .\\assign.json) -ContentType 'application/json'",
        "```",
        "",
        "Results, per device (`preRemediationDetectionScriptOutput` and "
        "`postRemediationDetectionScriptOutput` hold the detection's line):",
        "",
        "```powershell",
        f'Invoke-MgGraphRequest -Method GET -Uri "{GRAPH}/deviceHealthScripts/$($script.id)/'
        'deviceRunStates?`$expand=managedDevice"',
        "```",
    ]


def _platform_part(export: ExportScript, options: IntuneOptions) -> list[str]:
    name = export.remediation.name
    return [
        "## Files",
        "",
        f"- `script.ps1`: `qbd-fix {name}` itself with the values below. Intune runs a platform "
        "script once per assignment (and retries a failure up to three times); the fix checks "
        "before it changes anything, and each step is safe to run twice. There is no detection: "
        "use `--package remediation` where the licence allows.",
        "- `deviceManagementScript.json`, `assign.json`: the Graph request bodies (below).",
        "- `manifest.json`: tool version, values, SHA-256 of every file.",
        "",
        "## In the Intune admin center",
        "",
        "Devices > Scripts and remediations > Platform scripts > Add > Windows 10 and later:",
        "",
        "1. Script location: `script.ps1`.",
        "2. *Run this script using the logged-on credentials*: " + _credentials(options),
        "3. *Enforce script signature check*: Yes only for a signed export (see Signing).",
        "4. *Run script in 64 bit PowerShell Host*: **Yes**.",
        "5. Assign it to a device group.",
        "",
        "## With Microsoft Graph",
        "",
        "Permission: `DeviceManagementScripts.ReadWrite.All`:",
        "",
        "```powershell",
        f"$script = Invoke-MgGraphRequest -Method POST -Uri '{GRAPH}/deviceManagementScripts' "
        "-Body (Get-Content -Raw -LiteralPath .\\deviceManagementScript.json) "
        "-ContentType 'application/json'",
        f'Invoke-MgGraphRequest -Method POST -Uri "{GRAPH}/deviceManagementScripts/$($script.id)/assign" '
        "-Body (Get-Content -Raw -LiteralPath .\\assign.json) -ContentType 'application/json'",
        "```",
        "",
        "Results: `GET .../deviceManagementScripts/{id}/deviceRunStates` "
        "(`resultMessage` holds the script's last line).",
    ]


def readme(
    export: ExportScript,
    options: IntuneOptions,
    signed: bool,
    sizes: Mapping[str, int],
) -> str:
    """README.md for *export* packaged as *options*."""
    r = export.remediation
    lines = [
        f"# {r.name} for Microsoft Intune ({options.package} script)",
        "",
        f"{r.title}. {r.summary}",
        "",
        "Made by qbd-fix. Edit nothing in the scripts: export again to change a value "
        "(Intune passes no parameters, so values are baked in).",
        "",
        *(
            _platform_part(export, options)
            if options.package == "platform"
            else _remediation_part(export, options)
        ),
        "",
        "## Values",
        "",
        *_values(export),
        "",
    ]
    if options.group_id is None:
        lines += [
            f"`assign.json` names the group `{GROUP_PLACEHOLDER}`: put the Entra ID group's "
            "object ID there (or export again with `--group-id`); Graph refuses the placeholder.",
            "",
        ]
    if options.run_as == "user":
        lines += [
            "**Runs as the signed-in user** (`--run-as user`): Intune then runs the scripts with "
            "that user's rights, without elevation. The fixes change machine-wide settings and "
            "report `failed` without administrator rights; the doctor's facts are also partial "
            "(other users' processes and the Security log cannot be read).",
            "",
        ]
    lines += [
        "## Output",
        "",
        f"Intune keeps the last line, up to {INTUNE_TARGET.line_limit} characters, and counts "
        "anything on stderr as a script error. "
        + ("The script prints" if options.package == "platform" else "Both scripts print")
        + " nothing on stderr and end with one JSON line. "
        + result_line.RULE,
        "",
        f"The fix stops its own waits within {export.budget} seconds (`-TimeBudgetSeconds`) "
        f"and reports; allow {export.timeout} seconds in all, well inside Intune's own limit "
        "for a script.",
        "",
        "## Sizes",
        "",
        *(f"- `{name}`: {size} bytes" for name, size in sorted(sizes.items())),
        "",
        "## Signing",
        "",
        (
            "The scripts are signed (see `manifest.json`, `signature`), and the Graph body sets "
            "`enforceSignatureCheck: true`: put the signing certificate in the PCs' Trusted "
            "Publishers store (and its root in Trusted Root) first, or every run fails."
            if signed
            else "Not signed; `enforceSignatureCheck` is false. Export with `--sign-pfx` and "
            "`--sign-password-env` where policy requires signed scripts."
        ),
        "",
    ]
    return "\n".join(lines)
