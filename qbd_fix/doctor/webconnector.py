"""The current generation (Intuit Web Connector), judged topic by topic.

A Web Connector PC has no connector tasks or tray app of Codat's: the Web Connector
(``QBWebConnector.exe``, a per-user tray program) calls Codat on a schedule and talks to
QuickBooks in its user's session. For each troubleshooting topic, :func:`part` says what the
Web Connector facts add (status, evidence, fixes), and :mod:`qbd_fix.doctor.rules` merges that
into the topic's finding. What the PC cannot show (whether it is off at night, whether Auto-Run
is ticked, whether the same QuickBooks user is signed in elsewhere) is said to be unknown, with
the step a person takes to check it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from qbd_fix.doctor.facts import Facts, Process, StartupEntry, WebConnector, WriteAccess
from qbd_fix.doctor.qwclog import CodeSeen, QwcLogReading, parse_lines
from qbd_fix.doctor.report import FindingStatus
from qbd_fix.qbwc_codes import QBWC_CODES, QWCLOG_FOLDER, describe
from qbd_fix.sdk_codes import SDK_CODES

OK, WARN, FAIL = FindingStatus.OK, FindingStatus.WARN, FindingStatus.FAIL

#: ``Context.fix``: a subcommand and ``(flag, value)`` pairs -> a quoted ``qbd-fix`` line.
Fixer = Callable[..., str]

PROGRAM = "QBWebConnector.exe"
QUICKBOOKS = ("QBW32.exe", "QBW.exe")
#: Groups every signed-in user belongs to: Everyone, Authenticated Users, Users, INTERACTIVE.
EVERY_USER = frozenset({"S-1-1-0", "S-1-5-11", "S-1-5-32-545", "S-1-5-4"})
ADMINISTRATORS = "S-1-5-32-544"
#: A running Web Connector whose log is older than this looks stuck (or has Auto-Run off).
SILENT_LOG = timedelta(hours=24)
#: A code last seen this long before the log's newest entry is history: a warning, not a failure.
OLD_CODE = timedelta(days=7)
#: QuickBooks' answer when a different company file is already open.
OTHER_FILE_OPEN = "0x8004040A"
#: How many lines of code evidence per code (the last message is cut to this many characters).
LAST_MESSAGE = 200

NO_STARTUP_STEPS = (
    "As the QuickBooks user, run QuickBooksDesktopConnector.exe again (it installs or updates "
    "the connector; then check that a start-up entry is back), or press Win+R, type "
    "shell:startup and put a shortcut to "
    r"C:\Program Files (x86)\Common Files\Intuit\QuickBooks\QBWebConnector\QBWebConnector.exe "
    "in that folder."
)
SWITCHED_OFF_STEPS = (
    "Switch it back on: Task Manager > Startup apps (Startup tab on Windows 10) for a Run value "
    "or shortcut, Task Scheduler for a task."
)
ELEVATION_STEPS = (
    "Run both at the same level, normally without administrator rights: close QuickBooks and "
    "the Web Connector, clear 'Run this program as an administrator' on the Compatibility tab "
    "of both programs' shortcuts, start QuickBooks, then the Web Connector. When QuickBooks "
    "must run as administrator, Codat's connector syncs only while QuickBooks is closed."
)
SEVERAL_QUICKBOOKS_STEPS = (
    "Close every QuickBooks but the one with the connector's company file open (Task Manager > "
    "Details: QBW32.exe or QBW.exe; save work first). The connector supports one QuickBooks."
)
OTHER_FILE_STEPS = (
    "Close the company file that is open in QuickBooks and open the connector's company file, "
    "then click Update Selected in the Web Connector."
)
REGISTER_STEPS = (
    "As the QuickBooks user, run the .qwc file from Codat's link page, answer QuickBooks' "
    "certificate prompt 'Yes, always; allow access even if QuickBooks is not running', tick "
    "Auto-Run, enter the password from the link page and click Update Selected."
)
OTHER_USER_STEPS = (
    "Sign in as the user the connection is registered for and start the Web Connector there, or "
    "run the .qwc file from Codat's link page as the user who runs it."
)


@dataclass
class Part:
    """What the Web Connector adds to one topic's finding."""

    status: FindingStatus = OK
    evidence: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    #: The topic's legacy-connector evidence does not apply on this PC: show this part alone.
    replaces: bool = False

    def add(self, status: FindingStatus, *evidence: str, fix: str | None = None) -> None:
        self.status = _worst([self.status, status])
        self.evidence.extend(evidence)
        if fix and fix not in self.fixes:
            self.fixes.append(fix)

    def merge(self, other: Part) -> None:
        self.add(other.status, *other.evidence)
        for fix in other.fixes:
            if fix not in self.fixes:
                self.fixes.append(fix)


