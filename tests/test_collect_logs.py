"""collect-logs: the script reads logs without locking them, redacts link.json, zips with
ZipFile and reports the bundle, changing nothing but its own temporary files (syntax, commands
and the state-change guard for every variant: tests/test_scripts.py)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from qbd_fix.remediations.collect_logs import COLLECT_LOGS
from tests.support.guards import command_name, syntax_nodes
from tests.support.pwsh import commands_used, parse
from tests.support.variants import variant_values, variants

TEMPLATE = Path(__file__).resolve().parents[1] / "qbd_fix" / "templates" / "collect_logs.ps1.j2"
VARIANTS = [name for name, _ in variants(COLLECT_LOGS)]

# File cmdlets that would honour -WhatIf: collecting is read-only, so they must say -WhatIf:$false.
FILE_CMDLETS = frozenset(
    {"remove-item", "new-item", "set-content", "out-file", "copy-item", "add-content"}
)


@cache
def rendered(variant: str) -> str:
    """One variant from tests/support/variants.py (syntax, commands and the state-change guard,
    with collect-logs' staging writes allowed by name, are checked in tests/test_scripts.py)."""
    return COLLECT_LOGS.render(variant_values(COLLECT_LOGS.name, variant)).text


def function_body(text: str, name: str) -> str:
    start = text.index(f"function {name} {{")
    end = text.find("\nfunction ", start + 1)
    return text[start : end if end > 0 else len(text)]


def command_calls(text: str) -> list[tuple[str, str]]:
    """Every command call as ``(lower-case name, call text)``."""
    return [
        ((command_name(node) or "").lower(), (node.text or b"").decode())
        for node, _ in syntax_nodes(parse(text).root_node)
        if node.type == "command"
    ]


@pytest.mark.parametrize("variant", VARIANTS)
def test_values_do_not_change_the_script_shape(variant: str) -> None:
    assert commands_used(rendered(variant)) == commands_used(rendered("defaults"))


def test_file_cmdlets_ignore_what_if_explicitly() -> None:
    """Collecting only reads; its temporary files must be written and removed under -WhatIf too."""
    calls = [call for name, call in command_calls(rendered("defaults")) if name in FILE_CMDLETS]
    own = TEMPLATE.read_text(encoding="utf-8")
    own_calls = [call for name, call in command_calls(own) if name in FILE_CMDLETS]
    assert own_calls, "the staging folder and zip are removed with Remove-Item"
    for call in own_calls:
        assert "-WhatIf:$false" in call and "-Confirm:$false" in call, call
    assert len(calls) >= len(own_calls)


def test_changes_nothing_on_the_pc() -> None:
    """No Invoke-QbdChange: the run's status stays ok, and -WhatIf leaves no zip behind."""
    own = TEMPLATE.read_text(encoding="utf-8")
    assert "Invoke-QbdChange" not in own
    assert "Set-QbdStatus -Status 'changed'" not in own
    body = function_body(rendered("defaults"), "Invoke-QbdRemediation")
    what_if = body.index("if ($WhatIfPreference)")
    assert body.index("Remove-Item -LiteralPath $zipPath", what_if) > what_if
    assert "$bundle.path = $null" in body[what_if:]


def test_reads_logs_shared_and_keeps_the_newest_part() -> None:
    text = rendered("defaults")
    opener = function_body(text, "Open-QbdSharedFile")
    assert "[System.IO.FileShare]::ReadWrite -bor [System.IO.FileShare]::Delete" in opener
    assert "[System.IO.FileAccess]::Read" in opener
    add = function_body(text, "Add-QbdLogFile")
    assert "$cap = [long]$MaxFileMiB * 1MB" in add
    assert "Copy-QbdFileHashed -Source $Source -Destination $destination -MaxBytes $cap" in add
    for field in ("source", "size", "sha256", "truncated", "redacted"):
        assert re.search(rf"\b{field}\s+=", add), field
    # The shared copy (_files.ps1.j2) reads shared and keeps the newest part of a larger log.
    copy = function_body(text, "Copy-QbdFileHashed")
    assert "Open-QbdSharedFile -Path $Source" in copy
    assert "$reader.Seek($sourceSize - $MaxBytes, [System.IO.SeekOrigin]::Begin)" in copy
    assert "Copy-Item" not in text


def test_redacts_link_json() -> None:
    text = rendered("defaults")
    redact = function_body(text, "ConvertTo-QbdRedacted")
    assert "return 'REDACTED'" in redact
    assert "$Node -match (Get-QbdGuidPattern)" in redact
    assert "return ,$items" in redact
    link = function_body(text, "Add-QbdLinkJson")
    assert link.index("if ($NoRedact)") < link.index("ConvertFrom-Json")
    # Unparseable link.json is left out, with a note, never copied raw.
    catch = link[link.index("ConvertFrom-Json") :]
    assert ".note.txt" in catch and "Add-QbdLogFile" not in catch


def test_collects_what_the_seed_lists() -> None:
    text = rendered("defaults")
    assert "'qbsdklog*.txt'" in text and "'Intuit\\QuickBooks'" in text
    assert "'*.log*'" in text and "'QWCLog*.txt'" in text
    assert "Export-ScheduledTask -InputObject $task" in text
    assert "Get-QbdTaskRole -Name ([string]$_.TaskName)" in text
    assert "'QuickbooksDesktop_'" in text and "'QuickbooksDesktopUi_'" in text
    for name in ("'facts.json'", "'events.json'", "'manifest.json'"):
        assert name in text
    events = function_body(text, "Get-QbdEvent")
    assert "Get-WinEvent -FilterHashtable $query" in events
    # Filtered by provider in the query itself: a busy Application log is large.
    assert (
        "@{ LogName = 'Application'; ProviderName = $provider; Level = @(1, 2, 3); StartTime = $since }"
        in events
    )
    for provider in ("'Application Error'", "'.NET Runtime'", "'MsiInstaller'", "'QBWebConnector'"):
        assert provider in events
    assert "$found.Count -ge 500" in events
    facts = function_body(text, "Get-QbdFacts")
    for process in ("QBW32.exe", "QBW.exe", "QBWebConnector.exe", "QuickbooksDesktop%"):
        assert process in facts


def test_zips_with_zipfile_and_reports_the_bundle() -> None:
    text = rendered("defaults")
    assert "compress-archive" not in {name for name, _ in command_calls(text)}
    assert "Add-Type -AssemblyName System.IO.Compression.FileSystem" in text
    assert "[System.IO.Compression.ZipFile]::Open($zipPath" in text
    body = function_body(text, "Invoke-QbdRemediation")
    assert "[System.IO.Path]::GetTempPath()" in body
    assert "'qbd-logs-{0}-{1}'" in body
    assert "Remove-Item -LiteralPath $staging -Recurse -Force" in body
    assert "Set-QbdData -Name 'bundle' -Value $bundle" in body
    bundle = body[body.index("$bundle = [ordered]@{") :]
    for key in ("path", "sha256", "size", "files"):
        assert re.search(rf"\b{key}\s+=", bundle), key
    assert "Hash.ToLowerInvariant()" in bundle
    assert "No connector or QuickBooks logs were found" in body


def test_user_values_are_never_patterns() -> None:
    own = TEMPLATE.read_text(encoding="utf-8")
    assert not re.search(r"-(not)?(c|i)?(like|match)\s+\$(OutputDirectory|Name|Text)\b", own)
    assert not re.search(r"-Filter\s+\$(OutputDirectory|Name|Text)\b", own)
    assert not re.search(r"\s-(not)?(c|i)?like\s", own, flags=re.IGNORECASE)


def test_web_connector_log_and_rotated_copies_are_collected_bounded() -> None:
    """QWCLog.txt and every QWCLog* beside it, even when the Web Connector's folder is gone:
    through the same bounded copy as the other logs (newest 30, -MaxFileMiB each)."""
    text = rendered("defaults")
    files = function_body(text, "Add-QbdWebConnectorFiles")
    assert "Join-Path -Path $env:ProgramData -ChildPath 'Intuit\\QBWebConnector\\log'" in files
    assert (
        "Add-QbdLogFolder -Folder $logFolder -Filter 'QWCLog*' -Prefix 'connector/web-connector'"
        " -Kind 'web-connector-log'" in files
    )
    folder = function_body(text, "Add-QbdLogFolder")
    assert "if ($index -gt 30)" in folder and "Add-QbdLogFile -Source" in folder


def test_web_connector_registry_reads_only_harmless_names() -> None:
    text = rendered("defaults")
    secret = function_body(text, "Test-QbdSecretName")
    for word in ("pass", "pwd", "secret", "token", "key", "cred"):
        assert word in secret.split("-match", 1)[1]
    harmless = function_body(text, "Test-QbdHarmlessValueName")
    assert "if (Test-QbdSecretName -Name $Name) { return $false }" in harmless
    for name in ("AppName", "AppURL", "OwnerID", "FileID", "UserName", "Level", "UpdateLock"):
        assert name in harmless
    read = function_body(text, "Read-QbdRegistryKeyValue")
    # Names and kinds are listed; data is read only for a harmless name of a plain kind, or with
    # -NoRedact for a name that does not suggest a secret.
    assert "$registryKey.GetValueNames()" in read
    decided = read.index(
        "$read = ((Test-QbdHarmlessValueName -Name $name) -and $plain) -or "
        "($NoRedact -and -not (Test-QbdSecretName -Name $name))"
    )
    data = read.index("$raw = $registryKey.GetValue($name)")
    assert decided < data and read.count("GetValue(") == 1
    assert read.index("if ($read) {") < data
    assert "$data = '***'" in read
    assert "Get-ItemProperty" not in read  # it would read every value's data
    walk = function_body(text, "Get-QbdWebConnectorRegistry")
    assert "@('Software\\Intuit\\QB web connector', 'Software\\Intuit\\QBWebConnector')" in walk
    assert "$report.keys.Count -ge 200" in walk and "$current.Depth -ge 3" in walk
    hives = function_body(text, "Get-QbdLoadedHive")
    assert "Get-ChildItem -LiteralPath 'Registry::HKEY_USERS'" in hives
    assert "EndsWith('_Classes'" in hives


def test_qwc_files_are_parsed_as_data_only() -> None:
    text = rendered("defaults")
    find = function_body(text, "Find-QbdQwcFile")
    assert "-ChildPath 'Downloads'" in find and "Get-QbdUserProfile" in find
    assert "-Filter '*.qwc'" in find and "$_.Extension -eq '.qwc'" in find
    read = function_body(text, "Read-QbdQwcFile")
    for setting in (
        "$settings.DtdProcessing = [System.Xml.DtdProcessing]::Prohibit",
        "$settings.XmlResolver = $null",
        "$settings.MaxCharactersInDocument = 131072",
        "$document.set_XmlResolver($null)",
        "$document.Load($reader)",
        "if ($stream.Length -gt 65536)",
    ):
        assert setting in read, setting
    assert read.index("$stream.Length -gt 65536") < read.index("$document.Load($reader)")
    # Node values through .NET getters: a child element named like a property cannot stand in.
    assert "$node.get_InnerText()" in read and ".InnerText" not in read.replace("get_InnerText", "")
    for field in (
        "app_name", "app_url", "owner_id", "file_id", "app_id", "qb_type", "user_name",
        "run_every_n_minutes",
    ):  # fmt: skip
        assert f"{field} " in read or f"'{field}'" in read, field
    assert "readable" in read and "error" in read
    assert "[xml]" not in text and "Select-Xml" not in text and "LoadXml" not in text


def test_startup_entries_are_read_in_every_place() -> None:
    text = rendered("defaults")
    startup = function_body(text, "Get-QbdStartupEntry")
    for place in (
        "'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion'",
        "$machineBase + '\\Run'",
        "'HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Run'",
        "'\\Software\\Microsoft\\Windows\\CurrentVersion'",
        "$userBase + '\\Run'",
        "'Microsoft\\Windows\\Start Menu\\Programs\\StartUp'",
        "'AppData\\Roaming\\Microsoft\\Windows\\Start Menu\\Programs\\Startup'",
        "Get-QbdWebConnectorTask",
    ):
        assert place in startup, place
    tasks = function_body(text, "Get-QbdWebConnectorTask")
    assert "Get-ScheduledTask -ErrorAction SilentlyContinue" in tasks
    assert "Get-QbdProperty -InputObject $taskAction -Name 'Execute'" in tasks
    words = function_body(text, "Test-QbdWebConnectorText")
    assert "'QBWebConnector', 'Web Connector', 'QBWC', 'Codat'" in words
    assert "IndexOf($word, [System.StringComparison]::OrdinalIgnoreCase)" in words


def test_web_connector_findings_reach_the_zip_and_its_manifest() -> None:
    text = rendered("defaults")
    files = function_body(text, "Add-QbdWebConnectorFiles")
    for name in (
        "'web-connector/registry.json'",
        "'web-connector/registry.txt'",
        "'web-connector/qwc-files.json'",
        "'web-connector/startup.json'",
        "'web-connector/tasks/{0:00}-{1}.xml'",
    ):
        assert name in files, name
    assert "Write-QbdStep -Step" in files
    body = function_body(text, "Invoke-QbdRemediation")
    assert "web_connector = $webConnectorSummary" in body
    # After facts.json, whose process list must see processes before anything else lists them.
    assert body.index("Get-QbdFacts -Install") < body.index("Add-QbdWebConnectorFiles -Install")
    assert body.index("Add-QbdWebConnectorFiles -Install") < body.index("$manifest = [ordered]@{")
