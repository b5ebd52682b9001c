"""Ansible inventories as fleet targets: the files MSPs already keep, read two ways.

* :func:`load_file` reads an INI or YAML inventory with the ``group_vars/`` and
  ``host_vars/`` beside it, without Ansible: fast, and nothing to install.
  Templated and vault-encrypted values cannot be read that way and are refused
  with the advice to go through Ansible.
* :func:`load_from_ansible` runs ``ansible-inventory --list`` on any source
  Ansible reads (a folder, a dynamic inventory plugin, vault-encrypted files) and
  evaluates plain templates itself (:mod:`.templates`).

Either way each host goes through :func:`.targets.to_target`: the same variables,
the same checks, the same password rule.
"""

from __future__ import annotations

from pathlib import Path

from qbd_fix.errors import UsageError
from qbd_fix.fleet.ansible import command, ini, listing, templates, yamlinv, yamlload
from qbd_fix.fleet.ansible.model import Inventory, Value
from qbd_fix.fleet.ansible.targets import to_target
from qbd_fix.fleet.ansible.varsfiles import VarsFileError, VarsFiles
from qbd_fix.fleet.inventory import Target

__all__ = ["kind_of", "load_file", "load_from_ansible", "parse_file", "targets_from_listing"]


def kind_of(text: str) -> str:
    """``yaml`` or ``ini`` for a file without an extension, as Ansible tries them: YAML
    when it reads as a mapping of groups, else INI."""
    try:
        data = yamlload.load(text)
    except yamlload.YamlError:
        return "ini"
    return "yaml" if data is not None and yamlinv.looks_like_inventory(data) else "ini"


def parse_file(path: Path, text: str, kind: str) -> Inventory:
    """The inventory in one file's *text* (``kind``: ``ini`` or ``yaml``)."""
    name = path.name
    if kind == "ini":
        try:
            return ini.parse(text, name)
        except ini.IniError as exc:
            raise UsageError(f"{name}:{exc.line}: {exc.problem}") from None
    try:
        data = yamlload.load(text)
    except yamlload.YamlError as exc:
        raise UsageError(exc.at(name)) from None
    try:
        return yamlinv.parse(data, name)
    except yamlinv.YamlInventoryError as exc:
        raise UsageError(f"{name}: {exc}") from None


def load_file(path: Path, text: str, kind: str, *, allow_passwords: bool = False) -> list[Target]:
    """The targets of an INI or YAML inventory file and the vars folders beside it."""
    if text.lstrip().startswith(yamlload.VAULT_FILE_HEADER):
        raise UsageError(
            f"{path.name}: it is vault-encrypted: let Ansible open it with --inventory-from-ansible"
        )
    inventory = parse_file(path, text, kind)
    files = VarsFiles(path.absolute().parent)
    targets: list[Target] = []
    try:
        for name, host in inventory.hosts.items():
            variables = inventory.host_vars(name, files.group, files.host)
            targets.append(
                to_target(
                    name,
                    variables,
                    source=host.where,
                    groups=inventory.group_names(name),
                    group=inventory.main_group(name),
                    allow_passwords=allow_passwords,
                )
            )
    except VarsFileError as exc:
        raise UsageError(str(exc)) from None
    return targets


def load_from_ansible(
    source: str, *, allow_passwords: bool = False, timeout: float = command.TIMEOUT
) -> list[Target]:
    """The targets of any inventory source, as ``ansible-inventory --list`` resolves it."""
    output = command.run(source, timeout=timeout)
    return targets_from_listing(output, source, allow_passwords=allow_passwords)


def targets_from_listing(
    output: bytes | str, source: str, *, allow_passwords: bool = False
) -> list[Target]:
    """The targets of what ``ansible-inventory -i SOURCE --list`` printed."""
    said = f"{source} (ansible-inventory)"
    try:
        found = listing.parse(output)
    except listing.ListingError as exc:
        raise UsageError(f"ansible-inventory -i {source!r} printed no inventory: {exc}") from None
    targets: list[Target] = []
    for name, raw in found.variables.items():
        variables = {key: Value(value, said) for key, value in raw.items()}
        targets.append(
            to_target(
                name,
                variables,
                source=said,
                groups=found.groups[name],
                group=found.main_group(name),
                allow_passwords=allow_passwords,
                render=templates.render,
            )
        )
    return targets
