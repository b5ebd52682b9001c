"""Options for reaching a remote PC over PowerShell Remoting, shared by every command.

Defined once, like :mod:`qbd_fix.cli.options`, appended to each command's
signature, and mapped onto :class:`qbd_fix.connection.ConnectionSettings`, which
checks them. The password is never an option (argv is visible to every user of
a machine and lands in shell history): it comes from an environment variable,
or a hidden prompt when there is a terminal.
"""

from __future__ import annotations

import getpass
import inspect
from enum import Enum
from typing import Any

from qbd_fix.cli.options import flag
from qbd_fix.connection import DEFAULT_PASSWORD_ENV, Ask, ConnectionSettings
from qbd_fix.errors import UsageError

PANEL = "Remote"


class Auth(str, Enum):
    """The choices of ``--auth``: :data:`qbd_fix.connection.AUTH_KINDS` (a test keeps them equal)."""

    negotiate = "negotiate"
    ntlm = "ntlm"
    kerberos = "kerberos"
    credssp = "credssp"
    basic = "basic"
    certificate = "certificate"


CONNECTION_OPTIONS: list[inspect.Parameter] = [
    flag(
        "host",
        list[str] | None,
        None,
        "--host",
        metavar="PC",
        help="Run on this remote PC over PowerShell Remoting: a name, IPv4 or IPv6 address. "
        "Repeat it, or give a comma list, to run on several PCs at once (a fleet run).",
        rich_help_panel=PANEL,
    ),
    flag(
        "port",
        int | None,
        None,
        "--port",
        metavar="PORT",
        help="WinRM port. Default: 5986 with --ssl, 5985 with --no-ssl.",
        rich_help_panel=PANEL,
    ),
    flag(
        "ssl",
        bool,
        True,
        "--ssl/--no-ssl",
        help="HTTPS listener (5986), or HTTP (5985) with WinRM message encryption.",
        rich_help_panel=PANEL,
    ),
    flag(
        "auth",
        Auth,
        Auth.negotiate,
        "--auth",
        help="Authentication. Basic and certificate need --ssl.",
        rich_help_panel=PANEL,
    ),
    flag(
        "username",
        str | None,
        None,
        "--username",
        "-u",
        metavar="USER",
        help="Account on the PC: DOMAIN\\user, user@domain, or .\\user for a local account.",
        rich_help_panel=PANEL,
    ),
    flag(
        "password_env",
        str,
        DEFAULT_PASSWORD_ENV,
        "--password-env",
        metavar="NAME",
        help="Environment variable holding the password; asked for when unset and a terminal is there.",
        rich_help_panel=PANEL,
    ),
    flag(
        "cert_validation",
        bool,
        True,
        "--cert-validation/--no-cert-validation",
        help="Check the HTTPS listener's certificate.",
        rich_help_panel=PANEL,
    ),
    flag(
        "ca_file",
        str | None,
        None,
        "--ca-file",
        metavar="PEM",
        help="CA certificate(s) to trust for the HTTPS listener.",
        rich_help_panel=PANEL,
    ),
    flag(
        "certificate_pem",
        str | None,
        None,
        "--certificate-pem",
        metavar="PEM",
        help="Client certificate, for --auth certificate.",
        rich_help_panel=PANEL,
    ),
    flag(
        "certificate_key_pem",
        str | None,
        None,
        "--certificate-key-pem",
        metavar="PEM",
        help="Its private key (unencrypted), for --auth certificate.",
        rich_help_panel=PANEL,
    ),
    flag(
        "connect_timeout",
        float,
        30.0,
        "--connect-timeout",
        metavar="SECONDS",
        help="How long to wait for the PC to accept the connection.",
        rich_help_panel=PANEL,
    ),
    flag(
        "operation_timeout",
        int,
        30,
        "--operation-timeout",
        metavar="SECONDS",
        help="How long one WinRM request may go unanswered (long scripts are polled, not cut).",
        rich_help_panel=PANEL,
    ),
]


def pop_connection_options(kwargs: dict[str, Any]) -> tuple[ConnectionSettings, tuple[str, ...]]:
    """Take the remote options out of a command's keyword arguments: the settings, and
    every PC ``--host`` names (it may be repeated and hold comma lists)."""
    values = {p.name: kwargs.pop(p.name) for p in CONNECTION_OPTIONS}
    given = values.pop("host") or []
    # spaces only: a line break or tab in a name is refused by the host check, not trimmed
    hosts = tuple(
        item.strip(" ") for value in given for item in value.split(",") if item.strip(" ")
    )
    if given and not hosts:
        raise UsageError("--host must not be empty")
    values["auth"] = Auth(values["auth"]).value
    return ConnectionSettings(**values), hosts


def password_prompt(settings: ConnectionSettings, hosts: tuple[str, ...]) -> Ask | None:
    """How to ask for a missing password: a hidden prompt on a terminal, else nobody."""
    from qbd_fix.cli import fleet

    if not fleet.interactive():
        return None

    def ask(variable: str, count: int) -> str:
        if len(hosts) == 1:
            question = f"Password for {settings.username} on {hosts[0]}: "
        else:
            question = f"Password for {variable} ({count} PC{'s' if count > 1 else ''}): "
        try:
            return getpass.getpass(question)
        except EOFError:
            return ""

    return ask
