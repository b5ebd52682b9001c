"""tools/check.py finds PowerShell and Pester the way the README says, and never passes CI
without running the Pester suite."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

CHECK = Path(__file__).resolve().parents[1] / "tools" / "check.py"


def _check_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_tool", CHECK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


check = _check_module()


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("", encoding="utf-8")
    return path


def _install(home: Path, *versions: str) -> Path:
    pwsh = _touch(home / "tools" / ("pwsh.exe" if sys.platform == "win32" else "pwsh"))
    for version in versions:
        _touch(home / "packages" / "pester" / version / "tools" / "Pester.psd1")
    return pwsh


def test_environment_variables_win(tmp_path: Path) -> None:
    pwsh = _touch(tmp_path / "bin" / "pwsh")
    pester = _touch(tmp_path / "Pester" / "Pester.psd1")
    _install(tmp_path / "cache" / "qbd-pwsh", "5.7.1")
    env = {
        "QBD_PWSH": str(pwsh),
        "QBD_PESTER": str(pester),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    assert check.find_pester_tools(env) == check.PesterTools(pwsh=pwsh, pester=pester)


def test_default_folder_under_xdg_cache_home_with_the_newest_pester_5(tmp_path: Path) -> None:
    home = tmp_path / "qbd-pwsh"
    pwsh = _install(home, "5.5.0", "5.10.2", "5.7.1")
    _touch(home / "packages" / "pester" / "4.10.1" / "tools" / "Pester.psd1")
    found = check.find_pester_tools({"XDG_CACHE_HOME": str(tmp_path)})
    assert found.pwsh == pwsh
    assert found.pester == home / "packages" / "pester" / "5.10.2" / "tools" / "Pester.psd1"


def test_default_folder_under_home_cache(tmp_path: Path) -> None:
    pwsh = _install(tmp_path / ".cache" / "qbd-pwsh", "5.7.1")
    assert check.find_pester_tools({"HOME": str(tmp_path)}).pwsh == pwsh


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ("nothing", "no PowerShell at"),
        ("pwsh only", "no Pester 5 under"),
        ("bad QBD_PESTER", "(QBD_PESTER)"),
        ("bad QBD_PWSH", "(QBD_PWSH)"),
    ],
)
def test_missing_tools_say_what_was_looked_for(tmp_path: Path, layout: str, message: str) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    if layout != "nothing":
        _install(tmp_path / "qbd-pwsh")
    if layout == "bad QBD_PESTER":
        _install(tmp_path / "qbd-pwsh", "5.7.1")
        env["QBD_PESTER"] = str(tmp_path / "nowhere.psd1")
    if layout == "bad QBD_PWSH":
        env["QBD_PWSH"] = str(tmp_path / "nowhere")
    with pytest.raises(check.ToolsMissing, match=message.replace("(", r"\(").replace(")", r"\)")):
        check.find_pester_tools(env)


def test_missing_tools_are_a_loud_notice_outside_ci(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check.run_pester({"XDG_CACHE_HOME": str(tmp_path)}) == "not run"
    err = capsys.readouterr().err
    assert "PESTER DID NOT RUN" in err
    assert "../shared/tools/setup-pwsh" in err
    assert len(err.strip().splitlines()) == 1


def test_missing_tools_fail_under_ci(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check.run_pester({"XDG_CACHE_HOME": str(tmp_path), "CI": "true"}) == "failed"
    assert "../shared/tools/setup-pwsh" in capsys.readouterr().err
