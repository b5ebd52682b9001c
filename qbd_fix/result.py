"""The result document every script writes, and its Python twin.

A script prints exactly one JSON object; :func:`parse_result` finds and checks
it so that runners, reports and ``doctor`` all read one shape. The document
comes from a PC that may be broken or hostile: its size and nesting are
bounded and every string must be valid Unicode, so whatever it holds reaches
reports and terminals as a :class:`ResultError` at worst, never a crash.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from qbd_fix.errors import ExitCode, ResultError

#: Largest result document read, in characters: real ones are a few KiB.
MAX_RESULT_CHARS = 2 * 1024 * 1024
#: Deepest nesting of objects and lists accepted in a result document (real ones use 5).
MAX_DEPTH = 32


class Status(str, Enum):
    """Outcome of one run, ordered from best to worst by :attr:`rank`."""

    OK = "ok"
    CHANGED = "changed"
    NEEDS_USER_ACTION = "needs_user_action"
    FAILED = "failed"

    @property
    def exit_code(self) -> ExitCode:
        return _EXIT_CODES[self]

    @property
    def rank(self) -> int:
        return list(Status).index(self)


_EXIT_CODES = {
    Status.OK: ExitCode.OK,
    Status.CHANGED: ExitCode.OK,
    Status.NEEDS_USER_ACTION: ExitCode.NEEDS_USER_ACTION,
    Status.FAILED: ExitCode.FAILED,
}


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    evidence: str


@dataclass(frozen=True)
class Action:
    description: str
    performed: bool


@dataclass(frozen=True)
class Result:
    """What one remediation reported about one computer."""

    remediation: str
    computer: str
    status: Status
    checks: list[Check] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    #: True when qbd-fix kept only part of what the PC printed (see :attr:`notes`).
    truncated: bool = False
    #: What qbd-fix itself says about this result (what it cut or ignored); never PC text.
    notes: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """One line for tables: the first message, or the status."""
        return self.messages[0] if self.messages else self.status.value

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["status"] = self.status.value
        return doc


def _require(doc: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = doc.get(key)
    if not isinstance(value, kind):
        raise ResultError(f"result document: '{key}' is missing or not {_kind_name(kind)}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def _as_list(value: Any) -> list[Any]:
    """PowerShell 5.1 writes an empty list as null and may unroll one item; accept both."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def result_from_dict(doc: dict[str, Any]) -> Result:
    """Validate a decoded result document and build a :class:`Result`."""
    status_text = _require(doc, "status", str)
    try:
        status = Status(status_text)
    except ValueError:
        raise ResultError(f"result document: unknown status {status_text!r}") from None
    checks = []
    for item in _as_list(doc.get("checks")):
        if not isinstance(item, dict):
            raise ResultError("result document: a check is not an object")
        checks.append(
            Check(
                str(item.get("name", "")), bool(item.get("passed")), str(item.get("evidence") or "")
            )
        )
    actions = []
    for item in _as_list(doc.get("actions")):
        if not isinstance(item, dict):
            raise ResultError("result document: an action is not an object")
        actions.append(Action(str(item.get("description", "")), bool(item.get("performed"))))
    data = doc.get("data") or {}
    if not isinstance(data, dict):
        raise ResultError("result document: 'data' is not an object")
    return Result(
        remediation=_require(doc, "remediation", str),
        computer=str(doc.get("computer") or ""),
        status=status,
        checks=checks,
        actions=actions,
        messages=[str(m) for m in _as_list(doc.get("messages"))],
        data=data,
    )


def check_tree(doc: Any) -> None:
    """Refuse a decoded document nested deeper than :data:`MAX_DEPTH` or holding text
    that is not valid Unicode (a lone surrogate cannot be printed or written to a file)."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise ResultError(f"result document: nested deeper than {MAX_DEPTH} levels")
            if isinstance(value, dict):
                for key, item in value.items():
                    _check_text(key)
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in value)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ResultError("result document: text that is not valid Unicode") from None


def decode_document(text: str) -> Any:
    """``json.loads`` bounded in size and depth; every failure is a :class:`ResultError`."""
    if len(text) > MAX_RESULT_CHARS:
        raise ResultError(
            f"the result document is {len(text) // 1024} KiB, more than the "
            f"{MAX_RESULT_CHARS // 1024} KiB qbd-fix reads"
        )
    try:
        doc = json.loads(text)
    except RecursionError:
        raise ResultError(f"result document: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:  # JSONDecodeError, and numbers too long to convert
        raise ResultError("result document: not valid JSON") from None
    check_tree(doc)
    return doc


def parse_result(output: str | list[Any]) -> Result:
    """Find the one result document in a script's output.

    *output* is stdout text (local runs) or the list of output objects (remote
    runs). Other lines are ignored; the last JSON object that carries a
    ``remediation`` key wins, since the prelude writes the result last. When
    none qualifies, the error names why the last candidate did not.
    """
    lines = output.splitlines() if isinstance(output, str) else [str(o) for o in output]
    problem: ResultError | None = None
    for line in reversed(lines):
        text = line.strip().lstrip("\ufeff")
        if not (text.startswith("{") and text.endswith("}")):
            continue
        try:
            doc = decode_document(text)
        except ResultError as exc:
            problem = problem or exc
            continue
        if isinstance(doc, dict) and "remediation" in doc:
            return result_from_dict(doc)
    if problem is not None:
        raise ResultError(
            f"the script wrote no result document that could be read ({problem.message})",
            hint="run again with --debug to see everything it printed",
        )
    raise ResultError(
        "the script wrote no result document",
        hint="run again with --debug to see everything it printed",
    )
