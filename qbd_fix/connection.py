"""How to reach a PC over PowerShell Remoting: one set of settings, checked in one place.

The command line maps its flags to :class:`ConnectionSettings`, an inventory maps
its columns onto them (a PC's own values win over the command line's), and a
check that fails names the setting as the user wrote it: ``--auth basic`` when it
came from a flag, ``auth=basic`` when it came from a column. Passwords are never
a setting: only the name of the environment variable that holds one is, and
:func:`read_passwords` reads each variable once for a whole fleet.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import ipaddress
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qbd_fix import validation
from qbd_fix.errors import UsageError

if TYPE_CHECKING:
    from qbd_fix.fleet.inventory import Target
    from qbd_fix.runners.remote import RemoteConnection

AUTH_KINDS = ("negotiate", "ntlm", "kerberos", "credssp", "basic", "certificate")
HTTP_PORT = 5985
HTTPS_PORT = 5986
DEFAULT_PASSWORD_ENV = "QBD_FIX_PASSWORD"  # noqa: S105 - a variable name, not a password
#: Auth kinds that send a user name and password.
PASSWORD_AUTH = ("negotiate", "ntlm", "credssp", "basic")

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CONVENTIONAL_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
#: Flags whose values are not repeated in messages: a password typed there must not show.
_NOT_ECHOED = frozenset({"port", "password_env"})

#: Each setting's command-line flag, for messages about settings given as flags.
FLAGS = {
    "host": "--host",
    "port": "--port",
    "ssl": "--ssl",
    "auth": "--auth",
    "username": "--username",
    "password_env": "--password-env",
    "cert_validation": "--cert-validation",
    "ca_file": "--ca-file",
    "certificate_pem": "--certificate-pem",
    "certificate_key_pem": "--certificate-key-pem",
    "connect_timeout": "--connect-timeout",
    "operation_timeout": "--operation-timeout",
    "read_timeout": "read_timeout",  # an inventory's only: no flag sets it
}
#: Settings an inventory row (or an Ansible host) may give for its own PC.
PER_PC = (
    "port",
    "ssl",
    "auth",
    "username",
    "password_env",
    "cert_validation",
    "ca_file",
    "certificate_pem",
    "certificate_key_pem",
    "connect_timeout",
    "operation_timeout",
    "read_timeout",
)


def shown_variable(name: str) -> str:
    """A password variable's name for a message, unless it may be the password itself.

    Variable names are written in capitals by convention; anything else may be
    a password typed in the wrong place, and is not echoed.
    """
    if _CONVENTIONAL_NAME.match(name):
        return name
    return (
        "named by --password-env or password_env (not shown: not in capitals, it may be a password)"
    )


@dataclass(frozen=True)
class ConnectionSettings:
    """Everything about reaching one PC except its password (see :func:`read_passwords`)."""

    host: str | None = None
    port: int | None = None
    ssl: bool = True
    auth: str = "negotiate"
    username: str | None = None
    password_env: str = DEFAULT_PASSWORD_ENV
    cert_validation: bool = True
    ca_file: str | None = None
    certificate_pem: str | None = None
    certificate_key_pem: str | None = None
    connect_timeout: float = 30.0
    operation_timeout: int = 30
    #: How long one HTTP read may wait; None: a little longer than the operation timeout.
    read_timeout: float | None = None
    #: The settings an inventory gave (worded ``name=value`` in messages), and the place
    #: that gave them (``pcs.csv:3 (pc02)``); every other setting came from a flag.
    from_row: frozenset[str] = frozenset()
    where: str = ""

    def __repr__(self) -> str:
        return (
            f"ConnectionSettings(host={self.host!r}, port={self.port!r}, ssl={self.ssl}, "
            f"auth={self.auth!r}, username={self.username!r}, password_env={self.password_env!r})"
        )

    @property
    def effective_port(self) -> int:
        """The port in use: the scheme's default when none is given."""
        return self.port if self.port is not None else (HTTPS_PORT if self.ssl else HTTP_PORT)

    @property
    def needs_password(self) -> bool:
        return self.auth in PASSWORD_AUTH

    def said(self, name: str, value: Any = None) -> str:
        """A setting as the user would write it: a flag, or a column of the row."""
        shown = getattr(self, name) if value is None else value
        if name in self.from_row:
            if isinstance(shown, bool):
                shown = "true" if shown else "false"
            return f"{name}={shown}"
        if name == "ssl":
            return "--ssl" if shown else "--no-ssl"
        if name == "cert_validation":
            return "--cert-validation" if shown else "--no-cert-validation"
        flag = FLAGS[name]
        if isinstance(shown, bool) or name.endswith("pem") or name in _NOT_ECHOED:
            return flag
        return f"{flag} {shown}"

    def with_row(self, values: Mapping[str, Any], where: str) -> ConnectionSettings:
        """These settings with an inventory row's own values on top (``None``: not given)."""
        given = {k: v for k, v in values.items() if v is not None and v != ""}
        unknown = sorted(set(given) - set(PER_PC))
        if unknown:
            raise ValueError(f"not per-PC settings: {', '.join(unknown)}")
        return dataclasses.replace(
            self, **given, from_row=self.from_row | frozenset(given), where=where
        )

    def for_target(self, target: Target) -> ConnectionSettings:
        """The command line's settings with this PC's inventory values on top."""
        from qbd_fix.fleet.scripts import where

        row = {name: getattr(target, name, None) for name in PER_PC}
        # an inventory row's errors say which row; a PC named by --host needs no such prefix
        place = where(target) if target.source and target.source != "--host" else ""
        return dataclasses.replace(self.with_row(row, place), host=target.host)

    # -- checks ---------------------------------------------------------------------------

    def check(self) -> str:
        """Refuse settings that do not fit together (no password needed yet); returns the
        bare host. Errors name the setting as given, and the row it came from."""
        try:
            return self._check()
        except UsageError as exc:
            if self.where:
                raise UsageError(f"{self.where}: {exc.message}", hint=exc.hint) from None
            raise

    def _check(self) -> str:
        if self.host is None:
            self._nothing_remote()
            return ""
        try:
            host = validation.host_address(self.host)
        except ValueError as exc:
            raise UsageError(f"--host: {exc}") from None
        said = self.said
        if self.auth not in AUTH_KINDS:
            raise UsageError(f"{said('auth')}: one of {', '.join(AUTH_KINDS)}")
        if self.port is not None and not 1 <= self.port <= 65535:
            raise UsageError(f"{said('port')} is not between 1 and 65535")
        if not 0 < self.connect_timeout <= 600:
            raise UsageError(
                f"{said('connect_timeout')} must be more than 0 and at most 600 seconds"
            )
        if not 1 <= self.operation_timeout <= 3600:
            raise UsageError(f"{said('operation_timeout')} must be between 1 and 3600 seconds")
        if self.read_timeout is not None and not (
            self.operation_timeout < self.read_timeout <= 3600
        ):
            raise UsageError(
                f"{said('read_timeout')} must be longer than the operation timeout "
                f"({self.operation_timeout} s) and at most 3600 seconds"
            )
        if not _ENV_NAME.match(self.password_env):
            where = "password_env" if "password_env" in self.from_row else "--password-env"
            raise UsageError(
                f"{where} is not an environment variable name (not shown: it may be a password)",
                hint="give the name of the variable that holds the password, e.g. QBD_FIX_PASSWORD",
            )
        self._check_auth(host)
        if self.ca_file is not None and not self.ssl:
            raise UsageError(f"{said('ca_file')} goes with {said('ssl', True)}")
        for name in ("ca_file", "certificate_pem", "certificate_key_pem"):
            self.existing_file(name)
        self._check_auth_library()
        return host

    def _nothing_remote(self) -> None:
        """Without a PC, remote-only flags are a mistake (this PC runs the script itself)."""
        defaults = ConnectionSettings()
        given = [
            FLAGS[name] if name != "ssl" else "--no-ssl"
            for name in ("port", "username", "ssl", "auth", "ca_file", "certificate_pem")
            if getattr(self, name) != getattr(defaults, name)
        ]
        if given:
            raise UsageError(f"{', '.join(given)} go(es) with --host")

    def _check_auth(self, host: str) -> None:
        said, auth = self.said, self.auth
        if auth == "basic" and not self.ssl:
            raise UsageError(
                f"{said('auth')} over {said('ssl')} is refused: Basic sends the password in "
                "clear text and WinRM cannot encrypt Basic messages",
                hint=f"use {said('ssl', True)} (an HTTPS listener), or "
                f"{said('auth', 'negotiate')} or ntlm, which encrypt over HTTP",
            )
        if auth == "certificate":
            if not self.ssl:
                raise UsageError(
                    f"{said('auth')} needs {said('ssl', True)} (client certificates are a TLS feature)"
                )
            if not (self.certificate_pem and self.certificate_key_pem):
                raise UsageError(
                    f"{said('auth')} needs --certificate-pem and --certificate-key-pem"
                )
        elif self.certificate_pem or self.certificate_key_pem:
            raise UsageError(
                f"--certificate-pem and --certificate-key-pem go with "
                f"{said('auth', 'certificate')}, not {said('auth')}"
            )
        if auth in PASSWORD_AUTH and not self.username:
            needs = (
                "a user name: a username column or --username" if self.from_row else "--username"
            )
            raise UsageError(f"{said('auth')} needs {needs}")
        if auth == "kerberos":
            try:
                ipaddress.ip_address(host)
            except ValueError:
                return
            raise UsageError(
                f"{said('auth')} needs the PC's name, not an IP address (Kerberos tickets name hosts)"
            )

    def _check_auth_library(self) -> None:
        """Kerberos and CredSSP need optional libraries; say which extra installs them."""
        if self.auth == "credssp":
            missing = importlib.util.find_spec("requests_credssp") is None
        elif self.auth == "kerberos" and sys.platform != "win32":  # Windows has SSPI built in
            missing = importlib.util.find_spec("gssapi") is None
        else:
            return
        if missing:
            raise UsageError(
                f"{self.said('auth')} needs a library that is not installed",
                hint=f"pip install 'qbd-fix[{self.auth}]'",
            )

    def existing_file(self, name: str) -> str | None:
        """The file a setting names, which must exist (a CA bundle, a certificate)."""
        value = getattr(self, name)
        if value is None:
            return None
        path = Path(value).expanduser()
        if not path.is_file():
            raise UsageError(f"{self.said(name, repr(value))}: no such file")
        return str(path)

    def remote(self, password: str | None) -> RemoteConnection:
        """Checked settings plus the password, ready for a ``RemoteRunner``."""
        from qbd_fix.runners.remote import RemoteConnection

        host = self.check()
        if self.auth == "basic" and password is not None:
            try:
                password.encode("latin-1")
            except UnicodeEncodeError:
                raise UsageError(
                    f"{self.said('auth')} cannot carry this password: HTTP Basic takes only "
                    "Latin-1 characters",
                    hint="use negotiate or ntlm, which take any password",
                ) from None
        return RemoteConnection(
            host=host,
            username=self.username,
            password=password,
            auth=self.auth,
            ssl=self.ssl,
            port=self.port,
            cert_validation=self.cert_validation,
            ca_file=self.existing_file("ca_file"),
            certificate_pem=self.existing_file("certificate_pem"),
            certificate_key_pem=self.existing_file("certificate_key_pem"),
            connect_timeout=self.connect_timeout,
            operation_timeout=self.operation_timeout,
            read_timeout=self.read_timeout,
        )


