"""Ansible inventories read without Ansible: syntax, precedence, and each connection
variable's mapping onto a target (one row per variable), with the errors for values
that cannot be honoured. ``test_fleet_ansible_compare`` checks the same readers
against ``ansible-inventory`` itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from qbd_fix.errors import UsageError
from qbd_fix.fleet.ansible import hostpatterns, templates
from qbd_fix.fleet.ansible.model import Value
from qbd_fix.fleet.ansible.targets import to_target
from qbd_fix.fleet.inventory import Target, load, runnable, select

DATA = Path(__file__).parent / "data" / "ansible"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def error(path: Path) -> str:
    with pytest.raises(UsageError) as caught:
        load(path)
    assert "\n" not in caught.value.message
    return caught.value.message


def one(folder: Path, connection: str, settings: str) -> Target:
    """The target of a one-host INI inventory: ``pc01`` with *settings* on its line."""
    path = write(folder, "hosts.ini", f"[win]\npc01 ansible_connection={connection} {settings}\n")
    (target,) = load(path)
    return target


# -- host patterns ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "names", "port"),
    [
        ("pc01", ["pc01"], None),
        ("pc[01:03].corp", ["pc01.corp", "pc02.corp", "pc03.corp"], None),
        ("pc[8:11]", ["pc8", "pc9", "pc10", "pc11"], None),
        ("pc[001:010:4]", ["pc001", "pc005", "pc009"], None),
        ("db-[a:c]", ["db-a", "db-b", "db-c"], None),
        ("db-[y:B]", ["db-y", "db-z", "db-A", "db-B"], None),
        ("[a:b][1:2]", ["a1", "a2", "b1", "b2"], None),
        ("pc[:2]", ["pc0", "pc1", "pc2"], None),
        ("pc[5:3]", [], None),
        ("pc01:5986", ["pc01"], 5986),
        ("pc[1:2]:5985", ["pc1", "pc2"], 5985),
        ("[2001:db8::1]:5986", ["2001:db8::1"], 5986),
        ("2001:db8::1", ["2001:db8::1"], None),
        ("192.0.2.1:5985", ["192.0.2.1"], 5985),
    ],
)
def test_host_patterns(pattern: str, names: list[str], port: int | None) -> None:
    assert hostpatterns.hosts(pattern) == (names, port)


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("pc[01:100]", "same number of digits"),
        ("pc[1:3:0]", "step must be a number above 0"),
        ("pc[a:3]", "two numbers or two letters"),
        ("pc[1:2:3:4]", "begin:end or begin:end:step"),
        ("pc[1:]", "has no end"),
        ("pc[1:3", "never closes"),
        ("pc[c:a]", "ends before it begins"),
        ("pc01:", "ends in ':'"),
        ("pc[1:200000]", "more than 100000 hosts"),
        ("pc[1:1000][1:1000]", "more than 100000 hosts"),
    ],
)
def test_bad_host_patterns(pattern: str, problem: str) -> None:
    with pytest.raises(hostpatterns.PatternError, match=problem.replace("[", r"\[")):
        hostpatterns.hosts(pattern)


# -- INI and YAML syntax ----------------------------------------------------------------------


def test_ini_values_quotes_comments_and_literals(tmp_path: Path) -> None:
    from qbd_fix.fleet.ansible import ini

    inventory = ini.parse(
        "# comment\n; comment\n"
        "pc01 a='x y' b=\"it's\" c=5986 d=True e=\"'q'\" f=[1,2] g=yes h=DOM\\\\u i=a#b # gone\n"
        '[g:vars]\n  k  =  spaced value # kept  \nk2=\nk3 = "x" # a literal, then a comment\n'
        "[g]\npc01\n",
        "h.ini",
    )
    values = {k: v.value for k, v in inventory.hosts["pc01"].vars.items()}
    assert values == {
        "a": "x y",
        "b": "it's",
        "c": 5986,
        "d": True,
        "e": "q",
        "f": [1, 2],
        "g": "yes",
        "h": "DOM\\u",
        "i": "a",
    }
    group = {k: v.value for k, v in inventory.groups["g"].vars.items()}
    assert group == {"k": "spaced value # kept", "k2": "", "k3": "x"}
    assert inventory.hosts["pc01"].vars["c"].where == "h.ini:3"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[g]\npc01 a='open\n", "h.ini:2: cannot read the host line: no closing quotation"),
        (
            "[g]\npc01 ansible_port 5986\n",
            "h.ini:2: expected key=value after the host, found 'ansible_port'",
        ),
        (
            "[g:vars]\njust words\n[g]\n",
            "h.ini:2: expected key=value in [g:vars], found 'just words'",
        ),
        ("[g:weird]\n", "h.ini:1: section [g:weird] has an unknown type"),
        ("[my group]\n", "h.ini:1: '[my group]' is not a section header"),
        ("[a:children]\nb\n", "h.ini:2: [a:children] names group 'b', which has no [b] section"),
        ("[c:vars]\nx=1\n", "h.ini:1: [c:vars] is for a group that has no [c] section"),
        ("[a:children]\nb\n[b:children]\na\n", "h.ini:4: group 'a' cannot be a child of 'b'"),
        (
            "[g]\npc01 ansible_group_priority=x\n[g:vars]\nansible_group_priority=x\n",
            "h.ini:4: ansible_group_priority 'x' is not a whole number",
        ),
    ],
)
def test_ini_errors_name_file_and_line(tmp_path: Path, text: str, problem: str) -> None:
    assert error(write(tmp_path, "h.ini", text)).startswith(problem)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "h.yml: the file is empty"),
        ("- a\n", "h.yml: a YAML inventory is a mapping of groups"),
        ("g:\n  hosts: [a, b]\n", "h.yml: g.hosts: hosts must be a mapping, not a list"),
        ("g:\n  host:\n    a:\n", "h.yml: g: unknown key 'host'"),
        ("g:\n  vars: [1]\n", "h.yml: g.vars: vars must be a mapping"),
        ("g:\n  hosts:\n    a: [1]\n", "h.yml: g.hosts.a: host variables must be a mapping"),
        ("g:\n  hosts:\n    a: {b: 1\n", "h.yml:4: not valid YAML"),
        (
            "g: !!python/object:os.system {}\n",
            "h.yml:1: not valid YAML: could not determine a constructor",
        ),
        ("g:\n  children:\n    g:\n", "h.yml: g.children: group 'g' cannot be a child of 'g'"),
    ],
)
def test_yaml_errors_name_file_and_key_path(tmp_path: Path, text: str, problem: str) -> None:
    assert error(write(tmp_path, "h.yml", text)).startswith(problem)


def test_yaml_null_hosts_empty_groups_and_a_host_in_two_groups(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "h.yaml",
        "all:\n  vars: {ansible_connection: psrp}\n  children:\n"
        "    empty:\n    nohosts:\n      hosts:\n"
        "    a:\n      hosts:\n        pc01:\n        pc02: ~\n"
        "    b:\n      hosts:\n        pc01: {ansible_port: 5985}\n",
    )
    pc01, pc02 = load(path)
    assert (pc01.host, pc01.groups, pc01.port, pc01.ssl) == ("pc01", ("a", "b"), 5985, False)
    assert (pc02.host, pc02.groups, pc02.port) == ("pc02", ("a",), None)
    assert pc01.source == "h.yaml: all.children.a.hosts.pc01"


def test_files_without_an_extension_are_read_as_ansible_reads_them() -> None:
    ini_hosts = load(DATA / "noext" / "hosts")
    yaml_hosts = load(DATA / "noext" / "inventory")
    assert [t.host for t in ini_hosts] == ["ini-pc1", "ini-pc2"]
    assert ini_hosts[0].cert_validation is False  # group_vars/ini_win, itself without extension
    assert [(t.host, t.auth) for t in yaml_hosts] == [("yaml-pc1", "kerberos")]


def test_unsafe_text_is_no_template(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "h.yml",
        "g:\n  hosts:\n    pc01:\n      ansible_connection: psrp\n"
        "      ansible_user: !unsafe '{{ literally }}'\n",
    )
    (target,) = load(path)
    assert target.username == "{{ literally }}"


def test_vault_files_and_templates_send_the_reader_to_ansible() -> None:
    message = error(DATA / "vaulted" / "hosts.yml")
    assert message.startswith("group_vars/windows/vault.yml: it is vault-encrypted")
    assert "--inventory-from-ansible" in message


def test_templated_values_are_refused_when_read_directly(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "hosts.ini",
        "[win]\npc03 ansible_connection=psrp ansible_host='{{ inventory_hostname }}.corp'\n",
    )
    assert error(path) == (
        "hosts.ini:2: pc03: ansible_host '{{ inventory_hostname }}.corp' is a template, which "
        "only Ansible evaluates: read the inventory through Ansible with --inventory-from-ansible"
    )


# -- precedence -------------------------------------------------------------------------------


def test_precedence_in_the_ini_sample() -> None:
    """The sample's values, as ``ansible-inventory`` gives them too (see the compare tests)."""
    from qbd_fix.fleet.ansible import parse_file
    from qbd_fix.fleet.ansible.varsfiles import VarsFiles

    path = DATA / "ini" / "hosts.ini"
    inventory = parse_file(path, path.read_text(encoding="utf-8"), "ini")
    files = VarsFiles(path.parent)

    def var(host: str, name: str) -> object:
        return inventory.host_vars(host, files.group, files.host)[name].value

    # a child group beats its parent; group_vars files beat the inventory's group vars
    assert var("acme-pc02.acme.test", "tier") == "acme"
    assert var("acme-pc03.acme.test", "tier") == "acme"
    assert var("beta-b.beta.test", "tier") == "beta"
    assert var("beta-a.beta.test", "tier") == "shared from group_vars"
    # host_vars beat everything; group_vars/all beats [all:vars]
    assert var("acme-pc01.acme.test", "tier") == "acme-pc01 from host_vars"
    assert var("loose-pc.example.test", "site") == "from group_vars/all"
    # siblings at one depth: by ansible_group_priority, then by name
    assert var("acme-pc03.acme.test", "sibling") == "prio"
    assert "ansible_group_priority" not in inventory.host_vars("acme-pc03.acme.test")
    # a vars folder: files in name order, hidden, backup and other extensions left out
    assert var("acme-pc02.acme.test", "ansible_psrp_connection_timeout") == 25
    assert var("acme-pc02.acme.test", "ansible_psrp_operation_timeout") == 30
    # group_vars/beta (no extension) is found first: beta.yml beside it is not read
    assert var("beta-c.beta.test", "vars_file") == "beta (no extension)"


