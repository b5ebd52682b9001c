"""YAML as Ansible writes it, read with PyYAML's safe loader: no object is ever constructed
from a tag. Ansible's own two tags are understood: ``!vault`` (an encrypted value, kept
opaque) and ``!unsafe`` (text never to be templated)."""

from __future__ import annotations

from typing import Any

import yaml

from qbd_fix.fleet.ansible.model import VAULT, Unsafe

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10x faster


class _Loader(_Base):  # type: ignore[misc]
    """The safe loader plus ``!vault`` and ``!unsafe``."""


def _vault(loader: Any, node: yaml.Node) -> object:
    return VAULT


def _unsafe(loader: Any, node: yaml.Node) -> object:
    if isinstance(node, yaml.ScalarNode):
        return Unsafe(loader.construct_scalar(node))
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


_Loader.add_constructor("!vault", _vault)
_Loader.add_constructor("!unsafe", _unsafe)

VAULT_FILE_HEADER = "$ANSIBLE_VAULT;"


class YamlError(ValueError):
    """Text that is not YAML: what is wrong, and the line when known."""

    def __init__(self, problem: str, line: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line

    def at(self, name: str) -> str:
        """``hosts.yml:3: not valid YAML: ...`` for a message."""
        where = f"{name}:{self.line}" if self.line is not None else name
        return f"{where}: not valid YAML: {self.problem}"


def load(text: str) -> object:
    """One YAML document, safely; ``None`` for an empty one."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader with two inert tags
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "unreadable"
        raise YamlError(problem, mark.line + 1 if mark is not None else None) from None
    except yaml.YAMLError as exc:
        lines = str(exc).splitlines()
        raise YamlError(lines[0] if lines else "unreadable") from None
