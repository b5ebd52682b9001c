"""Golden copies of every rendered variant: a change to a script shows up in review.

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


@pytest.mark.parametrize(
    ("name", "variant", "values"), CASES, ids=[f"{n}-{v}" for n, v, _ in CASES]
)
def test_rendered_script_matches_golden(name: str, variant: str, values: dict[str, object]) -> None:
    text = REMEDIATIONS[name].render(dict(values)).text  # type: ignore[arg-type]
    assert_golden(GOLDEN / name / f"{variant}.ps1", text)


def test_no_stale_golden_files() -> None:
    expected = {GOLDEN / n / f"{v}.ps1" for n, v, _ in CASES}
    stale = sorted(str(p) for p in GOLDEN.glob("*/*.ps1") if p not in expected)
    assert stale == [], "remove golden files no variant produces"
