"""Exports for RMM agents and Ansible: the body, the file rules, the README, the folder, the CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from qbd_fix.cli.app import app
from qbd_fix.errors import UsageError
from qbd_fix.exports.ansible import ROLE, role_files, variable
from qbd_fix.exports.bundle import REDACTED, baked_values, write_export
from qbd_fix.exports.rmm import export_files
from qbd_fix.exports.script import body_of, build, environment_name
from qbd_fix.exports.targets import ANSIBLE_TARGET, RMM_TARGETS, TARGETS
from qbd_fix.remediations import REMEDIATIONS, get
from qbd_fix.script.params import ScriptParameter
from qbd_fix.script.quote import ps_string

runner = CliRunner()
REQUIRED = {"reinstall-connector": {"Installer": "https://example.com/setup.exe"}}
#: Every single-quote character PowerShell knows, a subexpression, backticks, non-ASCII.
HOSTILE = "a'\u2018\u2019\u201a\u201b $(Get-Date) `n `$x; & | \u00e9 \U0001f600"


@pytest.mark.parametrize("name", list(REMEDIATIONS))
def test_the_body_is_the_rendered_script_for_every_target_and_values(name: str) -> None:
    remediation = get(name)
    expected = remediation.render().text
    values = REQUIRED.get(name, {})
    bodies = {body_of(build(remediation, values, target).text) for target in TARGETS.values()}
    if any(p.name == "ClientName" for p in remediation.flagged):
        hostile = {**values, "ClientName": "O\u2019Brien \u2013 B\u00fccher"}
        bodies |= {body_of(build(remediation, hostile, t).text) for t in TARGETS.values()}
    assert bodies == {expected}


@pytest.mark.parametrize("target", list(TARGETS))
def test_files_are_ascii_crlf_and_carry_a_bom_except_for_tactical_and_intune(target: str) -> None:
    export = build(get("restart-tasks"), {"ClientName": HOSTILE.replace("`n", "")}, TARGETS[target])
    data = export.file_bytes()
    bom = data.startswith(b"\xef\xbb\xbf")
    assert bom is (target not in ("tactical", "intune"))
    text = data.removeprefix(b"\xef\xbb\xbf")
    text.decode("ascii")
    assert b"\n" not in text.replace(b"\r\n", b"")
    assert b"\r" not in text.replace(b"\r\n", b"")


def test_baked_values_reach_the_file_only_through_the_quoting_function() -> None:
    value = HOSTILE
    export = build(get("restart-tasks"), {"ClientName": value}, RMM_TARGETS["generic"])
    literal = ps_string(value, ascii_only=True)
    assert f"[string] $ClientName = {literal}," in export.text
    assert "$(Get-Date)" not in export.text.replace(literal, "")


def test_ascii_quoting_writes_char_codes() -> None:
    assert ps_string("\u00e9", ascii_only=True) == "('' + [char]233)"
    assert ps_string("a\u2019b", ascii_only=True) == "('a' + [char]8217 + 'b')"
    assert ps_string("\U0001f600", ascii_only=True) == "('' + [char]55357 + [char]56832)"
    assert ps_string("a\u2019b") == "'a\u2019\u2019b'"


@pytest.mark.parametrize(
    ("target", "codes", "should_exit"),
    [
        ("tactical", ("return 1 ", "return 3 ", "return 0 "), True),
        ("ninjaone", ("return 1 ", "return 3 ", "return 0 "), False),
        ("datto", ("return 1 ", "return 3 ", "return 0 "), False),
        ("nsight", ("return 1001 ", "return 1003 ", "return 0 "), False),
        ("generic", ("return 1 ", "return 3 ", "return 0 "), False),
    ],
)
def test_exit_code_maps(target: str, codes: tuple[str, str, str], should_exit: bool) -> None:
    text = build(get("webroot-whitelist"), {}, TARGETS[target]).text
    failed, needs, ok = codes
    assert f"'failed' {{ {failed}}}" in text
    assert f"'needs_user_action' {{ {needs}}}" in text
    assert f"default {{ {ok}}}" in text
    assert ("$host.SetShouldExit($Code)" in text) is should_exit
    assert "    exit $Code" in text


def test_the_ansible_script_never_exits_and_sets_the_ansible_variable() -> None:
    text = build(get("webroot-whitelist"), {}, ANSIBLE_TARGET).text
    assert "exit $Code" not in text
    assert "$engine.Failed = ($Status -eq 'failed')" in text
    assert "[CmdletBinding(SupportsShouldProcess = $true)]" in text.split("$QbdExportBody")[0]


def test_environment_inputs_only_for_engines_that_pass_variables() -> None:
    for name, target in RMM_TARGETS.items():
        text = build(get("restart-tasks"), {}, target).text
        assert ("Read-QbdExportEnvironment -Inputs" in text) is (name != "nsight")


def test_environment_names_follow_the_flags() -> None:
    remediation = get("restart-tasks")
    names = [environment_name(p) for p in remediation.flagged]
    assert names == ["QBD_CLIENT_NAME", "QBD_TASK_TIMEOUT", "QBD_RESTART_IF_UNHEALTHY"]


def test_rmm_export_files_readme_and_manifest() -> None:
    files = export_files(get("restart-tasks"), {"ClientName": "O'Brien"}, RMM_TARGETS["ninjaone"])
    assert set(files) == {"restart-tasks.ps1", "README.md", "manifest.json"}
    readme = files["README.md"].decode("utf-8")
    for text in (
        "QBD_CLIENT_NAME",
        "QBD_CLIENT_NAME_B64",
        "QBD_TIME_BUDGET_SECONDS",
        "360 seconds",
    ):
        assert text in readme
    assert "| 3 | needs a person" in readme
    manifest = json.loads(files["manifest.json"])
    assert manifest["remediation"] == "restart-tasks" and manifest["target"] == "ninjaone"
    assert manifest["values"]["ClientName"] == "O'Brien"
    assert manifest["timeout_seconds"] == 360
    for name, digest in manifest["files"].items():
        assert hashlib.sha256(files[name]).hexdigest() == digest


def test_nsight_readme_warns_about_its_script_size_limit() -> None:
    files = export_files(get("restart-tasks"), {}, RMM_TARGETS["nsight"])
    assert "65535" in files["README.md"].decode("utf-8")
    assert "| 1003 |" in files["README.md"].decode("utf-8")


def test_secrets_are_redacted_in_the_manifest() -> None:
    secret = ScriptParameter("Token", "string", "", "A token", secret=True)
    plain = ScriptParameter("Name", "string", "", "A name")
    assert baked_values([secret, plain], {"Token": "s3cr3t", "Name": "x"}) == {
        "Token": REDACTED,
        "Name": "x",
    }


def test_write_export_refuses_a_folder_with_other_files(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    files = export_files(get("restart-tasks"), {}, RMM_TARGETS["generic"])
    write_export(folder, files)
    write_export(folder, files)  # an earlier export of ours may be replaced
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match=r"notes\.txt"):
        write_export(folder, files)
    assert (folder / "notes.txt").read_text() == "mine"
    other = tmp_path / "other"
    other.mkdir()
    (other / "restart-tasks.ps1").write_text("someone else's")
    with pytest.raises(UsageError):
        write_export(other, files)
    assert (other / "restart-tasks.ps1").read_text() == "someone else's"


def test_a_new_export_replaces_an_earlier_one_but_keeps_edited_files(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    write_export(folder, export_files(get("restart-tasks"), {}, RMM_TARGETS["generic"]))
    write_export(folder, export_files(get("webroot-whitelist"), {}, RMM_TARGETS["generic"]))
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md",
        "manifest.json",
        "webroot-whitelist.ps1",
    ]
    (folder / "webroot-whitelist.ps1").write_text("edited by hand")
    with pytest.raises(UsageError, match="webroot-whitelist"):
        write_export(folder, export_files(get("restart-tasks"), {}, RMM_TARGETS["generic"]))
    assert (folder / "webroot-whitelist.ps1").read_text() == "edited by hand"


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_export_rmm_writes_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "tactical"
    code, stdout, _ = invoke(
        "export", "rmm", "restart-tasks", "--client-name", "Acme", "--task-timeout", "90",
        "--target", "tactical", "--output", str(out),
    )  # fmt: skip
    assert code == 0, stdout
    script = (out / "restart-tasks.ps1").read_bytes()
    assert not script.startswith(b"\xef\xbb\xbf")
    assert b"[string] $ClientName = 'Acme'," in script
    assert b"[int] $TaskTimeoutSeconds = 90," in script
    assert json.loads((out / "manifest.json").read_text())["target"] == "tactical"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "kaseya"], "--target"),
        (["--target", "datto", "--task-timeout", "9999"], "--task-timeout"),
        (["--target", "datto", "--client-name", "a\nb"], "--client-name"),
    ],
)
def test_cli_export_rmm_refuses_bad_input(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "x"
    code, stdout, stderr = invoke("export", "rmm", "restart-tasks", *args, "--output", str(out))
    assert code == 2
    lines = [line for line in (stdout + stderr).splitlines() if line.strip()]
    assert any(message in line for line in lines)
    assert not out.exists()


def test_cli_export_rmm_requires_what_the_fix_requires(tmp_path: Path) -> None:
    code, _, _ = invoke(
        "export", "rmm", "reinstall-connector", "--target", "generic", "-o", str(tmp_path / "r")
    )
    assert code == 2


def test_cli_export_refuses_a_folder_with_other_files(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    code, _, _ = invoke("export", "ansible", "--output", str(tmp_path))
    assert code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_ansible_role_files(tmp_path: Path) -> None:
    code, _, _ = invoke("export", "ansible", "--output", str(tmp_path))
    assert code == 0
    role = tmp_path / ROLE
    for name in REMEDIATIONS:
        script = build(get(name), {}, ANSIBLE_TARGET)
        assert (role / "files" / f"{name}.ps1").read_bytes() == script.file_bytes()
        tasks = yaml.safe_load((role / "tasks" / f"{name}.yml").read_text())
        run = tasks[0]["ansible.windows.win_powershell"]
        assert run["path"] == "{{ role_path }}/files/" + f"{name}.ps1"
        for p in get(name).flagged:
            assert f"'{p.name}': {variable(p)} |" in run["parameters"]
    main = yaml.safe_load((role / "tasks" / "main.yml").read_text())
    assert main[0]["ansible.builtin.include_tasks"] == "{{ qbd_fix_remediation }}.yml"
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())
    options = specs["argument_specs"]["main"]["options"]
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text())
    assert options["qbd_fix_remediation"]["choices"] == list(REMEDIATIONS)
    kinds = {"string": "str", "switch": "bool", "int": "int"}
    for remediation in REMEDIATIONS.values():
        for p in remediation.flagged:
            option = options[variable(p)]
            assert option["type"] == kinds[p.kind]
            assert option["default"] == p.default == defaults[variable(p)]
            assert option.get("no_log", False) is p.secret
            assert remediation.name in option["description"][-1]
    assert defaults["qbd_fix_time_budget_seconds"] is None
    site = yaml.safe_load((tmp_path / "site.yml").read_text())
    assert site[0]["roles"] == [{"role": "qbd_fix"}]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest


def test_role_files_are_deterministic() -> None:
    assert role_files() == role_files()


@pytest.mark.parametrize("name", list(REMEDIATIONS))
def test_baked_time_budget_is_the_rendered_scripts(name: str) -> None:
    from qbd_fix.exports.script import bind

    values = REQUIRED.get(name, {})
    rendered = get(name).render(values).parameters
    assert bind(get(name), values) == rendered
