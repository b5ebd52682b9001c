"""The facts the doctor script gathers, as typed Python objects.

The script and this module share one contract, ``facts.schema.json`` beside
this file: every list is a flat array, every probe that could not run is
``null`` and named in ``errors``. A document that breaks it (a list inside a
list, a missing field) is refused with the path that broke, rather than read
as "nothing found", which would turn into a wrong diagnosis. Within the
contract, readers still turn ``null`` into empty lists, ``None`` or ``False``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from qbd_fix.errors import ResultError

SCHEMA_VERSION = 3


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The facts document's JSON Schema (``qbd_fix/doctor/facts.schema.json``)."""
    text = resources.files("qbd_fix.doctor").joinpath("facts.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def validate(doc: Any) -> None:
    """Raise :class:`ResultError` naming the first place where *doc* breaks the schema."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema())
    problem = next(iter(sorted(validator.iter_errors(doc), key=lambda e: list(e.path))), None)
    if problem is not None:
        where = "/".join(str(part) for part in problem.absolute_path) or "(top)"
        message = problem.message if len(problem.message) <= 120 else problem.message[:117] + "..."
        raise ResultError(f"the facts document does not match its schema at {where}: {message}")


def as_list(value: Any) -> list[Any]:
    """``null`` -> ``[]``, a lone item -> ``[item]``, a list as it is."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in as_list(value) if isinstance(item, Mapping)]


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _opt_int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _opt_bool(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


@dataclass(frozen=True)
class LinkInfo:
    """What the script kept of a link.json: only GUID-shaped values (Company IDs)."""

    path: str
    present: bool
    readable: bool
    company_ids: list[str]

    @classmethod
    def parse(cls, doc: Any) -> LinkInfo | None:
        if not isinstance(doc, Mapping):
            return None
        return cls(
            path=_str(doc.get("path")),
            present=bool(doc.get("present")),
            readable=bool(doc.get("readable")),
            company_ids=[_str(i).lower() for i in as_list(doc.get("company_ids")) if i],
        )


@dataclass(frozen=True)
class Install:
    """One connector installation of any generation."""

    generation: str  # legacy | per-user | web-connector
    path: str
    client_name: str = ""
    user: str = ""
    executable: str = ""
    version: str | None = None
    link: LinkInfo | None = None
    log: str = ""

    @property
    def has_program(self) -> bool:
        """The connector program is still there (a one-time sync leaves only its folder)."""
        return bool(self.executable)

    @classmethod
    def parse(cls, doc: Mapping[str, Any]) -> Install:
        return cls(
            generation=_str(doc.get("generation")),
            path=_str(doc.get("path")),
            client_name=_str(doc.get("client_name")),
            user=_str(doc.get("user")),
            executable=_str(doc.get("executable")),
            version=_opt_str(doc.get("version")),
            link=LinkInfo.parse(doc.get("link_json")),
            log=_str(doc.get("log")),
        )


@dataclass(frozen=True)
class Task:
    """One of the two scheduled tasks of a legacy connector."""

    client: str
    role: str  # service | ui
    name: str
    path: str = "\\"
    state: str = "Unknown"
    last_run_time: str | None = None
    last_result: int | None = None

    @property
    def label(self) -> str:
        return f"{self.path}{self.name}"

    @classmethod
    def parse(cls, doc: Mapping[str, Any]) -> Task:
        return cls(
            client=_str(doc.get("client")),
            role=_str(doc.get("role")),
            name=_str(doc.get("name")),
            path=_str(doc.get("path")) or "\\",
            state=_str(doc.get("state")) or "Unknown",
            last_run_time=_opt_str(doc.get("last_run_time")),
            last_result=_opt_int(doc.get("last_result")),
        )


@dataclass(frozen=True)
class Process:
    name: str
    pid: int | None = None
    path: str = ""
    user: str = ""
    user_sid: str | None = None
    company_file: str | None = None
    session: int | None = None
    #: From the process's own token; None when it could not be read (never guessed).
    elevated: bool | None = None

    @classmethod
    def parse(cls, doc: Mapping[str, Any]) -> Process:
        return cls(
            name=_str(doc.get("name")),
            pid=_opt_int(doc.get("pid")),
            path=_str(doc.get("path")),
            user=_str(doc.get("user")),
            user_sid=_opt_str(doc.get("user_sid")),
            company_file=_opt_str(doc.get("company_file")),
            session=_opt_int(doc.get("session")),
            elevated=_opt_bool(doc.get("elevated")),
        )

    def is_named(self, *names: str) -> bool:
        return self.name.lower() in {n.lower() for n in names}


@dataclass(frozen=True)
class User:
    """A user at a desktop of the PC (an owner of explorer.exe)."""

    account: str
    sid: str
    is_admin: bool | None = None  # None: could not tell (membership through a domain group)

    @classmethod
    def parse(cls, doc: Mapping[str, Any]) -> User:
        return cls(
            account=_str(doc.get("account")),
            sid=_str(doc.get("sid")),
            is_admin=_opt_bool(doc.get("is_admin")),
        )


#: An installed program is QuickBooks Desktop when its name starts so (lower case) and names
#: none of its tools.
QUICKBOOKS_PREFIX = "quickbooks"
NOT_QUICKBOOKS = ("connector", "tool hub", "database server", "web connector")


@dataclass(frozen=True)
class UninstallEntry:
    name: str
    version: str = ""
    publisher: str = ""
    scope: str = ""

    @property
    def is_quickbooks(self) -> bool:
        """QuickBooks Desktop itself, not its tools, the Web Connector or the Codat connector."""
        name = self.name.lower()
        if not name.startswith(QUICKBOOKS_PREFIX):
            return False
        return not any(w in name for w in NOT_QUICKBOOKS)

    @classmethod
    def parse(cls, doc: Mapping[str, Any]) -> UninstallEntry:
        return cls(
            name=_str(doc.get("name")),
            version=_str(doc.get("version")),
            publisher=_str(doc.get("publisher")),
            scope=_str(doc.get("scope")),
        )


@dataclass(frozen=True)
class LogFacts:
    """The newest part of one log: whether it exists, and the SDK error codes in it."""

    kind: str  # qbsdklog | connector | qwclog
    path: str
    present: bool = False
    client_name: str = ""
    size: int | None = None
    last_write: str | None = None
    tail_bytes: int = 0
    codes: dict[str, int] = field(default_factory=dict)
    last_lines: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    @classmethod
    def parse(cls, doc: Mapping[str, Any]) -> LogFacts:
        codes: dict[str, int] = {}
        lines: dict[str, str] = {}
        for item in _dicts(doc.get("codes")):
            code = _normal_code(_str(item.get("code")))
            if not code:
                continue
            codes[code] = codes.get(code, 0) + (_opt_int(item.get("count")) or 0)
            if item.get("last_line"):
                lines[code] = _str(item.get("last_line"))
        return cls(
            kind=_str(doc.get("kind")),
            path=_str(doc.get("path")),
            present=bool(doc.get("present")),
            client_name=_str(doc.get("client_name")),
            size=_opt_int(doc.get("size")),
            last_write=_opt_str(doc.get("last_write")),
            tail_bytes=_opt_int(doc.get("tail_bytes")) or 0,
            codes=codes,
            last_lines=lines,
            error=_opt_str(doc.get("error")),
        )


def _normal_code(text: str) -> str:
    """``8004041d`` / ``0x8004041D`` -> ``0x8004041D``; anything else -> ''."""
    digits = text.strip().lower().removeprefix("0x")
    if len(digits) != 8 or any(c not in "0123456789abcdef" for c in digits):
        return ""
    return "0x" + digits.upper()


@dataclass(frozen=True)
class AntivirusProduct:
    name: str
    state: int | None = None
    path: str = ""

    @property
    def enabled(self) -> bool | None:
        """Security Center's productState: hex digits 3-4 of ``10`` (or ``11``) mean on (reported decoding)."""
        if self.state is None:
            return None
        return ((self.state >> 8) & 0xFF) in (0x10, 0x11)

    @classmethod
    def parse(cls, doc: Mapping[str, Any]) -> AntivirusProduct:
        return cls(_str(doc.get("name")), _opt_int(doc.get("state")), _str(doc.get("path")))


@dataclass(frozen=True)
class Webroot:
    present: bool = False
    services: list[tuple[str, str]] = field(default_factory=list)
    executable: str | None = None
    version: str | None = None
    registry: bool = False

    @classmethod
    def parse(cls, doc: Any) -> Webroot:
        doc = _map(doc)
        return cls(
            present=bool(doc.get("present")),
            services=[
                (_str(s.get("name")), _str(s.get("status"))) for s in _dicts(doc.get("services"))
            ],
            executable=_opt_str(doc.get("executable")),
            version=_opt_str(doc.get("version")),
            registry=bool(doc.get("registry")),
        )


@dataclass(frozen=True)
class Detection:
    threat_id: str
    resources: list[str]
    time: str | None = None
    action_success: bool | None = None
    process: str = ""

    @classmethod
    def parse(cls, doc: Mapping[str, Any]) -> Detection:
        return cls(
            threat_id=_str(doc.get("threat_id")),
            resources=[_str(r) for r in as_list(doc.get("resources")) if r],
            time=_opt_str(doc.get("time")),
            action_success=_opt_bool(doc.get("action_success")),
            process=_str(doc.get("process")),
        )


@dataclass(frozen=True)
class Defender:
    available: bool = False
    running_mode: str | None = None
    antivirus: bool | None = None
    realtime: bool | None = None
    tamper: bool | None = None
    detections: list[Detection] = field(default_factory=list)
    error: str | None = None

    @classmethod
    def parse(cls, doc: Any) -> Defender:
        doc = _map(doc)
        return cls(
            available=bool(doc.get("available")),
            running_mode=_opt_str(doc.get("running_mode")),
            antivirus=_opt_bool(doc.get("antivirus")),
            realtime=_opt_bool(doc.get("realtime")),
            tamper=_opt_bool(doc.get("tamper")),
            detections=[Detection.parse(d) for d in _dicts(doc.get("detections"))],
            error=_opt_str(doc.get("error")),
        )


#: AppLocker's audit-mode events: the file would have been blocked, but ran.
AUDIT_EVENT_IDS = (8003, 8006)


@dataclass(frozen=True)
class PolicyEvent:
    """An AppLocker or Software Restriction Policies event naming a connector file."""

    log: str
    event_id: int
    time: str | None = None
    message: str = ""

    @property
    def blocked(self) -> bool:
        """8003 and 8006 are audit-mode 'would have been blocked'; the rest block."""
        return self.event_id not in AUDIT_EVENT_IDS

    @classmethod
    def parse(cls, doc: Mapping[str, Any]) -> PolicyEvent:
        return cls(
            log=_str(doc.get("log")),
            event_id=_opt_int(doc.get("id")) or 0,
            time=_opt_str(doc.get("time")),
            message=_str(doc.get("message")),
        )


@dataclass(frozen=True)
class Reachability:
    host: str
    port: int = 443
    reachable: bool = False
    error: str | None = None
    elapsed_ms: int | None = None
    proxy: str | None = None

    @classmethod
    def parse(cls, doc: Mapping[str, Any]) -> Reachability:
        return cls(
            host=_str(doc.get("host")),
            port=_opt_int(doc.get("port")) or 443,
            reachable=bool(doc.get("reachable")),
            error=_opt_str(doc.get("error")),
            elapsed_ms=_opt_int(doc.get("elapsed_ms")),
            proxy=_opt_str(doc.get("proxy")),
        )


@dataclass(frozen=True)
class OsInfo:
    caption: str = ""
    version: str = ""
    build: str = ""
    product_type: int | None = None

    @property
    def is_server(self) -> bool:
        return self.product_type in (2, 3)

    @classmethod
    def parse(cls, doc: Any) -> OsInfo | None:
        if not isinstance(doc, Mapping):
            return None
        return cls(
            caption=_str(doc.get("caption")),
            version=_str(doc.get("version")),
            build=_str(doc.get("build")),
            product_type=_opt_int(doc.get("product_type")),
        )


#: Registry value names that may hold a secret (the Web Connector's password is stored
#: encrypted): their values are shown as ``***`` whatever the document says.
SECRET_NAME = re.compile(r"pass|pwd|secret|token|key|cred", re.IGNORECASE)
#: The Web Connector's value names known to hold nothing secret: any other value is shown as
#: ``***`` (redacted "name") whatever the document says.
HARMLESS_VALUE_NAME = re.compile(
    r"AppName|AppID|AppURL|AppSupport|AppDescription|OwnerID|FileID|UserName|QBType|Style"
    r"|AuthFlags|IsReadOnly|AutoRun|RunEvery\w*|\w*Interval\w*|Level|UpdateLock",
    re.IGNORECASE,
)
REDACTED = "***"


@dataclass(frozen=True)
class WriteAccess:
    """SIDs whose access rules allow or deny writing to a file or folder (the item itself)."""

    allowed: list[str] = field(default_factory=list)
    denied: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, doc: Any) -> WriteAccess | None:
        if not isinstance(doc, Mapping):
            return None
        return cls(
            allowed=[_str(s) for s in as_list(doc.get("write_allowed")) if s],
            denied=[_str(s) for s in as_list(doc.get("write_denied")) if s],
        )


@dataclass(frozen=True)
class QwcLog:
    """QWCLog.txt: presence, who may write it, and its last lines as carried in the facts."""

    path: str
    present: bool = False
    folder_present: bool = False
    size: int | None = None
    last_write: str | None = None
    read_only: bool | None = None
    file_access: WriteAccess | None = None
    folder_access: WriteAccess | None = None
    lines: list[str] = field(default_factory=list)
    lines_omitted: bool = False
    error: str | None = None

    @classmethod
    def parse(cls, doc: Any) -> QwcLog | None:
        if not isinstance(doc, Mapping):
            return None
        return cls(
            path=_str(doc.get("path")),
            present=bool(doc.get("present")),
            folder_present=bool(doc.get("folder_present")),
            size=_opt_int(doc.get("size")),
            last_write=_opt_str(doc.get("last_write")),
            read_only=_opt_bool(doc.get("read_only")),
            file_access=WriteAccess.parse(doc.get("file_access")),
            folder_access=WriteAccess.parse(doc.get("folder_access")),
            lines=[_str(line) for line in as_list(doc.get("lines")) if line is not None],
            lines_omitted=bool(doc.get("lines_omitted")),
            error=_opt_str(doc.get("error")),
        )


def _harmless_value_name(name: str) -> bool:
    return HARMLESS_VALUE_NAME.fullmatch(name) is not None and not SECRET_NAME.search(name)


@dataclass(frozen=True)
class RegistryValue:
    """One value of a Web Connector application's key, as bounded text or redacted."""

    name: str
    kind: str = ""
    value: str | None = None
    redacted: str | None = None  # name | binary | encoded

    @property
    def shown(self) -> str:
        if self.redacted or not _harmless_value_name(self.name):
            return REDACTED
        return "" if self.value is None else self.value

    @classmethod
    def parse(cls, doc: Mapping[str, Any]) -> RegistryValue:
        name = _str(doc.get("name"))
        redacted = _opt_str(doc.get("redacted"))
        if not _harmless_value_name(name):  # whatever wrote the document, never keep such a value
            redacted = redacted or "name"
        return cls(
            name=name,
            kind=_str(doc.get("kind")),
            value=REDACTED if redacted else _opt_str(doc.get("value")),
            redacted=redacted,
        )


@dataclass(frozen=True)
class WebConnectorApp:
    """An application registered with the Web Connector in one user's hive."""

    sid: str
    name: str
    values: list[RegistryValue] = field(default_factory=list)
    values_dropped: int = 0

    @classmethod
    def parse(cls, doc: Mapping[str, Any]) -> WebConnectorApp:
        return cls(
            sid=_str(doc.get("sid")),
            name=_str(doc.get("name")),
            values=[RegistryValue.parse(v) for v in _dicts(doc.get("values"))],
            values_dropped=_opt_int(doc.get("values_dropped")) or 0,
        )


#: Words (lower case) in a start-up entry's name or command that say what it starts.
WEB_CONNECTOR_MARKERS = ("qbwebconnector", "web connector", "qbwc")
CODAT_MARKERS = ("codat", "quickbooksdesktop")


@dataclass(frozen=True)
class StartupEntry:
    """A Run value, Startup-folder shortcut or scheduled task naming the Web Connector or Codat."""

    kind: str  # run-key | startup-folder | task
    scope: str = ""
    sid: str | None = None
    user: str = ""
    location: str = ""
    name: str = ""
    command: str = ""
    state: str | None = None
    approved: int | None = None

    @property
    def target(self) -> str:
        """``web-connector`` when it names the Web Connector, ``codat`` for Codat's tool."""
        text = f"{self.name} {self.command}".lower()
        if any(m in text for m in WEB_CONNECTOR_MARKERS):
            return "web-connector"
        return "codat" if any(m in text for m in CODAT_MARKERS) else "other"

    @property
    def disabled(self) -> bool:
        """A disabled task, or Task Manager's switch off (an odd first StartupApproved byte,
        a reported decoding): Windows will not run it at sign-in."""
        if self.kind == "task":
            return (self.state or "").lower() == "disabled"
        return self.approved is not None and self.approved % 2 == 1

    @property
    def label(self) -> str:
        if self.kind == "run-key":
            return f"Run value '{self.name}' in {self.location}"
        if self.kind == "startup-folder":
            return f"shortcut '{self.name}' in {self.location}"
        return f"task {self.location}{self.name}"

    @classmethod
    def parse(cls, doc: Mapping[str, Any]) -> StartupEntry:
        return cls(
            kind=_str(doc.get("kind")),
            scope=_str(doc.get("scope")),
            sid=_opt_str(doc.get("sid")),
            user=_str(doc.get("user")),
            location=_str(doc.get("location")),
            name=_str(doc.get("name")),
            command=_str(doc.get("command")),
            state=_opt_str(doc.get("state")),
            approved=_opt_int(doc.get("approved")),
        )


@dataclass(frozen=True)
class WebConnector:
    """The current generation's facts; a None list means its probe failed (unknown, not none)."""

    installed: bool = False
    path: str = ""
    executable: str | None = None
    version: str | None = None
    hives: list[str] | None = None
    apps: list[WebConnectorApp] | None = None
    startup: list[StartupEntry] | None = None
    log: QwcLog | None = None

    @property
    def has_program(self) -> bool:
        return self.executable is not None

    @classmethod
    def parse(cls, doc: Any) -> WebConnector | None:
        if not isinstance(doc, Mapping):
            return None
        hives = doc.get("hives")
        apps = doc.get("apps")
        startup = doc.get("startup")
        return cls(
            installed=bool(doc.get("installed")),
            path=_str(doc.get("path")),
            executable=_opt_str(doc.get("executable")),
            version=_opt_str(doc.get("version")),
            hives=None if hives is None else [_str(h) for h in as_list(hives) if h],
            apps=None if apps is None else [WebConnectorApp.parse(a) for a in _dicts(apps)],
            startup=None if startup is None else [StartupEntry.parse(e) for e in _dicts(startup)],
            log=QwcLog.parse(doc.get("log")),
        )


@dataclass(frozen=True)
class Facts:
    """Everything the doctor script saw on one PC."""

    computer: str = ""
    collected_at: str | None = None
    elevated: bool | None = None
    os: OsInfo | None = None
    installs: list[Install] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    processes: list[Process] = field(default_factory=list)
    uninstall: list[UninstallEntry] = field(default_factory=list)
    logs: list[LogFacts] = field(default_factory=list)
    antivirus: list[AntivirusProduct] | None = None  # None: Security Center unavailable
    webroot: Webroot = field(default_factory=Webroot)
    defender: Defender | None = None  # None: no Defender module
    policy_events: list[PolicyEvent] = field(default_factory=list)
    network: list[Reachability] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    reboot_pending: bool = False
    reboot_reasons: list[str] = field(default_factory=list)
    web_connector: WebConnector | None = None  # None: the probe failed
    log_tail_kib: int = 256
    event_days: int = 7
    qwc_log_lines: int = 200
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Facts:
        """Build facts from ``data.facts`` of the script's result."""
        if not isinstance(doc, Mapping):
            raise ResultError("the doctor script's result has no facts object")
        if doc.get("schema") != SCHEMA_VERSION:
            raise ResultError(
                f"the facts document is version {doc.get('schema')!r}; this qbd-fix reads "
                f"version {SCHEMA_VERSION} (render the doctor script again with this version)"
            )
        validate(doc)
        antivirus = doc.get("antivirus")
        defender = doc.get("defender")
        reboot = _map(doc.get("reboot"))
        return cls(
            computer=_str(doc.get("computer")),
            collected_at=_opt_str(doc.get("collected_at")),
            elevated=_opt_bool(doc.get("elevated")),
            os=OsInfo.parse(doc.get("os")),
            installs=[Install.parse(i) for i in _dicts(doc.get("generations"))],
            tasks=[Task.parse(t) for t in _dicts(doc.get("tasks"))],
            processes=[Process.parse(p) for p in _dicts(doc.get("processes"))],
            uninstall=[UninstallEntry.parse(u) for u in _dicts(doc.get("uninstall"))],
            logs=[LogFacts.parse(entry) for entry in _dicts(doc.get("logs"))],
            antivirus=None
            if antivirus is None
            else [AntivirusProduct.parse(a) for a in _dicts(antivirus)],
            webroot=Webroot.parse(doc.get("webroot")),
            defender=None if defender is None else Defender.parse(defender),
            policy_events=[PolicyEvent.parse(e) for e in _dicts(doc.get("policy"))],
            network=[Reachability.parse(n) for n in _dicts(doc.get("network"))],
            users=[User.parse(u) for u in _dicts(doc.get("users"))],
            reboot_pending=bool(reboot.get("pending")),
            reboot_reasons=[_str(r) for r in as_list(reboot.get("reasons")) if r],
            web_connector=WebConnector.parse(doc.get("web_connector")),
            log_tail_kib=_opt_int(doc.get("log_tail_kib")) or 256,
            event_days=_opt_int(doc.get("event_days")) or 7,
            qwc_log_lines=_opt_int(doc.get("qwc_log_lines")) or 0,
            errors=[_str(e) for e in as_list(doc.get("errors")) if e],
        )

    # -- views the rules share ---------------------------------------------------------------

    def installs_of(self, generation: str) -> list[Install]:
        return [i for i in self.installs if i.generation == generation]

    def processes_named(self, *names: str) -> list[Process]:
        return [p for p in self.processes if p.is_named(*names)]

    def log(self, kind: str, client_name: str | None = None) -> LogFacts | None:
        for entry in self.logs:
            if entry.kind == kind and (
                client_name is None or same_name(entry.client_name, client_name)
            ):
                return entry
        return None

    def legacy_clients(self) -> list[str]:
        """Client names from legacy folders and from connector tasks, first spelling kept."""
        names: list[str] = []
        for name in [i.client_name for i in self.installs_of("legacy")] + [
            t.client for t in self.tasks
        ]:
            if name and not any(same_name(name, n) for n in names):
                names.append(name)
        return names


def same_name(a: str, b: str) -> bool:
    """Client names compare as Windows compares task and folder names: case-insensitively."""
    return a.casefold() == b.casefold()
