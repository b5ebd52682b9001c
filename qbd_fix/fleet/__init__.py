"""Fleet runs: one remediation on many PCs, with an inventory, a bounded scheduler,
streaming reports and an audit log. No terminal output here; the CLI renders events."""

from __future__ import annotations

from qbd_fix.fleet.audit import AuditLog
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

__all__ = [
    "AuditLog",
    "Backoff",
    "EventKind",
    "FleetEvent",
    "FleetRun",
    "FleetSummary",
    "HostError",
    "HostReport",
    "HostStatus",
    "ReportWriter",
    "Target",
    "load",
    "open_report",
    "run_fleet",
    "select",
    "targets_from_hosts",
]
