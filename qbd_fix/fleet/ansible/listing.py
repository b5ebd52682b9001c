"""The JSON ``ansible-inventory --list`` prints: every host's merged variables under
``_meta.hostvars``, and each group's ``hosts`` and ``children``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from qbd_fix.fleet.ansible.model import VAULT, Unsafe


class ListingError(ValueError):
    """JSON that is not an inventory listing."""


def value(raw: object) -> object:
    """A JSON value as Ansible meant it: inline vault text stays opaque, ``!unsafe`` text is
    marked as never to be templated."""
    if isinstance(raw, dict):
        if set(raw) == {"__ansible_vault"}:
            return VAULT
        unsafe = raw.get("__ansible_unsafe")
        if len(raw) == 1 and isinstance(unsafe, str):
            return Unsafe(unsafe)
        return {key: value(item) for key, item in raw.items()}
    if isinstance(raw, list):
        return [value(item) for item in raw]
    return raw


@dataclass
class Listing:
    """Hosts in the inventory's order, with their variables and groups."""

    variables: dict[str, dict[str, object]] = field(default_factory=dict)
    #: host -> the groups it is listed in (``all`` and ``ungrouped`` aside)
    listed: dict[str, list[str]] = field(default_factory=dict)
    #: host -> every group it belongs to, parents included, ``all`` aside, shallowest first
    groups: dict[str, list[str]] = field(default_factory=dict)
    depth: dict[str, int] = field(default_factory=dict)

    def main_group(self, host: str) -> str | None:
        listed = self.listed.get(host, [])
        return max(listed, key=lambda g: self.depth.get(g, 0)) if listed else None


def _names(entry: dict[str, object], key: str, group: str) -> list[str]:
    items = entry.get(key, [])
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ListingError(f"group {group!r}: {key} is not a list of names")
    return list(items)


def parse(data: bytes | str) -> Listing:
    """Read the listing; hosts come in the order Ansible walks ``all``."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ListingError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ListingError("not an inventory listing (expected a JSON object)")
    meta = doc.get("_meta", {})
    hostvars = meta.get("hostvars", {}) if isinstance(meta, dict) else None
    if not isinstance(hostvars, dict):
        raise ListingError("_meta.hostvars is not an object")
    hosts: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    for group, entry in doc.items():
        if group == "_meta":
            continue
        if not isinstance(entry, dict):
            raise ListingError(f"group {group!r} is not an object")
        hosts[group] = _names(entry, "hosts", group)
        children[group] = _names(entry, "children", group)
    listing = Listing()
    parents: dict[str, set[str]] = {}
    for group, names in children.items():
        for child in names:
            parents.setdefault(child, set()).add(group)
    # depth: the longest way down from "all", relaxed in waves (the graph has no loops)
    listing.depth = {"all": 0}
    wave = ["all"]
    for _ in range(len(children) + 2):
        following = []
        for group in wave:
            for child in children.get(group, []):
                if listing.depth.get(child, -1) < listing.depth[group] + 1:
                    listing.depth[child] = listing.depth[group] + 1
                    following.append(child)
        if not following:
            break
        wave = following
    else:
        raise ListingError("groups are nested in a loop")
    ancestors: dict[str, set[str]] = {}

    def above(group: str) -> set[str]:
        if group not in ancestors:
            found: set[str] = set()
            stack = [group]
            while stack:
                for parent in parents.get(stack.pop(), ()):
                    if parent not in found:
                        found.add(parent)
                        stack.append(parent)
            ancestors[group] = found
        return ancestors[group]

    order: dict[str, None] = {}
    seen: set[str] = set()
    stack = ["all"]
    while stack:  # depth-first from "all": a group's hosts, then its children's
        group = stack.pop()
        if group in seen:
            continue
        seen.add(group)
        for host in hosts.get(group, []):
            order.setdefault(host, None)
            if group not in ("all", "ungrouped"):
                listing.listed.setdefault(host, []).append(group)
        stack.extend(reversed(children.get(group, [])))
    for group, names in hosts.items():  # groups not under "all" (not printed by Ansible)
        for host in names:
            order.setdefault(host, None)
            if group not in seen and group not in ("all", "ungrouped"):
                listing.listed.setdefault(host, []).append(group)
    for host in hostvars:
        order.setdefault(host, None)
    membership: dict[str, set[str]] = {}
    for group, names in hosts.items():
        for host in names:
            membership.setdefault(host, set()).update({group} | above(group))
    for host in order:
        raw = hostvars.get(host) or {}
        if not isinstance(raw, dict):
            raise ListingError(f"the variables of host {host!r} are not an object")
        listing.variables[host] = {str(key): value(item) for key, item in raw.items()}
        member_of = membership.get(host, set()) - {"all"}
        listing.groups[host] = sorted(member_of, key=lambda g: (listing.depth.get(g, 0), g))
    return listing
