"""From an Ansible host's variables to a :class:`~qbd_fix.fleet.inventory.Target`.

The variables are those of Ansible's ``psrp`` and ``winrm`` connection plugins,
read the way those plugins read them (of several variables for one setting, the
last in the plugin's list wins: ``ansible_psrp_user`` over ``ansible_user``). A
value that qbd-fix cannot honour (another WSMan path, a proxy, message encryption
off) is refused with the reason, never dropped: the run would not be the one the
inventory describes. A host reached another way (ssh, local) is kept with a skip
reason, so the run can say why it is left out.

Passwords: a variable whose name says it holds a secret is refused unless the
caller allows inventory passwords; even then its value goes only into the
target's ``password`` field and into no message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from qbd_fix import validation
from qbd_fix.errors import UsageError
from qbd_fix.fleet.ansible.model import Unsafe, Value, Vault
from qbd_fix.fleet.ansible.secrets import is_secret
from qbd_fix.fleet.inventory import Target

CONNECTIONS = ("psrp", "winrm")
_CONNECTION_PREFIXES = ("ansible.builtin.", "ansible.legacy.")
TEMPLATE_MARKERS = ("{{", "{%", "{#")
_SHOWN_LENGTH = 60
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")

#: Called for a templated value when the inventory came through Ansible: (host name, its
#: groups, its variables, the variable's name) -> the value; raises ``ValueError`` saying why not.
Renderer = Callable[[str, Sequence[str], Mapping[str, Value], str], object]


@dataclass(frozen=True)
class Plugin:
    """Which variables a connection plugin reads for each setting, in its order."""

    name: str
    address: tuple[str, ...]
    user: tuple[str, ...]
    password: tuple[str, ...]
    port: tuple[str, ...]
    scheme: str
    path: str
    auth: str
    cert_validation: str
    ca_file: tuple[str, ...]
    message_encryption: str
    proxy: str
    certificate_pem: str
    certificate_key_pem: str
    #: Settings whose default is all qbd-fix does, as (variable, default, how it reads):
    #: any other value is refused.
    defaults_only: tuple[tuple[str, object, str], ...]


_PASSWORDS = ("ansible_password", "ansible_winrm_pass", "ansible_winrm_password")

PSRP = Plugin(
    name="psrp",
    address=("ansible_host", "ansible_psrp_host"),
    user=("ansible_user", "ansible_psrp_user"),
    password=_PASSWORDS,
    port=("ansible_port", "ansible_psrp_port"),
    scheme="ansible_psrp_protocol",
    path="ansible_psrp_path",
    auth="ansible_psrp_auth",
    cert_validation="ansible_psrp_cert_validation",
    ca_file=("ansible_psrp_cert_trust_path", "ansible_psrp_ca_cert"),
    message_encryption="ansible_psrp_message_encryption",
    proxy="ansible_psrp_proxy",
    certificate_pem="ansible_psrp_certificate_pem",
    certificate_key_pem="ansible_psrp_certificate_key_pem",
    defaults_only=(
        ("ansible_psrp_configuration_name", "microsoft.powershell", "Microsoft.PowerShell"),
        ("ansible_psrp_credssp_auth_mechanism", "auto", "auto"),
        ("ansible_psrp_credssp_disable_tlsv1_2", False, "false"),
        ("ansible_psrp_credssp_minimum_version", 2, "2"),
        ("ansible_psrp_negotiate_delegate", False, "false"),
        ("ansible_psrp_negotiate_hostname_override", "", "unset"),
        ("ansible_psrp_negotiate_send_cbt", True, "true"),
        ("ansible_psrp_negotiate_service", "wsman", "WSMAN"),
    ),
)
WINRM = Plugin(
    name="winrm",
    address=("ansible_host", "ansible_winrm_host"),
    user=("ansible_user", "ansible_winrm_user"),
    password=_PASSWORDS,
    port=("ansible_port", "ansible_winrm_port"),
    scheme="ansible_winrm_scheme",
    path="ansible_winrm_path",
    auth="ansible_winrm_transport",
    cert_validation="ansible_winrm_server_cert_validation",
    ca_file=("ansible_winrm_ca_trust_path",),
    message_encryption="ansible_winrm_message_encryption",
    proxy="ansible_winrm_proxy",
    certificate_pem="ansible_winrm_cert_pem",
    certificate_key_pem="ansible_winrm_cert_key_pem",
    defaults_only=(
        ("ansible_winrm_kerberos_delegation", False, "false"),
        ("ansible_winrm_kerberos_hostname_override", "", "unset"),
        ("ansible_winrm_send_cbt", True, "true"),
        ("ansible_winrm_credssp_disable_tlsv1_2", False, "false"),
    ),
)
PLUGINS = {"psrp": PSRP, "winrm": WINRM}

#: Authentication names of both plugins (winrm's transports included) -> qbd-fix's.
AUTH_NAMES = {
    "negotiate": "negotiate",
    "ntlm": "ntlm",
    "kerberos": "kerberos",
    "credssp": "credssp",
    "basic": "basic",
    "plaintext": "basic",
    "certificate": "certificate",
}
_TRUE = frozenset({"true", "yes", "on", "1", "y", "t"})
_FALSE = frozenset({"false", "no", "off", "0", "n", "f"})


def is_template(value: object) -> bool:
    """Text Ansible would evaluate as Jinja (``!unsafe`` text never is)."""
    return (
        isinstance(value, str)
        and "{" in value
        and not isinstance(value, Unsafe)
        and any(marker in value for marker in TEMPLATE_MARKERS)
    )


def shown(value: object) -> str:
    """A value quoted for a message, cut short: inventory text is not ours to print at length."""
    if isinstance(value, str):
        cut = value if len(value) <= _SHOWN_LENGTH else value[: _SHOWN_LENGTH - 3] + "..."
        return repr(cut)
    if isinstance(value, (bool, int, float)) or value is None:
        return repr(value)
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        text = repr(value)
        return text if len(text) <= _SHOWN_LENGTH else text[: _SHOWN_LENGTH - 4] + "...]"
    return f"({type(value).__name__})"


class _Host:
    """One host's variables, read with its name and each value's origin in every message."""

    def __init__(
        self,
        name: str,
        groups: Sequence[str],
        variables: Mapping[str, Value],
        source: str,
        render: Renderer | None,
    ) -> None:
        self.name = name
        self.groups = groups
        self.vars = variables
        self.source = source
        self.render = render
        #: variables whose value came from a template: it may hold another variable's secret
        self.rendered: set[str] = set()

    def show(self, var: str | None, value: object) -> str:
        """A value for a message, unless it is a secret's or a template's."""
        if var is not None and (is_secret(var) or var in self.rendered):
            return "(not shown)"
        return shown(value)

    def error(self, var: str | None, problem: str) -> UsageError:
        entry = self.vars.get(var) if var is not None else None
        where = entry.where if entry is not None else self.source
        subject = f"{var} {problem}" if var is not None else problem
        return UsageError(f"{where}: {self.name}: {subject}")

    def last(self, names: Sequence[str]) -> str | None:
        """Of several variables for one setting, the one that counts: the last one set."""
        found = None
        for name in names:
            if name in self.vars and self.vars[name].value is not None:
                found = name
        return found

    def get(self, var: str | None) -> object:
        """A variable's value, a template evaluated (through Ansible) or refused (read directly)."""
        if var is None or var not in self.vars:
            return None
        value = self.vars[var].value
        secret = is_secret(var)
        if isinstance(value, Vault):
            raise self.error(
                var,
                "is vault-encrypted inline (!vault), which only Ansible opens, and "
                "ansible-inventory does not: "
                + (
                    "keep the password in an environment variable and name it with --password-env"
                    if secret
                    else "give it as plain text"
                ),
            )
        if is_template(value):
            quoted = "" if secret else f"{shown(value)} "
            if self.render is None:
                raise self.error(
                    var,
                    f"{quoted}is a template, which only Ansible evaluates: "
                    "read the inventory through Ansible with --inventory-from-ansible",
                )
            self.rendered.add(var)
            try:
                value = self.render(self.name, self.groups, self.vars, var)
            except ValueError as exc:
                why = "" if secret else f" ({exc})"
                raise self.error(
                    var,
                    f"{quoted}is a template qbd-fix does not evaluate{why}: "
                    "give it a plain value in the inventory",
                ) from None
        return value

    def text(self, var: str | None) -> str | None:
        value = self.get(var)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise self.error(var, f"must be text, not {_kind(value)}")
        text = str(value).strip()
        if _CONTROL.search(text):
            raise self.error(var, "contains a control character (a line break?)")
        return text or None

    def choice(self, var: str | None, choices: Sequence[str]) -> str | None:
        text = self.text(var)
        if text is None:
            return None
        if text.lower() not in choices:
            raise self.error(var, f"{self.show(var, text)} is not one of {', '.join(choices)}")
        return text.lower()

    def port(self, var: str | None) -> int | None:
        value = self.get(var)
        if value is None:
            return None
        number = value
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            number = int(value.strip())
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 65535:
            raise self.error(var, f"{self.show(var, value)} is not a port number")
        return number

    def seconds(self, var: str, low: float, high: float) -> float | None:
        value = self.get(var)
        if value is None:
            return None
        number: object = value
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                number = None
        if (
            isinstance(number, bool)
            or not isinstance(number, (int, float))
            or not low <= number <= high
        ):
            raise self.error(
                var, f"{self.show(var, value)} is not a number of seconds from {low:g} to {high:g}"
            )
        return float(number)

    def flag(self, var: str) -> bool | None:
        value = self.get(var)
        if value is None or isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise self.error(var, f"{self.show(var, value)} is not true or false")

    def file(self, var: str | None) -> str | None:
        text = self.text(var)
        if text is None:
            return None
        path = Path(text).expanduser()
        if path.is_dir():
            raise self.error(var, f"{self.show(var, text)} is a folder: give one PEM file")
        if not path.is_file():
            raise self.error(var, f"{self.show(var, text)}: no such file")
        return str(path)


