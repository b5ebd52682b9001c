"""Write a fix as a command line the user can paste into their own shell.

A client name such as ``O'Brien & Sons $(x)`` has to arrive at ``qbd-fix``
unchanged, so each value is quoted for the shell it will be pasted into:
POSIX shells (``shlex.quote``), PowerShell (a verbatim string, every one of its
five single-quote characters doubled) or cmd.exe (the C runtime's quoting,
then ``^`` before each character cmd itself would act on).
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from qbd_fix.script.quote import ps_string

Shell = Literal["posix", "powershell", "cmd"]
SHELLS: tuple[Shell, ...] = ("posix", "powershell", "cmd")

PROGRAM = "qbd-fix"

_PS_BARE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_CMD_BARE = re.compile(r"^[A-Za-z0-9_.\-:/\\]+$")
_CMD_META = frozenset('()%!^"<>&|')


@dataclass(frozen=True)
class Placeholder:
    """A value only the user knows (the installer URL): shown as ``<NAME>``, never quoted."""

    name: str

    def __str__(self) -> str:
        return f"<{self.name}>"


Arg = str | Placeholder


def default_shell() -> Shell:
    """Windows users mostly paste into PowerShell; everyone else into a POSIX shell."""
    return "powershell" if sys.platform == "win32" else "posix"


def quote_posix(value: str) -> str:
    return shlex.quote(value)


def quote_powershell(value: str) -> str:
    """A bare word when nothing in it means anything to PowerShell, else a verbatim string."""
    if _PS_BARE.match(value):
        return value
    return ps_string(value)


def quote_cmd(value: str) -> str:
    """Quote for the C runtime's argv parser, then caret-escape cmd.exe's own characters.

    Escaping *every* metacharacter (the quotes too) keeps cmd from toggling its
    quote state, so ``&``, ``|`` and ``%NAME%`` inside the value stay text.
    """
    if _CMD_BARE.match(value):
        return value
    quoted = ['"']
    backslashes = 0
    for ch in value:
        if ch == "\\":
            backslashes += 1
            continue
        if ch == '"':
            quoted.append("\\" * (backslashes * 2 + 1) + '"')
        else:
            quoted.append("\\" * backslashes + ch)
        backslashes = 0
    quoted.append("\\" * (backslashes * 2) + '"')
    return "".join("^" + ch if ch in _CMD_META else ch for ch in "".join(quoted))


_QUOTERS = {"posix": quote_posix, "powershell": quote_powershell, "cmd": quote_cmd}


def quote(value: str, shell: Shell) -> str:
    """One argument, quoted for *shell*."""
    if shell not in _QUOTERS:
        raise ValueError(f"unknown shell {shell!r}; one of {', '.join(SHELLS)}")
    return _QUOTERS[shell](value)


def fix_command(
    subcommand: str,
    options: Sequence[tuple[str, Arg | None]] = (),
    *,
    host: str | None = None,
    shell: Shell = "posix",
) -> str:
    """``qbd-fix <subcommand> [--host H] --option value ...`` quoted for *shell*.

    *options* are ``(flag, value)`` pairs, ``value`` None for a switch. Flags are
    the program's own constants; every value is quoted, even one that looks like
    a flag (the option before it takes it as its value), except placeholders.
    """
    words = [PROGRAM, subcommand]
    pairs: list[tuple[str, Arg | None]] = [("--host", host)] if host else []
    for flag, value in [*pairs, *options]:
        if not flag.startswith("--") or not _PS_BARE.match(flag[2:]):
            raise ValueError(f"not an option name: {flag!r}")
        words.append(flag)
        if isinstance(value, Placeholder):
            words.append(str(value))
        elif value is not None:
            words.append(quote(value, shell))
    return " ".join(words)
