"""Helpers several scripts need are written once, in an include (``qbd_fix/templates/_*.ps1.j2``),
and values the Python side owns reach the scripts from that side: a second copy of a helper
drifts from the first, and a fix then lands in one script only. The engine drops the include
functions a script never names, so sharing costs a script nothing."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from qbd_fix.remediations import REMEDIATIONS
from qbd_fix.script.params import GUID_PATTERN
from qbd_fix.script.quote import ps_string

TEMPLATES = Path(__file__).resolve().parents[1] / "qbd_fix" / "templates"
SOURCES = {path.name: path.read_text(encoding="utf-8") for path in TEMPLATES.glob("*.ps1.j2")}
GUID = "6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"


def function_body(text: str, name: str) -> str:
    start = text.index(f"function {name} {{")
    return text[start : text.index("\n}\n", start)]


def templates_holding(text: str) -> list[str]:
    return sorted(name for name, source in SOURCES.items() if text in source)


def test_every_function_is_defined_in_one_template() -> None:
    """Only the entry point repeats: a helper of the same name in two templates is a copy."""
    defined = Counter(
        name
        for source in SOURCES.values()
        for name in re.findall(r"^function ([\w-]+) \{$", source, flags=re.MULTILINE)
    )
    assert sorted(n for n, count in defined.items() if count > 1) == ["Invoke-QbdRemediation"]


def test_the_guid_pattern_comes_from_params_py() -> None:
    """-CompanyId's pattern is the one GUID pattern: no template writes it again."""
    for name, source in SOURCES.items():
        assert not re.search(r"\{8\}-|\{12\}", source), name
    text = REMEDIATIONS["reinstall-connector"].render().text
    body = function_body(text, "Get-QbdGuidPattern")
    guid = GUID_PATTERN.removeprefix("^").removesuffix("$")
    assert f"$guid = {ps_string(guid)}" in body
    # What the script builds from it, read the way .NET reads it (the same syntax here).
    whole = "^\\{?" + guid + "\\}?$"
    in_text = "\\{" + guid + "\\}"
    assert "return ('^\\{?' + $guid + '\\}?$')" in body
    assert "return ('\\{' + $guid + '\\}')" in body
    for good in (GUID, GUID.upper(), "{" + GUID + "}"):
        assert re.match(whole, good)
    for bad in (GUID[:-1], GUID + "0", "x" + GUID, GUID.replace("-", "")):
        assert not re.match(whole, bad)
    found = re.search(in_text, "MsiExec.exe /X{" + GUID.upper() + "} /qn")
    assert found is not None and found.group(0) == "{" + GUID.upper() + "}"
    for script in ("reinstall-connector", "collect-logs"):
        assert "Get-QbdGuidPattern" in REMEDIATIONS[script].render().text


@pytest.mark.parametrize(
    ("text", "home"),
    [
        # the process owner lookup
        ("-MethodName GetOwner", "_session.ps1.j2"),
        # the hashed file copy
        ("TransformBlock(", "_files.ps1.j2"),
        ("[System.IO.FileShare]::ReadWrite", "_files.ps1.j2"),
        # the legacy connector's task names, read as text
        ("StartsWith($prefix", "_connector.ps1.j2"),
        # "never ran" as Task Scheduler writes it
        (".Year -lt 2000", "_session.ps1.j2"),
    ],
)
def test_shared_logic_lives_in_one_include(text: str, home: str) -> None:
    assert templates_holding(text) == [home]
