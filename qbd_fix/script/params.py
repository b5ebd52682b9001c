"""Typed script parameters, kept apart from the engine so the catalogue imports no Jinja.

A parameter carries its own bounds (range, pattern, choices, length). The CLI
checks a value against them before rendering, and the engine writes them into
the ``param()`` block as ``Validate*`` attributes, so a standalone script
refuses what the CLI refuses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

ParamKind = Literal["string", "switch", "int"]
ParamValue = str | bool | int

_PY_TYPES: dict[str, type] = {"string": str, "switch": bool, "int": int}

#: Text without control characters: both .NET and Python read this pattern the same way.
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
#: A GUID in its 8-4-4-4-12 form (a Codat Company ID).
GUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


class BoundError(ValueError):
    """A value outside a parameter's bounds; the message says which bound."""


@dataclass(frozen=True)
class Flag:
    """How a script parameter appears on the command line (and in the doctor's fix commands).

    A parameter without one is the script's own business (a default the CLI never changes).
    """

    name: str
    help: str
    metavar: str = ""
    short: str = ""
    #: The command cannot run without it (``--installer``).
    required: bool = False
    #: A further check of a given text value, returning it cleaned; raises
    #: :class:`qbd_fix.errors.UsageError` naming the flag (an https URL, a canonical GUID).
    clean: Callable[[str], str] | None = None
    #: For a switch: what it adds to the confirmation when set.
    danger: str = ""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"--[a-z][a-z0-9-]*", self.name):
            raise ValueError(f"flag {self.name!r} is not a long option name")

    @property
    def dest(self) -> str:
        """The keyword the command receives: ``--task-timeout`` -> ``task_timeout``."""
        return self.name.removeprefix("--").replace("-", "_")


@dataclass(frozen=True)
class ScriptParameter:
    """One parameter of a script's ``param()`` block."""

    name: str
    kind: ParamKind
    default: ParamValue
    help: str
    secret: bool = False
    minimum: int | None = None
    maximum: int | None = None
    #: A regular expression in the common subset of .NET and Python syntax, anchored with
    #: ``^...$``; matched case-insensitively, as ``ValidatePattern`` matches.
    pattern: str | None = None
    #: What the pattern means, for error messages ("a GUID").
    pattern_text: str = ""
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    #: Its command-line flag; None: not offered on the command line.
    flag: Flag | None = None
    #: A typical valid value, for generated test variants, exports' examples and help.
    sample: ParamValue | None = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"parameter name {self.name!r} is not an identifier")
        if (self.minimum is None) != (self.maximum is None):
            raise ValueError(f"{self.name}: a range needs both ends")
        if self.minimum is not None and self.kind != "int":
            raise ValueError(f"{self.name}: only int parameters take a range")
        if (self.pattern or self.max_length or self.choices) and self.kind != "string":
            raise ValueError(f"{self.name}: only string parameters take a pattern or choices")
        if self.pattern and not (self.pattern.startswith("^") and self.pattern.endswith("$")):
            raise ValueError(f"{self.name}: the pattern must be anchored with ^ and $")
        self.check(self.default)
        self.check_bounds(self.default)
        if self.sample is not None:
            self.check(self.sample)
            self.check_bounds(self.sample)
        if self.flag is not None and self.flag.danger and self.kind != "switch":
            raise ValueError(f"{self.name}: only a switch carries a danger text")

    def check(self, value: object) -> ParamValue:
        """Refuse values of the wrong type: a bool is not an int here."""
        expected = _PY_TYPES[self.kind]
        if type(value) is not expected:
            raise TypeError(f"{self.name} takes {self.kind}, not {type(value).__name__}")
        return value  # type: ignore[return-value]

    def check_bounds(self, value: ParamValue) -> None:
        """Raise :class:`BoundError` when *value* breaks a bound. An empty string is the
        "not given" value of optional text parameters and always passes."""
        if isinstance(value, bool):
            return
        if isinstance(value, int):
            low, high = self.minimum, self.maximum
            if (low is not None and value < low) or (high is not None and value > high):
                raise BoundError(f"must be between {low} and {high}")
            return
        if value == "":
            return
        if self.max_length is not None and len(value) > self.max_length:
            raise BoundError(f"is {len(value)} characters; the limit is {self.max_length}")
        if self.choices and value not in self.choices:
            raise BoundError(f"must be one of {', '.join(self.choices)}")
        if self.pattern and not re.fullmatch(self.pattern, value, re.IGNORECASE):
            raise BoundError(f"must be {self.pattern_text or 'in the form ' + self.pattern}")


#: Every script's total time budget: each wait inside draws from it, and runners wait a
#: margin longer, so a script ends on its own (with a result) before anything kills it.
BUDGET_PARAMETER = "TimeBudgetSeconds"
RUNNER_MARGIN_SECONDS = 120


def budget_parameter(seconds: int) -> ScriptParameter:
    """The ``-TimeBudgetSeconds`` parameter every script takes, defaulting to *seconds*."""
    return ScriptParameter(
        BUDGET_PARAMETER,
        "int",
        seconds,
        "Total time this script may take; every wait stops when it is used up",
        minimum=30,
        maximum=86400,
    )
