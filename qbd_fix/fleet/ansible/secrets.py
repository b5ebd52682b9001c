"""Which inventory variables hold secrets, and keeping their values out of messages.

A name is a secret's when one of its ``_``-separated words says so
(``ansible_password``, ``ansible_become_pass``, ``vault_api_token``), so that
``bypass_proxy`` is not one. Text that names such a variable (an INI line, a line
of Ansible's error output) is never echoed past that name.
"""

from __future__ import annotations

import re
from functools import lru_cache

_SECRET_WORDS = frozenset(
    {
        "pass",
        "passwd",
        "password",
        "passphrase",
        "pwd",
        "secret",
        "token",
        "credential",
        "credentials",
    }
)
_SECRET_SUFFIXES = ("password", "passwd", "secret", "token")
_SEPARATORS = re.compile(r"[^a-z0-9]+")
_WORD = re.compile(r"[A-Za-z0-9_]+")


@lru_cache(maxsize=4096)
def is_secret(name: str) -> bool:
    """Whether a variable's name says it holds a secret (a password, token, passphrase)."""
    words = (word for word in _SEPARATORS.split(name.lower()) if word)
    return any(word in _SECRET_WORDS or word.endswith(_SECRET_SUFFIXES) for word in words)


def mentions_secret(text: str) -> bool:
    """Whether *text* names a secret variable anywhere."""
    return any(is_secret(word) for word in _WORD.findall(text))


_ASSIGNED = re.compile(r"([A-Za-z0-9_]+)[\"']?\s*[=:]")


def cut_at_secret(text: str) -> str:
    """*text* up to where it sets a secret variable (``ansible_password=``, ``pass:``), the
    rest withheld; prose that merely says "password" is left whole."""
    for match in _ASSIGNED.finditer(text):
        if is_secret(match.group(1)):
            return text[: match.end(1)] + " ... (the rest is not shown: it sets a secret)"
    return text
