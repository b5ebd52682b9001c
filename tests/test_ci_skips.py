"""Under CI a skipped test fails (tests/conftest.py), so no script check can quietly not run."""

from __future__ import annotations

import pytest

from tests.conftest import skips_fail

pytest_plugins = ["pytester"]

CONFTEST = "from tests.conftest import pytest_runtest_makereport  # noqa: F401\n"
TESTS = """
import pytest

@pytest.fixture
def missing():
    pytest.skip("reference data absent")

def test_skips_in_the_body():
    pytest.skip("no PowerShell here")

def test_skips_in_a_fixture(missing):
    pass

@pytest.mark.xfail(reason="known")
def test_expected_failure():
    assert False

def test_passes():
    pass
"""


def test_a_skip_fails_under_ci(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(TESTS)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1, errors=1, xfailed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_skips_in_the_body was skipped under CI (*no PowerShell here)*",
            "*test_skips_in_a_fixture was skipped under CI (*reference data absent)*",
        ]
    )


def test_a_skip_stays_a_skip_outside_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(TESTS)
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(
        passed=1, skipped=2, xfailed=1
    )


@pytest.mark.parametrize(
    ("value", "fails"), [("true", True), ("1", True), ("yes", True), ("", False), ("false", False)]
)
def test_which_ci_values_count(monkeypatch: pytest.MonkeyPatch, value: str, fails: bool) -> None:
    monkeypatch.setenv("CI", value)
    assert skips_fail() is fails
