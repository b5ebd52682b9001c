"""Everything the command line shows, and the only module that imports Rich.

Results go to stdout; errors, prompts and notes to stderr, so ``--json`` and
``--dry-run`` output can be piped.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from qbd_fix.mismatch import mismatch
from qbd_fix.text import json_text, visible, visible_lines

if TYPE_CHECKING:
    from rich.console import Console

    from qbd_fix.mismatch import Mismatch
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
    """One line for the error, one for the hint: no traceback.

    Messages may quote a PC (a PowerShell error, a WSMan fault): shown visible-safe.
    """
    from rich.text import Text

    console = stderr_console()
    console.print(Text.assemble(("error:", "bold red"), " ", visible(message)), soft_wrap=True)
    if hint:
        console.print(Text.assemble(("hint:", "dim"), " ", visible(hint)), soft_wrap=True)


def note(message: str) -> None:
    from rich.text import Text

    stderr_console().print(Text(visible(message)), soft_wrap=True)


def _escape(text: str) -> str:
    """Rich markup for text of our own (the catalogue): brackets shown as they are."""
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
    """JSON on stdout: Unicode names stay readable, control and format characters are escaped."""
    sys.stdout.write(json_text(document, indent=2) + "\n")


def _mismatch(outcome: RunOutcome, remediation: str | None) -> Mismatch | None:
    asked = remediation or outcome.result.remediation
    return mismatch(outcome.result, remediation=asked, host=outcome.target)


def outcome_document(
    outcome: RunOutcome, *, debug: bool = False, remediation: str | None = None
) -> dict[str, Any]:
    """The ``--json`` document; ``mismatch`` says what the result named that was not asked."""
    doc: dict[str, Any] = {"target": outcome.target, "duration_s": round(outcome.duration, 3)}
    doc.update(outcome.result.to_dict())
    found = _mismatch(outcome, remediation)
    doc["mismatch"] = found.to_dict() if found else None
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


def outcome(outcome: RunOutcome, *, debug: bool = False, remediation: str | None = None) -> None:
    """A human summary of one run: status, checks, actions, messages.

    Everything the PC wrote is shown through :func:`visible` as plain ``Text``,
    so neither a terminal sequence nor Rich markup from the PC takes effect.
    """
    from rich.table import Table
    from rich.text import Text

    console = stdout_console()
    result = outcome.result
    style = STATUS_STYLE.get(result.status.value, "white")
    console.print(
        Text.assemble(
            (visible(result.remediation), "bold"),
            " on ",
            (visible(result.computer or outcome.target), "bold"),
            ": ",
            (result.status.value.upper(), f"bold {style}"),
            (f" ({outcome.duration:.1f} s)", "dim"),
        )
    )
    found = _mismatch(outcome, remediation)
    if found:
        console.print(Text(f"warning: {found.describe()}", style="bold yellow"), soft_wrap=True)
    if result.data.get("what_if"):
        console.print(Text("What-if run: nothing was changed.", style="yellow"))
    if result.checks:
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        table.add_column("", width=1)
        table.add_column("check")
        table.add_column("evidence", overflow="fold")
        for check in result.checks:
            mark = Text("✓", style="green") if check.passed else Text("✗", style="red")
            table.add_row(mark, Text(visible(check.name)), Text(visible(check.evidence)))
        console.print(table)
    for action in result.actions:
        verb = Text("done", style="cyan") if action.performed else Text("would", style="yellow")
        console.print(Text.assemble("  ", verb, "  ", visible(action.description)))
    for message in result.messages:
        console.print(Text(f"• {visible(message)}"))
    for line in result.notes:  # qbd-fix's own: what it cut or ignored of the PC's answer
        console.print(Text.assemble(Text("note:", style="yellow"), " ", visible(line)))
    bundle = result.data.get("bundle")
    if isinstance(bundle, dict) and bundle.get("local_path"):
        # Never wrapped: the path is there to be copied.
        console.print(
            Text.assemble("Log bundle: ", (visible(bundle["local_path"]), "bold")), soft_wrap=True
        )
    if debug:
        debug_streams(outcome, console)


def debug_streams(outcome: RunOutcome, console: Console) -> None:
    """``--debug``: each stream line, split at line breaks, every piece after its stream's name."""
    from rich.text import Text

    for name, lines in (
        ("error", outcome.streams.errors),
        ("warning", outcome.streams.warnings),
        ("verbose", outcome.streams.verbose),
        ("information", outcome.streams.information),
    ):
        for line in lines:
            for piece in visible_lines(line):
                console.print(Text.assemble((f"{name}:", "dim"), " ", piece))


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


class StepLine:
    """A one-PC run's sign of life on stderr, fed with the pipeline's events: on a terminal
    one live line (the step the script has reached and the time so far), else one plain
    line per step. Step texts come from the PC: they arrive made visible-safe."""

    def __init__(self, title: str, *, live: bool | None = None) -> None:
        self.title = visible(title)
        self.live = sys.stderr.isatty() if live is None else live
        self._progress: Any = None
        self._task: Any = None
        self._started = 0.0

    def __enter__(self) -> StepLine:
        import time

        self._started = time.monotonic()
        if self.live:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}", markup=False),
                TimeElapsedColumn(),
                console=stderr_console(),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(f"{self.title}: starting", total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __call__(self, event: Any) -> None:
        import time

        if getattr(event, "kind", None) is None or event.kind.value != "step":
            return
        if self._progress is not None:
            self._progress.update(self._task, description=f"{self.title}: {event.step}")
        else:
            elapsed = time.monotonic() - self._started
            sys.stderr.write(f"{self.title}: {event.step} ({elapsed:.0f} s)\n")
            sys.stderr.flush()
