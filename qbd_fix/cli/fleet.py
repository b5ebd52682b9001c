"""The fleet options, shared by every command, and Ctrl-C during a run.

Several ``--host`` values, an ``--inventory`` file or any fleet-only option
(``--limit``, ``--report``, ``--host-timeout``, ``--retries``, ``--canary``) make a
run a fleet run: one confirmation, a progress bar and a table at the end
(:mod:`qbd_fix.cli.fleet_view`). The run itself is the pipeline's, as for one PC.
"""

from __future__ import annotations

import inspect
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qbd_fix.cli.options import flag
from qbd_fix.errors import UsageError
from qbd_fix.fleet.audit import AUDIT_ENV

if TYPE_CHECKING:
    from qbd_fix.pipeline import Execution

PANEL = "Fleet"
DEFAULT_CONCURRENCY = 16
MAX_CONCURRENCY = 512
MAX_RETRIES = 10


@dataclass(frozen=True)
class FleetOptions:
    """The fleet options as given; ``None`` leaves a setting to the library's default."""

    inventory: str | None = None
    inventory_from_ansible: str | None = None
    allow_inventory_passwords: bool = False
    limit: tuple[str, ...] = ()
    concurrency: int = DEFAULT_CONCURRENCY
    host_timeout: float | None = None
    retries: int | None = None
    report: str | None = None
    audit_log: str | None = None
    canary: int | None = None

    def fleet_only_flags(self) -> list[str]:
        """Options that only make sense for a fleet run (they switch one ``--host`` to one)."""
        return [
            flag
            for flag, used in (
                ("--inventory", self.inventory is not None),
                ("--inventory-from-ansible", self.inventory_from_ansible is not None),
                ("--allow-inventory-passwords", self.allow_inventory_passwords),
                ("--limit", bool(self.limit)),
                ("--report", self.report is not None),
                ("--host-timeout", self.host_timeout is not None),
                ("--retries", self.retries is not None),
                ("--canary", self.canary is not None),
            )
            if used
        ]


def interactive() -> bool:
    """Whether someone can be asked (a password, a confirmation): stdin is a terminal."""
    return sys.stdin.isatty()


FLEET_OPTIONS: list[inspect.Parameter] = [
    flag(
        "inventory",
        str | None,
        None,
        "--inventory",
        "-i",
        metavar="FILE",
        help="Run on the PCs listed in this .csv, .toml or Ansible .ini/.yml file "
        "(see README: Fleets).",
        rich_help_panel=PANEL,
    ),
    flag(
        "inventory_from_ansible",
        str | None,
        None,
        "--inventory-from-ansible",
        metavar="SRC",
        help="Run on the PCs of an Ansible inventory as ansible-inventory reads it "
        "(folders, plugins, vault files).",
        rich_help_panel=PANEL,
    ),
    flag(
        "allow_inventory_passwords",
        bool,
        False,
        "--allow-inventory-passwords",
        help="Use the passwords an Ansible inventory sets (kept in memory only); "
        "refused by default.",
        rich_help_panel=PANEL,
    ),
    flag(
        "limit",
        list[str] | None,
        None,
        "--limit",
        "-l",
        metavar="PATTERN",
        help="Only PCs whose group, a tag or host matches this glob (repeatable, or a comma list).",
        rich_help_panel=PANEL,
    ),
    flag(
        "concurrency",
        int,
        DEFAULT_CONCURRENCY,
        "--concurrency",
        "-j",
        metavar="N",
        help="How many PCs are worked on at once in a fleet run.",
        rich_help_panel=PANEL,
    ),
    flag(
        "host_timeout",
        float | None,
        None,
        "--host-timeout",
        metavar="SECONDS",
        help="Stop waiting for a PC after this long and report it as timed out. Default: no limit.",
        rich_help_panel=PANEL,
    ),
    flag(
        "retries",
        int | None,
        None,
        "--retries",
        metavar="N",
        help="Retries for a PC that could not be reached (never once its script may have started). Default: 2.",
        rich_help_panel=PANEL,
    ),
    flag(
        "canary",
        int | None,
        None,
        "--canary",
        metavar="N",
        help="Run the first N PCs first; if any of them ends in a script error "
        "(the script itself broke), start no other PC.",
        rich_help_panel=PANEL,
    ),
    flag(
        "report",
        str | None,
        None,
        "--report",
        metavar="FILE",
        help="Write every PC's full result to this .json or .csv file (also when stopped).",
        rich_help_panel=PANEL,
    ),
    flag(
        "audit_log",
        str | None,
        None,
        "--audit-log",
        metavar="PATH",
        envvar=AUDIT_ENV,
        show_envvar=False,
        help="Append one JSON line per PC run to this file "
        f"(or ${AUDIT_ENV}). Default: audit.jsonl in qbd-fix's state folder.",
        rich_help_panel=PANEL,
    ),
]


