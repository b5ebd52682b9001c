"""Run one remediation on many PCs at once, for MSPs with hundreds of clients' machines.

At most *concurrency* PCs are worked on at once, by as many long-lived worker
threads (starting a thread per PC stalls the loop: ``Thread.start`` waits for
the new thread to get the GIL, which takes milliseconds when the others are
busy, so a thousand starts cost seconds). Everything the
caller sees (progress events, including the step each PC's script has reached,
and finished hosts for the sink) is delivered on the thread that called
:meth:`FleetRun.run`, so sinks need no locking. Nothing here prints or writes
files: :mod:`qbd_fix.pipeline` attaches the report and audit log.

Safety rules:

* A failure is retried only when the error says it came before the script
  could start (``before_script``, see :class:`qbd_fix.errors.QbdFixError`) and
  is of a kind that can heal (unreachable, WinRM unavailable, connect timeout).
  Once a script may have begun changing a PC, its outcome is final.
* A PC that exceeds *host_timeout* is reported as timed out and its slot is
  freed; its worker is abandoned (daemon) rather than waited for, and a fresh
  worker takes its place (the abandoned one leaves when its PC ends).
* The first :meth:`FleetRun.stop` (or Ctrl-C) starts no more PCs and lets the
  running ones finish; the second reports the running ones as cancelled and
  returns at once.
* With a *canary* of N, the first N PCs run alone; if any of them ends in a
  script error (:func:`script_error`: the script itself broke, so it would
  break on every PC), no other PC is started and each is reported not run.
"""

from __future__ import annotations

import dataclasses
import math
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qbd_fix import jobs
from qbd_fix.errors import (
    ExitCode,
    HostUnreachableError,
    QbdFixError,
    RunTimeoutError,
    WinRMUnavailableError,
)
from qbd_fix.fleet.inventory import Target
from qbd_fix.runners.transfer import DEFAULT_MAX_BUNDLE_MIB

if TYPE_CHECKING:
    from qbd_fix.runners.base import OnStep, Runner, RunOutcome
    from qbd_fix.script.engine import Script

#: Something applied to each PC's outcome before it is reported (the doctor's judging).
Step = Callable[[Target, "RunOutcome"], "RunOutcome"]
#: A PC's whole work on one open runner, when it is more than one script (``heal``: facts,
#: fixes, facts again); gets the runner, the PC's script, the PC and where steps go.
Perform = Callable[["Runner", "Script", Target, "OnStep"], "RunOutcome"]

#: Error kinds a retry can cure, when they came before the script started.
RETRYABLE = (HostUnreachableError, WinRMUnavailableError, RunTimeoutError)
#: Error kinds that say the script (or qbd-fix) broke rather than the PC: PowerShell stopped
#: before a result (``script_failed``), no readable result (``result_unreadable``), or an
#: unexpected exception in qbd-fix itself (``internal``).
SCRIPT_ERROR_KINDS = frozenset({"script_failed", "result_unreadable", "internal"})


class HostStatus(str, Enum):
    """How one PC of a fleet run ended; the first four are the script's own statuses."""

    OK = "ok"
    CHANGED = "changed"
    NEEDS_USER_ACTION = "needs_user_action"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    AUTH_FAILED = "auth_failed"
    TIMEOUT = "timeout"
    NOT_RUN = "not_run"
    CANCELLED = "cancelled"


_STATUS_EXIT = {
    HostStatus.OK: ExitCode.OK,
    HostStatus.CHANGED: ExitCode.OK,
    HostStatus.NEEDS_USER_ACTION: ExitCode.NEEDS_USER_ACTION,
    HostStatus.FAILED: ExitCode.FAILED,
    HostStatus.NOT_RUN: ExitCode.INTERRUPTED,
    HostStatus.CANCELLED: ExitCode.INTERRUPTED,
}
_ERROR_STATUS = {
    ExitCode.UNREACHABLE: HostStatus.UNREACHABLE,
    ExitCode.WINRM_UNAVAILABLE: HostStatus.UNREACHABLE,
    ExitCode.TLS_ERROR: HostStatus.UNREACHABLE,
    ExitCode.AUTH_FAILED: HostStatus.AUTH_FAILED,
    ExitCode.ACCESS_DENIED: HostStatus.AUTH_FAILED,
    ExitCode.TIMEOUT: HostStatus.TIMEOUT,
}