def _steps(text: str) -> str:
    """Steps for a person, as one evidence line."""
    return f"To fix: {text}"


def _worst(statuses: Iterable[FindingStatus]) -> FindingStatus:
    order = [OK, WARN, FAIL]
    return max(statuses, key=order.index, default=OK)


def _yes_no(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "unknown"}[value]


def _time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "unknown time"


def _collected(text: str | None) -> datetime | None:
    """The facts' ``collected_at`` (``2024-05-14T09:15:00.0000000Z``) to the second, in UTC."""
    if not text or len(text) < 19:
        return None
    try:
        return datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


@dataclass
class View:
    """The Web Connector facts of one PC, read once for every topic."""

    facts: Facts
    wc: WebConnector
    programs: list[Process]
    quickbooks: list[Process]
    reading: QwcLogReading | None
    accounts: dict[str, str]

    @classmethod
    def of(cls, facts: Facts) -> View | None:
        """The view, or None when this PC has no Web Connector (the legacy rules judge it)."""
        if not applies(facts):
            return None
        wc = facts.web_connector
        generation = facts.installs_of("web-connector")
        if wc is None:  # the probe failed: only the generation's folder is known
            install = generation[0]
            wc = WebConnector(
                installed=True,
                path=install.path,
                executable=install.executable or None,
                version=install.version,
            )
        accounts = {u.sid: u.account for u in facts.users if u.sid}
        for process in facts.processes:
            if process.user_sid and process.user:
                accounts.setdefault(process.user_sid, process.user)
        log = wc.log
        reading = parse_lines(log.lines) if log is not None and log.present else None
        return cls(
            facts=facts,
            wc=wc,
            programs=facts.processes_named(PROGRAM),
            quickbooks=facts.processes_named(*QUICKBOOKS),
            reading=reading,
            accounts=accounts,
        )

    def who(self, sid: str | None) -> str:
        if not sid:
            return "an unknown user"
        return self.accounts.get(sid, sid)

    def describe(self, process: Process) -> str:
        owner = process.user or self.who(process.user_sid)
        session = "?" if process.session is None else str(process.session)
        elevated = {True: "elevated", False: "not elevated", None: "elevation unknown"}[
            process.elevated
        ]
        return f"{process.name} pid {process.pid} in session {session} for {owner} ({elevated})"

    @property
    def signed_in(self) -> set[str]:
        return {u.sid for u in self.facts.users if u.sid}

    def probe_failed(self, name: str) -> str | None:
        """The error a probe of the facts script recorded, if it failed."""
        found = next((e for e in self.facts.errors if e.startswith(name + ":")), None)
        return None if found is None else found.rstrip(". ")


# -- per topic ------------------------------------------------------------------------------------


def applies(facts: Facts) -> bool:
    """Whether this PC has the Web Connector (its folder, or the generation found)."""
    wc = facts.web_connector
    return bool(wc and wc.installed) or bool(facts.installs_of("web-connector"))


def part(view: View | None, topic: str, fix: Fixer) -> Part | None:
    """What the Web Connector adds to *topic*'s finding; None when it adds nothing."""
    if view is None:
        return None
    judges: dict[str, Callable[[View, Fixer], Part | None]] = {
        "generation": _generation,
        "tray-icon": _running,
        "queued-syncs": _queued,
        "one-time-sync": _linking,
        "logs": _log,
    }
    judge = judges.get(topic)
    result = judge(view, fix) if judge else None
    codes = _code_parts(view, fix).get(topic)
    if codes is None:
        return result
    if result is None:
        result = Part()
    result.merge(codes)
    return result


def _generation(view: View, fix: Fixer) -> Part | None:
    apps = view.wc.apps
    result = Part()
    if apps is None:
        failed = view.probe_failed("web_connector.apps")
        result.add(OK, f"Web Connector applications could not be read: {failed or 'unknown'}.")
        return result
    for app in apps:
        values = ", ".join(f"{v.name or '(default)'}={v.shown}" for v in app.values)
        more = f" and {app.values_dropped} more values" if app.values_dropped else ""
        result.add(
            OK,
            f"Web Connector application '{app.name}' for {view.who(app.sid)}: "
            f"{values or 'no values'}{more}",
        )
    return result if result.evidence else None


