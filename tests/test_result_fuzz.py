"""Whatever a PC prints, reading its result ends in a Result or a ResultError, never in
another exception, and a Result read is safe to print and to write as UTF-8 JSON.

The same holds for ``data.bundle``: whatever shape it has, a run either copies a file
with a well-formed digest and size, or stops with an error of the family."""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qbd_fix import jobs
from qbd_fix.errors import QbdFixError, ResultError, TransferError
from qbd_fix.result import MAX_DEPTH, Result, Status, parse_result
from qbd_fix.runners.base import OnStep, Runner, RunOutcome
from qbd_fix.script.engine import Script

FIELDS = ["remediation", "computer", "status", "checks", "actions", "messages", "data"]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.text(alphabet=st.characters(categories=["Cs"]), min_size=1, max_size=3)  # surrogates
    | st.sampled_from([s.value for s in Status])
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=25,
)
documents = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), values, max_size=9)


def read(output: str | list[str]) -> Result | None:
    try:
        result = parse_result(output)
    except ResultError:
        return None
    json.dumps(result.to_dict(), ensure_ascii=False).encode("utf-8")  # printable, writable
    return result


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_any_text(text: str) -> None:
    read(text)
    read(text.splitlines())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents, st.booleans())
def test_any_result_shaped_document(doc: dict[str, Any], ascii_only: bool) -> None:
    text = json.dumps(doc, ensure_ascii=ascii_only)
    result = read(["noise", text])
    if result is not None:
        assert isinstance(result.remediation, str) and isinstance(result.data, dict)


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=3000), st.sampled_from(["[]", "{}"]))
def test_any_nesting(depth: int, brackets: str) -> None:
    if brackets == "[]":
        inner = "[" * depth + "0" + "]" * depth
    else:
        inner = '{"a":' * depth + "0" + "}" * depth
    text = '{"remediation": "x", "status": "ok", "data": {"n": ' + inner + "}}"
    result = read([text])
    assert (result is not None) == (depth + 2 <= MAX_DEPTH)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=string.printable + '{}[]":,\\ud800', max_size=200))
def test_json_like_noise(text: str) -> None:
    read(["{" + text + "}"])


class _Runner(Runner):
    """Answers one result; records what it was asked to fetch."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.target = "PC01"
        self.data = data
        self.fetched: list[dict[str, Any]] = []

    def run(
        self, script: Script, *, what_if: bool = False, on_step: OnStep | None = None
    ) -> RunOutcome:
        result = Result(script.name, "PC01", Status.OK, data=dict(self.data))
        return RunOutcome(target=self.target, result=result, duration=0.0)

    def fetch(
        self,
        remote_path: str,
        local_path: Path,
        *,
        sha256: str | None = None,
        size: int | None = None,
        max_bytes: int = 1,
    ) -> Path:
        self.fetched.append({"path": remote_path, "sha256": sha256, "size": size, "max": max_bytes})
        return local_path


bundles = values | st.fixed_dictionaries(
    {},
    optional={
        "path": values | st.text(min_size=1, max_size=30),
        "sha256": values | st.text(alphabet="0123456789abcdefABCDEF", min_size=64, max_size=64),
        "size": values | st.integers(min_value=0, max_value=2**40),
        "local_path": values,
    },
)


@settings(max_examples=200, deadline=None)
@given(bundles, st.sampled_from(["collect-logs", "restart-tasks", "doctor"]))
def test_any_bundle(bundle: Any, name: str) -> None:
    runner = _Runner({"bundle": bundle})
    try:
        outcome = jobs.execute(
            Script(name, "x", {}), runner, dest=Path("/nonexistent/out"), max_bundle_bytes=1 << 30
        )
    except (ResultError, TransferError):
        assert not runner.fetched
        return
    except QbdFixError as exc:  # pragma: no cover - would name the unexpected class
        raise AssertionError(f"unexpected {type(exc).__name__}") from exc
    if name != "collect-logs":
        assert not runner.fetched and "bundle" not in outcome.result.data
        assert outcome.result.notes
        return
    for call in runner.fetched:
        assert isinstance(call["path"], str) and call["path"]
        assert isinstance(call["sha256"], str) and len(call["sha256"]) == 64
        assert call["size"] is None or (type(call["size"]) is int and 0 <= call["size"] <= 1 << 30)
    kept = outcome.result.data.get("bundle")
    if runner.fetched:
        assert kept["local_path"].startswith("/nonexistent/out")
    elif isinstance(kept, dict):
        assert "local_path" not in kept  # the PC's own local_path is never shown
