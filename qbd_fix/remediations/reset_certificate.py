"""Re-grant the connector's QuickBooks Application Certificate.

Seed sections: "Reinstalling the Application Certificate" and "Syncs and pushes
are still marked as queued or pending even though the connector is running".
The grant itself happens in QuickBooks, by a person: the script finds
QuickBooks, the connector installer and the SDK log's evidence, and returns the
exact steps. It can start the installer, or show the steps, on the logged-on
user's desktop (never in session 0, where nobody would see them). The installer
starts only once the administrator confirms the old grant was removed, only if
it is signed by Codat or Intuit (or has the SHA-256 given), and elevated only
for a user who is an administrator.

With the Web Connector generation, which most PCs run now, QuickBooks lists the
connection as the Web Connector application named by the AppName of the Codat
.qwc file, and it asks for the certificate when that file is opened again in
the Web Connector: the steps say so, with the .qwc files found in users'
Downloads (parsed as data only, with no DTD), and --launch-installer opens the
signed-in user's own .qwc file with QBWebConnector.exe on their desktop instead
of starting the installer. The same preconditions hold: the old grant removed
(--grant-removed), the .qwc file a Web Connector file whose AppURL is https
on a host under codat.io (another vendor's .qwc file is never opened), and
QBWebConnector.exe validly signed by Intuit. When the user's Downloads hold
Codat .qwc files of several connections (different AppName or FileID), none is
opened: they are listed, and the person opens the right one. The Web Connector
is started at the elevation of the user's QuickBooks (elevated only for an
administrator whose QuickBooks runs elevated), as restart-web-connector does;
when that elevation cannot be read, nothing is started and the person opens
the file. Without a .qwc file or without QBWebConnector.exe, the installer is
the step, as before.
"""

from __future__ import annotations

from qbd_fix.remediations.base import Remediation, client_name_parameter
from qbd_fix.script.params import Flag, ScriptParameter
from qbd_fix.signers import grant_removed_parameter, installer_sha256_parameter

RESET_CERTIFICATE = Remediation(
    name="reset-certificate",
    title="Re-grant the QuickBooks Application Certificate",
    seed_section="Reinstalling the Application Certificate",
    summary=(
        "Finds QuickBooks, the connector installer, the Web Connector's .qwc files and the SDK "
        "log evidence, and gives the exact steps to remove and re-grant the connector's "
        "application ('QuickBooks Connector', or the Web Connector's) with 'Yes, always'."
    ),
    may_change=(
        "starts the connector installer on the user's desktop (elevated, for an administrator), "
        "only with --launch-installer",
        "opens the user's .qwc file in the Web Connector on their desktop instead, when the PC "
        "has the Web Connector, only with --launch-installer",
        "writes the steps to %ProgramData%\\qbd-fix and opens them in Notepad on the user's "
        "desktop, only with --notify-user",
    ),
    template="reset_certificate.ps1.j2",
    parameters=(
        client_name_parameter(
            "Codat client name, to pick its installer; empty: any connector installer",
            "Client name, to pick its installer from users' Downloads.",
        ),
        ScriptParameter(
            "LaunchInstaller",
            "switch",
            False,
            "Start the newest connector installer in the logged-on user's session (with the Web "
            "Connector: open their .qwc file in it)",
            flag=Flag(
                "--launch-installer",
                "Start the connector installer on the logged-on user's desktop (with the Web "
                "Connector: open their .qwc file in it).",
            ),
        ),
        ScriptParameter(
            "NotifyUser",
            "switch",
            False,
            "Show the steps to the logged-on user in Notepad",
            flag=Flag("--notify-user", "Show the steps to the logged-on user."),
        ),
        ScriptParameter(
            "SdkLogTailKiB",
            "int",
            256,
            "How much of the end of qbsdklog.txt to read for SDK error codes",
            minimum=1,
            maximum=16384,
            sample=64,
        ),
        installer_sha256_parameter(),
        grant_removed_parameter("-LaunchInstaller waits for it"),
    ),
)
