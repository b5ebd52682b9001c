"""webroot-whitelist: the script lists the folders and the Webroot steps, and adds a Defender
exclusion only directly in an Invoke-QbdChange block, only where Defender is active (syntax,
commands and the guard for every variant: tests/test_scripts.py)."""

from __future__ import annotations

from functools import cache

from qbd_fix.remediations import REMEDIATIONS
from tests.support.guards import command_name, context_of, syntax_nodes
from tests.support.pwsh import commands_used, parse
from tests.support.variants import variant_values

NAME = "webroot-whitelist"


@cache
def rendered(variant: str) -> str:
    """One variant from tests/support/variants.py (syntax, commands and the state-change guard
    are checked there for all of them, in tests/test_scripts.py)."""
    return REMEDIATIONS[NAME].render(variant_values(NAME, variant)).text


def function_body(text: str, name: str) -> str:
    return text.split(f"function {name} {{", 1)[1].split("\nfunction ", 1)[0]


def test_add_mppreference_only_directly_in_a_change_block() -> None:
    found = [
        context_of(parents)
        for node, parents in syntax_nodes(parse(rendered("DefenderExclusion")).root_node)
        if node.type == "command" and command_name(node) == "Add-MpPreference"
    ]
    assert found == ["change"]
    # No native program either: the exclusion is the only change.
    assert not [
        c for c in commands_used(rendered("DefenderExclusion")) if c.lower().endswith(".exe")
    ]
    assert "Add-MpPreference -ExclusionPath $exclusionPath -ErrorAction Stop" in rendered(
        "DefenderExclusion"
    )


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
    fn = function_body(rendered("DefenderExclusion"), "Invoke-QbdDefenderExclusion")
    assert fn.index("Risk:") < fn.index("Add-MpPreference -ExclusionPath")
    assert "event 5007" in fn and "tamper protection may block" in fn
    assert "user-writable folders" in fn
    assert "$Defender.am_running_mode -ne 'Normal'" in fn
    assert "Another antivirus is active" in fn
    assert fn.index("if ($null -ne $skip) {") < fn.index("Add-MpPreference -ExclusionPath")
    # Idempotent: compare with -eq against the current exclusions, verify afterwards.
    assert "is already excluded from Defender scanning; no change." in fn
    assert "$_.TrimEnd('\\') -eq $wanted" in function_body(
        rendered("DefenderExclusion"), "Test-QbdExcluded"
    )
    assert "Add-QbdCheck -Name 'defender-exclusions'" in fn


def test_switch_is_a_parameter_not_a_template_branch() -> None:
    assert (
        rendered("defaults").split("Set-StrictMode", 1)[1]
        == rendered("DefenderExclusion").split("Set-StrictMode", 1)[1]
    )
    assert "[switch] $DefenderExclusion = $true" in rendered("DefenderExclusion")


def test_finds_the_web_connector_and_auto_run_programs_where_they_are() -> None:
    text = rendered("defaults")
    find = function_body(text, "Find-QbdWebConnectorProgram")
    for place in (
        "-ChildPath 'Codat'",
        "-ChildPath 'AppData\\Local\\Codat'",
        "-ChildPath 'AppData\\Local\\Programs'",
        "IndexOf('Codat', [System.StringComparison]::OrdinalIgnoreCase)",
        "Get-QbdStartupEntry -Hive @(Get-QbdLoadedHive)",
        "-Filter \"Name = 'QBWebConnector.exe'\"",
        "-Filter '*.exe' -File -Recurse -Depth 3",
        "Select-Object -First 50",
    ):
        assert place in find, place
    # The older connectors' own programs share Codat's folders and are not the auto-run tool.
    names = function_body(text, "Test-QbdConnectorProgramName")
    assert "@('QuickBooksDesktop', 'Sage50')" in names and "'unins'" in names
    body = function_body(text, "Invoke-QbdRemediation")
    assert "Set-QbdData -Name 'web_connector' -Value $programs" in body
    assert "Write-QbdStep -Step" in body


