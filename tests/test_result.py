"""Reading the one result document a script writes."""

from __future__ import annotations

import json

import pytest

from qbd_fix.errors import ExitCode, ResultError
from qbd_fix.result import Status, parse_result

DOC = {
    "remediation": "restart-tasks",
    "computer": "PC01",
    "status": "changed",
    "checks": [{"name": "tasks-found", "passed": True, "evidence": "\\QuickbooksDesktop_Acme"}],
    "actions": [{"description": "Run scheduled task: \\QuickbooksDesktop_Acme", "performed": True}],
    "messages": ["The connector is running again."],
    "data": {"what_if": False},
}


def test_parses_the_last_result_line_among_noise() -> None:
    text = (
        "WARNING: noise\n{not json}\n"
        + json.dumps({"other": 1})
        + "\n\ufeff"
        + json.dumps(DOC)
        + "\n"
    )
    result = parse_result(text)
    assert result.status is Status.CHANGED
    assert result.checks[0].passed and result.actions[0].performed
    assert result.summary == "The connector is running again."
    assert result.to_dict()["status"] == "changed"


def test_powershell_51_shapes_are_tolerated() -> None:
    """5.1 writes empty lists as null and may unroll a one-item list."""
    doc = dict(DOC, checks=None, actions=DOC["actions"][0], messages="one")
    result = parse_result([json.dumps(doc)])
    assert result.checks == [] and len(result.actions) == 1 and result.messages == ["one"]


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        (dict(DOC, status="great"), "unknown status"),
        (dict(DOC, status=None), "'status'"),
        (dict(DOC, data=[1]), "'data'"),
        (dict(DOC, checks=[1]), "check"),
    ],
)
def test_bad_documents(doc: dict[str, object], match: str) -> None:
    with pytest.raises(ResultError, match=match):
        parse_result(json.dumps(doc))


def test_no_document() -> None:
    with pytest.raises(ResultError, match="no result document") as info:
        parse_result("just text\n")
    assert info.value.exit_code == ExitCode.RESULT_UNREADABLE


@pytest.mark.parametrize(
    ("status", "code"),
    [(Status.OK, 0), (Status.CHANGED, 0), (Status.FAILED, 1), (Status.NEEDS_USER_ACTION, 3)],
)
def test_exit_codes_match_the_scripts(status: Status, code: int) -> None:
    assert status.exit_code == code
