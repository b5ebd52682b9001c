"""Does a result answer the question asked? Another fix's or another PC's result is flagged.

A PC answers whatever it likes: a result naming another remediation, or a
computer that is not the one connected to, may be stale, forwarded or forged.
It is not refused (a DNS alias is a legitimate reason for another name), but
the admin sees one warning line and reports carry a ``mismatch`` field.

The computer is judged only where the host is a name: an IP address says
nothing about the PC's name. Windows reports its NetBIOS name, the first DNS
label cut to 15 characters, so that is what is compared, ignoring case.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qbd_fix.text import visible

#: A NetBIOS computer name is at most this long; longer DNS labels are cut.
NETBIOS_LENGTH = 15


@dataclass(frozen=True)
class Mismatch:
    """What the result named where it differs from what was asked (None where it agrees)."""

    asked_remediation: str
    asked_host: str
    remediation: str | None = None
    computer: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"remediation": self.remediation, "computer": self.computer}

    def describe(self) -> str:
        """One line, visible-safe: the PC's names are escaped."""
        parts = []
        if self.remediation is not None:
            parts.append(
                f"remediation '{visible(self.remediation)}' (asked: {self.asked_remediation})"
            )
        if self.computer is not None:
            parts.append(f"computer '{visible(self.computer)}' (asked: {visible(self.asked_host)})")
        return f"the result names {' and '.join(parts)}: it may come from another run or another PC"


def expected_computer(host: str) -> str | None:
    """The computer name *host* should report, or None when its name cannot be told."""
    bare = host.strip().strip("[]")
    if not bare:
        return None
    try:
        ipaddress.ip_address(bare.split("%", 1)[0])
    except ValueError:
        pass
    else:
        return None
    if bare.casefold() == "localhost":
        bare = socket.gethostname()
    label = bare.split(".", 1)[0]
    return label or None


def same_computer(expected: str, reported: str) -> bool:
    return expected[:NETBIOS_LENGTH].casefold() == reported[:NETBIOS_LENGTH].casefold()


def mismatch_of(
    named_remediation: object, named_computer: object, *, remediation: str, host: str | None
) -> Mismatch | None:
    """Compare what a result named with what was asked; None when they agree."""
    other_remediation = None
    if isinstance(named_remediation, str) and named_remediation != remediation:
        other_remediation = named_remediation
    other_computer = None
    expected = expected_computer(host) if host else None
    if (
        expected is not None
        and isinstance(named_computer, str)
        and named_computer
        and not same_computer(expected, named_computer)
    ):
        other_computer = named_computer
    if other_remediation is None and other_computer is None:
        return None
    return Mismatch(remediation, host or "", other_remediation, other_computer)


def mismatch(result: Any, *, remediation: str, host: str | None) -> Mismatch | None:
    """:func:`mismatch_of` for a :class:`~qbd_fix.result.Result`."""
    return mismatch_of(result.remediation, result.computer, remediation=remediation, host=host)


def mismatch_in(
    result: Mapping[str, Any] | None, *, remediation: str, host: str | None
) -> Mismatch | None:
    """:func:`mismatch_of` for a result document (a fleet report's ``result``)."""
    if not result:
        return None
    return mismatch_of(
        result.get("remediation"), result.get("computer"), remediation=remediation, host=host
    )