@dataclass(frozen=True)
class HostError:
    """Why a PC has no result: *kind* is the exit code's name (``unreachable``, ``tls_error``...)."""

    kind: str
    message: str
    exit_code: int
    hint: str | None = None

    @classmethod
    def from_exception(cls, exc: BaseException) -> HostError:
        if isinstance(exc, QbdFixError):
            return cls(exc.exit_code.name.lower(), exc.message, int(exc.exit_code), exc.hint)
        return cls(
            "internal",
            f"unexpected {type(exc).__name__}: {' '.join(str(exc).split())}",
            int(ExitCode.FAILED),
            "this is a bug in qbd-fix; run again with --debug",
        )


@dataclass(frozen=True)
class HostReport:
    """Everything a report needs about one PC; the transcript itself is not kept."""

    host: str
    port: int | None
    client_name: str | None
    group: str | None
    remediation: str
    status: HostStatus
    summary: str
    duration: float
    attempts: int
    exit_code: int
    script_sha256: str = ""
    what_if: bool = False
    error: HostError | None = None
    result: dict[str, Any] | None = None
    #: Kept for the caller, never written to a report: the script the PC was sent (for the
    #: audit line), the whole outcome (streams, for a one-PC run's --debug) and the exception
    #: a failed run raised (so a one-PC run reports it exactly as it was raised).
    script: Script | None = field(default=None, repr=False, compare=False)
    outcome: RunOutcome | None = field(default=None, repr=False, compare=False)
    exception: BaseException | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "client_name": self.client_name,
            "group": self.group,
            "remediation": self.remediation,
            "status": self.status.value,
            "summary": self.summary,
            "duration_s": round(self.duration, 3),
            "attempts": self.attempts,
            "exit_code": self.exit_code,
            "script_sha256": self.script_sha256,
            "what_if": self.what_if,
            "error": None
            if self.error is None
            else {
                "kind": self.error.kind,
                "message": self.error.message,
                "exit_code": self.error.exit_code,
                "hint": self.error.hint,
            },
            "result": self.result,
        }


def fleet_exit_code(counts: Counter[HostStatus] | dict[HostStatus, int]) -> int:
    """0 when every PC is ok or changed, 1 when any did not get there (failed, unreachable,
    auth, timeout, cancelled, not run), else 3: the rest only need a user's action."""
    bad = set(HostStatus) - {HostStatus.OK, HostStatus.CHANGED, HostStatus.NEEDS_USER_ACTION}
    if any(counts.get(status, 0) for status in bad):
        return int(ExitCode.FAILED)
    if counts.get(HostStatus.NEEDS_USER_ACTION, 0):
        return int(ExitCode.NEEDS_USER_ACTION)
    return int(ExitCode.OK)


def script_error(report: HostReport) -> bool:
    """Whether *report* says the script itself broke, not that the PC needs fixing.

    Two shapes: no result at all, for a reason in :data:`SCRIPT_ERROR_KINDS`;
    or a ``failed`` result whose ``data.error`` object was written by the
    scripts' outer ``catch`` (``_run.ps1.j2``: a terminating error escaped the
    remediation). A ``failed`` result without it is a diagnosed failure (the
    script found the PC broken and said why), and unreachable PCs, rejected
    credentials and timeouts are about the PC or the network: none of those
    stops a canary.
    """
    if report.error is not None:
        return report.error.kind in SCRIPT_ERROR_KINDS
    if report.status is not HostStatus.FAILED or not isinstance(report.result, dict):
        return False
    data = report.result.get("data")
    return isinstance(data, dict) and isinstance(data.get("error"), dict)


@dataclass
class FleetSummary:
    """How many PCs ended in each status (each PC's report went to the sink): a fleet of
    thousands keeps no per-PC rows here."""

    total: int
    counts: Counter[HostStatus] = field(default_factory=Counter)
    duration: float = 0.0
    stopped: int = 0
    #: Canary PCs that ended in a script error; when any did, no other PC was started.
    canary_failures: list[str] = field(default_factory=list)

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    @property
    def exit_code(self) -> int:
        """The process's exit code: 130 once stopped (Ctrl-C, SIGTERM), else by the PCs."""
        if self.stopped:
            return int(ExitCode.INTERRUPTED)
        return fleet_exit_code(self.counts)

    def add(self, report: HostReport) -> None:
        self.counts[report.status] += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "done": self.done,
            "counts": {s.value: self.counts.get(s, 0) for s in HostStatus},
            "exit_code": self.exit_code,
            "duration_s": round(self.duration, 3),
            "stopped": self.stopped > 0,
            "cancelled": self.stopped > 1,
            "canary_failed": self.canary_failures,
        }