def pop_fleet_options(kwargs: dict[str, Any]) -> FleetOptions:
    """Take the fleet options out of a command's keyword arguments."""
    values = {p.name: kwargs.pop(p.name) for p in FLEET_OPTIONS}
    values["limit"] = tuple(values["limit"] or ())
    return FleetOptions(**values)


def is_fleet(hosts: Sequence[str], fleet: FleetOptions) -> bool:
    """Several PCs, an inventory, or a fleet-only option; those without any PC are refused."""
    flags = fleet.fleet_only_flags()
    if flags and not hosts and fleet.inventory is None and fleet.inventory_from_ansible is None:
        raise UsageError(
            f"{', '.join(flags)} go(es) with --inventory or --host",
            hint="a fleet run needs PCs: --inventory FILE, or --host PC01,PC02",
        )
    return len(hosts) > 1 or bool(flags)


# -- checks ---------------------------------------------------------------------------------


def check_numbers(fleet: FleetOptions) -> None:
    """The fleet options' numbers within their bounds."""
    if not 1 <= fleet.concurrency <= MAX_CONCURRENCY:
        raise UsageError(f"--concurrency must be between 1 and {MAX_CONCURRENCY}")
    if fleet.canary is not None and fleet.canary < 1:
        raise UsageError("--canary must be at least 1 (the number of PCs to try first)")
    if fleet.host_timeout is not None and not 0 < fleet.host_timeout <= 86400:
        raise UsageError("--host-timeout must be more than 0 and at most 86400 seconds")
    if fleet.retries is not None and not 0 <= fleet.retries <= MAX_RETRIES:
        raise UsageError(f"--retries must be between 0 and {MAX_RETRIES}")


def _same_file(first: Path, second: Path) -> bool:
    """Whether two paths name one file (symlinks followed, hard links too: same inode)."""
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist (yet): not the same file
        return False


def refuse_overlaps(
    inputs: Sequence[tuple[str, str | None]], outputs: Sequence[tuple[str, str | None]]
) -> None:
    """Refuse an output path that is an input file or another output, before anything is
    written: ``--report pcs.csv`` would replace the inventory it was read from."""
    given_in = [(option, Path(value).expanduser()) for option, value in inputs if value]
    given_out = [(option, Path(value).expanduser()) for option, value in outputs if value]
    for index, (name, path) in enumerate(given_out):
        for other_flag, other in [*given_in, *given_out[:index]]:
            if _same_file(path, other):
                what = "an input" if (other_flag, other) in given_in else "another output"
                raise UsageError(
                    f"{name} {str(path)!r} is the same file as {other_flag} {str(other)!r}: "
                    f"refusing to write over {what}",
                    hint=f"give {name} a file of its own",
                )


# -- the run ----------------------------------------------------------------------------------


@contextmanager
def stop_signals(execution: Execution, *, first_cancels: bool = False) -> Iterator[None]:
    """Ctrl-C during the run: first stop starting PCs, then stop waiting (a run on one PC
    stops waiting at once: there is nothing else to start). SIGTERM (a service manager,
    ``kill``): stop waiting at once, so the report is still written before the process
    ends. The old handlers come back afterwards. Only the main thread may set handlers;
    elsewhere the scheduler's own KeyboardInterrupt handling serves."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigint(signum: int, frame: object) -> None:
        if first_cancels:
            execution.cancel()
        else:
            execution.stop()

    def on_sigterm(signum: int, frame: object) -> None:
        execution.cancel()

    previous = signal.signal(signal.SIGINT, on_sigint)
    previous_term = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, previous_term)
