"""``group_vars/`` and ``host_vars/`` beside an inventory file, found the way Ansible finds them.

For a group or host *name*, the first of ``name``, ``name.yml``, ``name.yaml`` and
``name.json`` that exists is used; a directory of that name contributes every file
in it (subfolders too, sorted by name; hidden files, backups ending in ``~`` and
other extensions left out), later files replacing earlier ones' variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from qbd_fix.fleet.ansible import yamlload
from qbd_fix.fleet.ansible.model import Value

EXTENSIONS = (".yml", ".yaml", ".json")
KINDS = ("group_vars", "host_vars")
#: Bounds on a vars folder: symlink loops and runaway trees end with an error, not a hang.
MAX_DEPTH = 16
MAX_FILES = 10_000
VAULT_ADVICE = (
    "it is vault-encrypted: let Ansible open it with --inventory-from-ansible "
    "(ansible-inventory uses your vault password)"
)


class VarsFileError(ValueError):
    """A vars file that cannot be used; the message starts with the file."""


def _unsafe_name(name: str) -> bool:
    """Names that would reach outside the folder (``../x``, ``a/b``) are never looked up."""
    return name in ("", ".", "..") or any(sep in name for sep in ("/", "\\", "\0"))


class VarsFiles:
    """The vars files of one inventory folder, each read once."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self._entries: dict[str, frozenset[str]] = {}
        self._cache: dict[tuple[str, str], dict[str, Value]] = {}
        self._count = 0

    def group(self, name: str) -> Mapping[str, Value]:
        return self._vars("group_vars", name)

    def host(self, name: str) -> Mapping[str, Value]:
        return self._vars("host_vars", name)

    def _listing(self, kind: str) -> frozenset[str]:
        """The folder's entries, listed once: 100,000 hosts cost one listing, not 400,000 stats."""
        entries = self._entries.get(kind)
        if entries is None:
            folder = self.base / kind
            try:
                entries = frozenset(os.listdir(folder)) if folder.is_dir() else frozenset()
            except OSError as exc:
                raise VarsFileError(f"{kind}/ cannot be read: {exc.strerror}") from None
            self._entries[kind] = entries
        return entries

    def _vars(self, kind: str, name: str) -> dict[str, Value]:
        key = (kind, name)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        merged: dict[str, Value] = {}
        entries = self._listing(kind)
        if entries and not _unsafe_name(name):
            for candidate in (name, *(name + ext for ext in EXTENSIONS)):
                if candidate not in entries:
                    continue
                path = self.base / kind / candidate
                if path.exists():
                    files = self._folder(path, 0) if path.is_dir() else [path]
                    for file in files:
                        merged.update(self._read(file))
                    break
        self._cache[key] = merged
        return merged

    def _folder(self, folder: Path, depth: int) -> list[Path]:
        if depth > MAX_DEPTH:
            raise VarsFileError(f"{self._shown(folder)}: folders nested more than {MAX_DEPTH} deep")
        found: list[Path] = []
        for entry in sorted(os.listdir(folder)):
            if entry.startswith(".") or entry.endswith("~"):
                continue
            path = folder / entry
            extension = os.path.splitext(entry)[1]
            if path.is_dir() and not extension:
                found.extend(self._folder(path, depth + 1))
            elif path.is_file() and (not extension or extension in EXTENSIONS):
                found.append(path)
        return found

    def _shown(self, path: Path) -> str:
        try:
            return path.relative_to(self.base).as_posix()
        except ValueError:
            return str(path)

    def _read(self, path: Path) -> dict[str, Value]:
        shown = self._shown(path)
        self._count += 1
        if self._count > MAX_FILES:
            raise VarsFileError(f"{shown}: more than {MAX_FILES} vars files")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise VarsFileError(f"{shown}: not UTF-8 text (byte {exc.start})") from None
        except OSError as exc:
            raise VarsFileError(f"{shown}: cannot be read: {exc.strerror}") from None
        if text.lstrip().startswith(yamlload.VAULT_FILE_HEADER):
            raise VarsFileError(f"{shown}: {VAULT_ADVICE}")
        try:
            data = yamlload.load(text)
        except yamlload.YamlError as exc:
            raise VarsFileError(exc.at(shown)) from None
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise VarsFileError(f"{shown}: expected variables (name: value), not a list or text")
        variables: dict[str, Value] = {}
        for key, value in data.items():
            if not isinstance(key, str):
                raise VarsFileError(f"{shown}: variable name {key!r} is not text")
            variables[key] = Value(value, shown)
        return variables
