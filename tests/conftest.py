"""Shared fixtures: the reference data of Windows PowerShell 5.1; audit lines kept out of ~."""

from __future__ import annotations

import pytest

from tests.support.pwsh import REFERENCE_PATH, ReferenceCommands

pytest_plugins = ["tests.loopback.fixtures"]


@pytest.fixture(scope="session")
def reference() -> ReferenceCommands:
    """The 5.1 command reference from ../shared; tests needing it skip where it is absent."""
    if not REFERENCE_PATH.exists():
        pytest.skip(f"Windows PowerShell 5.1 reference not found at {REFERENCE_PATH}")
    return ReferenceCommands.load()


@pytest.fixture(autouse=True)
def _audit_log_in_tmp(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs append audit lines; during tests they go to a temporary file, not the user's."""
    monkeypatch.setenv("QBD_FIX_AUDIT_LOG", str(tmp_path_factory.getbasetemp() / "audit.jsonl"))
