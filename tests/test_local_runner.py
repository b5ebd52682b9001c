"""The local runner, through a fake powershell.exe on PATH."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from qbd_fix import jobs
from qbd_fix.errors import ResultError, RunTimeoutError, ScriptFailedError, TransferError
from qbd_fix.remediations import get
from qbd_fix.result import Status
from qbd_fix.runners.local import LocalRunner

FAKE = Path(__file__).parent / "support" / "fake_powershell.py"


@pytest.fixture
def fake_powershell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put a ``powershell.exe`` that records its calls first on PATH; return its record folder."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shutil.copy(FAKE, bin_dir / "powershell.exe")
    (bin_dir / "powershell.exe").chmod(0o755)
    record = tmp_path / "record"
    record.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_PS_RECORD", str(record))
    return record


def test_runs_the_script_file_and_reads_the_result(fake_powershell: Path) -> None:
    script = get("restart-tasks").render({"ClientName": "O’Brien"})
    outcome = LocalRunner().run(script)
    argv = json.loads((fake_powershell / "argv.json").read_text())
    assert argv[:5] == ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File"]
    assert argv[5].endswith("restart-tasks.ps1") and len(argv) == 6
    assert not Path(argv[5]).exists(), "the temporary script is removed"
    assert (fake_powershell / "script.ps1").read_bytes() == script.file_bytes()
    assert "O’Brien" not in " ".join(argv), "values travel in the file, never on the command line"
    assert outcome.result.status is Status.CHANGED
    assert outcome.result.messages == ["The connector for 'O’Brien' is running again."]
    assert outcome.exit_code == 0


def test_what_if_is_passed(fake_powershell: Path) -> None:
    outcome = LocalRunner().run(get("restart-tasks").render(), what_if=True)
    assert json.loads((fake_powershell / "argv.json").read_text())[-1] == "-WhatIf"
    assert outcome.result.data["what_if"] is True
    assert not outcome.result.actions[0].performed


@pytest.mark.parametrize(
    ("mode", "status", "code"),
    [("needs-action", Status.NEEDS_USER_ACTION, 3), ("failed", Status.FAILED, 1)],
)
def test_status_and_exit_code(
    fake_powershell: Path, monkeypatch: pytest.MonkeyPatch, mode: str, status: Status, code: int
) -> None:
    monkeypatch.setenv("FAKE_PS_MODE", mode)
    outcome = LocalRunner().run(get("restart-tasks").render())
    assert outcome.result.status is status and outcome.exit_code == code


def test_output_without_a_result(fake_powershell: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_PS_MODE", "not-json")
    with pytest.raises(ResultError, match="no result document"):
        LocalRunner().run(get("restart-tasks").render())


def test_powershell_error_is_reported_with_its_first_line(
    fake_powershell: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_PS_MODE", "parse-error")
    with pytest.raises(ScriptFailedError, match=r"exited with code 1: At C:\\x.ps1:3 char:1"):
        LocalRunner().run(get("restart-tasks").render())


def test_timeout(fake_powershell: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_PS_MODE", "slow")
    with pytest.raises(RunTimeoutError, match="longer than 1 s"):
        LocalRunner(timeout=1).run(get("restart-tasks").render())


def test_missing_powershell(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ScriptFailedError, match="not found on PATH"):
        LocalRunner()


def test_collect_logs_bundle_is_brought_home(
    fake_powershell: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FAKE_PS_MODE", "bundle")
    dest = tmp_path / "out" / "logs.zip"
    with LocalRunner() as runner:
        outcome = jobs.execute(get("collect-logs").render(), runner, dest=dest)
    assert dest.read_bytes().startswith(b"PK")
    assert outcome.result.data["bundle"]["local_path"] == str(dest)
    assert not (fake_powershell / "bundle.zip").exists(), "the PC's copy is removed"


def test_bundle_with_wrong_digest_leaves_nothing(tmp_path: Path) -> None:
    source = tmp_path / "b.zip"
    source.write_bytes(b"data")
    runner = LocalRunner(executable="powershell.exe")
    with pytest.raises(TransferError, match="SHA-256"):
        runner.fetch(str(source), tmp_path / "dest.zip", sha256="0" * 64)
    assert not (tmp_path / "dest.zip").exists() and source.exists()


def test_bundle_destination_rules(tmp_path: Path) -> None:
    assert jobs.bundle_destination(tmp_path / "x.zip", "PC01") == tmp_path / "x.zip"
    folder = jobs.bundle_destination(tmp_path, "PC:01")
    assert (
        folder.parent == tmp_path and folder.name.startswith("PC_01-") and folder.suffix == ".zip"
    )
    assert str(jobs.bundle_destination(None, "PC01")).startswith("qbd-logs")


def test_a_flood_of_output_is_read_as_it_comes_and_kept_bounded(
    fake_powershell: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qbd_fix.runners import limits

    monkeypatch.setenv("FAKE_PS_MODE", "flood")
    outcome = LocalRunner().run(get("restart-tasks").render())
    assert outcome.result.status.value == "changed"
    assert outcome.result.truncated is True
    assert any(n.startswith("truncated output: kept") for n in outcome.result.notes)
    assert any(n.startswith("truncated errors: kept") for n in outcome.result.notes)
    assert sum(map(len, outcome.streams.output)) <= 2 * limits.MAX_OUTPUT_CHARS
    assert sum(map(len, outcome.streams.errors)) <= 2 * limits.MAX_STREAM_CHARS
