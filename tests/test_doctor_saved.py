"""``qbd-fix doctor --facts FILE``: a saved facts document judged with no PC contacted, and every
way such a file can be wrong reported on one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qbd_fix.cli.app import app
from qbd_fix.doctor.saved import (
    MAX_FILE_BYTES,
    decode,
    facts_from_text,
    json_path_at,
    load_facts,
    report_from_file,
)
from qbd_fix.errors import ExitCode, ResultError, UsageError

FIXTURES = Path(__file__).parent / "doctor" / "fixtures"
STEPS = "qbd-step: connectors\nqbd-step: logs\nqbd-step: network\n"


def fixture(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))
    return doc


def result_line(facts: Any, remediation: str = "doctor") -> str:
    """The JSON line the doctor script prints last (ConvertTo-Json -Compress)."""
    doc = {
        "remediation": remediation,
        "computer": "PC01",
        "status": "ok",
        "checks": [],
        "actions": [],
        "messages": ["Facts gathered; qbd-fix doctor turns them into findings."],
        "data": {"what_if": False, "facts": facts},
    }
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def saved(tmp_path: Path, content: str | bytes, name: str = "pc01.txt") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["doctor", *args])


# -- what a saved file may look like --------------------------------------------------------------


def test_the_script_output_is_judged_without_a_pc(tmp_path: Path) -> None:
    path = saved(tmp_path, STEPS + result_line(fixture("red_tray")) + "\r\n")
    result = invoke("--facts", str(path), "--shell", "posix")
    assert result.exit_code == 1, result.output
    assert "qbd-fix doctor on PC01: 1 fail" in result.output
    assert "qbd-fix restart-tasks --client-name 'Codat Engineering - Integration'" in result.output


def test_json_output_of_a_saved_document(tmp_path: Path) -> None:
    path = saved(tmp_path, result_line(fixture("web_connector")))
    result = invoke("--facts", str(path), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["computer"] == "PC01" and doc["status"] == "ok"
    assert "duration_s" not in doc  # nothing ran


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode("utf-8"),
        lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"),
        lambda text: text.encode("utf-16"),  # Windows PowerShell 5.1's > writes UTF-16 with a BOM
        lambda text: text.encode("utf-16-le"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-bom", "utf-16-le"],
)
def test_encodings(tmp_path: Path, encode: Any) -> None:
    path = saved(tmp_path, encode(STEPS.replace("\n", "\r\n") + result_line(fixture("healthy"))))
    assert load_facts(path).computer == "PC01"


def test_the_facts_alone_compact_or_indented(tmp_path: Path) -> None:
    for text in (json.dumps(fixture("healthy")), json.dumps(fixture("healthy"), indent=2)):
        assert load_facts(saved(tmp_path, text)).computer == "PC01"


def test_fixes_name_no_host_and_the_client_name_applies(tmp_path: Path) -> None:
    from qbd_fix.doctor import report_from_file as library_call

    path = saved(tmp_path, result_line(fixture("red_tray")))
    assert (
        library_call(path, shell="posix").to_dict()
        == report_from_file(path, shell="posix").to_dict()
    )
    report = report_from_file(path, client_name="Someone Else", shell="posix")
    assert report.target == "PC01"
    assert report.finding("tray-icon").status.value == "warn"
    assert all("--host" not in (f.fix or "") for f in report.findings)


# -- every way it can be wrong: one line, naming where -------------------------------------------


def test_a_document_cut_short_names_where_it_stops(tmp_path: Path) -> None:
    line = result_line(fixture("web_connector"))
    cut = line[: line.index('"company_file"', line.index("QBW32.exe")) + 20]
    path = saved(tmp_path, STEPS + cut)
    with pytest.raises(ResultError) as caught:
        load_facts(path)
    message = caught.value.message
    assert message.startswith(f"facts file {path.name} is not complete JSON at ")
    assert message.endswith(
        f" at data/facts/processes/1/company_file: it ends after {len(cut)} characters"
    )
    assert caught.value.hint and "cut short" in caught.value.hint
    result = invoke("--facts", str(path))
    assert result.exit_code == ExitCode.RESULT_UNREADABLE
    assert "Traceback" not in result.output
    assert (
        "error: facts file pc01.txt is not complete JSON at data/facts/processes/1/company_file"
        in result.output
    )


def test_a_document_of_another_shape_names_the_path(tmp_path: Path) -> None:
    facts = fixture("web_connector")
    del facts["processes"][0]["elevated"]
    with pytest.raises(
        ResultError, match="schema at processes/0: 'elevated' is a required property"
    ):
        load_facts(saved(tmp_path, result_line(facts)))
    facts = fixture("web_connector")
    facts["web_connector"]["startup"][0]["kind"] = "service"
    with pytest.raises(ResultError, match="schema at web_connector/startup/0/kind: "):
        load_facts(saved(tmp_path, result_line(facts)))


def test_an_older_schema_version_is_named(tmp_path: Path) -> None:
    facts = fixture("healthy")
    facts["schema"] = 2
    with pytest.raises(ResultError, match="version 2; this qbd-fix reads version 3"):
        load_facts(saved(tmp_path, result_line(facts)))


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (
            result_line({"x": 1}, remediation="restart-tasks"),
            "the result of qbd-fix 'restart-tasks'",
        ),
        (
            '{"remediation":"doctor","data":{"what_if":false}}',
            "has no facts: data.facts is missing",
        ),
        ('{"remediation":"doctor"}', "has no facts: data is missing"),
        ("qbd-step: connectors\nnothing else\n", "holds no JSON object"),
        ("", "holds no JSON object"),
        ("[" * 100_000 + "]" * 100_000, "holds no JSON object"),
        ('{"schema": 3, "x": ' + "[" * 50 + "]" * 50 + "}", "nested deeper than"),
        ('{"schema": 3, "computer": "\\ud800"}', "not valid Unicode"),
        (
            '{"schema": 3, "os": {"build": tru}}',
            r"not valid JSON at os/build \(character 31: Expecting value\)",
        ),
    ],
    ids=[
        "other-script",
        "no-facts",
        "no-data",
        "no-json",
        "empty",
        "deep-list",
        "deep",
        "surrogate",
        "bad-json",
    ],
)
def test_wrong_documents(tmp_path: Path, content: str, match: str) -> None:
    with pytest.raises(ResultError, match=match):
        load_facts(saved(tmp_path, content))


def test_deeply_nested_json_is_refused_without_recursion(tmp_path: Path) -> None:
    path = saved(tmp_path, '{"schema": 3, "a": ' + "[" * 200_000 + "]" * 200_000 + "}")
    with pytest.raises(ResultError):
        load_facts(path)


def test_bytes_that_are_no_text(tmp_path: Path) -> None:
    with pytest.raises(ResultError, match="not UTF-8 or UTF-16 text"):
        load_facts(saved(tmp_path, b"{\xff\xfe\x00" + b"x" * 3))
    assert decode("é".encode("utf-16-le") * 4) == "éééé"


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="No such file"):
        load_facts(tmp_path / "missing.json")
    with pytest.raises(UsageError, match=r"not a regular file|Is a directory"):
        load_facts(tmp_path)
    big = tmp_path / "big.json"
    with big.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(UsageError, match="more than the"):
        load_facts(big)


def test_cli_errors_are_one_line_with_exit_codes(tmp_path: Path) -> None:
    result = invoke("--facts", str(tmp_path / "missing.json"))
    assert result.exit_code == ExitCode.USAGE
    assert "Traceback" not in result.output and "error: --facts" in result.output


@pytest.mark.parametrize(
    "extra",
    [["--host", "pc01"], ["--dry-run"], ["--inventory", "pcs.csv"], ["--host", "a,b"]],
    ids=["host", "dry-run", "inventory", "fleet"],
)
def test_facts_goes_with_no_pc_options(tmp_path: Path, extra: list[str]) -> None:
    path = saved(tmp_path, result_line(fixture("healthy")))
    result = invoke("--facts", str(path), *extra)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "--facts judges a saved document" in result.output


def test_text_from_the_document_is_shown_escaped(tmp_path: Path) -> None:
    facts = fixture("healthy")
    facts["computer"] = "PC01\x1b]52;c;cm0gLXJmIH4=\x07"
    result = invoke("--facts", str(saved(tmp_path, result_line(facts))))
    assert "\x1b" not in result.output and "\\x1b]52" in result.output


# -- naming where a cut document stops -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('{"a": {"b": [1, 2, {"c": "x', "a/b/2/c"),
        ('{"a": 1, "b": "te\\"xt', "b"),
        ('{"a": [], "b": {', "b"),
        ('[{"k": 1}, {"k": 2}, ', "2"),
        ("", ""),
    ],
)
def test_json_path_at(text: str, path: str) -> None:
    assert json_path_at(text, len(text)) == path


def test_facts_from_text_prefers_the_last_json_line() -> None:
    text = "{not json}\n" + STEPS + result_line(fixture("healthy"))
    assert facts_from_text(text)["computer"] == "PC01"
