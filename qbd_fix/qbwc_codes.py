"""Intuit Web Connector (QBWC) error codes as data: what each means and what fixes it.

The Web Connector writes ``QBWCnnnn`` codes into its log (``QWCLog.txt``). Meanings come from
Intuit's Web Connector Programmer's Guide (Appendix A), except where ``source`` says they come
from field reports only. Each code names the troubleshooting topic it belongs to (a finding id
of :mod:`qbd_fix.doctor.rules`) and its fix: a ``qbd-fix`` command where one does the work, and
otherwise the exact steps for a person. QuickBooks SDK codes (``0x8004xxxx``), which often
appear in the same log lines, are explained by :mod:`qbd_fix.sdk_codes`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from qbd_fix.sdk_codes import SDK_CODES

Severity = Literal["fail", "warn"]

#: The Web Connector's log and its folder, as written in steps for a person.
QWCLOG = r"C:\ProgramData\Intuit\QBWebConnector\log\QWCLog.txt"
QWCLOG_FOLDER = r"C:\ProgramData\Intuit\QBWebConnector\log"

CODE_PATTERN = re.compile(r"(?<![A-Za-z0-9])QBWC(\d{4})(?![0-9])", re.IGNORECASE)


@dataclass(frozen=True)
class QbwcCode:
    """One Web Connector error code: its meaning, its topic and how it is fixed."""

    code: str
    meaning: str
    #: The doctor finding it belongs to: tray-icon, queued-syncs, one-time-sync, logs, network.
    topic: str
    severity: Severity
    #: Exact steps for a person; empty when the command alone fixes it.
    steps: str = ""
    #: ``qbd-fix`` subcommand and its switches, e.g. ``("restart-web-connector", "--reset-log")``.
    command: tuple[str, ...] = ()
    source: str = "Intuit's Web Connector Programmer's Guide"


_RESTART = ("restart-web-connector",)
_RESET_LOG = ("restart-web-connector", "--reset-log")

_LOG_FOLDER_STEPS = (
    f"As an administrator, make sure the folder {QWCLOG_FOLDER} exists and that Users may change "
    f'files in it (icacls "{QWCLOG_FOLDER}" /grant *S-1-5-32-545:(OI)(CI)M), then restart the '
    "Web Connector."
)
_QUICKBOOKS_STEPS = (
    "As the Windows user who runs the Web Connector, open QuickBooks with the connector's "
    "company file, close any QuickBooks window or message that is waiting for an answer, then "
    "click Update Selected in the Web Connector. QuickBooks' own message in the same log line "
    "says which of these it was."
)
_RETYPE_STEPS = (
    "In the Web Connector, select the Codat row, type the password copied from Codat's link "
    "page into its Password column, press Enter and answer Yes to save it; then click Update "
    "Selected."
)
_REREGISTER_STEPS = (
    "1) In the Web Connector, untick Auto-Run for the Codat row. 2) Close the Web Connector "
    "(File > Exit) and start it again (the fix command does this). 3) Run the .qwc file from "
    "Codat's link page again and tick Auto-Run."
)
_STAMP_STEPS = (
    "The application is already stamped on this company file (it was linked before). As the "
    "QuickBooks administrator, remove the stamp with Intuit's CP3 tool for this company file, "
    "then run the .qwc file from Codat's link page again; in Codat, keep the same Company ID."
)
_URL_STEPS = (
    "Download the .qwc file again from Codat's link page and run it (its address must start "
    "with https://); remove the old Codat row from the Web Connector first."
)
_WEB_SERVICE_STEPS = (
    "Check that this PC reaches https://quickbooksdesktop.codat.io and https://connectors.codat.io "
    "(proxy, firewall, DNS); if it does and the error repeats, send the logs to Codat support."
)
_CERTIFICATE_STEPS = (
    "Something between this PC and Codat presents its own certificate (HTTPS inspection in an "
    "antivirus web shield, a proxy or a firewall), or the PC's clock is wrong. Check the date and "
    "time, then exclude quickbooksdesktop.codat.io and connectors.codat.io from HTTPS inspection."
)


def _codes(
    codes: tuple[str, ...],
    meaning: str,
    topic: str,
    severity: Severity,
    steps: str = "",
    command: tuple[str, ...] = (),
    source: str = "Intuit's Web Connector Programmer's Guide",
) -> dict[str, QbwcCode]:
    return {c: QbwcCode(c, meaning, topic, severity, steps, command, source) for c in codes}


QBWC_CODES: dict[str, QbwcCode] = {
    **_codes(
        ("QBWC1005", "QBWC1006"),
        "The Web Connector failed: its log folder is missing or cannot be written.",
        "logs",
        "fail",
        _LOG_FOLDER_STEPS,
        _RESTART,
    ),
    **_codes(
        ("QBWC1007", "QBWC1008", "QBWC1009", "QBWC1013"),
        "The Web Connector could not connect to QuickBooks: QuickBooks is not running, no "
        "company file is open, or a QuickBooks dialog is open.",
        "queued-syncs",
        "fail",
        _QUICKBOOKS_STEPS,
    ),
    **_codes(
        ("QBWC1010",),
        "The application's address (AppURL) is not https.",
        "one-time-sync",
        "fail",
        _URL_STEPS,
    ),
    **_codes(
        ("QBWC1011", "QBWC1032"),
        "The application is missing from the Web Connector's registry, or out of step with it.",
        "one-time-sync",
        "fail",
        _REREGISTER_STEPS,
        _RESTART,
    ),
    **_codes(
        ("QBWC1012",),
        "Authentication with Codat's web service failed.",
        "one-time-sync",
        "fail",
        _RETYPE_STEPS,
    ),
    **_codes(
        ("QBWC1030", "QBWC1040"),
        "The connection's password is not set, or not valid.",
        "one-time-sync",
        "fail",
        _RETYPE_STEPS,
    ),
    **_codes(
        ("QBWC1033",),
        "The Web Connector cannot write its log file.",
        "logs",
        "fail",
        command=_RESET_LOG,
    ),
    **_codes(
        ("QBWC1039",),
        "Unique OwnerID/FileID pair value required: the application is already stamped on "
        "this company file.",
        "one-time-sync",
        "fail",
        _STAMP_STEPS,
    ),
    **_codes(
        ("QBWC1041", "QBWC1042", "QBWC1043", "QBWC1044", "QBWC1045"),
        "An exception while talking to Codat's web service.",
        "network",
        "warn",
        _WEB_SERVICE_STEPS,
        ("collect-logs",),
    ),
    **_codes(
        ("QBWC1048",),
        "The Web Connector could not verify the server's certificate.",
        "network",
        "fail",
        _CERTIFICATE_STEPS,
    ),
    **_codes(
        ("QBWC1085",),
        "A problem with the Web Connector's log file (QWCLog.txt).",
        "logs",
        "fail",
        command=_RESET_LOG,
        source="field reports only",
    ),
}


def normal_code(text: str) -> str:
    """``qbwc1039`` -> ``QBWC1039``; anything that is not a QBWC code -> ''."""
    match = CODE_PATTERN.fullmatch(text.strip())
    return f"QBWC{match.group(1)}" if match else ""


def describe(code: str) -> str:
    """One line for a QBWC or SDK code: its meaning, or that it is not a known one."""
    known = QBWC_CODES.get(code)
    if known is not None:
        suffix = " (field reports only)" if known.source == "field reports only" else ""
        return known.meaning.rstrip(".") + suffix
    if code in SDK_CODES:
        return SDK_CODES[code].rstrip(".")
    if code.startswith("QBWC"):
        return "not in Intuit's list of Web Connector codes: read the log line"
    return "QuickBooks SDK error"
