"""Fleet runs: one remediation on many PCs, with an inventory, a bounded scheduler,
streaming reports, an audit log and each PC's own script (or script file).
No terminal output here; the CLI renders events."""

from __future__ import annotations

from qbd_fix.fleet.audit import AuditLog
from qbd_fix.fleet.doctor import DoctorSettings, doctor_judge, judged
from qbd_fix.fleet.inventory import Target, load, select, targets_from_hosts
from qbd_fix.fleet.report import ReportWriter, open_report
from qbd_fix.fleet.scheduler import (
    Backoff,
    EventKind,
    FleetEvent,
    FleetRun,
    FleetSummary,
    HostError,
    HostReport,
    HostStatus,
    run_fleet,
)
from qbd_fix.fleet.scripts import ScriptBook, script_file_names, where, with_client, write_scripts

__all__ = [
    "AuditLog",
    "Backoff",
    "DoctorSettings",
    "EventKind",
    "FleetEvent",
    "FleetRun",
    "FleetSummary",
    "HostError",
    "HostReport",
    "HostStatus",
    "ReportWriter",
    "ScriptBook",
    "Target",
    "doctor_judge",
    "judged",
    "load",
    "open_report",
    "run_fleet",
    "script_file_names",
    "select",
    "targets_from_hosts",
    "where",
    "with_client",
    "write_scripts",
]
