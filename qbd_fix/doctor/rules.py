"""One rule per troubleshooting topic, plus which connector is installed: facts in, findings out.

Rules are plain Python over :class:`~qbd_fix.doctor.facts.Facts`, so every
decision can be tested without Windows. Each finding names the seed section it
comes from and, where a command fixes it, the exact ``qbd-fix`` command line,
quoted for the shell it will be pasted into.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from qbd_fix.doctor import webconnector
from qbd_fix.doctor.command import Arg, Placeholder, Shell, default_shell, fix_command
from qbd_fix.doctor.facts import Facts, Install, LogFacts, Task, same_name
from qbd_fix.doctor.report import Finding, FindingStatus, Remedy
from qbd_fix.sdk_codes import SDK_CODES

OK, WARN, FAIL = FindingStatus.OK, FindingStatus.WARN, FindingStatus.FAIL

TOPICS: dict[str, str] = {
    "generation": "Which connector is installed",
    "tray-icon": "The QuickBooks Connector tray icon is red",
    "certificate": "Reinstalling the Application Certificate",
    "queued-syncs": "Syncs and pushes are still marked as queued or pending even though the connector is running",
    "one-time-sync": "The first link was successful but the company became deauthorized immediately after the datasets completed",
    "antivirus-policy": "The connector can't be downloaded or run due to corporate policy or antivirus software",
    "webroot": "Whitelisting: Webroot SecureAnywhere desktop app",
    "network": "Outbound HTTPS to Codat",
    "reboot-pending": "Pending restart",
    "logs": "Accessing logs",
}

CODAT_HOSTS = ("quickbooksdesktop.codat.io", "connectors.codat.io")

#: QuickBooks SDK codes and what they mean (public sources; see the project's domain notes).
CERTIFICATE_FAIL = ("0x8004041D", "0x8004041A", "0x80040420")
CERTIFICATE_WARN = ("0x80040418",)
NEEDS_QUICKBOOKS_OPEN = ("0x80040416", "0x80040417", "0x8004041D")

TASK_RESULTS: dict[int, str] = {
    0x0: "success",
    0x41300: "ready",
    0x41301: "running",
    0x41302: "disabled",
    0x41303: "has not run yet",
    0x41306: "terminated by a user",
    0x8004131F: "already running",
    0x800710E0: "refused by the operator (often: the user was not logged on)",
}

TRAY_PROCESS = "QuickbooksDesktopUI.exe"
QUICKBOOKS_PROCESSES = ("QBW32.exe", "QBW.exe")
INSTALLER_URL = Placeholder("URL")  # only the user knows where the installer is


@dataclass(frozen=True)
class Context:
    """The facts plus what the caller asked: which client, which host, which shell."""

    facts: Facts
    client_name: str | None = None
    host: str | None = None
    shell: Shell = "posix"

    #: Why values were left out of the current rule's fixes (see :func:`fix_command`).
    notes: list[str] = field(default_factory=list)
    #: The current rule's fix commands as data, by the command's text.
    remedies: dict[str, Remedy] = field(default_factory=dict)
    #: The subcommand each of the current rule's fix commands runs, by the command's text.
    subcommands: dict[str, str] = field(default_factory=dict)
    #: The switch parameters each of the current rule's fix commands sets, by the command's text.
    switches: dict[str, frozenset[str]] = field(default_factory=dict)

    def fix(self, subcommand: str, *options: tuple[str, Arg | None]) -> str:
        """The fix command's text; its :class:`Remedy` is kept when every value is known."""
        text = fix_command(subcommand, options, host=self.host, shell=self.shell, notes=self.notes)
        self.subcommands[text] = subcommand
        self.switches[text] = switches_for(subcommand, options)
        remedy = remedy_for(subcommand, options)
        if remedy is not None:
            self.remedies[text] = remedy
        return text

    def clients(self) -> list[str]:
        """Legacy clients to judge: the one asked for, or all found."""
        found = self.facts.legacy_clients()
        if self.client_name is None:
            return found
        return [n for n in found if same_name(n, self.client_name)]

    def client_option(self, client: str | None) -> list[tuple[str, Arg | None]]:
        return [("--client-name", client)] if client else []

    def task(self, client: str, role: str) -> Task | None:
        return next(
            (t for t in self.facts.tasks if t.role == role and same_name(t.client, client)), None
        )

    def legacy_install(self, client: str) -> Install | None:
        return next(
            (i for i in self.facts.installs_of("legacy") if same_name(i.client_name, client)), None
        )

    def only_client(self) -> str | None:
        """The client name a fix should carry: the one asked for, or the only one found."""
        if self.client_name:
            return self.client_name
        clients = self.clients()
        return clients[0] if len(clients) == 1 else None


