"""Read the Web Connector's log (``QWCLog.txt``) lines the facts carry: entries and codes.

A QWCLog entry starts ``20210701.19:32:03 UTC : <source> : <message>`` (the source is the
Web Connector's method, e.g. ``QBWebConnector.SOAPWebService.instantiateWebService()``); a
line without that start continues the entry before it (a wrapped message, a stack trace, XML).
Each ``QBWCnnnn`` and QuickBooks SDK code (``0x8004xxxx``, also written without ``0x`` or as a
signed decimal) is counted once per entry, with the first and last time it was seen.

The lines come from a PC and may be anything: a line is read up to :data:`MAX_LINE` characters
and at most :data:`MAX_LINES` lines are read, so a hostile document costs bounded time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from qbd_fix.qbwc_codes import CODE_PATTERN

MAX_LINE = 4000
MAX_LINES = 10000
#: Characters of an entry's message kept (its continuation lines included).
MAX_MESSAGE = 2000

_START = re.compile(r"(\d{4})(\d{2})(\d{2})\.(\d{2}):(\d{2}):(\d{2})[ \t]+UTC[ \t]*:[ \t]?")
_SOURCE = re.compile(r"[ \t]*([A-Za-z_][\w.`<>]*(?:\([^()]{0,200}\))?)[ \t]*:[ \t]?")
_SDK = re.compile(
    r"(?<![0-9A-Za-z])(?:0x)?(8004[0-9a-f]{4})(?![0-9a-f])|(?<![0-9])(-?[0-9]{10})(?![0-9])",
    re.IGNORECASE,
)


@dataclass
class Entry:
    """One log entry: its time (None for lines before the first timestamp), source, message."""

    time: datetime | None
    source: str
    message: str
    line: int  # 1-based, among the lines read
    codes: list[str] = field(default_factory=list)


@dataclass
class CodeSeen:
    """How often a code appeared (entries holding it), when first and last, and its last entry."""

    code: str
    count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    last_message: str = ""


@dataclass
class QwcLogReading:
    """What the carried lines say: entries in order and codes in order of first appearance."""

    entries: list[Entry] = field(default_factory=list)
    codes: dict[str, CodeSeen] = field(default_factory=dict)
    lines_read: int = 0
    lines_skipped: int = 0

    @property
    def first_time(self) -> datetime | None:
        return next((e.time for e in self.entries if e.time), None)

    @property
    def last_time(self) -> datetime | None:
        return next((e.time for e in reversed(self.entries) if e.time), None)

    def of(self, *codes: str) -> list[CodeSeen]:
        return [self.codes[c] for c in codes if c in self.codes]


def _timestamp(match: re.Match[str]) -> datetime | None:
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError:  # 20241399.25:61:00: shaped like a time, but not one
        return None


def sdk_code(match: re.Match[str]) -> str:
    """The ``0x8004XXXX`` code one :data:`_SDK` match stands for, or ''."""
    if match.group(1):
        return "0x" + match.group(1).upper()
    number = int(match.group(2))
    if number < -(1 << 31):  # no 32-bit number is that low: the '-' is a separator
        number = -number
    elif number < 0:
        number += 1 << 32
    if number > 0xFFFFFFFF:
        return ""
    code = f"0x{number:08X}"
    return code if code.startswith("0x8004") else ""


def codes_in(text: str) -> list[str]:
    """Every QBWC and SDK code in *text*, each once, in order of appearance."""
    found: list[str] = []
    for match in CODE_PATTERN.finditer(text):
        code = f"QBWC{match.group(1)}"
        if code not in found:
            found.append(code)
    for match in _SDK.finditer(text):
        code = sdk_code(match)
        if code and code not in found:
            found.append(code)
    return found


def _split(rest: str) -> tuple[str, str]:
    if rest.lstrip(" \t").startswith(":"):  # an empty source part
        return "", rest.lstrip(" \t")[1:].strip()
    source = _SOURCE.match(rest)
    if source is None:
        return "", rest.strip()
    return source.group(1), rest[source.end() :].strip()


def parse_lines(lines: Iterable[str]) -> QwcLogReading:
    """Entries and codes of QWCLog lines, oldest first (the order the facts carry them)."""
    reading = QwcLogReading()
    for number, raw in enumerate(lines, start=1):
        if number > MAX_LINES:
            reading.lines_skipped += 1
            continue
        reading.lines_read += 1
        text = raw[:MAX_LINE].rstrip("\r\n").lstrip("\ufeff")
        start = _START.match(text)
        when = _timestamp(start) if start else None
        if start is not None and when is not None:
            source, message = _split(text[start.end() :])
            reading.entries.append(Entry(when, source, message[:MAX_MESSAGE], number))
        elif reading.entries:
            entry = reading.entries[-1]
            if text.strip() and len(entry.message) < MAX_MESSAGE:
                entry.message = (entry.message + "\n" + text.strip())[:MAX_MESSAGE]
            _count(reading, entry, text)
            continue
        else:  # before the first timestamp: the start of an entry the seek cut off
            reading.entries.append(Entry(None, "", text.strip()[:MAX_MESSAGE], number))
        _count(reading, reading.entries[-1], text)
    return reading


def _count(reading: QwcLogReading, entry: Entry, text: str) -> None:
    for code in codes_in(text):
        if code in entry.codes:
            continue
        entry.codes.append(code)
        seen = reading.codes.setdefault(code, CodeSeen(code))
        seen.count += 1
        if entry.time is not None:
            seen.first = seen.first or entry.time
            seen.last = entry.time
        seen.last_message = entry.message.split("\n", 1)[0]


def parse_text(text: str) -> QwcLogReading:
    """:func:`parse_lines` over a whole text (any line ending)."""
    return parse_lines(text.splitlines())
