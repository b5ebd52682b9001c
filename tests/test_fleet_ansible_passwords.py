"""Passwords in Ansible inventories: refused by default, kept in memory only when allowed,
and never in an error, a repr, a report or an audit line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from qbd_fix.errors import UsageError
from qbd_fix.fleet.ansible.secrets import cut_at_secret, is_secret
from qbd_fix.fleet.audit import AuditLog
from qbd_fix.fleet.inventory import load
from qbd_fix.fleet.report import open_report
from qbd_fix.pipeline import Execution, Sinks
from qbd_fix.result import Status
from tests.test_fleet_scheduler import Lab, lab_plan

PASSWORD = "Tr0ub4dor&3 correct-horse"  # a value that must never be written or shown
SECRET_VARIABLES = [
    "ansible_password",
    "ansible_psrp_password",
    "ansible_psrp_pass",
    "ansible_winrm_password",
    "ansible_winrm_pass",
    "ansible_become_password",
    "ansible_become_pass",
    "ansible_ssh_pass",
    "vault_api_token",
    "client_secret",
]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def refusal(path: Path) -> str:
    with pytest.raises(UsageError) as caught:
        load(path)
    message = caught.value.message
    assert PASSWORD not in message
    assert PASSWORD not in str(caught.value.hint)
    return message


@pytest.mark.parametrize("name", SECRET_VARIABLES)
def test_secret_names(name: str) -> None:
    assert is_secret(name)


@pytest.mark.parametrize(
    "name", ["ansible_user", "ansible_psrp_credssp_auth_mechanism", "bypass_proxy", "passage"]
)
def test_names_that_are_not_secrets(name: str) -> None:
    assert not is_secret(name)


@pytest.mark.parametrize("name", SECRET_VARIABLES)
def test_refused_on_a_host_line_naming_file_line_host_and_variable(
    tmp_path: Path, name: str
) -> None:
    path = write(
        tmp_path,
        "hosts.ini",
        f"[win]\npc01 ansible_connection=psrp {name}='{PASSWORD}'\n",
    )
    message = refusal(path)
    kind = "secret" if name in ("vault_api_token", "client_secret") else "password"
    assert message.startswith(f"hosts.ini:2: pc01: {name} is a {kind} in the inventory")
    assert "--password-env" in message


def test_refused_in_yaml_vars_and_vars_files_at_their_source(tmp_path: Path) -> None:
    inventory = write(
        tmp_path,
        "hosts.yml",
        "all:\n  children:\n    win:\n      vars:\n        ansible_connection: winrm\n"
        f"        ansible_winrm_password: '{PASSWORD}'\n      hosts:\n        pc01:\n",
    )
    assert refusal(inventory).startswith(
        "hosts.yml: all.children.win.vars: pc01: ansible_winrm_password"
    )
    inventory = write(tmp_path, "second.yml", "win:\n  hosts:\n    pc02:\n")
    write(tmp_path, "group_vars/win/connection.yml", "ansible_connection: psrp\n")
    write(tmp_path, "host_vars/pc02", f"ansible_become_pass: {PASSWORD}\n")
    assert refusal(inventory).startswith("host_vars/pc02: pc02: ansible_become_pass")


def test_empty_password_variables_are_no_passwords(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "hosts.yml",
        "win:\n  vars:\n    ansible_connection: psrp\n    ansible_password:\n"
        "    ansible_become_pass: ''\n  hosts:\n    pc01:\n",
    )
    (target,) = load(path)
    assert target.password is None


def test_hosts_that_are_skipped_keep_their_passwords_to_themselves(tmp_path: Path) -> None:
    """A Linux host's become password does not stop a run on the Windows PCs."""
    path = write(
        tmp_path,
        "hosts.ini",
        f"[linux]\nlx01 ansible_connection=ssh ansible_become_password='{PASSWORD}'\n"
        "[win]\npc01 ansible_connection=psrp\n",
    )
    linux, pc = load(path)
    assert linux.skip is not None and linux.password is None
    assert pc.skip is None and pc.password is None


def test_allowed_password_is_the_hosts_own_and_never_shown(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "hosts.ini",
        "[win]\n"
        f"pc01 ansible_password='{PASSWORD}'\n"
        f"pc02 ansible_password=first ansible_winrm_pass='{PASSWORD}'\n"
        f"pc03 ansible_become_password='{PASSWORD}'\n"
        "[win:vars]\nansible_connection=winrm\n",
    )
    pc01, pc02, pc03 = load(path, allow_passwords=True)
    assert pc01.password == PASSWORD
    assert pc02.password == PASSWORD  # the winrm plugin's last variable wins, as in Ansible
    assert pc03.password is None  # a become password is no login password: dropped
    for target in (pc01, pc02):
        assert PASSWORD not in repr(target) and PASSWORD not in str(target)
        assert target == dataclasses.replace(target, password=None)
        assert hash(target) == hash(dataclasses.replace(target, password="other"))
        assert target.merge({"username": "x", "port": 5986}).password == PASSWORD


