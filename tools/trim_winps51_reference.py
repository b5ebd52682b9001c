#!/usr/bin/env python3
"""Regenerate the repository's copy of the Windows PowerShell 5.1 command reference.

The tests check every command a rendered script calls, and its parameters, against
``tests/support/winps51_commands.json``. That file is a trimmed copy of a full reference of
Windows PowerShell 5.1: every command of every module with its parameter names, and the
built-in aliases, taken from PSScriptAnalyzer's compatibility profile
``Engine/Settings/desktop-5.1.14393.206-windows.json`` (Windows 10 1607; MIT licence,
https://github.com/PowerShell/PSScriptAnalyzer) and converted to
``{"modules": {module: {command: {"type", "params"}}}, "aliases": {alias: module}, "source"}``.

The copy keeps whole modules: each module that holds a command on
``tests/support/allowed_commands.txt``, plus :data:`EXTRA_MODULES` (modules the scripts may
plausibly call next), and every alias (so an alias is recognised whatever its module).
Run it after adding a command from a module the copy lacks:

    python tools/trim_winps51_reference.py [--source FULL.json] [--output OUT.json]

The default source is ``../shared/reference/winps51_commands.json`` beside the repository.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "reference" / "winps51_commands.json"
DEFAULT_OUTPUT = ROOT / "tests" / "support" / "winps51_commands.json"
ALLOWED = ROOT / "tests" / "support" / "allowed_commands.txt"

#: Modules kept although no allowed command comes from them yet.
EXTRA_MODULES = (
    "AppLocker",
    "BitsTransfer",
    "DnsClient",
    "Microsoft.PowerShell.Archive",
    "Microsoft.PowerShell.Host",
    "Microsoft.PowerShell.Security",
    "Microsoft.WSMan.Management",
    "NetSecurity",
    "NetTCPIP",
)


def allowed_commands(path: Path = ALLOWED) -> set[str]:
    """The allow-list's command names, lower case (comments and blank lines dropped)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return {s.strip().lower() for s in lines if s.strip() and not s.lstrip().startswith("#")}


def trim(full: dict[str, Any], commands: set[str], extra: tuple[str, ...] = EXTRA_MODULES) -> Any:
    """The part of ``full`` the tests need: the modules of ``commands`` plus ``extra``.

    Raises ``ValueError`` for an extra module the reference does not have (a typo).
    """
    modules: dict[str, dict[str, Any]] = full["modules"]
    missing = sorted(set(extra) - set(modules))
    if missing:
        raise ValueError(f"modules not in the reference: {', '.join(missing)}")
    keep = set(extra) | {
        module for module, entries in modules.items() if {c.lower() for c in entries} & commands
    }
    return {
        "source": full.get("source", ""),
        "trimmed": "whole modules the scripts may call; regenerate: tools/trim_winps51_reference.py",
        "aliases": dict(sorted(full.get("aliases", {}).items())),
        "modules": {m: dict(sorted(modules[m].items())) for m in sorted(keep)},
    }


def render(trimmed: Any) -> str:
    """JSON with one command (or alias) a line, so a regenerated copy diffs line by line."""

    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)

    def block(entries: dict[str, Any], indent: str) -> str:
        lines = [f"{indent}{dump(k)}: {dump(v)}" for k, v in entries.items()]
        return "{\n" + ",\n".join(lines) + "\n" + indent[:-1] + "}"

    modules = ",\n".join(
        f"  {dump(m)}: {block(entries, '   ')}" for m, entries in trimmed["modules"].items()
    )
    return (
        f'{{\n "source": {dump(trimmed["source"])},\n "trimmed": {dump(trimmed["trimmed"])},\n'
        f' "aliases": {block(trimmed["aliases"], "  ")},\n "modules": {{\n{modules}\n }}\n}}\n'
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    try:
        full = json.loads(args.source.read_text(encoding="utf-8"))
        trimmed = trim(full, allowed_commands())
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {args.source}: {exc}", file=sys.stderr)
        return 1
    text = render(trimmed)
    args.output.write_text(text, encoding="utf-8", newline="\n")
    count = sum(len(entries) for entries in trimmed["modules"].values())
    print(f"wrote {args.output}: {len(trimmed['modules'])} modules, {count} commands")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
