"""How a fleet run looks on a terminal: live progress, the final table, the count line.

Kept apart from the flow (:mod:`qbd_fix.cli.run`) so the flow reads as a flow,
and so Rich is imported only once a fleet run actually draws something:
``qbd-fix --help`` must stay quick.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from qbd_fix.mismatch import mismatch_in
from qbd_fix.text import visible

if TYPE_CHECKING:
    from rich.console import Console

    from qbd_fix.cli.fleet import FleetOptions
    from qbd_fix.cli.options import RunOptions
    from qbd_fix.fleet.scheduler import FleetEvent, FleetSummary, HostReport
    from qbd_fix.pipeline import Plan, Sinks

#: How each status reads in counts and tables, best first.
STATUS_LABEL = {
    "ok": "ok",
    "changed": "changed",
    "needs_user_action": "need action",
    "failed": "failed",
    "unreachable": "unreachable",
    "auth_failed": "auth failed",
    "timeout": "timed out",
    "cancelled": "cancelled",
    "not_run": "not run",
}
STATUS_STYLE = {
    "ok": "green",
    "changed": "cyan",
    "needs_user_action": "yellow",
    "failed": "red",
    "unreachable": "red",
    "auth_failed": "red",
    "timeout": "red",
    "cancelled": "magenta",
    "not_run": "dim",
}


def _counts_text(counts: Mapping[str, int], total: int | None = None) -> str:
    parts = [
        f"[{STATUS_STYLE[s]}]{counts[s]} {label}[/]"
        for s, label in STATUS_LABEL.items()
        if counts.get(s)
    ]
    return " · ".join(parts) if parts else "[dim]none finished yet[/]"


def _plain_counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{counts[s]} {label}" for s, label in STATUS_LABEL.items() if counts.get(s))


def _eta_text(eta: float | None) -> str:
    if eta is None:
        return "ETA …"
    seconds = round(eta)
    return f"ETA {seconds // 60}:{seconds % 60:02d}"


def _write_stderr(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


class FleetProgress:
    """Progress on stderr: a live bar on a terminal, else one plain line per finished PC."""

    def __init__(
        self,
        total: int,
        title: str,
        *,
        live: bool | None = None,
        write: Callable[[str], None] | None = None,
    ) -> None:
        self.total = total
        self.title = title
        self.live = sys.stderr.isatty() if live is None else live
        self.write = write or _write_stderr
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> FleetProgress:
        if self.live:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            from qbd_fix.cli import output

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[counts]}"),
                TextColumn("[dim]{task.fields[eta]}"),
                TextColumn("[dim]{task.fields[step]}", markup=True),
                console=output.stderr_console(),
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                self.title,
                total=self.total,
                counts=_counts_text({}),
                eta=_eta_text(None),
                step="",
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def _say(self, markup: str, plain: str) -> None:
        if self._progress is not None:
            self._progress.console.print(markup, soft_wrap=True)
        else:
            self.write(plain + "\n")

    def __call__(self, event: FleetEvent) -> None:
        from rich.markup import escape

        from qbd_fix.fleet.scheduler import EventKind

        if event.kind is EventKind.FINISHED and event.report is not None:
            report = event.report
            status = report.status.value
            if self._progress is not None:
                self._progress.update(
                    self._task,
                    completed=event.done,
                    counts=_counts_text(event.counts),
                    eta=_eta_text(event.eta),
                )
            else:
                self.write(
                    f"[{event.done}/{event.total}] {_label(report)}: {STATUS_LABEL[status]} "
                    f"({report.duration:.1f} s) {_summary(report)}\n"
                )
        elif event.kind is EventKind.STEP:
            # the step the latest PC reached; a piped run prints only finished PCs (one
            # line per step of every PC would bury them)
            if self._progress is not None:
                text = escape(visible(f"{event.host}: {event.step}"))
                self._progress.update(self._task, step=text)
        elif event.kind is EventKind.RETRYING:
            reason = event.error.message if event.error else "not reachable"
            text = visible(
                f"{event.host}: retry {event.attempt - 1} in {event.delay:.1f} s ({reason})"
            )
            self._say(f"[dim]{escape(text)}[/]", text)
        elif event.kind is EventKind.STOPPING:
            if event.stop_level >= 2:
                text = (
                    "Cancelled: PCs still running are reported as cancelled (they may be part-way)."
                )
            else:
                text = (
                    f"Stopping: no new PCs; waiting for {event.running} running "
                    "(Ctrl-C again to stop waiting)."
                )
            self._say(f"[yellow]{escape(text)}[/]", text)


def _label(report: HostReport) -> str:
    if report.port is None:
        return visible(report.host)
    host = f"[{report.host}]" if ":" in report.host else report.host
    return visible(f"{host}:{report.port}")


def _summary(report: HostReport) -> str:
    """The one-line summary, flagged when the PC answered for another fix or another PC."""
    found = mismatch_in(report.result, remediation=report.remediation, host=report.host)
    summary = visible(report.summary)
    return f"[{found.describe()}] {summary}" if found else summary


#: Columns of the final table take three cells between them (a blank rule, padding) and one at each edge.
_PADDING = 3 * 4 + 2
#: The narrowest a client or summary column gets before the summary is cut to nothing.
_MIN_CLIENT, _MIN_SUMMARY, _MAX_CLIENT = 6, 10, 30


def render_table(reports: Sequence[HostReport], console: Console) -> None:
    """The final table: host, client, status, one-line summary, duration.

    Host, status and time always show whole; the summary (then the client)
    gives way on a narrow terminal, cut with an ellipsis.
    """
    from rich import box
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    rows = [
        (
            _label(report),
            visible(report.client_name) if report.client_name else "—",
            STATUS_LABEL[report.status.value],
            _summary(report),
            f"{report.duration:.1f} s",
            report,
        )
        for report in reports
    ]

    def widest(index: int, header: str) -> int:
        return max([cell_len(header), *(cell_len(str(row[index])) for row in rows)])

    host_w, status_w, time_w = widest(0, "host"), widest(2, "status"), widest(4, "time")
    client_w = min(widest(1, "client"), _MAX_CLIENT)
    room = console.width - host_w - status_w - time_w - _PADDING
    if room - client_w < _MIN_SUMMARY:
        client_w = max(min(client_w, room - _MIN_SUMMARY), min(client_w, _MIN_CLIENT))
    summary_w = max(room - client_w, 1)

    table = Table(box=box.SIMPLE_HEAD, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("host", no_wrap=True, min_width=host_w)
    table.add_column("client", overflow="ellipsis", no_wrap=True, max_width=client_w)
    table.add_column("status", no_wrap=True, min_width=status_w)
    table.add_column("summary", overflow="ellipsis", no_wrap=True, max_width=summary_w)
    table.add_column("time", justify="right", no_wrap=True, min_width=time_w)
    for label, client, status_label, summary, duration, report in rows:
        status = report.status.value
        table.add_row(
            Text(label),
            Text(client, style="" if report.client_name else "dim"),
            Text(status_label, style=STATUS_STYLE[status]),
            Text(summary),
            Text(duration),
        )
    console.print(table)


def count_line(summary: FleetSummary) -> str:
    """``12 PCs: 10 ok, 2 failed in 8.3 s``: plain text, as it also goes under JSON output."""
    counts = {s.value: n for s, n in summary.counts.items()}
    line = f"{summary.total} PC{'s' if summary.total != 1 else ''}: {_plain_counts(counts) or 'none run'}"
    line += f" in {summary.duration:.1f} s"
    if summary.stopped:
        line += " (stopped)" if summary.stopped == 1 else " (cancelled)"
    return line


def run_fleet(plan: Plan, sinks: Sinks, run: RunOptions, fleet: FleetOptions) -> int:
    """Execute a fleet plan with progress on stderr, then the table (or JSON) on stdout."""
    import dataclasses

    from qbd_fix.cli import output
    from qbd_fix.cli.fleet import stop_signals
    from qbd_fix.fleet import open_report
    from qbd_fix.fleet.report import host_document, identity
    from qbd_fix.fleet.scheduler import HostStatus
    from qbd_fix.pipeline import Execution
    from qbd_fix.pipeline.execute import report_meta

    if fleet.report is not None:
        meta = {
            "inventory": fleet.inventory or fleet.inventory_from_ansible,
            "limit": list(fleet.limit),
            "concurrency": fleet.concurrency,
            "canary": fleet.canary,
        }
        sinks.report = open_report(fleet.report, run=report_meta(plan, meta), targets=plan.targets)
    order = {t.key: i for i, t in enumerate(plan.targets)}
    finished: list[tuple[int, HostReport]] = []

    def keep(report: HostReport) -> None:
        light = report if run.json else dataclasses.replace(report, result=identity(report))
        finished.append((order.get((report.host.casefold(), report.port), len(order)), light))

    sinks.on_report = keep
    title = f"{plan.job.remediation.name}{' (what-if)' if plan.job.what_if else ''}"
    execution = Execution(
        plan,
        sinks,
        concurrency=fleet.concurrency,
        host_timeout=fleet.host_timeout,
        retries=fleet.retries,
        canary=fleet.canary or 0,
    )
    with FleetProgress(len(plan.targets), title, write=execution.files.writer(sys.stderr)) as bar:
        sinks.on_event = bar
        # the handlers stay until the report is in place: a SIGTERM now must not leave
        # a half-written report behind
        with stop_signals(execution):
            summary = execution.run()
    reports = [report for _, report in sorted(finished, key=lambda item: item[0])]
    if run.json:
        output.json_document(
            {"hosts": [host_document(r) for r in reports], "summary": summary.to_dict()}
        )
        output.note(count_line(summary))
    else:
        console = output.stdout_console()
        render_table(reports, console)
        console.print(count_line(summary), highlight=False, markup=False)
    if summary.canary_failures:
        failed = summary.canary_failures
        output.note(
            f"Canary: {', '.join(failed)} ended in a script error; "
            f"{summary.counts.get(HostStatus.NOT_RUN, 0)} other PCs were not run."
        )
    if execution.report_path is not None:
        output.note(f"Report: {execution.report_path}")
    return summary.exit_code
