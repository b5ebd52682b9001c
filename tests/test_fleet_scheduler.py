"""The fleet scheduler with fake runners: retries, timeouts, stopping, concurrency, exit codes."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from qbd_fix import pipeline
from qbd_fix.errors import (
    AuthenticationFailedError,
    HostUnreachableError,
    RunTimeoutError,
    ScriptFailedError,
    WinRMUnavailableError,
)
from qbd_fix.fleet.inventory import Target
from qbd_fix.fleet.scheduler import (
    Backoff,
    EventKind,
    FleetEvent,
    FleetRun,
    FleetSummary,
    HostReport,
    HostStatus,
    fleet_exit_code,
)
from qbd_fix.pipeline import Plan
from qbd_fix.result import Result, Status
from qbd_fix.runners.base import OnStep, Runner, RunOutcome
from qbd_fix.script.engine import Script

FAST = Backoff(initial=0.001, factor=2.0, cap=0.004)
#: An answer per attempt: a status with its message, an exception to raise, or a callable.
Answer = tuple[Status, str] | BaseException | Callable[[], object]


@dataclass
class Lab:
    """Scripted answers per host, and what the fake runners saw."""

    answers: dict[str, list[Answer]] = field(default_factory=dict)
    delay: float = 0.002
    calls: Counter[str] = field(default_factory=Counter)
    closed: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def runner(self, target: Target) -> Runner:
        return FakeRunner(self, target.host)

    def answer(self, host: str) -> Answer:
        with self.lock:
            attempt = self.calls[host]
            self.calls[host] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)
            plan = self.answers.get(host, [(Status.OK, "all good")])
            answer = plan[min(attempt, len(plan) - 1)]
            if callable(answer) and not isinstance(answer, BaseException):
                answer = answer()  # type: ignore[assignment]
            return answer
        finally:
            with self.lock:
                self.in_flight -= 1


class FakeRunner(Runner):
    def __init__(self, lab: Lab, host: str) -> None:
        self.lab = lab
        self.target = host

    def run(
        self, script: Script, *, what_if: bool = False, on_step: OnStep | None = None
    ) -> RunOutcome:
        answer = self.lab.answer(self.target)
        if isinstance(answer, BaseException):
            raise answer
        status, message = answer  # type: ignore[misc]
        result = Result(script.name, self.target, status, messages=[message])
        return RunOutcome(target=self.target, result=result, duration=self.lab.delay)

    def fetch(self, remote_path: str, local_path: Path, *, sha256: str | None = None) -> None:
        raise AssertionError("no files in these tests")

    def close(self) -> None:
        with self.lab.lock:
            self.lab.closed[self.target] += 1


def run_all(
    targets: list[Target],
    make_runner: Callable[[Target], Runner],
    render: Callable[[Target], Script],
    **options: Any,
) -> FleetSummary:
    """One :class:`FleetRun`, run to its end."""
    return FleetRun(targets, make_runner, render, **options).run()


def lab_plan(targets: list[Target], lab: Lab, *, what_if: bool = False) -> Plan:
    """A real plan for restart-tasks (scripts, connections, passwords read) whose PCs are
    the lab's fake runners."""
    from qbd_fix.connection import ConnectionSettings
    from qbd_fix.remediations import get

    settings = ConnectionSettings(username="admin", auth="ntlm", ssl=False)
    job = pipeline.Job(get("restart-tasks"), what_if=what_if)
    # a variable left unset is "typed in" once, as on a terminal
    plan = pipeline.plan(job, targets, settings, ask=lambda _name, _count: "typed-password")
    plan.runner = lambda target: lab.runner(target)  # type: ignore[method-assign]
    return plan


def script_for(target: Target) -> Script:
    return Script(
        name="restart-tasks",
        text=f"# script for {target.client_name or 'any client'}\n",
        parameters={"ClientName": target.client_name or ""},
    )


def unreachable(before: bool = True) -> HostUnreachableError:
    return HostUnreachableError("PC is unreachable (no route to the host)", before_script=before)


def hosts(n: int, prefix: str = "PC") -> list[Target]:
    return [Target(host=f"{prefix}{i:03d}", client_name=f"Client {i}", group="g") for i in range(n)]


