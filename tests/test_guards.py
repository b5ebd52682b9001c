"""The state-change guard (tests/support/guards.py) catches what it is meant to: each test plants
a change the checker must find, or a guarded one it must accept."""

from __future__ import annotations

import pytest

from qbd_fix.doctor import DOCTOR
from qbd_fix.remediations import REMEDIATIONS
from tests.support.guards import (
    changing_functions,
    is_state_changing_command,
    reachable_functions,
    reachable_state_changes,
    unguarded_state_changes,
)
from tests.support.variants import variant_values

WRAP = "$null = Invoke-QbdChange -Target 't' -Action 'a' -Change {{ {0} }}"


def test_catches_an_unguarded_change() -> None:
    script = """
function Write-Note { Set-Content -LiteralPath $p -Value 'x' }
function Invoke-Safe { $null = Invoke-QbdChange -Target 't' -Action 'a' -Change { Write-Note } }
Write-Note
Invoke-Safe
$null = Invoke-QbdChange -Target 't' -Action 'a' -Change { Add-MpPreference -ExclusionPath $p }
Stop-Process -Id 4
"""
    found = unguarded_state_changes(script)
    assert any("set-content" in f for f in found)  # Write-Note is also called unguarded
    assert any("stop-process" in f for f in found)
    assert not any("add-mppreference" in f for f in found)


def test_accepts_functions_only_called_from_change_blocks() -> None:
    script = """
function Write-Note { Set-Content -LiteralPath $p -Value 'x' }
$null = Invoke-QbdChange -Target 't' -Action 'a' -Change { Write-Note }
"""
    assert unguarded_state_changes(script) == []


def test_follows_calls_through_functions() -> None:
    """A change is guarded only when every path to it passes a -Change block."""
    script = (
        "function Stop-It {\n    param([int] $Id)\n    Stop-Process -Id $Id\n}\n"
        "function Invoke-QbdRemediation {\n    Stop-It -Id 1\n}\n"
        "$null = Invoke-QbdChange -Target 'a' -Action 'b' -Change { Stop-It -Id 2 }\n"
        "Invoke-QbdRemediation\n"
    )
    assert changing_functions(script) == {"stop-it", "invoke-qbdremediation"}
    found = unguarded_state_changes(script)
    assert any("stop-process (in stop-it)" in f for f in found)
    assert any("stop-it (in invoke-qbdremediation)" in f for f in found)


def test_a_neutral_name_does_not_hide_a_change_two_calls_deep() -> None:
    script = (
        "function Get-A { Remove-Item -LiteralPath $p }\n"
        "function Get-B { Get-A }\n"
        "function Invoke-QbdRemediation { Get-B }\n"
        "Invoke-QbdRemediation\n"
    )
    assert [f.split(":")[0] for f in unguarded_state_changes(script)] == ["line 1"]
    assert changing_functions(script) == {"get-a", "get-b", "invoke-qbdremediation"}
    guarded = script.replace(
        "function Invoke-QbdRemediation { Get-B }",
        f"function Invoke-QbdRemediation {{ {WRAP.format('Get-B')} }}",
    )
    assert unguarded_state_changes(guarded) == []


def test_a_function_never_called_cannot_run() -> None:
    script = "function Get-Unused { Remove-Item -LiteralPath $p }\nGet-Item -LiteralPath $p\n"
    assert unguarded_state_changes(script) == []
    assert unguarded_state_changes(script + "Get-Unused\n") != []


@pytest.mark.parametrize(
    "call",
    [
        "[System.IO.File]::WriteAllText($p, 'x')",
        "[IO.File]::AppendAllText($p, 'x')",
        "$file.Delete()",
        "[System.IO.Directory]::CreateDirectory($p)",
        "[System.IO.File]::Create($p)",
        "[IO.File]::Copy($a, $b)",
        "$item.MoveTo($b)",
        "$acl = Get-Acl -LiteralPath $p; $dir.SetAccessControl($acl)",
        "Get-Date > C:\\\\out.txt",
        "Invoke-WebRequest -Uri $u -OutFile $p",
        "Start-Process -FilePath 'msiexec.exe' -ArgumentList '/x'",
        "msiexec.exe /x $code /qn",
        "Get-Item -LiteralPath $p | Out-File -LiteralPath $q",
        "Rename-Item -LiteralPath $p -NewName 'x'",
        "Disable-ScheduledTask -TaskName 'x'",
    ],
)
def test_catches_commands_and_dotnet_calls_that_change_state(call: str) -> None:
    assert unguarded_state_changes(call) != [], call
    assert unguarded_state_changes(WRAP.format(call)) == [], call


