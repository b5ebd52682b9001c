"""Ansible inventories on the command line: ``--inventory hosts.ini``, ``--inventory-from-ansible``
and ``--allow-inventory-passwords``, with fake remote runners (no network)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests import test_fleet_cli
from tests.support.ansible import DATA, LIVE
from tests.test_fleet_cli import PASSWORD, Lab, cli, write

lab = test_fleet_cli.lab  # the fake remote runners' fixture

INI = str(DATA / "ini" / "hosts.ini")


def test_ansible_groups_pick_the_pcs_and_the_inventory_sets_their_connections(lab: Lab) -> None:
    ran = cli("restart-tasks", "--inventory", INI, "--limit", "acme", "--what-if")
    assert ran.exit_code == 0, ran.output
    reached = {c.host: c for c in lab.connections}
    assert set(reached) == {f"acme-pc0{i}.acme.test" for i in (1, 2, 3)} | {"acme-dc.acme.test"}
    dc = reached["acme-dc.acme.test"]
    assert (dc.port, dc.ssl, dc.auth, dc.username) == (5985, False, "ntlm", "ACME\\svc qbd")
    pc = reached["acme-pc01.acme.test"]
    assert (pc.effective_port, pc.ssl, pc.auth, pc.username) == (5986, True, "ntlm", "ACME\\qbd")
    assert "skipped" not in ran.stderr  # lx01 is not in the selection


def test_skipped_hosts_are_said_and_the_rest_run(lab: Lab) -> None:
    ran = cli("restart-tasks", "--inventory", INI, "--username", "admin", "--what-if")
    assert ran.exit_code == 0, ran.output
    assert (
        "skipped 1 host (lx01.example.test): ansible_connection is 'ssh', not psrp or winrm"
        in ran.stderr
    )
    assert len(lab.connections) == 12
    assert "192.0.2.7" in {c.host for c in lab.connections}  # late-pc, by its ansible_host
    ran = cli("restart-tasks", "--inventory", INI, "--limit", "linux", "--what-if")
    assert ran.exit_code == 2
    assert "no PC to run on: every host selected was skipped" in ran.stderr


def test_a_password_in_the_inventory_is_refused_in_one_line(tmp_path: Path, lab: Lab) -> None:
    inventory = write(
        tmp_path / "hosts.yml",
        f"win:\n  vars:\n    ansible_connection: psrp\n    ansible_password: '{PASSWORD}'\n"
        "    ansible_user: admin\n  hosts:\n    pc01:\n    pc02:\n",
    )
    ran = cli("restart-tasks", "--inventory", str(inventory), "--what-if")
    assert ran.exit_code == 2 and lab.connections == []
    assert "error: hosts.yml: win.vars: pc01: ansible_password is a password" in ran.stderr
    assert "Traceback" not in ran.output and PASSWORD not in ran.output
    ran = cli(
        "restart-tasks", "--inventory", str(inventory), "--allow-inventory-passwords", "--what-if"
    )
    assert ran.exit_code == 0, ran.output
    assert {c.host for c in lab.connections} == {"pc01", "pc02"}
    assert PASSWORD not in ran.output


def test_one_source_of_pcs_at_a_time(tmp_path: Path, lab: Lab) -> None:
    ran = cli("restart-tasks", "--inventory", INI, "--inventory-from-ansible", INI, "--yes")
    assert ran.exit_code == 2
    assert "--inventory and --inventory-from-ansible: give one of them" in ran.stderr
    ran = cli("restart-tasks", "--allow-inventory-passwords", "--yes")
    assert ran.exit_code == 2 and "go(es) with --inventory or --host" in ran.stderr


def test_inventory_from_ansible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lab: Lab) -> None:
    """Through a stand-in ansible-inventory printing a listing (the real one is compared in
    test_fleet_ansible_compare)."""
    listing = {
        "_meta": {
            "hostvars": {
                "pc01": {"ansible_connection": "winrm", "ansible_winrm_transport": "ntlm",
                         "ansible_user": "admin", "ansible_host": "{{ inventory_hostname }}.lan"},
                "lx01": {"ansible_connection": "ssh"},
            }
        },
        "all": {"children": ["ungrouped", "win", "linux"]},
        "win": {"hosts": ["pc01"]},
        "linux": {"hosts": ["lx01"]},
    }  # fmt: skip
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "listing.json").write_text(json.dumps(listing), encoding="utf-8")
    program = folder / "ansible-inventory"
    program.write_text(f"#!/bin/sh\ncat {folder / 'listing.json'}\n", encoding="utf-8")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    ran = cli("restart-tasks", "--inventory-from-ansible", "inventory/", "--what-if")
    if not LIVE:
        assert ran.exit_code == 2 and "does not run on Windows" in ran.stderr
        return
    assert ran.exit_code == 0, ran.output
    (connection,) = lab.connections
    assert (connection.host, connection.auth, connection.ssl) == ("pc01.lan", "ntlm", True)
    assert "skipped 1 host (lx01): ansible_connection is 'ssh'" in ran.stderr
