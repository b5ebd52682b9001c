"""``qbd-fix export rmm``: one remediation as a script for an RMM agent, a README, a manifest."""

from __future__ import annotations

from collections.abc import Mapping

from qbd_fix.exports.bundle import MANIFEST, baked_values, manifest, markdown_value
from qbd_fix.exports.script import ExportScript, build, environment_name, inputs, rule_text
from qbd_fix.exports.signing import Signer
from qbd_fix.exports.targets import RMM_TARGETS, Target
from qbd_fix.remediations.base import Remediation
from qbd_fix.script.params import ParamValue

_WHERE: dict[str, str] = {
    "tactical": (
        "Scripts > Script Manager > New Script: type PowerShell, paste or upload the file (it is "
        "ASCII, saved without a BOM). Values: *Script Arguments* (`-ClientName 'Name'`, typed as "
        "PowerShell text) or, on Tactical RMM 0.15.4 and later, *Environment vars* "
        "(`QBD_CLIENT_NAME=Name`); prefer the environment variables, and `_B64` for values with "
        "quotes, `$` or backticks. In a Script Check, list 3 as a *warning* return code."
    ),
    "ninjaone": (
        "Administration > Library > Automation > Add > New Script: language PowerShell, "
        "architecture All. Values: *Script Variables* reach the script as environment variables; "
        "name each variable so that its environment variable is the name below (check one run's "
        "output: a misnamed variable is simply ignored and the default applies). Preset "
        "parameters may not contain `& | ; $ > < \\` !`: use the `_B64` form for such values."
    ),
    "datto": (
        "Components > New Component: category Scripts, script type PowerShell, paste the file. "
        "Values: add *Input Variables* (type String) named as below; Datto RMM passes them as "
        "environment variables. Datto RMM shows any non-zero exit as a failed job: read the last "
        "line (JSON) in StdOut to tell 1 (failed) from 3 (needs a person)."
    ),
    "nsight": (
        "Settings > Script Manager > Add: PowerShell, and use it as an Automated Task or a "
        "Script Check. Values: *Command line* arguments (`-ClientName 'Name'`). N-sight reserves "
        "exit codes 1 to 999, so this export exits with 1001 and 1003 (shown with the output)."
    ),
    "generic": (
        "Any runner: `powershell.exe -NoProfile -ExecutionPolicy Bypass -File <script> "
        "[-Parameter value ...]`, or set the environment variables below first."
    ),
}


def readme(export: ExportScript) -> str:
    """The README.md of an RMM export: where to paste it and which fields to fill in."""
    r, t = export.remediation, export.target
    assert t.codes is not None
    ok, failed, needs = t.codes
    lines = [
        f"# {r.name} for {t.title}",
        "",
        f"{r.title}. {r.summary}",
        "",
        f"Made by qbd-fix; `{export.filename}` is the remediation script itself between an input "
        "adapter and an output adapter. Edit nothing in it: export again to change a default.",
        "",
        "## Where it goes",
        "",
        _WHERE[t.name],
        "",
        "## Values",
        "",
        "Each value below has the default baked into the script; set one only to change it.",
        "",
    ]
    header = "| parameter |"
    rule = "|---|"
    if t.arguments:
        header += " argument |"
        rule += "---|"
    if t.environment:
        header += " environment variable |"
        rule += "---|"
    header += " default | valid values |"
    rule += "---|---|"
    lines += [header, rule]
    for p in inputs(r, export.budget):
        row = f"| {p.name} |"
        if t.arguments:
            row += f" `-{p.name}`" + (" (switch)" if p.kind == "switch" else "") + " |"
        if t.environment:
            name = environment_name(p)
            row += f" `{name}` or `{name}_B64` |"
        value = export.parameters[p.name]
        row += f" {markdown_value(value, secret=p.secret)} | {rule_text(p)} |"
        lines.append(row)
    lines.append("")
    if t.environment:
        lines += [
            "`QBD_<NAME>_B64` carries base64 of the UTF-8 text, for values a field would mangle "
            "(quotes, `$`, backticks, non-ASCII). An empty variable counts as not set. A value "
            "given twice (as an argument and a variable, or plain and `_B64`) or an invalid one "
            f"stops the run before anything changes: one `qbd-fix:` line per problem, the JSON "
            f"result, exit {failed}.",
            "",
        ]
    lines += [
        "## Result",
        "",
        "| exit code | meaning |",
        "|---|---|",
        f"| {ok} | ok or changed: nothing to do, or fixed |",
        f"| {failed} | failed: read the JSON result's messages |",
        f"| {needs} | needs a person: the messages say who and what |",
        "",
        "The last line of the output is the JSON result (status, checks, actions, messages).",
        "",
        *(
            [
                "The zip this fix makes stays on the PC: its path is in the JSON result "
                "(`data.bundle`); fetch it with the RMM's file transfer.",
                "",
            ]
            if r.collects_file
            else []
        ),
        "## Timeout",
        "",
        f"Set the engine's timeout to **{export.timeout} seconds** "
        f"(the script's budget, `-TimeBudgetSeconds` {export.budget}, plus "
        f"{export.timeout - export.budget} s): the script stops its waits within its budget and "
        "reports, so it is never cut off mid-change. Raising `-TimeBudgetSeconds` means raising "
        "the timeout as much.",
        "",
    ]
    size = len(export.text.replace("\n", "\r\n"))
    if t.max_script_chars is not None and size > t.max_script_chars:
        lines += [
            "## Size",
            "",
            f"**Warning:** this script is {size} characters and {t.title} documents a limit of "
            f"{t.max_script_chars}. If the upload is refused, run the `generic` export from a "
            "file share or a download step instead.",
            "",
        ]
    return "\n".join(lines)


def export_files(
    remediation: Remediation,
    values: Mapping[str, ParamValue],
    target: Target,
    signer: Signer | None = None,
) -> dict[str, bytes]:
    """Every file of an RMM export, by name: the script (signed by *signer* after rendering),
    README.md, manifest.json."""
    export = build(remediation, values, target)
    script = export.file_bytes()
    if signer is not None:
        script = signer.sign(export.filename, script)
    files = {
        export.filename: script,
        "README.md": readme(export).encode("utf-8"),
    }
    files[MANIFEST] = manifest(
        "rmm",
        files,
        remediation=remediation.name,
        target=target.name,
        values=baked_values(export.declared, export.parameters),
        timeout_seconds=export.timeout,
        exit_codes=dict(
            zip(("ok", "failed", "needs_user_action"), target.codes or (), strict=False)
        ),
        signature=signer.describe() if signer is not None else None,
    )
    return files


__all__ = ["RMM_TARGETS", "export_files", "readme"]
