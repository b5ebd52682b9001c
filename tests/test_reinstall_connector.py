"""reinstall-connector: a read-only plan holds every check; one function per change step runs only
once the plan is ready (syntax, commands and the Invoke-QbdChange guard for every variant:
tests/test_scripts.py; behaviour on a fake PC: tests/pester/reinstall-connector.Tests.ps1)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from qbd_fix.remediations.reinstall_connector import REINSTALL_CONNECTOR
from qbd_fix.signers import EXPECTED_SIGNERS
from tests.support.guards import changing_functions, reachable_state_changes
from tests.support.pwsh import check_script, commands_used, ps_single_quoted_literals
from tests.support.variants import variant_values, variants

TEMPLATES = Path(__file__).resolve().parents[1] / "qbd_fix" / "templates"
TEMPLATE = TEMPLATES / "reinstall_connector.ps1.j2"
VARIANTS = [name for name, _ in variants(REINSTALL_CONNECTOR)]
PLAN = "Get-QbdReinstallPlan"
STEPS = (
    "Invoke-QbdDownloadStep",
    "Invoke-QbdBackupStep",
    "Invoke-QbdStopStep",
    "Invoke-QbdUninstallStep",
    "Invoke-QbdFolderStep",
    "Invoke-QbdInstallStep",
    "Test-QbdCompanyIdStep",
)


@cache
def rendered(variant: str) -> str:
    """One variant from tests/support/variants.py (syntax, commands and the state-change guard
    are checked there for all of them, in tests/test_scripts.py)."""
    return REINSTALL_CONNECTOR.render(variant_values(REINSTALL_CONNECTOR.name, variant)).text


def function_body(text: str, name: str) -> str:
    """The text of one function, from its ``function`` line to the next top-level function."""
    start = text.index(f"function {name} {{")
    end = text.find("\nfunction ", start + 1)
    return text[start : end if end > 0 else len(text)]


def only_calling(text: str, entry: str) -> str:
    """The script with its top level replaced by one call of *entry*: what that call reaches."""
    cut = text.index("\ntry {\n", text.index("function Invoke-QbdRemediation {"))
    return text[: cut + 1] + entry + "\n"


@pytest.mark.parametrize("variant", VARIANTS)
def test_values_do_not_change_the_script_shape(variant: str) -> None:
    assert commands_used(rendered(variant)) == commands_used(rendered("defaults"))


@pytest.mark.parametrize("variant", ["defaults", "everything"])
def test_the_plan_reaches_no_state_change(variant: str) -> None:
    """Everything the plan calls only reads: not even the change wrapper is reachable from it."""
    assert reachable_state_changes(only_calling(rendered(variant), PLAN)) == []
    # ... and the check has teeth: the whole run reaches changes.
    assert reachable_state_changes(only_calling(rendered(variant), "Invoke-QbdRemediation"))


def test_the_guard_sees_the_real_work() -> None:
    """The helpers that back up, uninstall and install change the PC; the steps reach them only
    through Invoke-QbdChange. Otherwise the guard proves nothing."""
    changing = changing_functions(rendered("defaults"))
    assert "invoke-qbdremediation" not in changing
    assert not {step.lower() for step in STEPS} & changing
    assert {
        "backup-qbdconnector",
        "invoke-qbduninstallcommand",
        "start-qbdinstallerrun",
        "start-qbdinusersession",
        "start-qbdassystem",
    } & changing >= {"backup-qbdconnector", "invoke-qbduninstallcommand", "start-qbdinstallerrun"}


def test_main_is_a_plan_then_one_call_per_step_in_order() -> None:
    body = function_body(rendered("defaults"), "Invoke-QbdRemediation").split("\n}\n", 1)[0]
    assert "Invoke-QbdChange" not in body
    positions = [body.index(f"{PLAN}")] + [body.index(f"{step} -Plan $plan") for step in STEPS]
    assert positions == sorted(positions)
    assert body.index("if (-not $plan.ready) { return }") < body.index(STEPS[0])
    assert len(body.splitlines()) < 20


def test_the_plan_checks_everything_before_it_returns() -> None:
    text = rendered("defaults")
    plan = function_body(text, PLAN)
    for check in (
        "Select-QbdConnector",
        "Resolve-QbdCompanyId",
        "Test-QbdDataFolder",
        "Resolve-QbdInstallerSource",
        "Resolve-QbdPreconditions",
        "Resolve-QbdInstallRun",
        "Resolve-QbdUninstallSteps",
        "Resolve-QbdBackup",
    ):
        assert f"{check} -Plan $plan" in plan
    # A local installer's trust is part of the plan; it then runs from a copy in qbd-fix's own
    # folder, checked again there, as a download is checked right after it arrives.
    source = function_body(text, "Resolve-QbdInstallerSource")
    assert "Test-QbdInstallerTrust -Path $Installer -ExpectedSha256 $InstallerSha256" in source
    download = function_body(text, "Invoke-QbdDownloadStep")
    assert download.index("Invoke-WebRequest") < download.index("Test-QbdInstallerTrust")
    assert download.index("Copy-Item -LiteralPath $source") < download.index(
        "Test-QbdInstallerTrust"
    )
    assert "Test-QbdInstallerTrust -Path $path" in download
    assert "return [bool]$Plan.ready" in download
    # qbd-fix's data folder is checked (owner, no link) before the installer is looked at.
    assert plan.index("Test-QbdDataFolder") < plan.index("Resolve-QbdInstallerSource")


def test_every_refusal_says_nothing_was_changed_and_names_script_parameters() -> None:
    text = rendered("defaults")
    assert not re.search(r"--[a-z]", text.split("Set-StrictMode", 1)[1])
    refusals = "".join(
        function_body(text, f)
        for f in (
            "Select-QbdConnector",
            "Resolve-QbdCompanyId",
            "Resolve-QbdInstallRun",
            "Resolve-QbdPreconditions",
        )
    )
    assert refusals.count("Nothing was changed") >= 10
    for parameter in ("-ClientName", "-CompanyId", "-Force", "-CodatSideDone", "-GrantRemoved"):
        assert f"run again with {parameter}" in refusals or f"again with {parameter}" in refusals


def test_codat_side_and_grant_are_preconditions() -> None:
    text = rendered("defaults")
    pre = function_body(text, "Resolve-QbdPreconditions")
    assert "if (-not $CodatSideDone)" in pre and "ongoing sync" in pre
    assert "Get-QbdGrantState -Confirmed:$GrantRemoved" in pre
    grant = function_body(text, "Get-QbdGrantState")
    assert "Get-QbdQuickBooksInstall" in grant and "Get-QbdQuickBooksRegistryKey" in grant
    steps = function_body(text, "Get-QbdGrantSteps")
    assert "Edit > Preferences > Integrated Applications > Company Preferences" in steps
    assert "'QuickBooks Connector'" in steps


def test_expected_signers_have_one_source() -> None:
    text = rendered("defaults")
    body = function_body(text, "Get-QbdExpectedSigner")
    literals = [value for _s, _e, value in ps_single_quoted_literals(body)]
    assert tuple(literals) == EXPECTED_SIGNERS
    trust = function_body(text, "Test-QbdInstallerTrust")
    assert "Get-AuthenticodeSignature -LiteralPath $Path" in trust
    assert "$trust.signature_status -ne 'Valid'" in trust
    assert "Get-FileHash -LiteralPath $Path -Algorithm SHA256" in trust
    # Signer names are compared whole, never as patterns.
    assert ".Equals($name, [System.StringComparison]::OrdinalIgnoreCase)" in trust
    # A given hash decides on its own: a signature never overrules a mismatch.
    assert trust.index("if ($trust.expected_sha256)") < trust.index("$knownSigner = $false")


def test_installer_sha256_is_validated_in_the_param_block() -> None:
    text = rendered("defaults")
    block = text.split("Set-StrictMode", 1)[0]
    assert (
        "    [ValidatePattern('^\\z|^[0-9a-f]{64}\\z')]\n    [string] $InstallerSha256 = ''"
        in block
    )
    assert check_script(text).ok
    # A default is never validated by PowerShell: a wrong one can only fail the hash comparison.
    trust = function_body(text, "Test-QbdInstallerTrust")
    assert "if ($trust.sha256 -eq $trust.expected_sha256)" in trust


def test_installers_run_with_the_rights_they_need() -> None:
    text = rendered("defaults")
    run = function_body(text, "Get-QbdInstallerRun")
    # An MSI silently as SYSTEM; a per-user install as its user, never elevated; an interactive
    # one elevated only for a user known to be an administrator.
    assert run.index("if ($PerUser)") < run.index("if ($isMsi) {\n        $run.mode = 'system'")
    assert "$run.run_level = 'Limited'" in run and "$run.run_level = 'Highest'" in run
    assert "if ($User.is_admin -eq $true)" in run
    assert "' /qn /norestart'" in run
    start = function_body(text, "Start-QbdInstallerRun")
    assert (
        "Start-QbdAsSystem -Execute $Run.execute -Argument $Run.argument -TimeoutSeconds" in start
    )
    assert "-RunLevel $Run.run_level" in start
    assert start.count("throw (") == 2  # a run that did not start is never recorded as done
    install = function_body(text, "Invoke-QbdInstallStep")
    assert "@(0, 1641, 3010) -notcontains $exitCode" in install


def test_uninstall_matches_by_folder_and_program_and_reports_names() -> None:
    text = rendered("defaults")
    entries = function_body(text, "Get-QbdUninstallEntry")
    assert "Get-QbdUninstallKey -IncludeUserHives" in entries
    assert "Test-QbdPathUnder -Path $Executable -Folder $folder" in entries
    assert "Test-QbdSharedCodatFolder -Folder $folder" in entries
    assert "$matchedBy = 'name'" in entries
    assert "removable         = ($matchedBy -eq 'location')" in entries
    steps = function_body(text, "Resolve-QbdUninstallSteps")
    assert "@($entries | Where-Object { $_.removable })" in steps
    assert "Set-QbdData -Name 'not_removed'" in steps and "is not uninstalled" in steps
    shared = function_body(text, "Test-QbdSharedCodatFolder")
    assert "'Sage50Connector*.exe'" in shared
    select = function_body(text, "Select-QbdConnector")
    assert "$_.generation -eq 'per-user' -and $_.executable" in select


def test_uninstallers_and_waits_are_bounded_by_the_budget() -> None:
    text = rendered("defaults")
    assert "[Math]::Min($InstallTimeoutSeconds, (Get-QbdRemainingSeconds))" in function_body(
        text, "Get-QbdTimeout"
    )
    for step in ("Invoke-QbdUninstallStep", "Invoke-QbdInstallStep", "Test-QbdCompanyIdStep"):
        assert "Get-QbdTimeout" in function_body(text, step)
    run = function_body(text, "Invoke-QbdUninstallCommand")
    assert "-PassThru" in run and "WaitForExit($TimeoutSeconds * 1000)" in run
    assert "-UserSid $Step.sid" in run and "-RunLevel $Step.run_level" in run
    assert "throw" in run
    assert "Start-Sleep" not in function_body(text, "Test-QbdCompanyIdStep")


def test_backup_is_verified_and_a_failed_backup_is_not_recorded_as_done() -> None:
    text = rendered("defaults")
    assert "Join-Path -Path $env:ProgramData -ChildPath 'qbd-fix\\backups'" in text
    assert "company-id.txt" in text and "backup-manifest.json" in text
    backup = function_body(text, "Backup-QbdConnector")
    assert "Copy-QbdFileHashed -Source $item.source -Destination $destination -Verify" in backup
    copy = function_body(text, "Copy-QbdFileHashed")
    assert "Open-QbdSharedFile -Path $Source" in copy and "if ($Verify)" in copy
    assert "throw" in copy[copy.index("if ($Verify)") :]
    assert "[System.IO.FileShare]::ReadWrite" in function_body(text, "Open-QbdSharedFile")
    step = function_body(text, "Invoke-QbdBackupStep")
    change = step[step.index("-Change {") : step.index("} catch {")]
    assert "if (-not $backup.verified) { throw" in change


def test_change_blocks_do_not_swallow_their_errors() -> None:
    """A change block that catches its own failure would be recorded as performed."""
    for template in ("reinstall_connector.ps1.j2", "reset_certificate.ps1.j2", "_installer.ps1.j2"):
        source = (TEMPLATES / template).read_text(encoding="utf-8")
        for block in re.finditer(r"-Change \{(.*?)\n\s*\}\n", source, flags=re.DOTALL):
            assert "catch" not in block.group(1), template


def test_user_values_are_never_patterns() -> None:
    source = TEMPLATE.read_text(encoding="utf-8")
    installer = (TEMPLATES / "_installer.ps1.j2").read_text(encoding="utf-8")
    for text in (source, installer):
        assert not re.search(
            r"-(not)?(c|i)?(like|match)\s+\$(ClientName|CompanyId|Installer|Name|InstallerSha256)\b",
            text,
        )
        assert not re.search(r"-Filter\s+\$", text)
        assert not re.search(r"\s-(not)?(c|i)?like\s", text, flags=re.IGNORECASE)
    assert "$_.client_name -eq $ClientName" in source


def test_relinking_steps_and_company_id_check() -> None:
    text = rendered("defaults")
    steps = function_body(text, "Write-QbdRelinkSteps")
    assert "ongoing sync" in steps and "SAME Company ID" in steps
    verify = function_body(text, "Test-QbdCompanyIdStep")
    assert "$newIds -notcontains $savedId" in verify
    web = function_body(text, "Write-QbdWebConnectorLinkSteps")
    for step in (
        ".qwc",
        '"Yes, always',
        "tick the new row",
        "password copied from Codat",
        "Update Selected",
    ):
        assert step in web, step
    assert "Write-QbdWebConnectorLinkSteps -Plan $Plan" in steps


def test_the_web_connector_is_backed_up_then_uninstalled_by_its_folder_then_moved() -> None:
    """The current generation: what identifies the link is backed up first, the uninstall entry
    is matched by the folder holding QBWebConnector.exe, the folder is moved (never deleted) only
    after the backup, and the Company ID, which cannot be read there, is never guessed."""
    text = rendered("defaults")
    plan = function_body(text, "Resolve-QbdWebConnectorBackup")
    assert "Get-ChildItem -LiteralPath $downloads -Filter '*.qwc' -File" in plan
    assert "@('QB web connector', 'QBWebConnector')" in plan
    assert "'Registry::HKEY_USERS\\{0}\\Software\\Intuit\\{1}'" in plan
    shown = function_body(text, "Get-QbdShownRegistryValue")
    assert "if ($Name -match '(?i)password|pwd|secret|token|key') { return '***' }" in shown
    backup = function_body(text, "Backup-QbdConnector")
    assert "$null = reg.exe export $item.reg_key $destination /y" in backup
    assert "if ($LASTEXITCODE -ne 0 -or" in backup
    entries = function_body(text, "Get-QbdUninstallEntry")
    assert "$WebConnector -and $displayName.IndexOf('Web Connector'" in entries
    select = function_body(text, "Select-QbdConnector")
    assert "Test-Path -LiteralPath $_.executable -PathType Leaf" in select
    folder = function_body(text, "Invoke-QbdFolderStep")
    assert "[System.IO.Directory]::Move($source, $destination)" in folder
    assert "Remove-Item" not in folder
    main = function_body(text, "Invoke-QbdRemediation")
    order = [main.index(f"{step} -Plan $plan") for step in STEPS[1:5]]
    assert order == sorted(order)  # backup, stop, uninstall, then the folder
    company = function_body(text, "Resolve-QbdCompanyId")
    assert "Add-QbdCheck -Name 'company-id-readable' -Passed $false" in company
    verify = function_body(text, "Test-QbdWebConnectorInstalled")
    assert "Add-QbdCheck -Name 'company-id-kept' -Passed $false" in verify
    assert "Write-QbdRelinkSteps -Plan $Plan" in verify
    assert "'Write-QbdWebConnectorSteps'" not in text and "reinstalled by hand" not in text


# ------------------------------------------------------------------------------------------
# The command line
# ------------------------------------------------------------------------------------------

DIGEST = "AB" * 32
INSTALLER = ["--installer", "https://example.com/Acme-quickbooksdesktop-connector.exe"]


@pytest.mark.parametrize("command", ["reinstall-connector", "reset-certificate"])
@pytest.mark.parametrize("digest", ["abc", "g" * 64, "a" * 65, "", " " * 64, "$(Stop-Computer)"])
def test_bad_installer_sha256_is_one_line_and_exit_2(command: str, digest: str) -> None:
    from typer.testing import CliRunner

    from qbd_fix.cli.app import app

    extra = INSTALLER if command == "reinstall-connector" else []
    result = CliRunner().invoke(app, [command, *extra, "--installer-sha256", digest, "--dry-run"])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert (
        lines[0] == "error: --installer-sha256 must be a SHA-256 digest: 64 hexadecimal characters"
    )
    assert len(lines) <= 2 and "Traceback" not in result.output


def test_new_options_become_script_parameters() -> None:
    from typer.testing import CliRunner

    from qbd_fix.cli.app import app

    args = [*INSTALLER, "--installer-sha256", DIGEST, "--codat-side-done", "--grant-removed"]
    result = CliRunner().invoke(app, ["reinstall-connector", *args, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert f"[string] $InstallerSha256 = '{DIGEST.lower()}'," in result.stdout
    assert "[switch] $CodatSideDone = $true," in result.stdout
    assert "[switch] $GrantRemoved = $true" in result.stdout
    result = CliRunner().invoke(
        app, ["reset-certificate", "--launch-installer", "--grant-removed", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "[switch] $GrantRemoved = $true" in result.stdout


def test_the_budget_must_cover_uninstall_and_install_before_the_connector_is_touched() -> None:
    main = function_body(rendered("defaults"), "Invoke-QbdRemediation")
    assert main.index("Test-QbdTimeForChanges") < main.index("Invoke-QbdBackupStep")
    check = function_body(rendered("defaults"), "Test-QbdTimeForChanges")
    assert "$needed = 2 * $InstallTimeoutSeconds + 60" in check
    assert "Get-QbdRemainingSeconds" in check


def test_an_unexpected_error_after_the_first_change_says_how_to_finish_by_hand() -> None:
    main = function_body(rendered("defaults"), "Invoke-QbdRemediation")
    guarded = main[main.index("try {") : main.index("} catch {")]
    for step in ("Invoke-QbdStopStep", "Invoke-QbdUninstallStep", "Invoke-QbdInstallStep"):
        assert step in guarded
    handler = main[main.index("} catch {") :]
    assert "Write-QbdRecoverySteps -Plan $plan" in handler and "throw" in handler