def test_targets_of_the_ini_sample() -> None:
    targets = {t.inventory_name or t.host: t for t in load(DATA / "ini" / "hosts.ini")}
    dc = targets["acme-dc.acme.test"]
    assert (dc.port, dc.ssl, dc.auth, dc.username) == (5985, False, "ntlm", "ACME\\svc qbd")
    assert (dc.source, dc.group, dc.groups) == ("hosts.ini:11", "acme", ("acme", "windows"))
    late = targets["late-pc"]
    assert (late.host, late.inventory_name, late.operation_timeout) == ("192.0.2.7", "late-pc", 45)
    beta = targets["beta-a.beta.test"]
    assert (beta.ssl, beta.port, beta.group) == (False, None, "beta")
    assert targets["beta-pc5.beta.test"].port == 5986
    assert targets["acme-pc01.acme.test"].read_timeout == 40
    assert targets["lx01.example.test"].skip == "ansible_connection is 'ssh', not psrp or winrm"
    assert all(t.cert_validation is True for t in targets.values() if t.skip is None)


def test_limit_matches_ansible_groups_parents_and_inventory_names() -> None:
    targets = load(DATA / "ini" / "hosts.ini")
    windows = {t.host for t in select(targets, ["windows"])}
    assert len(windows) == 11 and "lx01.example.test" not in windows
    assert {t.host for t in select(targets, ["late-pc"])} == {"192.0.2.7"}
    assert {t.host for t in select(targets, ["ungrouped"])} == {"loose-pc.example.test"}
    both = {t.host for t in select(targets, ["beta,shared"])}
    assert "beta-a.beta.test" in both and "acme-pc01.acme.test" in both
    with pytest.raises(UsageError, match=r"matches no host, group or tag \(groups: "):
        select(targets, ["acmee"])


