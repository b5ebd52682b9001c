"""How much of a PC's answer is kept: a broken or hostile PC cannot fill the admin's memory.

A script's output arrives object by object; :class:`Collected` keeps the first
ones of each stream up to a count and a size, counts the rest, and remembers
the last JSON object apart (the result document comes last, after any amount
of noise). What was dropped is reported as a truncation note, never silently.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from qbd_fix.result import MAX_RESULT_CHARS
from qbd_fix.runners.base import Streams

#: Output objects kept for --debug and reports (the result document is kept apart).
MAX_OUTPUT_ITEMS = 1000
#: Characters of output objects kept for --debug and reports.
MAX_OUTPUT_CHARS = 1024 * 1024
#: Records kept per stream (error, warning, verbose, information).
MAX_STREAM_ITEMS = 500
#: Characters kept per stream.
MAX_STREAM_CHARS = 256 * 1024
#: Largest single PSRP message reassembled from its fragments: a 1 MiB file chunk is
#: 1.4 MB of base64; an output object above this is dropped before it is decoded.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
#: Largest HTTP answer read: pypsrp asks for envelopes of at most 500 KiB.
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
#: Result-document candidates kept (the last valid one wins).
RESULT_CANDIDATES = 2


def mib(size: int) -> str:
    """A size for people: '3.2 MiB', '700 KiB'."""
    if size >= 1 << 20:
        return f"{size / (1 << 20):.1f} MiB"
    return f"{max(size, 0) // 1024} KiB"


@dataclass
class Kept:
    """The first texts of one stream, within a count and a size; the rest only counted.
    The very last text is kept too: a terminating error comes last."""

    max_items: int
    max_chars: int
    items: list[str] = field(default_factory=list)
    chars: int = 0
    dropped: int = 0
    dropped_chars: int = 0
    last: str | None = None

    def add(self, text: str) -> None:
        if len(self.items) < self.max_items and self.chars + len(text) <= self.max_chars:
            self.items.append(text)
            self.chars += len(text)
            return
        self.dropped += 1
        self.dropped_chars += len(text)
        self.last = text[: self.max_chars]

    def texts(self) -> list[str]:
        return [*self.items, self.last] if self.last is not None else list(self.items)

    def note(self, name: str) -> str | None:
        if not self.dropped:
            return None
        total = len(self.items) + self.dropped
        return (
            f"{name}: kept {len(self.items)} of {total} items "
            f"({mib(self.chars)}; {mib(self.dropped_chars)} dropped)"
        )


@dataclass
class Collected:
    """Everything kept of one pipeline's output and streams, bounded."""

    output: Kept = field(default_factory=lambda: Kept(MAX_OUTPUT_ITEMS, MAX_OUTPUT_CHARS))
    errors: Kept = field(default_factory=lambda: Kept(MAX_STREAM_ITEMS, MAX_STREAM_CHARS))
    warnings: Kept = field(default_factory=lambda: Kept(MAX_STREAM_ITEMS, MAX_STREAM_CHARS))
    verbose: Kept = field(default_factory=lambda: Kept(MAX_STREAM_ITEMS, MAX_STREAM_CHARS))
    information: Kept = field(default_factory=lambda: Kept(MAX_STREAM_ITEMS, MAX_STREAM_CHARS))
    candidates: deque[str] = field(default_factory=lambda: deque(maxlen=RESULT_CANDIDATES))
    #: Size of the last JSON-looking output object too large to be a result document.
    oversized_result: int = 0
    #: PSRP messages dropped whole because they were larger than :data:`MAX_MESSAGE_BYTES`.
    dropped_messages: int = 0

    def add_output(self, text: str) -> None:
        stripped = text.strip()
        # Only a JSON object naming its remediation can be the result: other objects
        # printed after it must not push it out.
        if stripped.startswith(("{", "\ufeff{")) and '"remediation"' in stripped:
            if len(stripped) <= MAX_RESULT_CHARS:
                self.candidates.append(stripped)
            else:
                self.oversized_result = len(stripped)
        self.output.add(text)

    @classmethod
    def one_line(cls, max_chars: int) -> Collected:
        """For the file reader, whose answer is one long line: room for it and one more
        (so that a second line shows up as an error, not as nothing)."""
        return cls(output=Kept(2, max_chars))

    def add_records(
        self, kept: Kept, records: Iterable[object], text: Callable[[object], str]
    ) -> None:
        for record in records:
            kept.add(text(record))

    def result_lines(self) -> list[str]:
        """What :func:`qbd_fix.result.parse_result` looks through: the candidates only."""
        return list(self.candidates)

    @property
    def truncated(self) -> bool:
        return bool(self.notes())

    def notes(self) -> list[str]:
        notes = [
            note
            for note in (
                self.output.note("output"),
                self.errors.note("errors"),
                self.warnings.note("warnings"),
                self.verbose.note("verbose"),
                self.information.note("information"),
            )
            if note
        ]
        if self.dropped_messages:
            notes.append(
                f"{self.dropped_messages} output object(s) larger than "
                f"{mib(MAX_MESSAGE_BYTES)} were dropped unread"
            )
        if self.oversized_result:
            notes.append(
                f"a {mib(self.oversized_result)} JSON object was not read as the result "
                f"(the limit is {mib(MAX_RESULT_CHARS)})"
            )
        return [f"truncated {note}" for note in notes]

    def streams(self) -> Streams:
        return Streams(
            output=self.output.texts(),
            errors=self.errors.texts(),
            warnings=self.warnings.texts(),
            verbose=self.verbose.texts(),
            information=self.information.texts(),
        )