def test_web_connector_programs_reach_the_overrides_and_the_app_steps() -> None:
    text = rendered("defaults")
    body = function_body(text, "Invoke-QbdRemediation")
    folders = body.index(
        "$folders = @($folders) + @(Get-QbdWebConnectorAllowFolder -Program $programs"
        " -Folder $folders -Decision $decisions)"
    )
    assert body.index("$decisions = Get-QbdAllowListDecision -Program $programs") < folders
    assert folders < body.index("Write-QbdWebrootGuidance -Folder $folders")
    assert (
        "Set-QbdData -Name 'overrides' -Value @(@($folders) + @($files) | ForEach-Object {" in body
    )
    assert "Write-QbdWebConnectorGuidance -File $files" in body
    guidance = function_body(text, "Write-QbdWebConnectorGuidance")
    assert "PC Security > Block/Allow Files" in guidance
    assert "File Mask ''{2}''; Include Sub-folders unticked." in guidance
    allow_file = function_body(text, "Get-QbdWebConnectorAllowFile")
    assert "kind = 'file'" in allow_file and "Test-QbdAllowListable" in allow_file
    allow_folder = function_body(text, "Get-QbdWebConnectorAllowFolder")
    assert "kind = 'folder'" in allow_folder and "$covered = $true" in allow_folder
    found = function_body(text, "Write-QbdWebConnectorFound")
    assert "Add-QbdCheck -Name 'web-connector-program'" in found
    assert "Codat''s auto-run tool was not found. Looked in:" in found


def test_a_windows_program_a_start_up_entry_starts_is_never_allow_listed() -> None:
    fn = function_body(rendered("defaults"), "Get-QbdAllowListDecision")
    assert "if (-not $item.exists) {" in fn
    assert "$path.StartsWith($env:WINDIR.TrimEnd(" in fn
    # A name or a path naming Codat is no proof: only a valid Intuit or Codat signature.
    assert "'QBWebConnector.exe'" not in fn
    assert "IndexOf('Codat'" not in fn


def test_only_programs_signed_by_intuit_or_codat_are_allow_listed() -> None:
    text = rendered("defaults")
    fn = function_body(text, "Get-QbdAllowListDecision")
    # The installer check every script shares, with the signer list of qbd_fix/signers.py.
    assert "$trust = Test-QbdInstallerTrust -Path $path -ExpectedSha256 ''" in fn
    assert text.count("function Test-QbdInstallerTrust {") == 1
    assert text.count("Get-AuthenticodeSignature") == 1
    signers = function_body(text, "Get-QbdExpectedSigner")
    assert "'Codat Limited'" in signers and "'Intuit Inc.'" in signers
    order = [
        fn.index("if (-not $trust.trusted) {"),
        fn.index("elseif (Test-QbdProgramFilesPath -Path $decision.folder) {"),
        fn.index("$decision.scope = 'folder'"),
        fn.index("$decision.scope = 'file'"),
    ]
    assert order == sorted(order)
    allow = function_body(text, "Test-QbdAllowListable")
    assert "if ($Scope -eq 'folder') { return ($found -eq 'folder') }" in allow
    folder = function_body(text, "Get-QbdWebConnectorAllowFolder")
    assert "Test-QbdAllowListable -Program $_ -Decision $Decision -Scope 'folder'" in folder
    file = function_body(text, "Get-QbdWebConnectorAllowFile")
    assert "Test-QbdAllowListable -Program $_ -Decision $Decision -Scope 'file'" in file
    report = function_body(text, "Write-QbdAllowListDecision")
    assert "Add-QbdCheck -Name 'web-connector-programs-signed'" in report
    assert "Set-QbdStatus -Status 'needs_user_action'" in report


def test_defender_exclusion_adds_only_the_web_connector_install_folder_under_program_files() -> (
    None
):
    text = rendered("DefenderExclusion")
    fn = function_body(text, "Invoke-QbdDefenderExclusion")
    assert (
        "($_.generation -eq 'web-connector' -and $_.kind -eq 'folder' -and $_.path -match "
        "'[\\\\/]Common Files[\\\\/]Intuit[\\\\/]QuickBooks[\\\\/]QBWebConnector$' -and "
        "(Test-QbdProgramFilesPath -Path $_.path))" in fn
    )
    roots = function_body(text, "Test-QbdProgramFilesPath")
    assert "@(${env:ProgramFiles(x86)}, $env:ProgramFiles)" in roots
    # The auto-run tool's folder is never eligible: it may be the user's.
    assert "auto-run" not in fn.split("$eligible = @(", 1)[1].split("})", 1)[0]
