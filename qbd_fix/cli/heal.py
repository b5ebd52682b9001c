"""``qbd-fix heal``: the command. The sequence on each PC is library code
(:mod:`qbd_fix.heal`); this module parses options and hands a job to the common flow."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from qbd_fix.cli.connection import CONNECTION_OPTIONS, pop_connection_options
from qbd_fix.cli.doctor import CLIENT_OPTION, SHELL_OPTION
from qbd_fix.cli.fleet import FLEET_OPTIONS, pop_fleet_options
from qbd_fix.cli.options import RUN_OPTIONS, RunOptions, flag

PANEL = "Heal"

HEAL_OPTIONS: list[inspect.Parameter] = [
    flag(
        "only",
        list[str] | None,
        None,
        "--only",
        metavar="TOPIC",
        help="Act only on this finding (its id, as doctor shows it, or its topic); repeatable.",
        rich_help_panel=PANEL,
    ),
    flag(
        "collect_logs",
        bool,
        False,
        "--collect-logs",
        help="Also bring home a log bundle from each PC (see collect-logs).",
        rich_help_panel=PANEL,
    ),
    flag(
        "dest",
        str | None,
        None,
        "--dest",
        metavar="DIR",
        help="With --collect-logs: where the zips go. Default: ./qbd-logs",
        rich_help_panel=PANEL,
    ),
    CLIENT_OPTION,
    SHELL_OPTION,
]


def heal(**kwargs: Any) -> int:
    """Make the connectors green: diagnose, run every fix that needs no person, diagnose again.

    Never uninstalls, restarts a PC, ends a running Web Connector or adds an antivirus
    exclusion. Exit code 0 when every PC is healthy or healed, 3 when some need a person,
    1 when any failed.
    """
    from qbd_fix import validation
    from qbd_fix.cli.doctor import parse_shell
    from qbd_fix.cli.run import run_job, show_outcome
    from qbd_fix.heal import HEAL, HealSettings, heal_perform
    from qbd_fix.pipeline import Job

    only = tuple(kwargs.pop("only") or ())
    collect = kwargs.pop("collect_logs")
    dest_text = kwargs.pop("dest")
    name = kwargs.pop("client_name")
    shell = parse_shell(kwargs.pop("shell"))
    run = RunOptions(**{p.name: kwargs.pop(p.name) for p in RUN_OPTIONS})
    settings, hosts = pop_connection_options(kwargs)
    fleet = pop_fleet_options(kwargs)
    client_name = None if name is None else validation.client_name(name)
    if dest_text is not None and not collect:
        from qbd_fix.errors import UsageError

        raise UsageError("--dest goes with --collect-logs (it is where the zips go)")
    dest = None if dest_text is None else validation.output_path(dest_text, "--dest")
    heal_settings = HealSettings(
        client_name=client_name,
        shell=shell,
        only=only,
        collect_logs=collect,
        what_if=run.what_if,
        dest=dest,
    )
    job = Job(
        HEAL,
        what_if=run.what_if,
        client_name=client_name,
        dest=dest,
        perform=heal_perform(heal_settings),
    )
    if run.dry_run:
        _explain(run.output)
    return run_job(job, run, settings, hosts, fleet, show_one=show_outcome)


def _explain(output: str | None) -> None:
    """``--dry-run``: after the facts script, what heal would run for a failing finding."""
    from qbd_fix.cli import output as out
    from qbd_fix.heal import dry_run_plan

    for remediation, never in dry_run_plan():
        out.note(
            f"heal runs {remediation} for a failing finding whose fix it is "
            f"(never with {never}): qbd-fix {remediation} --dry-run shows its script."
        )
    if output:
        out.note(f"The facts script goes to {Path(output).expanduser()}.")


_PARAMETERS = [*HEAL_OPTIONS, *RUN_OPTIONS, *CONNECTION_OPTIONS, *FLEET_OPTIONS]
heal.__signature__ = inspect.Signature(_PARAMETERS)  # type: ignore[attr-defined]
heal.__annotations__ = {p.name: p.annotation for p in _PARAMETERS}
