"""Run-time rules of Windows PowerShell 5.1: code that parses, yet fails or misbehaves on a PC.

The syntax checks (:mod:`tests.support.pwsh`) say whether 5.1 can *read* a script; these rules
say whether it will *work* there, under ``Set-StrictMode -Version 3.0``, as SYSTEM or over
WinRM. Each :class:`Rule` has an id, a one-line message that says what to write instead, and
two small samples: one it must flag, one it must pass (``tests/test_runtime_rules.py`` runs
both). :func:`check_rules` runs every rule over a script.

How far the rules look (all of it read from the tree-sitter-pwsh syntax tree):

* **Scopes.** A variable belongs to the innermost ``function`` around it, or to the script;
  script blocks inside a function share its scope. A ``$script:`` variable belongs to the
  script. Assignments are read in source order, not along every path (no flow analysis).
* **Command output** is the last command of a pipeline: ``(Get-X | Sort-Object)``,
  ``$(...)`` or the right side of ``$x = ...``. Functions the script defines count as commands.
  ``@(...)``, a cast (``[array]$x = ...``) and ``Measure-Object``/``New-Object`` (one object
  by design) are safe, and so is a function that emits its list with the unary comma.
  ``.Length`` counts only on output read directly (``(Get-ChildItem ...).Length``): a stream,
  a file or a string kept in a variable has a ``Length`` of its own.
* **User values** (``wildcard-path``) are the variables of the script's top-level ``param()``
  block and every variable derived from one, to a fixed point: assigned from an expression that
  mentions one outside a script block (``$a = 'x' + $ClientName``, ``$p = Join-Path $root $a``,
  but not ``$t = $all | Where-Object { $_.Name -eq $ClientName }``), a ``foreach`` over
  one, or a parameter of the script's own function given one by name at any call
  (``Find-It -Name $a`` makes that function's ``$Name`` a user value). A variable of the
  script is seen inside every function (PowerShell's dynamic scoping). Not followed: ``$_``
  in pipelines, positional arguments, values stored in and read back from properties of
  other objects. ``[WildcardPattern]::Escape(...)`` turns a user value back into a safe one.
* **A function's "none"** (``null-collected``): ``return $null`` emits one ``$null``, which
  ``@(...)`` keeps as an item, where a bare ``return`` emits nothing; the rule looks at the
  ``.Count`` of such a list, directly or through the variable last assigned from it.

A rule can be silenced where it is wrong, in the script itself, with a reason:
``# qbd-check: allow <rule-id> <reason>`` at the end of the flagged line or alone on the line
above it. A suppression that names no rule, gives no reason, or silences nothing is itself
reported (rule ``suppression``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

import tree_sitter

from tests.support.pwsh import parse

__all__ = ["RULES", "Finding", "Rule", "check_rules"]

Node = tree_sitter.Node


@dataclass(frozen=True)
class Finding:
    """One rule broken at one place."""

    rule: str
    line: int  # 1-based
    snippet: str  # the flagged code, first line, whitespace folded
    message: str

    def __str__(self) -> str:
        return f"{self.rule} line {self.line}: {self.snippet} -- {self.message}"


# --------------------------------------------------------------------------------------------
# The script as the rules see it
# --------------------------------------------------------------------------------------------

_AUTOMATIC = frozenset({"_", "psitem", "null", "true", "false", "args", "this", "input"})
_SCOPE_PREFIX = re.compile(r"^(local|private|script|global|using):", re.IGNORECASE)
_SANITIZER = re.compile(r"^\[(system\.)?(management\.automation\.)?wildcardpattern\]::escape\b")
_SUPPRESSION = re.compile(r"#\s*qbd-check:\s*allow\b(.*)$", re.IGNORECASE)


def _text(node: Node | None) -> str:
    return (node.text or b"").decode("utf-8") if node is not None else ""


def _lower(node: Node | None) -> str:
    return _text(node).lower()


def _descendants(node: Node) -> Iterator[Node]:
    """``node`` and everything under it, in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _named(node: Node) -> list[Node]:
    return [c for c in node.named_children if c.type != "comment"]


def _variable_key(node: Node) -> tuple[str, bool] | None:
    """``(name, is_script_scope)`` of a ``variable`` node; ``None`` for automatic variables."""
    raw = _text(node)
    if not raw.startswith("$") or raw.startswith("${"):
        return None
    name = raw[1:]
    script_scope = name.lower().startswith(("script:", "global:"))
    name = _SCOPE_PREFIX.sub("", name).lower()
    if not name or name in _AUTOMATIC:
        return None
    return name, script_scope


def command_name(node: Node) -> str:
    """Lower-case name a ``command`` node calls (module qualifier dropped); ``""`` for ``&``."""
    for child in node.children:
        if child.type == "command_name":
            return _lower(child).rsplit("\\", 1)[-1]
    return ""


def command_arguments(node: Node) -> list[tuple[str | None, Node | None]]:
    """``(parameter, value)`` pairs of a command, parameter names lower case without the dash.

    A parameter followed by a value gets it (a switch swallows the next positional value here:
    the rules only read parameters that take one); a positional value has parameter ``None``.
    """
    elements = next((c for c in node.children if c.type == "command_elements"), None)
    if elements is None:
        return []
    items = [c for c in elements.named_children if c.type not in ("command_argument_sep",)]
    out: list[tuple[str | None, Node | None]] = []
    i = 0
    while i < len(items):
        item = items[i]
        if item.type == "command_parameter":
            value = items[i + 1] if i + 1 < len(items) else None
            if value is not None and value.type == "command_parameter":
                value = None
            out.append((_lower(item)[1:].rstrip(":"), value))
            i += 2 if value is not None else 1
        else:
            out.append((None, item))
            i += 1
    return out


