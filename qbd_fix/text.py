"""Text that came from a PC, made safe to show: one function for every place it is printed.

A PC answers whatever it likes over WinRM. Printed raw, an ESC or C1 control
starts a terminal sequence (clear the screen, move the cursor, write the
clipboard with OSC 52, hide a link with OSC 8), a line break fakes a line of
our own, and a bidi override or zero-width character makes a name read as
another. :func:`visible` shows every such character as an escape instead.

The escaping is unambiguous: ``\\x1b`` in the output is either an ESC or the
four characters a PC really sent, never both. A run of backslashes is doubled
only where it stands before an escape or before text that looks like one (the
way the Windows C runtime treats backslashes before a quote), so paths such as
``C:\\Users\\x`` and ``\\\\server\\share`` read as they are.

Rich markup (``[bold]``) is not handled here: the CLI gives PC text to Rich as
plain ``Text``, never as markup.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from typing import Any

#: Unicode categories never shown raw: controls, format (bidi, zero-width, BOM,
#: tags), lone surrogates, and the line and paragraph separators.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})

#: What makes a backslash the start of an escape when reading :func:`visible`'s output.
_ESCAPE_LIKE = re.compile(r"x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}")

_NAMES = {
    "\n": "a line break",
    "\r": "a line break",
    "\x0b": "a line break",
    "\x0c": "a line break",
    "\x85": "a line break",
    "\u2028": "a line break",
    "\u2029": "a line break",
    "\t": "a tab",
    "\0": "a NUL character",
}


@lru_cache(maxsize=4096)
def is_unsafe(char: str) -> bool:
    """True for a character that must not reach a terminal (or a copied command) raw."""
    return unicodedata.category(char) in _UNSAFE_CATEGORIES


def escape_char(char: str) -> str:
    """``\\x1b`` for C0 and DEL, ``\\u009b`` for the rest of the BMP, ``\\U000e0001`` beyond."""
    code = ord(char)
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def unsafe_chars(text: str) -> list[str]:
    """The characters of *text* that :func:`visible` would escape, in order, each once."""
    return list(dict.fromkeys(ch for ch in text if is_unsafe(ch)))


def visible(text: object) -> str:
    """*text* as one line safe to print: every unsafe character and line break escaped.

    ``None`` reads as an empty string; anything else goes through ``str()``.
    """
    if text is None:
        return ""
    value = text if isinstance(text, str) else str(text)
    # Fast path: nothing unsafe, and no backslash before escape-like text to double.
    if not any(is_unsafe(ch) for ch in value) and (
        "\\" not in value or not _ESCAPE_LIKE.search(value)
    ):
        return value
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        ch = value[i]
        if ch == "\\":
            j = i
            while j < n and value[j] == "\\":
                j += 1
            run = j - i
            follows_escape = j < n and (is_unsafe(value[j]) or _ESCAPE_LIKE.match(value, j))
            out.append("\\" * (run * 2 if follows_escape else run))
            i = j
            continue
        out.append(escape_char(ch) if is_unsafe(ch) else ch)
        i += 1
    return "".join(out)


def visible_lines(text: object) -> list[str]:
    """Multi-line text (a PowerShell error record) as safe lines: split at LF, each made visible.

    Each line is printed after a prefix of ours, so a PC cannot fake a line of ours;
    a CR before the LF is dropped, any other CR is escaped.
    """
    value = "" if text is None else str(text)
    return [visible(line.removesuffix("\r")) for line in value.split("\n")]


def describe(char: str) -> str:
    """How a refusal names a character: ``a line break``, ``an invisible character (U+202E)``."""
    if char in _NAMES:
        return _NAMES[char]
    code = ord(char)
    if unicodedata.category(char) == "Cc":
        return f"a control character ({escape_char(char)})"
    return f"an invisible or formatting character (U+{code:04X})"


def _json_escape(match: re.Match[str]) -> str:
    char = match.group()
    if not is_unsafe(char):
        return char
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


#: What ``json.dumps`` may leave raw with ``ensure_ascii=False``: checked one by one.
_NON_ASCII = re.compile("[\x7f-\U0010ffff]")


def json_text(document: Any, *, indent: int | None = None) -> str:
    """JSON that reads well (names stay Unicode) yet carries no raw control or format character.

    ``json.dumps`` already escapes C0; DEL, C1, bidi, zero-width, separators and
    lone surrogates become ``\\uXXXX`` escapes too, so the text is still valid
    JSON and decodes to exactly *document*.
    """
    text = json.dumps(document, indent=indent, ensure_ascii=False, default=str)
    return _NON_ASCII.sub(_json_escape, text)


__all__ = [
    "describe",
    "escape_char",
    "is_unsafe",
    "json_text",
    "unsafe_chars",
    "visible",
    "visible_lines",
]
