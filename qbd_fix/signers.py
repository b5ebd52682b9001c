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

EXPECTED_SIGNERS: tuple[str, ...] = (
    "Codat Limited",
    "Codat Ltd",
    "Intuit Inc.",
    "Intuit, Inc.",
)

#: The ``param()`` pattern of an installer digest: empty (none given) or 64 hex characters.
SHA256_PATTERN = "^([0-9A-Fa-f]{64})?$"
