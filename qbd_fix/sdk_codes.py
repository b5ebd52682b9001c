"""QuickBooks SDK error codes and what they mean, in one place.

The doctor's rules (Python) and reset-certificate's script (PowerShell, through
the template engine) both explain these codes; this table feeds both. Meanings
come from public sources, and some sources disagree.
"""

from __future__ import annotations

SDK_CODES: dict[str, str] = {
    "0x80040154": "QuickBooks SDK not registered: QuickBooks is not installed, or its installation is damaged.",
    "0x80040403": "Could not open the company file.",
    "0x80040408": "Could not start QuickBooks (also reported as: not authorized).",
    "0x8004040A": "A different company file is already open in QuickBooks.",
    "0x80040416": "QuickBooks is not running and no company file was given.",
    "0x80040417": "QuickBooks is open but no company file is open.",
    "0x80040418": "This application has never accessed this company file: the QuickBooks Admin must grant first access in single-user mode.",
    "0x8004041A": "Access denied: grant it in Edit > Preferences > Integrated Applications.",
    "0x8004041D": 'The application is not allowed to log in automatically: the "Yes, always" grant is missing.',
    "0x80040420": "The QuickBooks user denied the application access.",
    "0x80040422": "Another application holds the company file in single-user mode.",
    "0x80040424": "QuickBooks has not finished starting.",
}
