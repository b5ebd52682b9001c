"""Options for reaching a remote PC over PowerShell Remoting, shared by every remediation.

Defined once, like :mod:`qbd_fix.cli.options`, and appended to each command's
signature. The password is never an option (argv is visible to every user of
a machine and lands in shell history): it comes from an environment variable,
or a hidden prompt when there is a terminal.
"""

from __future__ import annotations

import getpass
import importlib.util
import inspect
import ipaddress
import os
import re
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from qbd_fix import validation
from qbd_fix.cli.options import option
from qbd_fix.errors import UsageError

if TYPE_CHECKING:
    from qbd_fix.runners.remote import RemoteConnection, RemoteRunner

PANEL = "Remote"
DEFAULT_PASSWORD_ENV = "QBD_FIX_PASSWORD"  # noqa: S105 - a variable name, not a password
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Auth(str, Enum):
    """How the PC checks who is connecting."""

    negotiate = "negotiate"
    ntlm = "ntlm"
    kerberos = "kerberos"
    credssp = "credssp"
    basic = "basic"
    certificate = "certificate"


@dataclass(frozen=True)
class ConnectionOptions:
    """The remote options as given on the command line; holds no password, only where to find it."""

    host: str | None = None
    port: int | None = None
    ssl: bool = True
    auth: Auth = Auth.negotiate
    username: str | None = None
    password_env: str = DEFAULT_PASSWORD_ENV
    cert_validation: bool = True
    ca_file: str | None = None
    certificate_pem: str | None = None
    certificate_key_pem: str | None = None
    connect_timeout: float = 30.0
    operation_timeout: int = 30
    #: Every PC named by ``--host`` (repeated or comma lists); ``host`` is set only for one.
    hosts: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return (
            f"ConnectionOptions(host={self.host!r}, port={self.port!r}, ssl={self.ssl}, "
            f"auth={self.auth.value!r}, username={self.username!r}, password_env={self.password_env!r})"
        )

    @property
    def remote(self) -> bool:
        return self.host is not None


CONNECTION_OPTIONS: list[inspect.Parameter] = [
    option(
        "host",
        Annotated[
            list[str] | None,
            typer.Option(
                "--host",
                metavar="PC",
                help="Run on this remote PC over PowerShell Remoting: a name, IPv4 or IPv6 address. "
                "Repeat it, or give a comma list, to run on several PCs at once (a fleet run).",
                rich_help_panel=PANEL,
            ),
        ],
        None,
    ),
    option(
        "port",
        Annotated[
            int | None,
            typer.Option(
                "--port",
                metavar="PORT",
                help="WinRM port. Default: 5986 with --ssl, 5985 with --no-ssl.",
                rich_help_panel=PANEL,
            ),
        ],
        None,
    ),
    option(
        "ssl",
        Annotated[
            bool,
            typer.Option(
                "--ssl/--no-ssl",
                help="HTTPS listener (5986), or HTTP (5985) with WinRM message encryption.",
                rich_help_panel=PANEL,
            ),
        ],
        True,
    ),
    option(
        "auth",
        Annotated[
            Auth,
            typer.Option(
                "--auth",
                help="Authentication. Basic and certificate need --ssl.",
                rich_help_panel=PANEL,
            ),
        ],
        Auth.negotiate,
    ),
    option(
        "username",
        Annotated[
            str | None,
            typer.Option(
                "--username",
                "-u",
                metavar="USER",
                help="Account on the PC: DOMAIN\\user, user@domain, or .\\user for a local account.",
                rich_help_panel=PANEL,
            ),
        ],
        None,
    ),
    option(
        "password_env",
        Annotated[
            str,
            typer.Option(
                "--password-env",
                metavar="NAME",
                help="Environment variable holding the password; asked for when unset and a terminal is there.",
                rich_help_panel=PANEL,
            ),
        ],
        DEFAULT_PASSWORD_ENV,
    ),
    option(
        "cert_validation",
        Annotated[
            bool,
            typer.Option(
                "--cert-validation/--no-cert-validation",
                help="Check the HTTPS listener's certificate.",
                rich_help_panel=PANEL,
            ),
        ],
        True,
    ),
    option(
        "ca_file",
        Annotated[
            str | None,
            typer.Option(
                "--ca-file",
                metavar="PEM",
                help="CA certificate(s) to trust for the HTTPS listener.",
                rich_help_panel=PANEL,
            ),
        ],
        None,
    ),
    option(
        "certificate_pem",
        Annotated[
            str | None,
            typer.Option(
                "--certificate-pem",
                metavar="PEM",
                help="Client certificate, for --auth certificate.",
                rich_help_panel=PANEL,
            ),
        ],
        None,
    ),
    option(
        "certificate_key_pem",
        Annotated[
            str | None,
            typer.Option(
                "--certificate-key-pem",
                metavar="PEM",
                help="Its private key (unencrypted), for --auth certificate.",
                rich_help_panel=PANEL,
            ),
        ],
        None,
    ),
    option(
        "connect_timeout",
        Annotated[
            float,
            typer.Option(
                "--connect-timeout",
                metavar="SECONDS",
                help="How long to wait for the PC to accept the connection.",
                rich_help_panel=PANEL,
            ),
        ],
        30.0,
    ),
    option(
        "operation_timeout",
        Annotated[
            int,
            typer.Option(
                "--operation-timeout",
                metavar="SECONDS",
                help="How long one WinRM request may go unanswered (long scripts are polled, not cut).",
                rich_help_panel=PANEL,
            ),
        ],
        30,
    ),
]