def test_skipped_hosts_are_said_once_per_reason() -> None:
    targets = [
        Target(host=f"lx{i}", skip="ansible_connection is 'ssh', not psrp or winrm")
        for i in range(7)
    ] + [Target(host="pc01"), Target(host="db", skip="no ansible_connection")]
    keep, lines = runnable(targets)
    assert [t.host for t in keep] == ["pc01"]
    assert lines == [
        "skipped 7 hosts (lx0, lx1, lx2, lx3, lx4 and 2 more): "
        "ansible_connection is 'ssh', not psrp or winrm",
        "skipped 1 host (db): no ansible_connection",
    ]


def test_duplicates_count_addresses_not_names(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "hosts.ini",
        "[win]\npc01 ansible_host=10.0.0.1\nalias ansible_host=10.0.0.1\n"
        "lx ansible_host=10.0.0.1 ansible_connection=ssh\n[win:vars]\nansible_connection=psrp\n",
    )
    assert error(path) == "hosts.ini:3: duplicate host '10.0.0.1' (first at hosts.ini:2)"


# -- one row per variable ---------------------------------------------------------------------


@pytest.fixture
def pem(tmp_path: Path) -> str:
    return str(write(tmp_path, "ca.pem", "-----BEGIN CERTIFICATE-----\n"))


