"""Ansible host patterns: ``pc[01:50].corp``, ``db-[a:c]``, ``[0:20:5]``, ``host:5986``, IPv6.

One pattern in an inventory may stand for many PCs, so a typo such as
``pc[1:100000]`` is bounded: more than :data:`MAX_EXPANSION` names is refused.
Expansion follows Ansible's documented behaviour: a start with a leading zero
pads every number to its width (which the end must share), a letter range runs
through a-z then A-Z, and the ranges of one pattern multiply, leftmost outermost.
"""

from __future__ import annotations

import ipaddress
import re
import string

MAX_EXPANSION = 100_000

_PORT = re.compile(r"^(?P<host>.*[^:]):(?P<port>[0-9]+)$")
_BRACKETED = re.compile(r"^\[(?P<host>[^\]]+)\](?::(?P<port>[0-9]+))?$")


class PatternError(ValueError):
    """A host pattern Ansible would refuse too; the message says why."""


def _is_ipv6(text: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv6Address)
    except ValueError:
        return False


def split_port(pattern: str) -> tuple[str, int | None]:
    """``host:port`` into its parts; an IPv6 address keeps its colons (``[::1]:5986`` for a port).

    A trailing ``:`` with no number is refused: Ansible reserves it for the port.
    """
    text = pattern.strip()
    bracketed = _BRACKETED.match(text)
    if bracketed and _is_ipv6(bracketed["host"]):
        port = bracketed["port"]
        return bracketed["host"], int(port) if port else None
    if _is_ipv6(text):
        return text, None
    if text.endswith(":"):
        raise PatternError(f"host pattern {text!r} ends in ':' (a port number must follow it)")
    with_port = _PORT.match(text)
    # the colon must not sit inside a range: pc[1:3] has none to split off
    if with_port and with_port["host"].count("[") == with_port["host"].count("]"):
        return with_port["host"], int(with_port["port"])
    return text, None


def _bounds(body: str, pattern: str) -> tuple[str, str, int]:
    parts = body.split(":")
    if len(parts) not in (2, 3):
        raise PatternError(
            f"host range [{body}] in {pattern!r} must be begin:end or begin:end:step"
        )
    begin, end = parts[0].strip() or "0", parts[1].strip()
    if not end:
        raise PatternError(f"host range [{body}] in {pattern!r} has no end")
    step_text = parts[2].strip() if len(parts) == 3 else "1"
    if not step_text.isdigit() or int(step_text) < 1:
        raise PatternError(f"host range [{body}] in {pattern!r}: the step must be a number above 0")
    return begin, end, int(step_text)


def _items(body: str, pattern: str) -> list[str]:
    """The names one ``[begin:end:step]`` stands for."""
    begin, end, step = _bounds(body, pattern)
    letters = string.ascii_letters
    if len(begin) == 1 and len(end) == 1 and begin in letters and end in letters:
        first, last = letters.index(begin), letters.index(end)
        if first > last:
            raise PatternError(f"host range [{body}] in {pattern!r} ends before it begins")
        return list(letters[first : last + 1 : step])
    if not (begin.isascii() and begin.isdigit() and end.isascii() and end.isdigit()):
        raise PatternError(
            f"host range [{body}] in {pattern!r} must run between two numbers or two letters"
        )
    width = len(begin) if begin.startswith("0") and len(begin) > 1 else 0
    if width and len(end) != width:
        raise PatternError(
            f"host range [{body}] in {pattern!r}: with a leading zero, begin and end "
            "must have the same number of digits"
        )
    numbers = range(int(begin), int(end) + 1, step)
    if len(numbers) > MAX_EXPANSION:
        raise PatternError(
            f"host range [{body}] in {pattern!r} stands for more than {MAX_EXPANSION} hosts"
        )
    return [str(n).zfill(width) for n in numbers]


def expand(pattern: str) -> list[str]:
    """Every host name a pattern stands for (itself when it has no range), in order."""
    start = pattern.find("[")
    if start < 0:
        return [pattern]
    close = pattern.find("]", start)
    if close < 0:
        raise PatternError(f"host pattern {pattern!r} opens a range with '[' and never closes it")
    head, body, tail = pattern[:start], pattern[start + 1 : close], pattern[close + 1 :]
    names: list[str] = []
    for item in _items(body, pattern):
        names.extend(expand(head + item + tail))
        if len(names) > MAX_EXPANSION:
            raise PatternError(
                f"host pattern {pattern!r} stands for more than {MAX_EXPANSION} hosts"
            )
    return names


def hosts(pattern: str) -> tuple[list[str], int | None]:
    """A pattern as an inventory gives it: the host names and the port it sets, if any."""
    name, port = split_port(pattern)
    if _is_ipv6(name):
        return [name], port
    return expand(name), port
