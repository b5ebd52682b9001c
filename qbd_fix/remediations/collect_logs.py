"""Collect the connector's and QuickBooks' logs into one zip.

Seed section: "Accessing logs". connector.log files, link.json (secrets
redacted), qbsdklog.txt and its rotated copies, the two tasks' XML, process and
version facts and recent Application-log errors, with a manifest. Large logs
keep their newest part, so the bundle stays small enough to send. Collecting
only reads: the zip is a temporary file (built and removed again under
-WhatIf, since nobody fetches it then).

Most PCs now run the Web Connector generation, whose troubles show in other
places: QWCLog.txt, the Web Connector's keys in each user's hive (which values
hold Auto-Run and the interval is not documented, so all are kept by name and
kind; only values whose name is known to be harmless are read, and one named
like a secret is never read at all, since the Web Connector keeps the
connection's password there), the
.qwc files users downloaded (parsed as data only: which connection, which URL)
and the start-up entry that restarts the Web Connector, whose kind is not
documented, so Run keys, Startup folders and scheduled tasks are all read.
"""

from __future__ import annotations

from qbd_fix.remediations.base import Remediation
from qbd_fix.script.params import NO_CONTROL, Flag, ScriptParameter

COLLECT_LOGS = Remediation(
    name="collect-logs",
    title="Collect connector and QuickBooks logs into a zip",
    seed_section="Accessing logs",
    summary=(
        "Bundles connector.log, link.json (redacted), qbsdklog.txt, the tasks' XML, process "
        "and version facts and recent Application-log errors, and for the Web Connector "
        "QWCLog.txt, its per-user settings (redacted), the .qwc files' fields and its start-up "
        "entries, with a manifest."
    ),
    may_change=("writes a temporary zip on the PC (removed once it is copied home)",),
    template="collect_logs.ps1.j2",
    parameters=(
        ScriptParameter(
            "NoRedact",
            "switch",
            False,
            "Keep link.json and Web Connector registry values as they are (they may include "
            "secrets; Web Connector values named like a secret are never read)",
            flag=Flag(
                "--no-redact",
                "Keep link.json and Web Connector registry values unredacted (they may include "
                "secrets; Web Connector values named like a secret are never read).",
            ),
        ),
        ScriptParameter(
            "MaxFileMiB",
            "int",
            20,
            "Keep at most this many MiB of each log (the newest part)",
            minimum=1,
            maximum=2048,
            flag=Flag(
                "--max-file-mib",
                "Keep at most this much of each log (its newest part).",
                metavar="MIB",
            ),
            sample=2048,
        ),
        ScriptParameter(
            "EventDays",
            "int",
            7,
            "How many days of Application-log errors to include",
            minimum=0,
            maximum=90,
            flag=Flag("--event-days", "Days of Application-log errors to include.", metavar="DAYS"),
            sample=90,
        ),
        ScriptParameter(
            "OutputDirectory",
            "string",
            "",
            "Folder on the PC for the zip; empty: the system temporary folder",
            pattern=NO_CONTROL,
            pattern_text="a folder path without control characters",
            sample="C:\\Temp\\qbd logs",
        ),
    ),
    # Reading and zipping logs of up to MaxFileMiB each, with room for a slow disk.
    time_budget=lambda values: 600 + 2 * int(values["MaxFileMiB"]),
    collects_file=True,
)