MAPPED = [
    # (connection, settings on the host line, the target's fields)
    ("psrp", "ansible_host=10.0.0.9", {"host": "10.0.0.9", "inventory_name": "pc01"}),
    ("psrp", "ansible_host=a ansible_psrp_host=pc01.corp", {"host": "pc01.corp"}),
    ("winrm", "ansible_host=a ansible_winrm_host=pc01.corp", {"host": "pc01.corp"}),
    ("psrp", "ansible_host=PC01", {"host": "PC01", "inventory_name": None}),
    ("psrp", "ansible_port=5986", {"port": 5986, "ssl": True}),
    ("psrp", "ansible_port=5985", {"port": 5985, "ssl": False}),
    ("psrp", "ansible_port='15985'", {"port": 15985, "ssl": True}),
    ("psrp", "ansible_port=1 ansible_psrp_port=5985", {"port": 5985, "ssl": False}),
    ("winrm", "ansible_port=1 ansible_winrm_port=5985", {"port": 5985, "ssl": False}),
    ("psrp", "", {"port": None, "ssl": None, "auth": None, "username": None}),
    ("psrp", 'ansible_user="CORP\\\\qbd"', {"username": "CORP\\qbd"}),
    ("psrp", "ansible_user='CORP\\qbd'", {"username": "CORP\\qbd"}),
    ("psrp", "ansible_user=a ansible_psrp_user=b@corp", {"username": "b@corp"}),
    ("winrm", "ansible_user=a ansible_winrm_user=b", {"username": "b"}),
    ("psrp", "ansible_psrp_protocol=http", {"ssl": False}),
    ("psrp", "ansible_psrp_protocol=HTTPS ansible_port=5985", {"ssl": True, "port": 5985}),
    ("winrm", "ansible_winrm_scheme=http", {"ssl": False}),
    ("psrp", "ansible_psrp_auth=negotiate", {"auth": "negotiate"}),
    ("psrp", "ansible_psrp_auth=ntlm", {"auth": "ntlm"}),
    ("psrp", "ansible_psrp_auth=Kerberos", {"auth": "kerberos"}),
    ("psrp", "ansible_psrp_auth=credssp", {"auth": "credssp"}),
    ("psrp", "ansible_psrp_auth=basic", {"auth": "basic"}),
    ("winrm", "ansible_winrm_transport=ntlm", {"auth": "ntlm"}),
    ("winrm", "ansible_winrm_transport=plaintext", {"auth": "basic"}),
    ("winrm", "ansible_winrm_transport=basic,plaintext", {"auth": "basic"}),
    ("winrm", "ansible_winrm_transport=\"['kerberos', 'ntlm']\"", {"auth": "negotiate"}),
    ("winrm", "ansible_winrm_transport=credssp", {"auth": "credssp"}),
    ("psrp", "ansible_psrp_cert_validation=ignore", {"cert_validation": False}),
    ("psrp", "ansible_psrp_cert_validation=validate", {"cert_validation": True}),
    ("winrm", "ansible_winrm_server_cert_validation=ignore", {"cert_validation": False}),
    ("psrp", "ansible_psrp_ca_cert={pem}", {"ca_file": "{pem}"}),
    ("psrp", "ansible_psrp_cert_trust_path={pem}", {"ca_file": "{pem}"}),
    ("winrm", "ansible_winrm_ca_trust_path={pem}", {"ca_file": "{pem}"}),
    ("psrp", "ansible_psrp_ca_cert=/none ansible_psrp_cert_validation=ignore", {"ca_file": None}),
    ("psrp", "ansible_psrp_connection_timeout=20", {"connect_timeout": 20.0}),
    ("psrp", "ansible_psrp_operation_timeout=40", {"operation_timeout": 40}),
    ("psrp", "ansible_psrp_read_timeout=50", {"read_timeout": 50.0}),
    ("winrm", "ansible_winrm_operation_timeout_sec=40", {"operation_timeout": 40}),
    ("winrm", "ansible_winrm_read_timeout_sec=50", {"read_timeout": 50.0}),
    (
        "winrm",
        "ansible_winrm_connection_timeout=30 ansible_winrm_operation_timeout_sec=5",
        {"operation_timeout": 30, "read_timeout": 40.0, "connect_timeout": None},
    ),
    (
        "psrp",
        "ansible_psrp_auth=certificate ansible_psrp_certificate_pem={pem} "
        "ansible_psrp_certificate_key_pem={pem}",
        {"auth": "certificate", "certificate_pem": "{pem}", "certificate_key_pem": "{pem}"},
    ),
    (
        "winrm",
        "ansible_winrm_transport=certificate ansible_winrm_cert_pem={pem} "
        "ansible_winrm_cert_key_pem={pem}",
        {"auth": "certificate", "certificate_pem": "{pem}", "certificate_key_pem": "{pem}"},
    ),
    ("psrp", "ansible_psrp_certificate_pem=/none", {"certificate_pem": None}),
    ("psrp", "ansible_psrp_path=/wsman/", {}),
    ("winrm", "ansible_winrm_path=/wsman", {}),
    ("psrp", "ansible_psrp_message_encryption=auto", {}),
    ("psrp", "ansible_psrp_message_encryption=always ansible_psrp_protocol=http", {"ssl": False}),
    ("psrp", "ansible_psrp_message_encryption=never", {}),
    ("psrp", "ansible_psrp_configuration_name=microsoft.powershell", {}),
    ("psrp", "ansible_psrp_negotiate_send_cbt=yes ansible_psrp_credssp_minimum_version=2", {}),
    ("psrp", "ansible_psrp_reconnection_retries=3 ansible_psrp_max_envelope_size=512000", {}),
    ("psrp", "ansible_winrm_transport=bogus ansible_winrm_path=/other", {}),  # winrm's, not psrp's
    ("ansible.builtin.psrp", "", {"skip": None}),
    ("ansible.legacy.winrm", "", {"skip": None}),
]


