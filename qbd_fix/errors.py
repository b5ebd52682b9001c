"""The error family: every failure a user can meet, with a hint and an exit code.

Library code raises these; the CLI prints ``error: <message>`` (and the hint)
on one line each and exits with :attr:`QbdFixError.exit_code`. Anything else
escaping to the CLI is a bug and is reported as such.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes; 0/1/3 match the scripts' own codes so RMM tools agree."""

    OK = 0
    FAILED = 1
    USAGE = 2
    NEEDS_USER_ACTION = 3
    UNSUPPORTED_PLATFORM = 4
    INTERRUPTED = 130
    UNREACHABLE = 10
    TIMEOUT = 11
    AUTH_FAILED = 12
    TLS_ERROR = 13
    WINRM_UNAVAILABLE = 14
    ACCESS_DENIED = 15
    SCRIPT_FAILED = 16
    RESULT_UNREADABLE = 17
    TRANSFER_FAILED = 18


class QbdFixError(Exception):
    """Base of every error meant for a user: one line, an optional hint."""

    exit_code: ExitCode = ExitCode.FAILED
    #: True only when the failure certainly came before the script could start on the PC
    #: (no route, name not resolved, nothing listening, connect timeout, session not opened).
    #: Fleet runs retry such failures; any other failure may follow changes and is final.
    before_script: bool = False

    def __init__(
        self, message: str, *, hint: str | None = None, before_script: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.before_script = before_script

    def __str__(self) -> str:
        return self.message


class UsageError(QbdFixError):
    """Bad input: a value that fails validation or options that do not fit together."""

    exit_code = ExitCode.USAGE


class UnsupportedPlatformError(QbdFixError):
    """Running locally needs Windows PowerShell; other systems must use --host or --dry-run."""

    exit_code = ExitCode.UNSUPPORTED_PLATFORM


class ResultError(QbdFixError):
    """The script ran but its JSON result is missing or unreadable."""

    exit_code = ExitCode.RESULT_UNREADABLE


class ScriptFailedError(QbdFixError):
    """PowerShell itself failed (parse error, terminating error) before a result was written."""

    exit_code = ExitCode.SCRIPT_FAILED


class RemoteError(QbdFixError):
    """Base of the remoting errors, one subclass per cause an admin can act on."""


class HostUnreachableError(RemoteError):
    exit_code = ExitCode.UNREACHABLE


class RunTimeoutError(QbdFixError):
    """A connection, operation or local script took longer than its limit."""

    exit_code = ExitCode.TIMEOUT


class AuthenticationFailedError(RemoteError):
    exit_code = ExitCode.AUTH_FAILED


class TlsError(RemoteError):
    exit_code = ExitCode.TLS_ERROR


class InsecureResponseError(TlsError):
    """The PC answered in clear text on a session that agreed to encrypt every message:
    its answer could have been read or changed on the way, so it is not used."""


class WinRMUnavailableError(RemoteError):
    exit_code = ExitCode.WINRM_UNAVAILABLE


class AccessDeniedError(RemoteError):
    exit_code = ExitCode.ACCESS_DENIED


class TransferError(RemoteError):
    exit_code = ExitCode.TRANSFER_FAILED


class ProtocolError(RemoteError):
    """The PC broke the WinRM protocol in a way no healthy PC does (an answer larger than
    the envelope size both sides agreed on): nothing it sent is used."""

    exit_code = ExitCode.WINRM_UNAVAILABLE
