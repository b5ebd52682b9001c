"""Which PCs a fleet run reaches: inventory files (CSV, TOML or Ansible), ``--host`` lists
and ``--limit``.

An inventory says how to reach each PC, never with what password: a secret in
a file that gets mailed around and committed is a leak waiting to happen, so
rows only name the environment variable that holds it. Every problem is
reported as ``file:line: what is wrong`` so a 500-row sheet can be fixed fast.
"""

from __future__ import annotations

import csv
import dataclasses
import fnmatch
import io
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qbd_fix import validation
from qbd_fix.connection import AUTH_KINDS, PER_PC
from qbd_fix.errors import UsageError
from qbd_fix.validation import MAX_CLIENT_NAME

FIELDS = (
    "host",
    "port",
    "client_name",
    "username",
    "password_env",
    "auth",
    "ssl",
    "group",
    "tags",
    "notes",
)
#: Settings :meth:`Target.merge` fills from the command line: the columns, and what Ansible
#: inventories add (never the host, where it came from, a skip reason or a password).
MERGEABLE = tuple(dict.fromkeys((*FIELDS, "groups", *PER_PC)))
#: Columns or keys that would hold a secret itself rather than where to find it.
SECRET_FIELDS = frozenset({"password", "pass", "passwd", "pwd", "secret", "token"})
SECRET_REFUSAL = (
    "passwords are not read from inventories: "  # noqa: S105 - a refusal message, not a password
    "set password_env to the name of an environment variable"
)
_TRUE = frozenset({"true", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "no", "n", "0", "off"})
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TAG_SPLIT = re.compile(r"[,;]")
_TOML_HOSTS_HEADER = re.compile(r"^\s*\[\[\s*hosts\s*\]\]")
#: Unicode categories Cc (C0, DEL, C1) and Cs (lone surrogates), as one pattern: a scan per
#: character through ``unicodedata`` cost seconds on a 100,000-row inventory.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


@dataclass(frozen=True)
class Target:
    """One PC of a fleet run and how to reach it; ``None`` leaves a setting to the command line."""

    host: str
    port: int | None = None
    client_name: str | None = None
    username: str | None = None
    password_env: str | None = None
    auth: str | None = None
    ssl: bool | None = None
    group: str | None = None
    tags: tuple[str, ...] = ()
    notes: str = ""
    source: str = ""
    #: Every group the PC belongs to, parents included (Ansible inventories): ``--limit`` matches them.
    groups: tuple[str, ...] = ()
    #: The inventory's own name for the PC when it is reached at another address (``ansible_host``).
    inventory_name: str | None = None
    cert_validation: bool | None = None
    ca_file: str | None = None
    certificate_pem: str | None = None
    certificate_key_pem: str | None = None
    connect_timeout: float | None = None
    operation_timeout: int | None = None
    read_timeout: float | None = None
    #: Why this PC is left out of the run (an Ansible host reached over ssh, say); shown, not run.
    skip: str | None = None
    #: A password the inventory carried, kept only with ``--allow-inventory-passwords``: in
    #: memory, never shown, never compared.
    password: str | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> tuple[str, int | None]:
        """Identity for duplicate checks and reports: the host ignoring case, and the port."""
        return (self.host.casefold(), self.port)

    @property
    def label(self) -> str:
        """host, or host:port when a port is set (IPv6 in brackets)."""
        if self.port is None:
            return self.host
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def merge(self, defaults: Mapping[str, Any]) -> Target:
        """Fill the settings this target leaves open from *defaults* (the command line's).

        The inventory's own values win: it knows its PCs better than one
        command line for all of them. ``host`` and ``source`` are never taken.
        """
        unknown = sorted(set(defaults) - set(MERGEABLE) - {"host"})
        if unknown:
            raise ValueError(f"unknown target settings: {', '.join(unknown)}")
        changes: dict[str, Any] = {}
        for name, value in defaults.items():
            if name == "host" or value is None:
                continue
            current = getattr(self, name)
            if current is None or current == "" or current == ():
                changes[name] = tuple(value) if name in ("tags", "groups") else value
        return dataclasses.replace(self, **changes) if changes else self


# -- values -----------------------------------------------------------------------------------


def _has_control(value: str) -> bool:
    return _CONTROL.search(value) is not None


def _host(value: object) -> str:
    """A PC name or address; a control character (a line break in a cell) is refused, never
    trimmed away: the row may have been pasted wrong."""
    if not isinstance(value, str):
        raise ValueError(f"must be text, not {type(value).__name__}")
    return validation.host_address(value)


