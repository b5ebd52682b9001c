"""Every rendered variant of every script: valid 5.1 syntax, allowed commands only,
each present in Windows PowerShell 5.1 with the parameters used."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from qbd_fix.remediations import REMEDIATIONS
from qbd_fix.script.engine import Script
from tests.support.pwsh import SPLAT_MARKER, ReferenceCommands, check_script, commands_used, parse
from tests.support.variants import all_variants

CASES = list(all_variants())
IDS = [f"{name}-{variant}" for name, variant, _ in CASES]
ALLOWED_FILE = Path(__file__).parent / "support" / "allowed_commands.txt"


# The call operator is allowed only where the prelude runs a script block it was given.
CALL_OPERATOR_TARGETS = {"$Change", "$Condition"}


def call_operator_targets(text: str) -> set[str]:
    """What each ``&`` / ``.`` invocation calls, read from the syntax tree."""
    found: set[str] = set()
    stack = [parse(text).root_node]
    while stack:
        node = stack.pop()
        if node.type == "command_invocation_operator" and node.next_named_sibling is not None:
            found.add(node.next_named_sibling.text.decode())
        stack.extend(node.children)
    return found


def allowed_commands() -> set[str]:
    lines = ALLOWED_FILE.read_text(encoding="utf-8").splitlines()
    return {line.strip().lower() for line in lines if line.strip() and not line.startswith("#")}


@cache
def rendered(name: str, variant: str) -> Script:
    values = dict(next(v for n, w, v in CASES if n == name and w == variant))
    return REMEDIATIONS[name].render(values)


@pytest.mark.parametrize(("name", "variant", "values"), CASES, ids=IDS)
def test_parses_as_windows_powershell_51(name: str, variant: str, values: dict[str, object]) -> None:
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
    missing = [c for c in allowed_commands() if not c.endswith(".exe") and not reference.has_command(c)]
    assert missing == []


@pytest.mark.parametrize(("name", "variant", "values"), CASES, ids=IDS)
def test_shape(name: str, variant: str, values: dict[str, object]) -> None:
    """Help first, then the parameters, then the prelude; the result is written last."""
    text = rendered(name, variant).text
    assert text.startswith("<#")
    assert text.index("[CmdletBinding(SupportsShouldProcess = $true)]") < text.index("Set-StrictMode -Version 3.0")
    assert "$ErrorActionPreference = 'Stop'" in text
    assert "function Invoke-QbdRemediation" in text
    assert text.rstrip().endswith("}")
    assert "ConvertTo-Json -InputObject $script:QbdResult -Depth 10 -Compress" in text
    assert "Write-Host" not in text and "Invoke-Expression" not in text


@pytest.mark.parametrize("name", list(REMEDIATIONS))
def test_every_script_reports_the_connector_generation(name: str) -> None:
    text = REMEDIATIONS[name].render().text
    assert "Find-QbdConnector" in text and "Write-QbdGeneration" in text
    for marker in ("QuickBooks-connector", "AppData\\Local\\Codat", "QBWebConnector"):
        assert marker in text


@pytest.mark.parametrize("name", list(REMEDIATIONS))
def test_file_is_utf8_bom_crlf(name: str) -> None:
    data = REMEDIATIONS[name].render({}).file_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert b"\n" not in data.replace(b"\r\n", b"")
    data.decode("utf-8")