def remedy_for(subcommand: str, options: Iterable[tuple[str, Arg | None]]) -> Remedy | None:
    """A fix command as data: each flag mapped to its script parameter through the
    remediation's spec (a flag it does not have is a bug here). None when a value is a
    placeholder only a person can fill in."""
    from qbd_fix.remediations import REMEDIATIONS

    remediation = REMEDIATIONS[subcommand]
    by_flag = {p.flag.name: p for p in remediation.flagged if p.flag}
    values: dict[str, object] = {}
    for flag, value in options:
        parameter = by_flag.get(flag)
        if parameter is None:
            raise ValueError(f"{subcommand} has no option {flag}")
        if isinstance(value, Placeholder):
            return None
        values[parameter.name] = True if value is None else value
    return Remedy(subcommand, values)


def switches_for(subcommand: str, options: Iterable[tuple[str, Arg | None]]) -> frozenset[str]:
    """The switch parameters (PowerShell names) a fix command sets: its flags mapped to the
    remediation's parameters through the spec, as :func:`remedy_for` maps them; a flag with a
    value (a placeholder included) is no switch."""
    from qbd_fix.remediations import REMEDIATIONS

    remediation = REMEDIATIONS[subcommand]
    by_flag = {p.flag.name: p for p in remediation.flagged if p.flag}
    found = set()
    for flag, _value in options:
        parameter = by_flag.get(flag)
        if parameter is None:
            raise ValueError(f"{subcommand} has no option {flag}")
        if parameter.kind == "switch":
            found.add(parameter.name)
    return frozenset(found)


def _worst(statuses: Iterable[FindingStatus]) -> FindingStatus:
    order = [OK, WARN, FAIL]
    return max(statuses, key=order.index, default=OK)


def _finding(
    finding_id: str, status: FindingStatus, evidence: list[str], fix: str | None = None
) -> Finding:
    return Finding(finding_id, TOPICS[finding_id], status, evidence, fix)


def _task_result(code: int | None) -> str:
    if code is None:
        return "no result"
    code &= 0xFFFFFFFF
    meaning = TASK_RESULTS.get(code)
    return f"0x{code:X}" + (f" ({meaning})" if meaning else "")


def _task_line(task: Task) -> str:
    ran = task.last_run_time or "never"
    return f"task {task.label}: {task.state}, last run {ran}, last result {_task_result(task.last_result)}"


def _install_line(install: Install) -> str:
    version = f", version {install.version}" if install.version else ""
    if install.generation == "legacy":
        program = "" if install.has_program else " (connector program missing)"
        return f"legacy connector for client '{install.client_name}' at {install.path}{version}{program}"
    if install.generation == "per-user":
        program = "" if install.has_program else " (connector program missing)"
        return (
            f"older per-user connector for user {install.user or '?'} at {install.path}{version}{program}: "
            "it runs as the user's own program, not as scheduled tasks"
        )
    if install.generation == "web-connector":
        return (
            f"current connector (Intuit Web Connector) at {install.path}{version}: it runs without "
            "connector tasks; the Codat connection needs Auto-Run ticked in QuickBooks Web Connector"
        )
    return f"{install.generation} connector at {install.path}{version}"


