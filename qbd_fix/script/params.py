"""Typed script parameters, kept apart from the engine so the catalogue imports no Jinja."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ParamKind = Literal["string", "switch", "int"]
ParamValue = str | bool | int

_PY_TYPES: dict[str, type] = {"string": str, "switch": bool, "int": int}


@dataclass(frozen=True)
class ScriptParameter:
    """One parameter of a script's ``param()`` block."""

    name: str
    kind: ParamKind
    default: ParamValue
    help: str
    secret: bool = False
    #: A regular expression a string must match; the ``param()`` block repeats it as
    #: ``[ValidatePattern()]``, so a script run by hand refuses the value too.
    pattern: str = ""

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"parameter name {self.name!r} is not an identifier")
        if self.pattern and self.kind != "string":
            raise ValueError(f"{self.name}: only string parameters take a pattern")
        self.check(self.default)

    def check(self, value: object) -> ParamValue:
        """Refuse values of the wrong type (a bool is not an int here) or shape."""
        expected = _PY_TYPES[self.kind]
        if type(value) is not expected:
            raise TypeError(f"{self.name} takes {self.kind}, not {type(value).__name__}")
        if self.pattern and not re.search(self.pattern, str(value)):
            raise ValueError(f"{self.name} does not match {self.pattern}")
        return value  # type: ignore[return-value]