class EventKind(str, Enum):
    STARTED = "started"
    RETRYING = "retrying"
    FINISHED = "finished"
    STOPPING = "stopping"
    CANARY_FAILED = "canary_failed"
    STEP = "step"


@dataclass(frozen=True)
class FleetEvent:
    """Progress for the CLI: *done*/*total*, how many run now, counts so far and an ETA.

    ``started``/``retrying`` carry *host* (and *attempt*, *delay* for a retry),
    ``finished`` carries *report*, ``stopping`` carries *stop_level* (1 drain, 2 cancel),
    ``canary_failed`` names the first canary PC with a script error in *host*,
    ``step`` carries the *step* a running PC's script has reached.
    """

    kind: EventKind
    host: str
    done: int
    total: int
    running: int
    counts: dict[str, int]
    eta: float | None
    report: HostReport | None = None
    attempt: int = 0
    delay: float = 0.0
    error: HostError | None = None
    stop_level: int = 0
    step: str = ""


@dataclass(frozen=True)
class Backoff:
    """Pause before retry *n* (1-based): *initial* doubled each time, at most *cap* seconds."""

    initial: float = 0.5
    factor: float = 2.0
    cap: float = 8.0

    def delay(self, retry: int) -> float:
        return float(min(self.cap, self.initial * self.factor ** max(0, retry - 1)))


# -- secrets ----------------------------------------------------------------------------------