def _program_present(install: Install) -> bool:
    """The Web Connector's path is always reported; only a version shows the program is there."""
    if install.generation == "web-connector":
        return install.version is not None
    return install.has_program


# -- rules -------------------------------------------------------------------------------------


def rule_generation(ctx: Context) -> Finding:
    facts = ctx.facts
    if not facts.installs:
        evidence = [
            "No connector found: looked in Program Files (x86)\\<client>\\QuickBooks-connector, "
            "each user's AppData\\Local\\Codat and the Intuit Web Connector folder.",
            "Install the connector from the company's Codat link (connector download page); "
            "if it was installed and vanished, see the antivirus and one-time-sync topics.",
        ]
        evidence += [f"leftover {_task_line(t)}" for t in facts.tasks]
        return _finding("generation", FAIL, evidence)
    evidence = [_install_line(i) for i in facts.installs]
    status = OK
    if not any(_program_present(i) for i in facts.installs):
        status = WARN
        evidence.append("Connector folders remain but no connector program was found in them.")
    web = facts.processes_named("QBWebConnector.exe")
    if facts.installs_of("web-connector"):
        # Whether it runs, and what that means, is the tray-icon topic's judgement.
        evidence.append(f"QBWebConnector.exe running: {'yes' if web else 'no'}")
    if ctx.client_name and facts.installs_of("legacy") and not ctx.clients():
        status = _worst([status, WARN])
        known = ", ".join(f"'{n}'" for n in facts.legacy_clients())
        evidence.append(f"No legacy connector for client '{ctx.client_name}'; found: {known}.")
    return _finding("generation", status, evidence)


def rule_tray_icon(ctx: Context) -> Finding:
    clients = ctx.clients()
    if not clients:
        if ctx.client_name and ctx.facts.legacy_clients():
            return _finding(
                "tray-icon", WARN, [f"No connector tasks or folder for client '{ctx.client_name}'."]
            )
        return _finding(
            "tray-icon",
            OK,
            [
                "Not applicable: the tray app and its two tasks belong to the legacy connector, not found here."
            ],
        )
    statuses: list[FindingStatus] = []
    evidence: list[str] = []
    fixes: list[str] = []
    tray_all = ctx.facts.processes_named(TRAY_PROCESS)
    for client in clients:
        service, ui = ctx.task(client, "service"), ctx.task(client, "ui")
        install = ctx.legacy_install(client)
        missing = [
            f"{prefix}{client}"
            for prefix, t in (("QuickbooksDesktop_", service), ("QuickbooksDesktopUi_", ui))
            if t is None
        ]
        evidence += [_task_line(t) for t in (service, ui) if t is not None]
        if missing:
            statuses.append(FAIL)
            evidence.append(
                f"Missing task(s): {', '.join(missing)}: restarting cannot help; reinstall the connector with the same Company ID."
            )
            fixes.append(_reinstall_fix(ctx, client, install))
            continue
        if service is None or ui is None:
            continue
        disabled = [t for t in (service, ui) if t.state.lower() == "disabled"]
        if disabled:
            statuses.append(FAIL)
            evidence.append(
                f"{', '.join(t.label for t in disabled)} disabled: enable it in Task Scheduler "
                "(or ask whoever disabled it), then restart the tasks."
            )
            continue
        tray = [
            p
            for p in tray_all
            if not (install and p.path) or p.path.lower().startswith(install.path.lower())
        ]
        service_running = service.state.lower() == "running"
        if tray:
            owners = ", ".join(f"pid {p.pid}" + (f" ({p.user})" if p.user else "") for p in tray)
            evidence.append(f"{TRAY_PROCESS} running: {owners}")
        else:
            evidence.append(f"{TRAY_PROCESS} is not running: the tray icon is red or gone.")
        if tray and service_running:
            statuses.append(OK)
            continue
        if not service_running:
            evidence.append(
                f"{service.label} is {service.state}, not Running: the connector itself is stopped."
            )
        if not tray and service_running and not ctx.facts.users:
            statuses.append(WARN)
            evidence.append(
                "Nobody is logged on: the tray app's task runs as the user and starts at the next logon."
            )
            continue
        statuses.append(FAIL)
        fixes.append(ctx.fix("restart-tasks", *ctx.client_option(client)))
    status = _worst(statuses)
    return _finding("tray-icon", status, evidence, _join_fixes(fixes))


