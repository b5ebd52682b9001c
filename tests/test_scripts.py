"""Every rendered variant of every script (the remediations and the doctor): valid 5.1 syntax,
allowed commands only, each present in Windows PowerShell 5.1 with the parameters used, the 5.1
run-time rules, constant double-quoted strings, every state change inside Invoke-QbdChange (none
at all in a read-only script, not even in a function it never calls), and no function the
script does not use."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from qbd_fix.doctor import DOCTOR
from qbd_fix.remediations import REMEDIATIONS
from qbd_fix.remediations.base import Remediation
from qbd_fix.script.engine import Script
from tests.support.guards import (
    all_state_changes,
    reachable_functions,
    reachable_state_changes,
    syntax_nodes,
    unguarded_state_changes,
)
from tests.support.pwsh import SPLAT_MARKER, ReferenceCommands, check_script, commands_used, parse
from tests.support.rules import check_rules, command_arguments, command_name
from tests.support.variants import all_variants, variants

SCRIPTS: dict[str, Remediation] = {**REMEDIATIONS, DOCTOR.name: DOCTOR}
CASES = [*all_variants(), *((DOCTOR.name, variant, values) for variant, values in variants(DOCTOR))]
IDS = [f"{name}-{variant}" for name, variant, _ in CASES]
ALLOWED_FILE = Path(__file__).parent / "support" / "allowed_commands.txt"
TEMPLATES = Path(__file__).parents[1] / "qbd_fix" / "templates"


# The call operator is allowed only where the prelude runs a script block it was given.
#: The prelude's own script blocks, and the 64-bit powershell.exe a 32-bit host starts again.
CALL_OPERATOR_TARGETS = {"$Change", "$Condition", "$nativeHost"}


def call_operator_targets(text: str) -> set[str]:
    """What each ``&`` / ``.`` invocation calls, read from the syntax tree."""
    found: set[str] = set()
    stack = [parse(text).root_node]
    while stack:
        node = stack.pop()
        if node.type == "command_invocation_operator" and node.next_named_sibling is not None:
            found.add((node.next_named_sibling.text or b"").decode())
        stack.extend(node.children)
    return found


# collect-logs changes nothing on the PC: it stages copies in a temporary folder it creates,
# zips them and removes the staging (file cmdlets with -WhatIf:$false, so a -WhatIf run still
# lists what would be sent). Those writes, and only those, are allowed outside Invoke-QbdChange.
GUARD_EXCEPTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "collect-logs": {
        # functions named Add-* that add to the staging folder or the in-memory skipped list;
        # every write in their bodies is still checked against allowed_calls
        "not_changes": (
            "Add-QbdSkipped",
            "Add-QbdLogFile",
            "Add-QbdTextFile",
            "Add-QbdLogFolder",
            "Add-QbdLinkJson",
            "Add-QbdConnectorFiles",
            "Add-QbdWebConnectorFiles",
            # the shared hashed copy (_files.ps1.j2), here only into the staging folder
            "Copy-QbdFileHashed",
        ),
        "allowed_calls": (
            "[System.IO.Directory]::CreateDirectory($outputRoot)",
            "[System.IO.Directory]::CreateDirectory($staging)",
            "[System.IO.Directory]::CreateDirectory((Split-Path -Path $path -Parent))",
            "[System.IO.File]::Create($Destination)",
            "[System.IO.File]::WriteAllText($path, $Text, $encoding)",
            "[System.IO.File]::WriteAllText((Get-QbdStagingPath -Name 'manifest.json'),"
            " (ConvertTo-Json -InputObject $manifest -Depth 6),"
            " (New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false))",
            "Remove-Item -LiteralPath $staging -Recurse -Force -WhatIf:$false -Confirm:$false"
            " -ErrorAction Stop",
            "Remove-Item -LiteralPath $zipPath -Force -WhatIf:$false -Confirm:$false",
        ),
    },
    # the doctor's record of a probe that failed, kept in memory for the result
    "doctor": {"not_changes": ("Add-QbdFactError",)},
}


def allowed_commands() -> set[str]:
    lines = ALLOWED_FILE.read_text(encoding="utf-8").splitlines()
    return {line.strip().lower() for line in lines if line.strip() and not line.startswith("#")}


@cache
def rendered(name: str, variant: str) -> Script:
    values = dict(next(v for n, w, v in CASES if n == name and w == variant))
    return SCRIPTS[name].render(values)


@pytest.mark.parametrize(("name", "variant", "values"), CASES, ids=IDS)
def test_parses_as_windows_powershell_51(
    name: str, variant: str, values: dict[str, object]
) -> None:
    report = check_script(rendered(name, variant).text)
    assert report.errors == []
    assert report.ps7_only == []
    assert report.quote_mismatches == []


@pytest.mark.parametrize(("name", "variant", "values"), CASES, ids=IDS)
def test_calls_only_allowed_commands(name: str, variant: str, values: dict[str, object]) -> None:
    text = rendered(name, variant).text
    used = commands_used(text)
    assert call_operator_targets(text) <= CALL_OPERATOR_TARGETS, "call operators hide what runs"
    used.pop("&", None)
    assert "." not in used
    assert all(SPLAT_MARKER not in params for params in used.values()), "splatting hides parameters"
    unknown = sorted(name for name in used if name.lower() not in allowed_commands())
    assert unknown == [], f"not on tests/support/allowed_commands.txt: {unknown}"


@pytest.mark.parametrize(("name", "variant", "values"), CASES, ids=IDS)
def test_commands_exist_in_51_with_those_parameters(
    name: str, variant: str, values: dict[str, object], reference: ReferenceCommands
) -> None:
    problems = []
    for command, params in commands_used(rendered(name, variant).text).items():
        if command == "&" or command.lower().endswith(".exe"):
            continue
        if reference.is_alias(command) or not reference.has_command(command):
            problems.append(f"{command}: not a Windows PowerShell 5.1 command")
            continue
        problems += [
            f"{command} -{param}: no such parameter in 5.1"
            for param in sorted(params)
            if not reference.accepts_parameter(command, param)
        ]
    assert problems == []


def test_allowlist_entries_exist_in_51(reference: ReferenceCommands) -> None:
    missing = [
        c for c in allowed_commands() if not c.endswith(".exe") and not reference.has_command(c)
    ]
    assert missing == []


@pytest.mark.parametrize(("name", "variant", "values"), CASES, ids=IDS)
def test_every_state_change_goes_through_invoke_qbdchange(
    name: str, variant: str, values: dict[str, object]
) -> None:
    """A read-only script reaches no state change at all, the wrapper included."""
    text = rendered(name, variant).text
    exceptions = GUARD_EXCEPTIONS.get(name, {})
    if SCRIPTS[name].read_only:
        assert set(exceptions) <= {"not_changes"}, "a read-only script allows no writes"
        found = reachable_state_changes(text, not_changes=exceptions.get("not_changes", ()))
    else:
        found = unguarded_state_changes(
            text,
            allowed_calls=exceptions.get("allowed_calls", ()),
            not_changes=exceptions.get("not_changes", ()),
        )
    assert found == []


@pytest.mark.parametrize(("name", "variant", "values"), CASES, ids=IDS)
def test_passes_the_51_runtime_rules(name: str, variant: str, values: dict[str, object]) -> None:
    """tests/support/rules.py: code that parses but fails or misbehaves on Windows PowerShell 5.1
    (a ``# qbd-check: allow <rule> <reason>`` comment in the template silences one line)."""
    findings = [str(f) for f in check_rules(rendered(name, variant).text)]
    assert findings == []


#: What a read-only script may call although the name sounds like a change: the doctor's
#: record of a failed probe, kept in memory for the result.
READ_ONLY_NOT_CHANGES = ("Add-QbdFactError",)
#: Objects that exist only to register a task: a read-only script has no use for them.
TASK_BUILDERS = frozenset(
    {"new-scheduledtaskaction", "new-scheduledtaskprincipal", "new-scheduledtasksettingsset"}
)
READ_ONLY_CIM_METHODS = frozenset({"getowner", "getownersid"})


def read_only_violations(text: str) -> list[str]:
    """Every change written anywhere in ``text``, called or not (guards.all_state_changes), plus
    what the guard lets a remediation use but a read-only script must not contain."""
    found = all_state_changes(text, not_changes=READ_ONLY_NOT_CHANGES)
    if "invoke-qbdchange" in {f.lower() for f in check_script(text).functions}:
        found.append("defines Invoke-QbdChange, the change wrapper")
    for node, _ in syntax_nodes(parse(text).root_node):
        if node.type != "command":
            continue
        called = command_name(node)
        where = f"line {node.start_point[0] + 1}: {called}: "
        if called in TASK_BUILDERS or called in ("shutdown", "msiexec"):
            found.append(where + " ".join((node.text or b"").decode().split())[:80])
        if called == "invoke-cimmethod":
            methods = [
                (value.text or b"").decode().strip("'\"").lower()
                for param, value in command_arguments(node)
                if param == "methodname" and value is not None
            ]
            if not methods or not set(methods) <= READ_ONLY_CIM_METHODS:
                found.append(where + f"-MethodName {methods or 'not given'}")
    return found


@pytest.mark.parametrize(
    ("name", "variant", "values"),
    [case for case in CASES if SCRIPTS[case[0]].read_only],
    ids=[i for i, case in zip(IDS, CASES, strict=True) if SCRIPTS[case[0]].read_only],
)
def test_read_only_script_contains_no_state_change_at_all(
    name: str, variant: str, values: dict[str, object]
) -> None:
    """Not even in a function an include brings along and the script never calls."""
    assert read_only_violations(rendered(name, variant).text) == []


def test_read_only_check_catches_what_it_must() -> None:
    script = (
        "function Invoke-QbdChange {\n    param($Change)\n}\n"
        "function Add-QbdFactError {\n    param($Name)\n}\nAdd-QbdFactError -Name 'x'\n"
        "function Get-Owner {\n    Invoke-CimMethod -InputObject $p -MethodName GetOwnerSid\n}\n"
        "function Unused {\n    Set-Content -LiteralPath $p -Value 1\n"
        "    $null = Invoke-QbdChange -Target 't' -Action 'a' -Change { Stop-Process -Id 1 }\n"
        "    $pr = New-ScheduledTaskPrincipal -UserId $sid\n    shutdown /r\n"
        "    Invoke-CimMethod -InputObject $p -MethodName Terminate\n}\nGet-Owner\n"
    )
    found = " ".join(read_only_violations(script))
    assert "defines Invoke-QbdChange" in found
    for change in ("set-content", "invoke-qbdchange (in unused)", "stop-process",
                   "new-scheduledtaskprincipal", "shutdown", "terminate"):  # fmt: skip
        assert change in found
    assert "getownersid" not in found


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_every_function_is_used(name: str) -> None:
    """Each script includes only the helpers it uses: every function it defines is reachable
    from its top level (options never change which functions a script holds)."""
    text = rendered(name, "defaults").text
    defined = {f.lower() for f in check_script(text).functions}
    assert sorted(defined - reachable_functions(text)) == []


@pytest.mark.parametrize(("name", "variant", "values"), CASES, ids=IDS)
def test_double_quoted_strings_hold_no_variables(
    name: str, variant: str, values: dict[str, object]
) -> None:
    """Only constant double-quoted strings: a ``$`` in one would expand (and run) at runtime."""
    expanding = [
        (node.text or b"").decode()
        for node, _ in syntax_nodes(parse(rendered(name, variant).text).root_node)
        if node.type in ("expandable_string_literal", "expandable_here_string_literal")
        and b"$" in (node.text or b"")
    ]
    assert expanding == []


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_template_avoids_the_change_block_variable_names(name: str) -> None:
    """Invoke-QbdChange's own parameters would shadow a caller's variables of these names."""
    source = (TEMPLATES / SCRIPTS[name].template).read_text(encoding="utf-8")
    assert not re.search(r"\$(Target|Action|Change|description)\b", source, re.IGNORECASE)


@pytest.mark.parametrize(("name", "variant", "values"), CASES, ids=IDS)
def test_shape(name: str, variant: str, values: dict[str, object]) -> None:
    """Help first, then the parameters, then the prelude; the result is written last."""
    text = rendered(name, variant).text
    assert text.startswith("<#")
    assert text.index("[CmdletBinding(SupportsShouldProcess = $true)]") < text.index(
        "Set-StrictMode -Version 3.0"
    )
    assert "$ErrorActionPreference = 'Stop'" in text
    assert "function Invoke-QbdRemediation" in text
    assert text.rstrip().endswith("}")
    assert "ConvertTo-Json -InputObject $script:QbdResult -Depth 10 -Compress" in text
    assert "Write-Host" not in text and "Invoke-Expression" not in text


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_every_script_reports_the_connector_generation(name: str) -> None:
    text = SCRIPTS[name].render().text
    assert "Find-QbdConnector" in text and "Write-QbdGeneration" in text
    for marker in ("QuickBooks-connector", "AppData\\Local\\Codat", "QBWebConnector"):
        assert marker in text


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_file_is_utf8_bom_crlf(name: str) -> None:
    data = SCRIPTS[name].render({}).file_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert b"\n" not in data.replace(b"\r\n", b"")
    data.decode("utf-8")
