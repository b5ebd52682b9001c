"""Writing an export's folder: every file atomically, and nothing over a file not ours."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from qbd_fix import __version__
from qbd_fix.errors import UsageError
from qbd_fix.files import sha256_file, write_atomic
from qbd_fix.script.params import ParamValue, ScriptParameter

MANIFEST = "manifest.json"
REDACTED = "<redacted>"


def baked_values(
    parameters: tuple[ScriptParameter, ...] | list[ScriptParameter],
    values: Mapping[str, ParamValue],
) -> dict[str, ParamValue]:
    """The values written into the files, for the manifest: secrets as ``<redacted>``."""
    secret = {p.name for p in parameters if p.secret}
    return {name: (REDACTED if name in secret else value) for name, value in values.items()}


def markdown_value(value: ParamValue, *, secret: bool) -> str:
    """A baked value for a README's table cell: JSON in backticks, or ``(secret)``."""
    if secret:
        return "(secret)"
    return ("`" + json.dumps(value, ensure_ascii=False) + "`").replace("|", "\\|")


def manifest(kind: str, files: Mapping[str, bytes], **details: object) -> bytes:
    """``manifest.json``: the tool and version, what was exported, each file's SHA-256."""
    document = {
        "tool": "qbd-fix",
        "version": __version__,
        "export": kind,
        **details,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    return (json.dumps(document, indent=2, ensure_ascii=True) + "\n").encode("ascii")


def _ours(folder: Path) -> dict[str, str]:
    """Files an earlier export wrote here (listed in its manifest, with their SHA-256), which
    may be replaced; the manifest itself has no digest ("")."""
    path = folder / MANIFEST
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict) or document.get("tool") != "qbd-fix":
        return {}
    listed = document.get("files")
    if not isinstance(listed, dict):
        return {}
    return {str(name): str(digest) for name, digest in listed.items()} | {MANIFEST: ""}


def write_export(folder: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write *files* (relative POSIX names) into *folder*, which must be new, empty, or hold
    only an earlier export's files. Each file is written atomically; returns the paths."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--output {folder} is a file, not a folder")
    stale: list[Path] = []
    if folder.is_dir():
        present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir()}
        ours = _ours(folder)
        foreign = sorted(present - set(ours))
        # An earlier export's file the new one does not write goes, unless it was edited.
        for name in sorted(present & set(ours) - set(files)):
            path = folder.joinpath(*name.split("/"))
            if sha256_file(path) == ours[name]:
                stale.append(path)
            else:
                foreign.append(name)
        if foreign:
            raise UsageError(
                f"--output {folder} holds other files ({', '.join(foreign[:3])}"
                f"{', ...' if len(foreign) > 3 else ''}): choose a new or empty folder",
            )
    for path in stale:
        path.unlink()
    written = []
    for name, data in files.items():
        path = folder.joinpath(*name.split("/"))
        write_atomic(path, [data])
        written.append(path)
    return written
