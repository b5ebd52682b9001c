"""Fleet reports written as PCs finish: ``.json`` for tools, ``.csv`` for spreadsheets.

Rows go to a temporary file beside the report as each PC finishes, so memory
stays flat however large the fleet, and the file is renamed into place only
when it is complete. A run cut short still ends as a valid document: every
PC that never got a row is listed as ``not_run`` and the summary says
``interrupted``. Passwords never reach a report: the scheduler scrubs what it
hands over, and run settings with secret-looking names are redacted here.
"""

from __future__ import annotations

import abc
import csv
import datetime as _dt
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from qbd_fix.errors import ExitCode, UsageError
from qbd_fix.fleet.audit import REDACTED, SECRET_NAME
from qbd_fix.fleet.inventory import Target
from qbd_fix.fleet.scheduler import (
    FleetSummary,
    HostError,
    HostReport,
    HostStatus,
    fleet_exit_code,
)
from qbd_fix.mismatch import mismatch_in
from qbd_fix.text import json_text, visible

CSV_COLUMNS = (
    "host",
    "port",
    "client",
    "group",
    "status",
    "summary",
    "duration_s",
    "attempts",
    "exit_code",
    "error_kind",
    "error",
    "remediation",
    "script_sha256",
    "result_json",
    "mismatch",
)
#: Spreadsheet programs run cells starting with these as formulas.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _redact_deep(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if SECRET_NAME.search(str(k)) else _redact_deep(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact_deep(v) for v in value]
    return value


def host_document(report: HostReport) -> dict[str, Any]:
    """One PC's row for JSON: the report, and what its result named that was not asked."""
    doc = report.to_dict()
    found = mismatch_in(report.result, remediation=report.remediation, host=report.host)
    doc["mismatch"] = found.to_dict() if found else None
    return doc


def identity(report: HostReport) -> dict[str, Any] | None:
    """Of a result, only what names the fix and the PC: enough to flag a mismatch later
    while the table waits for the run to end, without holding every PC's whole result."""
    if report.result is None:
        return None
    return {key: report.result.get(key) for key in ("remediation", "computer")}


def not_run_report(target: Target, *, remediation: str = "", what_if: bool = False) -> HostReport:
    """The row of a PC the run never reached."""
    message = "not run: the fleet run ended before this PC was started"
    code = int(ExitCode.INTERRUPTED)
    return HostReport(
        host=target.host,
        port=target.port,
        client_name=target.client_name,
        group=target.group,
        remediation=remediation,
        status=HostStatus.NOT_RUN,
        summary=message,
        duration=0.0,
        attempts=0,
        exit_code=code,
        what_if=what_if,
        error=HostError(HostStatus.NOT_RUN.value, message, code),
    )


