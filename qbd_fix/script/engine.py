"""Render remediation templates into PowerShell scripts.

The rule that keeps user values out of code is structural: templates fix the
shape of a script, and a value reaches it only as a parameter of its
``param()`` block. The Jinja environment enforces this: ``{{ ... }}`` may only
print :class:`PsCode`, text this module built itself, so a template that tries
to print a value fails to render instead of producing an injectable script.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from qbd_fix.script.params import (
    BUDGET_PARAMETER,
    GUID_PATTERN,
    RUNNER_MARGIN_SECONDS,
    ParamValue,
    ScriptParameter,
    budget_parameter,
)
from qbd_fix.script.quote import ps_literal, ps_ordered_table, ps_string
from qbd_fix.sdk_codes import SDK_CODES
from qbd_fix.signers import CODAT_HOST_ZONE, EXPECTED_SIGNERS

if TYPE_CHECKING:
    from jinja2 import Environment

_PS_TYPES: dict[str, str] = {"string": "[string]", "switch": "[switch]", "int": "[int]"}


class PsCode(str):
    """PowerShell source written by the engine, the only thing templates may print."""

    __slots__ = ()


@dataclass(frozen=True)
class Script:
    """A rendered script and the parameter values it was rendered with."""

    name: str
    text: str
    parameters: dict[str, ParamValue] = field(default_factory=dict)

    def file_bytes(self) -> bytes:
        """UTF-8 with BOM and CRLF: what Windows PowerShell 5.1 reads without guessing."""
        return b"\xef\xbb\xbf" + self.text.replace("\n", "\r\n").encode("utf-8")

    @cached_property
    def sha256(self) -> str:
        """Digest of the script text as sent (audit trails record it); computed once, since a
        fleet run shares one script between many PCs and asks for it for each."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def runner_timeout(self) -> float:
        """How long a runner waits: the script's own budget and a margin, so the script
        stops its waits and reports before the runner would cut it off mid-change."""
        budget = self.parameters.get(BUDGET_PARAMETER)
        seconds = budget if isinstance(budget, int) and not isinstance(budget, bool) else 3600
        return float(seconds + RUNNER_MARGIN_SECONDS)


def _only_code(value: object) -> object:
    if isinstance(value, PsCode):
        return value
    from jinja2 import TemplateError

    raise TemplateError(
        f"template printed a {type(value).__name__}; only engine-built code may be printed, "
        "values must be script parameters"
    )


class _VerdictValues:
    """``qbd_verdict.<name>`` in templates: the doctor rules' constants for ``_verdict.ps1.j2``,
    built on first use (their case tables take a moment, and most scripts never ask)."""

    def __getattr__(self, name: str) -> PsCode:
        if name.startswith("_"):
            raise AttributeError(name)
        from qbd_fix.doctor.verdict_script import template_values

        values = template_values()
        if name not in values:
            raise AttributeError(name)
        return values[name]


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The shared Jinja environment, imported and built on first use so ``--help`` stays fast."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("qbd_fix", "templates"),
        undefined=StrictUndefined,
        finalize=_only_code,
        autoescape=False,  # noqa: S701 - PowerShell, not HTML; finalize guards output
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Tables of constants the package owns, shared with its Python side.
    env.globals["sdk_code_table"] = PsCode(ps_ordered_table(SDK_CODES))
    env.globals["expected_signer_list"] = PsCode(
        "@(" + ", ".join(ps_string(name) for name in EXPECTED_SIGNERS) + ")"
    )
    env.globals["codat_host_zone"] = PsCode(ps_string(CODAT_HOST_ZONE))
    # The GUID shape of -CompanyId's pattern, unanchored: scripts anchor it as each use needs.
    env.globals["guid_regex"] = PsCode(ps_string(GUID_PATTERN.removeprefix("^").removesuffix("$")))
    env.globals["qbd_verdict"] = _VerdictValues()
    return env


