"""Doctor fix lines with hostile values, pasted into every shell ``--shell`` offers.

bash and PowerShell really run the lines (PowerShell both ways it hands arguments to a
program: ``Standard``, as PowerShell 7.3+ does, and ``Legacy``, as Windows PowerShell 5.1
does); the program is a stand-in ``qbd-fix`` that prints the arguments it got. cmd.exe is not
available here: a model of how it reads an interactive line (``%`` expansion, ``^`` and quotes,
the operators) and of the C runtime's argument splitting stands in. A value that cannot be
pasted safely must leave a placeholder, a reason, and one clean line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from qbd_fix.doctor.command import SHELLS, Shell, fix_command, unquotable
from qbd_fix.text import unsafe_chars, visible

PWSH = Path("/root/.cache/qbd-pwsh/tools/pwsh")

VALUES = [
    "Acme Ltd",
    "O'Brien & Sons",
    'say "hi" now',
    'x" --restart-if-unhealthy "y',
    'x --yes "y"',
    "it’s ‘curly’ ‚low‛ “double” „low”",
    "a $(rm -rf ~) b ${HOME} $HOME",
    "`$(calc)` back`tick",
    "100% %PATH% %VAR% %%",
    "!x! !! ^caret^ & | > out < in (paren) ; semi",
    "--yes",
    "-x",
    "trailing backslash \\",
    'back\\"slash quote',
    "a\\\\b\\\\\\c",
    "Ωmega – dash",
    "",
    "line\nbreak & calc",
    "cr\rreturn",
    "nul\x00byte",
    "tab\there",
    "esc\x1b]52;c;eA==\x07",
    "c1\x9b2J",
    "rlo\u202eexe",
    "zero\u200bwidth",
    "sep\u2028line",
]
ENV = {"PATH": "C:\\Windows", "VAR": "expanded", "HOME": "/home/x"}


def expected(value: str) -> list[str]:
    return ["restart-tasks", "--host", "PC01", "--client-name", value]


def line_for(value: str, shell: Shell) -> tuple[str, list[str]]:
    notes: list[str] = []
    line = fix_command(
        "restart-tasks", [("--client-name", value)], host="PC01", shell=shell, notes=notes
    )
    return line, notes


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("value", VALUES, ids=[visible(v) or "empty" for v in VALUES])
def test_a_value_is_quoted_or_refused_with_a_reason(value: str, shell: Shell) -> None:
    line, notes = line_for(value, shell)
    assert visible(line) == line and "\n" not in line  # one clean line, always
    if unquotable(value, shell) is None:
        assert notes == []
        return
    assert line.endswith("--client-name <CLIENT_NAME>")
    (note,) = notes
    assert note.startswith("The client name ") and "<CLIENT_NAME>" in note
    assert unsafe_chars(note) == []
    assert not unsafe_chars(value) or value not in note


def test_line_breaks_and_controls_are_refused_everywhere() -> None:
    for shell in SHELLS:
        for value in ("a\nb", "a\rb", "a\x00b", "a\x1bb", "a\u202eb", "a\u2028b", "a\tb"):
            assert unquotable(value, shell) is not None, (shell, visible(value))
    assert "line break" in str(unquotable("a\r\nb", "cmd"))
    assert "NUL" in str(unquotable("a\x00b", "posix"))


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``qbd-fix`` on PATH that prints its arguments as one JSON line."""
    folder = tmp_path_factory.mktemp("bin")
    exe = folder / "qbd-fix"
    exe.write_text(
        f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n",
        encoding="utf-8",
    )
    exe.chmod(0o755)
    return folder


def quotable(shell: Shell) -> list[str]:
    return [v for v in VALUES if unquotable(v, shell) is None]


