"""Allow-list the connector in Webroot SecureAnywhere.

Seed section: "Whitelisting" (Webroot SecureAnywhere desktop app). Webroot has
no local command line for this, so the script detects Webroot, lists the exact
per-user Codat folders (and legacy connector folders) and returns the local app
steps and ready-to-paste console override entries. A Microsoft Defender
exclusion is an explicit, separate opt-in with its risk stated.

Most PCs now run the Web Connector generation, which the seed predates: what
must not be blocked there is Intuit's QBWebConnector.exe and Codat's auto-run
tool that starts it after a restart. The auto-run tool's name and folder are
not documented, so the script reports the programs it actually finds (under
Codat's folders in Program Files and each profile, and those the start-up
entries start). A program is allow-listed only when its Authenticode signature
is valid and its signer is Intuit or Codat (the signer list of
qbd_fix/signers.py, checked as for installers): a start-up entry or a running
process naming Codat or the Web Connector proves nothing, so an unsigned or
otherwise signed program is reported for a person to check, never
allow-listed. A signed program's folder becomes an override (with sub-folders)
only under Program Files or Program Files (x86), which only administrators can
write; anywhere else (a profile, Downloads) it gets an override for that exact
file, with a note. A program of Windows itself that a start-up entry happens to
start is reported, never allow-listed.

The Defender option covers the seed's folders and, now, the Web Connector's
install folder (Common Files\\Intuit\\QuickBooks\\QBWebConnector under Program
Files): on this generation it is the program that talks to QuickBooks and to
Codat, so it is what an over-eager scan blocks, and only administrators can
write there, so excluding it does not let malware a user drops be skipped the
way a user-writable folder would. The auto-run tool's folder is never
excluded: it may be in the user's profile, and it only starts the Web
Connector.
"""

from __future__ import annotations

from qbd_fix.remediations.base import Remediation
from qbd_fix.script.params import Flag, ScriptParameter

WEBROOT_WHITELIST = Remediation(
    name="webroot-whitelist",
    title="Allow-list the connector folders in Webroot (and optionally Defender)",
    seed_section="Whitelisting",
    summary=(
        "Detects Webroot, lists each user's Codat folder, any legacy connector folder and the "
        "Web Connector's and Codat's auto-run tool's programs found, and gives the app steps "
        "and console override entries to paste."
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
            "Add a Microsoft Defender exclusion for each connector folder and the Web "
            "Connector's install folder (security trade-off)",
            flag=Flag(
                "--defender-exclusion",
                "Also add Microsoft Defender exclusions for the connector folders and the Web "
                "Connector's install folder (only where Defender is active; a security trade-off).",
                danger="adds Microsoft Defender exclusions",
            ),
        ),
    ),
)
