"""The rendered variants every script check runs over: each remediation's defaults, each
switch on its own, typical values for its strings, everything set at once, and the values that
need a variant of their own."""

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
    "InstallerSha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
}

#: Numbers other than the defaults, used in the "everything" variant.
SAMPLE_NUMBERS: dict[str, int] = {
    "TaskTimeoutSeconds": 300,
    "StartTimeoutSeconds": 120,
    "SdkLogTailKiB": 64,
    "InstallTimeoutSeconds": 1200,
    "MaxFileMiB": 2048,
    "EventDays": 90,
}

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
        p.name: SAMPLE_STRINGS[p.name]
        for p in remediation.parameters
        if p.kind == "string" and p.name in SAMPLE_STRINGS
    }
    if samples:
        seen.append(samples)
        yield "values", samples
    everything: dict[str, ParamValue] = {}
    for p in remediation.parameters:
        if p.kind == "switch":
            everything[p.name] = True
        elif p.kind == "string" and p.name in SAMPLE_STRINGS:
            everything[p.name] = SAMPLE_STRINGS[p.name]
        elif p.kind == "int" and p.name in SAMPLE_NUMBERS:
            everything[p.name] = SAMPLE_NUMBERS[p.name]
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
