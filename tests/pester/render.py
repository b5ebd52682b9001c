#!/usr/bin/env python3
"""Render every script the Pester tests run into tests/pester/out/.

The Pester suite runs the scripts exactly as an administrator would receive them
(UTF-8 with BOM, CRLF), so it needs them on disk first: run this, then
``Invoke-Pester -Path tests/pester``. Values are typical ones; the tests pass the
parameters a case needs explicitly. One extra variant bakes a client name with
quote characters and a non-ASCII letter into the ``param()`` default, so real
PowerShell reads back what :func:`qbd_fix.script.quote.ps_literal` wrote.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from qbd_fix.remediations import REMEDIATIONS
from qbd_fix.remediations.base import Remediation
from qbd_fix.script.params import ParamValue

OUT = Path(__file__).resolve().parent / "out"

#: Typical values per script; anything not named keeps its catalogue default.
VALUES: dict[str, dict[str, ParamValue]] = {
    "restart-tasks": {"ClientName": "Acme Books", "TaskTimeoutSeconds": 60},
    "restart-web-connector": {"StartTimeoutSeconds": 60},
    "reset-certificate": {"ClientName": "Acme Books", "SdkLogTailKiB": 256},
    "webroot-whitelist": {},
    "reinstall-connector": {"ClientName": "Acme Books", "InstallTimeoutSeconds": 600},
    "collect-logs": {"MaxFileMiB": 20, "EventDays": 7},
    "doctor": {"LogTailKiB": 256, "EventDays": 7, "ConnectTimeoutMs": 3000},
}

#: A client name PowerShell must read back exactly: ASCII and typographic apostrophes, an accent.
QUOTED_CLIENT = "Caf\u00e9 O\u2019Brien's"


def scripts() -> dict[str, tuple[Remediation, Mapping[str, ParamValue]]]:
    """Every file to write (name without .ps1) with its remediation and values."""
    catalogue: dict[str, Remediation] = dict(REMEDIATIONS)
    try:
        from qbd_fix.doctor.spec import DOCTOR
    except ImportError:  # the doctor is optional in older trees
        pass
    else:
        catalogue[DOCTOR.name] = DOCTOR
    wanted: dict[str, tuple[Remediation, Mapping[str, ParamValue]]] = {
        name: (remediation, VALUES.get(name, {})) for name, remediation in catalogue.items()
    }
    restart = catalogue["restart-tasks"]
    wanted["restart-tasks-quoted"] = (restart, {"ClientName": QUOTED_CLIENT})
    return wanted


def render_intune(out: Path) -> list[Path]:
    """Each fix's Intune ``detect.ps1`` (the real facts script and verdict), as Intune gets it."""
    from qbd_fix.exports.intune import detect_text
    from qbd_fix.exports.script import crlf

    written = []
    for name, remediation in sorted(REMEDIATIONS.items()):
        path = out / f"intune-detect-{name}.ps1"
        path.write_bytes(crlf(detect_text(remediation, {})))
        written.append(path)
    return written


def render_all(out: Path = OUT) -> list[Path]:
    """Write every script into *out* and return the paths, in a stable order."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (remediation, values) in sorted(scripts().items()):
        path = out / f"{name}.ps1"
        path.write_bytes(remediation.render(values).file_bytes())
        written.append(path)
    return [*written, *render_intune(out)]


def main() -> int:
    for path in render_all():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
