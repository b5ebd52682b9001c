"""Does the doctor name this remediation as the fix on this PC? One answer, from the findings.

A script that runs on the PC (an Intune detection script) needs the doctor's judgement for one
remediation, not the report: :func:`verdict` is that judgement in Python, the reference the
PowerShell port in ``templates/_verdict.ps1.j2`` is tested against.

The detection runs the fix with the values baked into its export, so the judgement is about
that fix: a finding counts only when a fix line it names can be carried out with the export's
switches, and the verdict is held back where the facts cannot decide (a probe it reads failed)
or where the baked fix would change nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from qbd_fix.doctor import rules, webconnector
from qbd_fix.doctor.facts import Facts
from qbd_fix.doctor.report import Finding, FindingStatus

#: Findings in these states ask for their fix; an OK finding's fix (collect-logs) is an offer.
NEEDS_FIX = (FindingStatus.FAIL, FindingStatus.WARN)

#: The doctor facts script's probes (``Add-QbdFactError -Name``) whose facts each remediation's
#: verdict reads; a failed probe leaves its facts empty or unknown. A probe counts with its
#: sub-probes (``web_connector.apps`` under ``web_connector``). Logs and the network test
#: record their own errors in their facts, not as probes.
PROBES: dict[str, tuple[str, ...]] = {
    "restart-tasks": ("tasks", "processes", "users", "generations"),
    "restart-web-connector": ("processes", "users", "web_connector"),
    "reset-certificate": ("processes",),
    "webroot-whitelist": ("webroot",),
    "collect-logs": ("defender", "policy"),
    "reinstall-connector": ("generations", "tasks", "web_connector"),
}

#: Why a fix the doctor names does not apply; ``{0}`` is filled in (PowerShell's ``-f`` reads
#: the same placeholders).
HELD_PROBE = "the facts cannot decide: the doctor's {0} probe failed"
HELD_PROBES = "the facts cannot decide: the doctor's {0} probes failed"
HELD_SWITCH = "the doctor's fix needs {0}, which this export does not set"
HELD_SWITCHES = "the doctor's fix needs switches this export does not set: {0}"
HELD_RUNNING = (
    "the Web Connector already runs for every signed-in user known to use it (or no such "
    "user is signed in); without {0} the fix would change nothing"
)

#: restart-web-connector's switches: ending running Web Connectors, and resetting the log.
FORCE_CLOSE = "ForceClose"
RESET_LOG = "ResetLog"


@dataclass(frozen=True)
class Verdict:
    """Whether the remediation applies; the findings (ids, in the doctor's order) that name a
    fix line the export can carry out; and, when it does not apply although the doctor found
    something for it, why (else "")."""

    applies: bool
    topics: tuple[str, ...]
    held: str = ""


def switch_names(remediation: str) -> tuple[str, ...]:
    """The remediation's switch parameters with a flag (PowerShell names), in spec order."""
    from qbd_fix.remediations import REMEDIATIONS

    return tuple(p.name for p in REMEDIATIONS[remediation].flagged if p.kind == "switch")


def danger_switches(remediation: str) -> tuple[str, ...]:
    """The switches that widen what the fix changes (a :attr:`Flag.danger` text), in spec order."""
    from qbd_fix.remediations import REMEDIATIONS

    return tuple(
        p.name
        for p in REMEDIATIONS[remediation].flagged
        if p.kind == "switch" and p.flag is not None and p.flag.danger
    )


def flag_of(remediation: str, parameter: str) -> str:
    """The command-line flag of one of the remediation's parameters (``--force-close``)."""
    from qbd_fix.remediations import REMEDIATIONS

    flag = REMEDIATIONS[remediation].parameter(parameter).flag
    assert flag is not None
    return flag.name


def verdict(
    facts: Facts,
    remediation: str,
    client_name: str | None = None,
    switches: frozenset[str] | Collection[str] = frozenset(),
) -> Verdict:
    """The doctor's findings that fail or warn with *remediation* among their fix commands,
    counting a fix line only when every danger switch it sets is among *switches* (the switch
    parameters the export turns on, by PowerShell name).

    An empty *client_name* counts as none, as it does in PowerShell (a ``[string]`` parameter
    cannot tell an empty name from a missing one). Raises ValueError for an unknown
    remediation or a name in *switches* that is not one of its switches.
    """
    from qbd_fix.remediations import REMEDIATIONS

    if remediation not in REMEDIATIONS:
        raise ValueError(f"unknown remediation {remediation!r}; known: {', '.join(REMEDIATIONS)}")
    known = switch_names(remediation)
    given = frozenset(switches)
    unknown = sorted(given - set(known))
    if unknown:
        raise ValueError(
            f"{remediation} has no switch {', '.join(unknown)}; its switches: "
            f"{', '.join(known) or 'none'}"
        )
    dangers = frozenset(danger_switches(remediation))
    findings = rules.evaluate(facts, client_name=client_name or None)
    named = [f for f in findings if f.status in NEEDS_FIX and remediation in f.commands]
    topics = tuple(f.id for f in named if _missing(f, remediation, dangers, given) is None)
    held = _held(facts, remediation, given, named, topics) if named else ""
    return Verdict(applies=bool(topics) and not held, topics=topics, held=held)


def _missing(
    finding: Finding, remediation: str, dangers: frozenset[str], given: frozenset[str]
) -> frozenset[str] | None:
    """None when one of *finding*'s fix lines for *remediation* can run with *given*; else the
    danger switches its lines need that *given* lacks."""
    missing: set[str] = set()
    for name, sets in finding.runs:
        if name != remediation:
            continue
        lacking = (sets & dangers) - given
        if not lacking:
            return None
        missing |= lacking
    return frozenset(missing)


def failed_probes(facts: Facts, remediation: str) -> list[str]:
    """The probes (or sub-probes) the remediation's verdict reads that recorded an error, by the
    name before ':' in each ``errors`` line, in the order recorded, each once."""
    found: list[str] = []
    for line in facts.errors:
        if ":" not in line:
            continue
        name = line.split(":", 1)[0]
        if name in found:
            continue
        if any(name == p or name.startswith(p + ".") for p in PROBES[remediation]):
            found.append(name)
    return found


def _held(
    facts: Facts,
    remediation: str,
    given: frozenset[str],
    named: list[Finding],
    topics: tuple[str, ...],
) -> str:
    failed = failed_probes(facts, remediation)
    if failed:
        return (HELD_PROBE if len(failed) == 1 else HELD_PROBES).format(", ".join(failed))
    if not topics:
        dangers = frozenset(danger_switches(remediation))
        lacking: set[str] = set()
        for finding in named:
            lacking |= _missing(finding, remediation, dangers, given) or set()
        flags = [flag_of(remediation, s) for s in danger_switches(remediation) if s in lacking]
        return (HELD_SWITCH if len(flags) == 1 else HELD_SWITCHES).format(", ".join(flags))
    if (
        remediation == "restart-web-connector"
        and FORCE_CLOSE not in given
        and not web_connector_acts(facts, reset_log=RESET_LOG in given)
    ):
        return HELD_RUNNING.format(flag_of(remediation, FORCE_CLOSE))
    return ""


def web_connector_acts(facts: Facts, *, reset_log: bool = False) -> bool:
    """Whether restart-web-connector without -ForceClose would do anything on this PC.

    It starts the Web Connector only for a signed-in user (``facts.users`` with a SID) who has
    no ``QBWebConnector.exe`` process of their own and uses it: an application registered with
    the Web Connector in their hive, or a start-up entry of the Web Connector or Codat's tool
    that is theirs (a Run value in their hive, an item in their Startup folder; the machine's
    Run keys, the all-users Startup folder and tasks name nobody, as the script decides). With
    -ResetLog it also renames the log when no Web Connector runs at all, signed in or not.

    What the facts cannot show: the script counts an application only when its name or AppURL
    names Codat or its AppURL cannot be read, and skips one whose AppURL names another host;
    the facts carry an application's values as bounded text that may be redacted, so every
    registered application counts here. Applications unknown (the probe failed, or the Web
    Connector's facts are missing) count as none; a failed probe holds the verdict before this.
    """
    programs = facts.processes_named(webconnector.PROGRAM)
    if reset_log and not programs:
        return True
    running = {p.user_sid for p in programs if p.user_sid}
    view = webconnector.View.of(facts)
    apps = (view.wc.apps or []) if view else []
    startup = (view.wc.startup or []) if view else []
    users = {a.sid for a in apps}
    users |= {e.sid for e in startup if e.sid and e.target != "other"}
    return any(u.sid and u.sid not in running and u.sid in users for u in facts.users)