def _join_fixes(fixes: list[str]) -> str | None:
    """Several clients, several commands: one a line, each runnable alone."""
    return "\n".join(dict.fromkeys(fixes)) or None


def _reinstall_fix(ctx: Context, client: str | None, install: Install | None) -> str:
    options: list[tuple[str, Arg | None]] = [
        ("--installer", INSTALLER_URL),
        *ctx.client_option(client),
    ]
    ids = install.link.company_ids if install and install.link else []
    if len(ids) == 1:
        options.append(("--company-id", ids[0]))
    return ctx.fix("reinstall-connector", *options)


def _code_logs(ctx: Context) -> list[LogFacts]:
    """Logs whose SDK codes count: qbsdklog.txt, QWCLog.txt and the chosen clients' connector logs."""
    clients = ctx.clients()
    logs = []
    for entry in ctx.facts.logs:
        if (
            entry.kind == "connector"
            and ctx.client_name
            and not any(same_name(entry.client_name, c) for c in clients)
        ):
            continue
        logs.append(entry)
    return logs


def _code_evidence(ctx: Context, codes: Iterable[str]) -> tuple[list[str], set[str]]:
    wanted = set(codes)
    evidence: list[str] = []
    seen: set[str] = set()
    for entry in _code_logs(ctx):
        for code, count in sorted(entry.codes.items()):
            if code not in wanted:
                continue
            seen.add(code)
            name = entry.path.rsplit("\\", 1)[-1] or entry.kind
            line = f"{code} x{count} in {name} (newest {ctx.facts.log_tail_kib} KiB): {SDK_CODES.get(code, 'QuickBooks SDK error').rstrip('.')}"
            last = entry.last_lines.get(code)
            evidence.append(line + (f"; last: {last}" if last else ""))
    return evidence, seen


def _certificate_fix(ctx: Context) -> str:
    return ctx.fix(
        "reset-certificate", *ctx.client_option(ctx.only_client()), ("--notify-user", None)
    )


def rule_certificate(ctx: Context) -> Finding:
    sdk = ctx.facts.log("qbsdklog")
    evidence, seen = _code_evidence(ctx, CERTIFICATE_FAIL + CERTIFICATE_WARN)
    steps = (
        "In QuickBooks (as admin): Edit > Preferences > Integrated Applications > Company Preferences, "
        "remove 'QuickBooks Connector', re-run the connector installer and answer "
        "'Yes, always; allow access even if QuickBooks is not running'."
    )
    if seen & set(CERTIFICATE_FAIL):
        return _finding("certificate", FAIL, [*evidence, steps], _certificate_fix(ctx))
    if seen:
        return _finding("certificate", WARN, [*evidence, steps], _certificate_fix(ctx))
    if sdk is None or not sdk.present:
        where = (
            sdk.path if sdk and sdk.path else "C:\\ProgramData\\Intuit\\QuickBooks\\qbsdklog.txt"
        )
        return _finding(
            "certificate",
            OK,
            [f"No SDK log at {where}: no application has talked to QuickBooks on this PC yet."],
        )
    return _finding(
        "certificate",
        OK,
        [
            f"No certificate errors (0x8004041D, 0x8004041A, 0x80040420, 0x80040418) in the newest {ctx.facts.log_tail_kib} KiB of the logs."
        ],
    )