KINDS = [
    "ok",
    "changed",
    "needs",
    "failed",
    "flaky",
    "down",
    "auth",
    "crash",
    "lost",
    "refused",
    "connect-timeout",
    "run-timeout",
]


def mixed_lab(targets: list[Target]) -> tuple[Lab, dict[str, str]]:
    """120 hosts, ten of each kind of answer."""
    lab = Lab()
    kinds: dict[str, str] = {}
    for i, target in enumerate(targets):
        kind = KINDS[i % len(KINDS)]
        kinds[target.host] = kind
        plans: dict[str, list[Answer]] = {
            "ok": [(Status.OK, "nothing to do")],
            "changed": [(Status.CHANGED, "tasks restarted")],
            "needs": [(Status.NEEDS_USER_ACTION, "restart the PC")],
            "failed": [(Status.FAILED, "task not found")],
            "flaky": [unreachable(), unreachable(), (Status.CHANGED, "restarted on try 3")],
            "down": [unreachable()],
            "auth": [AuthenticationFailedError("rejected", before_script=True)],
            "crash": [ScriptFailedError("PowerShell failed: boom")],
            "lost": [unreachable(before=False)],
            "refused": [
                WinRMUnavailableError("nothing listens", before_script=True),
                (Status.OK, "ok"),
            ],
            "connect-timeout": [
                RunTimeoutError("connect timed out", before_script=True),
                (Status.OK, "ok"),
            ],
            "run-timeout": [RunTimeoutError("ran longer than 3600 s")],
        }
        lab.answers[target.host] = plans[kind]
    return lab, kinds


def test_mixed_fleet_of_120() -> None:
    targets = hosts(120)
    lab, kinds = mixed_lab(targets)
    gate = threading.Event()
    slow = Target(host="SLOW01", client_name="Slow")
    lab.answers["SLOW01"] = [lambda: gate.wait(60) and (Status.OK, "too late")]
    reports: list[HostReport] = []
    events: list[FleetEvent] = []
    began = time.monotonic()
    summary = run_all(
        [*targets, slow],
        lab.runner,
        script_for,
        concurrency=16,
        host_timeout=0.8,
        backoff=FAST,
        on_event=events.append,
        sink=reports.append,
    )
    elapsed = time.monotonic() - began
    gate.set()
    assert elapsed < 30, "the run waited for the PC past its --host-timeout"  # a hang guard

    by_host = {r.host: r for r in reports}
    assert len(reports) == len(by_host) == 121
    expected = {
        "ok": (HostStatus.OK, 1, 0, None),
        "changed": (HostStatus.CHANGED, 1, 0, None),
        "needs": (HostStatus.NEEDS_USER_ACTION, 1, 3, None),
        "failed": (HostStatus.FAILED, 1, 1, None),
        "flaky": (HostStatus.CHANGED, 3, 0, None),
        "down": (HostStatus.UNREACHABLE, 3, 10, "unreachable"),
        "auth": (HostStatus.AUTH_FAILED, 1, 12, "auth_failed"),
        "crash": (HostStatus.FAILED, 1, 16, "script_failed"),
        "lost": (HostStatus.UNREACHABLE, 1, 10, "unreachable"),
        "refused": (HostStatus.OK, 2, 0, None),
        "connect-timeout": (HostStatus.OK, 2, 0, None),
        "run-timeout": (HostStatus.TIMEOUT, 1, 11, "timeout"),
    }
    for host, kind in kinds.items():
        report = by_host[host]
        status, attempts, code, error_kind = expected[kind]
        got = (
            report.status,
            report.attempts,
            report.exit_code,
            report.error.kind if report.error else None,
        )
        assert got == (status, attempts, code, error_kind), (host, kind)
        assert lab.calls[host] == attempts, "run() is called once per attempt, never more"
        assert lab.closed[host] == attempts, "every runner is closed"
        assert (
            report.script_sha256
            == script_for(Target(host=host, client_name=report.client_name)).sha256
        )
        assert report.remediation == "restart-tasks" and report.client_name
        if report.error is None:
            assert report.result is not None and report.result["computer"] == host
            assert report.summary == report.result["messages"][0]
        else:
            assert report.result is None and report.summary == report.error.message

    timed_out = by_host["SLOW01"]
    assert timed_out.status is HostStatus.TIMEOUT and timed_out.exit_code == 11
    assert "may still be running" in timed_out.summary

    assert summary.total == summary.done == 121
    assert summary.counts[HostStatus.UNREACHABLE] == 20
    assert summary.counts[HostStatus.TIMEOUT] == 11
    assert summary.exit_code == 1

    kinds_seen = Counter(e.kind for e in events)
    assert kinds_seen[EventKind.STARTED] == 121 and kinds_seen[EventKind.FINISHED] == 121
    retries = [e for e in events if e.kind is EventKind.RETRYING]
    assert len(retries) == 10 * 2 + 10 * 2 + 10 + 10  # flaky, down, refused, connect-timeout
    assert {e.attempt for e in retries} == {2, 3}
    finished = [e for e in events if e.kind is EventKind.FINISHED]
    assert [e.done for e in finished] == list(range(1, 122))
    assert finished[-1].eta == 0 and all(e.total == 121 for e in events)
    assert any(e.eta and e.eta > 0 for e in finished[:-1])
    assert all(e.running <= 16 for e in events)


