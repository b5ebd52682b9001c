"""Options shared by every remediation command, defined once.

Each remediation command's signature is its own options followed by these
(see :mod:`qbd_fix.cli.commands`), so every command takes them the same way.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Annotated, Any

import typer


@dataclass(frozen=True)
class RunOptions:
    """How to run: preview, confirm, what-if, output format."""

    dry_run: bool = False
    output: str | None = None
    yes: bool = False
    what_if: bool = False
    json: bool = False
    debug: bool = False


def option(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    """A keyword-only command parameter: commands are assembled from lists of these."""
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


RUN_OPTIONS: list[inspect.Parameter] = [
    option(
        "dry_run",
        Annotated[
            bool,
            typer.Option(
                "--dry-run",
                help="Print the exact script instead of running it (no Windows needed).",
                rich_help_panel="Run",
            ),
        ],
        False,
    ),
    option(
        "output",
        Annotated[
            str | None,
            typer.Option(
                "--output",
                "-o",
                metavar="FILE|DIR",
                help="With --dry-run: write the script (UTF-8 with BOM, CRLF) to this file or folder.",
                rich_help_panel="Run",
            ),
        ],
        None,
    ),
    option(
        "yes",
        Annotated[
            bool,
            typer.Option(
                "--yes", "-y", help="Do not ask before changing anything.", rich_help_panel="Run"
            ),
        ],
        False,
    ),
    option(
        "what_if",
        Annotated[
            bool,
            typer.Option(
                "--what-if",
                help="Run with -WhatIf: report what would change, change nothing.",
                rich_help_panel="Run",
            ),
        ],
        False,
    ),
    option(
        "json",
        Annotated[
            bool, typer.Option("--json", help="Print the result as JSON.", rich_help_panel="Run")
        ],
        False,
    ),
    option(
        "debug",
        Annotated[
            bool,
            typer.Option(
                "--debug",
                help="Show everything the script printed, and tracebacks.",
                rich_help_panel="Run",
            ),
        ],
        False,
    ),
]


def pop_run_options(kwargs: dict[str, Any]) -> RunOptions:
    """Take the shared run options out of a command's keyword arguments."""
    return RunOptions(**{p.name: kwargs.pop(p.name) for p in RUN_OPTIONS})
