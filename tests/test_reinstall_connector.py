"""reinstall-connector: the script changes nothing before the Company ID has been checked and
link.json and the logs backed up, then downloads, uninstalls and installs in that order (syntax,
commands and the Invoke-QbdChange guard for every variant: tests/test_scripts.py)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from qbd_fix.remediations.reinstall_connector import REINSTALL_CONNECTOR
from tests.support.guards import changing_functions
from tests.support.pwsh import commands_used
from tests.support.variants import variant_values, variants

TEMPLATE = (
    Path(__file__).resolve().parents[1] / "qbd_fix" / "templates" / "reinstall_connector.ps1.j2"
)
VARIANTS = [name for name, _ in variants(REINSTALL_CONNECTOR)]


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


@pytest.mark.parametrize("variant", VARIANTS)
def test_values_do_not_change_the_script_shape(variant: str) -> None:
    assert commands_used(rendered(variant)) == commands_used(rendered("defaults"))


@pytest.mark.parametrize("variant", ["defaults", "everything"])
def test_the_guard_sees_the_real_work(variant: str) -> None:
    """The helpers that back up, uninstall and install change the PC; Invoke-QbdRemediation
    reaches them only through Invoke-QbdChange. Otherwise the guard proves nothing."""
    changing = changing_functions(rendered(variant))
    assert "invoke-qbdremediation" not in changing
    assert {
        "backup-qbdconnector",
        "invoke-qbduninstallcommand",
        "start-qbdinusersession",
    } <= changing


# ------------------------------------------------------------------------------------------
# Order and behaviour, read from the script text
# ------------------------------------------------------------------------------------------


def test_every_refusal_comes_before_the_first_change() -> None:
    body = function_body(rendered("defaults"), "Invoke-QbdRemediation")
    first_change = body.index("Invoke-QbdChange")
    refusals = [m.start() for m in re.finditer("Nothing was changed", body)]
    assert len(refusals) >= 8
    assert max(refusals) < first_change
    # The Company ID comparison itself happens before the first change.
    assert body.index("$linkIds -notcontains $expectedId") < first_change
    assert body.index("No Company ID found and none given: refusing to uninstall") < first_change


def test_backup_then_download_then_uninstall_then_install() -> None:
    body = function_body(rendered("defaults"), "Invoke-QbdRemediation")
    backup = body.index("Backup-QbdConnector -Folder")
    download = body.index("Invoke-WebRequest -Uri $Installer")
    stop = body.index("Stop-ScheduledTask -InputObject")
    uninstall = body.index("Invoke-QbdUninstallCommand -Command")
    install = body.index("Start-QbdInUserSession -UserId $installUser")
    verify = body.index("company-id-kept")
    assert backup < download < stop < uninstall < install < verify
    # An unverified or declined backup stops the run.
    assert "if (-not $backup.verified)" in body


def test_backup_is_verified_and_keeps_the_company_id() -> None:
    text = rendered("defaults")
    assert "Join-Path -Path $env:ProgramData -ChildPath 'qbd-fix\\backups'" in text
    assert "'yyyyMMddTHHmmssZ'" in text
    assert "company-id.txt" in text and "backup-manifest.json" in text
    copy = function_body(text, "Copy-QbdFileVerified")
    assert "[System.IO.FileShare]::ReadWrite" in copy
    assert "Get-FileHash -LiteralPath $Destination -Algorithm SHA256" in copy
    assert "throw" in copy
    assert "$copies.Count -eq @($File).Count" in function_body(text, "Backup-QbdConnector")
    # Client names become folder names only through a constant character class.
    assert "$Text -replace '[^A-Za-z0-9 ._-]', '_'" in function_body(text, "Get-QbdSafeName")


def test_uninstall_prefers_quiet_and_msi_and_is_bounded() -> None:
    text = rendered("defaults")
    command = function_body(text, "Get-QbdUninstallCommand")
    assert "@('/x', $productCode, '/qn', '/norestart')" in command
    assert command.index("$Entry.quiet_uninstall") < command.index(
        "$commandLine = $Entry.uninstall"
    )
    run = function_body(text, "Invoke-QbdUninstallCommand")
    assert "-PassThru" in run and "WaitForExit($TimeoutSeconds * 1000)" in run
    assert "$null = $process.Handle" in run
    split = function_body(text, "Split-QbdCommandLine")
    assert "$text.StartsWith('\"')" in split and "ExpandEnvironmentVariables" in split
    entries = function_body(text, "Get-QbdUninstallEntry")
    assert "Get-QbdUninstallKey -IncludeUserHives" in entries
    for root in (
        "HKLM:\\SOFTWARE\\Microsoft",
        "HKLM:\\SOFTWARE\\WOW6432Node",
        "Registry::HKEY_USERS",
    ):
        assert root in function_body(text, "Get-QbdUninstallKey")
    assert "$displayName.IndexOf($Name, [System.StringComparison]::OrdinalIgnoreCase)" in entries


def test_user_values_are_never_patterns() -> None:
    source = TEMPLATE.read_text(encoding="utf-8")
    assert not re.search(
        r"-(not)?(c|i)?(like|match)\s+\$(ClientName|CompanyId|Installer|Name)\b", source
    )
    assert not re.search(r"-Filter\s+\$", source)
    assert not re.search(r"\s-(not)?(c|i)?like\s", source, flags=re.IGNORECASE)
    assert "$_.client_name -eq $ClientName" in source


def test_installer_download_and_user_session() -> None:
    text = rendered("defaults")
    body = function_body(text, "Invoke-QbdRemediation")
    tls = body.index("[Net.SecurityProtocolType]::Tls12")
    assert tls < body.index(
        "Invoke-WebRequest -Uri $Installer -UseBasicParsing -OutFile $installerPath"
    )
    assert "Test-Path -LiteralPath $Installer -PathType Leaf" in body
    assert "Get-QbdInteractiveUser" in body
    assert "Nobody is logged on" in body
    # Nobody logged on is found out before anything changes.
    assert body.index("Nobody is logged on") < body.index("Invoke-QbdChange")


def test_reports_relinking_steps_and_company_id_check_after_install() -> None:
    text = rendered("defaults")
    steps = function_body(text, "Write-QbdRelinkSteps")
    assert "ongoing sync" in steps and "SAME Company ID" in steps
    body = function_body(text, "Invoke-QbdRemediation")
    assert "$newIds -notcontains $savedId" in body
    assert body.count("Write-QbdRelinkSteps -SavedId $savedId") >= 4
    web = function_body(text, "Write-QbdWebConnectorSteps")
    assert "Web Connector" in web and "QuickBooksDesktopConnector.exe" in web


def test_what_if_is_carried_through() -> None:
    body = function_body(rendered("defaults"), "Invoke-QbdRemediation")
    assert "WhatIf: nothing was changed" in body
    assert "elseif (-not $WhatIfPreference)" in body