def _parameter(node: Node, *names: str) -> tuple[bool, Node | None]:
    """Whether the command is given one of ``names`` (full names, lower case), and its value."""
    for param, value in command_arguments(node):
        if param in names:
            return True, value
    return False, None


class Script:
    """One parsed script with the facts several rules share."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines()
        self.root = parse(text).root_node
        #: every node with the function it lies in (``None``: the top level), by node type
        self.by_type: dict[str, list[tuple[Node, str | None]]] = {}
        self._scopes: dict[int, str | None] = {}
        stack: list[tuple[Node, str | None]] = [(self.root, None)]
        while stack:
            node, scope = stack.pop()
            self.by_type.setdefault(node.type, []).append((node, scope))
            self._scopes[node.id] = scope
            if node.type == "function_statement":
                name = next((c for c in node.children if c.type == "function_name"), None)
                scope = _SCOPE_PREFIX.sub("", _lower(name))
            stack.extend((child, scope) for child in reversed(node.children))

    def of_type(self, *types: str) -> Iterator[tuple[Node, str | None]]:
        """Nodes of these types with their scope (type by type, each in source order)."""
        for kind in types:
            yield from self.by_type.get(kind, ())

    def scope_of(self, node: Node) -> str | None:
        """The function ``node`` lies in (lower case), ``None`` for the script's top level."""
        return self._scopes.get(node.id)

    def commands(self) -> Iterator[tuple[Node, str]]:
        for node, _ in self.of_type("command"):
            name = command_name(node)
            if name:
                yield node, name

    @cached_property
    def functions(self) -> dict[str, Node]:
        """The script's functions by lower-case name."""
        found: dict[str, Node] = {}
        for node, _ in self.of_type("function_statement"):
            name = next((c for c in node.children if c.type == "function_name"), None)
            found[_SCOPE_PREFIX.sub("", _lower(name))] = node
        return found

    @cached_property
    def comma_emitters(self) -> set[str]:
        """Functions that emit a list whole with the unary comma (``return , $list``)."""
        found: set[str] = set()
        for node, scope in self.of_type("expression_with_unary_operator"):
            if not node.children or node.children[0].type != ",":
                continue
            chain = node.parent.parent if node.parent is not None else None
            if chain is None or chain.type != "pipeline_chain" or len(_named(chain)) != 1:
                continue
            statement = chain.parent.parent if chain.parent is not None else None
            if statement is None or statement.type not in (
                "flow_control_statement",
                "statement_list",
            ):
                continue
            if statement.type == "flow_control_statement" and not _lower(statement).startswith(
                "return"
            ):
                continue
            if scope is not None:
                found.add(scope)
        return found

    @cached_property
    def null_emitters(self) -> set[str]:
        """Functions that emit ``$null`` with ``return $null``: an item like any other."""
        found: set[str] = set()
        for node, scope in self.of_type("flow_control_statement"):
            words = _lower(node).split()
            if words == ["return", "$null"] and scope is not None:
                found.add(scope)
        return found

    @cached_property
    def assignments(self) -> list[tuple[str | None, str, bool, Node, Node]]:
        """``(scope, variable, typed, value, assignment)`` for every plain ``$x = value``."""
        found: list[tuple[str | None, str, bool, Node, Node]] = []
        for node, in_scope in self.of_type("assignment_expression"):
            left = next((c for c in node.children if c.type == "left_assignment_expression"), None)
            operator = next((c for c in node.children if c.type == "assignment_operator"), None)
            value = next((c for c in node.children if c.type == "assignment_value"), None)
            if left is None or value is None or _text(operator) != "=":
                continue
            variables = [n for n in _descendants(left) if n.type == "variable"]
            if len(variables) != 1:
                continue
            key = _variable_key(variables[0])
            if key is None:
                continue
            typed = any(n.type == "cast_expression" for n in _descendants(left))
            scope = None if key[1] else in_scope
            found.append((scope, key[0], typed, value, node))
        return found

    @cached_property
    def script_parameters(self) -> set[str]:
        """Variables of the top-level ``param()`` block, lower case without ``$``."""
        block = next((c for c in self.root.children if c.type == "param_block"), None)
        if block is None:
            return set()
        names: set[str] = set()
        for node in _descendants(block):
            if node.type == "script_parameter":
                variable = next((c for c in node.children if c.type == "variable"), None)
                key = _variable_key(variable) if variable is not None else None
                if key is not None:
                    names.add(key[0])
        return names

    def suppressed(self, rule: str, line: int) -> str | None:
        """The text of a suppression of ``rule`` for ``line`` (1-based), if there is one."""
        for index in (line - 1, line - 2):
            if 0 <= index < len(self.lines):
                match = _SUPPRESSION.search(self.lines[index])
                if match is None or (
                    index == line - 2 and not self.lines[index].lstrip().startswith("#")
                ):
                    continue
                words = match.group(1).split()
                if words and words[0].lower() == rule:
                    return self.lines[index].strip()
        return None


# --------------------------------------------------------------------------------------------
# Helpers shared by rules
# --------------------------------------------------------------------------------------------

_PASS_THROUGH = frozenset(
    {"pipeline", "assignment_value", "parenthesized_expression", "sub_expression", "statement_list"}
)


def output_command(node: Node) -> Node | None:
    """The command whose unrolled output ``node`` is, or ``None`` (``@()``, a cast, a value)."""
    while True:
        if node.type == "command":
            return node
        named = _named(node)
        if node.type == "pipeline_chain" and named:
            node = named[-1]  # a pipeline's output is its last command's
        elif len(named) == 1 and (
            node.type in _PASS_THROUGH
            or (
                node.type == "unary_expression"
                and named[0].type != "expression_with_unary_operator"
            )
        ):
            node = named[0]
        else:
            return None


