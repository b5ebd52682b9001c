"""The catalogue of remediations, one module each, in the order ``qbd-fix list`` shows them."""

from __future__ import annotations

from qbd_fix.remediations.base import Remediation
from qbd_fix.remediations.collect_logs import COLLECT_LOGS
from qbd_fix.remediations.reinstall_connector import REINSTALL_CONNECTOR
from qbd_fix.remediations.reset_certificate import RESET_CERTIFICATE
from qbd_fix.remediations.restart_tasks import RESTART_TASKS
from qbd_fix.remediations.restart_web_connector import RESTART_WEB_CONNECTOR
from qbd_fix.remediations.webroot_whitelist import WEBROOT_WHITELIST

REMEDIATIONS: dict[str, Remediation] = {
    r.name: r
    for r in (
        RESTART_TASKS,
        RESTART_WEB_CONNECTOR,
        RESET_CERTIFICATE,
        WEBROOT_WHITELIST,
        REINSTALL_CONNECTOR,
        COLLECT_LOGS,
    )
}


def get(name: str) -> Remediation:
    """Look a remediation up by its command name."""
    try:
        return REMEDIATIONS[name]
    except KeyError:
        raise KeyError(f"unknown remediation {name!r}; known: {', '.join(REMEDIATIONS)}") from None


__all__ = ["REMEDIATIONS", "Remediation", "get"]
