"""Allow-list the connector in Webroot SecureAnywhere.

Seed section: "Whitelisting" (Webroot SecureAnywhere desktop app). Webroot has
no local command line for this, so the script detects Webroot, lists the exact
per-user Codat folders (and legacy connector folders) and returns the local app
steps and ready-to-paste console override entries. A Microsoft Defender
exclusion is an explicit, separate opt-in with its risk stated.
"""

from __future__ import annotations

from qbd_fix.remediations.base import Remediation
from qbd_fix.script.params import Flag, ScriptParameter

WEBROOT_WHITELIST = Remediation(
    name="webroot-whitelist",
    title="Allow-list the connector folders in Webroot (and optionally Defender)",
    seed_section="Whitelisting",
    summary=(
        "Detects Webroot, lists each user's Codat folder and any legacy connector folder, and "
        "gives the app steps and console override entries to paste."
    ),
    may_change=(
        "adds Microsoft Defender exclusions, only with --defender-exclusion and only where "
        "Defender is the active antivirus",
    ),
    template="webroot_whitelist.ps1.j2",
    parameters=(
        ScriptParameter(
            "DefenderExclusion",
            "switch",
            False,
            "Add a Microsoft Defender exclusion for each connector folder (security trade-off)",
            flag=Flag(
                "--defender-exclusion",
                "Also add Microsoft Defender exclusions for the connector folders (only where "
                "Defender is active; a security trade-off).",
                danger="adds Microsoft Defender exclusions",
            ),
        ),
    ),
)