def _line(node: Node) -> int:
    return node.start_point[0] + 1


def _integer(node: Node | None) -> int | None:
    """The value of an integer literal (decimal or hex), through unary wrappers."""
    while (
        node is not None
        and node.type in ("pipeline", "pipeline_chain", "unary_expression", "integer_literal")
        and node.named_children
    ):
        node = node.named_children[0]
    if node is None or node.type not in ("decimal_integer_literal", "hexadecimal_integer_literal"):
        return None
    try:
        return int(_text(node), 0)
    except ValueError:
        return None


def _string_value(node: Node | None) -> str | None:
    """The value of a constant string literal or bareword argument, else ``None``."""
    if node is None:
        return None
    text = _text(node).strip()
    if node.type == "generic_token":
        return text
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" and "$" not in text:
        return text[1:-1]
    return None


def _variables(node: Node, skip: tuple[str, ...] = ()) -> Iterator[Node]:
    """``variable`` nodes under ``node``, leaving out ``[WildcardPattern]::Escape(...)`` calls
    and nodes of the types in ``skip``."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type in skip or (
            current.type == "invocation_expression" and _SANITIZER.match(_lower(current))
        ):
            continue
        if current.type == "variable":
            yield current
        stack.extend(current.children)


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------

Check = Callable[[Script], Iterable[Node]]


@dataclass(frozen=True)
class Rule:
    """A run-time rule: ``flagged`` must give a finding, ``passes`` must give none."""

    id: str
    message: str
    flagged: str
    passes: str
    check: Check


_COUNT_SAFE = frozenset({"measure-object", "new-object"})


def _unsafe_output(script: Script, value: Node, member: str) -> bool:
    command = output_command(value)
    if command is None:
        return False
    name = command_name(command)
    if name in _COUNT_SAFE or name in script.comma_emitters:
        return False
    return not (member == "length" and name == "get-item")  # a file's size


def _count_of_output(script: Script) -> Iterator[Node]:
    """``.Count``/``.Length`` of output; through a variable only ``.Count``, since a stream, a
    file or a string held in a variable has a ``Length`` of its own."""
    by_scope: dict[tuple[str | None, str], list[tuple[int, bool]]] = {}
    for scope, name, typed, value, node in script.assignments:
        unsafe = not typed and _unsafe_output(script, value, "count")
        by_scope.setdefault((scope, name), []).append((node.start_byte, unsafe))
    for node, in_scope in script.of_type("member_access"):
        member = _lower(next((c for c in node.children if c.type == "member_name"), None))
        if member not in ("count", "length") or not node.named_children:
            continue
        target = node.named_children[0]
        if target.type in ("parenthesized_expression", "sub_expression"):
            if _unsafe_output(script, target, member):
                yield node
            continue
        key = _variable_key(target) if target.type == "variable" else None
        if key is None or member != "count":
            continue
        scope = None if key[1] else in_scope
        earlier = [u for start, u in by_scope.get((scope, key[0]), []) if start < node.start_byte]
        if any(earlier):
            yield node


_ARRAY_TYPE = re.compile(r"^\[\s*(?:system\.)?(?:array|[\w.]+\s*\[\s*\])\s*\]$", re.IGNORECASE)


def _array_type_of_output(script: Script) -> Iterator[Node]:
    """``-is [byte[]]`` (or any array type) on output, directly or through a variable assigned
    from it: the array arrives unrolled, as its items, so the test is false for any array."""
    by_scope: dict[tuple[str | None, str], list[tuple[int, bool]]] = {}
    for scope, name, typed, value, node in script.assignments:
        unsafe = not typed and _unsafe_output(script, value, "count")
        by_scope.setdefault((scope, name), []).append((node.start_byte, unsafe))
    for node, in_scope in script.of_type("comparison_expression"):
        sides = _named(node)
        if len(sides) != 3 or _lower(sides[1]) not in ("-is", "-isnot"):
            continue
        if not _ARRAY_TYPE.match(_text(sides[2]).strip()):
            continue
        tested = sides[0]
        inner = _named(tested)
        if tested.type == "unary_expression" and len(inner) == 1 and inner[0].type == "variable":
            key = _variable_key(inner[0])
            if key is None:
                continue
            scope = None if key[1] else in_scope
            earlier = [
                u for start, u in by_scope.get((scope, key[0]), []) if start < node.start_byte
            ]
            if earlier and earlier[-1]:
                yield node
        elif _unsafe_output(script, tested, "count"):
            yield node


def _comma_list_wrapped(script: Script) -> Iterator[Node]:
    emitters = script.comma_emitters
    for node, _ in script.of_type("array_expression"):
        inner = _named(node)
        if len(inner) == 1:
            command = output_command(inner[0])
            if command is not None and command_name(command) in emitters:
                yield node


def _collects_null(script: Script, node: Node) -> bool:
    """``node`` is ``@(Fn ...)`` (through parentheses and the like) of a function that says
    "none" with ``return $null``."""
    while node.type != "array_expression":
        named = _named(node)
        if len(named) != 1:
            return False
        node = named[0]
    inner = _named(node)
    if len(inner) != 1:
        return False
    command = output_command(inner[0])
    return command is not None and command_name(command) in script.null_emitters


def _null_collected(script: Script) -> Iterator[Node]:
    """``.Count`` of ``@(Fn)``, directly or through the variable last assigned from it, where
    ``Fn`` says "none" with ``return $null``: the list holds that $null, so it counts 1. Going
    through such a list with ``foreach`` and skipping ``$null`` is fine, and not flagged."""
    by_scope: dict[tuple[str | None, str], list[tuple[int, bool]]] = {}
    for scope, name, _typed, value, node in script.assignments:
        by_scope.setdefault((scope, name), []).append(
            (node.start_byte, _collects_null(script, value))
        )
    for node, in_scope in script.of_type("member_access"):
        member = _lower(next((c for c in node.children if c.type == "member_name"), None))
        if member != "count" or not node.named_children:
            continue
        target = node.named_children[0]
        key = _variable_key(target) if target.type == "variable" else None
        if key is None:
            if _collects_null(script, target):
                yield node
            continue
        scope = None if key[1] else in_scope
        earlier = [u for start, u in by_scope.get((scope, key[0]), []) if start < node.start_byte]
        if earlier and earlier[-1]:
            yield node


_HAS_NOT_RUN = frozenset({0x41303})
_CAST = re.compile(r"^(\s*\[[^\]]+\])+")
_RAN = frozenset({0, 0x41301})


def _last_task_result_not_run(script: Script) -> Iterator[Node]:
    def is_result(node: Node, names: set[str]) -> bool:
        """``$x.LastTaskResult`` or a variable assigned from it, either maybe cast."""
        text = _CAST.sub("", _lower(node)).strip()
        return text.endswith(".lasttaskresult") or (
            text.startswith("$") and _SCOPE_PREFIX.sub("", text[1:]) in names
        )

    results: dict[str | None, set[str]] = {}
    for scope, name, _, value, _ in script.assignments:
        if _CAST.sub("", _lower(value)).strip().endswith(".lasttaskresult"):
            results.setdefault(scope, set()).add(name)
    compared: dict[str | None, list[tuple[Node, int]]] = {}
    running: set[str | None] = set()
    for node, scope in script.of_type("comparison_expression"):
        sides = _named(node)
        if len(sides) != 3:
            continue
        left, _, right = sides
        if "'running'" in _lower(node) and ".state" in _lower(node):
            running.add(scope)
        for a, b in ((left, right), (right, left)):
            number = _integer(b)
            if number is not None and is_result(a, results.get(scope, set())):
                compared.setdefault(scope, []).append((node, number))
    for scope, comparisons in compared.items():
        values = {n for _, n in comparisons}
        if values & _HAS_NOT_RUN and not values & _RAN and scope not in running:
            yield from (n for n, v in comparisons if v in _HAS_NOT_RUN)


#: Commands whose parameters expand wildcards (``*?[]``), by parameter.
_PATH_ONLY = (
    "get-item test-path copy-item move-item get-itempropertyvalue set-itemproperty set-content "
    "add-content clear-content get-acl set-acl resolve-path get-filehash select-string "
    "compress-archive expand-archive invoke-item rename-item clear-item"
)
WILDCARD_PARAMETERS: dict[str, frozenset[str]] = {
    **{c: frozenset({"path"}) for c in _PATH_ONLY.split()},
    "get-childitem": frozenset({"path", "filter", "include", "exclude"}),
    "remove-item": frozenset({"path", "filter", "include", "exclude"}),
    "get-content": frozenset({"path", "filter", "include", "exclude"}),
    "get-itemproperty": frozenset({"path", "name"}),
    "remove-itemproperty": frozenset({"path", "name"}),
    "get-process": frozenset({"name"}),
    "stop-process": frozenset({"name"}),
    "get-service": frozenset({"name", "displayname", "include", "exclude"}),
    "get-scheduledtask": frozenset({"taskname", "taskpath"}),
    "get-winevent": frozenset({"logname", "providername"}),
    "get-command": frozenset({"name"}),
}


def _names_in(node: Node | None) -> frozenset[str]:
    """Variables a value is computed from: not those in script blocks (a filter such as
    ``Where-Object { $_.Name -eq $n }`` selects by a value, it does not pass it on)."""
    if node is None:
        return frozenset()
    keys = (_variable_key(v) for v in _variables(node, skip=("script_block_expression",)))
    return frozenset(k[0] for k in keys if k is not None)


def user_values(script: Script) -> set[tuple[str | None, str]]:
    """``(scope, variable)`` pairs holding a user value or one derived from it (module doc)."""
    flows: list[tuple[str | None, tuple[str | None, str], frozenset[str]]] = [
        (scope, (scope, name), _names_in(value)) for scope, name, _, value, _ in script.assignments
    ]
    for node, scope in script.of_type("foreach_statement"):
        loop = next((c for c in node.named_children if c.type == "variable"), None)
        key = _variable_key(loop) if loop is not None else None
        source = next((c for c in node.named_children if c.type == "pipeline"), None)
        if key is not None:
            flows.append((scope, (scope, key[0]), _names_in(source)))
    for node, scope in script.of_type("command"):
        called = command_name(node)
        if called in script.functions:
            flows.extend(
                (scope, (called, param), _names_in(value))
                for param, value in command_arguments(node)
                if param is not None
            )
    tainted: set[tuple[str | None, str]] = {(None, p) for p in script.script_parameters}
    while True:
        before = len(tainted)
        for scope, target, names in flows:
            if target not in tainted and any(
                (scope, n) in tainted or (None, n) in tainted for n in names
            ):
                tainted.add(target)
        if len(tainted) == before:
            return tainted


def _wildcard_parameter_fed_user_value(script: Script) -> Iterator[Node]:
    tainted = user_values(script)
    for node, name in script.commands():
        params = WILDCARD_PARAMETERS.get(name)
        if params is None:
            continue
        scope = script.scope_of(node)
        for param, value in command_arguments(node):
            names = _names_in(value) if param in params else frozenset()
            if any((scope, n) in tainted or (None, n) in tainted for n in names):
                yield node
                break


def _shutdown_timer(script: Script) -> Iterator[Node]:
    for node, name in script.commands():
        if name not in ("shutdown", "shutdown.exe"):
            continue
        texts = [
            text
            for param, value in command_arguments(node)
            for text in ([f"-{param}"] if param else []) + ([_lower(value)] if value else [])
        ]
        for i, t in enumerate(texts):
            if t in ("/t", "-t") and (i + 1 >= len(texts) or texts[i + 1] != "0"):
                yield node
                break


_ENDS_CHANGE = re.compile(r"\bthrow\b|\breturn\s+\$false\b", re.IGNORECASE)


def _change_swallows_failure(script: Script) -> Iterator[Node]:
    """A ``catch`` inside an ``Invoke-QbdChange -Change { }`` block that neither throws nor
    returns ``$false``: the change failed, yet is recorded as performed."""
    for node, name in script.commands():
        if name != "invoke-qbdchange":
            continue
        given, block = _parameter(node, "change")
        if not given or block is None:
            continue
        for clause in _descendants(block):
            if clause.type == "catch_clause" and not _ENDS_CHANGE.search(_text(clause)):
                yield clause


def _numeric_hashtable_key(script: Script) -> Iterator[Node]:
    """A hashtable literal keyed by numbers: ``0`` is an [int] key, ``2147942402`` a [long] one,
    and a lookup with a number of the other type finds nothing."""
    for node, _ in script.of_type("key_expression"):
        if any(d.type == "integer_literal" for d in _descendants(node)):
            yield node


def _commands_named(names: str) -> Check:
    """A check that flags every call of the commands in ``names`` (space-separated)."""
    wanted = frozenset(names.split())

    def check(script: Script) -> Iterator[Node]:
        return (node for node, name in script.commands() if name in wanted)

    return check


def _convertto_json_without_depth(script: Script) -> Iterator[Node]:
    for node, name in script.commands():
        if name == "convertto-json" and not _parameter(node, "depth")[0]:
            yield node


def _convertto_json_from_pipeline(script: Script) -> Iterator[Node]:
    for node, name in script.commands():
        chain = node.parent
        fed = chain is not None and chain.type == "pipeline_chain" and _named(chain)[0] != node
        if name == "convertto-json" and fed:
            yield node


def _web_request_without_basic_parsing(script: Script) -> Iterator[Node]:
    names = ("invoke-webrequest", "iwr", "invoke-restmethod", "irm", "curl", "wget")
    for node, name in script.commands():
        if name in names and not _parameter(node, "usebasicparsing")[0]:
            yield node


def _exit_code(script: Script) -> Iterator[Node]:
    for node, _ in script.of_type("flow_control_statement"):
        if not _lower(node).startswith("exit"):
            continue
        value = _integer(_named(node)[0]) if _named(node) else 0
        if value is not None and value not in (0, 1, 3):
            yield node


_SID_VARIABLE = re.compile(r"^\$(\w+:)?\w*sid\w*$", re.IGNORECASE)
_SID_TEXT = re.compile(r"^s-1-[\d-]+$", re.IGNORECASE)


def _principal_by_name(script: Script) -> Iterator[Node]:
    for node, name in script.commands():
        if name != "new-scheduledtaskprincipal":
            continue
        given, value = _parameter(node, "userid")
        if not given or value is None:
            continue
        literal = _string_value(value)
        if literal is not None:
            if not _SID_TEXT.match(literal):
                yield node
        elif not _SID_VARIABLE.match(_text(value).strip()):
            yield node


def _winevent_application_unfiltered(script: Script) -> Iterator[Node]:
    hashes: dict[tuple[str | None, str], Node] = {}
    for scope, name, _, value, _ in script.assignments:
        literal = next(
            (n for n in _descendants(value) if n.type == "hash_literal_expression"), None
        )
        if literal is not None:
            hashes[(scope, name)] = literal

    def keys(table: Node) -> dict[str, Node]:
        found: dict[str, Node] = {}
        for entry in (
            (c for c in _named(table.named_children[0]) if c.type == "hash_entry")
            if table.named_children
            else ()
        ):
            key = next((c for c in entry.named_children if c.type == "key_expression"), None)
            value = next((c for c in entry.named_children if c.type != "key_expression"), None)
            if key is not None and value is not None:
                found[_lower(key).strip("'\"")] = value
        return found

    for node, name in script.commands():
        if name != "get-winevent":
            continue
        given, log = _parameter(node, "logname")
        if given:
            if (_string_value(log) or "").lower() == "application" and not _parameter(
                node, "providername"
            )[0]:
                yield node
            continue
        given, table = _parameter(node, "filterhashtable")
        if not given or table is None:
            continue
        literal = next(
            (n for n in _descendants(table) if n.type == "hash_literal_expression"), None
        )
        if literal is None and table.type in ("unary_expression", "variable"):
            variable = next((n for n in _descendants(table) if n.type == "variable"), None)
            key = _variable_key(variable) if variable is not None else None
            if key is not None:
                literal = hashes.get((script.scope_of(node), key[0])) or hashes.get((None, key[0]))
        if literal is None:
            continue
        entries = keys(literal)
        if (
            _string_value(entries.get("logname")) or ""
        ).lower() == "application" and "providername" not in entries:
            yield node


_XML_DOCUMENT_TYPES = frozenset({"xml", "xmldocument", "system.xml.xmldocument"})
_DTD_PROHIBITED = re.compile(
    r"\.DtdProcessing\s*=\s*\[(system\.)?xml\.DtdProcessing\]::Prohibit", re.I
)


def _xml_parsed_with_defaults(script: Script) -> Iterator[Node]:
    """XML parsed the way PowerShell or .NET do by default: an ``[xml]`` cast (its DTD parsed, a
    document of up to 512 MB), ``Select-Xml``, ``.LoadXml(...)``, ``.Load(...)`` of anything but
    a reader (a variable named ...reader), and ``[XmlReader]::Create`` in a script that never
    sets ``DtdProcessing`` to ``Prohibit``."""
    for node, _ in script.of_type("cast_expression"):
        literal = next((c for c in node.children if c.type == "type_literal"), None)
        spec = (
            next((c for c in literal.children if c.type == "type_spec"), None) if literal else None
        )
        if _lower(spec) in _XML_DOCUMENT_TYPES:
            yield node
    for node, name in script.commands():
        if name == "select-xml":
            yield node
    prohibited = _DTD_PROHIBITED.search(script.text) is not None
    for node, _ in script.of_type("invocation_expression"):
        member = _lower(next((c for c in node.children if c.type == "member_name"), None))
        static = any(c.type == "::" for c in node.children)
        if static:
            owner = _lower(next((c for c in node.children if c.type == "type_literal"), None))
            if member == "create" and owner.endswith("xmlreader]") and not prohibited:
                yield node
            continue
        if member == "loadxml":
            yield node
        elif member == "load":
            arguments = next((c for c in node.children if c.type == "argument_list"), None)
            names = [_lower(v) for v in _variables(arguments)] if arguments is not None else []
            if not any("reader" in n for n in names):
                yield node


def _json_array_as_one_object(script: Script) -> Iterator[Node]:
    """``ConvertFrom-Json`` whose output goes on as a stream: piped into another command, or
    collected by ``@(...)``. Windows PowerShell 5.1 writes a JSON array as one object, so the
    next command (or the list) gets the whole array as a single item; PowerShell 7 unrolls it,
    so the mistake shows only on 5.1. Assigned to a variable, the array arrives whole in both."""
    for node, name in script.commands():
        chain = node.parent
        if name != "convertfrom-json" or chain is None or chain.type != "pipeline_chain":
            continue
        named = _named(chain)
        if named and named[-1].id != node.id:
            yield node
    for node, _ in script.of_type("array_expression"):
        inner = _named(node)
        if len(inner) == 1:
            command = output_command(inner[0])
            if command is not None and command_name(command) == "convertfrom-json":
                yield node


def _dotnet_without_language_mode_check(script: Script) -> Iterator[Node]:
    """The first ``Add-Type`` or static .NET call of a script that never reads LanguageMode."""
    if "languagemode" in script.text.lower():
        return
    uses = [node for node, name in script.commands() if name == "add-type"]
    uses += [
        node
        for node, _ in script.of_type("invocation_expression")
        if _text(node).startswith("[") and "]::" in _text(node)
    ]
    if uses:
        yield min(uses, key=lambda n: n.start_byte)


RULES: tuple[Rule, ...] = (
    Rule(
        "count-of-output",
        "a command's or function's output is $null, one object or an array: under strict mode "
        "5.1 throws on .Count/.Length of one object; write @(Get-X).Count, or $x = @(Get-X)",
        "function Get-Thing {\n    Get-ChildItem -LiteralPath 'C:\\x'\n}\n"
        "$things = Get-Thing\nif ($things.Count -gt 0) { 'some' }\n"
        "$n = (Get-Process -Name 'x' -ErrorAction SilentlyContinue).Count\n",
        "function Get-Thing {\n    Get-ChildItem -LiteralPath 'C:\\x'\n}\n"
        "$things = @(Get-Thing)\nif ($things.Count -gt 0) { 'some' }\n"
        "$n = @(Get-Process -Name 'x' -ErrorAction SilentlyContinue).Count\n"
        "$m = (Get-ChildItem -LiteralPath 'C:\\x' | Measure-Object).Count\n",
        _count_of_output,
    ),
    Rule(
        "array-type-of-output",
        "output is unrolled: an array a function or command returns arrives as its items (or one "
        "bare item), so -is [T[]] is false; collect it with @(...) and test the items",
        "function Get-Data {\n    Get-ItemPropertyValue -LiteralPath 'HKLM:\\x' -Name 'Blob'\n}\n"
        "$data = Get-Data\nif ($data -is [byte[]]) { 'binary' }\n"
        "if ((Get-Data) -isnot [System.Array]) { 'one' }\n",
        "function Get-Data {\n    Get-ItemPropertyValue -LiteralPath 'HKLM:\\x' -Name 'Blob'\n}\n"
        "$data = @(Get-Data)\nif ($data.Count -gt 0 -and $data[0] -is [byte]) { 'binary' }\n"
        "$raw = $key.GetValue('Blob')\nif ($raw -is [byte[]]) { 'binary' }\n",
        _array_type_of_output,
    ),
    Rule(
        "comma-list-wrapped",
        "this function emits its list whole (unary comma) and @(...) wraps it again: a list "
        "inside a list; emit the items and wrap at the call site, or drop the @()",
        "function Get-List {\n    $list = New-Object System.Collections.ArrayList\n"
        "    return , $list\n}\n$items = @(Get-List)\n",
        "function Get-List {\n    $list = New-Object System.Collections.ArrayList\n"
        "    $list\n}\n$items = @(Get-List)\n",
        _comma_list_wrapped,
    ),
    Rule(
        "null-collected",
        "this function says 'none' with return $null, and @(...) keeps that $null as an item: "
        "the .Count is 1, not 0; end with a bare return (emits nothing), or test for $null "
        "without @()",
        "function Get-Owner {\n    param($Id)\n    if (-not $Id) { return $null }\n    'alice'\n}\n"
        "$owners = @(Get-Owner -Id $id)\nif ($owners.Count -gt 0) { 'someone' }\n"
        "$n = @(Get-Owner -Id $other).Count\n",
        "function Get-Owner {\n    param($Id)\n    if (-not $Id) { return }\n    'alice'\n}\n"
        "$owners = @(Get-Owner -Id $id)\nif ($owners.Count -gt 0) { 'someone' }\n"
        "function Find-One {\n    return $null\n}\n$one = Find-One\nif ($null -eq $one) { 'none' }\n"
        "foreach ($item in @(Find-One)) { if ($null -ne $item) { $item } }\n"
        "$ones = @(Find-One)\n$ones = @('a')\n$ones.Count\n",
        _null_collected,
    ),
    Rule(
        "task-result-not-run",
        "LastTaskResult other than 0x41303 (has not run) does not mean the task started: only 0, "
        "0x41301 (running) or State 'Running' do; compare with those",
        "$info = Get-ScheduledTaskInfo -TaskName 'T'\n$started = $info.LastTaskResult -ne 267011\n",
        "$info = Get-ScheduledTaskInfo -TaskName 'T'\n"
        "$started = ($info.LastTaskResult -eq 0x41301) -or ($info.LastTaskResult -eq 0)\n",
        _last_task_result_not_run,
    ),
    Rule(
        "wildcard-path",
        "a user value in a parameter that expands wildcards: [ ] * ? in it match other items or "
        "none; use -LiteralPath, or list and compare names as text (-eq)",
        "param([string] $ClientName)\n$name = 'QuickbooksDesktop_' + $ClientName\n"
        "$task = Get-ScheduledTask -TaskName $name -ErrorAction SilentlyContinue\n",
        "param([string] $ClientName)\n$name = 'QuickbooksDesktop_' + $ClientName\n"
        "$task = Get-ScheduledTask | Where-Object { $_.TaskName -eq $name }\n"
        "$file = Get-Item -LiteralPath (Join-Path 'C:\\x' $name)\n",
        _wildcard_parameter_fed_user_value,
    ),
    Rule(
        "shutdown-timer",
        "shutdown /t N (N > 0) implies /f: open programs (a QuickBooks company file) close "
        "without saving; restart only when the user agreed, without a timer",
        "shutdown.exe /r /t 60 /c 'restarting'\n",
        "shutdown.exe /a\n",
        _shutdown_timer,
    ),
    Rule(
        "change-swallows-failure",
        "a change block that catches its own failure is recorded as performed: end the catch "
        "with 'return $false' (or throw)",
        "$null = Invoke-QbdChange -Target $p -Action 'Add' -Change {\n"
        "    try { Add-MpPreference -ExclusionPath $p } catch { Write-Verbose -Message 'no' }\n}\n",
        "$null = Invoke-QbdChange -Target $p -Action 'Add' -Change {\n"
        "    try { Add-MpPreference -ExclusionPath $p } catch { return $false }\n}\n",
        _change_swallows_failure,
    ),
    Rule(
        "numeric-hashtable-key",
        "a hashtable keyed by numbers keeps [int] and [long] keys apart, so a lookup with the "
        "other type finds nothing: key by text ('0' = ...) and look up with [string]$code",
        "$names = @{ 0 = 'ok'; 2147942402 = 'file not found' }\n$name = $names[[int64]$code]\n",
        "$names = @{ '0' = 'ok'; '2147942402' = 'file not found' }\n$name = $names[[string]$code]\n",
        _numeric_hashtable_key,
    ),
    Rule(
        "json-depth",
        "ConvertTo-Json without -Depth flattens what lies deeper than 2 levels, silently: "
        "always give -Depth",
        "$text = ConvertTo-Json -InputObject $data\n",
        "$text = ConvertTo-Json -InputObject $data -Depth 6\n",
        _convertto_json_without_depth,
    ),
    Rule(
        "json-pipeline",
        "piping into ConvertTo-Json unrolls arrays (one item becomes an object, none becomes "
        "nothing): use ConvertTo-Json -InputObject",
        "$text = $items | ConvertTo-Json -Depth 4\n",
        "$text = ConvertTo-Json -InputObject @($items) -Depth 4\n",
        _convertto_json_from_pipeline,
    ),
    Rule(
        "web-basic-parsing",
        "Invoke-WebRequest/Invoke-RestMethod without -UseBasicParsing fails where Internet "
        "Explorer's engine is missing or not set up (SYSTEM, Server Core): add -UseBasicParsing",
        "Invoke-WebRequest -Uri $url -OutFile $path\n",
        "Invoke-WebRequest -Uri $url -OutFile $path -UseBasicParsing\n",
        _web_request_without_basic_parsing,
    ),
    Rule(
        "compress-archive",
        "Compress-Archive in 5.1 stops at 2 GB, cannot read files in use and is slow: use "
        "[System.IO.Compression.ZipFile] after Add-Type -AssemblyName System.IO.Compression.FileSystem",
        "Compress-Archive -LiteralPath $folder -DestinationPath $zip\n",
        "Add-Type -AssemblyName System.IO.Compression.FileSystem\n"
        "[System.IO.Compression.ZipFile]::CreateFromDirectory($folder, $zip)\n",
        _commands_named("compress-archive"),
    ),
    Rule(
        "wmi-cmdlet",
        "the WMI cmdlets and wmic are gone in PowerShell 7 and wmic from new Windows: use "
        "Get-CimInstance / Invoke-CimMethod",
        "$os = Get-WmiObject -Class Win32_OperatingSystem\n",
        "$os = Get-CimInstance -ClassName Win32_OperatingSystem\n",
        _commands_named(
            "get-wmiobject gwmi invoke-wmimethod set-wmiinstance remove-wmiobject"
            " register-wmievent wmic wmic.exe"
        ),
    ),
    Rule(
        "eventlog-cmdlet",
        "the *-EventLog cmdlets are gone in PowerShell 7: read events with Get-WinEvent "
        "-FilterHashtable",
        "$errors = Get-EventLog -LogName Application -EntryType Error -Newest 50\n",
        "$errors = Get-WinEvent -FilterHashtable @{ LogName = 'Application'; "
        "ProviderName = 'QBSDK'; Level = 2 } -MaxEvents 50\n",
        _commands_named(
            "get-eventlog write-eventlog new-eventlog clear-eventlog limit-eventlog"
            " remove-eventlog show-eventlog"
        ),
    ),
    Rule(
        "exit-code",
        "exit codes other than 0, 1 and 3 become 1 under powershell.exe -Command (how some RMM "
        "agents run scripts): exit 0 (ok/changed), 1 (failed) or 3 (a person must act)",
        "exit 2\n",
        "exit 3\n",
        _exit_code,
    ),
    Rule(
        "task-principal-name",
        "a task principal by account name breaks for Entra ID (AzureAD\\...) and renamed "
        "accounts: pass the user's SID (GetOwnerSid) in a variable named ...Sid",
        "$principal = New-ScheduledTaskPrincipal -UserId $userName -LogonType Interactive\n",
        "$principal = New-ScheduledTaskPrincipal -UserId $userSid -LogonType Interactive\n",
        _principal_by_name,
    ),
    Rule(
        "winevent-application",
        "Get-WinEvent on the Application log without ProviderName reads every program's events "
        "(slow, thousands of records): filter by ProviderName",
        "$query = @{ LogName = 'Application'; Level = 2 }\n"
        "$events = @(Get-WinEvent -FilterHashtable $query -MaxEvents 500)\n",
        "$query = @{ LogName = 'Application'; ProviderName = 'QBSDK'; Level = 2 }\n"
        "$events = @(Get-WinEvent -FilterHashtable $query -MaxEvents 500)\n",
        _winevent_application_unfiltered,
    ),
    Rule(
        "xml-dtd",
        "[xml], Select-Xml and XmlDocument.Load/LoadXml parse a file's DTD (entities, external "
        "resources) with no useful size limit: read XML from a PC through [System.Xml.XmlReader]"
        "::Create with DtdProcessing Prohibit, XmlResolver $null and MaxCharactersInDocument",
        "$document = [xml](Get-Content -LiteralPath $path -Raw)\n",
        "$settings = New-Object -TypeName System.Xml.XmlReaderSettings\n"
        "$settings.DtdProcessing = [System.Xml.DtdProcessing]::Prohibit\n"
        "$settings.XmlResolver = $null\n"
        "$reader = [System.Xml.XmlReader]::Create($stream, $settings)\n"
        "$document = New-Object -TypeName System.Xml.XmlDocument\n"
        "$document.Load($reader)\n",
        _xml_parsed_with_defaults,
    ),
    Rule(
        "json-array-one-object",
        "5.1's ConvertFrom-Json writes a JSON array as one object: piped on or wrapped in @() it "
        "is a single item (the whole array); assign it to a variable and foreach over that",
        "$cases = @(Get-Content -Raw -LiteralPath $path | ConvertFrom-Json)\n"
        "$text | ConvertFrom-Json | ForEach-Object { $_.name }\n",
        "$cases = ConvertFrom-Json -InputObject (Get-Content -Raw -LiteralPath $path)\n"
        "foreach ($case in $cases) { $case.name }\n"
        "$document = Get-Content -LiteralPath $path -Raw | ConvertFrom-Json\n",
        _json_array_as_one_object,
    ),
    Rule(
        "language-mode",
        "Add-Type and .NET method calls fail under Constrained Language Mode (AppLocker/WDAC): "
        "check $ExecutionContext.SessionState.LanguageMode first and report it",
        "Add-Type -AssemblyName System.IO.Compression.FileSystem\n",
        "if ($ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage') { exit 3 }\n"
        "Add-Type -AssemblyName System.IO.Compression.FileSystem\n",
        _dotnet_without_language_mode_check,
    ),
)

_RULE_IDS = frozenset(r.id for r in RULES)


def _snippet(node: Node) -> str:
    first = _text(node).split("\n", 1)[0]
    return " ".join(first.split())[:100]


def check_rules(text: str, rules: Iterable[Rule] = RULES) -> list[Finding]:
    """Every finding of ``rules`` in ``text``, in line order, minus justified suppressions."""
    rules = tuple(rules)
    ran = {r.id for r in rules}
    script = Script(text)
    findings: list[Finding] = []
    used: set[int] = set()
    for rule in rules:
        seen: set[tuple[int, int]] = set()
        for node in rule.check(script):
            if (node.start_byte, node.end_byte) in seen:
                continue
            seen.add((node.start_byte, node.end_byte))
            line = _line(node)
            if script.suppressed(rule.id, line) is not None:
                used.update(
                    i + 1
                    for i in (line - 1, line - 2)
                    if 0 <= i < len(script.lines) and _SUPPRESSION.search(script.lines[i])
                )
                continue
            findings.append(Finding(rule.id, line, _snippet(node), rule.message))
    for index, line_text in enumerate(script.lines):
        match = _SUPPRESSION.search(line_text)
        if match is None:
            continue
        words = match.group(1).split()
        problem = None
        if not words or words[0].lower() not in _RULE_IDS:
            problem = "names no rule: write # qbd-check: allow <rule-id> <reason>"
        elif len(words) < 2:
            problem = "gives no reason: say why the rule is wrong here"
        elif index + 1 not in used and words[0].lower() in ran:
            problem = "silences nothing: remove it"
        if problem is not None:
            findings.append(Finding("suppression", index + 1, line_text.strip()[:100], problem))
    return sorted(findings, key=lambda f: (f.line, f.rule))
