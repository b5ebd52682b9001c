"""Where a script changes the PC, read from its syntax tree (tree-sitter-pwsh).

Remediations may change state only inside an ``Invoke-QbdChange -Change { ... }`` block, so that
-WhatIf/-Confirm hold and every action is recorded: :func:`unguarded_state_changes` finds the
changes that are not. The doctor changes nothing at all: :func:`reachable_state_changes` finds
any change its top level can reach, a call of ``Invoke-QbdChange`` included, and
:func:`all_state_changes` any change written anywhere in it, called or not. One definition of
"a state change" serves both, so a rule added here holds for every script.

A state change is any of:

* a command with a changing verb (:data:`CHANGING_VERBS`) or on :data:`CHANGING_COMMANDS`,
  script functions included (a function named like a change is one wherever it is called,
  whatever its body does), unless listed in :data:`NOT_CHANGES`;
* a .NET call on :data:`CHANGING_METHODS` (``$file.Delete()``, ``[IO.File]::WriteAllText``) or on
  :data:`FILE_SYSTEM_METHODS` of ``[IO.File]``/``[IO.Directory]`` (``[IO.File]::Create``);
* output redirected to a file (``> path``; ``> $null`` only discards).

A change inside a function is guarded only when every call of that function is guarded,
recursively. Only code the top level can reach counts: a shared function a script includes but
never calls cannot run (the scripts use no call operator except on the prelude's own script
blocks, which ``tests/test_scripts.py`` enforces, so every call is visible here).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from functools import cache

import tree_sitter

from tests.support.pwsh import parse

__all__ = [
    "CHANGE_WRAPPER",
    "CHANGING_COMMANDS",
    "CHANGING_METHODS",
    "CHANGING_VERBS",
    "FILE_SYSTEM_METHODS",
    "NOT_CHANGES",
    "StateChange",
    "all_state_changes",
    "changing_functions",
    "command_name",
    "context_of",
    "is_state_changing_command",
    "reachable_functions",
    "reachable_state_changes",
    "syntax_nodes",
    "unguarded_state_changes",
]

#: Verbs of commands that change state (PowerShell's approved verbs that write or act).
CHANGING_VERBS = (
    "Add", "Clear", "Copy", "Disable", "Enable", "Export", "Import", "Install", "Move", "New",
    "Register", "Remove", "Rename", "Reset", "Restart", "Resume", "Send", "Set", "Start", "Stop",
    "Suspend", "Uninstall", "Unregister", "Update",
)  # fmt: skip
_CHANGING_VERB = re.compile(rf"^({'|'.join(CHANGING_VERBS)})-", re.IGNORECASE)

#: Changing commands whose verb does not say so, and native programs that change the PC.
CHANGING_COMMANDS = frozenset(
    c.lower()
    for c in (
        "Invoke-WebRequest",  # -OutFile writes a file
        "Out-File",
        "Tee-Object",
        "msiexec.exe",
        "reg.exe",  # add, delete, import, export: every use is a change
        "shutdown.exe",
    )
)

#: The change wrapper: guards a change in a remediation, is a change where nothing may change.
CHANGE_WRAPPER = "invoke-qbdchange"

#: .NET methods that write, move or delete files and folders or change their access rules, on
#: any object or type.
CHANGING_METHODS = frozenset(
    {
        "writealltext",
        "writeallbytes",
        "writealllines",
        "appendalltext",
        "appendalllines",
        "delete",
        "move",
        "moveto",
        "copyto",
        "createdirectory",
        "setaccesscontrol",
    }
)
#: Methods that change state as static methods of ``[IO.File]``/``[IO.Directory]`` (the same
#: names on strings and collections do not).
FILE_SYSTEM_METHODS = frozenset({"create", "copy", "replace", "createtext", "appendtext"})
_FILE_SYSTEM_TYPE = re.compile(r"\bio\.(file|directory)\b", re.IGNORECASE)

#: Commands with a changing verb that change nothing on the PC. A script function listed here
#: still has its body checked like any other code.
NOT_CHANGES = frozenset(
    {
        # the result helpers of the prelude: they fill in the result document only
        "set-qbdstatus",
        "set-qbddata",
        "add-qbdcheck",
        "add-qbdaction",
        "add-qbdmessage",
        # the connector finder's record of one install (_connector.ps1.j2)
        "new-qbdinstall",
        # the script's own strict mode, a pause, objects in memory, an assembly loaded into
        # this process, a task definition returned as text
        "set-strictmode",
        "start-sleep",
        "new-object",
        "new-scheduledtaskaction",
        "new-scheduledtaskprincipal",
        "new-scheduledtasksettingsset",
        "add-type",
        "export-scheduledtask",
    }
)

_CHANGE_BLOCK = "change"  # context of code inside a -Change block


def is_state_changing_command(
    name: str, *, read_only: bool = False, not_changes: Collection[str] = ()
) -> bool:
    """Whether calling the command ``name`` changes state, by verb or by name.

    ``read_only`` counts the change wrapper too; ``not_changes`` adds a caller's exemptions.
    """
    key = name.rsplit("\\", 1)[-1].lower()
    if key in NOT_CHANGES or key in {n.lower() for n in not_changes}:
        return False
    if read_only and key == CHANGE_WRAPPER:
        return True
    return key in CHANGING_COMMANDS or _CHANGING_VERB.match(key) is not None


@dataclass(frozen=True)
class StateChange:
    """One state-changing call: what, where, and the code it sits in."""

    name: str  # lower-case command or method name; "redirection" for ``> file``
    text: str  # the call as written, whitespace folded
    line: int
    function: str | None  # innermost enclosing function (lower case), None at the top level
    context: str | None  # "change" inside a -Change block, else as ``function``

    def __str__(self) -> str:
        return f"line {self.line}: {self.name} (in {self.context or 'top level'}): {self.text[:80]}"


def _text(node: tree_sitter.Node | None) -> str:
    return (node.text or b"").decode("utf-8") if node is not None else ""


def syntax_nodes(
    root: tree_sitter.Node,
) -> Iterator[tuple[tree_sitter.Node, tuple[tree_sitter.Node, ...]]]:
    """Every node with its ancestors (innermost last), in source order."""
    stack: list[tuple[tree_sitter.Node, tuple[tree_sitter.Node, ...]]] = [(root, ())]
    while stack:
        node, parents = stack.pop()
        yield node, parents
        stack.extend((child, (*parents, node)) for child in reversed(node.children))


def command_name(node: tree_sitter.Node) -> str | None:
    """The name a ``command`` node calls, as written (``None`` for ``&``/``.`` calls)."""
    for child in node.children:
        if child.type == "command_name":
            return _text(child)
    return None


def _function_name(node: tree_sitter.Node) -> str | None:
    if node.type != "function_statement":
        return None
    return next((_text(c).lower() for c in node.children if c.type == "function_name"), None)


def _is_change_block(node: tree_sitter.Node) -> bool:
    """``node`` is the script block given to ``Invoke-QbdChange -Change``."""
    if node.type != "script_block_expression" or node.parent is None:
        return False
    elements = node.parent.parent
    if elements is None or elements.type != "command_elements" or elements.parent is None:
        return False
    if (command_name(elements.parent) or "").lower() != CHANGE_WRAPPER:
        return False
    previous = node.parent.prev_named_sibling
    while previous is not None and previous.type == "command_argument_sep":
        previous = previous.prev_named_sibling
    return (
        previous is not None
        and previous.type == "command_parameter"
        and _text(previous).lower() == "-change"
    )


def context_of(parents: tuple[tree_sitter.Node, ...]) -> str | None:
    """``"change"`` in a -Change block, else the innermost function's name, else ``None``.

    The innermost of the two decides: a function defined inside a -Change block is judged by
    its calls, not by where it is written.
    """
    for parent in reversed(parents):
        if _is_change_block(parent):
            return _CHANGE_BLOCK
        name = _function_name(parent)
        if name is not None:
            return name
    return None


def _enclosing_function(parents: tuple[tree_sitter.Node, ...]) -> str | None:
    return next((n for n in map(_function_name, reversed(parents)) if n is not None), None)


def _changing_call(node: tree_sitter.Node) -> str | None:
    """The .NET call or redirection that changes state at ``node``, if any."""
    if node.type == "invocation_expression":
        member = next((c for c in node.children if c.type == "member_name"), None)
        method = _text(member).lower()
        if method in CHANGING_METHODS:
            return method
        target = _text(node.children[0]) if node.children else ""
        if method in FILE_SYSTEM_METHODS and _FILE_SYSTEM_TYPE.search(target):
            return method
    elif node.type == "redirection":
        operator = next((c for c in node.children if c.type == "file_redirection_operator"), None)
        file_name = next((c for c in node.children if c.type == "redirected_file_name"), None)
        if operator is not None and _text(file_name).strip().lower() != "$null":
            return "redirection"
    return None


@dataclass(frozen=True)
class _Site:
    """A command call, or a changing .NET call or redirection (``command=False``)."""

    name: str  # lower case
    command: bool
    text: str
    line: int
    function: str | None
    context: str | None


@dataclass(frozen=True)
class _Script:
    sites: tuple[_Site, ...]
    functions: frozenset[str]

    def calls_of(self, function: str) -> list[_Site]:
        return [s for s in self.sites if s.command and s.name == function]

    def reachable(self) -> set[str]:
        """Functions the top level calls, directly or through other functions."""
        seen: set[str] = set()
        pending: list[str | None] = [None]
        while pending:
            caller = pending.pop()
            for site in self.sites:
                called = site.name if site.command and site.function == caller else ""
                if called in self.functions and called not in seen:
                    seen.add(called)
                    pending.append(called)
        return seen

    def changes(self, *, read_only: bool, not_changes: Collection[str]) -> list[StateChange]:
        return [
            StateChange(s.name, s.text, s.line, s.function, s.context)
            for s in self.sites
            if not s.command
            or is_state_changing_command(s.name, read_only=read_only, not_changes=not_changes)
        ]


@cache
def _read(text: str) -> _Script:
    sites: list[_Site] = []
    functions: set[str] = set()
    for node, parents in syntax_nodes(parse(text).root_node):
        defined = _function_name(node)
        if defined is not None:
            functions.add(defined)
        if node.type == "command":
            name = (command_name(node) or "").lower()
            command = bool(name)
        else:
            name = _changing_call(node) or ""
            command = False
        if name:
            sites.append(
                _Site(
                    name=name,
                    command=command,
                    text=" ".join(_text(node).split()),
                    line=node.start_point[0] + 1,
                    function=_enclosing_function(parents),
                    context=context_of(parents),
                )
            )
    return _Script(tuple(sites), frozenset(functions))


def _check_exemptions(script: _Script, not_changes: Collection[str]) -> None:
    unknown = sorted(n for n in not_changes if n.lower() not in script.functions)
    if unknown:
        raise ValueError(f"exempt only the script's own functions, not {unknown}")


def unguarded_state_changes(
    text: str, *, allowed_calls: Collection[str] = (), not_changes: Collection[str] = ()
) -> list[str]:
    """Reachable state changes not run only through an ``Invoke-QbdChange -Change`` block.

    For a script that must change something outside the wrapper on purpose, the caller names
    the exceptions: ``allowed_calls`` holds calls by their exact text (whitespace folded), and
    ``not_changes`` the script's own functions whose changing verb is not a change in itself
    (their bodies are still checked). Every exception must be used, so none lingers.
    """
    script = _read(text)
    _check_exemptions(script, not_changes)
    reachable = script.reachable()
    allowed = {" ".join(a.split()) for a in allowed_calls}
    unused = set(allowed)

    def guarded(site_context: str | None, seen: frozenset[str]) -> bool:
        if site_context == _CHANGE_BLOCK:
            return True
        if site_context is None or site_context in seen or site_context == CHANGE_WRAPPER:
            return False
        sites = [
            s
            for s in script.calls_of(site_context)
            if s.function is None or s.function in reachable
        ]
        return bool(sites) and all(guarded(s.context, seen | {site_context}) for s in sites)

    found: list[str] = []
    for change in script.changes(read_only=False, not_changes=not_changes):
        if change.text in allowed:
            unused.discard(change.text)
        elif (change.function is None or change.function in reachable) and not guarded(
            change.context, frozenset()
        ):
            found.append(str(change))
    return found + [f"allowed but not found: {a}" for a in sorted(unused)]


def changing_functions(text: str, *, not_changes: Collection[str] = ()) -> set[str]:
    """Functions that change state (in their body or through what they call) outside a -Change
    block of their own, so that calling one is a change; tests use it to see that the guard
    sees a script's real work."""
    script = _read(text)
    changing = {
        c.function
        for c in script.changes(read_only=False, not_changes=not_changes)
        if c.function is not None and c.context != _CHANGE_BLOCK
    }
    while True:
        grown = changing | {
            s.function
            for s in script.sites
            if s.command
            and s.name in changing
            and s.function is not None
            and s.context != _CHANGE_BLOCK
        }
        if grown == changing:
            return changing
        changing = grown


def reachable_functions(text: str) -> set[str]:
    """The script's functions (lower case) the top level can call, directly or indirectly."""
    return _read(text).reachable()


def reachable_state_changes(text: str, *, not_changes: Collection[str] = ()) -> list[str]:
    """Read-only mode: every state change the top level can reach, -Change blocks and calls of
    the change wrapper included (``not_changes`` as for :func:`unguarded_state_changes`)."""
    script = _read(text)
    _check_exemptions(script, not_changes)
    reachable = script.reachable()
    return [
        str(c)
        for c in script.changes(read_only=True, not_changes=not_changes)
        if c.function is None or c.function in reachable
    ]


def all_state_changes(text: str, *, not_changes: Collection[str] = ()) -> list[str]:
    """Read-only mode over the whole text: every state change written anywhere, in functions
    the script never calls too (an include brings them along, and a later edit may call one)."""
    script = _read(text)
    _check_exemptions(script, not_changes)
    return [str(c) for c in script.changes(read_only=True, not_changes=not_changes)]