@pytest.mark.parametrize(
    ("connection", "settings", "expected"), MAPPED, ids=[f"{c} {s}" for c, s, _ in MAPPED]
)
def test_each_variable_maps_onto_the_target(
    tmp_path: Path, pem: str, connection: str, settings: str, expected: dict[str, object]
) -> None:
    target = one(tmp_path, connection, settings.replace("{pem}", pem))
    got = {name: getattr(target, name) for name in expected}
    assert got == {
        k: v.replace("{pem}", pem) if isinstance(v, str) else v for k, v in expected.items()
    }


REFUSED = [
    # (connection, settings, the message after "hosts.ini:2: pc01: ")
    ("psrp", "ansible_port=abc", "ansible_port 'abc' is not a port number"),
    ("psrp", "ansible_port=0", "ansible_port 0 is not a port number"),
    ("psrp", "ansible_port=70000", "ansible_port 70000 is not a port number"),
    ("psrp", "ansible_port=True", "ansible_port True is not a port number"),
    ("psrp", "ansible_host='pc 01'", "ansible_host 'pc 01' is not a valid host name"),
    ("psrp", "ansible_host=http://pc01/", "ansible_host 'http://pc01/': give the PC's name"),
    ("psrp", "ansible_user=[1]", "ansible_user must be text, not a list"),
    ("psrp", "ansible_psrp_protocol=ftp", "ansible_psrp_protocol 'ftp' is not one of http, https"),
    ("winrm", "ansible_winrm_scheme=ftp", "ansible_winrm_scheme 'ftp' is not one of http, https"),
    (
        "psrp",
        "ansible_psrp_auth=digest",
        "ansible_psrp_auth 'digest' is not an authentication qbd-fix knows (use one of basic, certificate, credssp, kerberos, negotiate, ntlm)",
    ),
    (
        "psrp",
        "ansible_psrp_auth=ntlm,kerberos",
        "ansible_psrp_auth 'ntlm,kerberos' is not an authentication",
    ),
    (
        "winrm",
        "ansible_winrm_transport=ssl",
        "ansible_winrm_transport 'ssl' is not an authentication",
    ),
    (
        "winrm",
        "ansible_winrm_transport=ntlm,credssp",
        "ansible_winrm_transport 'ntlm,credssp' names several ways to log in; qbd-fix uses one per PC: name one",
    ),
    (
        "psrp",
        "ansible_psrp_cert_validation=maybe",
        "ansible_psrp_cert_validation 'maybe' is not one of validate, ignore",
    ),
    (
        "winrm",
        "ansible_winrm_server_cert_validation=no",
        "ansible_winrm_server_cert_validation 'no' is not one of validate, ignore",
    ),
    (
        "psrp",
        "ansible_psrp_ca_cert=/nonexistent.pem",
        "ansible_psrp_ca_cert '/nonexistent.pem': no such file",
    ),
    (
        "winrm",
        "ansible_winrm_ca_trust_path=/",
        "ansible_winrm_ca_trust_path '/' is a folder: give one PEM file",
    ),
    (
        "psrp",
        "ansible_psrp_auth=certificate ansible_psrp_certificate_pem=/none.pem",
        "ansible_psrp_certificate_pem '/none.pem': no such file",
    ),
    (
        "psrp",
        "ansible_psrp_path=/other",
        "ansible_psrp_path '/other': qbd-fix connects to /wsman only",
    ),
    (
        "winrm",
        "ansible_winrm_path=wsman2",
        "ansible_winrm_path 'wsman2': qbd-fix connects to /wsman only",
    ),
    (
        "psrp",
        "ansible_psrp_proxy=http://proxy:3128",
        "ansible_psrp_proxy is set: qbd-fix connects to PCs directly, never through a proxy",
    ),
    ("winrm", "ansible_winrm_proxy=http://proxy:3128", "ansible_winrm_proxy is set"),
    (
        "psrp",
        "ansible_psrp_message_encryption=always",
        "ansible_psrp_message_encryption 'always' cannot be honoured: over HTTPS qbd-fix relies on TLS alone (use auto)",
    ),
    (
        "winrm",
        "ansible_winrm_message_encryption=never ansible_winrm_scheme=http",
        "ansible_winrm_message_encryption 'never' cannot be honoured: over HTTP qbd-fix always encrypts messages (use auto)",
    ),
    (
        "psrp",
        "ansible_psrp_message_encryption=sometimes",
        "ansible_psrp_message_encryption 'sometimes' is not one of auto, always, never",
    ),
    (
        "psrp",
        "ansible_psrp_configuration_name=JEA.Maintenance",
        "ansible_psrp_configuration_name 'JEA.Maintenance' cannot be honoured: qbd-fix only does Microsoft.PowerShell",
    ),
    (
        "psrp",
        "ansible_psrp_negotiate_send_cbt=false",
        "ansible_psrp_negotiate_send_cbt 'false' cannot be honoured: qbd-fix only does true",
    ),
    (
        "psrp",
        "ansible_psrp_negotiate_delegate=yes",
        "ansible_psrp_negotiate_delegate 'yes' cannot be honoured: qbd-fix only does false",
    ),
    (
        "psrp",
        "ansible_psrp_negotiate_hostname_override=pc01.corp",
        "ansible_psrp_negotiate_hostname_override 'pc01.corp' cannot be honoured: qbd-fix only does unset",
    ),
    (
        "psrp",
        "ansible_psrp_credssp_minimum_version=5",
        "ansible_psrp_credssp_minimum_version 5 cannot be honoured: qbd-fix only does 2",
    ),
    (
        "psrp",
        "ansible_psrp_negotiate_service=HTTP",
        "ansible_psrp_negotiate_service 'HTTP' cannot be honoured: qbd-fix only does WSMAN",
    ),
    (
        "winrm",
        "ansible_winrm_kerberos_delegation=true",
        "ansible_winrm_kerberos_delegation 'true' cannot be honoured: qbd-fix only does false",
    ),
    (
        "winrm",
        "ansible_winrm_send_cbt=no",
        "ansible_winrm_send_cbt 'no' cannot be honoured: qbd-fix only does true",
    ),
    (
        "psrp",
        "ansible_psrp_negotiate_delegate=perhaps",
        "ansible_psrp_negotiate_delegate 'perhaps' is not true or false",
    ),
    (
        "psrp",
        "ansible_psrp_connection_timeout=0",
        "ansible_psrp_connection_timeout 0 is not a number of seconds from 1 to 600",
    ),
    (
        "psrp",
        "ansible_psrp_connection_timeout=soon",
        "ansible_psrp_connection_timeout 'soon' is not a number of seconds",
    ),
    (
        "psrp",
        "ansible_psrp_operation_timeout=4000",
        "ansible_psrp_operation_timeout 4000 is not a number of seconds from 1 to 3600",
    ),
    (
        "psrp",
        "ansible_psrp_operation_timeout=2.5",
        "ansible_psrp_operation_timeout 2.5 is not a whole number of seconds",
    ),
    (
        "psrp",
        "ansible_psrp_operation_timeout=30 ansible_psrp_read_timeout=30",
        "ansible_psrp_read_timeout 30 must be more than the operation timeout (30)",
    ),
    (
        "winrm",
        "ansible_winrm_read_timeout_sec=10",
        "ansible_winrm_read_timeout_sec 10 must be more than the operation timeout",
    ),
    (
        "psrp",
        "ansible_user='{{ admin }}'",
        "ansible_user '{{ admin }}' is a template, which only Ansible evaluates",
    ),
]