class ReportWriter(abc.ABC):
    """Streams host rows to a temporary file; :meth:`close` completes it and moves it into place.

    Use it as the scheduler's ``sink`` and as a context manager, so an
    exception still leaves a complete, valid report.
    """

    def __init__(
        self,
        path: Path,
        *,
        run: Mapping[str, Any] | None = None,
        targets: Sequence[Target] = (),
    ) -> None:
        self.path = path
        self.run = _redact_deep(
            {
                "started_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                **(run or {}),
            }
        )
        self._expected = {t.key: t for t in targets}
        self._written: set[tuple[str, int | None]] = set()
        self._counts: Counter[HostStatus] = Counter()
        self._closed = False
        path.parent.mkdir(parents=True, exist_ok=True)
        self._temp = path.with_name(f".{path.name}.{os.getpid()}.part")
        self._file = self._open(self._temp)
        try:
            self._begin()
        except BaseException:
            self.discard()
            raise

    @abc.abstractmethod
    def _open(self, path: Path) -> IO[str]: ...

    @abc.abstractmethod
    def _begin(self) -> None: ...

    @abc.abstractmethod
    def _row(self, report: HostReport) -> None: ...

    @abc.abstractmethod
    def _end(self, summary: dict[str, Any]) -> None: ...

    def write(self, report: HostReport) -> None:
        """Add one PC's row now (the scheduler's ``sink``)."""
        if self._closed:
            raise ValueError(f"report {self.path} is already closed")
        self._written.add((report.host.casefold(), report.port))
        self._counts[report.status] += 1
        self._row(report)
        self._file.flush()

    __call__ = write

    def close(self, summary: FleetSummary | None = None) -> Path:
        """Add rows for PCs never reported, the summary, and move the file into place.

        Without *summary* (the run did not finish) the document is marked interrupted.
        """
        if self._closed:
            return self.path
        remediation = str(self.run.get("remediation", ""))
        what_if = bool(self.run.get("what_if", False))
        for key, target in self._expected.items():
            if key not in self._written:
                self.write(not_run_report(target, remediation=remediation, what_if=what_if))
        doc: dict[str, Any] = summary.to_dict() if summary is not None else {}
        doc["counts"] = {s.value: self._counts.get(s, 0) for s in HostStatus}
        doc["done"] = sum(self._counts.values())
        doc["total"] = max(int(doc.get("total", 0)), doc["done"])
        doc["interrupted"] = summary is None or summary.stopped > 0
        # the process's own exit code: 130 once stopped (Ctrl-C, SIGTERM), as the command exits
        stopped = summary is not None and summary.stopped > 0
        doc["exit_code"] = int(ExitCode.INTERRUPTED) if stopped else fleet_exit_code(self._counts)
        doc["finished_at"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        self._end(doc)
        self._closed = True
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._temp, self.path)
        return self.path

    def discard(self) -> None:
        """Drop the temporary file without writing a report."""
        self._closed = True
        self._file.close()
        self._temp.unlink(missing_ok=True)

    def __enter__(self) -> ReportWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class JsonReport(ReportWriter):
    """``{"run": {...}, "hosts": [...], "summary": {...}}``, one host per line."""

    def _open(self, path: Path) -> IO[str]:
        return path.open("w", encoding="utf-8", newline="\n")

    def _begin(self) -> None:
        self._first = True
        run = json_text(self.run)
        self._file.write(f'{{"run": {run},\n"hosts": [')

    def _row(self, report: HostReport) -> None:
        self._file.write("\n" if self._first else ",\n")
        self._first = False
        self._file.write(json_text(host_document(report)))

    def _end(self, summary: dict[str, Any]) -> None:
        self._file.write(f'\n],\n"summary": {json_text(summary)}}}\n')


def _cell(value: object) -> str:
    """Text for one CSV cell: visible-safe (a PC's escapes and line breaks shown escaped),
    and a leading formula character defused with an apostrophe."""
    text = visible(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class CsvReport(ReportWriter):
    """One row per PC (see :data:`CSV_COLUMNS`); UTF-8 with BOM so Excel shows Unicode names."""

    def _open(self, path: Path) -> IO[str]:
        return path.open("w", encoding="utf-8-sig", newline="")

    def _begin(self) -> None:
        self._csv = csv.writer(self._file)
        self._csv.writerow(CSV_COLUMNS)

    def _row(self, report: HostReport) -> None:
        error = report.error
        found = mismatch_in(report.result, remediation=report.remediation, host=report.host)
        self._csv.writerow(
            [
                _cell(report.host),
                "" if report.port is None else report.port,
                _cell(report.client_name),
                _cell(report.group),
                report.status.value,
                _cell(report.summary),
                f"{report.duration:.3f}",
                report.attempts,
                report.exit_code,
                error.kind if error else "",
                _cell(error.message if error else ""),
                _cell(report.remediation),
                report.script_sha256,
                json_text(report.result) if report.result is not None else "",
                _cell(found.describe()) if found else "",
            ]
        )

    def _end(self, summary: dict[str, Any]) -> None:
        """A CSV has no place for a summary; the scheduler's result carries it."""


WRITERS: dict[str, type[ReportWriter]] = {".json": JsonReport, ".csv": CsvReport}


def open_report(
    path: str | Path,
    *,
    run: Mapping[str, Any] | None = None,
    targets: Sequence[Target] = (),
) -> ReportWriter:
    """A writer chosen by *path*'s extension (``.json`` or ``.csv``).

    *run* describes the run (remediation, what_if, operator...); *targets* are
    the PCs expected, so that any never reported are listed as not run.
    """
    file = Path(path).expanduser()
    writer = WRITERS.get(file.suffix.lower())
    if writer is None:
        raise UsageError(
            f"--report {str(path)!r}: use a .json or .csv file name",
            hint="the extension chooses the format",
        )
    if file.is_dir():
        raise UsageError(f"--report {str(path)!r} is a folder; give a file name")
    return writer(file, run=run, targets=targets)
