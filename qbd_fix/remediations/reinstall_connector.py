"""Reinstall the connector, keeping its Company ID.

Seed section: "The first link was successful but the company became
deauthorized immediately after the datasets completed" and its note "The same
Company ID must be used when re-completing the linking process". The script
checks everything it needs (Company ID, installer, a logged-on user, a usable
uninstall command) before its first change, saves link.json and the logs,
refuses to uninstall without a saved Company ID (unless forced), runs the
per-user installer on the user's desktop and checks the ID afterwards. The
Codat connector mode and the SMB user's linking stay human steps; the result
says which.
"""

from __future__ import annotations

from qbd_fix.remediations.base import Remediation
from qbd_fix.script.params import ScriptParameter

REINSTALL_CONNECTOR = Remediation(
    name="reinstall-connector",
    title="Reinstall the connector with the same Company ID",
    seed_section="The first link was successful but the company became deauthorized immediately after the datasets completed",
    summary=(
        "Backs up link.json and the logs, uninstalls the connector found, installs from "
        "--installer and checks the Company ID is unchanged."
    ),
    may_change=(
        "writes a backup folder under C:\\ProgramData\\qbd-fix\\backups",
        "ends the connector's processes and stops its scheduled tasks",
        "uninstalls the connector found",
        "downloads (https) the installer to C:\\ProgramData\\qbd-fix\\downloads",
        "starts the connector installer on the logged-on user's desktop",
    ),
    template="reinstall_connector.ps1.j2",
    parameters=(
        ScriptParameter(
            "Installer",
            "string",
            "",
            "Connector installer: an https URL or a path on this PC",
        ),
        ScriptParameter(
            "ClientName",
            "string",
            "",
            "Codat client name of the connector to reinstall; empty: the only one found",
        ),
        ScriptParameter(
            "CompanyId",
            "string",
            "",
            "Expected Codat Company ID (GUID); must match link.json or nothing is changed",
        ),
        ScriptParameter(
            "Force",
            "switch",
            False,
            "Go on without a Company ID confirmed by link.json (none found, or none to match -CompanyId)",
        ),
        ScriptParameter(
            "InstallTimeoutSeconds",
            "int",
            600,
            "How long to wait for the uninstaller and the installer",
        ),
    ),
)
