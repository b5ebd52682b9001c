"""Plan a run: who, with which script, over which connection, all checked, nothing contacted."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from qbd_fix.errors import UnsupportedPlatformError, UsageError
from qbd_fix.fleet.inventory import Target
from qbd_fix.fleet.scripts import ScriptBook, with_client
from qbd_fix.runners.transfer import DEFAULT_MAX_BUNDLE_MIB

if TYPE_CHECKING:
    from qbd_fix.connection import Ask, Connections, ConnectionSettings
    from qbd_fix.fleet.scheduler import Perform, Step
    from qbd_fix.remediations.base import Remediation
    from qbd_fix.runners.base import Runner
    from qbd_fix.script.engine import Script
    from qbd_fix.script.params import ParamValue

#: The source of the one target of a run on this PC.
LOCAL = "this PC"


@dataclass(frozen=True)
class Job:
    """What to run on each PC: a remediation (or the doctor's facts script) and its values."""

    remediation: Remediation
    values: Mapping[str, ParamValue] = field(default_factory=dict)
    what_if: bool = False
    #: Where a collected file goes (a folder, or one ``.zip`` for one PC).
    dest: Path | None = None
    max_bundle_bytes: int = DEFAULT_MAX_BUNDLE_MIB << 20
    #: Applied in order to each PC's outcome (the doctor's judging of its facts).
    steps: tuple[Step, ...] = ()
    #: The client name for PCs whose inventory row names none.
    client_name: str | None = None
    #: Each PC's work when it is more than its one script (``heal``); None runs the script.
    perform: Perform | None = None


@dataclass
class Plan:
    """Everything checked before the first PC is contacted."""

    job: Job
    targets: list[Target]
    book: ScriptBook
    #: Each PC's checked connection, passwords read; None on this PC or in a dry run.
    connections: Connections | None = None
    #: The one target is this PC (its own PowerShell runs the script).
    local: bool = False

    def script(self, target: Target | None = None) -> Script:
        """The script a PC gets (the first PC's when none is named)."""
        return self.book(target or self.targets[0])

    def runner(self, target: Target) -> Runner:
        """A fresh runner for *target*: this PC's PowerShell, or PowerShell Remoting."""
        if self.local:
            from qbd_fix.runners.local import LocalRunner

            return LocalRunner()
        if self.connections is None:
            raise RuntimeError("a plan made without contact (a dry run) cannot run")
        from qbd_fix.runners.remote import RemoteRunner

        return RemoteRunner(self.connections(target))

    def port(self, target: Target) -> int | None:
        """The port a PC is reached on, for audit lines (None on this PC)."""
        return None if self.connections is None else self.connections.port(target)

    @property
    def secrets(self) -> list[str]:
        """Values that must never reach a report: passwords, credentials inside URLs."""
        from qbd_fix.fleet.audit import url_secrets

        found = list(self.connections.secrets) if self.connections is not None else []
        return found + url_secrets(self.job.values)


def resolve_targets(
    hosts: Sequence[str],
    inventory: str | None = None,
    limit: Sequence[str] = (),
    *,
    ansible: str | None = None,
    allow_passwords: bool = False,
    on_skip: Callable[[str], None] | None = None,
) -> list[Target]:
    """The PCs named by hosts, an inventory file or an Ansible inventory source (read by
    ``ansible-inventory``), narrowed by *limit* patterns. Hosts an inventory reaches some
    other way (ssh) are left out, each reason told once to *on_skip*."""
    from qbd_fix.fleet import inventory as inventories

    given = [
        name
        for name, value in (
            ("--inventory", inventory),
            ("--inventory-from-ansible", ansible),
            ("--host", list(hosts) or None),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise UsageError(
            f"{' and '.join(given)}: give one of them",
            hint="add the PC to the inventory, or pick PCs from it with --limit",
        )
    if inventory is not None:
        targets = inventories.load(inventory, allow_passwords=allow_passwords)
    elif ansible is not None:
        targets = inventories.load_from_ansible(ansible, allow_passwords=allow_passwords)
    else:
        targets = inventories.targets_from_hosts(hosts)
    targets, skipped = inventories.runnable(inventories.select(targets, list(limit)))
    for line in skipped:
        if on_skip is not None:
            on_skip(line)
    if not targets:
        raise UsageError("no PC to run on: every host selected was skipped")
    return targets


def local_target() -> Target:
    """This PC as the one target of a local run (its name as Windows gives it)."""
    import os

    return Target(host=os.environ.get("COMPUTERNAME") or "localhost", source=LOCAL)


def plan(
    job: Job,
    targets: Sequence[Target] | None,
    settings: ConnectionSettings | None = None,
    *,
    ask: Ask | None = None,
    contact: bool = True,
) -> Plan:
    """Check the whole run: every PC's script values, every connection, each password.

    *targets* None runs on this PC. With *contact* False (a dry run) nothing
    that only running needs is checked: no password is read and this PC need
    not be Windows.
    """
    from qbd_fix.connection import Connections, ConnectionSettings

    book = ScriptBook(job.remediation, job.values)
    client = job.client_name or str(job.values.get("ClientName") or "") or None
    if targets is None:
        from qbd_fix.runners import local

        (settings or ConnectionSettings()).check()  # remote-only settings without a PC
        if contact and not local.local_supported():
            raise UnsupportedPlatformError(
                f"running on this computer needs Windows PowerShell, and this is {sys.platform}",
                hint="use --host PC to run on a remote PC, or --dry-run to get the script",
            )
        chosen = with_client([local_target()], client)
        book.check(chosen[0])
        return Plan(job, chosen, book, local=True)
    chosen = with_client(list(targets), client)
    for target in chosen:
        book.check(target)
    if not contact:
        return Plan(job, chosen, book)
    return Plan(job, chosen, book, Connections(settings or ConnectionSettings(), chosen, ask))
