"""Fleets: the inventory of PCs, the bounded scheduler every run goes through, streaming
reports, the audit log and each PC's own script (or script file). No terminal output
here; the CLI renders events, and :mod:`qbd_fix.pipeline` puts the parts together."""

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
)
from qbd_fix.fleet.scripts import ScriptBook, script_file_names, where, with_client, write_scripts

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
    "ScriptBook",
    "Target",
    "load",
    "open_report",
    "script_file_names",
    "select",
    "targets_from_hosts",
    "where",
    "with_client",
    "write_scripts",
]
