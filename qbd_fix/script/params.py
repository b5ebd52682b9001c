"""Typed script parameters, kept apart from the engine so the catalogue imports no Jinja."""

from __future__ import annotations

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
    #: A regular expression a given string must match, written into the ``param()`` block as
    #: ``[ValidatePattern()]`` so PowerShell refuses a bad value wherever the script runs. The
    #: CLI checks values first, with a one-line message; rendering does not, so a default the
    #: pattern refuses stays a plain literal (PowerShell never validates defaults).
    pattern: str = ""

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"parameter name {self.name!r} is not an identifier")
        if self.pattern and self.kind != "string":
            raise ValueError(f"{self.name}: only string parameters take a pattern")
        self.check(self.default)

    def check(self, value: object) -> ParamValue:
        """Refuse values of the wrong type: a bool is not an int here."""
        expected = _PY_TYPES[self.kind]
        if type(value) is not expected:
            raise TypeError(f"{self.name} takes {self.kind}, not {type(value).__name__}")
        return value  # type: ignore[return-value]
