"""Plain data types a test uses to script a fake WinRM host: answers, faults, invocations."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: WSMan actions a fault can target ("any" matches every SOAP request).
ACTIONS = ("Create", "Receive", "Command", "Send", "Signal", "Delete", "Get", "any")
#: What a fault does to the request it hits.
FAULT_KINDS = ("http_status", "wsman_fault", "drop", "delay", "cleartext")

#: WSMan fault raised by a real host when a ShellId is unknown (host rebooted, shell closed).
SHELL_NOT_FOUND = 2150858843
#: WSMan OperationTimeout: pypsrp retries it silently, but only while polling a pipeline.
OPERATION_TIMEOUT = 2150858793


@dataclass
class Answer:
    """What the fake host "runs" for a matching pipeline, since it cannot run PowerShell.

    ``errors`` are non-terminating (``Write-Error``: ``had_errors`` stays False);
    ``failed`` makes the pipeline fail with a terminating error (``had_errors`` True):
    ``True`` uses a generic message, a string is the message.
    ``delay`` seconds pass before the pipeline produces anything, so the client long-polls.
    """

    output: list[object] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    verbose: list[str] = field(default_factory=list)
    information: list[object] = field(default_factory=list)
    debug: list[str] = field(default_factory=list)
    failed: bool | str = False
    delay: float = 0.0


@dataclass(frozen=True)
class Invocation:
    """One pipeline as the host received it, for assertions on what the client sent.

    ``script`` is the first command's text (the script for ``add_script``, the name for
    ``add_cmdlet``); ``parameters`` merges the named parameters of all commands, decoded to
    plain Python types; ``arguments`` holds positional ones. ``at`` is ``time.monotonic()``.
    """

    script: str
    parameters: dict[str, object]
    command_name: str | None
    arguments: list[object]
    commands: tuple[tuple[str, bool, tuple[tuple[str | None, object], ...]], ...]
    input: list[object]
    shell_id: str
    pipeline_id: str
    username: str | None
    at: float


Matcher = str | Callable[[str, dict[str, object]], bool]
Responder = Answer | Callable[[Invocation], Answer]


@dataclass
class Fault:
    """A planned failure for requests of one WSMan action.

    ``kind``: ``http_status`` answers ``status`` with a non-SOAP body; ``wsman_fault`` answers a
    SOAP fault with ``wsman_code`` (default: shell not found); ``drop`` closes the TCP connection
    without answering; ``delay`` handles the request, then waits ``seconds`` before replying;
    ``cleartext`` handles the request and answers it unencrypted, even on a connection that
    encrypts every message (what a device on the path could inject).
    ``skip`` lets that many matching requests through first; ``times`` is how many requests the
    fault then applies to (``None``: all). ``hits`` counts how often it fired.
    """

    action: str = "any"
    kind: str = "http_status"
    status: int = 500
    wsman_code: int = SHELL_NOT_FOUND
    message: str = "Fault injected by the loopback WinRM host."
    seconds: float = 0.0
    times: int | None = 1
    skip: int = 0
    hits: int = 0

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"Fault.action must be one of {ACTIONS}, not {self.action!r}")
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"Fault.kind must be one of {FAULT_KINDS}, not {self.kind!r}")


class FaultPlan:
    """Thread-safe list of faults; the host asks it once per SOAP request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        """Plan ``fault``; returns it so a test can read ``hits`` later."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Forget every planned fault."""
        with self._lock:
            self._faults.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)

    def take(self, action: str) -> Fault | None:
        """Return the first fault that applies to this request, consuming one use of it."""
        with self._lock:
            for fault in self._faults:
                if fault.action not in (action, "any"):
                    continue
                if fault.times is not None and fault.hits >= fault.times:
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                fault.hits += 1
                return fault
        return None


def now() -> float:
    """Clock used for ``Invocation.at`` (monotonic, so ordering survives clock changes)."""
    return time.monotonic()
