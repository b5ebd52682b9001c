"""Signed exports: keys made here, scripts signed by osslsigncode and verified by it.

The keys are made by each test run (a self-signed code-signing certificate, one for another
use, one expired), so nothing secret is kept in the repository.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from typer.testing import CliRunner

from qbd_fix.cli.app import app
from qbd_fix.errors import UsageError
from qbd_fix.exports import signing
from qbd_fix.exports.signing import load_signer

OSSLSIGNCODE = shutil.which("osslsigncode")
pytestmark = pytest.mark.skipif(
    OSSLSIGNCODE is None, reason="osslsigncode is not installed (apt install osslsigncode)"
)
runner = CliRunner()
PASSWORD = "pfx p@ss 'quoted' $(x)"
VARIABLE = "QBD_TEST_PFX_PASSWORD"


def _key(
    folder: Path, name: str, *, usage: x509.ObjectIdentifier, days: tuple[int, int] = (-1, 30)
) -> tuple[Path, Path]:
    """A self-signed certificate and its key: (pfx file, pem certificate)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"qbd-fix test {name}")])
    now = datetime.now(timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + timedelta(days=days[0]))
        .not_valid_after(now + timedelta(days=days[1]))
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pfx = folder / f"{name}.pfx"
    pfx.write_bytes(
        pkcs12.serialize_key_and_certificates(
            name.encode(),
            key,
            certificate,
            None,
            serialization.BestAvailableEncryption(PASSWORD.encode()),
        )
    )
    pem = folder / f"{name}.pem"
    pem.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return pfx, pem


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    folder = tmp_path_factory.mktemp("keys")
    return {
        "good": _key(folder, "good", usage=ExtendedKeyUsageOID.CODE_SIGNING),
        "server": _key(folder, "server", usage=ExtendedKeyUsageOID.SERVER_AUTH),
        "expired": _key(folder, "expired", usage=ExtendedKeyUsageOID.CODE_SIGNING, days=(-30, -1)),
    }


def _verify(script: Path, pem: Path) -> None:
    assert OSSLSIGNCODE is not None
    done = subprocess.run(
        [OSSLSIGNCODE, "verify", "-in", str(script), "-CAfile", str(pem)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Signature verification: ok" in done.stdout


def _export(args: list[str], pfx: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv(VARIABLE, PASSWORD)
    return runner.invoke(app, [*args, "--sign-pfx", str(pfx), "--sign-password-env", VARIABLE])


def test_intune_scripts_are_signed_and_the_graph_body_enforces_it(
    tmp_path: Path, keys: dict[str, tuple[Path, Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    pfx, pem = keys["good"]
    out = tmp_path / "intune"
    result = _export(["export", "intune", "restart-tasks", "-o", str(out)], pfx, monkeypatch)
    assert result.exit_code == 0, result.output
    for script in ("detect.ps1", "remediate.ps1"):
        data = (out / script).read_bytes()
        assert b"# SIG # Begin signature block" in data
        assert not data.startswith(b"\xef\xbb\xbf")
        data.decode("ascii")
        _verify(out / script, pem)
    body = json.loads((out / "deviceHealthScript.json").read_text())
    assert body["enforceSignatureCheck"] is True
    assert base64.b64decode(body["detectionScriptContent"]) == (out / "detect.ps1").read_bytes()
    signature = json.loads((out / "manifest.json").read_text())["signature"]
    assert signature["subject"] == "CN=qbd-fix test good"
    assert len(signature["thumbprint_sha1"]) == 40
    assert signature["tool"] == "osslsigncode"
    assert PASSWORD not in (out / "manifest.json").read_text()


def test_rmm_and_ansible_exports_sign_their_scripts(
    tmp_path: Path, keys: dict[str, tuple[Path, Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    pfx, pem = keys["good"]
    rmm = tmp_path / "rmm"
    result = _export(
        ["export", "rmm", "collect-logs", "--target", "ninjaone", "-o", str(rmm)], pfx, monkeypatch
    )
    assert result.exit_code == 0, result.output
    _verify(rmm / "collect-logs.ps1", pem)
    role = tmp_path / "role"
    result = _export(["export", "ansible", "-o", str(role)], pfx, monkeypatch)
    assert result.exit_code == 0, result.output
    scripts = sorted((role / "roles" / "qbd_fix" / "files").glob("*.ps1"))
    assert scripts
    for script in scripts:
        _verify(script, pem)


def test_the_password_goes_on_stdin_never_on_a_command_line(
    tmp_path: Path, keys: dict[str, tuple[Path, Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[list[str], bytes]] = []
    real = subprocess.run

    def spy(command: list[str], **kwargs: Any) -> Any:
        seen.append((list(command), kwargs.get("input", b"")))
        return real(command, **kwargs)

    monkeypatch.setattr(signing.subprocess, "run", spy)
    signer = load_signer(keys["good"][0], VARIABLE, environ={VARIABLE: PASSWORD})
    signed = signer.sign("x.ps1", b"Write-Output 'x'\r\n")
    assert b"# SIG # End signature block" in signed
    assert seen and all(PASSWORD not in " ".join(command) for command, _ in seen)
    assert seen[0][1] == PASSWORD.encode()
    assert PASSWORD not in repr(signer)


@pytest.mark.parametrize(
    ("key", "environ", "message"),
    [
        ("good", {}, f"--sign-password-env {VARIABLE}: that variable is not set"),
        ("good", {VARIABLE: "wrong"}, "does not open it"),
        ("server", {VARIABLE: PASSWORD}, "the certificate is not for code signing"),
        ("expired", {VARIABLE: PASSWORD}, "the certificate is valid only from"),
    ],
)
def test_bad_keys_are_one_clear_line(
    keys: dict[str, tuple[Path, Path]], key: str, environ: dict[str, str], message: str
) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        load_signer(keys[key][0], VARIABLE, environ=environ)


def test_a_missing_key_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"--sign-pfx .*missing\.pfx"):
        load_signer(tmp_path / "missing.pfx", VARIABLE, environ={VARIABLE: PASSWORD})


def test_a_failed_signing_writes_nothing(
    tmp_path: Path, keys: dict[str, tuple[Path, Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "never"
    monkeypatch.setenv(VARIABLE, "wrong")
    result = runner.invoke(
        app,
        [
            "export", "intune", "restart-tasks", "-o", str(out),
            "--sign-pfx", str(keys["good"][0]), "--sign-password-env", VARIABLE,
        ],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "does not open it" in result.output and "Traceback" not in result.output
    assert not out.exists()
