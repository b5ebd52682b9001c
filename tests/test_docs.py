"""The README stays true to the code: its commands and options exist, and every command
is documented there."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer

from qbd_fix.cli.app import app

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
GROUP = typer.main.get_command(app)


def readme_invocations() -> list[list[str]]:
    """Every ``qbd-fix ...`` command line in the README's code blocks."""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", README, flags=re.DOTALL)
    text = "\n".join(blocks).replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        line = line.strip().removeprefix("$ ")
        is_comment_or_install = line.startswith(("#", "python")) and "&& qbd-fix" not in line
        if "qbd-fix " not in line or is_comment_or_install:
            continue
        line = line[line.index("qbd-fix ") :].split("  #")[0]
        found.append(shlex.split(line)[1:])
    return found


INVOCATIONS = readme_invocations()


def test_the_readme_shows_commands() -> None:
    assert len(INVOCATIONS) >= 8


@pytest.mark.parametrize("argv", INVOCATIONS, ids=[" ".join(a)[:60] for a in INVOCATIONS])
def test_readme_commands_and_options_exist(argv: list[str]) -> None:
    name = argv[0]
    command = GROUP.commands.get(name)  # type: ignore[attr-defined]
    assert command is not None, f"README uses unknown command {name}"
    rest = argv[1:]
    while rest and hasattr(command, "commands") and not rest[0].startswith("-"):
        # A command group (``export rmm restart-tasks``): its options are its commands'.
        command = command.commands.get(rest[0])  # type: ignore[attr-defined]
        assert command is not None, f"README uses unknown command {' '.join(argv)}"
        rest = rest[1:]
    known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    used = [arg.split("=")[0] for arg in rest if arg.startswith("-")]
    assert [opt for opt in used if opt not in known] == []


@pytest.mark.parametrize("name", sorted(GROUP.commands))  # type: ignore[attr-defined]
def test_every_command_has_help_and_is_in_the_readme(name: str) -> None:
    command = GROUP.commands[name]  # type: ignore[attr-defined]
    assert command.help and len(command.help) > 20
    assert f"`{name}`" in README
    for param in command.params:
        if param.opts[0] not in ("--help",):
            assert param.help, f"{name} {param.opts[0]} has no help text"
