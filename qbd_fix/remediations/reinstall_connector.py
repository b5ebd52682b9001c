"""Reinstall the connector, keeping its Company ID.

Seed section: "The first link was successful but the company became
deauthorized immediately after the datasets completed" and its note "The same
Company ID must be used when re-completing the linking process". The script
saves link.json and the logs first, refuses to uninstall without a saved
Company ID (unless forced), and checks the ID afterwards.
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
        "uninstalls the connector found",
        "downloads (https) and runs the connector installer",
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
            "Uninstall even when no Company ID was found and saved",
        ),
        ScriptParameter(
            "InstallTimeoutSeconds",
            "int",
            600,
            "How long to wait for the uninstaller and the installer",
        ),
    ),
)
