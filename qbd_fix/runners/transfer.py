"""Bring a file home from a remote PC over the PowerShell Remoting connection itself.

WinRM has no file copy, and opening SMB shares needs another firewall rule, so
the file comes back through the same runspace pool: a small constant reader
script returns one base64 chunk per invocation. The path, offset and size go
as PSRP parameters, never as script text, like every other value.

The PC is not trusted: every chunk goes straight to a temporary file (the file
is never held in memory), the copy stops as soon as it passes the size the
result announced or the admin's limit, a missing or malformed SHA-256 fails the
copy, and the file is put in place under a name no other file has (never over
one), then read back and checked before the PC's copy may be removed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from qbd_fix.errors import (
    HostUnreachableError,
    QbdFixError,
    RunTimeoutError,
    TransferError,
    WinRMUnavailableError,
)
from qbd_fix.files import sha256_file

#: Raw bytes per reader invocation: 1 MiB is ~1.4 MB of base64, a few Receive envelopes.
CHUNK_SIZE = 1 << 20
#: Extra attempts for a chunk whose connection broke, before the copy is given up.
CHUNK_RETRIES = 2
#: A PSRP client serialises ints above this as a 32-bit value, so larger offsets go as text.
_MAX_I32 = 2**31 - 1
#: Default and largest --max-bundle-mib.
DEFAULT_MAX_BUNDLE_MIB = 2048
MAX_BUNDLE_MIB_LIMIT = 1024 * 1024
#: Other names tried when a bundle's name is taken: name-2.zip ... name-999.zip.
_NAME_ATTEMPTS = 999
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")

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


def encoded_size(count: int) -> int:
    """Characters of the reader's answer for *count* bytes: the length, a colon, base64."""
    return 4 * ((count + 2) // 3) + 32


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


def expected_digest(value: object) -> str:
    """The SHA-256 a result announced, or a :class:`TransferError`: a copy that cannot be
    checked is not a copy."""
    if isinstance(value, str) and _SHA256.fullmatch(value):
        return value.lower()
    what = "no SHA-256" if value in (None, "") else "a malformed SHA-256"
    raise TransferError(
        f"the result announced {what} for the log bundle, so a copy could not be checked: "
        "nothing was copied",
        hint="run collect-logs again; the PC keeps its copy",
    )


def expected_size(value: object, max_bytes: int) -> int | None:
    """The size a result announced (``None`` when it gave none); a malformed one, or one
    past *max_bytes*, fails the copy before any byte moves."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TransferError(
            "the result announced a malformed size for the log bundle: nothing was copied"
        )
    check_limit(value, max_bytes, "the result announces")
    return value


def check_limit(size: int, max_bytes: int, who: str) -> None:
    if size > max_bytes:
        raise TransferError(
            f"{who} a log bundle of {size} bytes, more than --max-bundle-mib "
            f"{max_bytes // (1 << 20)} allows: nothing was kept",
            hint="raise --max-bundle-mib if the bundle is expected to be that large, "
            "or lower --max-file-mib",
        )


def place_exclusive(temporary: Path, wanted: Path) -> Path:
    """Give *temporary* the name *wanted*, or ``wanted-2`` ... when taken; never replaces a
    file. A hard link is atomic and fails when the name exists; where links are not
    supported the name is claimed empty first (O_EXCL), then the file moved onto it."""
    for attempt in range(1, _NAME_ATTEMPTS + 1):
        name = (
            wanted if attempt == 1 else wanted.with_name(f"{wanted.stem}-{attempt}{wanted.suffix}")
        )
        try:
            os.link(temporary, name)
        except FileExistsError:
            continue
        except OSError:
            try:
                fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            os.close(fd)
            os.replace(temporary, name)
            return name
        temporary.unlink()
        return name
    raise TransferError(
        f"{wanted} and {_NAME_ATTEMPTS - 1} other names beside it are taken: nothing was kept",
        hint="give another --dest",
    )


def save_verified(
    chunks: Iterable[bytes],
    wanted: Path,
    *,
    source: str,
    sha256: str,
    size: int | None,
    max_bytes: int,
) -> Path:
    """Write *chunks* beside *wanted* as they come, stopping as soon as the file grows past
    *size* or *max_bytes*; check its SHA-256, put it in place under a free name, read it
    back and check size and digest again. Returns the path; on any failure no file is left."""
    try:
        return _save_verified(
            chunks, wanted, source=source, sha256=sha256, size=size, max_bytes=max_bytes
        )
    except OSError as exc:  # a folder that cannot be written, a full disk
        raise TransferError(
            f"cannot write the log bundle in {wanted.parent}: {exc.strerror or type(exc).__name__}",
            hint="give a writable --dest with room for the bundle; the PC keeps its copy",
        ) from None


def _save_verified(
    chunks: Iterable[bytes],
    wanted: Path,
    *,
    source: str,
    sha256: str,
    size: int | None,
    max_bytes: int,
) -> Path:
    digest = expected_digest(sha256)
    wanted.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary_name = tempfile.mkstemp(
        prefix=f".{wanted.name}.", suffix=".part", dir=wanted.parent
    )
    temporary = Path(temporary_name)
    placed: Path | None = None
    try:
        hasher = hashlib.sha256()
        written = 0
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                written += len(chunk)
                check_limit(written, max_bytes, f"{source} is")
                if size is not None and written > size:
                    raise TransferError(
                        f"{source} is larger than the {size} bytes the result announced: "
                        "nothing was kept",
                        hint="run collect-logs again; the PC keeps its copy",
                    )
                hasher.update(chunk)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        if size is not None and written != size:
            raise TransferError(
                f"{source}: got {written} bytes, the result announced {size}: nothing was kept"
            )
        if hasher.hexdigest() != digest:
            raise TransferError(
                f"{source} does not match the SHA-256 the script reported",
                hint="run collect-logs again; nothing was kept",
            )
        placed = place_exclusive(temporary, wanted)
        if placed.stat().st_size != written or sha256_file(placed) != digest:
            raise TransferError(
                f"{placed} changed on this computer while it was being saved: nothing was kept"
            )
        return placed
    except BaseException:
        temporary.unlink(missing_ok=True)
        if placed is not None:
            placed.unlink(missing_ok=True)
        raise


def download(
    read: ChunkReader,
    remote_path: str,
    local_path: Path,
    *,
    sha256: str,
    size: int | None = None,
    max_bytes: int = DEFAULT_MAX_BUNDLE_MIB << 20,
    chunk_size: int = CHUNK_SIZE,
    retries: int = CHUNK_RETRIES,
    backoff: float = 0.5,
) -> Path:
    """Copy *remote_path* to *local_path* (or a free name beside it) chunk by chunk;
    returns where it landed.

    ``read(offset, count)`` runs :data:`READ_CHUNK_SCRIPT` and returns its output.
    A broken chunk (after *retries* further attempts), a file that changes or grows
    while copied, one larger than announced or than *max_bytes*, or a digest that does
    not match leaves nothing at *local_path*. See :func:`save_verified`.
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
        offset = 0
        total: int | None = None
        while total is None or offset < total:
            length, data = read_with_retries(offset)
            if total is None:
                total = length
                check_limit(total, max_bytes, "the PC reports")
                if size is not None and total != size:
                    raise TransferError(
                        f"{remote_path} is {total} bytes on the PC, the result announced {size}: "
                        "nothing was copied"
                    )
            elif length != total:
                raise TransferError(f"{remote_path} changed on the PC while it was being copied")
            if len(data) > chunk_size or offset + len(data) > total:
                raise TransferError(
                    f"the file reader sent more than was asked for at byte {offset}"
                )
            if not data and offset < total:
                raise TransferError(f"{remote_path} ended at byte {offset} of {total}")
            offset += len(data)
            yield data

    return save_verified(
        chunks(),
        local_path,
        source=remote_path,
        sha256=sha256,
        size=size,
        max_bytes=max_bytes,
    )
