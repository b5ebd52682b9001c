"""Bring the Intuit Web Connector back in each signed-in user's session.

Seed section: "The QuickBooks Connector tray icon is red". On the current connector
generation the program the user sees is Intuit's Web Connector (``QBWebConnector.exe``),
a per-user tray program; a script in session 0 (WinRM, an RMM agent) starts it on each
user's desktop as a one-shot task of that user, at the elevation of that user's
QuickBooks (when the two differ, the Web Connector opens a second, hidden QuickBooks).
A running Web Connector may be syncing, so it is ended only with ``-ForceClose``.
``-ResetLog`` renames the Web Connector's log (kept as a backup) and lets the Users group
write its folder, the cure for QBWC1033 and, in field reports, QBWC1085.
"""

from __future__ import annotations

from collections.abc import Mapping

from qbd_fix.remediations.base import Remediation
from qbd_fix.script.params import Flag, ParamValue, ScriptParameter

#: Seconds around each user's start that are not the wait for the process: ending a running
#: Web Connector (10 s) and the one-shot task's own start (15 s), with a margin.
_PER_USER_OVERHEAD = 30


def _budget(values: Mapping[str, ParamValue]) -> int:
    """Two users' full restarts and a minute for the rest; more users share what is left,
    and every wait stops at the budget, so the result always arrives."""
    return 2 * (int(values["StartTimeoutSeconds"]) + _PER_USER_OVERHEAD) + 60


RESTART_WEB_CONNECTOR = Remediation(
    name="restart-web-connector",
    title="Restart the Intuit Web Connector (current connector)",
    seed_section="The QuickBooks Connector tray icon is red",
    summary=(
        "Starts QBWebConnector.exe again in each signed-in user's session, at the elevation "
        "of that user's QuickBooks, and checks it is back; a running one is left alone "
        "unless --force-close."
    ),
    may_change=(
        "starts QBWebConnector.exe in each signed-in user's session",
        "ends a user's running QBWebConnector.exe, only with --force-close",
        "renames QWCLog.txt (kept as a backup) and lets the Users group modify its folder, "
        "only with --reset-log",
    ),
    template="restart_web_connector.ps1.j2",
    parameters=(
        ScriptParameter(
            "ForceClose",
            "switch",
            False,
            "End a running Web Connector (a sync in progress stops) and start it again",
            flag=Flag(
                "--force-close",
                "End a running Web Connector and start it again (a sync in progress stops).",
                danger="ends a running Web Connector (a sync in progress stops)",
            ),
        ),
        ScriptParameter(
            "ResetLog",
            "switch",
            False,
            "Rename QWCLog.txt to a timestamped backup and let the Users group modify its folder "
            "(QBWC1033, QBWC1085); needs every Web Connector closed",
            flag=Flag(
                "--reset-log",
                "Rename QWCLog.txt to a timestamped backup and let the Users group write its "
                "folder (QBWC1033, QBWC1085); a running Web Connector needs --force-close.",
                danger="renames the Web Connector's log and lets the Users group modify its "
                "log folder",
            ),
        ),
        ScriptParameter(
            "StartTimeoutSeconds",
            "int",
            60,
            "How long to wait for the Web Connector to appear in each user's session",
            minimum=1,
            maximum=600,
            flag=Flag(
                "--start-timeout",
                "How long to wait for the Web Connector to appear in each user's session.",
                metavar="SECONDS",
            ),
            sample=120,
        ),
    ),
    time_budget=_budget,
)
