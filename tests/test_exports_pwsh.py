"""Exported scripts run under real PowerShell 7: exit codes, environment inputs, $Ansible.

Most cases run in one PowerShell process (a driver calls each exported file and records its
exit code, output and ``$Ansible``), since each start of pwsh costs seconds. The remediation
script in the middle is replaced by a stand-in that reports the values it received and the
status asked of it, so the adapters, which are the real ones, can be seen end to end; one
case runs the real body. Tactical RMM's ``$host.SetShouldExit`` runs in a process of its own.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from qbd_fix.exports.script import build
from qbd_fix.exports.targets import ANSIBLE_TARGET, RMM_TARGETS, TARGETS
from qbd_fix.remediations import get
from tests.support.exports import PWSH, with_stand_in

QUOTES = "'\u2018\u2019\u201a\u201b"


pytestmark = pytest.mark.skipif(not PWSH.is_file(), reason=f"no PowerShell at {PWSH}")


_DRIVER = r"""
param([string] $Cases, [string] $Out)
$results = @()
foreach ($case in @(Get-Content -Raw -LiteralPath $Cases | ConvertFrom-Json)) {
    $names = @($case.env.PSObject.Properties | ForEach-Object { $_.Name })
    foreach ($p in $case.env.PSObject.Properties) { [Environment]::SetEnvironmentVariable($p.Name, [string]$p.Value) }
    $splat = @{}
    foreach ($p in $case.args.PSObject.Properties) { $splat[$p.Name] = $p.Value }
    $global:LASTEXITCODE = 0
    $Ansible = $null
    # Last case only: there is no way back to FullLanguage.
    if ($case.clm) { $ExecutionContext.SessionState.LanguageMode = 'ConstrainedLanguage' }
    if ($case.ansible) {
        # ansible.windows.win_powershell runs the script text, not a file, with $Ansible set.
        $Ansible = [pscustomobject]@{ Result = $null; Changed = $true; Failed = $false; CheckMode = $false }
        $block = [scriptblock]::Create((Get-Content -Raw -LiteralPath $case.file))
        $lines = @(& $block @splat 2>&1 | ForEach-Object { [string]$_ })
    } else {
        $lines = @(& $case.file @splat 2>&1 | ForEach-Object { [string]$_ })
    }
    $record = [ordered]@{ name = $case.name; code = $LASTEXITCODE; lines = $lines }
    if ($null -ne $Ansible) {
        $record.ansible = [ordered]@{ changed = $Ansible.Changed; failed = $Ansible.Failed; result = $Ansible.Result }
    }
    $results += $record
    foreach ($name in $names) { Remove-Item -LiteralPath ('env:' + $name) -ErrorAction SilentlyContinue }
}
ConvertTo-Json -InputObject @($results) -Depth 8 | Set-Content -LiteralPath $Out -Encoding utf8
"""


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


HOSTILE = f"{QUOTES} $(New-Item -ItemType File -Path MARKER) `whoami` ; & | \u00e9"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    root = tmp_path_factory.mktemp("exports")
    marker = root / "marker"
    hostile = HOSTILE.replace("MARKER", str(marker))
    rt = get("restart-tasks")
    files: dict[str, Path] = {}

    def write(name: str, text: str, *, bom: bool = True) -> Path:
        path = root / f"{name}.ps1"
        data = text.replace("\n", "\r\n").encode("ascii")
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
        files[name] = path
        return path

    for target in TARGETS.values():
        write(target.name, with_stand_in(build(rt, {}, target)))
    baked = "O\u2019Brien \u2013 B\u00fccher \U0001f600 " + QUOTES
    write("baked", with_stand_in(build(rt, {"ClientName": baked}, RMM_TARGETS["generic"])))
    write("real", build(rt, {}, RMM_TARGETS["generic"]).text)
    write("real-ansible", build(rt, {}, ANSIBLE_TARGET).text)

    cases: list[dict[str, Any]] = []

    def case(name: str, file: str, *, env: dict[str, str] | None = None, **kw: Any) -> None:
        args = kw.pop("args", {})
        cases.append({"name": name, "file": str(files[file]), "env": env or {}, "args": args, **kw})

    for target in ("ninjaone", "datto", "nsight", "generic"):
        for status in ("ok", "changed", "failed", "needs_user_action"):
            case(f"{target}-{status}", target, env={"FAKE_STATUS": status})
    for status in ("ok", "changed", "failed", "needs_user_action"):
        case(f"ansible-{status}", "ansible", env={"FAKE_STATUS": status}, ansible=True)
    case(
        "ansible-whatif", "ansible", env={"FAKE_STATUS": "ok"}, ansible=True,
        args={"WhatIf": True},
    )  # fmt: skip
    case(
        "ansible-parameters", "ansible", env={"FAKE_STATUS": "ok"}, ansible=True,
        args={"ClientName": hostile, "RestartIfUnhealthy": True},
    )  # fmt: skip
    env_ok = {
        "FAKE_STATUS": "ok",
        "QBD_CLIENT_NAME": hostile,
        "QBD_TASK_TIMEOUT": " 42 ",
        "QBD_RESTART_IF_UNHEALTHY": "Yes",
        "QBD_TIME_BUDGET_SECONDS": "",
    }
    for target in ("ninjaone", "datto", "generic"):
        case(f"{target}-env", target, env=env_ok)
    case("generic-b64", "generic", env={"FAKE_STATUS": "ok", "QBD_CLIENT_NAME_B64": _b64(hostile)})
    case("nsight-env-ignored", "nsight", env=env_ok)
    case("generic-args", "generic", env={"FAKE_STATUS": "ok"}, args={"ClientName": hostile})
    bad = {
        "newline": {"QBD_CLIENT_NAME_B64": _b64("line one\nline two $(whoami)")},
        "range": {"QBD_TASK_TIMEOUT": "9999"},
        "not-a-number": {"QBD_TASK_TIMEOUT": "$(exit 0)"},
        "not-a-switch": {"QBD_RESTART_IF_UNHEALTHY": "maybe"},
        "both-forms": {"QBD_CLIENT_NAME": "a", "QBD_CLIENT_NAME_B64": _b64("a")},
        "not-base64": {"QBD_CLIENT_NAME_B64": "%%%"},
        "not-utf8": {"QBD_CLIENT_NAME_B64": base64.b64encode(b"\xff\xfe").decode()},
    }
    for name, env in bad.items():
        case(f"bad-{name}", "datto", env={"FAKE_STATUS": "ok", **env})
    case(
        "bad-given-twice", "generic", env={"FAKE_STATUS": "ok", "QBD_CLIENT_NAME": "a"},
        args={"ClientName": "b"},
    )  # fmt: skip
    relaunched = {"ClientName": "x'y", "TaskTimeoutSeconds": 5, "RestartIfUnhealthy": True}
    case(
        "relaunched", "generic",
        env={"FAKE_STATUS": "ok", "QBD_EXPORT_VALUES": json.dumps(relaunched),
             "QBD_CLIENT_NAME": "ignored"},
    )  # fmt: skip
    case(
        "relaunched-bad", "generic",
        env={"FAKE_STATUS": "ok", "QBD_EXPORT_VALUES": json.dumps({"TaskTimeoutSeconds": 9999})},
    )  # fmt: skip
    case("baked", "baked", env={"FAKE_STATUS": "ok"})
    case("real", "real")
    case("real-ansible", "real-ansible", ansible=True)
    case("constrained", "datto", env={"QBD_TASK_TIMEOUT": "5"}, clm=True)

    cases_file = root / "cases.json"
    cases_file.write_text(json.dumps(cases), encoding="utf-8")
    driver = root / "driver.ps1"
    driver.write_text(_DRIVER, encoding="utf-8")
    out = root / "out.json"
    command = [str(PWSH), "-NoProfile", "-NonInteractive", "-File", str(driver)]
    subprocess.run(
        [*command, "-Cases", str(cases_file), "-Out", str(out)],
        check=True, timeout=240, cwd=root, capture_output=True,
    )  # fmt: skip
    results = {r["name"]: r for r in json.loads(out.read_text(encoding="utf-8-sig"))}
    assert not marker.exists(), "a value was run as code"
    tactical = subprocess.run(
        [*command[:4], str(files["tactical"])],
        env={**os.environ, "FAKE_STATUS": "needs_user_action", "QBD_TASK_TIMEOUT": "7"},
        timeout=120, cwd=root, capture_output=True, text=True,
    )  # fmt: skip
    results["tactical-process"] = {
        "name": "tactical-process",
        "code": tactical.returncode,
        "lines": tactical.stdout.splitlines(),
    }
    results["hostile"] = {"value": hostile, "baked": baked}
    return results


def _last(run: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(run["lines"][-1])
    return doc


@pytest.mark.parametrize("target", ["ninjaone", "datto", "nsight", "generic"])
def test_exit_codes_per_target(runs: dict[str, dict[str, Any]], target: str) -> None:
    codes = RMM_TARGETS[target].codes
    assert codes is not None
    ok, failed, needs = codes
    expected = {"ok": ok, "changed": ok, "failed": failed, "needs_user_action": needs}
    for status, code in expected.items():
        run = runs[f"{target}-{status}"]
        assert run["code"] == code, run
        assert _last(run)["status"] == status
        assert run["lines"][0] == "a line before the result"


def test_tactical_exit_code_3_survives_in_its_own_process(
    runs: dict[str, dict[str, Any]],
) -> None:
    run = runs["tactical-process"]
    assert run["code"] == 3, run
    last = _last(run)
    assert last["status"] == "needs_user_action"
    assert last["data"]["received"]["TaskTimeoutSeconds"] == 7


@pytest.mark.parametrize("status", ["ok", "changed", "failed", "needs_user_action"])
def test_ansible_adapter_sets_changed_failed_and_result(
    runs: dict[str, dict[str, Any]], status: str
) -> None:
    run = runs[f"ansible-{status}"]
    assert run["ansible"]["changed"] is (status == "changed")
    assert run["ansible"]["failed"] is (status == "failed")
    assert run["ansible"]["result"]["status"] == status
    assert run["code"] == 0  # never exits: win_powershell reads $Ansible
    assert _last(run)["status"] == status


def test_ansible_check_mode_passes_whatif_and_reports_what_would_change(
    runs: dict[str, dict[str, Any]],
) -> None:
    run = runs["ansible-whatif"]
    assert run["ansible"]["changed"] is True and run["ansible"]["failed"] is False
    assert run["ansible"]["result"]["data"]["what_if"] is True


def test_ansible_parameters_arrive_as_given(runs: dict[str, dict[str, Any]]) -> None:
    received = runs["ansible-parameters"]["ansible"]["result"]["data"]["received"]
    assert received["ClientName"] == runs["hostile"]["value"]
    assert received["RestartIfUnhealthy"] is True


@pytest.mark.parametrize("target", ["ninjaone", "datto", "generic"])
def test_environment_values_arrive_exactly(runs: dict[str, dict[str, Any]], target: str) -> None:
    run = runs[f"{target}-env"]
    assert run["code"] == 0, run
    received = _last(run)["data"]["received"]
    assert received["ClientName"] == runs["hostile"]["value"]
    assert received["TaskTimeoutSeconds"] == 42
    assert received["RestartIfUnhealthy"] is True
    assert received["TimeBudgetSeconds"] == 240  # empty variable: not set


def test_base64_and_argument_values_arrive_exactly(runs: dict[str, dict[str, Any]]) -> None:
    for name in ("generic-b64", "generic-args"):
        received = _last(runs[name])["data"]["received"]
        assert received["ClientName"] == runs["hostile"]["value"]


def test_nsight_takes_arguments_only(runs: dict[str, dict[str, Any]]) -> None:
    received = _last(runs["nsight-env-ignored"])["data"]["received"]
    assert received["ClientName"] == "" and received["TaskTimeoutSeconds"] == 60


def test_baked_non_ascii_value_reads_back(runs: dict[str, dict[str, Any]]) -> None:
    received = _last(runs["baked"])["data"]["received"]
    assert received["ClientName"] == runs["hostile"]["baked"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("newline", "QBD_CLIENT_NAME_B64 is not a valid -ClientName"),
        ("range", "QBD_TASK_TIMEOUT is not a valid -TaskTimeoutSeconds: expected a whole number"),
        ("not-a-number", "QBD_TASK_TIMEOUT is not a valid -TaskTimeoutSeconds"),
        ("not-a-switch", "QBD_RESTART_IF_UNHEALTHY is not a valid -RestartIfUnhealthy"),
        ("both-forms", "QBD_CLIENT_NAME and QBD_CLIENT_NAME_B64 are both set"),
        ("not-base64", "QBD_CLIENT_NAME_B64 is not base64 of UTF-8 text"),
        ("not-utf8", "QBD_CLIENT_NAME_B64 is not base64 of UTF-8 text"),
        ("given-twice", "-ClientName is given both as a parameter and as QBD_CLIENT_NAME"),
    ],
)
def test_bad_environment_values_stop_before_the_script(
    runs: dict[str, dict[str, Any]], name: str, expected: str
) -> None:
    run = runs[f"bad-{name}"]
    assert run["code"] == 1, run
    assert run["lines"][0].startswith("qbd-fix: " + expected)
    doc = _last(run)
    assert doc["status"] == "failed" and doc["remediation"] == "restart-tasks"
    assert "received" not in doc["data"]  # the remediation script never started
    assert "whoami" not in "\n".join(run["lines"])  # values are not repeated


def test_the_real_body_runs_between_the_adapters(runs: dict[str, dict[str, Any]]) -> None:
    # Without Windows cmdlets the real script fails early, and says so in its own result.
    run = runs["real"]
    doc = _last(run)
    assert doc["remediation"] == "restart-tasks" and doc["status"] == "failed"
    assert run["code"] == 1
    ansible = runs["real-ansible"]["ansible"]
    assert ansible["failed"] is True and ansible["result"]["remediation"] == "restart-tasks"


def test_values_from_the_32_bit_host_are_taken_back_and_validated(
    runs: dict[str, dict[str, Any]],
) -> None:
    # What the 64-bit host started by the 32-bit one sees: QBD_EXPORT_VALUES, not QBD_<NAME>.
    received = _last(runs["relaunched"])["data"]["received"]
    assert received["ClientName"] == "x'y"
    assert received["TaskTimeoutSeconds"] == 5 and received["RestartIfUnhealthy"] is True
    bad = runs["relaunched-bad"]
    assert bad["code"] == 1
    assert bad["lines"][0].startswith("qbd-fix: -TaskTimeoutSeconds was refused")


def test_constrained_language_mode_is_reported_before_any_dotnet_call(
    runs: dict[str, dict[str, Any]],
) -> None:
    run = runs["constrained"]
    assert run["code"] == 1, run
    doc = _last(run)
    assert doc["status"] == "failed" and "ConstrainedLanguage" in doc["messages"][0]
    assert doc["checks"][0]["name"] == "language-mode"
