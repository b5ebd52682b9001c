"""The engine: typed parameters, the param() block, and the file format."""

from __future__ import annotations

import pytest

from qbd_fix.remediations import REMEDIATIONS, get
from qbd_fix.script.engine import param_block
from qbd_fix.script.params import RUNNER_MARGIN_SECONDS, ScriptParameter


def test_param_block_quotes_defaults_and_types() -> None:
    params = (
        ScriptParameter("Name", "string", "", "a name"),
        ScriptParameter("Count", "int", 3, "a count"),
        ScriptParameter("Flag", "switch", False, "a flag"),
    )
    block = param_block(params, {"Name": "O'Brien", "Flag": True})
    assert "[string] $Name = 'O''Brien'," in block
    assert "[int] $Count = 3," in block
    assert "[switch] $Flag = $true" in block
    assert block.startswith("[CmdletBinding(SupportsShouldProcess = $true)]\nparam(")


def test_switch_off_has_no_default() -> None:
    block = param_block((ScriptParameter("Flag", "switch", False, "a flag"),), {})
    assert block.splitlines()[-2] == "    [switch] $Flag"


@pytest.mark.parametrize(
    ("kind", "value"), [("string", 1), ("int", True), ("int", "3"), ("switch", 1), ("string", None)]
)
def test_wrong_types_are_refused(kind: str, value: object) -> None:
    default = {"string": "", "int": 0, "switch": False}[kind]
    parameter = ScriptParameter("X", kind, default, "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        parameter.check(value)


def test_unknown_parameter_is_refused() -> None:
    with pytest.raises(TypeError, match="unknown parameters Bogus"):
        get("restart-tasks").render({"Bogus": "x"})


def test_unknown_remediation() -> None:
    with pytest.raises(KeyError, match="unknown remediation"):
        get("format-c")


def test_parameters_are_bound_with_defaults() -> None:
    script = get("restart-tasks").render({"ClientName": "Acme"})
    assert script.parameters == {
        "ClientName": "Acme",
        "TaskTimeoutSeconds": 60,
        "RestartIfUnhealthy": False,
        "TimeBudgetSeconds": 3 * 60 + 60,
    }
    assert script.runner_timeout == 240 + RUNNER_MARGIN_SECONDS
    assert script.name == "restart-tasks"
    assert len(script.sha256) == 64


@pytest.mark.parametrize("name", list(REMEDIATIONS))
def test_every_parameter_is_in_the_script(name: str) -> None:
    remediation = REMEDIATIONS[name]
    text = remediation.render().text
    for parameter in remediation.parameters:
        assert f"${parameter.name}" in text.split("\n)\n", 1)[1], f"{parameter.name} is never used"


@pytest.mark.parametrize("name", list(REMEDIATIONS))
def test_module_docstring_names_its_seed_section(name: str) -> None:
    import importlib

    remediation = REMEDIATIONS[name]
    module = importlib.import_module(f"qbd_fix.remediations.{name.replace('-', '_')}")
    assert (
        module.__doc__
        and f'"{remediation.seed_section.split(" and its")[0]}' in module.__doc__.replace("\n", " ")
    )


def test_sdk_code_meanings_have_one_source() -> None:
    """reset-certificate's table is rendered from the same dict the doctor's rules read."""
    from qbd_fix.sdk_codes import SDK_CODES
    from tests.support.pwsh import ps_single_quoted_literals

    text = get("reset-certificate").render().text
    start = text.index("function Get-QbdSdkCodeMeaning")
    body = text[start : text.index("\n}\n", start)]
    literals = [value for _s, _e, value in ps_single_quoted_literals(body)]
    assert dict(zip(literals[::2], literals[1::2], strict=True)) == SDK_CODES