def test_concurrency_bound_is_respected() -> None:
    lab = Lab(delay=0.01)
    summary = run_all(hosts(40), lab.runner, script_for, concurrency=5)
    assert summary.counts[HostStatus.OK] == 40
    assert 2 <= lab.max_in_flight <= 5


def test_script_that_may_have_started_is_never_rerun() -> None:
    lab = Lab(answers={"PC000": [unreachable(before=False), (Status.OK, "second run")]})
    summary = run_all(hosts(1), lab.runner, script_for, retries=5, backoff=FAST)
    assert lab.calls["PC000"] == 1
    assert summary.counts[HostStatus.UNREACHABLE] == 1


def test_a_failing_script_renderer_or_bug_fails_one_host_only() -> None:
    from qbd_fix.errors import UsageError

    def render(target: Target) -> Script:
        if target.host == "PC001":
            raise UsageError("client_name is too long")
        if target.host == "PC002":
            raise KeyError("oops")
        return script_for(target)

    reports: list[HostReport] = []
    summary = run_all(hosts(3), Lab().runner, render, sink=reports.append)
    by_host = {r.host: r for r in reports}
    assert by_host["PC000"].status is HostStatus.OK
    assert by_host["PC001"].status is HostStatus.FAILED and by_host["PC001"].error.kind == "usage"  # type: ignore[union-attr]
    assert by_host["PC002"].error.kind == "internal" and by_host["PC002"].exit_code == 1  # type: ignore[union-attr]
    assert by_host["PC001"].attempts == 0 and not by_host["PC001"].script_sha256
    assert summary.exit_code == 1


def wait_until(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.002)


@pytest.fixture
def gated() -> Iterator[tuple[Lab, threading.Event]]:
    """A lab whose every run blocks until the gate opens (opened at teardown whatever happens)."""
    gate = threading.Event()
    lab = Lab()
    lab.answers = {t.host: [lambda: gate.wait(5) and (Status.CHANGED, "done")] for t in hosts(30)}
    yield lab, gate
    gate.set()


def start(run: FleetRun) -> tuple[threading.Thread, dict[str, object]]:
    box: dict[str, object] = {}
    thread = threading.Thread(target=lambda: box.setdefault("summary", run.run()), daemon=True)
    thread.start()
    return thread, box


