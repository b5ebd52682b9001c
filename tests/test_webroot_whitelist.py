"""webroot-whitelist: the rendered script is valid 5.1, lists the folders and the Webroot steps,
and adds a Defender exclusion only through Invoke-QbdChange, only where Defender is active."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from qbd_fix.remediations import REMEDIATIONS
from qbd_fix.script.params import ParamValue
from tests.support.pwsh import REFERENCE_PATH, ReferenceCommands, check_script, parse
from tests.test_reset_certificate import _command_name, _context, _nodes, unguarded_state_changes

NAME = "webroot-whitelist"
TEMPLATE = Path(__file__).parents[1] / "qbd_fix" / "templates" / "webroot_whitelist.ps1.j2"
VARIANTS: dict[str, dict[str, ParamValue]] = {
    "defaults": {},
    "defender": {"DefenderExclusion": True},
}


@cache
def rendered(variant: str) -> str:
    return REMEDIATIONS[NAME].render(VARIANTS[variant]).text


def function_body(text: str, name: str) -> str:
    return text.split(f"function {name} {{", 1)[1].split("\nfunction ", 1)[0]


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_valid_windows_powershell_51(variant: str) -> None:
    report = check_script(rendered(variant))
    assert report.ok, (report.errors, report.ps7_only, report.quote_mismatches)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_commands_are_defined_or_in_51_with_their_parameters(variant: str) -> None:
    if not REFERENCE_PATH.exists():
        pytest.skip("Windows PowerShell 5.1 reference not present")
    reference = ReferenceCommands.load()
    problems = []
    for command, params in check_script(rendered(variant)).external_commands().items():
        if command == "&":
            continue
        if reference.is_alias(command) or not reference.has_command(command):
            problems.append(f"{command}: not in 5.1")
            continue
        problems += [
            f"{command} -{p}" for p in params if not reference.accepts_parameter(command, p)
        ]
    assert problems == []


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_state_change_goes_through_invoke_qbdchange(variant: str) -> None:
    assert unguarded_state_changes(rendered(variant)) == []


def test_add_mppreference_only_directly_in_a_change_block() -> None:
    found = [
        _context(parents)
        for node, parents in _nodes(parse(rendered("defender")).root_node)
        if node.type == "command" and _command_name(node) == "Add-MpPreference"
    ]
    assert found == ["change"]
    assert "Add-MpPreference -ExclusionPath $exclusionPath -ErrorAction Stop" in rendered(
        "defender"
    )


def test_template_avoids_the_change_block_variable_names() -> None:
    source = TEMPLATE.read_text(encoding="utf-8")
    assert not re.search(r"\$(Target|Action|Change|description)\b", source, re.IGNORECASE)


def test_double_quoted_strings_hold_no_variables() -> None:
    for node, _ in _nodes(parse(rendered("defender")).root_node):
        if node.type in ("expandable_string_literal", "expandable_here_string_literal"):
            assert b"$" not in (node.text or b""), node.text


def test_detects_webroot_every_way() -> None:
    fn = function_body(rendered("defaults"), "Get-QbdWebroot")
    assert "@('WRSVC', 'WRCoreService', 'WRSkyClient')" in fn
    assert "Get-Service -Name $serviceName -ErrorAction SilentlyContinue" in fn
    assert "Get-Process -Name 'WRSA' -ErrorAction SilentlyContinue" in fn
    assert "'Webroot\\WRSA.exe'" in fn and "Get-QbdFileVersion -Path $exe" in fn
    assert "'HKLM:\\SOFTWARE\\WRData', 'HKLM:\\SOFTWARE\\WOW6432Node\\WRData'" in fn


def test_reports_registered_antivirus_and_defender_state() -> None:
    text = rendered("defaults")
    av = function_body(text, "Get-QbdAntivirusProduct")
    assert "-Namespace 'root/SecurityCenter2' -ClassName AntiVirusProduct -ErrorAction Stop" in av
    assert "catch" in av  # absent on Windows Server
    defender = function_body(text, "Get-QbdDefenderState")
    assert "Get-Command -Name 'Get-MpComputerStatus'" in defender
    for field in ("AMRunningMode", "RealTimeProtectionEnabled", "IsTamperProtected"):
        assert field in defender
    assert "PSObject.Properties[$fields[$key]]" in defender  # strict mode: older builds lack some


def test_lists_folders_and_overrides_per_user() -> None:
    text = rendered("defaults")
    assert "Find-QbdConnector" in text
    fn = function_body(text, "Get-QbdAllowFolder")
    assert "kind = 'folder'" in fn and "user = $user" in fn
    assert "Set-QbdData -Name 'overrides'" in text
    body = function_body(text, "Invoke-QbdRemediation")
    assert "C:\\Users\\<user>\\AppData\\Local\\Codat" in body  # the no-connector guidance


def test_webroot_steps_console_overrides_and_quarantine() -> None:
    fn = function_body(rendered("defaults"), "Write-QbdWebrootGuidance")
    for text in (
        "open Webroot SecureAnywhere and, in the PC Security section, click Settings (the gear icon)",
        "Open the ''Whitelisted Scripts'' tab and click Advanced Whitelist.",
        "click Select (select the whole folder, not individual files)",
        "Double-check that each folder is now listed",
        "Path overrides need agent 9.0.1 or later and cannot use %LOCALAPPDATA%",
        "foreach ($item in $Folder) {",
        "Path/Folder Mask ''{1}\\''",
        "must be restored from quarantine first",
    ):
        assert text in fn, text


def test_status_follows_webroot_presence() -> None:
    body = function_body(rendered("defaults"), "Invoke-QbdRemediation")
    present = body.split("if ($webroot.present) {\n        Set-QbdStatus", 1)
    assert len(present) == 2 and present[1].startswith(" -Status 'needs_user_action'")
    assert (
        "Webroot SecureAnywhere is not installed on this PC: the Webroot whitelisting topic does not apply."
        in body
    )
    assert "No connector folder found on this PC" in body


def test_defender_exclusion_only_where_defender_is_active_with_the_risk_stated() -> None:
    fn = function_body(rendered("defender"), "Invoke-QbdDefenderExclusion")
    assert fn.index("Risk:") < fn.index("Add-MpPreference -ExclusionPath")
    assert "event 5007" in fn and "tamper protection may block" in fn
    assert "user-writable folders" in fn
    assert "$Defender.am_running_mode -ne 'Normal'" in fn
    assert "Another antivirus is active" in fn
    assert fn.index("if ($null -ne $skip) {") < fn.index("Add-MpPreference -ExclusionPath")
    # Idempotent: compare with -eq against the current exclusions, verify afterwards.
    assert "is already excluded from Defender scanning; no change." in fn
    assert "$_.TrimEnd('\\') -eq $wanted" in function_body(rendered("defender"), "Test-QbdExcluded")
    assert "Add-QbdCheck -Name 'defender-exclusions'" in fn


def test_switch_is_a_parameter_not_a_template_branch() -> None:
    assert (
        rendered("defaults").split("Set-StrictMode", 1)[1]
        == rendered("defender").split("Set-StrictMode", 1)[1]
    )
    assert "[switch] $DefenderExclusion = $true" in rendered("defender")
