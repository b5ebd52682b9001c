"""What a remediation is: its seed topic, what it may change, its script and parameters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qbd_fix.script.params import NO_CONTROL, ParamValue, ScriptParameter
from qbd_fix.validation import MAX_CLIENT_NAME


def client_name_parameter(help_text: str) -> ScriptParameter:
    """``-ClientName``: optional text of at most :data:`MAX_CLIENT_NAME` characters, no
    control characters (quotes, ampersands and any letters are fine)."""
    return ScriptParameter(
        "ClientName",
        "string",
        "",
        help_text,
        pattern=NO_CONTROL,
        pattern_text="text without control characters",
        max_length=MAX_CLIENT_NAME,
    )


if TYPE_CHECKING:
    from qbd_fix.script.engine import Script


@dataclass(frozen=True)
class Remediation:
    """A fix from the troubleshooting page, described as data.

    The module that defines one names its seed section in its docstring; the
    template (``qbd_fix/templates/<template>``) holds the PowerShell.
    """

    name: str
    title: str
    seed_section: str
    summary: str
    may_change: tuple[str, ...]
    template: str
    parameters: tuple[ScriptParameter, ...] = ()
    #: Seconds the whole script may take with these values: the sum of its longest waits
    #: and a margin for the rest. Every wait in the script draws from it.
    time_budget: Callable[[Mapping[str, ParamValue]], int] = lambda _values: 300

    @property
    def read_only(self) -> bool:
        return not self.may_change

    def render(self, values: Mapping[str, ParamValue] | None = None) -> Script:
        """Render the script with *values* (PowerShell parameter name -> value)."""
        from qbd_fix.script.engine import render

        bound = {p.name: p.default for p in self.parameters} | dict(values or {})
        return render(
            self.template, self.name, self.parameters, values, budget=self.time_budget(bound)
        )
