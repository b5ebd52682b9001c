"""Golden copies of every script, so a change to a script shows up in review.

Options never change a script's shape, only its ``param()`` defaults: each
remediation keeps one whole golden script (its defaults), and each other option
combination keeps its ``param()`` block, with a check that everything else is
the same as the defaults' script.

Update after an intended change with ``QBD_FIX_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qbd_fix.remediations import REMEDIATIONS
from tests.support.golden import assert_golden
from tests.support.variants import all_variants

GOLDEN = Path(__file__).parent / "golden"
CASES = list(all_variants())
PARAM_START = "[CmdletBinding(SupportsShouldProcess = $true)]\nparam("


def split_params(text: str) -> tuple[str, str, str]:
    """(help, param block, rest): the param block ends at the first line that is ``)``."""
    start = text.index(PARAM_START)
    end = text.index("\n)\n", start) + len("\n)\n")
    return text[:start], text[start:end], text[end:]


def golden_path(name: str, variant: str) -> Path:
    suffix = ".ps1" if variant == "defaults" else ".params.ps1"
    return GOLDEN / name / f"{variant}{suffix}"


@pytest.mark.parametrize(
    ("name", "variant", "values"), CASES, ids=[f"{n}-{v}" for n, v, _ in CASES]
)
def test_rendered_script_matches_golden(name: str, variant: str, values: dict[str, object]) -> None:
    text = REMEDIATIONS[name].render(dict(values)).text  # type: ignore[arg-type]
    if variant == "defaults":
        assert_golden(golden_path(name, variant), text)
        return
    help_text, params, rest = split_params(text)
    default_help, _, default_rest = split_params(REMEDIATIONS[name].render().text)
    assert (help_text, rest) == (default_help, default_rest), "options changed the script's shape"
    assert_golden(golden_path(name, variant), params)


def test_no_stale_golden_files() -> None:
    expected = {golden_path(n, v) for n, v, _ in CASES}
    stale = sorted(str(p) for p in GOLDEN.glob("*/*.ps1") if p not in expected)
    assert stale == [], "remove golden files no variant produces"