def _kind(value: object) -> str:
    return {dict: "a mapping", list: "a list", bool: "true/false"}.get(
        type(value), type(value).__name__
    )


def connection(host: _Host) -> Plugin | str:
    """The host's plugin, or why it is skipped."""
    raw = host.text("ansible_connection")
    if raw is None:
        return "no ansible_connection: Ansible would reach it over ssh"
    name = raw.lower()
    for prefix in _CONNECTION_PREFIXES:
        name = name.removeprefix(prefix)
    plugin = PLUGINS.get(name)
    if plugin is None:
        return f"ansible_connection is {host.show('ansible_connection', raw)}, not psrp or winrm"
    return plugin


def _auth(host: _Host, plugin: Plugin) -> str | None:
    var = plugin.auth
    value = host.get(var)
    if value is None:
        return None
    if isinstance(value, str):
        items = [item.strip() for item in value.split(",")] if plugin is WINRM else [value.strip()]
    elif isinstance(value, list) and plugin is WINRM:
        items = [str(item).strip() for item in value]
    else:
        raise host.error(var, f"must be text, not {_kind(value)}")
    kinds: list[str] = []
    for item in (i for i in items if i):
        kind = AUTH_NAMES.get(item.lower())
        if kind is None:
            raise host.error(
                var,
                f"{host.show(var, item)} is not an authentication qbd-fix knows "
                f"(use one of {', '.join(sorted(set(AUTH_NAMES.values())))})",
            )
        if kind not in kinds:
            kinds.append(kind)
    if not kinds:
        return None
    if len(kinds) == 1:
        return kinds[0]
    if set(kinds) <= {"kerberos", "ntlm", "negotiate"}:
        return "negotiate"  # Kerberos when it can, else NTLM: what Negotiate does
    raise host.error(
        var,
        f"{host.show(var, value)} names several ways to log in; qbd-fix uses one per PC: name one",
    )