def rule_queued_syncs(ctx: Context) -> Finding:
    facts = ctx.facts
    running = facts.processes_named(*QUICKBOOKS_PROCESSES)
    installed = [u for u in facts.uninstall if u.is_quickbooks]
    evidence = [f"Installed: {u.name} {u.version}".rstrip() for u in installed]
    if running:
        for process in running:
            company = (
                f", company file {process.company_file}"
                if process.company_file
                else ", company file not visible in its command line"
            )
            owner = f" ({process.user})" if process.user else ""
            evidence.append(f"QuickBooks running: {process.name} pid {process.pid}{owner}{company}")
        if not webconnector.applies(facts):  # there, the Web Connector's part says what else counts
            evidence.append(
                "While QuickBooks is open with the connector's company file, queued syncs go through."
            )
        return _finding("queued-syncs", OK, evidence)
    code_evidence, seen = _code_evidence(ctx, NEEDS_QUICKBOOKS_OPEN)
    if seen:
        evidence.append("QuickBooks is not running (no QBW32.exe or QBW.exe).")
        evidence += code_evidence
        evidence.append(
            "Without the 'Yes, always; allow access even if QuickBooks is not running' grant, queued "
            "syncs wait until a user opens QuickBooks and the company file: grant it again."
        )
        return _finding("queued-syncs", WARN, evidence, _certificate_fix(ctx))
    if not installed:
        evidence.append(
            "QuickBooks Desktop is neither running nor listed in installed programs on this PC."
        )
        return _finding("queued-syncs", WARN, evidence)
    evidence.append(
        "QuickBooks is not running, and the logs show no SDK error saying it must be open: "
        "unattended access looks granted."
    )
    return _finding("queued-syncs", OK, evidence)


def rule_one_time_sync(ctx: Context) -> Finding:
    legacy = [
        i
        for i in ctx.facts.installs_of("legacy")
        if any(same_name(i.client_name, c) for c in ctx.clients())
    ]
    if not legacy:
        return _finding(
            "one-time-sync", OK, ["No legacy connector folder (and so no link.json) on this PC."]
        )
    statuses: list[FindingStatus] = []
    evidence: list[str] = []
    fixes: list[str] = []
    for install in legacy:
        link = install.link
        client = install.client_name
        if link is None or not link.present:
            statuses.append(OK)
            evidence.append(f"No link.json for client '{client}'.")
            continue
        if not link.readable or not link.company_ids:
            statuses.append(WARN)
            evidence.append(
                f"{link.path} holds no readable Company ID: keep it; Codat support can tell which company it was."
            )
            continue
        ids = ", ".join(link.company_ids)
        gone = []
        if not install.has_program:
            gone.append("the connector program is gone from its folder")
        missing = [role for role in ("service", "ui") if ctx.task(client, role) is None]
        if missing:
            gone.append("its scheduled tasks are gone")
        if not gone:
            statuses.append(OK)
            evidence.append(
                f"{link.path} holds Company ID {ids}; connector program and tasks are in place (ongoing sync)."
            )
            continue
        statuses.append(FAIL)
        evidence.append(
            f"{link.path} holds Company ID {ids}, but {' and '.join(gone)}: the one-time-sync mode uninstalled it after the first sync."
        )
        evidence.append(
            "In Codat, switch the connector to ongoing sync; then reinstall and link again with the same Company ID."
        )
        fixes.append(_reinstall_fix(ctx, client, install))
    return _finding("one-time-sync", _worst(statuses), evidence, _join_fixes(fixes))


