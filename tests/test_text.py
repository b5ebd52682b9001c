"""The one function that makes a PC's text safe to show: nothing unsafe survives, nothing is
lost (a decoder written here reads every output back), and JSON stays JSON."""

from __future__ import annotations

import json
import re
import unicodedata

from hypothesis import example, given, settings
from hypothesis import strategies as st

from qbd_fix.text import describe, json_text, unsafe_chars, visible, visible_lines

C0 = [chr(c) for c in range(0x20)] + ["\x7f"]
C1 = [chr(c) for c in range(0x80, 0xA0)]
FORMAT = list("\u00ad\u061c\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e")
FORMAT += list("\u2060\u2066\u2067\u2068\u2069\ufeff\ufff9\U000e0001\U000e0041")
SEPARATORS = ["\u2028", "\u2029"]
SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]
#: What makes escaping hard: backslashes before text that looks like an escape.
TRICKY = ["\\", "\\\\", "x", "u", "U", "1b", "0", "a", "F", "00", "9b", "202e", "x1b", "u009b"]
HOSTILE = C0 + C1 + FORMAT + SEPARATORS + SURROGATES
text = st.one_of(
    st.lists(
        st.one_of(st.sampled_from(HOSTILE), st.sampled_from(TRICKY), st.characters()),
        max_size=40,
    ).map("".join),
    # Dense with backslashes, escape-like text and the characters that get escaped.
    st.lists(st.sampled_from([*TRICKY, "\x1b", "\u202e", "\n", "\u2028"]), max_size=12).map(
        "".join
    ),
)

ESCAPE = re.compile(r"(\\+)(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})")


def unsafe(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp")


def decode(shown: str) -> str:
    """Read :func:`visible`'s output back: an odd backslash run before an escape ends in one."""

    def one(match: re.Match[str]) -> str:
        run, body = len(match.group(1)), match.group(2)
        if run % 2 == 0:
            return "\\" * (run // 2) + body
        return "\\" * (run // 2) + chr(int(body[1:], 16))

    return ESCAPE.sub(one, shown)


@given(text)
def test_nothing_unsafe_survives(value: str) -> None:
    shown = visible(value)
    assert not any(unsafe(c) for c in shown)
    assert "\n" not in shown and "\r" not in shown


@settings(max_examples=400)
@given(text)
@example("\\x1b")
@example("\\\x1b")
@example("C:\\u202e\\")
def test_the_escaping_is_unambiguous(value: str) -> None:
    assert decode(visible(value)) == value


@given(text, text)
def test_different_texts_never_look_the_same(a: str, b: str) -> None:
    if a != b:
        assert visible(a) != visible(b)


@given(text)
def test_json_is_ascii_safe_for_controls_and_round_trips(value: str) -> None:
    doc = {"message": value, value: [value, {"nested": value}]}
    encoded = json_text(doc, indent=2)
    assert not any(unsafe(c) for c in encoded if c != "\n")
    assert json.loads(encoded) == doc


@given(text)
def test_lines_split_only_at_line_feeds(value: str) -> None:
    lines = visible_lines(value)
    assert len(lines) == value.count("\n") + 1
    assert not any(unsafe(c) for line in lines for c in line)


def test_examples() -> None:
    assert visible("\x1b]52;c;eA==\x07") == "\\x1b]52;c;eA==\\x07"
    assert visible("\x9b2J") == "\\u009b2J"
    assert visible("a\u202eb\u200bc\u2028d\U000e0041") == "a\\u202eb\\u200bc\\u2028d\\U000e0041"
    assert visible("one\r\ntwo\tthree") == "one\\x0d\\x0atwo\\x09three"
    assert visible("\ud800") == "\\ud800"
    assert visible(None) == "" and visible(42) == "42"


def test_paths_read_as_they_are() -> None:
    for path in ("C:\\Users\\amy", "\\\\server\\share\\x", "C:\\xampp\\new", "end\\"):
        assert visible(path) == path
    # Only where a backslash run stands before an escape, or text that looks like one.
    assert visible("C:\\x1b") == "C:\\\\x1b"
    assert visible("\\\x1b") == "\\\\\\x1b"


def test_unsafe_characters_are_named() -> None:
    assert unsafe_chars("a\r\nb\u202e\r") == ["\r", "\n", "\u202e"]
    assert describe("\r") == describe("\u2028") == "a line break"
    assert describe("\x00") == "a NUL character"
    assert describe("\x1b") == "a control character (\\x1b)"
    assert describe("\u202e") == "an invisible or formatting character (U+202E)"