def validate_attributes(parameter: ScriptParameter) -> list[str]:
    """The ``Validate*`` attributes that hold *parameter*'s bounds in the script itself.

    .NET's ``$`` also matches before a final line break, so the pattern's closing
    ``$`` is written as ``\\z``. Optional text (an empty default) stays optional:
    the pattern also accepts the empty string.
    """
    attributes = []
    if parameter.minimum is not None or parameter.maximum is not None:
        attributes.append(f"[ValidateRange({parameter.minimum}, {parameter.maximum})]")
    if parameter.max_length is not None:
        attributes.append(f"[ValidateLength(0, {parameter.max_length})]")
    if parameter.choices:
        choices = ", ".join(ps_string(choice) for choice in parameter.choices)
        attributes.append(f"[ValidateSet({choices})]")
    if parameter.pattern:
        pattern = parameter.pattern[:-1] + "\\z"
        if parameter.default == "":
            pattern = "^\\z|" + pattern
        attributes.append(f"[ValidatePattern({ps_string(pattern)})]")
    return attributes


def param_block(
    parameters: Sequence[ScriptParameter],
    values: Mapping[str, ParamValue],
    *,
    ascii_only: bool = False,
) -> PsCode:
    """Write the ``[CmdletBinding()] param(...)`` block with values as quoted defaults
    (*ascii_only*: characters outside printable ASCII as ``[char]`` codes).

    ``param(`` stays on the attribute's next line start: tree-sitter-pwsh misparses
    ``param`` followed by a newline and ``(``.
    """
    lines = ["[CmdletBinding(SupportsShouldProcess = $true)]", "param("]
    for index, parameter in enumerate(parameters):
        value = values.get(parameter.name, parameter.default)
        lines.append(f"    # {parameter.help}")
        lines.extend(f"    {attribute}" for attribute in validate_attributes(parameter))
        declaration = f"    {_PS_TYPES[parameter.kind]} ${parameter.name}"
        if parameter.kind != "switch" or value:
            declaration += f" = {ps_literal(value, ascii_only=ascii_only)}"
        if index < len(parameters) - 1:
            declaration += ","
        lines.append(declaration)
    lines.append(")")
    return PsCode("\n".join(lines))


#: A function the templates define: ``function Name {`` at the start of a line, its body
#: indented, its closing brace alone at the start of a line.
_FUNCTION = re.compile(r"^function ([A-Za-z][\w-]*) \{\n.*?^\}\n(?:\n)?", re.MULTILINE | re.DOTALL)


def prune_unused_functions(text: str) -> str:
    """Drop every function the rest of the script never names, until none is left.

    Includes are libraries shared by several scripts; a script carries only the helpers it
    calls, so a read-only script holds no change helper it could reach by mistake, and a
    reader sees only what runs. A name in a comment counts as a use: keeping too much is safe.
    """
    while True:
        for match in _FUNCTION.finditer(text):
            name = match.group(1)
            rest = text[: match.start()] + text[match.end() :]
            if not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", rest, re.IGNORECASE):
                text = rest
                break
        else:
            return text


def render(
    template: str,
    name: str,
    parameters: Sequence[ScriptParameter],
    values: Mapping[str, ParamValue] | None = None,
    *,
    budget: int | None = None,
) -> Script:
    """Render *template* for remediation *name* with *values* bound to *parameters*.

    With *budget* (seconds), the script also takes ``-TimeBudgetSeconds`` with that default.
    """
    values = dict(values or {})
    if budget is not None:
        parameters = (*parameters, budget_parameter(budget))
    known = {p.name: p for p in parameters}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise TypeError(f"{name}: unknown parameters {', '.join(unknown)}")
    bound = {p.name: p.check(values.get(p.name, p.default)) for p in parameters}
    text = (
        environment()
        .get_template(template)
        .render(
            param_block=param_block(parameters, bound),
            remediation_name=PsCode(ps_string(name)),
        )
    )
    text = prune_unused_functions(text)
    return Script(name=name, text=text, parameters=bound)
