"""Static checks of PowerShell scripts for the test-suite (no PowerShell is available here).

Two independent views of a script are used, because neither is enough alone:

* the tree-sitter-pwsh grammar (syntax errors, PowerShell-7-only syntax, the commands and
  parameters a script invokes, the functions it defines);
* a port of PowerShell's own tokenizer rule for single-quoted strings
  (:func:`ps_single_quoted_literals`), because tree-sitter-pwsh treats the typographic quotes
  U+2018..U+201B as ordinary characters while PowerShell treats them as single quotes. A
  literal tree-sitter accepts can therefore end somewhere else in real PowerShell;
  :func:`check_script` reports any disagreement between the two views in
  ``ScriptReport.quote_mismatches``.

tree-sitter-pwsh node types relied upon (grammar 0.38.1):

* ``command`` with either a ``command_name`` child, or ``command_invocation_operator`` (``&``
  or ``.``) followed by ``command_name_expr``; arguments live under ``command_elements``, where
  ``command_parameter`` is ``-Name`` (a ``-Name:value`` colon is a separate
  ``command_argument_sep``), a splat is a ``variable`` whose text starts with ``@``, and a
  parameter written with an en/em dash (which PowerShell accepts) is a ``generic_token``.
* ``function_statement`` / ``function_name`` (also for ``filter``), ``string_literal`` >
  ``verbatim_string_characters`` (single-quoted, quotes included),
  ``expandable_string_literal`` / ``expandable_here_string_literal`` (double-quoted, with
  ``sub_expression`` children), ``verbatim_here_string_characters``.
* PowerShell 7 syntax: ``ternary_expression``, ``null_coalesce_expression``,
  ``pipeline_chain_tail``, ``assignment_operator`` ``??=``, ``named_block`` whose
  ``block_name`` is ``clean``; ``?.`` and ``?[]`` are not in the grammar and come out as an
  ``ERROR`` holding a ``?`` token (or, in argument mode, a ``generic_token`` starting ``?[``).
* Quirks: ``[CmdletBinding()]``, newline, ``param``, newline, ``(`` parses *without* error as
  a command named ``param`` (reported here as an error); ``1..5 | X`` parses ``1..5`` as a
  command name (filtered out here), while ``$a..$b`` is a proper ``range_expression``; the
  PowerShell 6+ background operator ``X &`` is an ``ERROR``.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import tree_sitter
import tree_sitter_pwsh

__all__ = [
    "COMMON_PARAMETERS",
    "DOUBLE_QUOTES",
    "SINGLE_QUOTES",
    "SPLAT_MARKER",
    "ReferenceCommands",
    "ScriptReport",
    "StringLiteral",
    "UnterminatedStringError",
    "check_script",
    "commands_used",
    "parse",
    "ps_single_quoted_literals",
    "read_single_quoted",
]

#: The characters PowerShell's tokenizer treats as a single quote (language spec §2.3.5.2).
SINGLE_QUOTES = frozenset("'\u2018\u2019\u201a\u201b")
#: The characters PowerShell's tokenizer treats as a double quote.
DOUBLE_QUOTES = frozenset('"\u201c\u201d\u201e')
#: Characters PowerShell accepts as the dash of a parameter (``-``, en, em, horizontal bar).
DASHES = frozenset("-\u2013\u2014\u2015")

#: Parameters every advanced function/cmdlet has; the reference data does not list them.
COMMON_PARAMETERS = frozenset(
    {
        "Verbose",
        "Debug",
        "ErrorAction",
        "WarningAction",
        "InformationAction",
        "ErrorVariable",
        "WarningVariable",
        "InformationVariable",
        "OutVariable",
        "OutBuffer",
        "PipelineVariable",
        "WhatIf",
        "Confirm",
    }
)
_COMMON_LOWER = frozenset(p.lower() for p in COMMON_PARAMETERS)

#: Put in ``ScriptReport.commands[name]`` when the command is given ``@splatted`` arguments,
#: since the parameter names then cannot be checked statically.
SPLAT_MARKER = "@splat"

#: The repository's trimmed copy of the reference (``tools/trim_winps51_reference.py``).
REFERENCE_PATH = Path(__file__).resolve().parent / "winps51_commands.json"

# A numeric range such as 1..5 or -3..0x10 that tree-sitter-pwsh mistakes for a command name.
_RANGE_AS_COMMAND = re.compile(r"^-?(0x[0-9a-f]+|\d+)\.\.-?(0x[0-9a-f]+|\d+)$", re.IGNORECASE)
_FOREACH_NAMES = frozenset({"foreach-object", "foreach", "%"})
_SCOPE_PREFIX = re.compile(r"^(global|script|local|private):", re.IGNORECASE)


# --------------------------------------------------------------------------------------------
# PowerShell's single-quote rule, ported from its tokenizer
# --------------------------------------------------------------------------------------------


class UnterminatedStringError(ValueError):
    """A quoted string or here-string runs to the end of the text (a PowerShell parse error)."""

    def __init__(self, start: int, what: str = "single-quoted string") -> None:
        super().__init__(f"unterminated {what} starting at offset {start}")
        self.start = start


def read_single_quoted(text: str, start: int) -> tuple[str, int]:
    """Read the verbatim string opening at ``text[start]``; return ``(value, end)``.

    ``end`` is one past the closing quote, so ``text[start:end]`` is the whole literal. As in
    PowerShell's tokenizer, any of the five single-quote characters opens and closes it, and
    inside it a quote character followed by another (any of the five, in any combination)
    stands for one quote: the *second* character is kept.
    """
    if start >= len(text) or text[start] not in SINGLE_QUOTES:
        raise ValueError(f"no single-quote character at offset {start}")
    out: list[str] = []
    i = start + 1
    n = len(text)
    while i < n:
        c = text[i]
        if c in SINGLE_QUOTES:
            if i + 1 < n and text[i + 1] in SINGLE_QUOTES:
                out.append(text[i + 1])
                i += 2
                continue
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise UnterminatedStringError(start)


def _here_string_header(text: str, i: int, quotes: frozenset[str]) -> int | None:
    """If ``text[i:]`` opens a here-string (``@`` quote, blanks, newline) return its body start."""
    if i + 1 >= len(text) or text[i] != "@" or text[i + 1] not in quotes:
        return None
    j = i + 2
    while j < len(text) and text[j] in " \t\f\v":
        j += 1
    if j < len(text) and text[j] == "\r":
        j += 1
    if j < len(text) and text[j] == "\n":
        return j + 1
    return None


def _skip_here_string(text: str, start: int, body: int, quotes: frozenset[str]) -> int:
    """Return the offset after the terminator: a newline, then a quote and ``@`` at column 0."""
    i = body - 1  # the header's newline counts as the line start of the body's first line
    while True:
        i = text.find("\n", i)
        if i < 0:
            kind = "verbatim" if quotes is SINGLE_QUOTES else "expandable"
            raise UnterminatedStringError(start, f"{kind} here-string")
        if i + 2 < len(text) and text[i + 1] in quotes and text[i + 2] == "@":
            return i + 3
        i += 1


def _skip_braced_variable(text: str, i: int) -> int:
    """``${any text}``: skip to the closing brace (a backtick escapes the next character)."""
    j = i + 2
    while j < len(text):
        if text[j] == "`":
            j += 2
            continue
        if text[j] == "}":
            return j + 1
        j += 1
    return j


def _scan_expandable(text: str, i: int, out: list[tuple[int, int, str]]) -> int:
    """Skip a double-quoted string opening at ``i``; collect literals inside its ``$( )``."""
    start = i
    i += 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "`":
            i += 2
        elif c in DOUBLE_QUOTES:
            if i + 1 < n and text[i + 1] in DOUBLE_QUOTES:
                i += 2
            else:
                return i + 1
        elif c == "$" and i + 1 < n and text[i + 1] == "(":
            i = _scan_code(text, i + 2, out, in_subexpression=True)
        elif c == "$" and i + 1 < n and text[i + 1] == "{":
            i = _skip_braced_variable(text, i)
        else:
            i += 1
    raise UnterminatedStringError(start, "double-quoted string")


def _scan_expandable_here(text: str, start: int, body: int, out: list[tuple[int, int, str]]) -> int:
    """Skip an ``@" "@`` here-string; its ``$( )`` subexpressions are code."""
    i = body
    n = len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if at_line_start and c in DOUBLE_QUOTES and i + 1 < n and text[i + 1] == "@":
            return i + 2
        at_line_start = c == "\n"
        if c == "`":
            i += 2
        elif c == "$" and i + 1 < n and text[i + 1] == "(":
            i = _scan_code(text, i + 2, out, in_subexpression=True)
        else:
            i += 1
    raise UnterminatedStringError(start, "expandable here-string")


# A '#' starts a comment at the start of a token; inside a bareword (a#b) it does not.
_TOKEN_BOUNDARY = frozenset(" \t\r\n\f\v\u00a0(){};,|&=") | SINGLE_QUOTES | DOUBLE_QUOTES


def _scan_code(
    text: str, i: int, out: list[tuple[int, int, str]], *, in_subexpression: bool = False
) -> int:
    """Scan code from ``i``; with ``in_subexpression`` stop after the unmatched ``)``."""
    n = len(text)
    depth = 0
    while i < n:
        c = text[i]
        if c in SINGLE_QUOTES:
            s = i
            value, i = read_single_quoted(text, i)
            out.append((s, i, value))
        elif c in DOUBLE_QUOTES:
            i = _scan_expandable(text, i, out)
        elif c == "@" and (body := _here_string_header(text, i, SINGLE_QUOTES)) is not None:
            i = _skip_here_string(text, i, body, SINGLE_QUOTES)
        elif c == "@" and (body := _here_string_header(text, i, DOUBLE_QUOTES)) is not None:
            i = _scan_expandable_here(text, i, body, out)
        elif c == "<" and text.startswith("<#", i):
            end = text.find("#>", i + 2)
            i = n if end < 0 else end + 2
        elif c == "#" and (i == 0 or text[i - 1] in _TOKEN_BOUNDARY):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif c == "`":
            i += 2  # an escaped character, e.g. `' is a plain quote in a bareword
        elif c == "$" and i + 1 < n and text[i + 1] == "{":
            i = _skip_braced_variable(text, i)
        elif c == "(" and in_subexpression:
            depth += 1
            i += 1
        elif c == ")" and in_subexpression:
            if depth == 0:
                return i + 1
            depth -= 1
            i += 1
        else:
            i += 1
    return n


def ps_single_quoted_literals(text: str) -> list[tuple[int, int, str]]:
    """Return ``(start, end, value)`` for every single-quoted literal, as PowerShell sees them.

    Comments, double-quoted strings and here-strings are skipped (but single-quoted literals
    inside a ``$( )`` of a double-quoted string are code and are returned). Raises
    :class:`UnterminatedStringError` when a string never closes. Simplification: a ``#``
    directly after a word character (``$x#c``) is taken as part of a bareword, which is right
    in command mode (``a#b``) and wrong in expression mode; generated scripts avoid both.
    """
    out: list[tuple[int, int, str]] = []
    _scan_code(text, 0, out)
    return out


# --------------------------------------------------------------------------------------------
# tree-sitter view
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _parser() -> tree_sitter.Parser:
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_pwsh.language()))


def parse(text: str) -> tree_sitter.Tree:
    """Parse ``text`` with tree-sitter-pwsh (byte offsets in the tree are UTF-8)."""
    return _parser().parse(text.encode("utf-8"))


@dataclass(frozen=True)
class StringLiteral:
    """A single-quoted literal as tree-sitter-pwsh saw it; offsets are in characters."""

    text: str  # including the quotes
    start: int
    end: int
    line: int  # 1-based
    column: int  # 1-based, in characters


@dataclass
class ScriptReport:
    """What :func:`check_script` found; ``ok`` is the usual thing to assert."""

    errors: list[str] = field(default_factory=list)
    ps7_only: list[str] = field(default_factory=list)
    commands: dict[str, set[str]] = field(default_factory=dict)
    functions: set[str] = field(default_factory=set)
    string_literals: list[StringLiteral] = field(default_factory=list)
    #: Where PowerShell's quote rule and tree-sitter disagree about single-quoted literals.
    quote_mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Parses cleanly, runs on 5.1 syntax-wise, and both views agree on every literal."""
        return not (self.errors or self.ps7_only or self.quote_mismatches)

    def external_commands(self) -> dict[str, set[str]]:
        """Commands invoked, minus calls to functions the script defines (case-insensitive)."""
        own = {_bare_function_name(f).lower() for f in self.functions}
        return {
            name: set(params)
            for name, params in self.commands.items()
            if _bare_function_name(name).lower() not in own
        }


def _bare_function_name(name: str) -> str:
    return _SCOPE_PREFIX.sub("", name)


class _Positions:
    """Maps UTF-8 byte offsets to character offsets (identity for ASCII text)."""

    def __init__(self, text: str, src: bytes) -> None:
        self._text = text
        self._ascii = len(src) == len(text)
        self._byte_starts: list[int] | None = None

    def char(self, byte: int) -> int:
        if self._ascii:
            return byte
        if self._byte_starts is None:
            starts: list[int] = []
            b = 0
            for ch in self._text:
                starts.append(b)
                b += len(ch.encode("utf-8", "surrogatepass"))
            starts.append(b)
            self._byte_starts = starts
        return bisect_right(self._byte_starts, byte) - 1

    def where(self, node: tree_sitter.Node) -> tuple[int, int]:
        """1-based line and character column of ``node``'s start."""
        row, col_bytes = node.start_point
        line_start = self.char(node.start_byte - col_bytes)
        return row + 1, self.char(node.start_byte) - line_start + 1


def _snippet(node: tree_sitter.Node, limit: int = 40) -> str:
    text = (node.text or b"").decode("utf-8", "replace")
    text = text.split("\n", 1)[0]
    return text if len(text) <= limit else text[:limit] + "…"


def _walk(root: tree_sitter.Node) -> Iterator[tuple[tree_sitter.Node, bool]]:
    """Yield every node in document order with whether it lies inside an ERROR node."""
    stack: list[tuple[tree_sitter.Node, bool]] = [(root, False)]
    while stack:
        node, in_error = stack.pop()
        yield node, in_error
        inner = in_error or node.type == "ERROR"
        stack.extend((child, inner) for child in reversed(node.children))


def _command_name(node: tree_sitter.Node) -> str | None:
    """The name a ``command`` node invokes; ``&``/``.`` for the call/dot-source operators."""
    for child in node.children:
        if child.type == "command_invocation_operator":
            return (child.text or b"").decode().strip()
        if child.type == "command_name":
            return (child.text or b"").decode("utf-8")
    return None


def _command_arguments(node: tree_sitter.Node) -> set[str]:
    """Parameter names (without dash, as written) and the splat marker of one command."""
    params: set[str] = set()
    for elements in node.children:
        if elements.type != "command_elements":
            continue
        for el in elements.children:
            text = (el.text or b"").decode("utf-8")
            if el.type == "command_parameter":
                params.add(text[1:].rstrip(":"))
            elif el.type == "generic_token" and len(text) > 1 and text[0] in DASHES:
                if text[1].isalpha():  # PowerShell also takes en/em dashes as a parameter dash
                    params.add(text[1:].split(":", 1)[0])
            elif el.type == "unary_expression" and text.startswith("@") and len(text) > 1:
                first = el.children[0] if el.children else None
                if first is not None and first.type == "variable":
                    params.add(SPLAT_MARKER)
    return params


def _escape_findings(src: bytes, node: tree_sitter.Node) -> list[str]:
    """PowerShell-7-only escapes (`` `e``, `` `u{...}``) in a double-quoted string node."""
    masked = [(c.start_byte, c.end_byte) for c in node.children if c.type == "sub_expression"]
    found: list[str] = []
    i, end = node.start_byte, node.end_byte
    while i < end:
        if any(a <= i < b for a, b in masked):
            i = next(b for a, b in masked if a <= i < b)
            continue
        if src[i : i + 1] == b"`":
            nxt = src[i + 1 : i + 2]
            if nxt == b"e":
                found.append("`e")
            elif nxt == b"u" and src[i + 2 : i + 3] == b"{":
                close = src.find(b"}", i, end)
                found.append(src[i : close + 1 if close >= 0 else i + 3].decode("utf-8", "replace"))
            i += 2
        else:
            i += 1
    return found


def check_script(text: str) -> ScriptReport:
    """Parse ``text`` and collect errors, PowerShell-7-only syntax, commands and literals."""
    src = text.encode("utf-8")
    tree = _parser().parse(src)
    pos = _Positions(text, src)
    report = ScriptReport()

    def at(node: tree_sitter.Node) -> str:
        line, col = pos.where(node)
        return f"{line}:{col}"

    check_errors = tree.root_node.has_error
    for node, in_error in _walk(tree.root_node):
        kind = node.type
        if check_errors and kind == "ERROR" and not in_error:
            report.errors.append(f"{at(node)}: ERROR at {_snippet(node)!r}")
        elif check_errors and node.is_missing and not in_error:
            report.errors.append(f"{at(node)}: MISSING {kind}")

        if kind in ("ternary_expression", "null_coalesce_expression", "pipeline_chain_tail"):
            report.ps7_only.append(f"{at(node)}: {kind} {_snippet(node)!r}")
        elif kind == "assignment_operator" and node.text == b"??=":
            report.ps7_only.append(f"{at(node)}: ??= assignment")
        elif kind == "named_block":
            block = node.children[0].text if node.children else b""
            if (block or b"").lower() == b"clean":
                report.ps7_only.append(f"{at(node)}: clean {{}} named block")
        elif kind == "?" and not node.is_named:
            after = src[node.end_byte : node.end_byte + 1]
            before = src[node.start_byte - 1 : node.start_byte] if node.start_byte else b" "
            if after in (b".", b"[") and not before.isspace():
                report.ps7_only.append(f"{at(node)}: null-conditional ?{after.decode()}")
        elif kind == "generic_token" and node.text and node.text[:2] in (b"?.", b"?["):
            prev = node.prev_sibling
            if prev is not None and prev.type == "variable":
                report.ps7_only.append(f"{at(node)}: null-conditional {node.text[:2].decode()}")
        elif kind in ("expandable_string_literal", "expandable_here_string_literal"):
            for esc in _escape_findings(src, node):
                report.ps7_only.append(f"{at(node)}: escape {esc} in double-quoted string")
        elif kind == "verbatim_string_characters":
            line, col = pos.where(node)
            report.string_literals.append(
                StringLiteral(
                    text=(node.text or b"").decode("utf-8"),
                    start=pos.char(node.start_byte),
                    end=pos.char(node.end_byte),
                    line=line,
                    column=col,
                )
            )
        elif kind == "function_statement":
            for child in node.children:
                if child.type == "function_name":
                    report.functions.add((child.text or b"").decode("utf-8"))
        elif kind == "command":
            name = _command_name(node)
            if name is None or _RANGE_AS_COMMAND.match(name):
                continue
            if name.lower() == "param":
                # `[CmdletBinding()]`, newline, `param`, newline, `(`: valid PowerShell that
                # tree-sitter silently reads as a command `param`, hiding the parameters.
                report.errors.append(f"{at(node)}: param block misparsed as a command")
            params = _command_arguments(node)
            report.commands.setdefault(name, set()).update(params)
            if name.lower() in _FOREACH_NAMES and any(
                len(p) >= 2 and "parallel".startswith(p.lower()) for p in params
            ):
                report.ps7_only.append(f"{at(node)}: ForEach-Object -Parallel")

    _compare_literals(text, report)
    return report


def _compare_literals(text: str, report: ScriptReport) -> None:
    """Cross-check tree-sitter's single-quoted literals against PowerShell's quote rule."""
    try:
        ported = {(s, e) for s, e, _ in ps_single_quoted_literals(text)}
    except UnterminatedStringError as exc:
        report.quote_mismatches.append(f"PowerShell tokenizer rule: {exc}")
        return
    seen = {(lit.start, lit.end) for lit in report.string_literals}
    for s, e in sorted(ported - seen):
        report.quote_mismatches.append(
            f"offset {s}: PowerShell reads literal {text[s:e]!r} that tree-sitter does not"
        )
    for s, e in sorted(seen - ported):
        report.quote_mismatches.append(
            f"offset {s}: tree-sitter reads literal {text[s:e]!r} that PowerShell does not"
        )


def commands_used(text: str) -> dict[str, set[str]]:
    """Commands invoked by ``text`` (name as written -> parameters), minus its own functions."""
    return check_script(text).external_commands()


# --------------------------------------------------------------------------------------------
# Reference data: commands of Windows PowerShell 5.1
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Command:
    name: str
    module: str
    kind: str
    params: frozenset[str]


class ReferenceCommands:
    """Commands, parameters and aliases of Windows PowerShell 5.1 (PSScriptAnalyzer profile).

    Lookups are case-insensitive, like PowerShell, and accept a module-qualified name
    (``Microsoft.PowerShell.Management\\Get-Item``). Aliases exist (``has_command``) but
    their target command is not in the data, so ``parameters`` of an alias is ``None``.
    """

    def __init__(self, commands: dict[str, _Command], aliases: dict[str, str]) -> None:
        self._commands = commands  # lower name -> command
        self._aliases = aliases  # lower alias -> module

    @classmethod
    def load(cls, path: str | Path | None = None) -> ReferenceCommands:
        """Load the JSON (keys ``modules`` and ``aliases``); default: :data:`REFERENCE_PATH`."""
        if path is None:
            path = REFERENCE_PATH
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        commands: dict[str, _Command] = {}
        aliases = {name.lower(): module for name, module in data.get("aliases", {}).items()}
        for module, entries in data["modules"].items():
            for name, entry in entries.items():
                kind = entry.get("type", "")
                if kind == "Alias":
                    aliases.setdefault(name.lower(), module)
                    continue
                key = name.lower()
                params = frozenset(entry.get("params", []))
                if key in commands:  # same name in two modules: accept either's parameters
                    params |= commands[key].params
                commands[key] = _Command(name, module, kind, params)
        return cls(commands, aliases)

    @staticmethod
    def _key(name: str) -> str:
        return name.rsplit("\\", 1)[-1].lower()

    def has_command(self, name: str) -> bool:
        key = self._key(name)
        return key in self._commands or key in self._aliases

    def is_alias(self, name: str) -> bool:
        key = self._key(name)
        return key in self._aliases and key not in self._commands

    def module(self, name: str) -> str | None:
        key = self._key(name)
        cmd = self._commands.get(key)
        return cmd.module if cmd else self._aliases.get(key)

    def canonical_name(self, name: str) -> str | None:
        """The command's spelling in the reference (to catch case differences if wanted)."""
        cmd = self._commands.get(self._key(name))
        return cmd.name if cmd else None

    def parameters(self, name: str) -> set[str] | None:
        """The command's own parameter names (common parameters not included); else ``None``."""
        cmd = self._commands.get(self._key(name))
        return set(cmd.params) if cmd else None

    def accepts_parameter(self, command: str, parameter: str) -> bool | None:
        """Whether ``-parameter`` (full name, any case) exists for ``command``, counting the
        common parameters; ``None`` when the command is unknown or an alias."""
        params = self.parameters(command)
        if params is None:
            return None
        p = parameter.lower()
        return p in _COMMON_LOWER or p in {q.lower() for q in params}
