"""Judge a facts document saved earlier: no PC is contacted.

The doctor's script can run without qbd-fix (``qbd-fix doctor --dry-run --output doctor.ps1``,
then by hand, by an RMM tool or by Intune); what it prints ends with one JSON line, the result
document, whose ``data.facts`` is the facts document. :func:`report_from_file` reads such a
file and judges it as :func:`~qbd_fix.doctor.diagnose` would have.

The file is untrusted: its size, nesting and text are bounded, and every way it can be wrong
(unreadable, cut short, another script's result, another schema version, another shape) is
one :class:`~qbd_fix.errors.QbdFixError` line naming where, never a traceback.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qbd_fix.doctor.command import Shell
from qbd_fix.doctor.facts import Facts
from qbd_fix.doctor.report import DoctorReport
from qbd_fix.errors import ResultError, UsageError
from qbd_fix.result import MAX_RESULT_CHARS, check_tree

#: Largest file read: the result document (2 MiB of text at most) in UTF-16, plus the
#: progress lines printed before it.
MAX_FILE_BYTES = 5 * MAX_RESULT_CHARS
#: What a cut-short document most often is.
CUT_SHORT_HINT = (
    "the document ends early: it was cut short (Intune keeps only 2,048 characters of a "
    "script's output): save the script's whole output to a file and judge that"
)


def read_text(path: Path) -> str:
    """The file's text: UTF-8 or UTF-16 (what Windows PowerShell 5.1's ``>`` writes), bounded."""
    try:
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise UsageError(f"--facts {path}: not a regular file")
            if info.st_size > MAX_FILE_BYTES:
                raise UsageError(
                    f"--facts {path}: {info.st_size // 1024} KiB, more than the "
                    f"{MAX_FILE_BYTES // 1024} KiB a facts file can be"
                )
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"--facts {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise UsageError(f"--facts {path}: larger than {MAX_FILE_BYTES // 1024} KiB")
    return decode(data, path)


def decode(data: bytes, path: Path | str = "the facts file") -> str:
    """Bytes to text by their BOM, else UTF-16 when every other byte is NUL, else UTF-8."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    elif len(data) >= 4 and data[1::2].count(0) > len(data) // 4:
        encoding = "utf-16-le"
    else:
        encoding = "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ResultError(
            f"{path}: not UTF-8 or UTF-16 text (byte {exc.start} cannot be read as {encoding})"
        ) from None


def facts_from_text(text: str, source: str = "the facts file") -> Mapping[str, Any]:
    """The facts document in *text*: the doctor script's output (its last JSON line), its result
    document, or the facts document alone, compact or indented."""
    whole = text.lstrip("\ufeff").strip()
    lines = [line.strip().lstrip("\ufeff") for line in reversed(whole.splitlines())]
    json_lines = [line for line in lines if line.startswith("{")]
    problems: dict[str, ResultError] = {}
    for candidate in dict.fromkeys([whole, *json_lines]):
        try:
            doc = _load(candidate, source)
        except ResultError as exc:
            problems[candidate] = exc
            continue
        if isinstance(doc, Mapping):
            return _facts_in(doc, source)
    if whole.startswith("{") or json_lines:
        # The telling failure: the whole document's, or else the last JSON line's (the script
        # writes its result document last).
        raise problems[whole if whole.startswith("{") else json_lines[0]]
    raise ResultError(
        f"{source} holds no JSON object: expected the doctor script's output (its last line is "
        "the result document) or the facts document"
    )


def _load(text: str, source: str) -> Any:
    if len(text) > MAX_RESULT_CHARS:
        raise ResultError(
            f"{source}: the document is {len(text) // 1024} KiB, more than the "
            f"{MAX_RESULT_CHARS // 1024} KiB qbd-fix reads"
        )
    try:
        doc = json.loads(text)
    except RecursionError:
        raise ResultError(f"{source}: the document is nested too deeply") from None
    except json.JSONDecodeError as exc:
        if _cut_short(text):
            where = json_path_at(text, len(text)) or "(top)"
            raise ResultError(
                f"{source} is not complete JSON at {where}: it ends after {len(text)} characters",
                hint=CUT_SHORT_HINT,
            ) from None
        where = json_path_at(text, exc.pos) or "(top)"
        raise ResultError(
            f"{source} is not valid JSON at {where} (character {exc.pos + 1}: {exc.msg})"
        ) from None
    except ValueError:  # a number too long to convert
        raise ResultError(f"{source}: not valid JSON") from None
    try:
        check_tree(doc)
    except ResultError as exc:
        raise ResultError(f"{source}: {exc.message.removeprefix('result document: ')}") from None
    return doc


def _facts_in(doc: Mapping[str, Any], source: str) -> Mapping[str, Any]:
    if "schema" in doc and "remediation" not in doc:
        return doc
    name = doc.get("remediation")
    if name is not None and name != "doctor":
        raise ResultError(
            f"{source} is the result of qbd-fix {str(name)[:60]!r}, not of the doctor's facts script"
        )
    data = doc.get("data")
    facts = data.get("facts") if isinstance(data, Mapping) else None
    if not isinstance(facts, Mapping):
        where = "data.facts" if isinstance(data, Mapping) else "data"
        raise ResultError(
            f"{source} has no facts: {where} is missing (the script stopped before gathering "
            "them, or this is not the doctor's output)"
        )
    return facts


def json_path_at(text: str, position: int) -> str:
    """Where in the JSON structure *position* falls, as ``data/facts/processes/2/name``.

    Reads *text* up to *position* only, tracking objects (the key being read or last read)
    and arrays (the index of the item being read); good enough to name where a document that
    was cut short stops.
    """
    stack, _ = _scan(text[:position])
    parts = [str(level[1])[:60] for level in stack if level[1] is not None]
    path = "/".join(parts)
    return path if len(path) <= 240 else "..." + path[-237:]


def _cut_short(text: str) -> bool:
    """The text ends inside a string, an object or an array."""
    stack, in_string = _scan(text)
    return in_string or bool(stack)


def _scan(text: str) -> tuple[list[list[Any]], bool]:
    stack: list[list[Any]] = []  # [kind, key or index, expecting a key]
    in_string = False
    escaped = False
    current: list[str] = []
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
                if stack and stack[-1][0] == "object" and stack[-1][2]:
                    stack[-1][1] = "".join(current)
                    stack[-1][2] = False
            elif len(current) < 100:
                current.append(char)
            continue
        if char == '"':
            in_string = True
            current = []
        elif char == "{":
            stack.append(["object", None, True])
        elif char == "[":
            stack.append(["array", 0, False])
        elif char in "}]":
            if stack:
                stack.pop()
        elif char == "," and stack:
            if stack[-1][0] == "array":
                stack[-1][1] += 1
            else:
                stack[-1][1], stack[-1][2] = None, True
    return stack, in_string


def load_facts(path: Path) -> Facts:
    """Read, validate and parse a saved facts document."""
    source = f"facts file {path.name}"
    return Facts.from_dict(facts_from_text(read_text(path), source))


def report_from_file(
    path: Path,
    *,
    client_name: str | None = None,
    shell: Shell | None = None,
) -> DoctorReport:
    """Judge the facts document saved in *path*; fixes are written for the PC it came from
    (no ``--host``: add it when you run them from elsewhere)."""
    from qbd_fix.doctor import report_from_facts

    facts = load_facts(path)
    return report_from_facts(
        facts, target=facts.computer or path.name, client_name=client_name, shell=shell
    )
