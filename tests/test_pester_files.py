"""The Pester suite's own files: Windows PowerShell 5.1 syntax, and one test file per script.

No PowerShell runs here, so CI's Windows job is the first to execute these files; a syntax
error or a script without tests should fail here, in seconds, instead.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.pwsh import REFERENCE_PATH, check_script

PESTER = Path(__file__).resolve().parent / "pester"
PS_FILES = sorted(PESTER.glob("*.ps1"))
#: Intune's detection scripts, which intune.Tests.ps1 finds by this prefix.
INTUNE_PREFIX = "intune-detect-"


def _render_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pester_render", PESTER / "render.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_there_are_pester_files() -> None:
    assert any(p.name == "Helpers.ps1" for p in PS_FILES)
    assert len([p for p in PS_FILES if p.name.endswith(".Tests.ps1")]) >= 6


@pytest.mark.parametrize("path", PS_FILES, ids=[p.name for p in PS_FILES])
def test_pester_file_parses_as_windows_powershell(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.isascii(), (
        "keep Pester files ASCII: Windows PowerShell 5.1 reads BOM-less files as ANSI"
    )
    report = check_script(text)
    assert report.ok, f"{path.name}: {report.errors} {report.ps7_only} {report.quote_mismatches}"


def test_every_rendered_script_has_a_test_file(tmp_path: Path) -> None:
    written = _render_module().render_all(tmp_path)
    tested = {p.name.removesuffix(".Tests.ps1") for p in PS_FILES if p.name.endswith(".Tests.ps1")}
    referenced = "\n".join(p.read_text(encoding="utf-8") for p in PS_FILES)
    intune = [p for p in written if p.name.startswith(INTUNE_PREFIX)]
    assert len(intune) >= 6 and "intune" in tested
    assert f"-Filter '{INTUNE_PREFIX}*.ps1'" in (PESTER / "intune.Tests.ps1").read_text()
    for path in written:
        name = path.stem
        if path in intune:
            continue
        assert f"out/{name}.ps1" in referenced, f"no Pester test runs out/{name}.ps1"
        if not name.endswith("-quoted"):
            assert name in tested, f"no {name}.Tests.ps1"


def test_rendered_scripts_are_bom_crlf_and_parse(tmp_path: Path) -> None:
    for path in _render_module().render_all(tmp_path):
        data = path.read_bytes()
        # Intune's scripts are ASCII without a BOM (signature checks refuse one); the rest
        # are as an administrator receives them, UTF-8 with a BOM.
        bom = not path.name.startswith(INTUNE_PREFIX)
        assert data.startswith(b"\xef\xbb\xbf") is bom, path.name
        assert b"\n" not in data.replace(b"\r\n", b"")
        text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8").replace("\r\n", "\n")
        assert check_script(text).ok, path.name


def _stub_table() -> dict[str, list[str]]:
    """Get-FakeCommandParameter's table in Helpers.ps1: command -> parameter names."""
    text = (PESTER / "Helpers.ps1").read_text(encoding="utf-8")
    body = text[text.index("function Get-FakeCommandParameter") :]
    body = body[: body.index("\n}\n")]
    rows = re.findall(r"'([A-Za-z]+-[A-Za-z]+)'\s*=\s*@\(([^)]*)\)", body)
    return {name: re.findall(r"'([A-Za-z]+)'", params) for name, params in rows}


def test_fake_command_stand_ins_cover_the_windows_commands_scripts_call() -> None:
    allowed = (PESTER.parent / "support" / "allowed_commands.txt").read_text(encoding="utf-8")
    windows_only = {
        "Get-Service", "Get-CimInstance", "Invoke-CimMethod", "Get-WinEvent",
        "Get-MpComputerStatus", "Get-MpPreference", "Get-MpThreatDetection", "Add-MpPreference",
    }  # fmt: skip
    names = {line.strip() for line in allowed.splitlines() if not line.startswith("#")}
    wanted = {name for name in names if "ScheduledTask" in name or name in windows_only}
    assert wanted <= set(_stub_table()), wanted - set(_stub_table())


def test_fake_command_stand_ins_have_the_windows_powershell_5_1_parameters() -> None:
    if not REFERENCE_PATH.exists():
        pytest.skip(f"Windows PowerShell 5.1 reference not found at {REFERENCE_PATH}")
    modules = json.loads(REFERENCE_PATH.read_text(encoding="utf-8"))["modules"]
    reference = {
        name: spec["params"] for commands in modules.values() for name, spec in commands.items()
    }
    for name, params in _stub_table().items():
        assert sorted(params) == sorted(reference[name]), name
