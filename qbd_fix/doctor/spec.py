"""The facts script of ``qbd-fix doctor``, described like a remediation but changing nothing.

It is kept out of the remediation catalogue on purpose: ``qbd-fix list`` shows
fixes, and the doctor only names them. ``may_change`` is empty, so the run flow
never asks for confirmation.
"""

from __future__ import annotations

from qbd_fix.remediations.base import Remediation
from qbd_fix.script.params import ScriptParameter

DOCTOR = Remediation(
    name="doctor",
    title="Diagnose every troubleshooting topic (read-only)",
    seed_section="Troubleshooting",
    summary=(
        "Gathers connector, task, process, Web Connector, log, antivirus, policy, network and "
        "restart facts; qbd-fix turns them into one finding per troubleshooting topic, with the "
        "fixing command."
    ),
    may_change=(),
    template="doctor_facts.ps1.j2",
    parameters=(
        ScriptParameter(
            "LogTailKiB",
            "int",
            256,
            "How much of each log to read, from its end (KiB)",
            minimum=1,
            maximum=16384,
        ),
        ScriptParameter(
            "EventDays",
            "int",
            7,
            "Days of AppLocker and SRP events to look through",
            minimum=0,
            maximum=90,
            sample=90,
        ),
        ScriptParameter(
            "QwcLogLines",
            "int",
            200,
            "How many of QWCLog.txt's last lines to carry in the facts (each cut at 500 characters)",
            minimum=0,
            maximum=2000,
        ),
        ScriptParameter(
            "ConnectTimeoutMs",
            "int",
            3000,
            "How long to wait for each Codat host on port 443 (ms)",
            minimum=100,
            maximum=60000,
        ),
    ),
)
