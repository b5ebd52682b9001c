"""The values ``templates/_verdict.ps1.j2`` is rendered with: the rules' own constants.

The PowerShell verdict repeats the decisions of :mod:`qbd_fix.doctor.verdict` on the PC. Every
name, code, window and pattern it compares with is rendered here from the Python value the
rules use (quoted by :func:`~qbd_fix.script.quote.ps_string`), so the two cannot drift apart.
Python's own text semantics that .NET lacks are rendered as data too: ``str.lower`` and
``str.casefold`` (client names compare case-folded) as tables, ``str.isspace`` as a class.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from functools import lru_cache

from qbd_fix.doctor import facts, qwclog, rules, verdict, webconnector
from qbd_fix.doctor.command import Arg
from qbd_fix.qbwc_codes import CODE_PATTERN, QBWC_CODES
from qbd_fix.script.engine import PsCode
from qbd_fix.script.quote import ps_string

#: ``_collected``'s ``strptime(text[:19], "%Y-%m-%dT%H:%M:%S")`` as a pattern: at 19 characters
#: every field has its two digits, and Python's ``strptime`` matches ``T`` in either case.
COLLECTED_PATTERN = (
    r"\A([0-9]{4})-(1[0-2]|0[1-9])-(3[01]|[12][0-9]|0[1-9])[Tt]"
    r"(2[0-3]|[01][0-9]):([0-5][0-9]):(6[01]|[0-5][0-9])\z"
)

#: Escapes a pattern may use and their .NET spelling: Python's ``\d`` is any Unicode decimal
#: digit, which .NET can neither match alike (digits beyond U+FFFF) nor convert with int().
_ESCAPES = {"d": "0-9", ".": r"\.", "(": r"\(", ")": r"\)", "t": r"\t"}


def dotnet_pattern(pattern: re.Pattern[str], *, anchored: bool = False) -> str:
    r"""*pattern* for .NET's Regex: ``\d`` becomes ``[0-9]``; with *anchored*, it matches only
    at the start, as ``re.match`` does. Any other escape is refused: its meaning may differ."""
    out: list[str] = []
    text = pattern.pattern
    in_class = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            escaped = text[i + 1]
            if escaped not in _ESCAPES:
                raise ValueError(f"escape \\{escaped} in {text!r} has no checked .NET equivalent")
            spelled = _ESCAPES[escaped]
            out.append(spelled if in_class or escaped != "d" else f"[{spelled}]")
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
        elif ch == "]" and in_class:
            in_class = False
        elif ch == "(" and text.startswith("(?P", i):
            raise ValueError(f"named group in {text!r}: .NET spells it differently")
        out.append(ch)
        i += 1
    converted = "".join(out)
    return rf"\A(?:{converted})" if anchored else converted


def regex_options(pattern: re.Pattern[str]) -> str:
    """The RegexOptions that match *pattern*'s flags (culture-invariant, as Python is)."""
    known = re.IGNORECASE | re.UNICODE
    if pattern.flags & ~known:
        raise ValueError(f"flags of {pattern.pattern!r} have no checked .NET equivalent")
    return "IgnoreCase, CultureInvariant" if pattern.flags & re.IGNORECASE else "CultureInvariant"


def _code_points(text: str) -> str:
    return ".".join(f"{ord(ch):X}" for ch in text)


