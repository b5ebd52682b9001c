"""Inventory files, --host lists and --limit selection for fleet runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from qbd_fix.errors import UsageError
from qbd_fix.fleet import inventory
from qbd_fix.fleet.inventory import Target, load, select, targets_from_hosts


def write(tmp_path: Path, name: str, text: str, *, bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def error(path: Path) -> str:
    with pytest.raises(UsageError) as caught:
        load(path)
    message = caught.value.message
    assert "\n" not in message
    return message


def test_csv_with_bom_quotes_comments_blank_lines_and_unicode(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "fleet.csv",
        "# MSP inventory, exported from the PSA\n"
        "Host,Port,Client Name,username,password_env,auth,ssl,group,tags,notes\n"
        "\n"
        'pc01.acme.local,,"Codat Engineering - Integration",ACME\\admin,ACME_PW,ntlm,yes,acme,"front-desk;vip","has a ""red"" icon, often"\n'
        "   # a comment with, commas\n"
        "10.0.0.7,5985,Société Générale Ünïcode,,,,false,,,\n"
        '[fe80::1],,"O\'Brien & Sons, Ltd",,,,,,"a, b",\n'
        "\n",
        bom=True,
    )
    first, second, third = load(path)
    assert first == Target(
        host="pc01.acme.local",
        client_name="Codat Engineering - Integration",
        username="ACME\\admin",
        password_env="ACME_PW",
        auth="ntlm",
        ssl=True,
        group="acme",
        tags=("front-desk", "vip"),
        notes='has a "red" icon, often',
        source="fleet.csv:4",
    )
    assert (second.host, second.port, second.client_name, second.ssl) == (
        "10.0.0.7",
        5985,
        "Société Générale Ünïcode",
        False,
    )
    assert second.source == "fleet.csv:6"
    assert (third.host, third.client_name, third.tags) == (
        "fe80::1",
        "O'Brien & Sons, Ltd",
        ("a", "b"),
    )


def test_semicolon_delimited_csv_from_excel(tmp_path: Path) -> None:
    path = write(tmp_path, "fleet.csv", "host;client_name;tags\nPC01;Acme;a,b\n")
    (target,) = load(path)
    assert (target.host, target.client_name, target.tags) == ("PC01", "Acme", ("a", "b"))


@pytest.mark.parametrize("column", ["password", "Pass", "secret", "TOKEN"])
def test_password_column_refused_with_reason(tmp_path: Path, column: str) -> None:
    path = write(tmp_path, "fleet.csv", f"host,{column}\nPC01,hunter2-S3cret!\n")
    message = error(path)
    assert message.startswith("fleet.csv:1:")
    assert inventory.SECRET_REFUSAL in message
    assert "hunter2" not in message


def test_password_key_refused_in_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "fleet.toml", '[[hosts]]\nhost = "PC01"\npassword = "hunter2"\n')
    message = error(path)
    assert message.startswith("fleet.toml:1:") and inventory.SECRET_REFUSAL in message
    assert "hunter2" not in message
    path = write(tmp_path, "fleet.toml", '[defaults]\ntoken = "x"\n[[hosts]]\nhost = "PC01"\n')
    assert inventory.SECRET_REFUSAL in error(path)


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("PC01,70000,,", "bad port (not shown)"),
        ("PC01,0x10,,", "bad port"),
        ("PC01,,magic,", "unknown auth 'magic'"),
        (",5985,,", "empty host"),
        ("PC01,,,maybe", "bad ssl value 'maybe'"),
        ("pc 01,,,", "not a valid host name"),
        ("999.1.1.1,,,", "not a valid IPv4 address"),
        ("[PC01],,,", "only IPv6 addresses go in brackets"),
        ("fe80::zz,,,", "not a valid IPv6 address"),
        ("PC01,,,,extra", "5 fields but the header (line 1) has 4"),
    ],
)
def test_bad_rows_name_file_line_and_problem(tmp_path: Path, row: str, problem: str) -> None:
    path = write(tmp_path, "fleet.csv", f"host,port,auth,ssl\nPC00,,,\n{row}\n")
    message = error(path)
    assert message.startswith("fleet.csv:3: ") and problem in message


def test_unknown_column_and_missing_host_column(tmp_path: Path) -> None:
    assert "unknown column or key 'hots'" in error(write(tmp_path, "a.csv", "hots\nPC01\n"))
    assert "no 'host' column" in error(write(tmp_path, "b.csv", "client_name\nAcme\n"))
    assert "no header row" in error(write(tmp_path, "c.csv", "# only a comment\n\n"))


def test_duplicate_hosts_ignore_case_and_name_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "fleet.csv", "host,port\nPC01,\nPC02,\npc01,\n")
    message = error(path)
    assert message.startswith("fleet.csv:4:") and "fleet.csv:2" in message
    # the same PC on another port is another WinRM listener, so allowed
    path = write(tmp_path, "ports.csv", "host,port\nPC01,5985\npc01,5986\n")
    assert len(load(path)) == 2


def test_toml_with_defaults_and_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "fleet.toml",
        "# inventory\n"
        "[defaults]\n"
        'auth = "ntlm"\n'
        'password_env = "MSP_PW"\n'
        'group = "acme"\n'
        "\n"
        "[[hosts]]\n"
        'host = "PC01"\n'
        'client_name = "Acme Ltd – Büro"\n'
        'tags = ["front", "vip"]\n'
        "\n"
        "[[hosts]]\n"
        'host = "[2001:db8::10]"\n'
        "port = 5985\n"
        "ssl = false\n"
        'auth = "kerberos"\n'
        'group = "beta"\n',
    )
    first, second = load(path)
    assert first.source == "fleet.toml:7" and second.source == "fleet.toml:12"
    assert (first.auth, first.password_env, first.group, first.tags) == (
        "ntlm",
        "MSP_PW",
        "acme",
        ("front", "vip"),
    )
    assert first.client_name == "Acme Ltd – Büro"
    assert (second.host, second.port, second.ssl, second.auth, second.group) == (
        "2001:db8::10",
        5985,
        False,
        "kerberos",
        "beta",
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[[hosts]]\nhost = "PC01"\nport = "x"\n', "fleet.toml:1: bad port (not shown)"),
        ('[[hosts]]\nhost = "PC01"\n[[hosts]]\nhost = ""\n', "fleet.toml:3: empty host"),
        ('[[hosts]]\nhost = "PC01"\nssl = "perhaps"\n', "bad ssl value"),
        ('[[hosts]]\nhost = "PC01"\ncolour = "red"\n', "unknown column or key 'colour'"),
        ("[[hosts]\n", "not valid TOML"),
        ('[[servers]]\nhost = "PC01"\n', "unknown top-level key 'servers'"),
        ('[[hosts]]\nhost = "PC01"\n[[hosts]]\nhost = "pc01"\n', "fleet.toml:3: duplicate host"),
    ],
)
def test_bad_toml(tmp_path: Path, text: str, problem: str) -> None:
    assert problem in error(write(tmp_path, "fleet.toml", text))


def test_file_kinds(tmp_path: Path) -> None:
    assert "use a .csv, .toml, .ini, .yml or .yaml file" in error(
        write(tmp_path, "fleet.txt", "PC01\n")
    )
    assert "no such file" in error(tmp_path / "missing.csv")
    assert "lists no hosts" in error(write(tmp_path, "empty.csv", "host,group\n"))
    latin = tmp_path / "latin.csv"
    latin.write_bytes("host,client_name\nPC01,Soci\xe9t\xe9\n".encode("latin-1"))
    assert "not UTF-8" in error(latin)


def test_merge_keeps_per_host_values() -> None:
    target = Target(host="PC01", auth="kerberos", username=None, source="x.csv:2")
    merged = target.merge({"auth": "ntlm", "username": "admin", "ssl": True, "port": None})
    assert (merged.auth, merged.username, merged.ssl, merged.port) == (
        "kerberos",
        "admin",
        True,
        None,
    )
    assert merged.host == "PC01" and merged.source == "x.csv:2"
    with pytest.raises(ValueError, match="unknown target settings"):
        target.merge({"colour": "red"})


def test_targets_from_hosts() -> None:
    targets = targets_from_hosts(["PC01", "PC02, PC03,", "[::1]"])
    assert [t.host for t in targets] == ["PC01", "PC02", "PC03", "::1"]
    assert all(t.source == "--host" for t in targets)
    with pytest.raises(UsageError, match="given twice"):
        targets_from_hosts(["PC01", "pc01"])
    with pytest.raises(UsageError, match="names no PC"):
        targets_from_hosts([" , "])
    with pytest.raises(UsageError, match="not a valid host name"):
        targets_from_hosts(["PC 01"])


def test_limit_by_group_tag_and_glob() -> None:
    targets = [
        Target(host="ACME-PC01", group="acme", tags=("vip",)),
        Target(host="acme-pc02", group="acme"),
        Target(host="BETA-PC01", group="Beta", tags=("VIP", "night")),
        Target(host="gamma-01"),
    ]

    def hosts(limit: list[str]) -> list[str]:
        return [t.host for t in select(targets, limit)]

    assert hosts(["ACME"]) == ["ACME-PC01", "acme-pc02"]
    assert hosts(["vip"]) == ["ACME-PC01", "BETA-PC01"]
    assert hosts(["*-pc01"]) == ["ACME-PC01", "BETA-PC01"]
    assert hosts(["beta,gamma-0?"]) == ["BETA-PC01", "gamma-01"]
    assert hosts(["night", "acme-pc02"]) == ["acme-pc02", "BETA-PC01"]
    assert hosts([]) == [t.host for t in targets]
    with pytest.raises(UsageError, match=r"--limit 'delta' matches no host.*groups: Beta, acme"):
        select(targets, ["delta"])
    with pytest.raises(UsageError, match="'typo' matches no host"):
        select(targets, ["acme,typo"])


def test_inventory_and_runner_share_one_list_of_auth_kinds() -> None:
    from qbd_fix.runners import remote

    assert inventory.AUTH_KINDS is remote.AUTH_KINDS
