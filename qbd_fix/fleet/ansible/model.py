"""An Ansible inventory in memory: groups, hosts, their variables, and Ansible's merge order.

Every value remembers where it was set (``hosts.ini:12``, ``hosts.yml: all.vars``,
``group_vars/win.yml``) so that a bad one is reported at its source, not at the
host that inherited it. The merge order is the one Ansible documents: the ``all``
group, then the host's other groups from the shallowest to the deepest (siblings
by ``ansible_group_priority``, then by name), then ``group_vars/all``, then the
same groups' ``group_vars`` files, then the host's own variables, then its
``host_vars`` files; a later value replaces an earlier one whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

PRIORITY_VAR = "ansible_group_priority"


class InventoryError(ValueError):
    """A structural problem (a group that is its own ancestor, a bad priority)."""


@dataclass(frozen=True)
class Value:
    """A variable's value and where it was set."""

    value: object
    where: str


class Vault:
    """An inline ``!vault`` value: encrypted text that only Ansible can open. Never shown."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<vault-encrypted value>"


VAULT = Vault()


class Unsafe(str):
    """Text marked ``!unsafe``: Ansible never treats it as a template, so neither do we."""

    __slots__ = ()


@dataclass
class Group:
    name: str
    vars: dict[str, Value] = field(default_factory=dict)
    #: Ordered sets (dicts with no values): the order is the inventory's.
    hosts: dict[str, None] = field(default_factory=dict)
    children: dict[str, None] = field(default_factory=dict)
    parents: dict[str, None] = field(default_factory=dict)
    priority: int = 1


@dataclass
class Host:
    name: str
    #: Where the host first appeared: the source of its target.
    where: str
    vars: dict[str, Value] = field(default_factory=dict)
    groups: dict[str, None] = field(default_factory=dict)


#: ``group_vars`` / ``host_vars`` lookup: the variables of one group or host name, merged.
VarsLookup = Callable[[str], Mapping[str, Value]]


class Inventory:
    """Groups and hosts as an inventory file declares them; ``all`` and ``ungrouped`` always exist."""

    def __init__(self) -> None:
        self.groups: dict[str, Group] = {}
        self.hosts: dict[str, Host] = {}
        self._depth: dict[str, int] = {}
        self._ancestors: dict[str, frozenset[str]] = {}
        #: a host's direct groups -> its group names: hosts listed alike share one answer
        self._group_names: dict[tuple[str, ...], list[str]] = {}
        self.add_group("all")
        self.add_group("ungrouped")
        self.add_child("all", "ungrouped")

    def add_group(self, name: str) -> Group:
        group = self.groups.get(name)
        if group is None:
            group = self.groups[name] = Group(name)
            self._depth.clear()
        return group

    def add_child(self, parent: str, child: str) -> None:
        """Make *child* a child of *parent*; a loop (a group inside itself) is refused."""
        if parent == child or parent in self.descendants(child):
            raise InventoryError(
                f"group {child!r} cannot be a child of {parent!r}: {parent!r} is inside it already"
            )
        self.add_group(parent).children[child] = None
        self.add_group(child).parents[parent] = None
        self._depth.clear()
        self._ancestors.clear()
        self._group_names.clear()

    def add_host(self, name: str, where: str, group: str | None = None) -> Host:
        host = self.hosts.get(name)
        if host is None:
            host = self.hosts[name] = Host(name, where)
        if group is not None:
            self.add_group(group).hosts[name] = None
            host.groups[group] = None
        return host

    def set_group_var(self, group: str, key: str, value: Value) -> None:
        """A group variable; ``ansible_group_priority`` sets the group's merge priority instead."""
        target = self.add_group(group)
        if key == PRIORITY_VAR:
            raw = value.value
            if isinstance(raw, bool) or not isinstance(raw, (int, str)):
                raise InventoryError(f"{PRIORITY_VAR} must be a whole number")
            try:
                target.priority = int(raw)
            except ValueError:
                raise InventoryError(f"{PRIORITY_VAR} {raw!r} is not a whole number") from None
            return
        target.vars[key] = value

    def descendants(self, name: str) -> set[str]:
        found: set[str] = set()
        stack = [name]
        while stack:
            for child in self.groups[stack.pop()].children:
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return found

    def ancestors(self, name: str) -> frozenset[str]:
        cached = self._ancestors.get(name)
        if cached is None:
            found: set[str] = set()
            stack = [name]
            while stack:
                for parent in self.groups[stack.pop()].parents:
                    if parent not in found:
                        found.add(parent)
                        stack.append(parent)
            cached = self._ancestors[name] = frozenset(found)
        return cached

    def reconcile(self) -> None:
        """What Ansible does once a source is read: top-level groups go under ``all``, a host
        in no group goes to ``ungrouped``, and one in another group leaves it."""
        for name, group in list(self.groups.items()):
            if name != "all" and not group.parents:
                self.add_child("all", name)
        ungrouped = self.groups["ungrouped"]
        for host in self.hosts.values():
            others = set(host.groups) - {"all", "ungrouped"}
            if others and "ungrouped" in host.groups:
                del host.groups["ungrouped"]
                ungrouped.hosts.pop(host.name, None)
            elif not others and "ungrouped" not in host.groups:
                self.add_host(host.name, host.where, "ungrouped")

    def depth(self, name: str) -> int:
        """The longest way down from ``all`` (Ansible merges deeper groups later)."""
        if not self._depth:
            self._depth["all"] = 0
            pending = ["all"]
            while pending:  # longest path in a DAG, by relaxing edges in waves
                following: list[str] = []
                for parent in pending:
                    for child in self.groups[parent].children:
                        if self._depth.get(child, -1) < self._depth[parent] + 1:
                            self._depth[child] = self._depth[parent] + 1
                            following.append(child)
                pending = following
        return self._depth.get(name, 0)

    def main_group(self, host: str) -> str | None:
        """The host's most specific group (the deepest it is listed in; the first of equals)."""
        listed = [g for g in self.hosts[host].groups if g not in ("all", "ungrouped")]
        return max(listed, key=self.depth) if listed else None

    def group_names(self, host: str) -> list[str]:
        """The host's groups and all their ancestors, ``all`` left out, in merge order."""
        listed = tuple(self.hosts[host].groups)
        cached = self._group_names.get(listed)
        if cached is None:
            names: set[str] = set()
            for group in listed:
                names.add(group)
                names |= self.ancestors(group)
            names.discard("all")
            cached = self._group_names[listed] = self.sort_groups(names)
        return list(cached)

    def sort_groups(self, names: Iterable[str]) -> list[str]:
        return sorted(names, key=lambda g: (self.depth(g), self.groups[g].priority, g))

    def host_vars(
        self,
        host: str,
        group_files: VarsLookup | None = None,
        host_files: VarsLookup | None = None,
    ) -> dict[str, Value]:
        """The host's variables, merged in Ansible's order (see the module's docstring)."""
        groups = self.group_names(host)
        merged: dict[str, Value] = dict(self.groups["all"].vars)
        for name in groups:
            merged.update(self.groups[name].vars)
        if group_files is not None:
            merged.update(group_files("all"))
            for name in groups:
                merged.update(group_files(name))
        merged.update(self.hosts[host].vars)
        if host_files is not None:
            merged.update(host_files(host))
        return merged