def _ssl(host: _Host, plugin: Plugin, port: int | None) -> bool | None:
    scheme = host.choice(plugin.scheme, ("http", "https"))
    if scheme is not None:
        return scheme == "https"
    # both plugins: HTTPS unless the port is 5985; no port either leaves it to the command line
    return None if port is None else port != 5985


def _refuse_unhonoured(host: _Host, plugin: Plugin, ssl: bool | None) -> None:
    path = host.text(plugin.path)
    if path is not None and path.strip("/").lower() != "wsman":
        raise host.error(
            plugin.path, f"{host.show(plugin.path, path)}: qbd-fix connects to /wsman only"
        )
    if host.text(plugin.proxy):
        raise host.error(
            plugin.proxy, "is set: qbd-fix connects to PCs directly, never through a proxy"
        )
    encryption = host.choice(plugin.message_encryption, ("auto", "always", "never"))
    if encryption == "always" and ssl is not False:
        raise host.error(
            plugin.message_encryption,
            "'always' cannot be honoured: over HTTPS qbd-fix relies on TLS alone (use auto)",
        )
    if encryption == "never" and ssl is False:
        raise host.error(
            plugin.message_encryption,
            "'never' cannot be honoured: over HTTP qbd-fix always encrypts messages (use auto)",
        )
    for var, default, reads in plugin.defaults_only:
        if var not in host.vars or host.vars[var].value is None:
            continue
        if isinstance(default, bool):
            same = host.flag(var) == default
        elif isinstance(default, int):
            value = host.get(var)
            same = str(value).strip() == str(default)
        else:
            same = (host.text(var) or "").lower() == default
        if not same:
            raise host.error(
                var,
                f"{host.show(var, host.get(var))} cannot be honoured: qbd-fix only does {reads}",
            )


