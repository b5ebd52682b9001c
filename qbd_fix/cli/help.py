"""Plain ``--help`` with the options grouped under headings.

The CLI prints help without Rich (fast, and the same on every terminal), and
plain Click ignores Typer's ``rich_help_panel``: this command class reads it and
writes one section per panel, in the order the panels first appear.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperCommand


class PanelledCommand(TyperCommand):
    """A command whose options are listed under their panels' names."""

    def format_options(self, ctx: Any, formatter: Any) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            panel = getattr(param, "rich_help_panel", None) or "Options"
            sections.setdefault(panel, []).append(record)
        for panel, records in sections.items():
            with formatter.section(panel if panel == "Options" else f"{panel} options"):
                formatter.write_dl(records)