def rule_antivirus_policy(ctx: Context) -> Finding:
    facts = ctx.facts
    evidence: list[str] = []
    blocked = False
    audit = False
    defender = facts.defender
    if defender is not None:
        for detection in defender.detections:
            blocked = True
            acted = {True: "action succeeded", False: "action failed", None: "action unknown"}[
                detection.action_success
            ]
            evidence.append(
                f"Defender detection (threat ID {detection.threat_id}) at {detection.time or 'unknown time'}, "
                f"{acted}: {'; '.join(detection.resources)}"
            )
    for event in facts.policy_events:
        blocked = blocked or event.blocked
        audit = audit or not event.blocked
        source = "Software Restriction Policies" if event.event_id < 8000 else "AppLocker"
        kind = "blocked" if event.blocked else "would be blocked (audit)"
        evidence.append(
            f"{source} event {event.event_id} ({kind}) at {event.time or 'unknown time'}: {event.message}"
        )
    context = _security_context(ctx)
    if blocked or audit:
        evidence.append(
            "Report this to Codat support (your normal support channel) with a log bundle; ask the "
            "PC's administrator to allow the connector files."
        )
        status = FAIL if blocked else WARN
        return _finding("antivirus-policy", status, evidence + context, ctx.fix("collect-logs"))
    evidence.append(
        f"No Defender detection, AppLocker or SRP event names a connector file (last {facts.event_days} days)."
    )
    return _finding("antivirus-policy", OK, evidence + context)


def _security_context(ctx: Context) -> list[str]:
    facts = ctx.facts
    lines = []
    if facts.antivirus is None:
        lines.append(
            "Security Center not available (Windows Server, or the query failed): antivirus products unknown."
        )
    elif facts.antivirus:
        products = ", ".join(
            p.name + {True: " (on)", False: " (off)", None: ""}[p.enabled] for p in facts.antivirus
        )
        lines.append(f"Registered antivirus: {products}")
    defender = facts.defender
    if defender is None or not defender.available:
        lines.append("Microsoft Defender: not available on this PC.")
    else:
        realtime = {True: "on", False: "off", None: "unknown"}[defender.realtime]
        lines.append(
            f"Microsoft Defender: mode {defender.running_mode or 'unknown'}, real-time protection {realtime}"
        )
        if defender.error:
            lines.append(
                f"Defender detections could not be read ({defender.error}): run elevated to see them."
            )
    return lines


def rule_webroot(ctx: Context) -> Finding:
    webroot = ctx.facts.webroot
    if not webroot.present:
        return _finding(
            "webroot",
            OK,
            [
                "Webroot SecureAnywhere not found (no WRSVC, WRCoreService or WRSkyClient service, no WRSA.exe)."
            ],
        )
    evidence = []
    if webroot.version:
        evidence.append(f"Webroot SecureAnywhere {webroot.version} at {webroot.executable}")
    elif webroot.executable:
        evidence.append(f"Webroot SecureAnywhere at {webroot.executable}")
    if webroot.services:
        evidence.append("Services: " + ", ".join(f"{n} ({s})" for n, s in webroot.services))
    # The folders webroot-whitelist lists overrides for: Codat's, and the Web Connector's.
    folders = [
        i.path
        for i in ctx.facts.installs
        if i.generation in ("per-user", "legacy", "web-connector")
    ]
    evidence.append(
        "Webroot may block the connector after an update: allow-list "
        + (
            ", ".join(folders)
            if folders
            else "each user's C:\\Users\\<user>\\AppData\\Local\\Codat"
        )
        + " (the whole folder)."
    )
    return _finding("webroot", WARN, evidence, ctx.fix("webroot-whitelist"))


def rule_network(ctx: Context) -> Finding:
    results = ctx.facts.network
    if not results:
        return _finding("network", WARN, ["Not checked: the script reported no connection test."])
    evidence = []
    for r in results:
        if r.reachable:
            took = f" ({r.elapsed_ms} ms)" if r.elapsed_ms is not None else ""
            evidence.append(f"{r.host}:{r.port} reachable{took}")
        else:
            evidence.append(f"{r.host}:{r.port} unreachable: {r.error or 'no connection'}")
    down = [r for r in results if not r.reachable]
    if not down:
        return _finding("network", OK, evidence)
    evidence.append(
        "The connector needs outbound HTTPS (443) to "
        + " and ".join(CODAT_HOSTS)
        + ": allow it in the firewall or proxy."
    )
    if all(r.proxy for r in down):
        evidence.append(
            f"A proxy is configured ({down[0].proxy}): direct connections may be blocked by design; check the connector can use the proxy."
        )
        return _finding("network", WARN, evidence)
    return _finding("network", FAIL, evidence)