def _timeouts(host: _Host, plugin: Plugin) -> tuple[float | None, int | None, float | None]:
    """(connect, operation, read) seconds."""
    if plugin is PSRP:
        connect = host.seconds("ansible_psrp_connection_timeout", 1, 600)
        operation_var, read_var = "ansible_psrp_operation_timeout", "ansible_psrp_read_timeout"
        operation = host.seconds(operation_var, 1, 3600)
        read = host.seconds(read_var, 1, 3610)
    else:
        connect = None
        combined = host.seconds("ansible_winrm_connection_timeout", 1, 3600)
        operation_var, read_var = (
            "ansible_winrm_operation_timeout_sec",
            "ansible_winrm_read_timeout_sec",
        )
        if combined is not None:  # the winrm plugin: operation = it, read = it + 10
            operation, read = combined, combined + 10
        else:
            operation = host.seconds(operation_var, 1, 3600)
            read = host.seconds(read_var, 1, 3610)
    if operation is not None and operation != int(operation):
        raise host.error(operation_var, f"{operation:g} is not a whole number of seconds")
    if operation is not None and read is not None and read <= operation:
        raise host.error(
            read_var, f"{read:g} must be more than the operation timeout ({operation:g})"
        )
    return connect, int(operation) if operation is not None else None, read


def _password(host: _Host, plugin: Plugin, allow: bool) -> str | None:
    secrets = sorted(
        (v for v, entry in host.vars.items() if is_secret(v) and entry.value not in (None, "")),
        key=lambda v: (v not in plugin.password, v),
    )
    if secrets and not allow:
        first = secrets[0]
        kind = "password" if any(word in first.lower() for word in ("pass", "pwd")) else "secret"
        raise host.error(
            first,
            f"is a {kind} in the inventory: passwords are not read from inventories; keep it "
            "in an environment variable and name that with --password-env "
            "(or allow it for this run with --allow-inventory-passwords)",
        )
    var = host.last(plugin.password)
    if var is None:
        return None
    value = host.get(var)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise host.error(var, f"must be text, not {_kind(value)} (not shown)")
    return str(value) or None


def to_target(
    name: str,
    variables: Mapping[str, Value],
    *,
    source: str,
    groups: Sequence[str],
    group: str | None,
    allow_passwords: bool = False,
    render: Renderer | None = None,
) -> Target:
    """The target of one Ansible host; see the module's docstring."""
    host = _Host(name, groups, variables, source, render)
    plugin = connection(host)
    if isinstance(plugin, str):
        return Target(
            host=name, group=group, groups=tuple(sorted(groups)), source=source, skip=plugin
        )
    password = _password(host, plugin, allow_passwords)
    address_var = host.last(plugin.address)
    try:
        address = validation.host_address(host.text(address_var) or name)
    except ValueError as exc:
        if address_var in host.rendered:
            raise host.error(address_var, "(not shown) is not a host name or address") from None
        raise host.error(address_var, str(exc)) from None
    port = host.port(host.last(plugin.port))
    ssl = _ssl(host, plugin, port)
    auth = _auth(host, plugin)
    _refuse_unhonoured(host, plugin, ssl)
    validation_mode = host.choice(plugin.cert_validation, ("validate", "ignore"))
    cert_validation = None if validation_mode is None else validation_mode == "validate"
    ca_file = None if cert_validation is False else host.file(host.last(plugin.ca_file))
    certificate = auth == "certificate"
    connect, operation, read = _timeouts(host, plugin)
    return Target(
        host=address,
        port=port,
        username=host.text(host.last(plugin.user)),
        auth=auth,
        ssl=ssl,
        group=group,
        groups=tuple(sorted(groups)),
        source=source,
        inventory_name=name if address.casefold() != name.casefold() else None,
        cert_validation=cert_validation,
        ca_file=ca_file,
        certificate_pem=host.file(plugin.certificate_pem) if certificate else None,
        certificate_key_pem=host.file(plugin.certificate_key_pem) if certificate else None,
        connect_timeout=connect,
        operation_timeout=operation,
        read_timeout=read,
        password=password,
    )
