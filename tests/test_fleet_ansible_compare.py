"""qbd-fix's Ansible inventory readers against Ansible itself.

Every inventory in ``tests/data/ansible`` is read by ``ansible-inventory --list``
(ansible-core is in the test extras) and by qbd-fix; the host -> variables map and
the groups must be the same, and the targets made from Ansible's listing
(``--inventory-from-ansible``) must be the targets read directly. The
``ansible-inventory`` runs start together, once per session: each costs about a
second of start-up.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from qbd_fix.errors import UsageError
from qbd_fix.fleet.ansible import command, kind_of, parse_file, targets_from_listing
from qbd_fix.fleet.ansible.model import Inventory, Unsafe
from qbd_fix.fleet.ansible.varsfiles import VarsFiles
from qbd_fix.fleet.inventory import Target, load
from tests.support import ansible as recordings
from tests.support.ansible import BROKEN, DATA, LIVE, SOURCES, VAULTED

WINDOWS_REFUSAL = "ansible-inventory does not run on Windows"


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, bytes | UsageError]]:
    """What ansible-inventory prints for every source, all run at once; on Windows, where
    Ansible does not run, nothing (the recordings stand in)."""
    if not LIVE:
        yield {}
        return
    with pytest.MonkeyPatch.context() as patch:
        for name, value in recordings.environment(tmp_path_factory.mktemp("ansible")).items():
            patch.setenv(name, value)
        yield recordings.run_all([*SOURCES, VAULTED])


def listing(live: dict[str, bytes | UsageError], source: str) -> dict[str, object]:
    """Ansible's listing of *source*: live, or as recorded where Ansible cannot run."""
    if not LIVE:
        return recordings.recorded(source)
    output = live[source]
    if isinstance(output, UsageError):
        raise AssertionError(f"ansible-inventory failed on {source}: {output.message}")
    return recordings.normalized(json.loads(output))


def raw_listing(live: dict[str, bytes | UsageError], source: str) -> bytes:
    """The listing as ansible-inventory prints it (rebuilt from the recording on Windows)."""
    if LIVE:
        output = live[source]
        assert not isinstance(output, UsageError), output
        return output
    recorded = recordings.recorded(source)
    doc: dict[str, object] = {"_meta": {"hostvars": recorded["hostvars"]}}
    doc.update(recorded["groups"])  # type: ignore[arg-type]
    return json.dumps(doc).encode()


@pytest.mark.parametrize("source", [*SOURCES, VAULTED])
def test_the_recordings_are_what_ansible_prints(
    live: dict[str, bytes | UsageError], source: str
) -> None:
    if not LIVE:
        with pytest.raises(UsageError, match=WINDOWS_REFUSAL):
            command.run(str(DATA / source))
        return
    assert listing(live, source) == recordings.recorded(source), (
        "the recording is stale: python -m tests.support.ansible"
    )


def as_json(value: object) -> object:
    """A value of ours as ansible-inventory prints it."""
    if isinstance(value, Unsafe):
        return {"__ansible_unsafe": str(value)}
    if isinstance(value, (list, tuple)):
        return [as_json(item) for item in value]
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    return value


def read(relative: str) -> tuple[Inventory, VarsFiles]:
    path = DATA / relative
    text = path.read_text(encoding="utf-8")
    kind = {".ini": "ini", ".yml": "yaml", ".yaml": "yaml"}.get(path.suffix) or kind_of(text)
    return parse_file(path, text, kind), VarsFiles(path.parent)


@pytest.mark.parametrize("source", list(SOURCES))
def test_host_variables_are_ansibles(live: dict[str, bytes | UsageError], source: str) -> None:
    theirs = listing(live, source)["hostvars"]
    assert isinstance(theirs, dict)
    ours: dict[str, dict[str, object]] = {}
    for relative in SOURCES[source]:
        inventory, files = read(relative)
        for host in inventory.hosts:
            merged = inventory.host_vars(host, files.group, files.host)
            ours[host] = {key: as_json(value.value) for key, value in merged.items()}
    assert set(ours) == set(theirs)
    for host, variables in ours.items():
        assert variables == theirs[host], host


@pytest.mark.parametrize("source", list(SOURCES))
def test_groups_are_ansibles(live: dict[str, bytes | UsageError], source: str) -> None:
    theirs = listing(live, source)["groups"]
    assert isinstance(theirs, dict)
    ours: dict[str, tuple[list[str], list[str]]] = {}
    for relative in SOURCES[source]:
        inventory, _ = read(relative)
        for name, group in inventory.groups.items():
            hosts, children = ours.setdefault(name, ([], []))
            hosts += [h for h in group.hosts if h not in hosts and name != "all"]
            children += [c for c in group.children if c not in children]
    for name, entry in theirs.items():
        assert isinstance(entry, dict)
        assert ours[name][0] == entry.get("hosts", []), name
        assert sorted(ours[name][1]) == sorted(entry.get("children", [])), name
    # Ansible prints no empty group; ours are empty indeed
    assert all(not any(ours[name]) for name in set(ours) - set(theirs))


