"""The Web Connector's error codes as data, and the QWCLog parser over sample logs written in
the log's format (tests/doctor/qwclog): entries, wrapped lines, odd lines and codes."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbd_fix.doctor.command import fix_command
from qbd_fix.doctor.qwclog import (
    MAX_LINE,
    MAX_LINES,
    MAX_MESSAGE,
    codes_in,
    parse_lines,
    parse_text,
)
from qbd_fix.doctor.rules import TOPICS
from qbd_fix.qbwc_codes import QBWC_CODES, describe, normal_code
from qbd_fix.sdk_codes import SDK_CODES

SAMPLES = Path(__file__).parent / "doctor" / "qwclog"


def utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%d.%H:%M:%S").replace(tzinfo=timezone.utc)


def sample(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


# -- the codes ---------------------------------------------------------------------------------

LISTED = [
    "QBWC1005", "QBWC1006", "QBWC1007", "QBWC1008", "QBWC1009", "QBWC1010", "QBWC1011",
    "QBWC1012", "QBWC1013", "QBWC1030", "QBWC1032", "QBWC1033", "QBWC1039", "QBWC1040",
    "QBWC1041", "QBWC1042", "QBWC1043", "QBWC1044", "QBWC1045", "QBWC1048", "QBWC1085",
]  # fmt: skip


def test_every_known_code_is_listed_once_with_a_meaning_and_a_fix() -> None:
    assert sorted(QBWC_CODES) == LISTED
    for code, entry in QBWC_CODES.items():
        assert entry.code == code and entry.meaning.endswith(".")
        assert entry.topic in TOPICS, code
        assert entry.severity in ("fail", "warn")
        assert entry.steps or entry.command, f"{code} names neither steps nor a command"


def test_fix_commands_are_well_formed_qbd_fix_lines() -> None:
    for entry in QBWC_CODES.values():
        if entry.command:
            name, *flags = entry.command
            line = fix_command(name, [(flag, None) for flag in flags])
            assert line == "qbd-fix " + " ".join(entry.command)


@pytest.mark.parametrize(
    ("code", "topic", "command"),
    [
        ("QBWC1033", "logs", ("restart-web-connector", "--reset-log")),
        ("QBWC1085", "logs", ("restart-web-connector", "--reset-log")),
        ("QBWC1039", "one-time-sync", ()),
        ("QBWC1048", "network", ()),
        ("QBWC1013", "queued-syncs", ()),
        ("QBWC1032", "one-time-sync", ("restart-web-connector",)),
    ],
)
def test_codes_land_under_their_topic(code: str, topic: str, command: tuple[str, ...]) -> None:
    assert QBWC_CODES[code].topic == topic and QBWC_CODES[code].command == command


def test_field_report_codes_say_so() -> None:
    assert QBWC_CODES["QBWC1085"].source == "field reports only"
    assert describe("QBWC1085").endswith("(field reports only)")
    assert QBWC_CODES["QBWC1039"].source.startswith("Intuit")


def test_describe_reuses_the_sdk_meanings() -> None:
    assert describe("0x80040408") == SDK_CODES["0x80040408"].rstrip(".")
    assert "not in Intuit's list" in describe("QBWC9999")
    assert describe("0x80049999") == "QuickBooks SDK error"


def test_normal_code() -> None:
    assert normal_code(" qbwc1039 ") == "QBWC1039"
    assert normal_code("QBWC10390") == "" and normal_code("XQBWC1039") == ""


# -- entries -----------------------------------------------------------------------------------


def test_a_healthy_log_has_entries_and_no_codes() -> None:
    reading = parse_text(sample("healthy.log"))
    assert len(reading.entries) == 9 and reading.codes == {}
    first = reading.entries[0]
    assert first.time == utc("20240513.19:00:00")
    assert first.source == "QBWebConnector.WebServiceManager.DoUpdateSelected()"
    assert first.message == "updateWS() for application = 'Codat Connector' has STARTED"
    assert reading.entries[2].message.startswith("AppName: Codat Connector, URL: https://")
    assert reading.first_time == utc("20240513.19:00:00")
    assert reading.last_time == utc("20240513.20:00:04")


def test_lines_before_the_first_timestamp_are_one_entry_without_a_time() -> None:
    entry = parse_text(sample("errors.log")).entries[0]
    assert entry.time is None and entry.source == "" and entry.line == 1
    assert entry.message.startswith("essage cut by the seek")
    assert entry.message.endswith("at QBWebConnector.SOAPWebService.do_sendRequestXML()")


def test_wrapped_lines_join_their_entry_and_its_codes() -> None:
    reading = parse_text(sample("errors.log"))
    entry = next(e for e in reading.entries if "QBWC1013" in e.message)
    assert entry.codes == ["QBWC1013", "0x80040408"]  # the SDK code sits two lines further down
    assert entry.message.count("\n") == 3 and "StackTrace" in entry.message
    sdk = reading.codes["0x80040408"]  # and again, as a signed decimal, in a later entry
    assert sdk.count == 2
    assert sdk.first == utc("20240513.19:00:03") and sdk.last == utc("20240514.08:00:01")


def test_non_ascii_text_is_kept() -> None:
    reading = parse_text(sample("errors.log"))
    assert any("Café Müller" in e.message and "–" in e.message for e in reading.entries)


def test_a_timestamp_that_is_no_time_continues_the_entry_before() -> None:
    reading = parse_text(sample("errors.log"))
    entry = next(e for e in reading.entries if e.time == utc("20240514.07:30:00"))
    assert entry.message.endswith(
        "20241399.25:61:00 UTC : not a real time: this line continues the entry before it"
    )


def test_empty_and_missing_source_parts() -> None:
    reading = parse_text(sample("errors.log"))
    empty = next(e for e in reading.entries if e.time == utc("20240514.08:00:03"))
    assert (empty.source, empty.message) == ("", "a line with an empty source")
    bare = reading.entries[-1]
    assert (bare.source, bare.message) == ("", "message without a source part")


# -- codes -------------------------------------------------------------------------------------


def test_codes_with_first_and_last_time_and_count() -> None:
    reading = parse_text(sample("errors.log"))
    assert list(reading.codes) == [
        "QBWC1013", "0x80040408", "QBWC1039", "QBWC1048", "QBWC9999",
    ]  # fmt: skip
    stamp = reading.codes["QBWC1039"]
    # three entries hold it (one of them twice, lower case too): counted once per entry
    assert stamp.count == 3
    assert stamp.first == utc("20240513.20:00:02") and stamp.last == utc("20240514.07:30:00")
    assert stamp.last_message.startswith("QBWC1039: There was a problem adding the application.")
    assert reading.codes["QBWC1048"].count == 1


def test_a_signed_decimal_sdk_code_counts_as_its_hex_form() -> None:
    assert codes_in("QuickBooks returned -2147220472") == ["0x80040408"]
    assert codes_in("returned 2147746824 and 0x8004041d and 8004041A") == [
        "0x80040408", "0x8004041D", "0x8004041A",
    ]  # fmt: skip
    assert codes_in("20240514 2147942402 0x80070002 abc80040408 QBWC10390 XQBWC1039") == []


def test_of_lists_the_codes_seen() -> None:
    reading = parse_text(sample("errors.log"))
    assert [c.code for c in reading.of("QBWC1048", "QBWC1033", "QBWC1039")] == [
        "QBWC1048",
        "QBWC1039",
    ]


# -- hostile input -----------------------------------------------------------------------------


def test_huge_lines_are_cut_and_stay_quick() -> None:
    huge = "20240514.08:00:00 UTC : QBWebConnector.Main() : " + "x" * 5_000_000 + " QBWC1033"
    started = time.monotonic()
    reading = parse_lines([huge, "y" * 5_000_000])
    assert time.monotonic() - started < 2
    assert len(reading.entries) == 1
    assert len(reading.entries[0].message) <= MAX_MESSAGE
    assert "QBWC1033" not in reading.codes  # beyond MAX_LINE: not read at all
    assert MAX_LINE < 5_000_000


def test_at_most_max_lines_are_read() -> None:
    reading = parse_lines(["20240514.08:00:00 UTC : A.B() : QBWC1033"] * (MAX_LINES + 5))
    assert reading.lines_read == MAX_LINES and reading.lines_skipped == 5
    assert reading.codes["QBWC1033"].count == MAX_LINES


def test_a_bom_and_any_line_ending() -> None:
    reading = parse_text(
        "\ufeff20240514.08:00:00 UTC : A.B() : one\r\n20240514.08:00:01 UTC : A.B() : two\r"
    )
    assert [e.message for e in reading.entries] == ["one", "two"]


@given(st.lists(st.text(max_size=200), max_size=30))
def test_any_text_parses(lines: list[str]) -> None:
    reading = parse_lines(lines)
    assert reading.lines_read == len(lines)
    for seen in reading.codes.values():
        assert seen.count >= 1