def _running(view: View, fix: Fixer) -> Part:
    """The red tray icon on a Web Connector PC: is the Web Connector running, and usable?"""
    result = Part(replaces=not view.facts.installs_of("legacy"))
    wc = view.wc
    if not wc.has_program:
        result.add(
            FAIL,
            f"{PROGRAM} is missing from {wc.path}: it cannot be started. Reinstall the connector "
            "(see the one-time-sync topic) and link it again with the same Company ID.",
            fix=_reinstall(fix),
        )
        return result
    users = view.facts.users
    if not view.programs:
        if not users:
            result.add(
                WARN,
                f"{PROGRAM} is not running and nobody is signed in: the Web Connector is a "
                "per-user tray program; it starts when its user signs in, if a start-up entry "
                "starts it (below).",
            )
        else:
            names = ", ".join(u.account for u in users)
            result.add(
                FAIL,
                f"{PROGRAM} is not running (signed in: {names}): nothing calls Codat, so syncs "
                "wait and the Web Connector's tray icon is gone.",
                fix=fix("restart-web-connector"),
            )
    else:
        result.add(OK, *(f"{view.describe(p)}" for p in view.programs))
        _stuck(view, fix, result)
        _owner(view, result)
    result.merge(_startup(view))
    return result


def _stuck(view: View, fix: Fixer, result: Part) -> None:
    reasons = []
    sessions: dict[int | None, int] = {}
    for process in view.programs:
        sessions[process.session] = sessions.get(process.session, 0) + 1
    for session, count in sessions.items():
        if count > 1:
            reasons.append(f"{count} Web Connectors run in session {session}: one of them hangs")
    if any(p.session == 0 for p in view.programs):
        reasons.append(
            "one runs in session 0, which has no desktop (started by a service or a remote "
            "shell): nobody can see or use it"
        )
    signed_in = view.signed_in
    orphans = [p for p in view.programs if p.user_sid and p.user_sid not in signed_in]
    if orphans:
        reasons.append(
            "one runs for a user who is not signed in ("
            + ", ".join(p.user or view.who(p.user_sid) for p in orphans)
            + ")"
        )
    force = fix("restart-web-connector", ("--force-close", None))
    if reasons:
        result.add(FAIL, "The Web Connector looks stuck: " + "; ".join(reasons) + ".", fix=force)
        return
    newest = view.reading.last_time if view.reading else None
    collected = _collected(view.facts.collected_at)
    if newest and collected and collected - newest > SILENT_LOG:
        hours = int((collected - newest).total_seconds() // 3600)
        result.add(
            WARN,
            f"The Web Connector runs, but its log's newest entry is {hours} hours old "
            f"({_time(newest)}): Auto-Run is off for every connection, or it is stuck. If "
            "Auto-Run is ticked, close it and start it again.",
            fix=force,
        )


def _owner(view: View, result: Part) -> None:
    apps = view.wc.apps or []
    registered = {a.sid for a in apps}
    owners = {p.user_sid for p in view.programs if p.user_sid}
    if registered and owners and not registered & owners:
        result.add(
            WARN,
            "The Web Connector runs for "
            + ", ".join(sorted(view.who(s) for s in owners))
            + " but its applications are registered for "
            + ", ".join(sorted(view.who(s) for s in registered))
            + ": it runs only the connections of the user it runs as.",
            _steps(OTHER_USER_STEPS),
        )


def _startup(view: View) -> Part:
    result = Part()
    entries = view.wc.startup
    if entries is None:
        failed = view.probe_failed("web_connector.startup")
        result.add(WARN, f"Start-up entries could not be read: {failed or 'unknown'}.")
        return result
    relevant = [e for e in entries if e.target in ("web-connector", "codat")]
    for entry in relevant:
        result.add(OK, _startup_line(view, entry))
    if view.probe_failed("web_connector.startup.tasks"):
        result.add(OK, "Scheduled tasks could not be read: a task that starts it would not show.")
    if any(not e.disabled for e in relevant):
        return result
    if relevant:
        result.add(
            WARN,
            "Every start-up entry for the Web Connector is switched off: after a restart it "
            "stays closed.",
            _steps(SWITCHED_OFF_STEPS),
        )
        return result
    user_hives = [h for h in (view.wc.hives or []) if h in view.signed_in]
    if not user_hives:
        result.add(
            WARN,
            "No start-up entry for the Web Connector or Codat's tool in the machine's Run keys, "
            "the Startup folders or the scheduled tasks; the users' own Run keys cannot be read "
            "while they are signed out (their registry is loaded only then).",
            "If the Web Connector does not start when its user signs in: " + NO_STARTUP_STEPS,
        )
        return result
    result.add(
        WARN,
        "No start-up entry (Run key, Startup folder or scheduled task) starts the Web Connector "
        "or Codat's tool: after a restart it stays closed until someone opens it.",
        _steps(NO_STARTUP_STEPS),
    )
    return result


def _startup_line(view: View, entry: StartupEntry) -> str:
    what = "the Web Connector" if entry.target == "web-connector" else "Codat's tool (by its name)"
    whose = f" for {view.who(entry.sid)}" if entry.sid else ""
    runs = f", runs {entry.command}" if entry.command else ""
    off = ", switched off" if entry.disabled else ""
    if entry.kind == "startup-folder":
        runs = " (its target is not read)"
    return f"Start-up entry for {what}: {entry.label}{whose}{runs}{off}"


def _queued(view: View, fix: Fixer) -> Part:
    """Why syncs wait: several QuickBooks, elevation mismatch, another company file, and the
    five causes of "Waiting for asynchronous response from third party"."""
    result = Part()
    quickbooks = view.quickbooks
    if len(quickbooks) > 1:
        result.add(
            FAIL,
            f"{len(quickbooks)} QuickBooks instances run: "
            + "; ".join(view.describe(p) for p in quickbooks)
            + ". The connector supports one QuickBooks, with its company file open.",
            _steps(SEVERAL_QUICKBOOKS_STEPS),
        )
    _elevation(view, result, fix)
    files = _company_files(quickbooks)
    if len(files) > 1:
        result.add(
            FAIL,
            "Different company files are open: " + "; ".join(files) + ".",
            _steps(OTHER_FILE_STEPS),
        )
    other_file = _sdk_seen(view, OTHER_FILE_OPEN)
    if other_file:
        result.add(
            FAIL,
            f"QuickBooks answered {OTHER_FILE_OPEN} ({other_file}): a different company file is "
            "already open.",
            _steps(OTHER_FILE_STEPS),
        )
    if not view.programs and view.wc.has_program:
        if view.facts.users:
            result.add(
                FAIL,
                "The Web Connector is closed (cause 2 below): nothing asks QuickBooks for queued "
                "syncs.",
                fix=fix("restart-web-connector"),
            )
        else:
            result.add(
                WARN,
                "The Web Connector is closed and nobody is signed in (cause 2 below): queued "
                "syncs wait until its user signs in and it starts.",
            )
    result.add(OK, *_waiting_causes(view, files, bool(other_file)))
    return result


def _elevation(view: View, result: Part, fix: Fixer) -> None:
    unknown = False
    for program in view.programs:
        for quickbooks in view.quickbooks:
            if program.session != quickbooks.session:
                continue
            if program.elevated is None or quickbooks.elevated is None:
                unknown = True
                continue
            if program.elevated != quickbooks.elevated:
                result.add(
                    FAIL,
                    f"Elevation differs: {view.describe(program)}, {view.describe(quickbooks)}. "
                    "The Web Connector then starts a second, hidden QuickBooks and the company "
                    "file locks. restart-web-connector --force-close ends it (a sync in progress "
                    "stops) and starts it again at the elevation of that user's QuickBooks.",
                    _steps(ELEVATION_STEPS),
                    fix=fix("restart-web-connector", ("--force-close", None)),
                )
    if unknown:
        result.add(
            OK,
            "Whether the Web Connector and QuickBooks run at the same elevation is unknown: a "
            "process's token could not be read (run the doctor as SYSTEM, e.g. through an RMM "
            "tool, to see it).",
        )


def _company_files(quickbooks: list[Process]) -> list[str]:
    files: dict[str, str] = {}
    for process in quickbooks:
        if process.company_file:
            files.setdefault(process.company_file.casefold(), process.company_file)
    return list(files.values())


def _sdk_seen(view: View, code: str) -> str:
    """Where an SDK code was seen (a log's name), or ''."""
    for entry in view.facts.logs:
        if code in entry.codes:
            return f"{entry.codes[code]}x in {entry.path.rsplit(chr(92), 1)[-1] or entry.kind}"
    if view.reading and code in view.reading.codes:
        return f"{view.reading.codes[code].count}x in QWCLog.txt"
    return ""


def _waiting_causes(view: View, files: list[str], other_file: bool) -> list[str]:
    running = (
        "no: it runs (" + ", ".join(f"pid {p.pid}" for p in view.programs) + ")"
        if view.programs
        else "YES: QBWebConnector.exe is not running"
    )
    apps = view.wc.apps or []
    registered = (
        " Registered: " + ", ".join(f"'{a.name}' for {view.who(a.sid)}" for a in apps) + "."
        if apps
        else ""
    )
    if other_file or len(files) > 1:
        company = "YES (above)"
    elif files:
        company = f"QuickBooks has {files[0]} open: make sure it is the connector's company file"
    elif view.quickbooks:
        company = "not visible: QuickBooks' command line names no company file"
    else:
        company = "QuickBooks is not running"
    return [
        '"Waiting for asynchronous response from third party" has five causes; what this PC shows:',
        "1) the PC is off: not visible from the PC itself (it answered now); keep it on and awake "
        "during the sync window (by default 19:00-07:00 on weekdays).",
        f"2) the Web Connector is closed: {running}.",
        "3) Auto-Run is off for the Codat connection: cannot be read (the setting's registry "
        "value is not documented); open the Web Connector and check that Auto-Run is ticked for "
        f"the Codat row.{registered}",
        f"4) a different company file is open: {company}.",
        "5) the same QuickBooks user is signed in on another computer: not visible from this PC; "
        "make sure that QuickBooks user is signed in only here.",
    ]


def _linking(view: View, fix: Fixer) -> Part:
    """The deauthorised company on a Web Connector PC: program and registration still there?"""
    result = Part(replaces=not view.facts.installs_of("legacy"))
    if not view.wc.has_program:
        result.add(
            FAIL,
            f"The Web Connector's folder {view.wc.path} remains but {PROGRAM} is gone: the "
            "connector was removed (the one-time-sync mode does this after the first sync).",
            _steps(
                "In Codat, switch the connector to ongoing sync; then reinstall and link again "
                "with the same Company ID."
            ),
            fix=_reinstall(fix),
        )
        return result
    apps = view.wc.apps
    if apps is None:
        failed = view.probe_failed("web_connector.apps")
        result.add(
            WARN, f"The Web Connector's applications could not be read: {failed or 'unknown'}."
        )
    elif apps:
        result.add(
            OK,
            "Registered with the Web Connector: "
            + ", ".join(f"'{a.name}' for {view.who(a.sid)}" for a in apps)
            + ".",
        )
    elif [h for h in (view.wc.hives or []) if h in view.signed_in]:
        result.add(
            WARN,
            "No application is registered with the Web Connector for the signed-in users "
            r"(HKEY_USERS\<SID>\Software\Intuit\QB web connector): the Codat link (.qwc file) "
            "was not added for them, or was removed.",
            _steps(REGISTER_STEPS),
        )
    else:
        result.add(
            OK,
            "The Web Connector's applications cannot be read while nobody is signed in "
            "(they are kept in each user's registry).",
        )
    return result


def _reinstall(fix: Fixer) -> str:
    from qbd_fix.doctor.command import Placeholder

    return fix("reinstall-connector", ("--installer", Placeholder("URL")))


def _log(view: View, fix: Fixer) -> Part:
    log = view.wc.log
    result = Part()
    if log is None:
        failed = view.probe_failed("web_connector.log")
        result.add(WARN, f"QWCLog.txt could not be looked at: {failed or 'unknown'}.")
        return result
    who = _writers(view)
    folder = _can_write(log.folder_access, who)
    if not log.folder_present:
        result.add(
            FAIL,
            f"The Web Connector's log folder {QWCLOG_FOLDER} is missing: it fails with QBWC1005 "
            "or QBWC1006.",
            _steps(QBWC_CODES["QBWC1005"].steps),
            fix=fix("restart-web-connector"),
        )
        return result
    if log.present:
        file = False if log.read_only else _can_write(log.file_access, who)
        if file is False:
            why = "it is marked read-only" if log.read_only else "its access rules do not let"
            if not log.read_only:
                why += " the Web Connector's user write it"
            if folder:
                result.add(
                    FAIL,
                    f"The Web Connector cannot write QWCLog.txt: {why} (QBWC1033 follows). Its "
                    "folder is writable, so a new log will be.",
                    fix=fix("restart-web-connector", ("--reset-log", None)),
                )
            else:
                result.add(
                    FAIL,
                    f"The Web Connector cannot write QWCLog.txt: {why}; nor may it create files "
                    "in its folder, so renaming the log would not help.",
                    _steps(QBWC_CODES["QBWC1005"].steps),
                    fix=fix("restart-web-connector", ("--reset-log", None)),
                )
        elif file is None:
            result.add(OK, "Who may write QWCLog.txt is unknown: its access rules were not read.")
        else:
            result.add(OK, "The Web Connector's user may write QWCLog.txt (from its access rules).")
    elif folder is False:
        result.add(
            FAIL,
            f"No QWCLog.txt yet, and the Web Connector's user may not create files in {QWCLOG_FOLDER}.",
            _steps(QBWC_CODES["QBWC1005"].steps),
            fix=fix("restart-web-connector"),
        )
    else:
        result.add(OK, f"No QWCLog.txt yet in {QWCLOG_FOLDER}: the Web Connector has not run.")
    if log.error:
        result.add(OK, f"QWCLog.txt: {log.error}")
    reading = view.reading
    if reading is not None and reading.entries:
        older = "; older lines not carried" if log.lines_omitted else ""
        result.add(
            OK,
            f"QWCLog.txt's last {reading.lines_read} lines ({len(reading.entries)} entries, "
            f"{_time(reading.first_time)} to {_time(reading.last_time)}{older}) hold "
            + (", ".join(reading.codes) if reading.codes else "no error codes")
            + ".",
        )
    return result


def _writers(view: View) -> set[str]:
    """SIDs the Web Connector writes as: every user's groups, its owners (or, when it is not
    running, the signed-in users), and Administrators when it runs elevated."""
    sids = set(EVERY_USER)
    owners = {p.user_sid for p in view.programs if p.user_sid}
    sids |= owners or view.signed_in
    if any(p.elevated for p in view.programs):
        sids.add(ADMINISTRATORS)
    return sids


def _can_write(access: WriteAccess | None, sids: set[str]) -> bool | None:
    """From the item's own rules: a deny for any of *sids* wins, else an allow for one of them.
    Membership in other groups (domain groups) cannot be seen from the facts."""
    if access is None:
        return None
    if set(access.denied) & sids:
        return False
    return bool(set(access.allowed) & sids)


# -- codes found in QWCLog.txt ---------------------------------------------------------------------


def _code_parts(view: View, fix: Fixer) -> dict[str, Part]:
    """Each QBWC code in the carried log lines, under the topic it belongs to."""
    parts: dict[str, Part] = {}
    reading = view.reading
    if reading is None:
        return parts
    newest = reading.last_time
    for code, seen in reading.codes.items():
        if not code.startswith("QBWC"):
            continue  # SDK codes: the certificate and queued-syncs rules read them
        known = QBWC_CODES.get(code)
        topic = known.topic if known else "logs"
        status = FAIL if known and known.severity == "fail" else WARN
        old = bool(newest and seen.last and newest - seen.last > OLD_CODE)
        if old:
            status = WARN
        evidence = [_code_line(view, seen, old)]
        fix_line = None
        if known is not None:
            if known.steps:
                evidence.append(f"To fix {code}: {known.steps}")
            if known.command:
                name, *flags = known.command
                fix_line = fix(name, *((flag, None) for flag in flags))
        parts.setdefault(topic, Part()).add(status, *evidence, fix=fix_line)
    return parts


def _code_line(view: View, seen: CodeSeen, old: bool) -> str:
    when = (
        f"{_time(seen.first)}"
        if seen.first == seen.last
        else f"{_time(seen.first)} to {_time(seen.last)}"
    )
    sdk = []
    for entry in view.reading.entries if view.reading else []:
        if seen.code in entry.codes:
            sdk += [c for c in entry.codes if c in SDK_CODES and c not in sdk]
    said = "".join(f"; QuickBooks said {c}: {SDK_CODES[c].rstrip('.')}" for c in sdk)
    history = f" (not seen in the last {OLD_CODE.days} days of the log)" if old else ""
    last = seen.last_message[:LAST_MESSAGE]
    return (
        f"{seen.code} x{seen.count} in QWCLog.txt ({when}){history}: {describe(seen.code)}{said}; "
        f"last: {last}"
    )
