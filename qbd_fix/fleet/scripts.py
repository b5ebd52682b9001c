"""Each PC's own script: the shared values with that PC's client name, and script files.

A fleet run renders through a :class:`ScriptBook`; a dry run writes one file
per PC with :func:`write_scripts`, for tools (an RMM, a GPO) that deploy
scripts themselves. No terminal output here: callers are told through
``on_write``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qbd_fix.errors import UsageError

if TYPE_CHECKING:
    from qbd_fix.fleet.inventory import Target
    from qbd_fix.remediations.base import Remediation
    from qbd_fix.script.engine import Script
    from qbd_fix.script.params import ParamValue


def where(target: Target) -> str:
    """Where a target came from, for error messages: ``hosts.csv:12 (PC01)`` or ``PC01``."""
    if target.source and target.source != "--host":
        return f"{target.source} ({target.label})"
    return target.label


class ScriptBook:
    """Renders each PC's script, keeping the most recent distinct ones.

    The cache is bounded: a fleet where every PC has its own client name has as
    many scripts as PCs (23 KiB each), and keeping them all cost 2.5 GB at
    100,000 PCs. PCs are worked on in inventory order, so neighbours share hits.
    """

    #: Distinct scripts kept; more than a run's concurrency rarely pays.
    CACHE_SIZE = 64

    def __init__(self, remediation: Remediation, values: Mapping[str, ParamValue]) -> None:
        self.remediation = remediation
        self.values = dict(values)
        self.takes_client = any(p.name == "ClientName" for p in remediation.parameters)
        self._cache: OrderedDict[tuple[tuple[str, ParamValue], ...], Script] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, target: Target) -> None:
        """Raise the error :meth:`__call__` would for this PC's values, without rendering
        (the pre-flight checks every PC; rendering waits until a PC's turn)."""
        self.values_for(target)

    def values_for(self, target: Target) -> dict[str, ParamValue]:
        """The shared values, with the PC's own client name where the script takes one."""
        from qbd_fix import validation

        values = dict(self.values)
        if self.takes_client and target.client_name:
            try:
                values["ClientName"] = validation.client_name(target.client_name)
            except UsageError as exc:
                raise UsageError(f"{where(target)}: {exc.message}") from None
        return values

    def __call__(self, target: Target) -> Script:
        values = self.values_for(target)
        key = tuple(sorted(values.items()))
        # rendered under the lock: PCs starting at once with one set of values wait for one
        # render instead of each rendering the same script (threads share one GIL anyway)
        with self._lock:
            script = self._cache.get(key)
            if script is not None:
                self._cache.move_to_end(key)
                return script
            script = self._cache[key] = self.remediation.render(values)
            while len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
        return script


def with_client(targets: Sequence[Target], client: str | None) -> list[Target]:
    """Fill the client name of PCs that have none with *client* (the PC's own one wins)."""
    if not client:
        return list(targets)
    return [t.merge({"client_name": client}) for t in targets]


def script_file_names(targets: Sequence[Target], remediation: str) -> list[str]:
    """``PC01-restart-tasks.ps1`` per target: safe on Windows and Unix, unique ignoring case."""
    from qbd_fix.jobs import safe_file_stem

    used: set[str] = set()
    names: list[str] = []
    for target in targets:
        stem = safe_file_stem(f"{target.label}-{remediation}")
        name, number = stem, 2
        while name.casefold() in used:
            name = f"{stem}-{number}"
            number += 1
        used.add(name.casefold())
        names.append(f"{name}.ps1")
    return names


def write_scripts(
    targets: Sequence[Target],
    book: ScriptBook,
    folder: str,
    *,
    option: str = "--output",
    on_write: Callable[[Target, Path, int], None] | None = None,
) -> list[Path]:
    """One script file per PC in *folder*, each with that PC's values.

    Every PC's values are checked before the first file is written, so a bad
    row leaves no half-written set. *option* names the folder in errors;
    *on_write* hears of each file (target, path, size) as it is written.
    """
    from qbd_fix import validation
    from qbd_fix.files import write_atomic

    path = validation.output_path(folder, option)
    if path.is_file():
        raise UsageError(f"{option} {folder!r} is a file; a fleet dry-run needs a folder")
    scripts = [book(t) for t in targets]
    paths: list[Path] = []
    names = script_file_names(targets, book.remediation.name)
    for target, script, name in zip(targets, scripts, names, strict=True):
        data = script.file_bytes()
        write_atomic(path / name, [data])
        if on_write is not None:
            on_write(target, path / name, len(data))
        paths.append(path / name)
    return paths