def test_other_problems_of_a_host_with_a_password_do_not_show_it(tmp_path: Path) -> None:
    for line in (
        f"pc01 ansible_password='{PASSWORD}' ansible_port=abc",
        f"pc01 ansible_password={PASSWORD}",  # the space splits the value: a bare word follows
        f"pc01 ansible_password=[1, '{PASSWORD}']",
    ):
        path = write(tmp_path, "hosts.ini", f"[win]\n{line}\n[win:vars]\nansible_connection=psrp\n")
        with pytest.raises(UsageError) as caught:
            load(path, allow_passwords=True)
        assert PASSWORD not in caught.value.message
        assert PASSWORD.split()[1] not in caught.value.message
    path = write(tmp_path, "hosts.ini", f"[win:vars]\nansible_password {PASSWORD}\n[win]\npc01\n")
    assert "not shown" in refusal(path)


def test_a_template_pointing_at_a_password_is_not_shown(tmp_path: Path) -> None:
    from qbd_fix.fleet.ansible.model import Value
    from qbd_fix.fleet.ansible.targets import to_target
    from qbd_fix.fleet.ansible.templates import render

    variables = {
        "ansible_connection": Value("psrp", "x"),
        "ansible_password": Value(PASSWORD, "x"),
        "ansible_port": Value("{{ ansible_password }}", "x"),
    }
    with pytest.raises(UsageError) as caught:
        to_target(
            "pc01",
            variables,
            source="x",
            groups=[],
            group=None,
            allow_passwords=True,
            render=render,
        )
    assert "ansible_port (not shown) is not a port number" in caught.value.message
    assert PASSWORD not in caught.value.message


def test_vault_inline_password_is_refused_without_its_text(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "hosts.yml",
        "win:\n  vars:\n    ansible_connection: psrp\n    ansible_password: !vault |\n"
        "      $ANSIBLE_VAULT;1.1;AES256\n      6162636465\n  hosts:\n    pc01:\n",
    )
    with pytest.raises(UsageError) as caught:
        load(path, allow_passwords=True)
    message = caught.value.message
    assert message.startswith("hosts.yml: win.vars: pc01: ansible_password is vault-encrypted")
    assert "--password-env" in message and "6162636465" not in message


def test_reports_and_audit_lines_never_hold_the_password(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "hosts.ini",
        f"[win]\npc[01:04]\n[win:vars]\nansible_connection=psrp\nansible_password='{PASSWORD}'\n",
    )
    targets = load(path, allow_passwords=True)
    assert {t.password for t in targets} == {PASSWORD}
    # pc01 answers with the password in its message, as a careless library might: the plan
    # holds the inventory's passwords with those of --password-env, and the run redacts them
    lab = Lab(answers={"pc01": [(Status.OK, f"echoed {PASSWORD}")]})
    audit = AuditLog(tmp_path / "audit.jsonl")
    outputs = [tmp_path / "run.json", tmp_path / "run.csv"]
    writers = [open_report(p, run={"inventory": str(path)}, targets=targets) for p in outputs]

    def sink(report: object) -> None:
        for writer in writers:
            writer.write(report)  # type: ignore[arg-type]

    plan = lab_plan(targets, lab)
    assert plan.connections is not None and PASSWORD in plan.connections.secrets
    assert plan.connections(targets[0]).password == PASSWORD, "the inventory's own password"
    summary = Execution(plan, Sinks(audit=audit, on_report=sink)).run()
    for writer in writers:
        writer.close(summary)
    written = [p.read_text(encoding="utf-8-sig") for p in [*outputs, audit.path]]
    assert all("pc01" in text and PASSWORD not in text for text in written)


def test_ansible_error_lines_are_cut_where_a_secret_is_set() -> None:
    line = (
        f"Error parsing host definition 'pc01 ansible_password=\"{PASSWORD}': No closing quotation"
    )
    cut = cut_at_secret(line)
    assert PASSWORD not in cut and cut.startswith(
        "Error parsing host definition 'pc01 ansible_password"
    )
    assert cut_at_secret("A vault password must be given") == "A vault password must be given"