#: Asks for the password held by a variable (name, number of PCs); returns "" for none.
Ask = Callable[[str, int], str]


def read_passwords(
    settings: Mapping[ConnectionSettings, int], ask: Ask | None = None
) -> dict[str, str | None]:
    """Each distinct password variable read once; missing ones asked for once through *ask*
    (a terminal prompt), else one error naming them all (nothing has run yet). *settings*
    counts the PCs of each distinct connection setting."""
    users: dict[str, int] = {}
    needed: dict[str, int] = {}
    for item, count in settings.items():
        if item.auth != "certificate":
            users[item.password_env] = users.get(item.password_env, 0) + count
        if item.needs_password:
            needed[item.password_env] = needed.get(item.password_env, 0) + count
    passwords: dict[str, str | None] = {}
    missing: dict[str, int] = {}
    for name in users:
        value = os.environ.get(name)
        if value:
            passwords[name] = value
        elif name in needed:
            missing[name] = needed[name]
        else:
            passwords[name] = None  # Kerberos only: the ticket cache stands in
    if not missing:
        return passwords
    if ask is None:
        counted = sum(missing.values()) > 1  # "(3 PCs)" says nothing on a run on one PC
        listed = ", ".join(
            shown_variable(name) + (f" ({count} PC{'s' if count > 1 else ''})" if counted else "")
            for name, count in missing.items()
        )
        plural = "s" if len(missing) > 1 else ""
        raise UsageError(
            f"no password: set the environment variable{plural} {listed}",
            hint="or run in a terminal to be asked once per variable; "
            "passwords are never taken from the command line or an inventory",
        )
    for name, count in missing.items():
        entered = ask(name, count)
        if not entered:
            raise UsageError(f"no password entered for {shown_variable(name)}")
        passwords[name] = entered
    return passwords


