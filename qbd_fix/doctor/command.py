"""Write a fix as a command line the user can paste into their own shell.

A client name such as ``O'Brien & Sons $(x)`` has to arrive at ``qbd-fix``
unchanged, so each value is quoted for the shell it will be pasted into:
POSIX shells (``shlex.quote``), PowerShell (a verbatim string, every one of its
five single-quote characters doubled) or cmd.exe (the C runtime's quoting,
then ``^`` before each character cmd itself would act on).

Some values cannot be pasted safely at all: a line break ends the line (in
cmd the rest becomes a command of its own), NUL cannot be an argument, and
control or invisible characters would reach the terminal raw or differ from
what the admin sees. Such a value comes from a PC, never from the admin: the
fix line shows a placeholder instead, and says why (:func:`unquotable`).
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from qbd_fix.script.quote import ps_string
from qbd_fix.text import describe, unsafe_chars, visible

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


def unquotable(value: str, shell: Shell) -> str | None:
    """Why *value* cannot go into a command line pasted into *shell*, or None when it can."""
    bad = unsafe_chars(value)
    if bad:
        return f"holds {describe(bad[0])}"
    if shell == "powershell":
        # Windows PowerShell 5.1 rebuilds a program's command line without escaping
        # quotes: '"' would split the value into arguments of the attacker's choosing.
        if '"' in value:
            return "holds a double quote, which Windows PowerShell 5.1 does not pass intact"
        if value.endswith("\\"):
            return "ends with a backslash, which Windows PowerShell 5.1 does not pass intact"
        if not value:
            return "is empty, and Windows PowerShell 5.1 drops an empty argument"
    return None


def placeholder_for(flag: str) -> Placeholder:
    """``--client-name`` -> ``<CLIENT_NAME>``."""
    return Placeholder(flag.removeprefix("--").upper().replace("-", "_"))


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
    notes: list[str] | None = None,
) -> str:
    """``qbd-fix <subcommand> [--host H] --option value ...`` quoted for *shell*.

    *options* are ``(flag, value)`` pairs, ``value`` None for a switch. Flags are
    the program's own constants; every value is quoted, even one that looks like
    a flag (the option before it takes it as its value), except placeholders.
    A value that cannot be pasted safely (:func:`unquotable`) is replaced by a
    placeholder, and why goes to *notes*.
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
            reason = unquotable(value, shell)
            if reason is None:
                words.append(quote(value, shell))
                continue
            stand_in = placeholder_for(flag)
            words.append(str(stand_in))
            if notes is not None:
                notes.append(
                    f"The {flag.removeprefix('--').replace('-', ' ')} {reason}, so it cannot be "
                    f"pasted safely into {shell}: run the command by hand with it in place of "
                    f"{stand_in} (it reads '{visible(value)}')."
                )
    return " ".join(words)
