"""What a remediation is: its seed topic, what it may change, its script and parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qbd_fix.script.params import ParamValue, ScriptParameter

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

    @property
    def read_only(self) -> bool:
        return not self.may_change

    def render(self, values: Mapping[str, ParamValue] | None = None) -> Script:
        """Render the script with *values* (PowerShell parameter name -> value)."""
        from qbd_fix.script.engine import render

        return render(self.template, self.name, self.parameters, values)
