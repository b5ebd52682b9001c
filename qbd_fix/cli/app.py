"""The ``qbd-fix`` command: one subcommand per remediation, plus ``list``.

Kept thin: parse options, call the library, turn library errors into one line
and an exit code. Heavy imports (Jinja, Rich, pypsrp) wait until a command
needs them, so ``--help`` stays fast.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from qbd_fix import __version__
from qbd_fix.cli import commands
from qbd_fix.cli.connection import CONNECTION_OPTIONS, pop_connection_options
from qbd_fix.cli.doctor import doctor as _doctor_command
from qbd_fix.cli.export import export_app
from qbd_fix.cli.fleet import FLEET_OPTIONS, pop_fleet_options
from qbd_fix.cli.heal import heal as _heal_command
from qbd_fix.cli.help import PanelledCommand
from qbd_fix.cli.options import RUN_OPTIONS, pop_run_options
from qbd_fix.errors import ExitCode, QbdFixError
from qbd_fix.remediations import REMEDIATIONS, Remediation

#: Options whose bad values are not repeated in an error: each may hold a mistyped password.
_NOT_ECHOED = {
    "port": "expected a number between 1 and 65535",
    "password_env": "expected an environment variable name",
}


class _Interrupted(Exception):
    """Ctrl-C inside a command, carried past Typer (which would turn it into a silent exit 130)."""


class _OneLineErrors(TyperGroup):
    """Every failure ends as ``error: ...`` on one line and an exit code, never a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise _Interrupted() from None

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        try:
            returned = super().main(
                args=argv,
                prog_name=prog_name or "qbd-fix",
                complete_var=complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
            code = returned if isinstance(returned, int) else 0
        except typer.Exit as exc:
            code = exc.exit_code
        except typer.TyperException as exc:  # Typer's own usage errors (bad or missing options)
            message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
            param = getattr(getattr(exc, "param", None), "name", None)
            if param in _NOT_ECHOED:
                # A password typed into the wrong option must not come back on the screen.
                message = (
                    f"--{param.replace('_', '-')}: {_NOT_ECHOED[param]} (the value is not shown)"
                )
            _error(message, "see --help for the options")
            code = getattr(exc, "exit_code", ExitCode.USAGE)
        except (typer.Abort, KeyboardInterrupt, _Interrupted):
            _error("interrupted")
            code = ExitCode.INTERRUPTED
        except QbdFixError as exc:
            _error(exc.message, exc.hint)
            code = exc.exit_code
        except Exception as exc:
            if "--debug" in argv:
                raise
            _error(
                f"unexpected {type(exc).__name__}: {exc}",
                "run again with --debug for the traceback",
            )
            code = ExitCode.FAILED
        if standalone_mode:
            sys.exit(int(code))
        return int(code)


def _error(message: str, hint: str | None = None) -> None:
    from qbd_fix.cli import output

    output.error(message.replace("\n", " "), hint)


app = typer.Typer(
    cls=_OneLineErrors,
    name="qbd-fix",
    help="Diagnose and fix the Codat QuickBooks Desktop connector on Windows PCs.\n\n"
    "Run a fix on this PC, or print the exact PowerShell script with --dry-run.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"qbd-fix {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool | None,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = None,
) -> None:
    """Diagnose and fix the Codat QuickBooks Desktop connector on Windows PCs."""


@app.command("list")
def list_remediations() -> None:
    """List the fixes: the troubleshooting section each comes from, and what it may change."""
    from qbd_fix.cli import output

    output.catalogue(list(REMEDIATIONS.values()))


def _remediation_command(remediation: Remediation) -> Callable[..., int]:
    """Build a command whose signature is the remediation's options plus the shared ones."""
    own = commands.options(remediation)

    def command(**kwargs: Any) -> int:
        from qbd_fix.cli.run import run_remediation

        run = pop_run_options(kwargs)
        settings, hosts = pop_connection_options(kwargs)
        fleet = pop_fleet_options(kwargs)
        invocation = commands.parse(remediation, kwargs)
        return run_remediation(remediation, invocation, run, settings, hosts, fleet)

    parameters = [*own, *RUN_OPTIONS, *CONNECTION_OPTIONS, *FLEET_OPTIONS]
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__name__ = remediation.name.replace("-", "_")
    command.__doc__ = (
        f"{remediation.title}.\n\n{remediation.summary}\n\n"
        f'Troubleshooting section: "{remediation.seed_section}".'
    )
    return command


for _remediation in REMEDIATIONS.values():
    app.command(_remediation.name, cls=PanelledCommand)(_remediation_command(_remediation))
app.command("doctor", cls=PanelledCommand)(_doctor_command)
app.command("heal", cls=PanelledCommand)(_heal_command)
app.add_typer(export_app)


def main() -> None:
    """Console-script entry point."""
    app()
