"""``ansible-inventory --list`` on the test inventories in ``tests/data/ansible``, live or as
recorded in ``tests/data/ansible/recorded``.

Ansible's control node does not run on Windows, so the comparison tests read the
recordings there and check them against a live ``ansible-inventory`` everywhere
else. After changing a test inventory, record again::

    python -m tests.support.ansible
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from qbd_fix.errors import UsageError
from qbd_fix.fleet.ansible import command

DATA = Path(__file__).parents[1] / "data" / "ansible"
RECORDED = DATA / "recorded"
#: source given to ansible-inventory -> the files qbd-fix reads for the same hosts
SOURCES = {
    "ini/hosts.ini": ["ini/hosts.ini"],
    "yaml/hosts.yml": ["yaml/hosts.yml"],
    "noext": ["noext/hosts", "noext/inventory"],  # a folder: Ansible reads both files
}
VAULTED = "vaulted/hosts.yml"
BROKEN = "broken/hosts.yml"
LIVE = sys.platform != "win32"


def environment(home: Path) -> dict[str, str]:
    """Ansible's defaults whatever the machine's ansible.cfg says, and the test vault password."""
    return {
        "ANSIBLE_CONFIG": str(DATA / "ansible.cfg"),
        "ANSIBLE_HOME": str(home),
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "ANSIBLE_VAULT_PASSWORD_FILE": str(DATA / "vaulted" / "vault-password.txt"),
    }


def run_all(sources: list[str]) -> dict[str, bytes | UsageError]:
    """Each source through qbd-fix's runner of ansible-inventory, all at once (start-up is ~1 s)."""

    def run(source: str) -> bytes | UsageError:
        try:
            return command.run(str(DATA / source), timeout=120)
        except UsageError as exc:
            return exc

    with ThreadPoolExecutor(len(sources)) as pool:
        return dict(zip(sources, pool.map(run, sources), strict=True))


def normalized(doc: object) -> dict[str, object]:
    """What the tests compare: each host's variables, each group's hosts and children."""
    assert isinstance(doc, dict)
    groups = {
        name: {"hosts": entry.get("hosts", []), "children": sorted(entry.get("children", []))}
        for name, entry in doc.items()
        if name != "_meta"
    }
    return {"hostvars": doc["_meta"]["hostvars"], "groups": groups}


def recording(source: str) -> Path:
    return RECORDED / (source.replace("/", "_") + ".json")


def recorded(source: str) -> dict[str, object]:
    data = json.loads(recording(source).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def broken_errors() -> str:
    """What ansible-inventory wrote to stderr for the broken inventory (paths as <data>)."""
    return (RECORDED / "broken.stderr.txt").read_text(encoding="utf-8")


def record() -> None:  # pragma: no cover - run by hand after changing an inventory
    with tempfile.TemporaryDirectory() as home:
        os.environ.update(environment(Path(home)))
        outputs = run_all([*SOURCES, VAULTED])
        RECORDED.mkdir(exist_ok=True)
        for source, output in outputs.items():
            if isinstance(output, UsageError):
                raise SystemExit(f"{source}: {output.message}")
            text = json.dumps(normalized(json.loads(output)), indent=1, sort_keys=True)
            recording(source).write_text(text + "\n", encoding="utf-8")
        program = shutil.which(command.PROGRAM) or command.PROGRAM
        ran = subprocess.run(
            [program, f"--inventory={DATA / BROKEN}", "--list"],
            capture_output=True,
            text=True,
            env={**os.environ, **command._ENVIRONMENT},
            check=False,
        )
        errors = ran.stderr.replace(str(DATA), "<data>")
        (RECORDED / "broken.stderr.txt").write_text(errors, encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    record()
