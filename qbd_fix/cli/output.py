"""Everything the command line shows, and the only module that imports Rich.

Results go to stdout; errors, prompts and notes to stderr, so ``--json`` and
``--dry-run`` output can be piped.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from qbd_fix.remediations.base import Remediation
    from qbd_fix.runners.base import RunOutcome

STATUS_STYLE = {
    "ok": "green",
    "changed": "cyan",
    "needs_user_action": "yellow",
    "failed": "red",
}


def stdout_console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def error(message: str, hint: str | None = None) -> None:
    """One line for the error, one for the hint: no traceback."""
    console = stderr_console()
    console.print(f"[bold red]error:[/] {_escape(message)}", soft_wrap=True)
    if hint:
        console.print(f"[dim]hint:[/] {_escape(hint)}", soft_wrap=True)


def note(message: str) -> None:
    stderr_console().print(_escape(message), soft_wrap=True)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def script(text: str) -> None:
    """The script as it will run: highlighted on a terminal, byte-for-byte when piped."""
    if not sys.stdout.isatty():
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from rich.syntax import Syntax

    stdout_console().print(Syntax(text, "powershell", line_numbers=False, word_wrap=False))


def json_document(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def outcome_document(outcome: RunOutcome, *, debug: bool = False) -> dict[str, Any]:
    doc: dict[str, Any] = {"target": outcome.target, "duration_s": round(outcome.duration, 3)}
    doc.update(outcome.result.to_dict())
    if debug:
        streams = outcome.streams
        doc["streams"] = {
            "output": streams.output,
            "errors": streams.errors,
            "warnings": streams.warnings,
            "verbose": streams.verbose,
            "information": streams.information,
        }
    return doc


def outcome(outcome: RunOutcome, *, debug: bool = False) -> None:
    """A human summary of one run: status, checks, actions, messages."""
    from rich.table import Table

    console = stdout_console()
    result = outcome.result
    style = STATUS_STYLE.get(result.status.value, "white")
    console.print(
        f"[bold]{_escape(result.remediation)}[/] on [bold]{_escape(result.computer or outcome.target)}[/]: "
        f"[bold {style}]{result.status.value.upper()}[/] [dim]({outcome.duration:.1f} s)[/]"
    )
    if result.data.get("what_if"):
        console.print("[yellow]What-if run: nothing was changed.[/]")
    if result.checks:
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        table.add_column("", width=1)
        table.add_column("check")
        table.add_column("evidence", overflow="fold")
        for check in result.checks:
            mark = "[green]✓[/]" if check.passed else "[red]✗[/]"
            table.add_row(mark, _escape(check.name), _escape(check.evidence))
        console.print(table)
    for action in result.actions:
        verb = "[cyan]done[/]" if action.performed else "[yellow]would[/]"
        console.print(f"  {verb}  {_escape(action.description)}")
    for message in result.messages:
        console.print(f"• {_escape(message)}")
    for line in result.notes:  # qbd-fix's own: what it cut or ignored of the PC's answer
        console.print(f"[yellow]note:[/] {_escape(line)}")
    bundle = result.data.get("bundle")
    if isinstance(bundle, dict) and bundle.get("local_path"):
        # Never wrapped: the path is there to be copied.
        console.print(f"Log bundle: [bold]{_escape(str(bundle['local_path']))}[/]", soft_wrap=True)
    if debug:
        for name, lines in (
            ("error", outcome.streams.errors),
            ("warning", outcome.streams.warnings),
            ("verbose", outcome.streams.verbose),
            ("information", outcome.streams.information),
        ):
            for line in lines:
                console.print(f"[dim]{name}:[/] {_escape(line)}")


def catalogue(remediations: list[Remediation]) -> None:
    """``qbd-fix list``: each fix, its seed section and what it may change."""
    from rich.table import Table

    table = Table(show_header=True, header_style="bold", show_lines=True)
    table.add_column("command", no_wrap=True)
    table.add_column("troubleshooting section")
    table.add_column("what it does")
    table.add_column("may change")
    for item in remediations:
        changes = "\n".join(f"• {c}" for c in item.may_change) or "nothing (read-only)"
        table.add_row(
            item.name, _escape(item.seed_section), _escape(item.summary), _escape(changes)
        )
    stdout_console().print(table)
