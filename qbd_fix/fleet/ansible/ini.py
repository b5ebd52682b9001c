"""Ansible's INI inventory: ``[group]``, ``[group:vars]``, ``[group:children]`` and host lines.

Read the way Ansible reads it, since an MSP's file was written against that:
host lines split like a shell line (quotes group, ``#`` starts a comment),
``key=value`` on a host line or in a ``:vars`` section is read as a Python literal
when it is one (``5986`` a number, ``True`` a boolean, ``'x'`` text) and as text
otherwise, hosts before the first section are ungrouped, and a group may be named
in ``:children`` before its own section, but must have one somewhere.
"""

from __future__ import annotations

import ast
import re
import shlex
import warnings
from dataclasses import dataclass, field

from qbd_fix.fleet.ansible import hostpatterns
from qbd_fix.fleet.ansible.model import Inventory, InventoryError, Value
from qbd_fix.fleet.ansible.secrets import mentions_secret

_SECTION = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$")
_GROUP_NAME = re.compile(r"^([^:\]\s]+)\s*(?:#.*)?$")
_KINDS = ("hosts", "vars", "children")
#: Longer values stay text: a literal that large is no connection setting.
_MAX_LITERAL = 10_000


class IniError(ValueError):
    """A problem on one line: ``line`` is its number."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


def literal(text: str) -> object:
    """A value as Ansible reads it from INI: a Python literal when it is one, else the text."""
    if len(text) > _MAX_LITERAL:
        return text
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # '\d' in a path is a SyntaxWarning, not our concern
            return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


@dataclass
class _State:
    group: str = "ungrouped"
    kind: str = "hosts"
    #: [g:vars] seen before any [g] or [g:children]: group -> its line.
    pending_vars: dict[str, int] = field(default_factory=dict)
    #: a child named before its own section: child -> (line, parents).
    pending_children: dict[str, tuple[int, list[str]]] = field(default_factory=dict)


def _section(inventory: Inventory, state: _State, match: re.Match[str], number: int) -> None:
    group, kind = match[1], match[2] or "hosts"
    if kind not in _KINDS:
        raise IniError(
            number, f"section [{group}:{kind}] has an unknown type (use :vars or :children)"
        )
    if group not in inventory.groups and kind == "vars" and group not in state.pending_children:
        state.pending_vars.setdefault(group, number)
    inventory.add_group(group)
    if kind != "vars":
        state.pending_vars.pop(group, None)
        waiting = state.pending_children.pop(group, None)
        if waiting is not None:
            for parent in waiting[1]:
                _add_child(inventory, parent, group, number)
    state.group, state.kind = group, kind


def _add_child(inventory: Inventory, parent: str, child: str, number: int) -> None:
    try:
        inventory.add_child(parent, child)
    except InventoryError as exc:
        raise IniError(number, str(exc)) from None


def _host_line(inventory: Inventory, state: _State, line: str, number: int, where: str) -> None:
    try:
        tokens = shlex.split(line, comments=True)
    except ValueError as exc:
        raise IniError(number, f"cannot read the host line: {str(exc).lower()}") from None
    if not tokens:
        return
    try:
        names, port = hostpatterns.hosts(tokens[0])
    except hostpatterns.PatternError as exc:
        raise IniError(number, str(exc)) from None
    variables: dict[str, Value] = {}
    for token in tokens[1:]:
        if "=" not in token:
            found = "a word" if mentions_secret(line) else repr(token)
            raise IniError(
                number,
                f"expected key=value after the host, found {found} (quote values with spaces)",
            )
        key, raw = token.split("=", 1)
        variables[key] = Value(literal(raw), where)
    for name in names:
        new = name not in inventory.hosts
        host = inventory.add_host(name, where, state.group)
        if new and port is not None:
            host.vars["ansible_port"] = Value(port, where)
        host.vars.update(variables)


def _vars_line(inventory: Inventory, state: _State, line: str, number: int, where: str) -> None:
    if "=" not in line:
        found = "a line (not shown: it names a password)" if mentions_secret(line) else repr(line)
        raise IniError(number, f"expected key=value in [{state.group}:vars], found {found}")
    key, raw = (part.strip() for part in line.split("=", 1))
    try:
        inventory.set_group_var(state.group, key, Value(literal(raw), where))
    except InventoryError as exc:
        raise IniError(number, str(exc)) from None


def _child_line(inventory: Inventory, state: _State, line: str, number: int) -> None:
    match = _GROUP_NAME.match(line)
    if match is None:
        raise IniError(number, f"expected a group name in [{state.group}:children], found {line!r}")
    child = match[1]
    if child in inventory.groups:
        _add_child(inventory, state.group, child, number)
    else:
        state.pending_children.setdefault(child, (number, []))[1].append(state.group)


def parse(text: str, name: str) -> Inventory:
    """The inventory of an INI file's text; *name* prefixes where each value was set."""
    inventory = Inventory()
    state = _State()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        section = _SECTION.match(line)
        if section is not None:
            _section(inventory, state, section, number)
            continue
        if line.startswith("[") and line.endswith("]"):
            raise IniError(
                number, f"{line!r} is not a section header (a group name has no spaces or ':')"
            )
        where = f"{name}:{number}"
        if state.kind == "hosts":
            _host_line(inventory, state, line, number, where)
        elif state.kind == "vars":
            _vars_line(inventory, state, line, number, where)
        else:
            _child_line(inventory, state, line, number)
    for group, number in state.pending_vars.items():
        raise IniError(number, f"[{group}:vars] is for a group that has no [{group}] section")
    for child, (number, parents) in state.pending_children.items():
        raise IniError(
            number, f"[{parents[0]}:children] names group {child!r}, which has no [{child}] section"
        )
    inventory.reconcile()
    return inventory
