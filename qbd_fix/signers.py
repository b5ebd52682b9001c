"""Who may sign a connector installer, in one place.

reinstall-connector uninstalls nothing, and reset-certificate starts no installer, unless the
installer carries a valid Authenticode signature whose signer certificate's subject common
name is one of these (or the administrator gave its SHA-256). The template engine renders
this tuple into both scripts. Codat signs its connector installers (the current one with an
EV certificate); Intuit signs the Web Connector it bundles. The names are the companies'
registered names in the spellings certificate authorities use; they are not confirmed against
a signed installer, so the script reports the signer it found, and an installer signed under
another name can still be used by giving its SHA-256. Names are compared whole, never as
patterns.
"""

from __future__ import annotations

from qbd_fix import validation
from qbd_fix.script.params import Flag, ScriptParameter

EXPECTED_SIGNERS: tuple[str, ...] = (
    "Codat Limited",
    "Codat Ltd",
    "Intuit Inc.",
    "Intuit, Inc.",
)

#: The DNS zone of Codat's Web Connector service: a .qwc file is Codat's only when its AppURL is
#: https on a host under this zone (compared on the parsed host, case-insensitively, on a dot
#: boundary: ``quickbooksdesktop.codat.io`` is, ``evilcodat.io`` and ``codat.io.example`` are not).
CODAT_HOST_ZONE = "codat.io"

#: An installer's SHA-256 as the administrator gives it (matched case-insensitively).
SHA256_PATTERN = "^[0-9a-f]{64}$"


def installer_sha256_parameter() -> ScriptParameter:
    """``-InstallerSha256``: when given, it decides alone whether an installer is trusted."""
    return ScriptParameter(
        "InstallerSha256",
        "string",
        "",
        "SHA-256 the installer must have; empty: it must carry a valid Codat or Intuit signature",
        pattern=SHA256_PATTERN,
        pattern_text="a SHA-256 digest: 64 hexadecimal characters",
        flag=Flag(
            "--installer-sha256",
            "SHA-256 the installer must have (64 hex characters); without it, it must carry a "
            "valid Codat or Intuit signature.",
            metavar="HEX",
            clean=lambda value: validation.sha256(value, "--installer-sha256"),
        ),
        sample="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    )


def grant_removed_parameter(consequence: str) -> ScriptParameter:
    """``-GrantRemoved``: the administrator confirms QuickBooks' old grant is gone."""
    return ScriptParameter(
        "GrantRemoved",
        "switch",
        False,
        f"'QuickBooks Connector' (or the Web Connector's application) was removed from "
        f"QuickBooks' Integrated Applications ({consequence})",
        flag=Flag(
            "--grant-removed",
            "Confirm 'QuickBooks Connector' (or the Web Connector's application) was removed "
            "from QuickBooks' Integrated Applications: no installer starts before.",
        ),
    )