def _port(value: object) -> int | None:
    bad = ValueError("bad port (not shown): expected a number between 1 and 65535")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number: object = value
    if isinstance(value, str):
        text = value.strip()
        if not text.isascii() or not text.isdigit():
            raise bad
        number = int(text)
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 65535:
        raise bad
    return number


def _ssl(value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if not text:
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError(f"bad ssl value {value!r}: use true or false")


def _auth(value: object) -> str | None:
    text = _text(value, "auth")
    if text is None:
        return None
    kind = text.lower()
    if kind not in AUTH_KINDS:
        raise ValueError(f"unknown auth {text!r}: use one of {', '.join(AUTH_KINDS)}")
    return kind


def _text(value: object, name: str) -> str | None:
    """A one-line text setting; empty means not set."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text, not {type(value).__name__}")
    text = value.strip()
    if _has_control(text):
        raise ValueError(f"{name} must not contain control characters")
    return text or None


def _client_name(value: object) -> str | None:
    text = _text(value, "client_name")
    if text is not None and len(text) > MAX_CLIENT_NAME:
        raise ValueError(f"client_name is {len(text)} characters; the limit is {MAX_CLIENT_NAME}")
    return text


def _password_env(value: object) -> str | None:
    text = _text(value, "password_env")
    if text is not None and not _ENV_NAME.match(text):
        raise ValueError("password_env is not an environment variable name (not shown)")
    return text


def _tags(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    items: Iterable[object]
    if isinstance(value, str):
        items = _TAG_SPLIT.split(value)
    elif isinstance(value, list):
        items = value
    else:
        raise ValueError("tags must be text or a list of text")
    tags: list[str] = []
    for item in items:
        tag = _text(item, "a tag")
        if tag and tag not in tags:
            tags.append(tag)
    return tuple(tags)


def _notes(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"notes must be text, not {type(value).__name__}")
    return value.strip()


_PARSERS: dict[str, Any] = {
    "host": _host,
    "port": _port,
    "client_name": _client_name,
    "username": lambda v: _text(v, "username"),
    "password_env": _password_env,
    "auth": _auth,
    "ssl": _ssl,
    "group": lambda v: _text(v, "group"),
    "tags": _tags,
    "notes": _notes,
}


#: Columns whose values repeat down a sheet (a few groups, ports, auth kinds): parsed once.
_REPEATING = frozenset({"port", "auth", "ssl", "group", "tags", "username", "password_env"})


def _settings(
    raw: Mapping[str, object], where: str, memo: dict[tuple[str, str], Any] | None = None
) -> dict[str, Any]:
    """Check every setting of one row or table; the first problem is reported with *where*.

    A blank cell is left out (the field's default means "not set"); with *memo*,
    a value seen before in a repeating column is not parsed again.
    """
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if isinstance(value, str):
            if not value or value.isspace():
                continue
            if memo is not None and name in _REPEATING:
                known = memo.get((name, value), memo)
                if known is not memo:
                    values[name] = known
                    continue
        try:
            values[name] = parsed = _PARSERS[name](value)
            if memo is not None and name in _REPEATING and isinstance(value, str):
                memo[(name, value)] = parsed
        except ValueError as exc:
            # the column is named unless the message starts with it already
            said = str(exc)
            named = said if said.split(" ", 1)[0] in (name, "bad", "unknown") else f"{name}: {said}"
            raise UsageError(f"{where}: {named}") from None
    return values


def _field_name(raw: str) -> str:
    """Header spelling is forgiving: 'Client Name', 'client-name' and 'CLIENT_NAME' are one field."""
    return re.sub(r"[\s-]+", "_", raw.strip().lstrip("\ufeff").lower())


def _check_fields(names: Iterable[str], where: str) -> None:
    for name in names:
        if name in SECRET_FIELDS:
            raise UsageError(f"{where}: column or key {name!r} refused: {SECRET_REFUSAL}")
        if name not in FIELDS:
            raise UsageError(
                f"{where}: unknown column or key {name!r} (known: {', '.join(FIELDS)})"
            )


def _check_duplicates(targets: Sequence[Target]) -> None:
    seen: dict[tuple[str, int | None], Target] = {}
    for target in targets:
        first = seen.setdefault(target.key, target)
        if first is not target:
            raise UsageError(
                f"{target.source}: duplicate host {target.label!r} (first at {first.source})"
            )


# -- files ------------------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"inventory {str(path)!r}: no such file") from None
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"inventory {str(path)!r} is not UTF-8 text (byte {exc.start})",
            hint="save it as 'CSV UTF-8' (Excel) or UTF-8 text",
        ) from None
    except OSError as exc:
        raise UsageError(f"inventory {str(path)!r} cannot be read: {exc.strerror}") from None


def load_csv(path: Path, text: str | None = None) -> list[Target]:
    """Read a CSV inventory: a header row naming the fields, one PC per row.

    Lines starting with ``#`` and blank lines are skipped; a header with
    semicolons and no commas (Excel in many locales) switches the delimiter.
    """
    text = _read_text(path) if text is None else text.lstrip("\ufeff")
    name = path.name
    first = next(  # lazily: the whole file split into lines is a list as long as the file
        (line for line in io.StringIO(text) if line.strip() and not line.lstrip().startswith("#")),
        "",
    )
    delimiter = ";" if ";" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    header_line = 0
    targets: list[Target] = []
    memo: dict[tuple[str, str], Any] = {}
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise UsageError(f"{name}:{line}: unreadable CSV: {exc}") from None
        if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        where = f"{name}:{line}"
        if header is None:
            header = [_field_name(cell) for cell in row]
            header_line = line
            _check_fields((h for h in header if h), where)
            if "host" not in header:
                raise UsageError(f"{where}: the header row has no 'host' column")
            if len(set(header)) != len(header):
                raise UsageError(f"{where}: a column appears twice in the header row")
            continue
        if len(row) > len(header) and any(cell.strip() for cell in row[len(header) :]):
            raise UsageError(
                f"{where}: {len(row)} fields but the header (line {header_line}) has {len(header)}",
                hint="quote values that contain the delimiter",
            )
        raw = {h: cell for h, cell in zip(header, row, strict=False) if h}
        if not raw.get("host", "").strip():
            raise UsageError(f"{where}: empty host")
        values = _settings(raw, where, memo)
        targets.append(Target(source=where, **values))
    if header is None:
        raise UsageError(f"{name}: no header row (expected e.g. host,client_name,group)")
    return targets


def _toml_module() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
    return tomllib


def load_toml(path: Path, text: str | None = None) -> list[Target]:
    """Read a TOML inventory: ``[[hosts]]`` tables and an optional ``[defaults]`` table.

    ``[defaults]`` fills what a host leaves open. TOML parsers give no line
    numbers, so each host is located by the line of its ``[[hosts]]`` header.
    """
    text = _read_text(path) if text is None else text.lstrip("\ufeff")
    name = path.name
    tomllib = _toml_module()
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{name}: not valid TOML: {exc}") from None
    extra = sorted(set(doc) - {"hosts", "defaults"})
    if extra:
        raise UsageError(
            f"{name}: unknown top-level key {extra[0]!r} (expected [[hosts]], [defaults])"
        )
    header_lines = [
        number
        for number, line in enumerate(text.splitlines(), start=1)
        if _TOML_HOSTS_HEADER.match(line)
    ]
    defaults_raw = doc.get("defaults", {})
    if not isinstance(defaults_raw, dict):
        raise UsageError(f"{name}: 'defaults' must be a table")
    _check_fields((_field_name(k) for k in defaults_raw), f"{name}: [defaults]")
    if any(_field_name(k) == "host" for k in defaults_raw):
        raise UsageError(f"{name}: [defaults] cannot set host")
    defaults = _settings(
        {_field_name(k): v for k, v in defaults_raw.items()}, f"{name}: [defaults]"
    )
    hosts = doc.get("hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(h, dict) for h in hosts):
        raise UsageError(f"{name}: hosts must be [[hosts]] tables")
    targets: list[Target] = []
    for index, table in enumerate(hosts):
        where = (
            f"{name}:{header_lines[index]}"
            if len(header_lines) == len(hosts)
            else f"{name}: hosts[{index}]"
        )
        raw = {_field_name(k): v for k, v in table.items()}
        _check_fields(raw, where)
        host = raw.get("host")
        if not isinstance(host, str) or not host.strip():
            raise UsageError(
                f"{where}: empty host" if host in (None, "") else f"{where}: host must be text"
            )
        values = _settings(raw, where)
        target = Target(source=where, **values)
        targets.append(target.merge(defaults))
    return targets


ANSIBLE_SUFFIXES = (".ini", ".yml", ".yaml")


def _check_loaded(targets: Sequence[Target], said: str) -> list[Target]:
    if not targets:
        raise UsageError(f"inventory {said} lists no hosts")
    _check_duplicates([t for t in targets if t.skip is None])
    return list(targets)


def load(path: str | Path, *, allow_passwords: bool = False) -> list[Target]:
    """Read ``--inventory FILE``: ``.csv``, ``.toml``, an Ansible ``.ini``/``.yml``/``.yaml``
    inventory, or a file without an extension read as Ansible reads one (YAML or INI).
    An inventory without hosts is refused. *allow_passwords* keeps an Ansible inventory's
    connection passwords (in memory only) instead of refusing them."""
    file = Path(path).expanduser()
    suffix = file.suffix.lower()
    if suffix == ".csv":
        targets = load_csv(file)
    elif suffix == ".toml":
        targets = load_toml(file)
    elif suffix in ANSIBLE_SUFFIXES or (not suffix and not file.is_dir()):
        from qbd_fix.fleet import ansible

        text = _read_text(file)
        kind = "ini" if suffix == ".ini" else "yaml" if suffix else ansible.kind_of(text)
        targets = ansible.load_file(file, text, kind, allow_passwords=allow_passwords)
    else:
        raise UsageError(
            f"inventory {str(path)!r}: use a .csv, .toml, .ini, .yml or .yaml file",
            hint="an Ansible inventory folder or plugin goes to --inventory-from-ansible",
        )
    return _check_loaded(targets, repr(str(path)))


def load_from_ansible(source: str, *, allow_passwords: bool = False) -> list[Target]:
    """``--inventory-from-ansible SRC``: whatever ``ansible-inventory -i SRC --list`` resolves."""
    from qbd_fix.fleet import ansible

    targets = ansible.load_from_ansible(source, allow_passwords=allow_passwords)
    return _check_loaded(targets, f"{source!r} (through ansible-inventory)")


def runnable(targets: Sequence[Target]) -> tuple[list[Target], list[str]]:
    """The targets to run, and one line per reason others are left out (an Ansible host
    reached over ssh, say): ``skipped 3 hosts (lx01, lx02, lx03): ansible_connection ...``."""
    keep: list[Target] = []
    skipped: dict[str, list[Target]] = {}
    for target in targets:
        if target.skip is None:
            keep.append(target)
        else:
            skipped.setdefault(target.skip, []).append(target)
    lines = []
    for reason, left_out in skipped.items():
        names = ", ".join(t.inventory_name or t.host for t in left_out[:5])
        more = f" and {len(left_out) - 5} more" if len(left_out) > 5 else ""
        count = f"{len(left_out)} host{'s' if len(left_out) > 1 else ''}"
        lines.append(f"skipped {count} ({names}{more}): {reason}")
    return keep, lines


def targets_from_hosts(values: Iterable[str]) -> list[Target]:
    """Targets from repeated or comma-separated ``--host`` values (empty items are skipped)."""
    targets: list[Target] = []
    for value in values:
        for item in value.split(","):
            if not item.strip():
                continue
            try:
                host = validation.host_address(item)
            except ValueError as exc:
                raise UsageError(f"--host: {exc}") from None
            targets.append(Target(host=host, source="--host"))
    if not targets:
        raise UsageError("--host names no PC")
    seen: set[tuple[str, int | None]] = set()
    for target in targets:
        if target.key in seen:
            raise UsageError(f"--host {target.host!r} is given twice")
        seen.add(target.key)
    return targets


def _matches(target: Target, pattern: str) -> bool:
    names = [target.host, target.label, *target.tags, *target.groups]
    if target.group:
        names.append(target.group)
    if target.inventory_name:
        names.append(target.inventory_name)
    folded = pattern.casefold()
    return any(fnmatch.fnmatchcase(name.casefold(), folded) for name in names)


def _few(names: Sequence[str], most: int = 20) -> str:
    """A list for a message, cut after *most* names (an Ansible inventory may have hundreds)."""
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def select(targets: Sequence[Target], limit: Sequence[str] | None) -> list[Target]:
    """``--limit``: keep targets whose group (for an Ansible host, any of its groups, parents
    included), a tag, host or inventory name matches one of the patterns.

    Patterns are shell globs, case-insensitive, repeatable or comma-separated.
    A pattern matching nothing is an error: a typo must not silently skip PCs.
    """
    patterns = [p.strip() for item in (limit or []) for p in item.split(",") if p.strip()]
    if not patterns:
        return list(targets)
    for pattern in patterns:
        if not any(_matches(t, pattern) for t in targets):
            groups = sorted({g for t in targets for g in (t.group, *t.groups) if g})
            tags = sorted({tag for t in targets for tag in t.tags})
            known = "; ".join(
                part
                for part in (
                    f"groups: {_few(groups)}" if groups else "",
                    f"tags: {_few(tags)}" if tags else "",
                )
                if part
            )
            raise UsageError(
                f"--limit {pattern!r} matches no host, group or tag"
                + (f" ({known})" if known else "")
            )
    return [t for t in targets if any(_matches(t, p) for p in patterns)]
