"""The rendered variants every script check runs over: each remediation's
defaults, each switch on its own, and typical values for its strings."""

from __future__ import annotations

from collections.abc import Iterator

from qbd_fix.remediations import REMEDIATIONS
from qbd_fix.remediations.base import Remediation
from qbd_fix.script.params import ParamValue

SAMPLE_STRINGS: dict[str, str] = {
    "ClientName": "O'Brien & Sons – Books",
    "CompanyId": "8a210b68-6988-11ed-a1eb-0242ac120002",
    "Installer": "https://example.com/downloads/Acme-quickbooksdesktop-connector.exe",
    "OutputDirectory": "C:\\Temp\\qbd logs",
}


def variants(remediation: Remediation) -> Iterator[tuple[str, dict[str, ParamValue]]]:
    """Yield ``(variant name, values)``: defaults, each switch, then all samples together."""
    yield "defaults", {}
    for parameter in remediation.parameters:
        if parameter.kind == "switch":
            yield parameter.name, {parameter.name: True}
    samples = {
        p.name: SAMPLE_STRINGS[p.name]
        for p in remediation.parameters
        if p.kind == "string" and p.name in SAMPLE_STRINGS
    }
    if samples:
        yield "values", samples


def all_variants() -> Iterator[tuple[str, str, dict[str, ParamValue]]]:
    for name, remediation in REMEDIATIONS.items():
        for variant, values in variants(remediation):
            yield name, variant, values