def case_table(convert: Callable[[str], str], base: Callable[[str], str] = lambda c: c) -> str:
    """Every code point whose *convert* differs from *base*, as ASCII text: runs of one-to-one
    mappings ``start,count,step,delta`` and the rest ``code=code.code``, space-separated."""
    pairs = []
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        ch = chr(code)
        if convert(ch) != base(ch):
            pairs.append((code, convert(ch)))
    tokens: list[str] = []
    i = 0
    while i < len(pairs):
        code, value = pairs[i]
        if len(value) != 1:
            tokens.append(f"{code:X}={_code_points(value)}")
            i += 1
            continue
        delta = ord(value) - code
        run = 1
        step = 0
        if i + 1 < len(pairs) and len(pairs[i + 1][1]) == 1:
            step = pairs[i + 1][0] - code
            while (
                i + run < len(pairs)
                and len(pairs[i + run][1]) == 1
                and pairs[i + run][0] == code + run * step
                and ord(pairs[i + run][1]) - pairs[i + run][0] == delta
            ):
                run += 1
        if run == 1:
            tokens.append(f"{code:X}={ord(value):X}")
        else:
            tokens.append(f"{code:X},{run:X},{step:X},{delta:X}")
        i += run
    return " ".join(tokens)


def _list(values: Iterable[str]) -> PsCode:
    return PsCode("@(" + ", ".join(ps_string(v, ascii_only=True) for v in values) + ")")