def _shape(target: Target) -> tuple[object, ...]:
    """What a row sets about its connection, apart from its host: rows alike share one
    check and one connection template (an inventory of 100,000 PCs has a handful). A
    password an inventory carried (``--allow-inventory-passwords``) is part of it."""
    return (*(getattr(target, name, None) for name in PER_PC), target.password)


class Connections:
    """Every PC's checked connection settings, passwords read; a PC's
    :class:`~qbd_fix.runners.remote.RemoteConnection` is made when its turn comes."""

    def __init__(
        self, settings: ConnectionSettings, targets: Sequence[Target], ask: Ask | None = None
    ) -> None:
        self.settings = settings
        shapes: dict[tuple[object, ...], ConnectionSettings] = {}
        counts: dict[ConnectionSettings, int] = {}
        seen: dict[tuple[str, int], Target] = {}
        for target in targets:
            shape = _shape(target)
            item = shapes.get(shape)
            if item is None:  # the first row of its kind: checked in full
                item = shapes[shape] = settings.for_target(target)
                item.check()
            elif item.auth == "kerberos":  # a name, not an address, on every row
                settings.for_target(target).check()
            if target.password is None:  # an inventory's own password needs no variable
                counts[item] = counts.get(item, 0) + 1
            # a blank port and the scheme's default port are one PC, as duplicates are refused
            port = item.effective_port
            first = seen.setdefault((target.host.casefold(), port), target)
            if first is not target:
                if target.source == "--host":
                    raise UsageError(f"--host {target.host!r} is given twice")
                raise UsageError(
                    f"{target.source}: duplicate host {target.label!r} (first at "
                    f"{first.source} as {first.label!r}; a blank port means {port} here)"
                )
        self._shapes = shapes
        self.passwords = read_passwords(counts, ask)
        #: Passwords an inventory carried, only ever in memory.
        self._inventory_passwords = [p for p in {shape[-1] for shape in shapes} if p]
        self._templates = {
            shape: item.remote(
                str(shape[-1]) if shape[-1] else self.passwords.get(item.password_env)
            )
            for shape, item in shapes.items()
        }

    def __call__(self, target: Target) -> RemoteConnection:
        """This PC's connection: its row's template with its own host."""
        return dataclasses.replace(self._templates[_shape(target)], host=target.host)

    def port(self, target: Target) -> int:
        """The port this PC is reached on (the scheme's default when none is given)."""
        return self._shapes[_shape(target)].effective_port

    @property
    def secrets(self) -> list[str]:
        """Every password this run holds, for scrubbing anything that reaches a report."""
        found = [value for value in self.passwords.values() if value]
        return found + [str(p) for p in self._inventory_passwords]
