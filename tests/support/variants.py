"""The rendered variants every script check runs over: each remediation's defaults, each
switch on its own, its parameters' own sample values (from the remediation's spec),
everything set at once, and the values that need a variant of their own."""

from __future__ import annotations

from collections.abc import Iterator

from qbd_fix.remediations import REMEDIATIONS
from qbd_fix.remediations.base import Remediation
from qbd_fix.script.params import ParamValue

#: Values the samples above lack: other installer kinds, wildcard characters and a braced
#: upper-case Company ID, the smallest limits, a path with a quote and brackets.
EXTRA_VARIANTS: dict[str, dict[str, dict[str, ParamValue]]] = {
    "reinstall-connector": {
        "installer-path": {
            "Installer": "C:\\Users\\Ann\\Downloads\\O'Brien-quickbooksdesktop-connector.exe"
        },
        "installer-msi": {"Installer": "\\\\server\\share\\QuickBooks Connector.msi"},
        "odd-values": {
            "ClientName": "O'Brien & Sons \u2013 Books [EU] *",
            "CompanyId": "{8A210B68-6988-11ED-A1EB-0242AC120002}",
            "InstallTimeoutSeconds": 30,
        },
    },
    "collect-logs": {
        "smallest": {"MaxFileMiB": 1, "EventDays": 0},
        "output-brackets": {"OutputDirectory": "C:\\Temp\\qbd logs\\O'Brien [1]"},
    },
}


def variants(remediation: Remediation) -> Iterator[tuple[str, dict[str, ParamValue]]]:
    """Yield ``(variant name, values)``: defaults, each switch, all string samples together,
    everything set (when that differs from all before), then the extra variants."""
    seen: list[dict[str, ParamValue]] = [{}]
    yield "defaults", {}
    for parameter in remediation.parameters:
        if parameter.kind == "switch":
            seen.append({parameter.name: True})
            yield parameter.name, {parameter.name: True}
    samples: dict[str, ParamValue] = {
        p.name: p.sample
        for p in remediation.parameters
        if p.kind == "string" and p.sample is not None
    }
    if samples:
        seen.append(samples)
        yield "values", samples
    everything: dict[str, ParamValue] = {}
    for p in remediation.parameters:
        if p.kind == "switch":
            everything[p.name] = True
        elif p.sample is not None:
            everything[p.name] = p.sample
    if everything not in seen:
        yield "everything", everything
    yield from EXTRA_VARIANTS.get(remediation.name, {}).items()


def all_variants() -> Iterator[tuple[str, str, dict[str, ParamValue]]]:
    for name, remediation in REMEDIATIONS.items():
        for variant, values in variants(remediation):
            yield name, variant, values


def variant_values(name: str, variant: str) -> dict[str, ParamValue]:
    """The values of one named variant of one remediation (a copy)."""
    return dict(dict(variants(REMEDIATIONS[name]))[variant])