class _Scrubber:
    """Removes known secret values from anything that reaches a report, just in case."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, "***")
        return value

    def any(self, value: Any) -> Any:
        if not self.secrets:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.any(v) for v in value]
        if isinstance(value, dict):
            return {self.text(str(k)): self.any(v) for k, v in value.items()}
        return value


# -- the run ----------------------------------------------------------------------------------


@dataclass
class _Slot:
    """A PC being worked on; its worker sets only *script* (and *done* under the slot lock),
    the loop owns the rest."""

    index: int
    target: Target
    started: float
    script: Script | None = None
    done: bool = False
    abandoned: bool = False


@dataclass(frozen=True)
class _Message:
    index: int
    kind: str  # "retry", "step", "done" or "wake"
    report: HostReport | None = None
    attempt: int = 0
    delay: float = 0.0
    error: HostError | None = None
    step: str = ""


_WAKE = _Message(-1, "wake")
#: Longest wait for a message: on Windows a blocked queue read does not see Ctrl-C.
_POLL = 0.25


class FleetRun:
    """One fleet run; :meth:`stop` may be called from any thread (e.g. a SIGINT handler)."""

    def __init__(
        self,
        targets: Sequence[Target],
        make_runner: Callable[[Target], Runner],
        script_for: Callable[[Target], Script],
        *,
        concurrency: int = 16,
        host_timeout: float | None = None,
        retries: int = 2,
        backoff: Backoff | None = None,
        what_if: bool = False,
        dest: Path | None = None,
        max_bundle_bytes: int = DEFAULT_MAX_BUNDLE_MIB << 20,
        on_event: Callable[[FleetEvent], None] | None = None,
        sink: Callable[[HostReport], None] | None = None,
        secrets: Iterable[str] = (),
        canary: int = 0,
        steps: Sequence[Step] = (),
        keep_outcomes: bool = False,
        perform: Perform | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if canary < 0:
            raise ValueError("canary must not be negative")
        if retries < 0:
            raise ValueError("retries must not be negative")
        if host_timeout is not None and host_timeout <= 0:
            raise ValueError("host_timeout must be positive")
        self.targets = list(targets)
        self.make_runner = make_runner
        self.script_for = script_for
        self.concurrency = concurrency
        self.host_timeout = host_timeout
        self.retries = retries
        self.backoff = backoff or Backoff()
        self.what_if = what_if
        self.dest = dest
        self.max_bundle_bytes = max_bundle_bytes
        self.on_event = on_event
        #: called with each PC's report as it ends (on the thread that called :meth:`run`)
        self.sink = sink
        #: applied in order to each PC's outcome before it becomes a report (the doctor's
        #: judging of its facts); a step that raises fails that PC
        self.steps = tuple(steps)
        #: keep each outcome on its report (a one-PC run shows its streams)
        self.keep_outcomes = keep_outcomes
        #: each PC's work, when it is more than running its script (and fetching its file)
        self.perform = perform
        #: PCs (by inventory index) that run before any other; 0 means no canary
        self.canary = min(canary, len(targets))
        self._canary_open = self.canary > 0
        self._scrub = _Scrubber(secrets)
        self._messages: queue.Queue[_Message] = queue.Queue()
        self._stop_level = 0
        self._stop_lock = threading.RLock()  # a SIGINT handler may re-enter stop()
        #: Set by any stop: no retry starts after it, and retry pauses end at once.
        self._stopping = threading.Event()
        self._ran = False
        self._jobs: queue.SimpleQueue[_Slot | None] = queue.SimpleQueue()
        self._slot_lock = threading.Lock()
        self._workers = 0
        self._loop_thread: int | None = None
        self._run_time = 0.0  # sum and count of finished runs, for the ETA
        self._runs = 0
        self.summary = FleetSummary(total=len(self.targets))

    # -- control --------------------------------------------------------------------------

    @property
    def stop_level(self) -> int:
        """0 running, 1 draining (no new PCs), 2 cancelled."""
        return self._stop_level

    def stop(self) -> None:
        """First call: start no more PCs. Second: give up on the running ones too.

        Called on the thread running the loop (a SIGINT handler interrupting
        it), the queue is left alone, since the interrupted code may hold its
        lock; the loop polls every :data:`_POLL` seconds anyway. Other threads
        wake it at once.
        """
        with self._stop_lock:
            self._stop_level = min(2, self._stop_level + 1)
        self._stopping.set()
        if threading.get_ident() != self._loop_thread:
            self._messages.put(_WAKE)

    def cancel(self) -> None:
        """Start no more PCs and stop waiting for the running ones (both stops at once)."""
        with self._stop_lock:
            self._stop_level = 2
        self._stopping.set()
        if threading.get_ident() != self._loop_thread:
            self._messages.put(_WAKE)

    # -- worker side ----------------------------------------------------------------------

    def _work(self, slot: _Slot) -> None:
        """One PC, on its own thread: render, connect, run, retry what is safe to retry."""
        target = slot.target
        script: Script | None = None
        attempts = 0
        started = time.monotonic()
        try:
            script = self.script_for(target)
            slot.script = script  # read by the loop if the PC is cancelled or times out
            while True:
                attempts += 1
                try:
                    outcome = self._attempt(slot, script)
                except Exception as exc:
                    retry = attempts <= self.retries and _retryable(exc)
                    if not retry or self._stopping.is_set():
                        raise
                    delay = self.backoff.delay(attempts)
                    self._messages.put(
                        _Message(
                            slot.index,
                            "retry",
                            attempt=attempts + 1,
                            delay=delay,
                            error=HostError.from_exception(exc),
                        )
                    )
                    if self._stopping.wait(delay):
                        raise
                    continue
                report = self._from_outcome(target, script, outcome, attempts, started)
                break
        except BaseException as exc:  # a PC's failure must never end the fleet
            report = self._from_error(target, script, exc, attempts, started)
            report = dataclasses.replace(report, exception=exc)
        self._messages.put(_Message(slot.index, "done", report=report))

    def _worker(self) -> None:
        """Work on PCs until told to stop; leave after a PC the loop gave up on (a fresh
        worker has taken its place, so the bound on concurrency holds)."""
        while True:
            slot = self._jobs.get()
            if slot is None:
                return
            self._work(slot)
            with self._slot_lock:
                slot.done = True
                if slot.abandoned:
                    return

    def _start_worker(self) -> None:
        self._workers += 1
        threading.Thread(
            target=self._worker, name=f"qbd-fix fleet worker {self._workers}", daemon=True
        ).start()

    def _abandon(self, slot: _Slot, *, replace: bool = True) -> None:
        """The loop stops waiting for *slot*: its worker may be stuck, so another starts."""
        with self._slot_lock:
            if slot.done:
                return  # its worker is free already
            slot.abandoned = True
        if replace:
            self._start_worker()

    def _attempt(self, slot: _Slot, script: Script) -> RunOutcome:
        def reached(step: str) -> None:
            self._messages.put(_Message(slot.index, "step", step=step))

        runner = self.make_runner(slot.target)
        with runner:
            if self.perform is not None:
                outcome = self.perform(runner, script, slot.target, reached)
            else:
                outcome = jobs.execute(
                    script,
                    runner,
                    what_if=self.what_if,
                    dest=self.dest,
                    max_bundle_bytes=self.max_bundle_bytes,
                    on_step=reached,
                )
        for step in self.steps:
            outcome = step(slot.target, outcome)
        return outcome

    def _from_outcome(
        self, target: Target, script: Script, outcome: RunOutcome, attempts: int, started: float
    ) -> HostReport:
        result = outcome.result
        status = HostStatus(result.status.value)
        return HostReport(
            host=target.host,
            port=target.port,
            client_name=target.client_name,
            group=target.group,
            remediation=script.name,
            status=status,
            summary=self._scrub.text(" ".join(result.summary.split())),
            duration=time.monotonic() - started,
            attempts=attempts,
            exit_code=int(result.status.exit_code),
            script_sha256=script.sha256,
            what_if=self.what_if,
            result=self._scrub.any(result.to_dict()),
            script=script,
            outcome=outcome if self.keep_outcomes else None,
        )

    def _from_error(
        self,
        target: Target,
        script: Script | None,
        exc: BaseException,
        attempts: int,
        started: float,
    ) -> HostReport:
        error = HostError.from_exception(exc)
        error = HostError(
            error.kind,
            self._scrub.text(error.message),
            error.exit_code,
            self._scrub.text(error.hint) if error.hint else None,
        )
        status = (
            _ERROR_STATUS.get(ExitCode(error.exit_code), HostStatus.FAILED)
            if error.kind != "internal"
            else HostStatus.FAILED
        )
        return HostReport(
            host=target.host,
            port=target.port,
            client_name=target.client_name,
            group=target.group,
            remediation=script.name if script else "",
            status=status,
            summary=error.message,
            duration=time.monotonic() - started,
            attempts=attempts,
            exit_code=error.exit_code,
            script_sha256=script.sha256 if script else "",
            what_if=self.what_if,
            error=error,
            script=script,
        )

    # -- scheduling side ------------------------------------------------------------------

    def _unfinished(
        self, slot_or_target: _Slot | Target, status: HostStatus, message: str
    ) -> HostReport:
        if isinstance(slot_or_target, _Slot):
            target, script = slot_or_target.target, slot_or_target.script
            duration = time.monotonic() - slot_or_target.started
        else:
            target, script, duration = slot_or_target, None, 0.0
        code = ExitCode.TIMEOUT if status is HostStatus.TIMEOUT else ExitCode.INTERRUPTED
        return HostReport(
            host=target.host,
            port=target.port,
            client_name=target.client_name,
            group=target.group,
            remediation=script.name if script else "",
            status=status,
            summary=message,
            duration=duration,
            attempts=0 if status is HostStatus.NOT_RUN else 1,
            exit_code=int(code),
            script_sha256=script.sha256 if script else "",
            what_if=self.what_if,
            error=HostError(status.value, message, int(code)),
            script=script,
        )

    def _eta(self) -> float | None:
        """Seconds left: rounds of *concurrency* PCs still to go, times the average run so far."""
        remaining = self.summary.total - self.summary.done
        if remaining <= 0:
            return 0.0
        if not self._runs:
            return None
        average = self._run_time / self._runs
        return math.ceil(remaining / min(self.concurrency, remaining)) * average

    def _emit(self, kind: EventKind, host: str, running: int, **extra: Any) -> None:
        if self.on_event is None:
            return
        self.on_event(
            FleetEvent(
                kind=kind,
                host=host,
                done=self.summary.done,
                total=self.summary.total,
                running=running,
                counts={s.value: n for s, n in self.summary.counts.items()},
                eta=self._eta(),
                **extra,
            )
        )

    def _finish(self, report: HostReport, running: int) -> None:
        self.summary.add(report)
        if report.status not in (HostStatus.NOT_RUN, HostStatus.CANCELLED, HostStatus.TIMEOUT):
            self._run_time += report.duration
            self._runs += 1
        if self.sink is not None:
            self.sink(report)
        self._emit(EventKind.FINISHED, report.host, running, report=report)

    def run(self) -> FleetSummary:
        """Work through every target; returns when each has a report (see the module rules)."""
        if self._ran:
            raise RuntimeError("a FleetRun runs once")
        self._ran = True
        self._loop_thread = threading.get_ident()
        began = time.monotonic()
        pending = list(enumerate(self.targets))
        pending.reverse()  # pop() from the end keeps inventory order
        running: dict[int, _Slot] = {}
        announced = 0
        try:
            for _ in range(min(self.concurrency, len(self.targets))):
                self._start_worker()
            while pending or running:
                try:
                    level = self._stop_level
                    if level != announced:
                        announced = level
                        self._emit(EventKind.STOPPING, "", len(running), stop_level=level)
                    if level >= 2:
                        for slot in list(running.values()):
                            del running[slot.index]
                            self._abandon(slot, replace=False)
                            self._finish(
                                self._unfinished(
                                    slot,
                                    HostStatus.CANCELLED,
                                    "cancelled while running; "
                                    "the PC may have been changed part-way",
                                ),
                                len(running),
                            )
                    if level >= 1:
                        while pending:
                            _, target = pending.pop()
                            self._finish(
                                self._unfinished(
                                    target, HostStatus.NOT_RUN, "not run: the fleet run was stopped"
                                ),
                                len(running),
                            )
                        if not running:
                            break
                    while pending and len(running) < self.concurrency and not self._stop_level:
                        if self._canary_holds(pending, running) or not pending:
                            break
                        index, target = pending.pop()
                        slot = _Slot(index, target, time.monotonic())
                        # queued before it is tracked: an interrupt in between must not
                        # leave a slot that no worker will ever finish
                        self._jobs.put(slot)
                        running[index] = slot
                        self._emit(EventKind.STARTED, target.host, len(running))
                    self._wait(running)
                except KeyboardInterrupt:
                    self.stop()
        finally:
            for _ in range(self._workers):
                self._jobs.put(None)  # idle workers leave; busy ones after their PC
            self._stopping.set()  # wake workers sleeping before a retry, whatever happened
            self.summary.duration = time.monotonic() - began
            self.summary.stopped = self._stop_level
        return self.summary

    def _canary_holds(self, pending: list[tuple[int, Target]], running: dict[int, _Slot]) -> bool:
        """Whether the next PC must wait for the canary PCs; once they are all done, either
        open the gate or, after a script error among them, report every other PC not run."""
        if not self._canary_open or not pending or pending[-1][0] < self.canary:
            return False
        if running:
            return True
        self._canary_open = False
        failures = self.summary.canary_failures
        if failures:
            self._emit(EventKind.CANARY_FAILED, failures[0], 0)
            message = (
                f"not run: canary PC {failures[0]} ended in a script error, "
                "so no further PC was started"
            )
            while pending:
                _, target = pending.pop()
                self._finish(self._unfinished(target, HostStatus.NOT_RUN, message), 0)
        return False

    def _wait(self, running: dict[int, _Slot]) -> None:
        """Take one message (or time out at the nearest host deadline) and act on it."""
        timeout = _POLL
        if self.host_timeout is not None and running:
            nearest = min(slot.started for slot in running.values()) + self.host_timeout
            timeout = min(_POLL, max(0.0, nearest - time.monotonic()))
        try:
            message = self._messages.get(timeout=timeout)
        except queue.Empty:
            message = None
        if message is not None and message.index in running:
            slot = running[message.index]
            if message.kind == "retry":
                self._emit(
                    EventKind.RETRYING,
                    slot.target.host,
                    len(running),
                    attempt=message.attempt,
                    delay=message.delay,
                    error=message.error,
                )
            elif message.kind == "step":
                self._emit(EventKind.STEP, slot.target.host, len(running), step=message.step)
            elif message.kind == "done" and message.report is not None:
                del running[message.index]
                if message.index < self.canary and script_error(message.report):
                    self.summary.canary_failures.append(slot.target.label)
                self._finish(message.report, len(running))
        if self.host_timeout is not None:
            now = time.monotonic()
            for slot in [s for s in running.values() if now - s.started >= self.host_timeout]:
                del running[slot.index]
                self._abandon(slot)
                self._finish(
                    self._unfinished(
                        slot,
                        HostStatus.TIMEOUT,
                        f"no outcome within {self.host_timeout:g} s; stopped waiting "
                        "(the script may still be running on the PC)",
                    ),
                    len(running),
                )


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, RETRYABLE) and exc.before_script
