"""Pytest fixtures for the loopback WinRM host.

Enable with ``pytest_plugins = ["tests.loopback.fixtures"]`` in the top-level conftest, or
``from tests.loopback.fixtures import winrm_host`` in a test module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .host import FakeWinRMHost

HostFactory = Callable[..., FakeWinRMHost]


@pytest.fixture
def winrm_host() -> Iterator[HostFactory]:
    """Factory: ``winrm_host(**FakeWinRMHost kwargs)`` returns a started host.

    Every host is stopped at teardown, and teardown fails if any host recorded an internal
    error, because a host bug would otherwise surface only as a confusing client exception.
    """
    hosts: list[FakeWinRMHost] = []

    def make(**kwargs: Any) -> FakeWinRMHost:
        host = FakeWinRMHost(**kwargs).start()
        hosts.append(host)
        return host

    yield make
    for host in hosts:
        host.stop()
    errors = [
        (host, err, tb)
        for host in hosts
        for err, tb in zip(host.errors, host.error_traces, strict=False)
    ]
    if errors:
        details = "\n".join(f"{host.url}: {err!r}\n{tb}" for host, err, tb in errors)
        pytest.fail(
            f"loopback WinRM host raised {len(errors)} internal error(s):\n{details}", pytrace=False
        )


@pytest.fixture
def fake_winrm_host(winrm_host: HostFactory) -> FakeWinRMHost:
    """One started host with the default credentials (u / p) and all auth kinds."""
    return winrm_host()
