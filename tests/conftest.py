"""Shared fixtures: the reference data of Windows PowerShell 5.1; audit lines kept out of ~.

Under CI (environment variable ``CI`` set, as GitHub Actions does) a skipped test is reported
as a failure: the script checks stand in for Windows PowerShell 5.1, and a check that quietly
does not run looks exactly like one that passes.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

from tests.support.pwsh import ReferenceCommands

pytest_plugins = ["tests.loopback.fixtures"]


def skips_fail() -> bool:
    """Whether a skip counts as a failure: under CI, unless ``CI`` is empty or ``false``."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Turn a skip into a failure under CI, naming the test and the reason it gave."""
    report = yield
    if report.skipped and not hasattr(report, "wasxfail") and skips_fail():
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid} was skipped under CI ({reason}); a check that does not run "
            "must not pass: make it run everywhere, or remove it"
        )
    return report


@pytest.fixture(scope="session")
def reference() -> ReferenceCommands:
    """The 5.1 command reference kept in the repository (tests/support/winps51_commands.json)."""
    return ReferenceCommands.load()


@pytest.fixture(autouse=True)
def _audit_log_in_tmp(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs append audit lines; during tests they go to a temporary file, not the user's."""
    monkeypatch.setenv("QBD_FIX_AUDIT_LOG", str(tmp_path_factory.getbasetemp() / "audit.jsonl"))
