"""User values never become code.

For hostile values in every string parameter of every script: the script calls
exactly the same commands, every other literal is unchanged, and the value is
one verbatim literal that reads back as the value by PowerShell's own quoting
rule (tree-sitter-pwsh misreads the Unicode quotes, so it cannot be the judge).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qbd_fix.remediations import REMEDIATIONS
from qbd_fix.script.quote import UnquotableValueError, ps_string
from tests.support.pwsh import check_script, commands_used, ps_single_quoted_literals

QUOTES = "'\u2018\u2019\u201a\u201b"
HOSTILE_PIECES = [
    *QUOTES,
    '"',
    "\u201c",
    "\u201d",
    "\u201e",
    "$(Stop-Computer)",
    "${env:PATH}",
    "$x",
    "`",
    "``n",
    "#",
    "<#",
    "#>",
    "@'",
    "'@",
    '@"',
    ";",
    "|",
    "&",
    "{",
    "}",
    "(",
    ")",
    "\u00a0",
    "\u2013",
    "é",
    "中",
    "'; Remove-Item -Recurse C:\\ ; '",
    "\u2019) ; Stop-Computer ; (\u2018",
]
hostile_text = (
    st.lists(
        st.one_of(st.sampled_from(HOSTILE_PIECES), st.text(min_size=1, max_size=5)),
        min_size=1,
        max_size=8,
    )
    .map("".join)
    .filter(lambda s: "\x00" not in s and not any(0xD800 <= ord(c) <= 0xDFFF for c in s))
)
no_controls = hostile_text.filter(lambda s: not any(ord(c) < 0x20 or ord(c) == 0x7F for c in s))

STRING_PARAMS = [
    (name, p.name) for name, r in REMEDIATIONS.items() for p in r.parameters if p.kind == "string"
]
IDS = [f"{n}-{p}" for n, p in STRING_PARAMS]


def literal_values(text: str) -> list[str]:
    return [value for _start, _end, value in ps_single_quoted_literals(text)]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "param"), STRING_PARAMS, ids=IDS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=no_controls)
def test_hostile_value_is_one_literal_and_changes_no_command(
    name: str, param: str, value: str
) -> None:
    remediation = REMEDIATIONS[name]
    sentinel = "qbd-sentinel-value"
    baseline = remediation.render({param: sentinel}).text
    hostile = remediation.render({param: value}).text

    assert commands_used(hostile) == commands_used(baseline)
    expected = [value if v == sentinel else v for v in literal_values(baseline)]
    assert literal_values(hostile) == expected
    assert literal_values(baseline).count(sentinel) == 1, "the value appears once: in param()"
    report = check_script(hostile)
    assert report.errors == [] and report.quote_mismatches == []


@pytest.mark.parametrize(("name", "param"), STRING_PARAMS[:1], ids=IDS[:1])
@settings(max_examples=60, deadline=None)
@given(value=hostile_text)
def test_control_characters_become_char_codes(name: str, param: str, value: str) -> None:
    """Line breaks must survive the CRLF conversion of files: they are written as [char]N."""
    quoted = ps_string(value)
    rebuilt = ""
    for token in re.findall(
        r"\[char\](\d+)|('(?:[^" + QUOTES + r"]|[" + QUOTES + r"]{2})*')", quoted
    ):
        code, literal = token
        rebuilt += chr(int(code)) if code else literal_values(literal)[0]
    assert rebuilt == value
    assert "\n" not in quoted and "\r" not in quoted
    text = REMEDIATIONS[name].render({param: value}).text
    assert check_script(text).errors == []


@pytest.mark.parametrize("value", ["a\x00b", "\ud800"])
def test_unquotable_values_are_refused(value: str) -> None:
    with pytest.raises(UnquotableValueError):
        ps_string(value)


@pytest.mark.parametrize("quote", list(QUOTES))
def test_each_quote_character_is_doubled(quote: str) -> None:
    assert ps_string(f"a{quote}b") == f"'a{quote}{quote}b'"


def test_templates_cannot_print_values() -> None:
    """The engine refuses ``{{ value }}``: only engine-built code may be printed."""
    from jinja2 import TemplateError

    from qbd_fix.script.engine import environment

    template = environment().from_string("Write-Output {{ value }}")
    with pytest.raises(TemplateError, match="values must be script parameters"):
        template.render(value="$(Stop-Computer)")