def pop_connection_options(kwargs: dict[str, Any]) -> ConnectionOptions:
    """Take the remote options out of a command's keyword arguments.

    ``--host`` may be repeated and hold comma lists: one PC keeps the one-PC
    flow (``host``), several go to a fleet run (``hosts``).
    """
    values = {p.name: kwargs.pop(p.name) for p in CONNECTION_OPTIONS}
    given = values.pop("host") or []
    # spaces only: a line break or tab in a name is refused by host_name(), not trimmed
    hosts = tuple(
        item.strip(" ") for value in given for item in value.split(",") if item.strip(" ")
    )
    if given and not hosts:
        raise UsageError("--host must not be empty")
    return ConnectionOptions(host=hosts[0] if len(hosts) == 1 else None, hosts=hosts, **values)


def host_name(value: str) -> str:
    """``--host``: a PC name, IPv4 or IPv6 address, returned bare (see validation.host_address)."""
    try:
        return validation.host_address(value)
    except ValueError as exc:
        raise UsageError(f"--host: {exc}") from None


def _existing_file(value: str | None, option: str) -> str | None:
    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise UsageError(f"{option} {value!r}: no such file")
    return str(path)


def _check_auth_library(auth: Auth) -> None:
    """Kerberos and CredSSP need optional libraries; say which extra installs them."""
    if auth is Auth.credssp:
        missing = importlib.util.find_spec("requests_credssp") is None
    elif auth is Auth.kerberos and sys.platform != "win32":  # Windows has SSPI built in
        missing = importlib.util.find_spec("gssapi") is None
    else:
        return
    if missing:
        raise UsageError(
            f"--auth {auth.value} needs a library that is not installed",
            hint=f"pip install 'qbd-fix[{auth.value}]'",
        )


_CONVENTIONAL_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def shown_variable(name: str) -> str:
    """A password variable's name for a message, unless it may be the password itself.

    Variable names are written in capitals by convention; anything else in
    ``--password-env`` or an inventory's ``password_env`` may be a password typed
    in the wrong place, and is not echoed.
    """
    if _CONVENTIONAL_NAME.match(name):
        return name
    return (
        "named by --password-env or password_env (not shown: not in capitals, it may be a password)"
    )