def test_stop_once_drains_running_hosts_and_skips_the_rest(
    gated: tuple[Lab, threading.Event],
) -> None:
    lab, gate = gated
    reports: list[HostReport] = []
    events: list[FleetEvent] = []
    fleet = FleetRun(
        hosts(30),
        lab.runner,
        script_for,
        concurrency=3,
        sink=reports.append,
        on_event=events.append,
    )
    thread, box = start(fleet)
    wait_until(lambda: lab.in_flight == 3)
    fleet.stop()
    time.sleep(0.05)
    assert thread.is_alive(), "running hosts are waited for after one stop"
    gate.set()
    thread.join(3)
    assert not thread.is_alive()
    summary = box["summary"]
    statuses = Counter(r.status for r in reports)
    assert statuses == {HostStatus.CHANGED: 3, HostStatus.NOT_RUN: 27}
    assert sum(lab.calls.values()) == 3
    not_run = [r for r in reports if r.status is HostStatus.NOT_RUN]
    assert all(r.attempts == 0 and r.exit_code == 130 for r in not_run)
    assert summary.stopped == 1 and summary.exit_code == 130  # type: ignore[attr-defined]
    assert [e.stop_level for e in events if e.kind is EventKind.STOPPING] == [1]


def test_stop_twice_cancels_running_hosts_and_returns_promptly(
    gated: tuple[Lab, threading.Event],
) -> None:
    lab, _gate = gated
    reports: list[HostReport] = []
    fleet = FleetRun(hosts(30), lab.runner, script_for, concurrency=3, sink=reports.append)
    thread, box = start(fleet)
    wait_until(lambda: lab.in_flight == 3)
    fleet.stop()
    fleet.stop()
    thread.join(1)
    assert not thread.is_alive(), "the second stop does not wait for running hosts"
    statuses = Counter(r.status for r in reports)
    assert statuses == {HostStatus.CANCELLED: 3, HostStatus.NOT_RUN: 27}
    cancelled = [r for r in reports if r.status is HostStatus.CANCELLED]
    assert all(r.script_sha256 and "part-way" in r.summary for r in cancelled)
    assert box["summary"].stopped == 2  # type: ignore[attr-defined]


def test_keyboard_interrupt_acts_as_stop() -> None:
    lab = Lab()
    reports: list[HostReport] = []
    raised: list[str] = []

    def on_event(event: FleetEvent) -> None:
        if event.kind is EventKind.FINISHED and not raised:
            raised.append(event.host)
            raise KeyboardInterrupt

    summary = run_all(
        hosts(20), lab.runner, script_for, concurrency=2, on_event=on_event, sink=reports.append
    )
    assert summary.stopped == 1
    assert len(reports) == 20 and summary.done == 20
    assert summary.counts[HostStatus.NOT_RUN] >= 15
    assert summary.counts[HostStatus.OK] == sum(lab.calls.values())


def test_stop_ends_retrying_at_once() -> None:
    lab = Lab(answers={"PC000": [unreachable()]})
    fleet = FleetRun(hosts(1), lab.runner, script_for, retries=10, backoff=Backoff(5, 1, 5))
    thread, box = start(fleet)
    wait_until(lambda: lab.calls["PC000"] == 1)
    fleet.stop()
    thread.join(1)
    assert not thread.is_alive()
    assert lab.calls["PC000"] == 1
    assert box["summary"].counts[HostStatus.UNREACHABLE] == 1  # type: ignore[attr-defined]


def test_backoff_doubles_and_caps() -> None:
    backoff = Backoff()
    assert [backoff.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


@pytest.mark.parametrize(
    ("statuses", "code"),
    [
        ([], 0),
        ([HostStatus.OK, HostStatus.CHANGED], 0),
        ([HostStatus.OK, HostStatus.NEEDS_USER_ACTION], 3),
        ([HostStatus.NEEDS_USER_ACTION, HostStatus.FAILED], 1),
        ([HostStatus.OK, HostStatus.UNREACHABLE], 1),
        ([HostStatus.OK, HostStatus.AUTH_FAILED], 1),
        ([HostStatus.OK, HostStatus.TIMEOUT], 1),
        ([HostStatus.OK, HostStatus.NOT_RUN], 1),
        ([HostStatus.NEEDS_USER_ACTION, HostStatus.CANCELLED], 1),
    ],
)
def test_exit_code_rule(statuses: list[HostStatus], code: int) -> None:
    assert fleet_exit_code(Counter(statuses)) == code


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        FleetRun([], Lab().runner, script_for, concurrency=0)
    assert run_all([], Lab().runner, script_for).exit_code == 0