def run_lines(command: list[str], script: Path, lines: list[str], folder: Path) -> list[Any]:
    env = {**os.environ, **ENV, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [*command, str(script)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(out) for out in done.stdout.splitlines()]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_posix_lines_run_in_bash(program: Path, tmp_path: Path) -> None:
    values = quotable("posix")
    lines = [line_for(v, "posix")[0] for v in values]
    script = tmp_path / "fix.sh"
    # History expansion is on, as in an interactive bash where the line is pasted.
    script.write_text("set -o histexpand\n" + "\n".join(lines) + "\n", encoding="utf-8")
    assert run_lines(["bash", "--norc"], script, lines, program) == [expected(v) for v in values]


@pytest.mark.skipif(not PWSH.exists(), reason="PowerShell is not installed")
@pytest.mark.parametrize("passing", ["Standard", "Legacy"])
def test_powershell_lines_run_in_powershell(program: Path, tmp_path: Path, passing: str) -> None:
    values = quotable("powershell")
    lines = [line_for(v, "powershell")[0] for v in values]
    script = tmp_path / "fix.ps1"
    script.write_text(
        f"$PSNativeCommandArgumentPassing = '{passing}'\n" + "\n".join(lines) + "\n",
        encoding="utf-8-sig",
    )
    got = run_lines([str(PWSH), "-NoProfile", "-NonInteractive", "-File"], script, lines, program)
    assert got == [expected(v) for v in values]


def test_powershell_refuses_what_windows_powershell_51_would_split(
    program: Path, tmp_path: Path
) -> None:
    """Why a double quote is refused: with Legacy passing (Windows PowerShell 5.1's) the
    program does not get the value that was typed."""
    if not PWSH.exists():
        pytest.skip("PowerShell is not installed")
    value = 'x --yes "y"'
    assert "double quote" in str(unquotable(value, "powershell"))
    script = tmp_path / "legacy.ps1"
    script.write_text(
        f"$PSNativeCommandArgumentPassing = 'Legacy'\nqbd-fix --client-name '{value}'\n",
        encoding="utf-8",
    )
    (got,) = run_lines([str(PWSH), "-NoProfile", "-File"], script, [], program)
    assert got != ["--client-name", value]


# -- cmd.exe, modelled ------------------------------------------------------------------------


def cmd_expand(line: str, env: dict[str, str]) -> str:
    """Phase 1 at an interactive prompt: ``%NAME%`` replaced when defined, else left as typed."""
    out, i = [], 0
    while i < len(line):
        if line[i] == "%":
            end = line.find("%", i + 1)
            if end > i + 1 and line[i + 1 : end].upper() in {k.upper() for k in env}:
                name = line[i + 1 : end].upper()
                out.append(next(v for k, v in env.items() if k.upper() == name))
                i = end + 1
                continue
            out.append("%")
            i += 1
            continue
        out.append(line[i])
        i += 1
    return "".join(out)


def cmd_line(line: str) -> str:
    """Phase 2: carets and quotes; an unescaped operator outside quotes fails the test."""
    out, quoted, i = [], False, 0
    while i < len(line):
        ch = line[i]
        if ch == "^" and not quoted:
            out.append(line[i + 1])
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch in "&|<>" and not quoted:
            raise AssertionError(f"cmd would act on {ch!r} in {line!r}")
        out.append(ch)
        i += 1
    return "".join(out)


def crt_argv(text: str) -> list[str]:
    """How the Microsoft C runtime splits a command line into arguments."""
    args: list[str] = []
    current: list[str] = []
    quoted = in_arg = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            j = i
            while j < len(text) and text[j] == "\\":
                j += 1
            run = j - i
            if j < len(text) and text[j] == '"':
                current.append("\\" * (run // 2))
                if run % 2:
                    current.append('"')
                    i = j + 1
                else:
                    i = j
            else:
                current.append("\\" * run)
                i = j
            in_arg = True
            continue
        if ch == '"':
            if quoted and i + 1 < len(text) and text[i + 1] == '"':
                current.append('"')
                i += 2
                continue
            quoted = not quoted
            in_arg = True
        elif ch in " \t" and not quoted:
            if in_arg:
                args.append("".join(current))
                current, in_arg = [], False
        else:
            current.append(ch)
            in_arg = True
        i += 1
    if in_arg:
        args.append("".join(current))
    return args


@pytest.mark.parametrize("value", quotable("cmd"), ids=[v or "empty" for v in quotable("cmd")])
def test_cmd_lines_reach_the_program_intact(value: str) -> None:
    line, _ = line_for(value, "cmd")
    argv = crt_argv(cmd_line(cmd_expand(line, ENV)))
    assert argv == ["qbd-fix", *expected(value)]


def test_the_cmd_model_sees_an_injection() -> None:
    """The model is not vacuous: a raw line break or an unescaped & would be caught."""
    with pytest.raises(AssertionError, match="act on"):
        cmd_line(cmd_expand('qbd-fix --client-name "a" & calc', ENV))
    assert crt_argv(cmd_line(cmd_expand("x %VAR%", ENV))) == ["x", "expanded"]