def rule_reboot_pending(ctx: Context) -> Finding:
    if not ctx.facts.reboot_pending:
        return _finding("reboot-pending", OK, ["No restart pending."])
    evidence = [f"Restart pending: {r}" for r in ctx.facts.reboot_reasons]
    evidence.append(
        "Restart the PC when convenient: pending updates can keep services and tasks from starting."
    )
    return _finding("reboot-pending", WARN, evidence)


def _size(size: int | None) -> str:
    if size is None:
        return "size unknown"
    if size >= 1 << 20:
        return f"{size / (1 << 20):.1f} MiB"
    return f"{size / 1024:.1f} KiB"


def rule_logs(ctx: Context) -> Finding:
    evidence = []
    for entry in ctx.facts.logs:
        if entry.present:
            written = f", last written {entry.last_write}" if entry.last_write else ""
            unread = f"; unreadable: {entry.error}" if entry.error else ""
            evidence.append(f"{entry.path} ({_size(entry.size)}{written}){unread}")
        elif entry.path:
            evidence.append(f"{entry.path}: not present")
    for install in ctx.facts.installs_of("legacy"):
        if install.link and install.link.present:
            evidence.append(f"{install.link.path} (values redacted in bundles)")
    evidence.append(
        "For Codat support: collect the logs, link.json, task and process details into one zip."
    )
    return _finding("logs", OK, evidence, ctx.fix("collect-logs"))


RULES: tuple[Callable[[Context], Finding], ...] = (
    rule_generation,
    rule_tray_icon,
    rule_certificate,
    rule_queued_syncs,
    rule_one_time_sync,
    rule_antivirus_policy,
    rule_webroot,
    rule_network,
    rule_reboot_pending,
    rule_logs,
)


def _merge(finding: Finding, part: webconnector.Part | None) -> Finding:
    """A topic's finding with what the Web Connector adds: worst status, both evidences (or the
    Web Connector's alone where the legacy connector's does not apply), the failing part's fixes
    first."""
    if part is None:
        return finding
    base = [] if part.replaces else [line for line in (finding.fix or "").split("\n") if line]
    fixes = [*part.fixes, *base] if part.status is FAIL else [*base, *part.fixes]
    return dataclasses.replace(
        finding,
        status=part.status if part.replaces else _worst([finding.status, part.status]),
        evidence=part.evidence if part.replaces else [*finding.evidence, *part.evidence],
        fix=_join_fixes(fixes),
    )


def evaluate(
    facts: Facts,
    *,
    client_name: str | None = None,
    host: str | None = None,
    shell: Shell | None = None,
) -> list[Finding]:
    """Every finding, in the order the report shows them."""
    ctx = Context(facts, client_name=client_name, host=host, shell=shell or default_shell())
    view = webconnector.View.of(facts)
    findings = []
    for rule in RULES:
        ctx.notes.clear()
        ctx.remedies.clear()
        ctx.subcommands.clear()
        ctx.switches.clear()
        finding = rule(ctx)
        finding = _merge(finding, webconnector.part(view, finding.id, ctx.fix))
        if ctx.notes:
            finding = dataclasses.replace(finding, fix_notes=list(dict.fromkeys(ctx.notes)))
        shown = (finding.fix or "").split("\n")
        remedies = tuple(r for text, r in ctx.remedies.items() if text in shown)
        if remedies:
            finding = dataclasses.replace(finding, remedies=remedies)
        commands = tuple(dict.fromkeys(ctx.subcommands[t] for t in shown if t in ctx.subcommands))
        if commands:
            runs = tuple(
                dict.fromkeys(
                    (ctx.subcommands[t], ctx.switches[t]) for t in shown if t in ctx.subcommands
                )
            )
            finding = dataclasses.replace(finding, commands=commands, runs=runs)
        findings.append(finding)
    return findings
