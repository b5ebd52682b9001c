"""Reinstall the connector, keeping its Company ID.

Seed section: "The first link was successful but the company became
deauthorized immediately after the datasets completed" and its note "The same
Company ID must be used when re-completing the linking process". The script
plans first, reading only: the connector and its uninstall entries (matched by
folder and program, never by name alone), the Company ID, the installer's
signature or SHA-256, the Codat-side switch to ongoing sync and the removal of
QuickBooks' old grant (both confirmed by the administrator), and who can run the
installer with which rights. Only when every precondition holds does it back up,
uninstall, install and check the Company ID, one step at a time.

On a PC with the current generation (Intuit's Web Connector, installed by
``QuickBooksDesktopConnector.exe``) the backup holds the ``.qwc`` files and each
signed-in user's Web Connector registry keys, the Web Connector's folder is moved
into the backup once it is uninstalled, and the result gives the linking steps.
Its Company ID cannot be read on the PC: ``-CompanyId`` is used as given.
"""

from __future__ import annotations

from qbd_fix import validation
from qbd_fix.remediations.base import Remediation, client_name_parameter
from qbd_fix.script.params import GUID_PATTERN, Flag, ScriptParameter
from qbd_fix.signers import grant_removed_parameter, installer_sha256_parameter

REINSTALL_CONNECTOR = Remediation(
    name="reinstall-connector",
    title="Reinstall the connector with the same Company ID",
    seed_section="The first link was successful but the company became deauthorized immediately after the datasets completed",
    summary=(
        "Checks the installer's signature, backs up link.json and the logs (the Web "
        "Connector's .qwc files and settings), uninstalls the connector found, installs from "
        "--installer and checks the Company ID is unchanged where it can be read."
    ),
    may_change=(
        "writes a backup folder under C:\\ProgramData\\qbd-fix\\backups (with the Web "
        "Connector: its .qwc files and each signed-in user's Web Connector registry keys)",
        "ends the connector's processes and stops its scheduled tasks",
        "uninstalls the connector found",
        "moves the Web Connector's folder into the backup once it is uninstalled",
        "downloads (https) the installer to C:\\ProgramData\\qbd-fix\\downloads",
        "runs the installer: an MSI silently as SYSTEM, otherwise on the logged-on user's "
        "desktop (elevated only for an administrator)",
    ),
    template="reinstall_connector.ps1.j2",
    parameters=(
        ScriptParameter(
            "Installer",
            "string",
            "",
            "Connector installer: an https URL or a path on this PC",
            flag=Flag(
                "--installer",
                "Connector installer: an https URL, or a path on the PC.",
                metavar="URL|PATH",
                required=True,
                clean=validation.installer,
            ),
            sample="https://example.com/downloads/Acme-quickbooksdesktop-connector.exe",
        ),
        client_name_parameter(
            "Codat client name of the connector to reinstall; empty: the only one found",
            "Client name of the connector to reinstall. Default: the only one found.",
        ),
        ScriptParameter(
            "CompanyId",
            "string",
            "",
            "Expected Codat Company ID (GUID); must match link.json or nothing is changed "
            "(the Web Connector keeps none: there it is used as given)",
            pattern=GUID_PATTERN,
            pattern_text="a GUID such as 8a210b68-6988-11ed-a1eb-0242ac120002",
            flag=Flag(
                "--company-id",
                "Expected Codat Company ID; must match link.json or nothing changes. The Web "
                "Connector keeps no link.json: there it is used as given.",
                metavar="GUID",
                clean=validation.company_id,
            ),
            sample="8a210b68-6988-11ed-a1eb-0242ac120002",
        ),
        ScriptParameter(
            "Force",
            "switch",
            False,
            "Go on without a Company ID confirmed by link.json (none found, or none to match -CompanyId)",
            flag=Flag(
                "--force",
                "Uninstall even when no Company ID could be found and saved.",
                danger="uninstalls without a saved Company ID if none is found",
            ),
        ),
        ScriptParameter(
            "InstallTimeoutSeconds",
            "int",
            600,
            "How long to wait for the uninstaller and the installer",
            minimum=1,
            maximum=3600,
            flag=Flag(
                "--install-timeout",
                "How long to wait for the uninstaller and the installer.",
                metavar="SECONDS",
            ),
            sample=1200,
        ),
        installer_sha256_parameter(),
        ScriptParameter(
            "CodatSideDone",
            "switch",
            False,
            "The connection was switched to ongoing sync in the Codat Portal (nothing is uninstalled before)",
            flag=Flag(
                "--codat-side-done",
                "Confirm the connection was switched to ongoing sync in the Codat Portal: nothing "
                "is uninstalled before.",
            ),
        ),
        grant_removed_parameter("no installer starts before"),
    ),
    # The uninstaller's, the installer's and the link's waits, and ten minutes for the download
    # and checks.
    time_budget=lambda values: 3 * int(values["InstallTimeoutSeconds"]) + 600,
)
