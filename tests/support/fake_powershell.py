#!/usr/bin/env python3
"""A stand-in for powershell.exe: records how it was called and answers as told.

Installed on PATH by the ``fake_powershell`` fixture. ``FAKE_PS_MODE`` picks the
answer; ``FAKE_PS_RECORD`` is a folder for the argv and the script received.
"""

import json
import os
import sys
import time
from pathlib import Path

record = Path(os.environ["FAKE_PS_RECORD"])
mode = os.environ.get("FAKE_PS_MODE", "ok")
args = sys.argv[1:]
(record / "argv.json").write_text(json.dumps(args))
script = Path(args[args.index("-File") + 1])
(record / "script.ps1").write_bytes(script.read_bytes())

RESULT = {
    "remediation": "restart-tasks",
    "computer": "PC01",
    "status": "changed",
    "checks": [
        {
            "name": "tray-running",
            "passed": True,
            "evidence": "QuickbooksDesktopUI.exe running: True",
        }
    ],
    "actions": [
        {
            "description": "Run scheduled task: \\QuickbooksDesktop_O'Brien",
            "performed": "-WhatIf" not in args,
        }
    ],
    "messages": ["The connector for 'O’Brien' is running again."],
    "data": {"what_if": "-WhatIf" in args},
}

if mode == "ok":
    sys.stdout.buffer.write(
        b"VERBOSE: noise\r\n" + json.dumps(RESULT, ensure_ascii=False).encode() + b"\r\n"
    )
elif mode == "needs-action":
    sys.stdout.write(json.dumps(dict(RESULT, status="needs_user_action")) + "\n")
    sys.exit(3)
elif mode == "failed":
    sys.stdout.write(
        json.dumps(dict(RESULT, status="failed", messages=["No connector tasks found."])) + "\n"
    )
    sys.exit(1)
elif mode == "bundle":
    zip_path = record / "bundle.zip"
    zip_path.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    import hashlib

    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()
    bundle = {"path": str(zip_path), "sha256": digest, "size": 22, "files": 0}
    sys.stdout.write(
        json.dumps(dict(RESULT, remediation="collect-logs", status="ok", data={"bundle": bundle}))
        + "\n"
    )
elif mode == "not-json":
    sys.stdout.write("Hello from a profile script\n")
elif mode == "parse-error":
    sys.stderr.write(
        "At C:\\x.ps1:3 char:1\r\n+ Unexpected token '}' in expression or statement.\r\n"
    )
    sys.exit(1)
elif mode == "slow":
    time.sleep(30)
elif mode == "flood":
    noise = b"x" * 2000 + b"\r\n"
    for _ in range(3000):
        sys.stdout.buffer.write(noise)
        sys.stderr.buffer.write(b"WARNING: " + noise)
    sys.stdout.buffer.write(json.dumps(RESULT).encode() + b"\r\n")