@pytest.mark.parametrize(
    ("connection", "settings", "problem"), REFUSED, ids=[f"{c} {s}" for c, s, _ in REFUSED]
)
def test_values_that_cannot_be_honoured_are_refused_with_the_reason(
    tmp_path: Path, connection: str, settings: str, problem: str
) -> None:
    if "read_timeout_sec=10" in settings:
        settings += " ansible_winrm_operation_timeout_sec=20"
    path = write(tmp_path, "hosts.ini", f"[win]\npc01 ansible_connection={connection} {settings}\n")
    assert error(path).startswith(f"hosts.ini:2: pc01: {problem}")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("pc01", "no ansible_connection: Ansible would reach it over ssh"),
        (
            "pc01 ansible_connection=ssh ansible_port=abc",
            "ansible_connection is 'ssh', not psrp or winrm",
        ),
        ("pc01 ansible_connection=local", "ansible_connection is 'local', not psrp or winrm"),
        (
            "pc01 ansible_connection=community.vmware.vmware_tools",
            "ansible_connection is 'community.vmware.vmware_tools'",
        ),
    ],
)
def test_other_connections_are_skipped_with_a_reason(
    tmp_path: Path, line: str, reason: str
) -> None:
    (target,) = load(write(tmp_path, "hosts.ini", f"[linux]\n{line}\n"))
    assert target.skip is not None and target.skip.startswith(reason)
    assert target.groups == ("linux",) and target.source == "hosts.ini:2"


