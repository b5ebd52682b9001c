"""Bring a file home from a remote PC over the PowerShell Remoting connection itself.

WinRM has no file copy, and opening SMB shares needs another firewall rule, so
the file comes back through the same runspace pool: a small constant reader
script returns one base64 chunk per invocation. The path, offset and size go
as PSRP parameters, never as script text, like every other value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from qbd_fix.errors import (
    HostUnreachableError,
    QbdFixError,
    RunTimeoutError,
    TransferError,
    WinRMUnavailableError,
)
from qbd_fix.files import write_atomic

#: Raw bytes per reader invocation: 1 MiB is ~1.4 MB of base64, a few Receive envelopes.
CHUNK_SIZE = 1 << 20
#: Extra attempts for a chunk whose connection broke, before the copy is given up.
CHUNK_RETRIES = 2
#: A PSRP client serialises ints above this as a 32-bit value, so larger offsets go as text.
_MAX_I32 = 2**31 - 1

#: Reads Count bytes at Offset of Path; prints "<file length>:<base64 of the bytes>".
#: FileShare.ReadWrite lets it read a file another process still has open.
READ_CHUNK_SCRIPT = """\
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string] $Path,
    [Parameter(Mandatory = $true)]
    [long] $Offset,
    [Parameter(Mandatory = $true)]
    [int] $Count
)
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$stream = [System.IO.File]::Open($Path, [System.IO.FileMode]::Open, [System.IO.FileAccess]::Read, [System.IO.FileShare]::ReadWrite)
try {
    $length = $stream.Length
    $null = $stream.Seek($Offset, [System.IO.SeekOrigin]::Begin)
    $buffer = New-Object -TypeName 'System.Byte[]' -ArgumentList $Count
    $total = 0
    while ($total -lt $Count) {
        $got = $stream.Read($buffer, $total, $Count - $total)
        if ($got -eq 0) {
            break
        }
        $total += $got
    }
    '{0}:{1}' -f $length, [System.Convert]::ToBase64String($buffer, 0, $total)
} finally {
    $stream.Dispose()
}
"""

#: Removes the PC's copy once the local one is complete and verified.
REMOVE_FILE_SCRIPT = """\
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string] $Path
)
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
if (Test-Path -LiteralPath $Path -PathType Leaf) {
    Remove-Item -LiteralPath $Path -Force
}
"""

#: Errors worth another attempt: the connection broke, not the file or the credentials.
RETRYABLE: tuple[type[QbdFixError], ...] = (
    HostUnreachableError,
    RunTimeoutError,
    WinRMUnavailableError,
)

ChunkReader = Callable[[int, int], list[object]]


def chunk_parameters(path: str, offset: int, count: int) -> dict[str, str | int]:
    """The reader's parameters; an offset past 2 GiB goes as text for PowerShell to convert."""
    return {"Path": path, "Offset": offset if offset <= _MAX_I32 else str(offset), "Count": count}


def parse_chunk(output: list[object]) -> tuple[int, bytes]:
    """Decode the reader's one line into (file length, bytes)."""
    lines = [str(item) for item in output if item is not None]
    if len(lines) != 1:
        raise TransferError(f"the file reader returned {len(lines)} lines instead of 1")
    length_text, sep, data = lines[0].strip().partition(":")
    if not sep or not length_text.isdigit():
        raise TransferError("the file reader's answer is not '<length>:<base64>'")
    try:
        return int(length_text), base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise TransferError("the file reader's answer is not valid base64") from None


def download(
    read: ChunkReader,
    remote_path: str,
    local_path: Path,
    *,
    sha256: str | None = None,
    chunk_size: int = CHUNK_SIZE,
    retries: int = CHUNK_RETRIES,
    backoff: float = 0.5,
) -> int:
    """Copy *remote_path* to *local_path* chunk by chunk; returns the size.

    ``read(offset, count)`` runs :data:`READ_CHUNK_SCRIPT` and returns its output.
    The file is written atomically, so a broken chunk (after *retries* further
    attempts), a file that changes while copied, or a digest that does not match
    leaves nothing at *local_path*.
    """

    def read_with_retries(offset: int) -> tuple[int, bytes]:
        for attempt in range(retries + 1):
            try:
                return parse_chunk(read(offset, chunk_size))
            except RETRYABLE as exc:
                if attempt == retries:
                    raise TransferError(
                        f"copying {remote_path} broke at byte {offset} after {attempt + 1} attempts: {exc.message}",
                        hint="check the network to the PC and run collect-logs again",
                    ) from None
                time.sleep(backoff * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def chunks() -> Iterator[bytes]:
        digest = hashlib.sha256()
        offset = 0
        total: int | None = None
        while total is None or offset < total:
            length, data = read_with_retries(offset)
            if total is None:
                total = length
            elif length != total:
                raise TransferError(f"{remote_path} changed on the PC while it was being copied")
            if not data and offset < total:
                raise TransferError(f"{remote_path} ended at byte {offset} of {total}")
            digest.update(data)
            offset += len(data)
            yield data
        if offset != total:
            raise TransferError(f"{remote_path}: got {offset} bytes, the PC reported {total}")
        if sha256 and digest.hexdigest() != sha256.lower():
            raise TransferError(
                f"{remote_path} does not match the SHA-256 the script reported",
                hint="run collect-logs again; nothing was kept",
            )
        sizes.append(offset)

    sizes: list[int] = []
    write_atomic(local_path, chunks())
    return sizes[0]
