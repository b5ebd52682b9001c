"""Execute a plan: one PC or many through the same scheduler, every report to the sinks."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qbd_fix.errors import QbdFixError, UsageError
from qbd_fix.fleet.scheduler import FleetEvent, FleetRun, FleetSummary, HostReport, HostStatus

if TYPE_CHECKING:
    from qbd_fix.fleet.audit import AuditLog
    from qbd_fix.fleet.report import ReportWriter
    from qbd_fix.pipeline.plan import Plan


def open_audit(path: str | Path | None = None) -> AuditLog:
    """The audit log, checked writable now: a run must not fail after it changed PCs."""
    from qbd_fix.fleet.audit import AUDIT_ENV, AuditLog

    log = AuditLog(path or None)
    try:
        log.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(log.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.close(fd)
    except OSError as exc:
        raise UsageError(
            f"cannot write the audit log {str(log.path)!r}: {exc.strerror}",
            hint=f"give a writable file with --audit-log PATH (or ${AUDIT_ENV})",
        ) from None
    return log


class Background:
    """Report rows, audit lines and progress lines, written on a thread of their own.

    Each is a blocking system call. On the scheduler's thread every one of them
    then waits for the GIL to come back, milliseconds while the workers are
    busy, and delays the next PC: three per PC cost seconds on a 1000-PC fleet.
    Work is done in order; the first error is kept and reported at the end.
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[..., object], tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="qbd-fix writer", daemon=True)
        self._thread.start()

    def submit(self, func: Callable[..., object], *args: Any) -> None:
        self._queue.put((func, args))

    def writer(self, stream: Any) -> Callable[[str], None]:
        """A ``write(text)`` for *stream* that runs here, flushing when nothing else waits."""

        def write(text: str) -> None:
            self.submit(self._write, stream, text)

        return write

    def _write(self, stream: Any, text: str) -> None:
        stream.write(text)
        if self._queue.empty():
            stream.flush()

    def _drain(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            func, args = item
            try:
                func(*args)
            except Exception as exc:  # kept for the end: the run goes on
                if self.error is None:
                    self.error = exc

    def close(self) -> None:
        """Wait until everything submitted is written."""
        self._queue.put(None)
        self._thread.join()


@dataclass
class Sinks:
    """Where each PC's report goes as it ends, besides the caller's own :attr:`on_report`."""

    audit: AuditLog | None = None
    report: ReportWriter | None = None
    #: Progress, on the thread running the plan (see :class:`~qbd_fix.fleet.FleetEvent`).
    on_event: Callable[[FleetEvent], None] | None = None
    #: Each PC's report as it ends, on the thread running the plan.
    on_report: Callable[[HostReport], None] | None = None


class Execution:
    """One run of a plan. :meth:`stop` and :meth:`cancel` may be called from any thread
    (a Ctrl-C handler): the first stops starting PCs, the second stops waiting."""

    def __init__(
        self,
        plan: Plan,
        sinks: Sinks | None = None,
        *,
        concurrency: int = 16,
        host_timeout: float | None = None,
        retries: int | None = None,
        canary: int = 0,
        keep_outcomes: bool = False,
    ) -> None:
        self.plan = plan
        self.sinks = sinks or Sinks()
        #: Audit lines and report rows (and any caller's writes) leave the scheduler's thread.
        self.files = Background()
        options: dict[str, Any] = {} if retries is None else {"retries": retries}
        job = plan.job
        self.fleet_run = FleetRun(
            plan.targets,
            plan.runner,
            plan.book,
            concurrency=concurrency,
            host_timeout=host_timeout,
            what_if=job.what_if,
            dest=job.dest,
            max_bundle_bytes=job.max_bundle_bytes,
            on_event=self._event,
            sink=self._sink,
            secrets=plan.secrets,
            canary=canary,
            steps=job.steps,
            keep_outcomes=keep_outcomes,
            perform=job.perform,
            **options,
        )
        self._by_key = {t.key: t for t in plan.targets}
        #: Where the report file landed, once :meth:`run` has closed it.
        self.report_path: Path | None = None

    def stop(self) -> None:
        self.fleet_run.stop()

    def cancel(self) -> None:
        self.fleet_run.cancel()

    def _event(self, event: FleetEvent) -> None:
        if self.sinks.on_event is not None:
            self.sinks.on_event(event)

    def _sink(self, report: HostReport) -> None:
        self.files.submit(self._write, report)
        if self.sinks.on_report is not None:
            self.sinks.on_report(report)

    def _write(self, report: HostReport) -> None:
        """On the writer thread: the report row, and the audit line of a PC that was tried."""
        if self.sinks.report is not None:
            self.sinks.report.write(report)
        if self.sinks.audit is not None and report.status is not HostStatus.NOT_RUN:
            target = self._by_key.get((report.host.casefold(), report.port))
            port = self.plan.port(target) if target is not None else None
            self.sinks.audit.record_report(report, report.script, port=port)

    def run(self) -> FleetSummary:
        """Run every PC of the plan; the report file is complete when this returns."""
        summary: FleetSummary | None = None
        try:
            summary = self.fleet_run.run()
        finally:
            self.files.close()
            if self.sinks.report is not None:
                self.report_path = self.sinks.report.close(summary)
            if self.files.error is not None:
                raise QbdFixError(f"writing the report or audit log failed: {self.files.error}")
        return summary


def report_meta(plan: Plan, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What a report file says about the run: the job (secret values redacted) and *extra*."""
    from qbd_fix.fleet.audit import redact, secret_parameter_names

    job = plan.job
    return {
        "remediation": job.remediation.name,
        "what_if": job.what_if,
        "parameters": redact(job.values, secret_parameter_names(job.remediation.name)),
        **dict(extra or {}),
        "hosts": len(plan.targets),
    }
