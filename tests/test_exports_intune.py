"""Intune exports: the files and Graph bodies, then the scripts under real PowerShell 7.

Detection runs with the doctor's facts script replaced by a stand-in that prints a fixture's
facts, so the verdict the PC would reach (``Get-QbdFixVerdict``) is compared with the Python
doctor's on every fixture. The remediation runs with the stand-in body of
:mod:`tests.support.exports`. Most cases run in one PowerShell process (a driver calls each
file); the stderr cases run alone, since only a process of their own shows its stderr.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qbd_fix.cli.app import app
from qbd_fix.doctor.facts import Facts
from qbd_fix.doctor.verdict import verdict
from qbd_fix.exports.intune import (
    DOCTOR_END,
    DOCTOR_START,
    GROUP_PLACEHOLDER,
    IntuneOptions,
    Schedule,
    detect_text,
    export_files,
)
from qbd_fix.exports.result_line import TEXT_CHARS
from qbd_fix.exports.script import BODY_END, BODY_START, body_of, build
from qbd_fix.exports.targets import INTUNE_TARGET
from qbd_fix.remediations import REMEDIATIONS, get
from tests.support.exports import PWSH, with_stand_in

runner = CliRunner()
FIXTURES = Path(__file__).parent / "doctor" / "fixtures"
REQUIRED = {"reinstall-connector": {"Installer": "https://example.com/setup.exe"}}
HOSTILE = "a'\u2018\u2019\u201a\u201b $(Get-Date) `whoami`; & | \u00e9"


def _crlf_ascii_no_bom(data: bytes) -> None:
    assert not data.startswith(b"\xef\xbb\xbf")
    data.decode("ascii")
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")


@pytest.mark.parametrize("name", list(REMEDIATIONS))
def test_remediation_package_files(name: str) -> None:
    files = export_files(get(name), REQUIRED.get(name, {}))
    assert set(files) == {
        "detect.ps1",
        "remediate.ps1",
        "deviceHealthScript.json",
        "assign.json",
        "manifest.json",
        "README.md",
    }
    for script in ("detect.ps1", "remediate.ps1"):
        _crlf_ascii_no_bom(files[script])
    body = json.loads(files["deviceHealthScript.json"])
    assert base64.b64decode(body["detectionScriptContent"]) == files["detect.ps1"]
    assert base64.b64decode(body["remediationScriptContent"]) == files["remediate.ps1"]
    assert body["runAs32Bit"] is False
    assert body["enforceSignatureCheck"] is False
    assert body["runAsAccount"] == "system"
    manifest = json.loads(files["manifest.json"])
    assert manifest["export"] == "intune" and manifest["remediation"] == name
    for file, digest in manifest["files"].items():
        assert hashlib.sha256(files[file]).hexdigest() == digest
    assignment = json.loads(files["assign.json"])["deviceHealthScriptAssignments"][0]
    assert assignment["target"]["groupId"] == GROUP_PLACEHOLDER
    assert assignment["runRemediationScript"] is True
    assert assignment["runSchedule"]["@odata.type"].endswith("DailySchedule")
    readme = files["README.md"].decode("utf-8")
    assert (
        f"`qbd-fix {name}` itself" in readme and "DeviceManagementScripts.ReadWrite.All" in readme
    )


def test_the_remediation_body_is_the_same_as_every_other_engines() -> None:
    remediation = get("restart-tasks")
    export = build(remediation, {"ClientName": HOSTILE}, INTUNE_TARGET)
    assert body_of(export.text) == remediation.render().text


def test_detection_runs_the_doctors_facts_script_unchanged() -> None:
    from qbd_fix.doctor.spec import DOCTOR

    text = detect_text(get("restart-tasks"), {"ClientName": HOSTILE})
    start = text.index(DOCTOR_START) + len(DOCTOR_START)
    assert text[start : text.index(DOCTOR_END)] == DOCTOR.render().text
    # The one value reaches the detection only as a quoted parameter default.
    assert "$(Get-Date)" not in text.replace(
        text[
            text.index("[string] $ClientName") : text.index(
                "\n", text.index("[string] $ClientName")
            )
        ],
        "",
    )


def _outside(text: str, start: str, end: str) -> str:
    """*text* without the script held between *start* and *end* (the adapters alone)."""
    return text[: text.index(start)] + text[text.index(end) :]


def test_scripts_exit_only_0_or_1() -> None:
    for name in REMEDIATIONS:
        values = REQUIRED.get(name, {})
        adapters = {
            "detect": _outside(detect_text(get(name), values), DOCTOR_START, DOCTOR_END),
            "remediate": _outside(
                build(get(name), values, INTUNE_TARGET).text, BODY_START, BODY_END
            ),
        }
        for script, text in adapters.items():
            code = re.sub(r"(?m)^\s*#.*$", "", text)  # comments say "exit code"
            codes = set(re.findall(r"\bexit\s+(\S+)", code))
            assert codes <= {"0", "1", "$Code"}, (name, script, codes)
            assert "SetShouldExit" not in text


def test_platform_package_is_one_script_with_its_own_graph_body() -> None:
    options = IntuneOptions(
        package="platform", run_as="user", group_id="0" * 8 + "-0000-0000-0000-" + "0" * 12
    )
    files = export_files(get("restart-web-connector"), {}, options)
    assert set(files) == {
        "script.ps1",
        "deviceManagementScript.json",
        "assign.json",
        "manifest.json",
        "README.md",
    }
    body = json.loads(files["deviceManagementScript.json"])
    assert base64.b64decode(body["scriptContent"]) == files["script.ps1"]
    assert body["runAsAccount"] == "user" and body["runAs32Bit"] is False
    target = json.loads(files["assign.json"])["deviceManagementScriptAssignments"][0]["target"]
    assert target["groupId"] == options.group_id
    assert "signed-in user" in files["README.md"].decode()


def test_hourly_schedule() -> None:
    files = export_files(get("restart-tasks"), {}, IntuneOptions(schedule=Schedule(4)))
    schedule = json.loads(files["assign.json"])["deviceHealthScriptAssignments"][0]["runSchedule"]
    assert schedule == {
        "@odata.type": "#microsoft.graph.deviceHealthScriptHourlySchedule",
        "interval": 4,
    }


def test_secrets_and_values_in_the_manifest() -> None:
    files = export_files(get("restart-tasks"), {"ClientName": HOSTILE})
    manifest = json.loads(files["manifest.json"])
    assert manifest["values"]["ClientName"] == HOSTILE
    assert manifest["signature"] is None


# -- the CLI ---------------------------------------------------------------------------------------


def test_cli_export_intune(tmp_path: Path) -> None:
    out = tmp_path / "intune"
    result = runner.invoke(app, ["export", "intune", "restart-tasks", "-c", "Acme", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "detect.ps1").is_file() and (out / "deviceHealthScript.json").is_file()
    # A second export of the same kind replaces the first.
    again = runner.invoke(app, ["export", "intune", "restart-tasks", "-o", str(out)])
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--package", "msi"], "--package 'msi' is not one of remediation, platform"),
        (["--run-as", "admin"], "--run-as 'admin' is not one of system, user"),
        (["--group-id", "sales"], "--group-id 'sales' is not a group's object ID"),
        (["--every-hours", "24"], "--every-hours 24 is not from 1 to 23"),
        (
            ["--package", "platform", "--every-hours", "2"],
            "--every-hours is for --package remediation",
        ),
        (["--sign-password-env", "PW"], "need --sign-pfx"),
        (["--sign-pfx", "k.pfx"], "--sign-pfx needs --sign-password-env"),
        (["--sign-pfx", "k.pfx", "--sign-password-env", "1X"], "is not a variable name"),
    ],
)
def test_cli_export_intune_refuses_bad_input(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "x"
    result = runner.invoke(app, ["export", "intune", "restart-tasks", *args, "-o", str(out)])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


# -- under PowerShell 7 ----------------------------------------------------------------------------

pwsh = pytest.mark.skipif(not PWSH.is_file(), reason=f"no PowerShell at {PWSH}")

_FACTS_STAND_IN = r"""
$raw = ''
if ($env:FAKE_FACTS) { $raw = Get-Content -Raw -LiteralPath $env:FAKE_FACTS }
if ($env:FAKE_DOCTOR -eq 'silent') { return }
if ($env:FAKE_DOCTOR -eq 'throw') { throw 'the facts script stopped' }
Write-Output 'a progress line'
Write-Output ('{"remediation":"doctor","status":"' + $env:FAKE_DOCTOR + '","checks":[],"actions":[],"messages":[],"data":{"facts":' + $raw + '}}')
"""

_DRIVER = r"""
param([string] $Cases, [string] $Out)
$results = @()
foreach ($case in @(Get-Content -Raw -LiteralPath $Cases | ConvertFrom-Json)) {
    foreach ($p in $case.env.PSObject.Properties) { [Environment]::SetEnvironmentVariable($p.Name, [string]$p.Value) }
    $global:LASTEXITCODE = 0
    $lines = @(& $case.file 2>&1 | ForEach-Object { [string]$_ })
    $results += [ordered]@{ name = $case.name; code = $LASTEXITCODE; lines = $lines }
    foreach ($p in $case.env.PSObject.Properties) { [Environment]::SetEnvironmentVariable($p.Name, $null) }
}
ConvertTo-Json -InputObject @($results) -Depth 6 | Set-Content -LiteralPath $Out -Encoding utf8
"""


def _detect_stand_in(text: str) -> str:
    start = text.index(DOCTOR_START) + len(DOCTOR_START)
    return text[:start] + _FACTS_STAND_IN + text[text.index(DOCTOR_END) :]


def _write(path: Path, text: str) -> Path:
    path.write_bytes(text.replace("\n", "\r\n").encode("ascii"))
    return path


def _clients(facts: dict[str, Any]) -> list[str | None]:
    names = Facts.from_dict(facts).legacy_clients()
    return [None, *names[:2], "Nobody Of That Name"] if names else [None]


def _detection_values(facts: dict[str, Any]) -> list[tuple[str, str | None, frozenset[str]]]:
    """Each fix with no switch and with each switch that widens it (the verdict counts a
    finding only when the export sets the switches its fix needs), and each client name."""
    found = []
    for name in REMEDIATIONS:
        remediation = get(name)
        widening = [
            p.name for p in remediation.flagged if p.kind == "switch" and p.flag and p.flag.danger
        ]
        sets = [frozenset(), *(frozenset({w}) for w in widening)]
        clients = (
            _clients(facts)
            if any(p.name == "ClientName" for p in remediation.parameters)
            else [None]
        )
        found += [(name, client, switches) for client in clients for switches in sets]
    return found


@pytest.fixture(scope="module")
def detections(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("intune")
    cases: list[dict[str, Any]] = []
    expected: dict[str, Any] = {}
    scripts: dict[tuple[str, str | None, frozenset[str]], Path] = {}
    for fixture in sorted(FIXTURES.glob("*.json")):
        facts = json.loads(fixture.read_text(encoding="utf-8"))
        for name, client, switches in _detection_values(facts):
            key = (name, client, switches)
            if key not in scripts:
                values: dict[str, Any] = {
                    **REQUIRED.get(name, {}),
                    **({"ClientName": client} if client else {}),
                    **dict.fromkeys(switches, True),
                }
                file = root / f"detect-{len(scripts)}.ps1"
                scripts[key] = _write(file, _detect_stand_in(detect_text(get(name), values)))
            case = f"{fixture.stem}:{name}:{client}:{'+'.join(sorted(switches))}"
            cases.append(
                {
                    "name": case,
                    "file": str(scripts[key]),
                    "env": {"FAKE_FACTS": str(fixture), "FAKE_DOCTOR": "ok"},
                }
            )
            expected[case] = verdict(Facts.from_dict(facts), name, client, switches)
    healthy = str(FIXTURES / "healthy.json")
    base = str(scripts[("restart-tasks", None, frozenset())])
    for doctor in ("failed", "silent", "throw"):
        cases.append(
            {
                "name": f"doctor-{doctor}",
                "file": base,
                "env": {"FAKE_FACTS": healthy, "FAKE_DOCTOR": doctor},
            }
        )
    cases_file = root / "cases.json"
    cases_file.write_text(json.dumps(cases), encoding="utf-8")
    driver = root / "driver.ps1"
    driver.write_text(_DRIVER, encoding="utf-8")
    out = root / "out.json"
    subprocess.run(
        [
            str(PWSH),
            "-NoProfile",
            "-NonInteractive",
            "-File",
            str(driver),
            "-Cases",
            str(cases_file),
            "-Out",
            str(out),
        ],
        check=True,
        timeout=600,
        capture_output=True,
    )
    results = {r["name"]: r for r in json.loads(out.read_text(encoding="utf-8-sig"))}
    return {"results": results, "expected": expected, "root": root, "base": base}


def _line(run: dict[str, Any]) -> dict[str, Any]:
    last = run["lines"][-1]
    assert len(last) <= 2048 and last.isascii()
    document: dict[str, Any] = json.loads(last)
    return document


@pwsh
def test_detection_is_the_doctors_verdict_on_every_fixture(detections: dict[str, Any]) -> None:
    results, expected = detections["results"], detections["expected"]
    applies = 0
    for case, want in expected.items():
        run = results[case]
        line = _line(run)
        state = "applies" if want.applies else ("held" if want.held else "healthy")
        assert line["state"] == state, (case, line)
        if want.held:
            assert line["reason"] == want.held
        assert run["code"] == (1 if want.applies else 0), case
        assert tuple(line["topics"]) == want.topics, case
        applies += want.applies
    assert 0 < applies < len(expected)


@pwsh
@pytest.mark.parametrize("doctor", ["failed", "silent", "throw"])
def test_detection_undecided_exits_0(detections: dict[str, Any], doctor: str) -> None:
    run = detections["results"][f"doctor-{doctor}"]
    line = _line(run)
    assert run["code"] == 0
    assert line["state"] == "undecided" and line["applies"] is False
    assert line["reason"]


def _alone(path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    import os

    return subprocess.run(
        [str(PWSH), "-NoProfile", "-NonInteractive", "-File", str(path)],
        capture_output=True,
        timeout=120,
        env={**os.environ, **env},
        check=False,
    )


@pytest.fixture(scope="module")
def remediate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("remediate")
    export = build(get("restart-tasks"), {"ClientName": HOSTILE}, INTUNE_TARGET)
    return _write(root / "remediate.ps1", with_stand_in(export))


@pwsh
@pytest.mark.parametrize(
    ("status", "code"),
    [("ok", 0), ("changed", 0), ("failed", 1), ("needs_user_action", 1), ("bogus", 1)],
)
def test_remediation_exit_codes(remediate: Path, status: str, code: int) -> None:
    done = _alone(remediate, {"FAKE_STATUS": status})
    assert done.returncode == code
    assert done.stderr == b""
    last = done.stdout.decode("ascii").splitlines()[-1]
    assert json.loads(last)["status"] == status


@pwsh
def test_remediation_keeps_stderr_empty_and_cuts_the_last_line(remediate: Path) -> None:
    done = _alone(remediate, {"FAKE_STATUS": "failed", "FAKE_NOISE": "1", "FAKE_BIG": "1"})
    assert done.stderr == b""
    assert done.returncode == 1
    last = done.stdout.decode("ascii").splitlines()[-1]
    assert len(last) <= 2048
    result = json.loads(last)
    assert result["status"] == "failed" and result["remediation"] == "stand-in"
    assert result["truncated"] > 0
    assert all(len(c["evidence"]) <= TEXT_CHARS for c in result["checks"])
    # Failed checks are kept before passed ones.
    passed = [c["passed"] for c in result["checks"]]
    assert passed == sorted(passed)


@pwsh
def test_remediation_that_throws_still_ends_in_one_json_line(remediate: Path) -> None:
    done = _alone(remediate, {"FAKE_STATUS": "ok", "FAKE_THROW": "1"})
    assert done.stderr == b""
    assert done.returncode == 1
    result = json.loads(done.stdout.decode("ascii").splitlines()[-1])
    assert result["status"] == "failed"
    assert "the stand-in stopped" in " ".join(result["messages"])


@pwsh
def test_detection_alone_keeps_stderr_empty(detections: dict[str, Any]) -> None:
    base = Path(detections["base"])
    for doctor in ("throw", "ok"):
        done = _alone(base, {"FAKE_FACTS": str(FIXTURES / "red_tray.json"), "FAKE_DOCTOR": doctor})
        assert done.stderr == b"", done.stderr
        assert done.returncode in (0, 1)


# -- static checks of every exported script ---------------------------------------------------------


def _exported_texts() -> list[tuple[str, str, str, str]]:
    """(case, full text, start marker, end marker) for each exported script kind."""
    from qbd_fix.exports.targets import TARGETS

    cases = []
    for name in REMEDIATIONS:
        values = REQUIRED.get(name, {})
        for target in TARGETS.values():
            text = build(get(name), values, target).text
            cases.append((f"{name}-{target.name}", text, BODY_START, BODY_END))
        cases.append((f"{name}-detect", detect_text(get(name), values), DOCTOR_START, DOCTOR_END))
    return cases


EXPORTED = _exported_texts()


@pytest.mark.parametrize(("case", "text", "start", "end"), EXPORTED, ids=[c[0] for c in EXPORTED])
def test_exported_scripts_pass_the_static_checks(
    case: str, text: str, start: str, end: str, reference: Any
) -> None:
    from tests.support.pwsh import check_script, commands_used
    from tests.support.rules import check_rules

    report = check_script(text)
    assert report.errors == [] and report.ps7_only == [] and report.quote_mismatches == []
    first = text[: text.index(start)].count("\n") + 1
    last = text[: text.index(end)].count("\n") + 1
    # The body is checked as the fix's own script; here the adapters around it.
    findings = [str(f) for f in check_rules(text) if not first <= f.line <= last]
    if case.endswith("-nsight"):  # N-sight reserves 1 to 999: its codes are 1001 and 1003 by design
        findings = [f for f in findings if not f.startswith("exit-code ")]
    assert findings == []
    adapters = _outside(text, start, end)
    for command, params in commands_used(adapters).items():
        if command == "&" or command.lower().endswith(".exe") or command.startswith("$"):
            continue
        if command in report.functions or command.lower() in {f.lower() for f in report.functions}:
            continue
        assert reference.has_command(command) and not reference.is_alias(command), command
        for param in params:
            assert reference.accepts_parameter(command, param), f"{command} -{param}"


# -- end to end on fake PCs ---------------------------------------------------------------------------


def _pester_tools() -> Any:
    import importlib.util
    import os
    import sys

    path = Path(__file__).parents[1] / "tools" / "check.py"
    spec = importlib.util.spec_from_file_location("qbd_check_tool", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    try:
        return module.find_pester_tools(os.environ)
    except module.ToolsMissing as missing:
        pytest.skip(str(missing))


@pytest.mark.slow
def test_detection_on_fake_pcs_matches_the_python_doctor_on_the_facts_gathered(
    tmp_path: Path,
) -> None:
    """The real facts script inside detect.ps1 runs on a fake PC built from each fixture
    (tests/pester/intune.Tests.ps1); each fix's line must be the Python doctor's verdict on the
    facts the doctor's own script gathered on that PC."""
    import os
    import sys

    tools = _pester_tools()
    here = Path(__file__).parent
    subprocess.run(
        [sys.executable, str(here / "pester" / "render.py")], check=True, capture_output=True
    )
    command = (
        f"Import-Module -Name '{tools.pester}'; $c = New-PesterConfiguration; "
        f"$c.Run.Path = '{here / 'pester' / 'intune.Tests.ps1'}'; $c.Run.Exit = $true; "
        "$c.Output.Verbosity = 'None'; Invoke-Pester -Configuration $c"
    )
    done = subprocess.run(
        [str(tools.pwsh), "-NoProfile", "-NonInteractive", "-Command", command],
        capture_output=True,
        timeout=900,
        env={**os.environ, "QBD_INTUNE_OUT": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-3000:]
    records = sorted(tmp_path.glob("*.json"))
    assert len(records) == len(list(FIXTURES.glob("*.json")))
    seen = set()
    for record_path in records:
        record = json.loads(record_path.read_text(encoding="utf-8-sig"))
        facts = Facts.from_dict(record["facts"])
        for name, line in record["lines"].items():
            want = verdict(facts, name)
            got = (line["applies"], tuple(line["topics"] or ()), line["state"] == "held")
            assert got == (want.applies, want.topics, bool(want.held)), (
                record["fixture"],
                name,
                line,
            )
            seen.add((name, want.applies))
    assert {applies for _, applies in seen} == {True, False}


def _constrained(path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """*path* run from a session in Constrained Language mode, as AppLocker or WDAC script
    enforcement runs an unsigned script."""
    import os

    command = (
        "$ExecutionContext.SessionState.LanguageMode = 'ConstrainedLanguage'; "
        f"& '{path}'; exit $LASTEXITCODE"
    )
    return subprocess.run(
        [str(PWSH), "-NoProfile", "-NonInteractive", "-Command", command],
        capture_output=True,
        timeout=120,
        env={**os.environ, **env},
        check=False,
    )


@pwsh
def test_constrained_language_gives_one_line_and_no_stderr(
    remediate: Path, detections: dict[str, Any]
) -> None:
    done = _constrained(remediate, {"FAKE_STATUS": "ok"})
    assert done.stderr == b"", done.stderr
    assert done.returncode == 1
    result = json.loads(done.stdout.decode("ascii").splitlines()[-1])
    assert result["status"] == "failed" and result["checks"][0]["name"] == "language-mode"
    done = _constrained(Path(detections["base"]), {"FAKE_DOCTOR": "ok"})
    assert done.stderr == b"", done.stderr
    assert done.returncode == 0
    line = json.loads(done.stdout.decode("ascii").splitlines()[-1])
    assert line["state"] == "undecided" and "restricted language mode" in line["reason"]
