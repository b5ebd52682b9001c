"""Progress: every script says which step it has reached (``Write-QbdStep``, _prelude.ps1.j2), as
an information record tagged ``qbd-step``: read live over PowerShell Remoting, and printed by
``powershell.exe -File`` as a ``qbd-step: ...`` line before the one JSON result, which stays
the last line (tests/pester: the order of the records, and stdout under -WhatIf).

A step's text is constant, written by the template: a user value (a client name, a path) never
reaches it, and only numbers (a count, seconds) are formatted in, as ``[int]`` casts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qbd_fix.doctor import DOCTOR
from qbd_fix.remediations import REMEDIATIONS
from qbd_fix.remediations.base import Remediation
from tests.support.guards import reachable_functions, syntax_nodes
from tests.support.pwsh import parse
from tests.support.rules import command_arguments, command_name

SCRIPTS: dict[str, Remediation] = {**REMEDIATIONS, DOCTOR.name: DOCTOR}
TEMPLATES = Path(__file__).resolve().parents[1] / "qbd_fix" / "templates"
#: Every template that is a script (includes start with '_'): each has a main function.
SCRIPT_TEMPLATES = sorted(p for p in TEMPLATES.glob("*.ps1.j2") if not p.name.startswith("_"))

_LITERAL = r"'(?:[^']|'')*'"
#: The -Step argument: a constant, or a constant formatted with numbers only.
CONSTANT_STEP = re.compile(rf"^(?:{_LITERAL}|\({_LITERAL} -f \[int\][^,]+(?:, \[int\][^,]+)*\))$")


def step_arguments(text: str) -> list[str]:
    """The text of every ``Write-QbdStep -Step`` argument in ``text``."""
    found = []
    for node, _ in syntax_nodes(parse(text).root_node):
        if node.type != "command" or command_name(node) != "write-qbdstep":
            continue
        arguments = command_arguments(node)
        assert [param for param, _ in arguments] == ["step"], (node.text or b"").decode()
        value = arguments[0][1]
        assert value is not None
        found.append((value.text or b"").decode())
    return found


def test_every_script_template_is_covered() -> None:
    assert {p.name for p in SCRIPT_TEMPLATES} == {s.template for s in SCRIPTS.values()}


@pytest.mark.parametrize("template", SCRIPT_TEMPLATES, ids=[p.name for p in SCRIPT_TEMPLATES])
def test_every_script_template_reports_its_steps(template: Path) -> None:
    source = template.read_text(encoding="utf-8")
    assert "function Invoke-QbdRemediation {" in source
    assert "Write-QbdStep -Step" in source, f"{template.name} reports no step"


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_steps_are_constant_text_and_reached(name: str) -> None:
    text = SCRIPTS[name].render().text
    steps = step_arguments(text)
    assert steps, f"{name} reports no step"
    for step in steps:
        assert CONSTANT_STEP.match(step), f"{name}: a step's text must be constant: {step}"
    assert "write-qbdstep" in reachable_functions(text)


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_the_result_is_still_the_last_thing_written(name: str) -> None:
    """Steps are reported from inside Invoke-QbdRemediation; the JSON result comes after it."""
    text = SCRIPTS[name].render().text
    result = text.index("ConvertTo-Json -InputObject $script:QbdResult -Depth 10 -Compress")
    assert "Write-QbdStep" not in text[result:]
    assert "Write-Information" not in text[result:]


def test_write_qbdstep_tags_its_record() -> None:
    text = SCRIPTS["restart-tasks"].render().text
    body = text[text.index("function Write-QbdStep {") :]
    body = body[: body.index("\n}\n")]
    assert (
        "Write-Information -MessageData ('qbd-step: {0}' -f $Step) -Tags 'qbd-step' "
        "-InformationAction Continue" in body
    )


@pytest.mark.parametrize(
    ("step", "ok"),
    [
        ("'Reading the connector tasks'", True),
        ("'Copying the installer into qbd-fix''s own folder'", True),
        ("('Waiting for the installer (up to {0} s)' -f [int]$timeout)", True),
        ("('Uninstalling ({0} of {1})' -f [int]$i, [int]$n)", True),
        ("('Stopping {0}' -f $ClientName)", False),
        ("('Stopping {0}' -f [int]$n, $ClientName)", False),
        ('"Stopping $ClientName"', False),
        ("$ClientName", False),
        ("('Stopping ' + $ClientName)", False),
    ],
)
def test_the_constant_step_check_has_teeth(step: str, ok: bool) -> None:
    assert bool(CONSTANT_STEP.match(step)) is ok
