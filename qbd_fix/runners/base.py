"""The one interface every runner offers, and the one result type it returns.

Like pyinfra's connectors: the local runner and the PowerShell Remoting runner
differ only in how a script reaches the PC and how files come back.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qbd_fix.runners.transfer import DEFAULT_MAX_BUNDLE_MIB

if TYPE_CHECKING:
    from qbd_fix.result import Result
    from qbd_fix.script.engine import Script


#: Hears each step a script reports while it runs (``Write-QbdStep``), as clean text.
OnStep = Callable[[str], None]
#: How a step travels: an information record (PSRP) or a stdout line (``-File``).
STEP_PREFIX = "qbd-step: "
MAX_STEP_CHARS = 120


def step_of(line: str) -> str | None:
    """The step a line announces, made safe to show (the PC is not trusted), else None."""
    if not line.startswith(STEP_PREFIX):
        return None
    from qbd_fix.text import visible

    text = visible(line[len(STEP_PREFIX) :].strip())
    return text[:MAX_STEP_CHARS] + ("..." if len(text) > MAX_STEP_CHARS else "")


@dataclass(frozen=True)
class Streams:
    """What a script wrote besides its result: kept for --debug and reports."""

    output: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    verbose: list[str] = field(default_factory=list)
    information: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RunOutcome:
    """A finished run on one computer."""

    target: str
    result: Result
    duration: float
    streams: Streams = field(default_factory=Streams)
    exit_code: int | None = None
    #: What a pipeline step made of the result (the doctor's report), and the result it
    #: was made from (the facts); both None until a step judges the outcome.
    judgement: Any = None
    judged_from: Result | None = None


class Runner(abc.ABC):
    """Runs rendered scripts on one computer."""

    target: str

    @abc.abstractmethod
    def run(
        self, script: Script, *, what_if: bool = False, on_step: OnStep | None = None
    ) -> RunOutcome:
        """Run *script* with its bound parameters; with *what_if*, under -WhatIf. *on_step*
        hears each step the script reports, while it runs."""

    @abc.abstractmethod
    def fetch(
        self,
        remote_path: str,
        local_path: Path,
        *,
        sha256: str | None = None,
        size: int | None = None,
        max_bytes: int = DEFAULT_MAX_BUNDLE_MIB << 20,
    ) -> Path:
        """Copy a file the script wrote on the PC to *local_path* (or, when that name is
        taken, a free name beside it: never over a file), and return where it landed.

        The copy must match *sha256* (required) and the announced *size*, and stay within
        *max_bytes*; only once it is in place and read back is the PC's copy removed.
        Any failure leaves nothing behind here and the PC's copy where it was."""

    def bundle_name(self) -> str:
        """The PC's part of a log bundle's file name: the admin's name for it, unique
        among the PCs of a run (the remote runner adds a port that is not the default)."""
        return self.target

    def close(self) -> None:  # noqa: B027 - optional hook: the local runner holds nothing
        """Release connections; runners are context managers."""

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