def check(options: ConnectionOptions) -> str:
    """Check the options fit together (no password needed yet); returns the bare host."""
    if options.host is None:
        given = [
            flag
            for flag, used in (
                ("--port", options.port is not None),
                ("--username", options.username is not None),
                ("--no-ssl", not options.ssl),
                ("--auth", options.auth is not Auth.negotiate),
                ("--ca-file", options.ca_file is not None),
                ("--certificate-pem", options.certificate_pem is not None),
            )
            if used
        ]
        if given:
            raise UsageError(f"{', '.join(given)} go(es) with --host")
        return ""
    host = host_name(options.host)
    auth = options.auth
    if options.port is not None and not 1 <= options.port <= 65535:
        raise UsageError("--port is not between 1 and 65535")
    if not 0 < options.connect_timeout <= 600:
        raise UsageError("--connect-timeout must be more than 0 and at most 600 seconds")
    if not 1 <= options.operation_timeout <= 3600:
        raise UsageError("--operation-timeout must be between 1 and 3600 seconds")
    if not _ENV_NAME.match(options.password_env):
        raise UsageError(
            "--password-env is not an environment variable name (not shown: it may be a password)",
            hint="give the name of the variable that holds the password, e.g. QBD_FIX_PASSWORD",
        )
    if auth is Auth.basic and not options.ssl:
        raise UsageError(
            "--auth basic over --no-ssl is refused: Basic sends the password in clear text and "
            "WinRM cannot encrypt Basic messages",
            hint="use --ssl (an HTTPS listener), or --auth negotiate/ntlm, which encrypt over HTTP",
        )
    if auth is Auth.certificate:
        if not options.ssl:
            raise UsageError(
                "--auth certificate needs --ssl (client certificates are a TLS feature)"
            )
        if not (options.certificate_pem and options.certificate_key_pem):
            raise UsageError("--auth certificate needs --certificate-pem and --certificate-key-pem")
    elif options.certificate_pem or options.certificate_key_pem:
        raise UsageError("--certificate-pem and --certificate-key-pem go with --auth certificate")
    if auth in (Auth.negotiate, Auth.ntlm, Auth.credssp, Auth.basic) and not options.username:
        raise UsageError(f"--auth {auth.value} needs --username")
    if auth is Auth.kerberos:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            raise UsageError(
                "--auth kerberos needs the PC's name, not an IP address (Kerberos tickets name hosts)"
            )
    if options.ca_file is not None and not options.ssl:
        raise UsageError("--ca-file goes with --ssl")
    _existing_file(options.ca_file, "--ca-file")
    _existing_file(options.certificate_pem, "--certificate-pem")
    _existing_file(options.certificate_key_pem, "--certificate-key-pem")
    _check_auth_library(auth)
    return host


def read_password(options: ConnectionOptions, host: str) -> str | None:
    """The password: from the named environment variable, else a hidden prompt on a terminal."""
    if options.auth is Auth.certificate:
        return None
    value = os.environ.get(options.password_env)
    if value:
        return value
    if options.auth is Auth.kerberos:
        return None  # the Kerberos ticket cache (kinit) stands in
    if sys.stdin.isatty():
        try:
            entered = getpass.getpass(f"Password for {options.username} on {host}: ")
        except EOFError:
            entered = ""
        if entered:
            return entered
    raise UsageError(
        f"no password for {options.username}: set the environment variable "
        f"{shown_variable(options.password_env)}",
        hint="or run in a terminal to be asked; the password is never taken on the command line",
    )


def connection(
    options: ConnectionOptions, *, password: str | None = None, read: bool = True
) -> RemoteConnection:
    """Checked options plus the password, ready for a :class:`RemoteRunner`.

    With ``read=False`` the caller supplies *password* (a fleet reads each
    password variable once for all its PCs).
    """
    from qbd_fix.runners.remote import RemoteConnection

    host = check(options)
    if read:
        password = read_password(options, host)
    if options.auth is Auth.basic and password is not None:
        try:
            password.encode("latin-1")
        except UnicodeEncodeError:
            raise UsageError(
                "--auth basic cannot carry this password: HTTP Basic takes only Latin-1 characters",
                hint="use --auth negotiate or ntlm, which take any password",
            ) from None
    return RemoteConnection(
        host=host,
        username=options.username,
        password=password,
        auth=options.auth.value,
        ssl=options.ssl,
        port=options.port,
        cert_validation=options.cert_validation,
        ca_file=_existing_file(options.ca_file, "--ca-file"),
        certificate_pem=_existing_file(options.certificate_pem, "--certificate-pem"),
        certificate_key_pem=_existing_file(options.certificate_key_pem, "--certificate-key-pem"),
        connect_timeout=options.connect_timeout,
        operation_timeout=options.operation_timeout,
    )


def remote_runner(options: ConnectionOptions) -> RemoteRunner:
    """A runner for ``--host``; it connects on first use."""
    from qbd_fix.runners.remote import RemoteRunner

    return RemoteRunner(connection(options))