def _whitespace_class() -> str:
    """``str.isspace`` characters as a .NET character class (all lie in the BMP)."""
    spaces = [c for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    if any(c > 0xFFFF for c in spaces):
        raise ValueError("a white-space character beyond U+FFFF")
    return "[" + "".join(f"\\u{c:04X}" for c in spaces) + "]"


def command_key(subcommand: str, *options: tuple[str, Arg | None]) -> str:
    """A fix line as the port carries it: the subcommand, then the danger switches its
    *options* set (spec order), space-separated: ``restart-web-connector ForceClose``."""
    switches = rules.switches_for(subcommand, options)
    return " ".join(
        [subcommand, *(s for s in verdict.danger_switches(subcommand) if s in switches)]
    )


def _table(values: dict[str, PsCode]) -> PsCode:
    pairs = "; ".join(f"{ps_string(k, ascii_only=True)} = {v}" for k, v in values.items())
    return PsCode("@{ " + pairs + " }")


def _code_table() -> PsCode:
    """QBWC code -> topic, whether it fails, and the fix line that fixes it ('' for none)."""
    lines = ["@{"]
    for code, known in QBWC_CODES.items():
        command = ""
        if known.command:
            name, *flags = known.command
            command = command_key(name, *((flag, None) for flag in flags))
        fails = "$true" if known.severity == "fail" else "$false"
        topic, name = ps_string(known.topic, ascii_only=True), ps_string(command, ascii_only=True)
        lines.append(f"        {ps_string(code, ascii_only=True)} = @({topic}, {fails}, {name})")
    lines.append("    }")
    return PsCode("\n".join(lines))


@lru_cache(maxsize=1)
def template_values() -> dict[str, PsCode]:
    """``qbd_verdict.<name>`` in the template: PowerShell expressions of the rules' constants."""
    from qbd_fix.remediations import REMEDIATIONS
    from qbd_fix.remediations.collect_logs import COLLECT_LOGS
    from qbd_fix.remediations.reinstall_connector import REINSTALL_CONNECTOR
    from qbd_fix.remediations.reset_certificate import RESET_CERTIFICATE
    from qbd_fix.remediations.restart_tasks import RESTART_TASKS
    from qbd_fix.remediations.restart_web_connector import RESTART_WEB_CONNECTOR
    from qbd_fix.remediations.webroot_whitelist import WEBROOT_WHITELIST

    def text(value: str) -> PsCode:
        return PsCode(ps_string(value, ascii_only=True))

    def number(value: int | float) -> PsCode:
        return PsCode(str(int(value)))

    def regex(pattern: re.Pattern[str], *, anchored: bool = False) -> PsCode:
        return text(dotnet_pattern(pattern, anchored=anchored))

    def options(pattern: re.Pattern[str]) -> PsCode:
        return text(regex_options(pattern))

    force_close = verdict.flag_of(RESTART_WEB_CONNECTOR.name, verdict.FORCE_CLOSE)
    reset_log = verdict.flag_of(RESTART_WEB_CONNECTOR.name, verdict.RESET_LOG)
    # The parser's own patterns, rendered rather than retyped; re.match anchors _START.
    start, sdk = qwclog._START, qwclog._SDK
    return {
        "schema": number(facts.SCHEMA_VERSION),
        "topics": _list(rules.TOPICS),
        "remediations": _list(REMEDIATIONS),
        "tray_process": text(rules.TRAY_PROCESS),
        "quickbooks_processes": _list(rules.QUICKBOOKS_PROCESSES),
        "certificate_fail": _list(rules.CERTIFICATE_FAIL),
        "certificate_warn": _list(rules.CERTIFICATE_WARN),
        "needs_quickbooks_open": _list(rules.NEEDS_QUICKBOOKS_OPEN),
        "web_connector_program": text(webconnector.PROGRAM),
        "web_connector_quickbooks": _list(webconnector.QUICKBOOKS),
        "every_user": _list(sorted(webconnector.EVERY_USER)),
        "administrators": text(webconnector.ADMINISTRATORS),
        "silent_log_seconds": number(webconnector.SILENT_LOG.total_seconds()),
        "old_code_seconds": number(webconnector.OLD_CODE.total_seconds()),
        "other_file_open": text(webconnector.OTHER_FILE_OPEN),
        "quickbooks_prefix": text(facts.QUICKBOOKS_PREFIX),
        "not_quickbooks": _list(facts.NOT_QUICKBOOKS),
        "audit_event_ids": PsCode("@(" + ", ".join(str(i) for i in facts.AUDIT_EVENT_IDS) + ")"),
        "web_connector_markers": _list(facts.WEB_CONNECTOR_MARKERS),
        "codat_markers": _list(facts.CODAT_MARKERS),
        "qbwc_codes": _code_table(),
        "code_regex": regex(CODE_PATTERN),
        "code_options": options(CODE_PATTERN),
        "start_regex": regex(start, anchored=True),
        "start_options": options(start),
        "sdk_regex": regex(sdk),
        "sdk_options": options(sdk),
        "max_line": number(qwclog.MAX_LINE),
        "max_lines": number(qwclog.MAX_LINES),
        "collected_regex": text(COLLECTED_PATTERN),
        "whitespace": text(_whitespace_class()),
        "lower_table": text(case_table(str.lower)),
        "fold_table": text(case_table(str.casefold, str.lower)),
        "restart_tasks": text(RESTART_TASKS.name),
        "restart_web_connector": text(RESTART_WEB_CONNECTOR.name),
        "reset_certificate": text(RESET_CERTIFICATE.name),
        "webroot_whitelist": text(WEBROOT_WHITELIST.name),
        "reinstall_connector": text(REINSTALL_CONNECTOR.name),
        "collect_logs": text(COLLECT_LOGS.name),
        "restart_web_connector_force_close": text(
            command_key(RESTART_WEB_CONNECTOR.name, (force_close, None))
        ),
        "restart_web_connector_reset_log": text(
            command_key(RESTART_WEB_CONNECTOR.name, (reset_log, None))
        ),
        "switch_names": _table({n: _list(verdict.switch_names(n)) for n in REMEDIATIONS}),
        "danger_switches": _table({n: _list(verdict.danger_switches(n)) for n in REMEDIATIONS}),
        "danger_flags": _table(
            {
                f"{n} {s}": text(verdict.flag_of(n, s))
                for n in REMEDIATIONS
                for s in verdict.danger_switches(n)
            }
        ),
        "probes": _table({n: _list(verdict.PROBES[n]) for n in REMEDIATIONS}),
        "held_probe": text(verdict.HELD_PROBE),
        "held_probes": text(verdict.HELD_PROBES),
        "held_switch": text(verdict.HELD_SWITCH),
        "held_switches": text(verdict.HELD_SWITCHES),
        "held_running": text(verdict.HELD_RUNNING),
        "force_close": text(verdict.FORCE_CLOSE),
        "reset_log": text(verdict.RESET_LOG),
        "force_close_flag": text(force_close),
    }
