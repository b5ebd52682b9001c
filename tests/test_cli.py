"""The command line, through Typer's CliRunner: help, dry-run, errors, local runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qbd_fix import __version__
from qbd_fix.cli.app import app
from qbd_fix.remediations import REMEDIATIONS, get
from qbd_fix.runners import local
from tests.test_local_runner import fake_powershell  # noqa: F401 - fixture

runner = CliRunner()
REQUIRED = {"reinstall-connector": ["--installer", "https://example.com/setup.exe"]}


def invoke(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def test_version() -> None:
    code, out, _ = invoke("--version")
    assert code == 0 and out.strip() == f"qbd-fix {__version__}"


def test_help_lists_every_command() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    for name in [*REMEDIATIONS, "list"]:
        assert name in out


@pytest.mark.parametrize("name", list(REMEDIATIONS))
def test_command_help(name: str) -> None:
    code, out, _ = invoke(name, "--help")
    assert code == 0
    assert REMEDIATIONS[name].seed_section.split()[0] in out
    for flag in ("--dry-run", "--output", "--yes", "--what-if", "--json"):
        assert flag in out


def test_list_names_seed_sections_and_changes() -> None:
    code, out, _ = invoke("list")
    assert code == 0
    flat = " ".join(out.split())
    for remediation in REMEDIATIONS.values():
        assert remediation.name in flat
        assert remediation.may_change[0].split()[0] in flat


@pytest.mark.parametrize("name", list(REMEDIATIONS))
def test_dry_run_prints_the_exact_script(name: str) -> None:
    code, out, _ = invoke(name, *REQUIRED.get(name, []), "--dry-run")
    assert code == 0
    values = {"Installer": REQUIRED[name][1]} if name in REQUIRED else {}
    assert out == get(name).render(values).text


def test_dry_run_of_the_readme_example() -> None:
    code, out, _ = invoke("restart-tasks", "--client-name", "O'Brien & Sons – Books", "--dry-run")
    assert code == 0
    assert out == get("restart-tasks").render({"ClientName": "O'Brien & Sons – Books"}).text
    assert "[string] $ClientName = 'O''Brien & Sons – Books'," in out


def test_dry_run_to_a_file_and_a_folder(tmp_path: Path) -> None:
    code, _, err = invoke(
        "restart-tasks", "-c", "Acme", "--dry-run", "--output", str(tmp_path / "fix.ps1")
    )
    assert code == 0 and "fix.ps1" in err
    data = (tmp_path / "fix.ps1").read_bytes()
    assert data == get("restart-tasks").render({"ClientName": "Acme"}).file_bytes()
    code, _, _ = invoke("collect-logs", "--dry-run", "-o", str(tmp_path))
    assert code == 0 and (tmp_path / "collect-logs.ps1").read_bytes().startswith(b"\xef\xbb\xbf")
    code, _, _ = invoke("collect-logs", "--dry-run", "-o", f"{tmp_path}/new/")
    assert code == 0 and (tmp_path / "new" / "collect-logs.ps1").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["restart-tasks", "--client-name", "", "--dry-run"], "--client-name must not be empty"),
        (["restart-tasks", "--client-name", "a\nb", "--dry-run"], "control characters"),
        (["restart-tasks", "--task-timeout", "0", "--dry-run"], "--task-timeout must be between"),
        (
            ["restart-web-connector", "--start-timeout", "601", "--dry-run"],
            "--start-timeout must be between 1 and 600",
        ),
        (["restart-tasks", "--output", "x.ps1"], "--output goes with --dry-run"),
        (["restart-tasks", "--bogus"], "No such option"),
        (["reinstall-connector", "--dry-run"], "Missing option '--installer'"),
        (["reinstall-connector", "--installer", "http://x/y.exe", "--dry-run"], "must use https"),
        (
            ["reinstall-connector", "--installer", "setup.exe", "--dry-run"],
            "not an absolute Windows path",
        ),
        (
            [
                "reinstall-connector",
                "--installer",
                "C:\\s.exe",
                "--company-id",
                "nope",
                "--dry-run",
            ],
            "not a GUID",
        ),
        (["collect-logs", "--max-file-mib", "0", "--dry-run"], "--max-file-mib"),
        (["collect-logs", "--dest", "a\tb", "--dry-run"], "control characters"),
        (["restart-tasks", "--task-timeout", "many"], "Invalid value"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    code, out, err = invoke(*args)
    assert code == 2
    assert message in err
    assert err.startswith("error:") and err.count("error:") == 1
    assert "Traceback" not in err + out
    assert len([line for line in err.splitlines() if line.strip()]) <= 2  # the error, and a hint


def test_running_off_windows_points_to_host_and_dry_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "local_supported", lambda: False)
    code, _, err = invoke("restart-tasks", "--yes")
    assert code == 4
    assert "needs Windows PowerShell" in err and "--host" in err and "--dry-run" in err


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch, fake_powershell: Path) -> Path:  # noqa: F811
    monkeypatch.setattr(local, "local_supported", lambda: True)
    return fake_powershell


def test_local_run_shows_the_result(windows: Path) -> None:
    code, out, _ = invoke("restart-tasks", "--client-name", "O’Brien", "--yes")
    assert code == 0
    assert "CHANGED" in out and "tray-running" in out and "running again" in out
    script = (windows / "script.ps1").read_bytes()
    assert script == get("restart-tasks").render({"ClientName": "O’Brien"}).file_bytes()


def test_local_run_json(windows: Path) -> None:
    code, out, _ = invoke("restart-tasks", "--yes", "--json")
    assert code == 0
    doc = json.loads(out)
    assert (
        doc["status"] == "changed" and doc["remediation"] == "restart-tasks" and "duration_s" in doc
    )


@pytest.mark.parametrize(("mode", "code"), [("needs-action", 3), ("failed", 1), ("not-json", 17)])
def test_local_run_exit_codes(
    windows: Path, monkeypatch: pytest.MonkeyPatch, mode: str, code: int
) -> None:
    monkeypatch.setenv("FAKE_PS_MODE", mode)
    assert invoke("restart-tasks", "--yes")[0] == code


def test_changes_need_confirmation(windows: Path) -> None:
    code, _, err = invoke("restart-tasks")
    assert code == 2 and "pass --yes" in err
    assert not (windows / "argv.json").exists(), "nothing ran"


def test_what_if_needs_no_confirmation(windows: Path) -> None:
    code, out, _ = invoke("restart-tasks", "--what-if")
    assert code == 0 and "What-if run" in out and "would" in out
    assert json.loads((windows / "argv.json").read_text())[-1] == "-WhatIf"


def test_collect_logs_brings_the_zip_home(
    windows: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FAKE_PS_MODE", "bundle")
    code, out, _ = invoke("collect-logs", "--yes", "--dest", str(tmp_path / "b.zip"))
    assert code == 0 and (tmp_path / "b.zip").exists() and "b.zip" in out


def test_unexpected_errors_are_one_line(windows: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("qbd_fix.jobs.execute", boom)
    code, _, err = invoke("restart-tasks", "--yes")
    assert code == 1 and "unexpected RuntimeError: boom" in err and "Traceback" not in err
