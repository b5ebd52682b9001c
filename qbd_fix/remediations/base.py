"""What a remediation is: its seed topic, what it may change, its script and parameters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qbd_fix import validation
from qbd_fix.errors import UsageError
from qbd_fix.script.params import NO_CONTROL, BoundError, Flag, ParamValue, ScriptParameter
from qbd_fix.validation import MAX_CLIENT_NAME


def client_name_parameter(help_text: str, cli_help: str) -> ScriptParameter:
    """``-ClientName`` / ``--client-name``: optional text of at most :data:`MAX_CLIENT_NAME`
    characters, no control characters (quotes, ampersands and any letters are fine)."""
    return ScriptParameter(
        "ClientName",
        "string",
        "",
        help_text,
        pattern=NO_CONTROL,
        pattern_text="text without control characters",
        max_length=MAX_CLIENT_NAME,
        flag=Flag(
            "--client-name", cli_help, metavar="NAME", short="-c", clean=validation.client_name
        ),
        sample="O'Brien & Sons – Books",
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
    #: The script leaves a file on the PC that the run brings home (collect-logs' zip).
    collects_file: bool = False

    @property
    def read_only(self) -> bool:
        return not self.may_change

    @property
    def flagged(self) -> tuple[ScriptParameter, ...]:
        """The parameters offered on the command line, in the order they are shown."""
        return tuple(p for p in self.parameters if p.flag is not None)

    def parameter(self, name: str) -> ScriptParameter:
        """Look a script parameter up by its PowerShell name."""
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(f"{self.name} has no parameter {name!r}")

    def bind(self, given: Mapping[str, object]) -> dict[str, ParamValue]:
        """Script values from command-line values (keyed by :attr:`Flag.dest`; None: not
        given). Each is refused exactly as the script's ``param()`` block would refuse it,
        with a one-line error naming the flag."""
        values: dict[str, ParamValue] = {}
        for p in self.flagged:
            assert p.flag is not None
            raw = given.get(p.flag.dest)
            if raw is None:
                if p.flag.required:
                    raise UsageError(f"{p.flag.name} is required")
                values[p.name] = p.default
                continue
            if isinstance(raw, str) and p.flag.clean is not None:
                raw = p.flag.clean(raw)
            try:
                value = p.check(raw)
                p.check_bounds(value)
            except (BoundError, TypeError) as exc:
                raise UsageError(f"{p.flag.name} {exc}") from None
            values[p.name] = value
        return values

    def dangers(self, values: Mapping[str, ParamValue]) -> list[str]:
        """What the switches set in *values* add to the confirmation."""
        return [
            p.flag.danger for p in self.flagged if p.flag and p.flag.danger and values.get(p.name)
        ]

    def render(self, values: Mapping[str, ParamValue] | None = None) -> Script:
        """Render the script with *values* (PowerShell parameter name -> value)."""
        from qbd_fix.script.engine import render

        bound = {p.name: p.default for p in self.parameters} | dict(values or {})
        return render(
            self.template, self.name, self.parameters, values, budget=self.time_budget(bound)
        )
