"""The exported Ansible role under the real ansible-playbook: syntax, module names, arguments.

``--syntax-check`` resolves module names only when the collection is there: the test extras
install the ``ansible`` package, which carries ``ansible.windows``. A broken task must fail
the same check, so a pass means something.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from qbd_fix.exports.ansible import ROLE, role_files
from qbd_fix.exports.bundle import write_export
from qbd_fix.remediations import REMEDIATIONS

PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


pytestmark = pytest.mark.skipif(
    not PLAYBOOK.is_file(), reason="ansible is not installed (the test extras install it)"
)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("ansible")
    out = root / "export"
    write_export(out, role_files())
    env = {
        **os.environ,
        "ANSIBLE_LOCAL_TEMP": str(root / "tmp"),
        "ANSIBLE_HOME": str(root / "home"),
        "ANSIBLE_NOCOLOR": "1",
    }
    return out, env


def _playbook(folder: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PLAYBOOK), "-i", "localhost,", *args],
        cwd=folder, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _every_task_file(out: Path, name: str, broken: bool = False) -> Path:
    """A playbook importing every task file statically, so the check reads each task."""
    imports = "".join(
        f"    - ansible.builtin.import_tasks: {ROLE}/tasks/{r}.yml\n" for r in REMEDIATIONS
    )
    if broken:
        imports += "    - ansible.windows.win_powershel: {script: 'x'}\n"
    path = out / name
    path.write_text(
        "- hosts: all\n  gather_facts: false\n  vars:\n"
        f"    role_path: {ROLE}\n  tasks:\n" + imports,
        encoding="utf-8",
    )
    return path


def test_site_and_every_task_file_pass_the_syntax_check(
    exported: tuple[Path, dict[str, str]],
) -> None:
    out, env = exported
    site = _playbook(
        out, env, "--syntax-check", "site.yml", "-e", "qbd_fix_remediation=restart-tasks"
    )
    assert site.returncode == 0, site.stdout + site.stderr
    check = _every_task_file(out, "every-task.yml")
    tasks = _playbook(out, env, "--syntax-check", check.name)
    assert tasks.returncode == 0, tasks.stdout + tasks.stderr


def test_a_misspelled_module_fails_the_same_check(exported: tuple[Path, dict[str, str]]) -> None:
    out, env = exported
    check = _every_task_file(out, "broken.yml", broken=True)
    result = _playbook(out, env, "--syntax-check", check.name)
    assert result.returncode != 0
    assert "win_powershel" in result.stdout + result.stderr


def test_the_role_refuses_an_unknown_remediation_before_running(
    exported: tuple[Path, dict[str, str]],
) -> None:
    out, env = exported
    result = _playbook(out, env, "-c", "local", "site.yml", "-e", "qbd_fix_remediation=bogus")
    text = result.stdout + result.stderr
    assert result.returncode != 0
    assert "qbd_fix_remediation" in text and "restart-tasks" in text
    assert "win_powershell" not in text