def test_a_problem_from_a_vars_file_names_that_file(tmp_path: Path) -> None:
    write(tmp_path, "group_vars/win.yml", "ansible_connection: psrp\nansible_port: [5986]\n")
    write(tmp_path, "group_vars/win2/a.yml", "x: [unclosed\n")
    path = write(tmp_path, "hosts.ini", "[win]\npc01\n")
    assert error(path) == "group_vars/win.yml: pc01: ansible_port [5986] is not a port number"
    path = write(tmp_path, "hosts2.ini", "[win2]\npc01\n")
    assert error(path).startswith("group_vars/win2/a.yml:2: not valid YAML")
    write(tmp_path, "host_vars/pc09.yml", "- a list\n")
    path = write(tmp_path, "hosts3.ini", "[other]\npc09\n")
    assert error(path) == "host_vars/pc09.yml: expected variables (name: value), not a list or text"


def test_names_that_would_leave_the_vars_folder_are_not_looked_up(tmp_path: Path) -> None:
    write(tmp_path, "secret.yml", "ansible_connection: psrp\n")
    path = write(tmp_path, "vars/hosts.yml", "g:\n  hosts:\n    ../secret:\n")
    (tmp_path / "vars" / "host_vars").mkdir()
    (target,) = load(path)
    assert target.skip is not None  # host_vars/../secret.yml was not read


