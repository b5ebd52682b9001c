"""Running ``ansible-inventory --list``: Ansible reads its own inventory, vault files, plugins
and all, and prints the result as JSON.

The program gets an argument list (no shell), no standard input (a vault
password prompt would wait forever), a time limit and an output limit; a source
Ansible cannot parse is made an error (by default Ansible only warns and prints
an empty inventory, which would read as "no PCs"). Every failure is one line.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import IO

from qbd_fix.errors import UsageError
from qbd_fix.fleet.ansible.secrets import cut_at_secret

PROGRAM = "ansible-inventory"
#: Dynamic inventories (cloud plugins) can take a while; a hung one must not hang the run.
TIMEOUT = 300.0
MAX_OUTPUT = 512 * 1024 * 1024
MAX_ERRORS = 64 * 1024
_ENVIRONMENT = {
    "ANSIBLE_NOCOLOR": "1",
    "ANSIBLE_FORCE_COLOR": "0",
    # a source no plugin can parse is an error, not a warning and an empty inventory
    "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1",
    "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "1",
}
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_LINE_PREFIX = re.compile(r"^\[(ERROR|WARNING)\]:\s*|^ERROR!\s*")


def _drain(stream: IO[bytes], limit: int, into: list[bytes], over: threading.Event) -> None:
    """Read *stream* to its end, keeping at most *limit* bytes; *over* is set past it."""
    kept = 0
    while True:
        chunk = stream.read(65536)
        if not chunk:
            return
        if kept + len(chunk) > limit:
            into.append(chunk[: max(limit - kept, 0)])
            kept = limit
            over.set()
            continue  # keep reading (and dropping) so the child never blocks on a full pipe
        into.append(chunk)
        kept += len(chunk)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the program and whatever it started (an inventory script, a cloud plugin's helper)."""
    with contextlib.suppress(OSError):  # already gone
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _size(count: int) -> str:
    return f"{count // 2**20} MiB" if count >= 2**20 else f"{count:,} bytes"


_CAUSE = re.compile(r"^\[WARNING\]: Failed to parse inventory with '(\w+)' plugin: (.*)$")
#: Which plugin's complaint explains a failure, by the source's extension (Ansible tries them all).
_PLUGIN_FOR = {
    ".yml": ("auto", "yaml"),
    ".yaml": ("auto", "yaml"),
    ".ini": ("ini",),
    ".toml": ("toml",),
}


def reason(errors: str, source: str = "") -> str:
    """The one line of Ansible's error output that says what went wrong: the error, or when
    that only says the source could not be parsed, the complaint of the plugin that fits it."""
    lines = [line.strip() for line in errors.splitlines() if line.strip()]
    picked = next((line for line in lines if line.startswith(("[ERROR]", "ERROR!"))), None)
    causes: dict[str, str] = {}
    for line in lines:
        match = _CAUSE.match(line)
        if match and "no root 'plugin' key" not in match[2]:
            causes.setdefault(match[1], match[2])
    generic = picked is None or "failed to parse" in picked.lower() or "No inventory was" in picked
    if generic and causes:
        preferred = _PLUGIN_FOR.get(os.path.splitext(source)[1].lower(), ())
        plugin = next((p for p in preferred if p in causes), next(iter(causes)))
        picked = causes[plugin]
    picked = picked or (lines[-1] if lines else "no error message")
    text = cut_at_secret(_CONTROL.sub(" ", _LINE_PREFIX.sub("", picked)))
    return text if len(text) <= 300 else text[:297] + "..."


def run(source: str, *, timeout: float = TIMEOUT, max_output: int = MAX_OUTPUT) -> bytes:
    """The JSON ``ansible-inventory --list`` prints for *source*; a :class:`UsageError` otherwise."""
    said = f"ansible-inventory -i {source!r}"
    if sys.platform == "win32":
        # Ansible's control node is Linux or macOS; and a .cmd stand-in would pass the
        # source through cmd.exe, which is a shell
        raise UsageError(
            "ansible-inventory does not run on Windows: read the inventory through Ansible "
            "where Ansible runs (WSL, Linux, macOS)",
            hint="or give an INI or YAML inventory file to --inventory, read without Ansible",
        )
    if not source.strip() or _CONTROL.search(source):
        raise UsageError(f"{said}: the inventory source is empty or has a control character")
    # on PATH, or beside this Python (ansible-core installed in qbd-fix's own environment)
    program = shutil.which(PROGRAM) or shutil.which(PROGRAM, path=os.path.dirname(sys.executable))
    if program is None:
        raise UsageError(
            "ansible-inventory is not installed (or not on PATH): install ansible-core "
            "to read an inventory through Ansible",
            hint="or give an INI or YAML inventory file to --inventory, read without Ansible",
        )
    argv = [program, f"--inventory={source}", "--list"]
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **_ENVIRONMENT},
            start_new_session=True,
        )
    except OSError as exc:
        raise UsageError(f"{said} could not be started: {exc.strerror or exc}") from None
    assert process.stdout is not None
    assert process.stderr is not None
    out: list[bytes] = []
    err: list[bytes] = []
    too_much = threading.Event()
    readers = [
        threading.Thread(
            target=_drain, args=(process.stdout, max_output, out, too_much), daemon=True
        ),
        threading.Thread(
            target=_drain, args=(process.stderr, MAX_ERRORS, err, threading.Event()), daemon=True
        ),
    ]
    for reader in readers:
        reader.start()
    deadline = time.monotonic() + timeout
    try:
        while process.poll() is None:
            if too_much.is_set():
                _stop(process)
                raise UsageError(f"{said} printed more than {_size(max_output)}: stopped")
            if time.monotonic() > deadline:
                _stop(process)
                raise UsageError(f"{said} did not finish within {timeout:g} s: stopped")
            time.sleep(0.02)
    except BaseException:
        if process.poll() is None:
            _stop(process)
        raise
    for reader in readers:
        reader.join(timeout=5)
    if too_much.is_set():
        raise UsageError(f"{said} printed more than {_size(max_output)}")
    if process.returncode != 0:
        errors = b"".join(err).decode("utf-8", "replace")
        raise UsageError(f"{said} failed (exit {process.returncode}): {reason(errors, source)}")
    return b"".join(out)
