"""The engines an export is written for: how each passes values in and reads the result back."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """One engine: its input channels, its exit-code map and its file rules."""

    name: str
    title: str
    #: Values may arrive as ``QBD_<NAME>`` / ``QBD_<NAME>_B64`` environment variables.
    environment: bool
    #: Values may arrive as script parameters (command-line arguments).
    arguments: bool
    #: Exit codes for ok/changed, failed and needs a person; None: the script never exits
    #: (the engine reads the result from a variable instead).
    codes: tuple[int, int, int] | None
    #: Call ``$host.SetShouldExit(N)`` before ``exit N`` (an exit code above 1 survives).
    set_should_exit: bool = False
    #: Write a UTF-8 byte order mark (the content is ASCII either way).
    bom: bool = True
    #: Set ``$Ansible.Result``, ``.Changed`` and ``.Failed`` (ansible.windows.win_powershell).
    ansible: bool = False
    #: The engine's largest script, in characters (None: no documented limit).
    max_script_chars: int | None = None
    #: The engine keeps only the last output line, up to this many characters: the result is
    #: printed as one compact ASCII line cut to fit (None: printed as the script wrote it).
    line_limit: int | None = None
    #: The engine counts anything on stderr as a script error: the body's other streams are
    #: discarded and an error outside it still ends in the JSON result.
    quiet: bool = False

    @property
    def ok_code(self) -> int | None:
        return None if self.codes is None else self.codes[0]

    @property
    def failed_code(self) -> int | None:
        return None if self.codes is None else self.codes[1]

    @property
    def needs_user_code(self) -> int | None:
        return None if self.codes is None else self.codes[2]


RMM_TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target(
            "tactical",
            "Tactical RMM",
            environment=True,
            arguments=True,
            codes=(0, 1, 3),
            set_should_exit=True,
            bom=False,
        ),
        Target("ninjaone", "NinjaOne", environment=True, arguments=False, codes=(0, 1, 3)),
        Target("datto", "Datto RMM", environment=True, arguments=False, codes=(0, 1, 3)),
        Target(
            "nsight",
            "N-able N-sight",
            environment=False,
            arguments=True,
            codes=(0, 1001, 1003),
            max_script_chars=65535,
        ),
        Target("generic", "any script runner", environment=True, arguments=True, codes=(0, 1, 3)),
    )
}

ANSIBLE_TARGET = Target(
    "ansible",
    "Ansible (ansible.windows.win_powershell)",
    environment=False,
    arguments=True,
    codes=None,
    ansible=True,
)

INTUNE_TARGET = Target(
    "intune",
    "Microsoft Intune",
    environment=False,
    arguments=False,
    codes=(0, 1, 1),
    bom=False,
    line_limit=2048,
    quiet=True,
)

TARGETS: dict[str, Target] = {
    **RMM_TARGETS,
    ANSIBLE_TARGET.name: ANSIBLE_TARGET,
    INTUNE_TARGET.name: INTUNE_TARGET,
}