@pytest.mark.parametrize("source", list(SOURCES))
def test_targets_through_ansible_are_the_targets_read_directly(
    live: dict[str, bytes | UsageError], source: str
) -> None:
    output = raw_listing(live, source)
    through_ansible = targets_from_listing(output, source)
    direct = [t for relative in SOURCES[source] for t in load(DATA / relative)]

    def by_name(targets: list[Target]) -> dict[str, Target]:
        return {t.inventory_name or t.host: dataclasses.replace(t, source="") for t in targets}

    assert by_name(through_ansible) == by_name(direct)
    assert {t.source for t in through_ansible} == {f"{source} (ansible-inventory)"}


def test_vault_files_and_templates_through_ansible(live: dict[str, bytes | UsageError]) -> None:
    output = raw_listing(live, VAULTED)
    with pytest.raises(UsageError) as caught:
        targets_from_listing(output, "vaulted/hosts.yml")
    assert caught.value.message.startswith(
        "vaulted/hosts.yml (ansible-inventory): pc01: ansible_password is a password"
    )
    pc01, pc02 = targets_from_listing(output, "vaulted/hosts.yml", allow_passwords=True)
    assert (pc01.host, pc01.inventory_name, pc01.username) == (
        "pc01.corp.test",
        "pc01",
        "CORP\\qbd",
    )
    assert (pc01.auth, pc01.ssl, pc01.port) == ("ntlm", True, None)
    assert (pc02.host, pc02.ssl, pc02.port) == ("pc02.corp.test", False, 5985)
    assert pc01.password == pc02.password == "S3cret from the vault!"
    assert "S3cret" not in repr(pc01)


def test_a_source_ansible_cannot_read_is_one_line() -> None:
    """Ansible says why on stderr (recorded: python -m tests.support.ansible), among warnings
    from every plugin it tried; the one of the plugin that fits the file is the reason."""
    reason = command.reason(recordings.broken_errors(), BROKEN)
    assert reason.startswith('Invalid "hosts" entry for "win" group, requires a dictionary')
    assert command.reason(recordings.broken_errors(), "hosts.ini").startswith(
        "Failed to parse inventory: Invalid host pattern 'win:'"
    )


# -- running the program ------------------------------------------------------------------------


def runs_here() -> bool:
    """Whether ansible-inventory can run here; where it cannot (Windows), the refusal is checked."""
    if LIVE:
        return True
    with pytest.raises(UsageError, match=WINDOWS_REFUSAL):
        command.run("hosts.ini")
    return False


def fake_program(folder: Path, body: str) -> Path:
    path = folder / "ansible-inventory"
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder first on PATH, for a stand-in ansible-inventory."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    return folder


def test_windows_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(command.sys, "platform", "win32")
    with pytest.raises(UsageError, match=WINDOWS_REFUSAL) as caught:
        command.run("hosts.ini")
    assert "--inventory" in str(caught.value.hint)


def test_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(command.shutil, "which", lambda *args, **kwargs: None)
    if not runs_here():
        return
    with pytest.raises(UsageError) as caught:
        command.run("hosts.ini")
    assert caught.value.message.startswith("ansible-inventory is not installed (or not on PATH)")


def test_the_source_is_one_argument_never_a_shell_line(fake: Path, tmp_path: Path) -> None:
    if not runs_here():
        return
    seen = tmp_path / "argv"
    fake_program(fake, f'for a in "$@"; do echo "$a" >> {seen}; done\necho "{{}}"')
    source = "-x; touch pwned $(id) `id`"
    assert command.run(source) == b"{}\n"
    assert seen.read_text().splitlines() == [f"--inventory={source}", "--list"]
    assert not (Path.cwd() / "pwned").exists()


def test_time_and_output_are_bounded(fake: Path) -> None:
    if not runs_here():
        return
    fake_program(fake, "sleep 30 & sleep 30")
    started = time.monotonic()
    with pytest.raises(UsageError, match=r"did not finish within 0\.3 s: stopped"):
        command.run("x", timeout=0.3)
    assert time.monotonic() - started < 5
    fake_program(fake, "yes '{\"a\": 1}'")
    with pytest.raises(UsageError, match="printed more than 10,000 bytes"):
        command.run("x", max_output=10_000)


def test_failures_are_one_line_without_secrets(fake: Path) -> None:
    if not runs_here():
        return
    fake_program(
        fake,
        "cat >&2 <<'EOF'\n[WARNING]: something minor\n"
        "[ERROR]: Error parsing host definition 'pc01 ansible_password=\"Hunter2': "
        "No closing quotation\nEOF\nexit 3",
    )
    with pytest.raises(UsageError) as caught:
        command.run("inv")
    message = caught.value.message
    assert message.startswith("ansible-inventory -i 'inv' failed (exit 3): Error parsing host")
    assert message.endswith("ansible_password ... (the rest is not shown: it sets a secret)")
    assert "Hunter2" not in message and "\n" not in message


def test_output_that_is_no_listing(fake: Path) -> None:
    from qbd_fix.fleet.inventory import load_from_ansible

    with pytest.raises(UsageError, match="printed no inventory: not JSON"):
        targets_from_listing(b"not json", "inv")
    with pytest.raises(UsageError, match="printed no inventory: group 'g' is not an object"):
        targets_from_listing(b'{"g": []}', "inv")
    if not runs_here():
        return
    fake_program(fake, 'echo \'{"_meta": {"hostvars": {}}, "all": {"children": []}}\'')
    with pytest.raises(UsageError, match="lists no hosts"):
        load_from_ansible("inv")
