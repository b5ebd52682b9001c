"""User input checks: clean values pass unchanged, bad ones give one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbd_fix import validation
from qbd_fix.errors import ExitCode, UsageError


@pytest.mark.parametrize(
    "name",
    [
        "Acme",
        "O'Brien & Sons – Books",
        "Codat Engineering - Integration",
        "‘Smart’ ‚Quotes‛",
        "$(x) `y`",
        "中文",
    ],
)
def test_client_names_with_quotes_and_unicode_are_accepted(name: str) -> None:
    assert validation.client_name(name) == name


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "empty"),
        ("  ", "empty"),
        ("a\nb", "control"),
        ("a\x00", "control"),
        ("x" * 201, "limit"),
    ],
)
def test_bad_client_names(name: str, why: str) -> None:
    with pytest.raises(UsageError, match=why) as info:
        validation.client_name(name)
    assert info.value.exit_code == ExitCode.USAGE
    assert "\n" not in str(info.value)


@given(st.text(min_size=1, max_size=200).filter(lambda s: s.strip()))
def test_client_name_accepts_any_printable_text(name: str) -> None:
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or 0xD800 <= ord(c) <= 0xDFFF for c in name):
        with pytest.raises(UsageError):
            validation.client_name(name)
    else:
        assert validation.client_name(name) == name


def test_company_id_is_canonical() -> None:
    assert (
        validation.company_id("{8A210B68-6988-11ED-A1EB-0242AC120002}")
        == "8a210b68-6988-11ed-a1eb-0242ac120002"
    )


@pytest.mark.parametrize(
    "value", ["", "not-a-guid", "8a210b68698811eda1eb0242ac120002", "8a210b68-6988-11ed-a1eb"]
)
def test_bad_company_ids(value: str) -> None:
    with pytest.raises(UsageError, match="--company-id"):
        validation.company_id(value)


@pytest.mark.parametrize(
    "value",
    [
        "https://example.com/x.exe",
        "C:\\Users\\Ann\\Downloads\\Acme-quickbooksdesktop-connector.exe",
        "\\\\server\\share\\setup.exe",
        "D:\\O'Brien\\setup.exe",
    ],
)
def test_good_installers(value: str) -> None:
    assert validation.installer(value) == value


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("http://example.com/x.exe", "https"),
        ("https:///x.exe", "no host"),
        ("https://exa mple.com/x", "spaces"),
        ("setup.exe", "absolute"),
        ("C:\\a|b.exe", "cannot hold"),
        ("C:\\CON\\x.exe", "reserved"),
        ("C:\\a\nb.exe", "control"),
    ],
)
def test_bad_installers(value: str, why: str) -> None:
    with pytest.raises(UsageError, match=why):
        validation.installer(value)


def test_output_path(tmp_path: Path) -> None:
    assert validation.output_path(str(tmp_path / "new" / "x.ps1")) == tmp_path / "new" / "x.ps1"
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="not a folder"):
        validation.output_path(str(tmp_path / "file" / "x.ps1"))
    with pytest.raises(UsageError, match="control"):
        validation.output_path("a\nb")


def test_seconds_bounds() -> None:
    """Timeouts are bounded by their script parameter, which the CLI and param() share."""
    from qbd_fix.remediations import REMEDIATIONS
    from qbd_fix.script.params import BoundError

    timeout = next(
        p for p in REMEDIATIONS["restart-tasks"].parameters if p.name == "TaskTimeoutSeconds"
    )
    timeout.check_bounds(5)
    with pytest.raises(BoundError, match="between 1 and 600"):
        timeout.check_bounds(0)
