"""Checks for user values, each returning the clean value or raising UsageError.

The scripts treat every value as data, so these checks are not what keeps a
value from becoming code (see :mod:`qbd_fix.script.quote`); they catch input
that cannot be right, with a message that says why.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from pathlib import Path, PureWindowsPath
from urllib.parse import urlsplit

from qbd_fix.errors import UsageError

MAX_CLIENT_NAME = 200
_WINDOWS_BAD_PATH_CHARS = set('<>"|?*')
#: A host name: labels of 1-63 letters, digits, hyphens (not first or last) and underscores,
#: separated by dots; one match per name, as a fleet checks every row.
_HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)(?:\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))*")
_DIGITS_AND_DOTS = re.compile(r"[0-9.]+")
_WINDOWS_RESERVED = re.compile(r"^(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])(\..*)?$", re.IGNORECASE)


#: Unicode categories Cc (C0, DEL, C1) and Cs (lone surrogates) as patterns: a fleet checks
#: every row's values, and a scan per character through ``unicodedata`` cost seconds there.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_control(value: str) -> bool:
    return _CONTROL.search(value) is not None


def _has_surrogate(value: str) -> bool:
    return _SURROGATE.search(value) is not None


def client_name(value: str) -> str:
    """A Codat client name as used in task names: 1-200 characters, no control characters.

    Quotes, ampersands and any Unicode are allowed: the seed's own example is
    "Codat Engineering - Integration" and real names carry apostrophes.
    """
    if not value or not value.strip():
        raise UsageError("--client-name must not be empty")
    if len(value) > MAX_CLIENT_NAME:
        raise UsageError(
            f"--client-name is {len(value)} characters; the limit is {MAX_CLIENT_NAME}"
        )
    if _has_control(value) or _has_surrogate(value):
        raise UsageError("--client-name must not contain control characters")
    return value


def company_id(value: str) -> str:
    """A Codat Company ID: a GUID, returned in its canonical lower-case form."""
    text = value.strip().strip("{}")
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        raise UsageError(
            f"--company-id {value!r} is not a GUID (expected e.g. 8a210b68-6988-11ed-a1eb-0242ac120002)"
        ) from None
    if len(text) != 36:
        raise UsageError(f"--company-id {value!r} is not a GUID in 8-4-4-4-12 form")
    return str(parsed)


def sha256(value: str, option: str) -> str:
    """A SHA-256 digest as 64 hexadecimal characters, returned in lower case."""
    text = value.strip()
    if not re.fullmatch(r"[0-9A-Fa-f]{64}", text):
        raise UsageError(f"{option} must be a SHA-256 digest: 64 hexadecimal characters")
    return text.lower()


def windows_path(value: str, option: str) -> str:
    """An absolute Windows path on the target PC (drive or UNC), without illegal characters."""
    if not value or _has_control(value) or _has_surrogate(value):
        raise UsageError(f"{option} must be a Windows path without control characters")
    path = PureWindowsPath(value)
    if not (path.drive and path.root) and not value.startswith("\\\\"):
        raise UsageError(
            f"{option} {value!r} is not an absolute Windows path (e.g. C:\\Temp\\setup.exe)"
        )
    rest = value[len(path.drive) :]
    if any(ch in _WINDOWS_BAD_PATH_CHARS for ch in rest):
        raise UsageError(f"{option} {value!r} contains a character Windows paths cannot hold")
    if any(_WINDOWS_RESERVED.match(part) for part in path.parts[1:]):
        raise UsageError(f"{option} {value!r} uses a reserved Windows device name")
    return value


def installer(value: str) -> str:
    """A connector installer: an https URL, or an absolute Windows path on the target PC."""
    if value.lower().startswith(("http://", "https://")):
        if _has_control(value) or _has_surrogate(value) or any(ch.isspace() for ch in value):
            raise UsageError("--installer URL must not contain spaces or control characters")
        parts = urlsplit(value)
        if parts.scheme.lower() != "https":
            raise UsageError("--installer URL must use https (the installer runs as administrator)")
        if not parts.hostname:
            raise UsageError(f"--installer URL {value!r} has no host name")
        return value
    return windows_path(value, "--installer")


def output_path(value: str, option: str = "--output") -> Path:
    """A local path we may write to: no control characters, parent must exist or be creatable."""
    if not value or _has_control(value) or _has_surrogate(value):
        raise UsageError(f"{option} must be a file or folder path without control characters")
    path = Path(value).expanduser()
    if path.exists() and not (path.is_dir() or path.is_file()):
        raise UsageError(f"{option} {value!r} is neither a file nor a folder")
    anchor = path if path.is_dir() else path.parent
    existing = anchor
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{option} {value!r}: {existing} is not a folder")
    return path


def host_address(value: str) -> str:
    """A PC name, IPv4 or IPv6 address (brackets optional), returned bare.

    pypsrp brackets an IPv6 address itself when it builds the URL; a bracketed one
    would be taken for a host name. Raises ``ValueError`` naming the problem, so the
    caller can say where the value came from (``--host``, or an inventory's file:line).
    """
    if _has_control(value) or _has_surrogate(value):
        raise ValueError(f"{value!r} contains a control character (a line break?)")
    text = value.strip()
    if not text:
        raise ValueError("no PC name or address given")
    if "/" in text:
        raise ValueError(f"{value!r}: give the PC's name or address only, not a URL")
    bracketed = text.startswith("[") and text.endswith("]")
    inner = text[1:-1] if bracketed else text
    if ":" in inner:
        if "%" in inner:
            raise ValueError(
                f"{value!r}: IPv6 zone IDs (%...) are not supported; use the PC's name or a routable address"
            )
        try:
            return ipaddress.IPv6Address(inner).compressed
        except ValueError:
            port_hint = " (a port goes in its own setting)" if inner.count(":") == 1 else ""
            raise ValueError(f"{value!r} is not a valid IPv6 address{port_hint}") from None
    if bracketed:
        raise ValueError(f"{value!r}: only IPv6 addresses go in brackets")
    name = inner.rstrip(".")
    if _DIGITS_AND_DOTS.fullmatch(name):
        try:
            return str(ipaddress.IPv4Address(name))
        except ValueError:
            raise ValueError(f"{value!r} is not a valid IPv4 address") from None
    if len(name) > 253 or not _HOST_NAME.fullmatch(name):
        raise ValueError(f"{value!r} is not a valid host name (letters, digits, hyphens and dots)")
    return name
