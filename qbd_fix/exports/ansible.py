"""``qbd-fix export ansible``: every remediation as an Ansible role and a playbook.

The role runs each fix's exported script with ``ansible.windows.win_powershell`` (``path:``
on the controller, values as typed ``parameters:``). The script's output adapter sets
``$Ansible.Result`` (the JSON result), ``$Ansible.Failed`` (status failed) and
``$Ansible.Changed`` (status changed, or under check mode's ``-WhatIf`` anything listed as
to be done), so the task's state is the fix's own.
"""

from __future__ import annotations

from typing import Any

from qbd_fix.exports.bundle import MANIFEST, manifest
from qbd_fix.exports.script import ExportError, build, rule_text
from qbd_fix.exports.signing import Signer
from qbd_fix.exports.targets import ANSIBLE_TARGET
from qbd_fix.remediations import REMEDIATIONS
from qbd_fix.remediations.base import Remediation
from qbd_fix.script.params import BUDGET_PARAMETER, ScriptParameter

ROLE = "roles/qbd_fix"
#: win_powershell's path option appeared in ansible.windows 3.1.0.
COLLECTION_REQUIREMENT = ">=3.1.0"
_TYPES = {"string": "str", "switch": "bool", "int": "int"}
BUDGET_VARIABLE = "qbd_fix_time_budget_seconds"


def variable(parameter: ScriptParameter) -> str:
    """The role variable of a parameter: ``qbd_fix_`` and the flag's name (``--client-name``
    -> ``qbd_fix_client_name``)."""
    if parameter.name == BUDGET_PARAMETER:
        return BUDGET_VARIABLE
    assert parameter.flag is not None
    return "qbd_fix_" + parameter.flag.dest


def _variables() -> dict[str, tuple[ScriptParameter, list[str]]]:
    """Each role variable, the parameter behind it and the fixes using it; a variable shared
    by several fixes must mean the same everywhere (kind and default)."""
    found: dict[str, tuple[ScriptParameter, list[str]]] = {}
    for remediation in REMEDIATIONS.values():
        for p in remediation.flagged:
            name = variable(p)
            if name in found:
                seen = found[name][0]
                if (seen.kind, seen.default, seen.choices) != (p.kind, p.default, p.choices):
                    raise ExportError(f"{name} means different things in different fixes")
                found[name][1].append(remediation.name)
            else:
                found[name] = (p, [remediation.name])
    return found


def _yaml(document: Any) -> bytes:
    import yaml

    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=False, width=1000)
    return ("---\n" + text).encode("ascii")


def _parameters_expression(remediation: Remediation) -> str:
    """The ``parameters:`` dict, typed: win_powershell binds each key to the parameter."""
    filters = {"string": "string", "switch": "bool", "int": "int"}
    items = [f"'{p.name}': {variable(p)} | {filters[p.kind]}" for p in remediation.flagged]
    budget = (
        f" | combine({{'{BUDGET_PARAMETER}': {BUDGET_VARIABLE} | int}}"
        f" if {BUDGET_VARIABLE} is not none else {{}})"
    )
    return "{{ {" + ", ".join(items) + "}" + budget + " }}"


def _task_file(remediation: Remediation) -> list[dict[str, Any]]:
    secret = any(p.secret for p in remediation.flagged)
    run: dict[str, Any] = {
        "name": f"Run qbd-fix {remediation.name}",
        "ansible.windows.win_powershell": {
            "path": "{{ role_path }}/files/" + f"{remediation.name}.ps1",
            "parameters": _parameters_expression(remediation),
        },
        "register": "qbd_fix_run",
    }
    if secret:
        run["no_log"] = True
    show = {
        "name": f"Show the result of {remediation.name}",
        "ansible.builtin.debug": {
            "msg": "{{ qbd_fix_run.result.status | default('no result') }}: "
            "{{ qbd_fix_run.result.messages | default([]) | join(' ') }}"
        },
    }
    return [run, show]


def _main_tasks() -> list[dict[str, Any]]:
    return [
        {
            "name": "Run the chosen qbd-fix remediation",
            "ansible.builtin.include_tasks": "{{ qbd_fix_remediation }}.yml",
        }
    ]


