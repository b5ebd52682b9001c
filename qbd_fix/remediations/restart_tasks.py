"""Restart the connector's scheduled tasks.

Seed section: "The QuickBooks Connector tray icon is red". End
``QuickbooksDesktopUI.exe``, run ``QuickbooksDesktop_{CLIENT}`` and then
``QuickbooksDesktopUi_{CLIENT}``, and check that the tray process is back.
Starting the tasks (rather than the programs) is what makes this work over
WinRM: the tasks run as the logged-on user, not in session 0. A PC with only the
current connector (Intuit Web Connector) has no such tasks: there the Web Connector is
brought back the way ``restart-web-connector`` does it, running ones left alone.
"""

from __future__ import annotations

from qbd_fix.remediations.base import Remediation, client_name_parameter
from qbd_fix.script.params import Flag, ScriptParameter

RESTART_TASKS = Remediation(
    name="restart-tasks",
    title="Restart the connector tasks (red tray icon)",
    seed_section="The QuickBooks Connector tray icon is red",
    summary=(
        "Ends QuickbooksDesktopUI.exe, runs QuickbooksDesktop_{CLIENT} then "
        "QuickbooksDesktopUi_{CLIENT}, and checks the tray app is back."
    ),
    may_change=(
        "ends the QuickbooksDesktopUI.exe process",
        "starts the two connector scheduled tasks",
        "restarts the PC, only with --restart-if-unhealthy",
        "starts QBWebConnector.exe in each signed-in user's session, on a PC with only the "
        "Web Connector",
    ),
    template="restart_tasks.ps1.j2",
    parameters=(
        client_name_parameter(
            "Codat client name in the task names; empty: discover the one pair of tasks",
            "Client name in the task names. Default: the one pair of connector tasks on the PC.",
        ),
        ScriptParameter(
            "TaskTimeoutSeconds",
            "int",
            60,
            "How long to wait for each task (and the tray process) to start",
            minimum=1,
            maximum=600,
            flag=Flag(
                "--task-timeout",
                "How long to wait for each task and the tray app to start.",
                metavar="SECONDS",
            ),
            sample=300,
        ),
        ScriptParameter(
            "RestartIfUnhealthy",
            "switch",
            False,
            "Restart the PC when the tray process is still missing afterwards",
            flag=Flag(
                "--restart-if-unhealthy",
                "Restart the PC (in 2 minutes) if the tray app is still not running.",
                danger="restarts the PC if the connector is still unhealthy",
            ),
        ),
    ),
    # Two task waits, the tray's own wait and a minute for everything else.
    time_budget=lambda values: 3 * int(values["TaskTimeoutSeconds"]) + 60,
)
