"""Connection settings as a library: one check, worded as the user gave each setting."""

from __future__ import annotations

import dataclasses

import pytest

from qbd_fix.connection import Connections, ConnectionSettings, read_passwords
from qbd_fix.errors import UsageError
from qbd_fix.fleet.inventory import Target


@pytest.mark.parametrize(
    ("flags", "row", "message"),
    [
        # all from flags: flags' wording, no row
        ({"auth": "basic", "ssl": False}, {}, "--auth basic over --no-ssl is refused"),
        # all from the row: its columns
        ({}, {"auth": "basic", "ssl": False}, "auth=basic over ssl=false is refused"),
        # mixed: each as it was given
        ({"ssl": False}, {"auth": "basic"}, "auth=basic over --no-ssl is refused"),
        ({"auth": "basic"}, {"ssl": False}, "--auth basic over ssl=false is refused"),
        ({}, {"port": 70000}, "port=70000 is not between 1 and 65535"),
        ({}, {"auth": "ntlm"}, "auth=ntlm needs a user name: a username column or --username"),
        ({"username": "u"}, {"connect_timeout": 0.0}, "connect_timeout=0.0 must be more than 0"),
    ],
)
def test_errors_name_columns_and_flags_as_given(
    flags: dict[str, object], row: dict[str, object], message: str
) -> None:
    given = ConnectionSettings(**flags).with_row(row, "pcs.csv:3 (pc02)")  # type: ignore[arg-type]
    with pytest.raises(UsageError) as err:
        dataclasses.replace(given, host="pc02").check()
    assert err.value.message.startswith(f"pcs.csv:3 (pc02): {message}")


def test_a_row_wins_over_the_command_line() -> None:
    flags = ConnectionSettings(port=5986, username="flag-user", auth="ntlm")
    mine = flags.with_row({"port": 15985, "ssl": False, "username": None}, "pcs.csv:2 (pc01)")
    assert (mine.port, mine.ssl, mine.username, mine.auth) == (15985, False, "flag-user", "ntlm")
    assert mine.from_row == {"port", "ssl"}
    with pytest.raises(ValueError, match="not per-PC settings: host"):
        flags.with_row({"host": "elsewhere"}, "x")


def test_settings_without_a_pc_refuse_remote_only_flags() -> None:
    ConnectionSettings().check()  # nothing given: fine, this PC runs the script
    with pytest.raises(UsageError, match="--port, --username go\\(es\\) with --host"):
        ConnectionSettings(port=5985, username="u").check()


def test_one_password_read_per_variable_and_asked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SET_PW", "from-env")
    monkeypatch.delenv("UNSET_PW", raising=False)
    asked: list[tuple[str, int]] = []

    def ask(name: str, count: int) -> str:
        asked.append((name, count))
        return "typed"

    settings = {
        ConnectionSettings(username="u", password_env="SET_PW"): 3,
        ConnectionSettings(username="u", password_env="UNSET_PW"): 2,
        ConnectionSettings(username="u", password_env="UNSET_PW", port=1): 1,
        ConnectionSettings(auth="kerberos", password_env="KRB_PW"): 1,
    }
    passwords = read_passwords(settings, ask)
    assert passwords == {"SET_PW": "from-env", "UNSET_PW": "typed", "KRB_PW": None}
    assert asked == [("UNSET_PW", 3)]


def test_a_fleet_checks_each_kind_of_row_once_and_refuses_duplicates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QBD_FIX_PASSWORD", "pw")
    settings = ConnectionSettings(username="u")
    rows = [
        Target(host="pc01", source="pcs.csv:2"),
        Target(host="pc02", port=15985, ssl=False, source="pcs.csv:3"),
    ]
    made = Connections(settings, rows)
    assert made(rows[1]).address == "pc02:15985"
    assert made.port(rows[0]) == 5986 and made.secrets == ["pw"]
    twice = [*rows, Target(host="PC01", port=5986, source="pcs.csv:4")]
    with pytest.raises(UsageError, match=r"pcs\.csv:4: duplicate host 'PC01:5986'"):
        Connections(settings, twice)


def test_an_inventory_s_own_settings_reach_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QBD_FIX_PASSWORD", "pw")
    row = Target(
        host="pc01",
        source="hosts.ini:3",
        cert_validation=False,
        connect_timeout=7.0,
        operation_timeout=20,
        read_timeout=40.0,
        password="from-the-inventory",
    )
    made = Connections(ConnectionSettings(username="u"), [row])
    conn = made(row)
    assert (conn.cert_validation, conn.connect_timeout, conn.operation_timeout) == (False, 7.0, 20)
    assert conn.effective_read_timeout == 40.0 and conn.password == "from-the-inventory"
    assert made.passwords == {}, "no variable is read for a PC whose inventory has a password"
    assert "from-the-inventory" in made.secrets
    short = dataclasses.replace(row, read_timeout=10.0)
    with pytest.raises(
        UsageError, match=r"hosts\.ini:3 \(pc01\): read_timeout=10\.0 must be longer"
    ):
        Connections(ConnectionSettings(username="u"), [short])
