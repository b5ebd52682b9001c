"""The repository's copy of the Windows PowerShell 5.1 reference, and the tool that trims it."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.pwsh import REFERENCE_PATH

TOOL = Path(__file__).parents[1] / "tools" / "trim_winps51_reference.py"

FULL = {
    "source": "profile.json",
    "aliases": {"gci": "Microsoft.PowerShell.Management", "%": "Microsoft.PowerShell.Core"},
    "modules": {
        "Microsoft.PowerShell.Management": {
            "Get-Item": {"type": "Cmdlet", "params": ["LiteralPath", "Path"]}
        },
        "Hyper-V": {"Get-VM": {"type": "Cmdlet", "params": ["Name"]}},
        "NetTCPIP": {"Test-NetConnection": {"type": "Function", "params": ["Port"]}},
    },
}


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("trim_winps51_reference", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_trim_keeps_whole_modules_of_allowed_commands_extras_and_every_alias(
    tool: ModuleType,
) -> None:
    trimmed = tool.trim(FULL, {"get-item"}, ("NetTCPIP",))
    assert sorted(trimmed["modules"]) == ["Microsoft.PowerShell.Management", "NetTCPIP"]
    assert trimmed["aliases"] == FULL["aliases"]
    assert trimmed["source"] == "profile.json"
    assert json.loads(tool.render(trimmed)) == trimmed


def test_trim_refuses_an_extra_module_the_reference_lacks(tool: ModuleType) -> None:
    with pytest.raises(ValueError, match="Hyper-W"):
        tool.trim(FULL, set(), ("Hyper-W",))


def test_tool_writes_the_copy_and_reports_a_bad_source(
    tool: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "full.json"
    modules = {**{m: {} for m in tool.EXTRA_MODULES}, **FULL["modules"]}  # type: ignore[dict-item]
    source.write_text(json.dumps({**FULL, "modules": modules}), encoding="utf-8")
    out = tmp_path / "copy.json"
    assert tool.main(["--source", str(source), "--output", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["modules"]["NetTCPIP"]
    assert tool.main(["--source", str(tmp_path / "absent.json"), "--output", str(out)]) == 1
    assert capsys.readouterr().err.startswith("error: ")


def test_the_copy_in_the_repository_is_the_tools_output_format(tool: ModuleType) -> None:
    text = REFERENCE_PATH.read_text(encoding="utf-8")
    data = json.loads(text)
    assert text == tool.render(data), "regenerate with tools/trim_winps51_reference.py"
    assert data["source"].startswith("PSScriptAnalyzer")
    assert set(tool.EXTRA_MODULES) <= set(data["modules"])
