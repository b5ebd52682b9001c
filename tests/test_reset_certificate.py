"""reset-certificate: what the script looks at, the steps it gives the QuickBooks Admin, and how
it launches the installer or a note in the user's session (syntax, commands and the
Invoke-QbdChange guard: tests/test_scripts.py, for every variant)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from qbd_fix.remediations import REMEDIATIONS
from tests.support.guards import syntax_nodes
from tests.support.pwsh import check_script, commands_used, parse
from tests.support.variants import variant_values

NAME = "reset-certificate"
TEMPLATE = Path(__file__).parents[1] / "qbd_fix" / "templates" / "reset_certificate.ps1.j2"


@cache
def rendered(variant: str) -> str:
    """One variant from tests/support/variants.py (syntax, commands and the state-change guard
    are checked there for all of them, in tests/test_scripts.py)."""
    return REMEDIATIONS[NAME].render(variant_values(NAME, variant)).text


def test_user_values_only_reach_the_param_block() -> None:
    value = "Acme'; Remove-Item -Path C:\\ -Recurse; '"
    text = REMEDIATIONS[NAME].render({"ClientName": value}).text
    assert check_script(text).ok
    assert "Remove-Item -Path C:\\ -Recurse" in text.split("Set-StrictMode", 1)[0]
    assert "Remove-Item" not in text.split("Set-StrictMode", 1)[1]


def test_client_name_is_compared_as_text_not_as_a_pattern() -> None:
    text = rendered("defaults")
    assert (
        "$file.Name.StartsWith($ClientName, [System.StringComparison]::OrdinalIgnoreCase)" in text
    )
    assert not re.search(r"-(i|c)?(not)?(like|match)\s+\$ClientName", text, re.IGNORECASE)


def test_finds_quickbooks_installed_and_running() -> None:
    text = rendered("defaults")
    assert "'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall'" in text
    assert "'HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall'" in text
    assert "'HKLM:\\SOFTWARE\\Intuit\\QuickBooks'" in text
    assert "$name.StartsWith('QuickBooks', [System.StringComparison]::OrdinalIgnoreCase)" in text
    assert "\"Name = 'QBW32.exe' OR Name = 'QBW.exe'\"" in text
    assert "-MethodName GetOwner -WhatIf:$false -Confirm:$false" in text  # reads even under -WhatIf
    assert "Write-QbdGeneration -Install $installs" in text


def test_finds_installers_in_every_users_downloads() -> None:
    text = rendered("defaults")
    assert "Get-QbdUserProfile" in text and "-ChildPath 'Downloads'" in text
    assert "'*-quickbooksdesktop-connector*.exe', 'QuickBooksDesktopConnector*.exe'" in text
    used = {
        (n.text or b"").decode().lower()
        for n, _ in syntax_nodes(parse(text).root_node)
        if n.type == "variable"
    }
    assert not used & {"$env:userprofile", "$env:localappdata"}  # the caller's, not the user's
    # Preferred client first, then newest first.
    assert (
        "@{ Expression = 'matches_client'; Descending = $true }, @{ Expression = 'last_write_time'; Descending = $true }"
        in text
    )


def test_reads_the_sdk_log_tail_shared_and_knows_the_codes() -> None:
    text = rendered("defaults")
    assert "'Intuit\\QuickBooks\\qbsdklog.txt'" in text
    assert "[System.IO.FileShare]::ReadWrite" in text
    assert "Get-Content" not in text.split("function Get-QbdSdkLog", 1)[1].split("function ", 1)[0]
    for code in (
        "0x80040154", "0x80040403", "0x80040408", "0x8004040A", "0x80040416", "0x80040417",
        "0x80040418", "0x8004041A", "0x8004041D", "0x80040420", "0x80040422", "0x80040424",
    ):  # fmt: skip
        assert f"'{code}' = '" in text, code
    assert 'the "Yes, always" grant is missing' in text
    assert "codes = [ordered]@{}" in text and "last_line = $last" in text


def test_steps_are_the_seeds_in_order() -> None:
    text = rendered("defaults")
    steps = [
        "'Step 1: On this PC, open QuickBooks Desktop as the QuickBooks Admin user, with the company file the connector uses",
        "'Step 2: Go to Edit > Preferences > Integrated Applications > Company Preferences.'",
        "'Step 3: Select {0} and click Remove, then OK.'",
        "'Step 4: {0}'",
        "'Step 5: When QuickBooks shows the Application Certificate prompt, choose \"Yes, always; allow access even if QuickBooks is not running\" and confirm.'",
    ]
    positions = [text.index(step) for step in steps]
    assert positions == sorted(positions)
    assert "'the application named ''QuickBooks Connector'''" in text
    assert (
        "Re-run the connector installer {0} (in {1}''s Downloads), or re-visit the connector download page."
        in text
    )


def test_outcome_is_needs_user_action_with_generation_specific_guidance() -> None:
    text = rendered("defaults")
    body = text.split("function Invoke-QbdRemediation", 1)[1]
    assert "Set-QbdStatus -Status 'needs_user_action'" in body
    assert "The connector is not installed on this PC" in body
    assert "re-run the installer from the connector download page".lower() in body.lower()
    assert (
        "the name under Integrated Applications may differ from ''QuickBooks Connector'', but the steps below still apply"
        in body
    )


def test_launch_installer_needs_an_interactive_user_and_uses_their_session() -> None:
    text = rendered("LaunchInstaller")
    fn = text.split("function Invoke-QbdLaunchInstaller", 1)[1].split("\nfunction ", 1)[0]
    assert "nobody is logged on" in fn
    assert "no connector installer was found" in fn
    assert "Invoke-QbdChange -Target" in fn
    assert "Start-QbdInstallerRun -Run $run -TimeoutSeconds $timeout -Outcome $outcome" in fn
    assert "is already running" in fn  # idempotent: a second run does not start it twice
    assert "Get-QbdInteractiveUser" in text
    # No native program is run from the service session: the user's session starts them.
    assert not [c for c in commands_used(rendered("everything")) if c.lower().endswith(".exe")]


def test_launch_installer_checks_grant_then_trust_then_rights_before_it_starts() -> None:
    fn = rendered("LaunchInstaller").split("function Invoke-QbdLaunchInstaller", 1)[1]
    fn = fn.split("\nfunction ", 1)[0]
    order = [
        fn.index("Get-QbdGrantState -Confirmed:$GrantRemoved"),
        fn.index("Test-QbdInstallerTrust -Path $installerPath -ExpectedSha256 $InstallerSha256"),
        fn.index("Get-QbdInstallerRun -Path $installerPath -User $person"),
        fn.index("Invoke-QbdChange"),
    ]
    assert order == sorted(order)
    assert "run again with -LaunchInstaller -GrantRemoved" in fn
    assert "--" not in fn
    # The start's failure leaves the change block, so it is not recorded as performed.
    change = fn[fn.index("-Change {") : fn.index("} catch {")]
    assert "catch" not in change


def test_notify_user_writes_a_note_and_opens_notepad_in_the_users_session() -> None:
    text = rendered("NotifyUser")
    fn = text.split("function Invoke-QbdNotifyUser", 1)[1].split("\nfunction ", 1)[0]
    assert "Join-Path -Path $env:ProgramData -ChildPath 'qbd-fix'" in fn
    assert "New-Item -Path $noteFolder -ItemType Directory -Force" in fn
    assert "Set-Content -LiteralPath $notePath -Value $noteText -Encoding UTF8 -NoNewline" in fn
    assert "already holds these steps; not rewritten" in fn  # idempotent
    assert "Start-QbdInUserSession -UserSid $userSid -Execute 'notepad.exe'" in fn
    assert "if (-not $shown.started) { throw" in fn
    assert "nobody is logged on" in fn
    assert "msg.exe" not in TEMPLATE.read_text(encoding="utf-8").split("msg.exe is missing", 1)[1]


def test_switches_are_parameters_not_template_branches() -> None:
    # The same script text serves every switch: only the param block differs.
    body = {
        v: rendered(v).split("Set-StrictMode", 1)[1]
        for v in ("defaults", "LaunchInstaller", "NotifyUser", "GrantRemoved")
    }
    assert body["defaults"] == body["LaunchInstaller"] == body["NotifyUser"] == body["GrantRemoved"]
    assert "[switch] $LaunchInstaller = $true" in rendered("LaunchInstaller")
    assert "[int] $SdkLogTailKiB = 256" in rendered("defaults")


def test_installer_sha256_is_a_validated_parameter() -> None:
    text = rendered("defaults")
    assert "[ValidatePattern('^\\z|^[0-9a-f]{64}\\z')]\n    [string] $InstallerSha256 = ''" in text
    assert "[switch] $GrantRemoved" in text


def function_body(text: str, name: str) -> str:
    return text.split(f"function {name} {{", 1)[1].split("\nfunction ", 1)[0]


def test_finds_qwc_files_in_every_users_downloads_and_parses_them_as_data() -> None:
    text = rendered("defaults")
    find = function_body(text, "Find-QbdQwcFile")
    assert "Get-QbdUserProfile" in find and "-ChildPath 'Downloads'" in find
    assert "$_.Extension -eq '.qwc'" in find and "Read-QbdQwcFile -Path $file.FullName" in find
    read = function_body(text, "Read-QbdQwcFile")
    assert (
        "[System.Xml.DtdProcessing]::Prohibit" in read and "$settings.XmlResolver = $null" in read
    )
    assert "$stream.Length -gt 65536" in read
    assert "$uri.Scheme -eq 'https'" in read
    body = function_body(text, "Invoke-QbdRemediation")
    assert "$qwcFiles = @(Find-QbdQwcFile)" in body
    assert "Set-QbdData -Name 'qwc_files' -Value @($qwcFiles)" in body
    assert "Add-QbdCheck -Name 'qwc-found'" in body
    # The connector installer of this generation is looked for too.
    assert "'QuickBooksDesktopConnector*.exe'" in function_body(text, "Find-QbdInstaller")


def test_web_connector_steps_name_its_application_and_reuse_the_seeds_wording() -> None:
    text = rendered("defaults")
    steps = function_body(text, "Get-QbdWebConnectorCertificateStep")
    assert "$seed = @(Get-QbdCertificateStep -Install $Install -Installer $Installer)" in steps
    for kept in ("$seed[0],", "$seed[1],", "$seed[4],"):
        assert kept in steps
    assert (
        "the Web Connector application named ''{0}'' (the AppName in the Codat .qwc file)" in steps
    )
    assert "'Step 3: Select {0} and click Remove, then OK.'" in steps
    assert "'Step 4: {0} {1}'" in steps
    assert "Step 6: In the Web Connector, enter the password from Codat''s link page" in steps
    assert "tick Auto-Run, then click Update Selected." in steps
    body = function_body(text, "Invoke-QbdRemediation")
    assert body.index("$steps = @(Get-QbdCertificateStep") < body.index(
        "$steps = @(Get-QbdWebConnectorCertificateStep"
    )
    assert body.index("Get-QbdWebConnectorCertificateStep") < body.index(
        "foreach ($step in $steps) { Add-QbdMessage -Message $step }"
    )


def test_launch_opens_the_qwc_file_only_after_every_check() -> None:
    text = rendered("LaunchInstaller")
    fn = function_body(text, "Invoke-QbdLaunchQwc")
    order = [
        fn.index("Select-QbdQwcTarget -User $User -Qwc $Qwc"),
        fn.index("Test-Path -LiteralPath $_.executable -PathType Leaf"),
        fn.index("Write-QbdQwcNotChosen -Launch $launch"),
        fn.index("Get-QbdGrantState -Confirmed:$GrantRemoved"),
        fn.index("Test-QbdInstallerTrust -Path $program -ExpectedSha256 ''"),
        fn.index("is already open in the Web Connector"),
        fn.index("Get-QbdQwcRunLevel -User $person"),
        fn.index("if (-not $runLevel.level) {"),
        fn.index("Invoke-QbdChange"),
    ]
    assert order == sorted(order)
    change = fn[fn.index("-Change {") : fn.index("} catch {")]
    assert (
        "Start-QbdInUserSession -UserSid $userSid -Execute $program -Argument $argument"
        " -RunLevel $level" in change
    )
    assert "-RunLevel 'Limited'" not in fn
    assert "throw" in change and "catch" not in change
    assert "$argument = '\"{0}\"' -f $qwcPath" in fn
    # Only the user's own file, matched by SID.
    target = function_body(text, "Select-QbdQwcTarget")
    assert "[string]$_.sid -eq [string]$person.sid" in target
    assert "Sort-Object -Property last_write_time -Descending" in target
    body = function_body(text, "Invoke-QbdRemediation")
    assert "$qwcOpened = Invoke-QbdLaunchQwc -User $users -Qwc $qwcFiles -Install $installs" in body
    assert (
        "if (-not $qwcOpened) { Invoke-QbdLaunchInstaller -User $users -Installer $installers }"
        in body
    )


def test_only_codat_qwc_files_of_one_connection_are_opened() -> None:
    text = rendered("LaunchInstaller")
    url = function_body(text, "Test-QbdCodatQwcUrl")
    # The parsed host, on a dot boundary, from the one constant in qbd_fix/signers.py.
    assert "[System.Uri]::TryCreate($Url, [System.UriKind]::Absolute, [ref]$uri)" in url
    assert "$uri.Scheme -ne 'https'" in url
    assert (
        "([string]$uri.Host).EndsWith('.' + 'codat.io', [System.StringComparison]::OrdinalIgnoreCase)"
        in url
    )
    assert "-like" not in url and "-match" not in url
    target = function_body(text, "Select-QbdQwcTarget")
    assert "-not (Get-QbdQwcRejection -Qwc $_)" in target
    assert "'{0}|{1}' -f $file.app_name, $file.file_id" in target
    assert "if ($connections.Count -eq 1) { $chosen = $connections[0] }" in target
    refusal = function_body(text, "Write-QbdQwcNotChosen")
    assert "Set-QbdStatus -Status 'needs_user_action'" in refusal
    assert "Invoke-QbdChange" not in refusal and "Start-QbdInUserSession" not in refusal
    steps = function_body(text, "Get-QbdWebConnectorCertificateStep")
    assert "-not (Get-QbdQwcRejection -Qwc $_)" in steps


def test_the_codat_zone_is_the_package_constant() -> None:
    from qbd_fix.signers import CODAT_HOST_ZONE

    assert CODAT_HOST_ZONE == "codat.io"
    assert "'codat.io'" not in TEMPLATE.read_text(encoding="utf-8")
    assert "'.codat.io'" not in TEMPLATE.read_text(encoding="utf-8")
    assert "{{ codat_host_zone }}" in TEMPLATE.read_text(encoding="utf-8")


def test_the_web_connector_starts_at_the_elevation_of_the_users_quickbooks() -> None:
    fn = function_body(rendered("LaunchInstaller"), "Get-QbdQwcRunLevel")
    # Highest only for an administrator whose QuickBooks runs elevated; nothing when unknown.
    assert fn.count("$decision.level = 'Highest'") == 1
    assert "if ($User.is_admin -eq $true) {" in fn
    assert fn.index("if ($User.is_admin -eq $true) {") < fn.index("$decision.level = 'Highest'")
    assert "'unknown' { $decision.reason =" in fn
    assert "Get-QbdProcessElevation -ProcessId $item.process_id" in fn
    assert "if (-not $decision.level) { return [pscustomobject]$decision }" in fn
    assert "Name = 'QBWebConnector.exe'" in fn
