"""Golden files: compare rendered text with a checked-in copy.

``QBD_FIX_UPDATE_GOLDEN=1 pytest`` rewrites the copies; review the diff, then commit.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

GOLDEN_UPDATE = os.environ.get("QBD_FIX_UPDATE_GOLDEN") == "1"


def assert_golden(path: Path, actual: str) -> None:
    """Compare with a golden file; ``QBD_FIX_UPDATE_GOLDEN=1`` rewrites it instead."""
    if GOLDEN_UPDATE or not path.exists():
        if not GOLDEN_UPDATE:
            pytest.fail(
                f"golden file {path} is missing: run with QBD_FIX_UPDATE_GOLDEN=1 to create it"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8", newline="\n")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"{path} differs: if the change is intended, rerun with QBD_FIX_UPDATE_GOLDEN=1"
    )