@pytest.mark.parametrize(
    "call",
    [
        "'a-b'.Replace('-', '_')",
        "$list.Add($x)",
        "[System.IO.File]::Open($p, [System.IO.FileMode]::Open)",
        "$share = [System.IO.FileShare]::Delete",
        "Get-Date 2>$null",
        "Get-Date *> $null",
        "Set-QbdStatus -Status 'ok'",
        "Add-QbdCheck -Name 'x' -Ok $true",
        "New-Object -TypeName System.Text.UTF8Encoding",
        "Start-Sleep -Seconds 1",
        "Get-ChildItem -LiteralPath $p",
    ],
)
def test_leaves_reads_and_the_result_document_alone(call: str) -> None:
    assert unguarded_state_changes(call) == [], call


def test_command_names_by_verb_and_by_list() -> None:
    assert is_state_changing_command("Stop-Process") and is_state_changing_command("Set-Content")
    assert is_state_changing_command("Microsoft.PowerShell.Management\\Remove-Item")
    assert is_state_changing_command("shutdown.exe") and is_state_changing_command("Tee-Object")
    assert not is_state_changing_command("Get-Item") and not is_state_changing_command(
        "Add-QbdAction"
    )
    assert not is_state_changing_command("Invoke-QbdChange")
    assert is_state_changing_command("Invoke-QbdChange", read_only=True)


def test_caller_exceptions_are_exact_and_must_be_used() -> None:
    script = (
        "function Add-QbdStaged { [System.IO.File]::WriteAllText($path, $Text) }\n"
        "function Invoke-QbdRemediation {\n"
        "    Add-QbdStaged\n"
        "    Remove-Item -LiteralPath $staging -Recurse -WhatIf:$false\n"
        "}\n"
        "Invoke-QbdRemediation\n"
    )
    assert len(unguarded_state_changes(script)) == 3
    allowed = (
        "[System.IO.File]::WriteAllText($path, $Text)",
        "Remove-Item -LiteralPath $staging  -Recurse -WhatIf:$false",
    )
    assert (
        unguarded_state_changes(script, allowed_calls=allowed, not_changes=["Add-QbdStaged"]) == []
    )
    # An exemption of a function's name still checks its body.
    assert (
        len(
            unguarded_state_changes(
                script, allowed_calls=allowed[1:], not_changes=["Add-QbdStaged"]
            )
        )
        == 1
    )
    # A call that differs from the allowed text is not exempt; an unused exemption is reported.
    changed = script.replace("-Recurse -WhatIf:$false", "-Recurse")
    found = unguarded_state_changes(changed, allowed_calls=allowed, not_changes=["Add-QbdStaged"])
    assert any("remove-item" in f for f in found) and any(
        "allowed but not found" in f for f in found
    )
    with pytest.raises(ValueError, match="own functions"):
        unguarded_state_changes(script, not_changes=["Remove-Item"])


def test_change_block_means_the_change_parameter_of_the_wrapper() -> None:
    for script in (
        "$null = Invoke-QbdChange -Target 't' -Action { Stop-Process -Id 4 } -Change { }",
        "$null = Wait-QbdCondition -Change { Stop-Process -Id 4 }",
        "& { Stop-Process -Id 4 }",
    ):
        assert unguarded_state_changes(script) != [], script


def test_sees_a_change_planted_in_reset_certificate() -> None:
    text = (
        REMEDIATIONS["reset-certificate"]
        .render(variant_values("reset-certificate", "NotifyUser"))
        .text
    )
    mutated = text.replace(
        "    $noteText = $lines -join",
        "    Set-Content -LiteralPath $notePath -Value 'x'\n    $noteText = $lines -join",
    )
    assert mutated != text
    assert unguarded_state_changes(text) == []
    assert any("set-content" in f for f in unguarded_state_changes(mutated))


def test_read_only_mode_catches_a_write_planted_in_the_doctor() -> None:
    """The doctor's reachability check would notice a change slipped into a probe."""
    text = DOCTOR.render().text
    tampered = text.replace(
        "function Get-QbdRebootFact {",
        "function Get-QbdRebootFact {\n    Stop-Process -Id 4 -Force",
        1,
    )
    assert tampered != text
    assert "get-qbdrebootfact" in reachable_functions(text)
    assert any(
        "stop-process" in f
        for f in reachable_state_changes(tampered, not_changes=["Add-QbdFactError"])
    )


def test_read_only_mode_counts_change_blocks_and_the_wrapper() -> None:
    script = (
        "function Get-Unused { Remove-Item -LiteralPath $p }\n"
        "function Invoke-QbdRemediation { $null = Invoke-QbdChange -Target 't' -Action 'a' -Change { Stop-Process -Id 4 } }\n"
        "Invoke-QbdRemediation\n"
    )
    found = reachable_state_changes(script)
    assert any("invoke-qbdchange" in f for f in found) and any("stop-process" in f for f in found)
    assert not any("remove-item" in f for f in found)  # never called
    assert reachable_functions(script) == {"invoke-qbdremediation"}
