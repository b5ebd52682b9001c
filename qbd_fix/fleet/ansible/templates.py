"""Templated inventory values (``ansible_host: "{{ inventory_hostname }}.corp.local"``),
evaluated for hosts read through ``ansible-inventory``, which prints templates as written.

Only plain expressions are evaluated: variables of the same host (themselves
templates, to a depth of :data:`MAX_DEPTH`), ``inventory_hostname``,
``inventory_hostname_short`` and ``group_names``, text and numbers, ``~`` and
``+``, ``x if c else y``, comparisons, ``is defined``-style tests, item and
attribute lookups, and a few filters (:data:`FILTERS`). Anything else (lookups,
``hostvars``, Ansible's own filters, loops, calls) is refused with what it was:
qbd-fix does not guess at a value Ansible would compute. The syntax tree is
checked before anything runs, in Jinja's immutable sandbox, and results are
bounded in size: inventory text cannot make the run loop or fill memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import jinja2
import jinja2.meta
import jinja2.nodes as nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from qbd_fix.fleet.ansible.model import Unsafe, Value, Vault

MAX_DEPTH = 8
MAX_TEMPLATE = 2_000
MAX_RESULT = 10_000
FILTERS = frozenset({"default", "d", "lower", "upper", "trim", "string", "int", "first", "last"})
TESTS = frozenset(
    {"defined", "undefined", "none", "string", "number", "boolean", "true", "false", "sameas"}
)
MAGIC = ("inventory_hostname", "inventory_hostname_short", "group_names")
_ALLOWED = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.Concat,
    nodes.Add,
    nodes.CondExpr,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Getattr,
    nodes.Getitem,
    nodes.List,
    nodes.Tuple,
    nodes.Keyword,
)


class TemplateError(ValueError):
    """A template this module does not evaluate, or one that fails; says which and why."""


_ENV = ImmutableSandboxedEnvironment(
    undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
)


def _check(tree: nodes.Node) -> None:
    for node in tree.iter_child_nodes():
        if isinstance(node, nodes.Filter):
            if node.name not in FILTERS:
                raise TemplateError(f"it uses the filter {node.name!r}")
        elif isinstance(node, nodes.Test):
            if node.name not in TESTS:
                raise TemplateError(f"it uses the test {node.name!r}")
        elif isinstance(node, nodes.Name):
            if node.ctx != "load":
                raise TemplateError("it sets a variable")
        elif not isinstance(node, _ALLOWED):
            raise TemplateError(f"it uses {type(node).__name__.lower()} (only plain expressions)")
        if (isinstance(node, nodes.Filter | nodes.Test)) and (node.dyn_args or node.dyn_kwargs):
            raise TemplateError("it passes *args or **kwargs")
        _check(node)


class Evaluator:
    """Evaluates one host's templated variables, each once."""

    def __init__(self, host: str, groups: Sequence[str], variables: Mapping[str, Value]) -> None:
        self.variables = variables
        self.magic: dict[str, object] = {
            "inventory_hostname": host,
            "inventory_hostname_short": host.split(".", 1)[0],
            "group_names": sorted(groups),
        }
        self._done: dict[str, object] = {}
        self._active: list[str] = []

    def value(self, name: str) -> object:
        """A variable's value, its template evaluated."""
        if name in self._done:
            return self._done[name]
        if name in self.magic:
            return self.magic[name]
        if name not in self.variables:
            raise TemplateError(f"it refers to {name!r}, which is not a variable of this host")
        raw = self.variables[name].value
        if isinstance(raw, Vault):
            raise TemplateError(f"it refers to {name!r}, which is vault-encrypted inline")
        if isinstance(raw, str) and not isinstance(raw, Unsafe) and _is_template(raw):
            if name in self._active:
                raise TemplateError(f"{name!r} refers to itself")
            if len(self._active) >= MAX_DEPTH:
                raise TemplateError(f"templates refer to templates more than {MAX_DEPTH} deep")
            self._active.append(name)
            try:
                raw = self.render(raw)
            finally:
                self._active.pop()
        self._done[name] = raw
        return raw

    def render(self, text: str) -> str:
        if len(text) > MAX_TEMPLATE:
            raise TemplateError(f"it is longer than {MAX_TEMPLATE} characters")
        try:
            tree = _ENV.parse(text)
        except jinja2.TemplateSyntaxError:
            raise TemplateError("it is not a valid template") from None
        _check(tree)
        names = jinja2.meta.find_undeclared_variables(tree)
        context = {}
        for name in sorted(names):
            if name in self.variables or name in self.magic:
                context[name] = self.value(name)
        try:
            result = _ENV.from_string(tree).render(context)
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"{exc.message or 'a name is undefined'}") from None
        except (jinja2.TemplateError, ArithmeticError, TypeError, ValueError, LookupError):
            raise TemplateError("it failed to evaluate") from None
        if len(result) > MAX_RESULT:
            raise TemplateError(f"its value is longer than {MAX_RESULT} characters")
        return result


def _is_template(text: str) -> bool:
    return any(marker in text for marker in ("{{", "{%", "{#"))


def render(host: str, groups: Sequence[str], variables: Mapping[str, Value], var: str) -> object:
    """The value of one templated variable of *host* (see the module's docstring)."""
    return Evaluator(host, groups, variables).value(var)
