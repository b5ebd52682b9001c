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

from qbd_fix.remediations.base import Remediation, client_name_parameter
from qbd_fix.script.params import GUID_PATTERN, ScriptParameter

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
        client_name_parameter(
            "Codat client name of the connector to reinstall; empty: the only one found"
        ),
        ScriptParameter(
            "CompanyId",
            "string",
            "",
            "Expected Codat Company ID (GUID); must match link.json or nothing is changed",
            pattern=GUID_PATTERN,
            pattern_text="a GUID such as 8a210b68-6988-11ed-a1eb-0242ac120002",
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
            minimum=1,
            maximum=3600,
        ),
    ),
    # The uninstaller's and the installer's waits, and ten minutes for the download and checks.
    time_budget=lambda values: 2 * int(values["InstallTimeoutSeconds"]) + 600,
)
