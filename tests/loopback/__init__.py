"""Loopback WinRM test host: unmodified pypsrp talks to it on 127.0.0.1 (no Windows needed).

Usage::

    from tests.loopback import Answer, Fault, FakeWinRMHost

    with FakeWinRMHost(username="u", password="p") as host:
        host.answer("Get-Service", Answer(output=['{"Status": "Running"}']))
        ...  # point pypsrp at 127.0.0.1:host.port, then assert on host.invocations
"""

from ._model import OPERATION_TIMEOUT, SHELL_NOT_FOUND, Answer, Fault, FaultPlan, Invocation
from .host import FakeWinRMHost, free_port

__all__ = [
    "OPERATION_TIMEOUT",
    "SHELL_NOT_FOUND",
    "Answer",
    "FakeWinRMHost",
    "Fault",
    "FaultPlan",
    "Invocation",
    "free_port",
]
