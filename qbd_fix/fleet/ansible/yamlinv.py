"""Ansible's YAML inventory: groups holding ``hosts``, ``vars`` and ``children``, nested.

Keys are taken in the file's order, as Ansible does: a host listed twice keeps
the variables set last. Where Ansible only warns and drops part of a file (an
unknown key, a group that is a list), this reader refuses it: a dropped line
would quietly leave PCs out of a fix.
"""

from __future__ import annotations

from qbd_fix.fleet.ansible import hostpatterns
from qbd_fix.fleet.ansible.model import Inventory, InventoryError, Value

GROUP_KEYS = ("hosts", "vars", "children")


class YamlInventoryError(ValueError):
    """A problem with the key path where it is: ``all.children.win.hosts: ...``."""


_KINDS: dict[type, str] = {dict: "a mapping", list: "a list", str: "text"}


def _kind(value: object) -> str:
    return _KINDS.get(type(value), type(value).__name__)


def _name(key: object, path: str, what: str) -> str:
    if not isinstance(key, str) or not key.strip():
        raise YamlInventoryError(f"{path}: {what} {key!r} is not a name")
    return key


def _mapping(value: object, path: str, what: str) -> dict[object, object]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise YamlInventoryError(f"{path}: {what} must be a mapping, not {_kind(value)}")
    return value


def _hosts(inventory: Inventory, group: str, entries: object, path: str, name: str) -> None:
    for pattern, variables in _mapping(entries, path, "hosts").items():
        text = _name(pattern, path, "host")
        where = f"{name}: {path}.{text}"
        try:
            names, port = hostpatterns.hosts(text)
        except hostpatterns.PatternError as exc:
            raise YamlInventoryError(f"{path}: {exc}") from None
        host_vars = _mapping(variables, f"{path}.{text}", "host variables")
        for host in names:
            new = host not in inventory.hosts
            entry = inventory.add_host(host, where, group)
            if new and port is not None:
                entry.vars["ansible_port"] = Value(port, where)
            for key, value in host_vars.items():
                entry.vars[_name(key, f"{path}.{text}", "variable")] = Value(value, where)


def _group(inventory: Inventory, group: str, data: object, path: str, name: str) -> None:
    inventory.add_group(group)
    for key, value in _mapping(data, path, f"group {group!r}").items():
        if key == "vars":
            where = f"{name}: {path}.vars"
            for var, item in _mapping(value, f"{path}.vars", "vars").items():
                try:
                    inventory.set_group_var(
                        group, _name(var, f"{path}.vars", "variable"), Value(item, where)
                    )
                except InventoryError as exc:
                    raise YamlInventoryError(f"{path}.vars: {exc}") from None
        elif key == "children":
            for child, child_data in _mapping(value, f"{path}.children", "children").items():
                child_name = _name(child, f"{path}.children", "group")
                _group(inventory, child_name, child_data, f"{path}.children.{child_name}", name)
                try:
                    inventory.add_child(group, child_name)
                except InventoryError as exc:
                    raise YamlInventoryError(f"{path}.children: {exc}") from None
        elif key == "hosts":
            _hosts(inventory, group, value, f"{path}.hosts", name)
        else:
            raise YamlInventoryError(
                f"{path}: unknown key {key!r} (a group holds {', '.join(GROUP_KEYS)})"
            )


def parse(data: object, name: str) -> Inventory:
    """The inventory of one YAML document already loaded (see :mod:`.yamlload`)."""
    if data is None:
        raise YamlInventoryError("the file is empty")
    if not isinstance(data, dict):
        raise YamlInventoryError(
            f"a YAML inventory is a mapping of groups (all: hosts, vars, children), not {_kind(data)}"
        )
    inventory = Inventory()
    for group, group_data in data.items():
        group_name = _name(group, "(top level)", "group")
        _group(inventory, group_name, group_data, group_name, name)
    inventory.reconcile()
    return inventory


def looks_like_inventory(data: object) -> bool:
    """Whether a YAML document is shaped like an inventory (for files without an extension)."""
    return isinstance(data, dict) and all(
        isinstance(key, str) and (value is None or isinstance(value, dict))
        for key, value in data.items()
    )
