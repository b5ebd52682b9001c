"""The one place where a Python value becomes PowerShell source text.

Values never reach a script as code: they are parameters. In a standalone file
they still need a default in the ``param()`` block, and :func:`ps_literal` is
the only function that writes one. It follows the PowerShell language
specification (section 2.3.5.2): five characters act as a single quote, and
inside a verbatim string two quote characters in a row stand for one.
"""

from __future__ import annotations

SINGLE_QUOTES = frozenset("'\u2018\u2019\u201a\u201b")
"""Every character PowerShell's tokenizer treats as a single quote."""


class UnquotableValueError(ValueError):
    """A value that no PowerShell literal can carry safely."""


def check_quotable(value: str) -> None:
    """Reject NUL and lone surrogates: native programs cut strings at NUL, and
    a lone surrogate cannot be written as UTF-8."""
    if "\x00" in value:
        raise UnquotableValueError("contains a NUL character")
    for ch in value:
        if "\ud800" <= ch <= "\udfff":
            raise UnquotableValueError("contains a lone surrogate")


def _verbatim(text: str) -> str:
    escaped = "".join(ch * 2 if ch in SINGLE_QUOTES else ch for ch in text)
    return f"'{escaped}'"


def _coded(ch: str, ascii_only: bool) -> bool:
    code = ord(ch)
    return code < 0x20 or code == 0x7F or (ascii_only and code > 0x7E)


def _char_codes(ch: str) -> list[str]:
    """``[char]N`` for *ch*; a character beyond U+FFFF as its two UTF-16 halves."""
    data = ch.encode("utf-16-le")
    return [f"[char]{int.from_bytes(data[i : i + 2], 'little')}" for i in range(0, len(data), 2)]


def ps_string(value: str, *, ascii_only: bool = False) -> str:
    """Quote *value* as a PowerShell expression whose value is exactly *value*.

    Every single-quote character is doubled inside a verbatim literal, so the
    literal reads back as the original text. Control characters (CR, LF, TAB,
    ...) are written as ``[char]N`` joined with ``+``: a raw line break inside a
    literal would be rewritten by the CRLF conversion of script files and so
    change the value. A value without control characters is one literal. With
    *ascii_only* (files for tools that save scripts without a BOM), every character outside
    printable ASCII is written the same way, so the expression itself is pure ASCII.
    """
    check_quotable(value)
    parts: list[str] = []
    run: list[str] = []
    for ch in value:
        if _coded(ch, ascii_only):
            if run:
                parts.append(_verbatim("".join(run)))
                run = []
            parts.extend(_char_codes(ch))
        else:
            run.append(ch)
    if run or not parts:
        parts.append(_verbatim("".join(run)))
    if len(parts) == 1 and parts[0].startswith("'"):
        return parts[0]
    if parts[0].startswith("[char]"):
        parts.insert(0, "''")  # [string] + [char] concatenates as text, [char] + [char] would add
    return "(" + " + ".join(parts) + ")"


def ps_literal(value: str | bool | int, *, ascii_only: bool = False) -> str:
    """Write a typed parameter default: a string, a switch state or an integer."""
    if isinstance(value, bool):
        return "$true" if value else "$false"
    if isinstance(value, int):
        return str(value)
    return ps_string(value, ascii_only=ascii_only)


def ps_ordered_table(entries: dict[str, str], indent: int = 4) -> str:
    """An ``[ordered]@{ 'key' = 'value' ... }`` literal of constant text, one entry a line.

    For tables the package itself owns (never user values): each key and value is
    quoted by :func:`ps_string`. *indent* is the column of the closing brace.
    """
    pad = " " * (indent + 4)
    lines = ["[ordered]@{"]
    lines += [f"{pad}{ps_string(key)} = {ps_string(value)}" for key, value in entries.items()]
    lines.append(" " * indent + "}")
    return "\n".join(lines)