# -- templates (for inventories read through Ansible) ---------------------------------------


def evaluate(variables: dict[str, object], name: str, groups: tuple[str, ...] = ("win",)) -> object:
    values = {key: Value(value, "x") for key, value in variables.items()}
    return templates.render("pc01.corp", groups, values, name)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ inventory_hostname }}", "pc01.corp"),
        ("{{ inventory_hostname_short }}.lan", "pc01.lan"),
        ("{{ user | upper }}", "QBD"),
        ("{{ missing | default('x') }}", "x"),
        ("{{ 'http' if 'win' in group_names else 'https' }}", "http"),
        ("{{ nested }}", "qbd-pc01.corp"),
        ("{{ users['a'] ~ '/' ~ users.b }}", "1/2"),
        ("{{ 5985 }}", "5985"),
    ],
)
def test_plain_templates_are_evaluated(template: str, expected: str) -> None:
    variables = {
        "t": template,
        "user": "qbd",
        "nested": "{{ user }}-{{ inventory_hostname }}",
        "users": {"a": 1, "b": 2},
    }
    assert evaluate(variables, "t") == expected


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{{ lookup('env', 'HOME') }}", "it uses call"),
        ("{{ x | regex_replace('a', 'b') }}", "it uses the filter 'regex_replace'"),
        ("{{ hostvars['pc02'].x }}", "'hostvars' is undefined"),
        ("{% for i in range(9) %}x{% endfor %}", "it uses for"),
        ("{{ 'x' * 100000000 }}", "it uses mul"),
        ("{{ loop_a }}", "refers to itself"),
        ("{{ undefined_name }}", "'undefined_name' is undefined"),
        ("{{ ''.__class__ }}", "it failed to evaluate"),
        ("{{ unclosed", "it is not a valid template"),
        ("{{ vaulted }}", "it refers to 'vaulted', which is vault-encrypted inline"),
    ],
)
def test_other_templates_are_refused_with_what_they_use(template: str, reason: str) -> None:
    from qbd_fix.fleet.ansible.model import VAULT

    variables = {
        "t": template,
        "loop_a": "{{ loop_b }}",
        "loop_b": "{{ loop_a }}",
        "vaulted": VAULT,
    }
    with pytest.raises(templates.TemplateError, match=reason.replace("(", r"\(")):
        evaluate(variables, "t")


def test_a_refused_template_is_one_line_naming_the_variable() -> None:
    variables = {
        "ansible_connection": Value("psrp", "inv (ansible-inventory)"),
        "ansible_host": Value(
            "{{ inventory_hostname | regex_replace('x', 'y') }}", "inv (ansible-inventory)"
        ),
    }
    with pytest.raises(UsageError) as caught:
        to_target("pc01", variables, source="inv", groups=[], group=None, render=templates.render)
    assert caught.value.message == (
        "inv (ansible-inventory): pc01: ansible_host \"{{ inventory_hostname | regex_replace('x', "
        "'y') }}\" is a template qbd-fix does not evaluate (it uses the filter 'regex_replace'): "
        "give it a plain value in the inventory"
    )