def _argument_specs() -> dict[str, Any]:
    options: dict[str, Any] = {
        "qbd_fix_remediation": {
            "type": "str",
            "required": True,
            "choices": list(REMEDIATIONS),
            "description": "The fix to run (as `qbd-fix list` names it).",
        }
    }
    for name, (p, users) in _variables().items():
        assert p.flag is not None
        spec: dict[str, Any] = {
            "type": _TYPES[p.kind],
            "default": p.default,
            "description": [
                f"{p.flag.help} (-{p.name}: {rule_text(p)})",
                "Used by: " + ", ".join(users) + ".",
            ],
        }
        if p.choices:
            spec["choices"] = [*p.choices, *([""] if p.default == "" else [])]
        if p.secret:
            spec["no_log"] = True
        options[name] = spec
    options[BUDGET_VARIABLE] = {
        "type": "int",
        "required": False,
        "description": [
            "-TimeBudgetSeconds: the whole run's time budget (30 to 86400).",
            "Unset: each fix's own budget.",
        ],
    }
    return {
        "argument_specs": {
            "main": {
                "short_description": "Run one qbd-fix remediation on Windows PCs",
                "description": [
                    "Runs the chosen fix's script with ansible.windows.win_powershell.",
                    "failed: the fix failed; changed: the fix changed something; "
                    "check mode runs it with -WhatIf.",
                ],
                "options": options,
            }
        }
    }


def _defaults() -> dict[str, Any]:
    defaults: dict[str, Any] = {n: p.default for n, (p, _users) in _variables().items()}
    defaults[BUDGET_VARIABLE] = None
    return defaults


_SITE = [
    {
        "name": "Run a qbd-fix remediation on Windows PCs",
        "hosts": "{{ qbd_fix_hosts | default('all') }}",
        "gather_facts": False,
        "roles": [{"role": "qbd_fix"}],
    }
]

_README = """# qbd-fix as an Ansible role

`roles/qbd_fix` runs one qbd-fix remediation per play with `ansible.windows.win_powershell`
(collection {requirement}, see `requirements.yml`); `site.yml` applies it.

    ansible-galaxy collection install -r requirements.yml
    ansible-playbook -i inventory.ini site.yml -e qbd_fix_remediation=restart-tasks
    ansible-playbook -i inventory.ini site.yml -e qbd_fix_remediation=restart-tasks --check

Variables (`meta/argument_specs.yml` lists types, defaults and valid values):
`qbd_fix_remediation` (one of {names}), `qbd_fix_hosts` (default `all`), each fix's values as
`qbd_fix_<option>` (`--client-name` is `qbd_fix_client_name`), and
`qbd_fix_time_budget_seconds`.

Each task is **failed** when the fix failed and **changed** when it changed something; a fix
that needs a person is ok (neither), with its messages in the task's `result`. Under `--check`
the script runs with `-WhatIf` (it declares SupportsShouldProcess): nothing changes, and the
task is changed when the fix lists something it would do. Set the connection's operation
timeout above each fix's time budget plus 120 seconds.
"""


def role_files(signer: Signer | None = None) -> dict[str, bytes]:
    """Every file of the Ansible export, by relative name; *signer* signs each script."""
    files: dict[str, bytes] = {}
    for remediation in REMEDIATIONS.values():
        export = build(remediation, {}, ANSIBLE_TARGET)
        script = export.file_bytes()
        if signer is not None:
            script = signer.sign(export.filename, script)
        files[f"{ROLE}/files/{export.filename}"] = script
        files[f"{ROLE}/tasks/{remediation.name}.yml"] = _yaml(_task_file(remediation))
    files[f"{ROLE}/tasks/main.yml"] = _yaml(_main_tasks())
    files[f"{ROLE}/defaults/main.yml"] = _yaml(_defaults())
    files[f"{ROLE}/meta/argument_specs.yml"] = _yaml(_argument_specs())
    files[f"{ROLE}/meta/main.yml"] = _yaml(
        {
            "galaxy_info": {
                "role_name": "qbd_fix",
                "author": "qbd-fix",
                "description": "Fix the Codat QuickBooks Desktop connector on Windows PCs",
                "license": "MIT",
                "min_ansible_version": "2.15",
                "platforms": [{"name": "Windows", "versions": ["all"]}],
            },
            "dependencies": [],
        }
    )
    files["site.yml"] = _yaml(_SITE)
    files["requirements.yml"] = _yaml(
        {"collections": [{"name": "ansible.windows", "version": COLLECTION_REQUIREMENT}]}
    )
    files["README.md"] = _README.format(
        requirement=COLLECTION_REQUIREMENT, names=", ".join(REMEDIATIONS)
    ).encode("utf-8")
    files[MANIFEST] = manifest(
        "ansible",
        files,
        remediations=list(REMEDIATIONS),
        signature=signer.describe() if signer is not None else None,
    )
    return files


__all__ = ["ROLE", "role_files", "variable"]
