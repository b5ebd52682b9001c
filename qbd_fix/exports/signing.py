"""Authenticode signatures for exported scripts, made after rendering (any byte changed
later breaks them).

The certificate comes from a PKCS#12 file whose password is read from an environment
variable: it never reaches a command line, a file or a log. The file is checked here first
(password, private key, code-signing use, dates), so a bad key is one clear line rather than
a signing tool's error. Signing itself is ``osslsigncode`` (2.8 or later signs ``.ps1``),
which reads the password on its standard input; on Windows without it, PowerShell's
``Set-AuthenticodeSignature``, which reads it from the environment.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from qbd_fix.errors import UsageError
from qbd_fix.text import visible

_TIMEOUT_SECONDS = 120

#: Signs one file given by environment variables (values are data, never code here).
_WINDOWS_SIGN = r"""
$ErrorActionPreference = 'Stop'
$password = [Environment]::GetEnvironmentVariable($env:QBD_SIGN_PASSWORD_VARIABLE)
$flags = [System.Security.Cryptography.X509Certificates.X509KeyStorageFlags]::DefaultKeySet
$certificate = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList $env:QBD_SIGN_PFX, $password, $flags
$arguments = @{ LiteralPath = $env:QBD_SIGN_FILE; Certificate = $certificate; HashAlgorithm = 'SHA256' }
if ($env:QBD_SIGN_TIMESTAMP) { $arguments['TimestampServer'] = $env:QBD_SIGN_TIMESTAMP }
$signature = Set-AuthenticodeSignature @arguments
if ($null -eq $signature.SignerCertificate) { throw ('not signed: {0}' -f $signature.StatusMessage) }
"""


@dataclass(frozen=True)
class Certificate:
    """What the manifest says about the signer."""

    subject: str
    thumbprint: str
    not_after: datetime


@dataclass(frozen=True)
class Signer:
    """Signs scripts with one PKCS#12 key; :meth:`sign` is an export's ``sign`` callback."""

    pfx: Path
    password_variable: str
    password: str = field(repr=False)
    certificate: Certificate
    tool: str
    timestamp_url: str | None = None

    def sign(self, name: str, data: bytes) -> bytes:
        """*data* (the script *name*) with its signature block appended."""
        with tempfile.TemporaryDirectory(prefix="qbd-fix-sign-") as folder:
            source = Path(folder) / name
            source.write_bytes(data)
            if self.tool == "osslsigncode":
                return self._osslsigncode(source)
            return self._powershell(source)

    def _osslsigncode(self, source: Path) -> bytes:
        target = source.with_name("signed-" + source.name)
        command = [
            self.tool_path,
            "sign",
            "-pkcs12",
            str(self.pfx),
            "-readpass",
            "-",
            "-h",
            "sha256",
        ]
        if self.timestamp_url:
            command += ["-ts", self.timestamp_url]
        command += ["-in", str(source), "-out", str(target)]
        done = _run(command, stdin=self.password.encode("utf-8"), what=source.name)
        if done.returncode != 0 or not target.is_file():
            raise UsageError(f"osslsigncode could not sign {source.name}: {_last_line(done)}")
        return target.read_bytes()

    def _powershell(self, source: Path) -> bytes:
        script = base64.b64encode(_WINDOWS_SIGN.encode("utf-16-le")).decode("ascii")
        environ = {
            **os.environ,
            "QBD_SIGN_PFX": str(self.pfx),
            "QBD_SIGN_FILE": str(source),
            "QBD_SIGN_PASSWORD_VARIABLE": self.password_variable,
            "QBD_SIGN_TIMESTAMP": self.timestamp_url or "",
        }
        command = [self.tool_path, "-NoProfile", "-NonInteractive", "-EncodedCommand", script]
        done = _run(command, stdin=b"", what=source.name, environ=environ)
        if done.returncode != 0:
            raise UsageError(
                f"Set-AuthenticodeSignature could not sign {source.name}: {_last_line(done)}"
            )
        return source.read_bytes()

    @property
    def tool_path(self) -> str:
        found = shutil.which(self.tool)
        if found is None:
            raise UsageError(f"{self.tool} is no longer on PATH")
        return found

    def describe(self) -> dict[str, object]:
        """For ``manifest.json``: who signed, with what, and until when the certificate holds."""
        return {
            "tool": "osslsigncode" if self.tool == "osslsigncode" else "Set-AuthenticodeSignature",
            "subject": self.certificate.subject,
            "thumbprint_sha1": self.certificate.thumbprint,
            "certificate_not_after": self.certificate.not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "hash": "sha256",
            "timestamp_url": self.timestamp_url,
        }


def _run(
    command: list[str], *, stdin: bytes, what: str, environ: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            command,
            input=stdin,
            capture_output=True,
            timeout=_TIMEOUT_SECONDS,
            check=False,
            env=dict(environ) if environ is not None else None,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"could not sign {what}: {exc}") from None


def _last_line(done: subprocess.CompletedProcess[bytes]) -> str:
    text = (done.stderr or done.stdout or b"").decode("utf-8", "replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    useful = [line for line in lines if line not in ("Failed", "Succeeded")]
    return visible((useful or lines or ["no message"])[0])[:300]


def _tool() -> str:
    if shutil.which("osslsigncode"):
        return "osslsigncode"
    if os.name == "nt" and shutil.which("powershell.exe"):
        return "powershell.exe"
    raise UsageError(
        "--sign-pfx needs osslsigncode 2.8 or later (Debian and Ubuntu: apt install "
        "osslsigncode) or Windows (Set-AuthenticodeSignature)"
    )


def load_signer(
    pfx: Path,
    password_variable: str,
    *,
    timestamp_url: str | None = None,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Signer:
    """The signer for *pfx*, checked: the password (from *password_variable*) opens it, it
    holds a private key and a certificate for code signing that is valid now."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import ExtendedKeyUsageOID

    env = os.environ if environ is None else environ
    password = env.get(password_variable)
    if password is None:
        raise UsageError(f"--sign-password-env {password_variable}: that variable is not set")
    if timestamp_url is not None and not timestamp_url.startswith(("http://", "https://")):
        raise UsageError("--sign-timestamp must be an http:// or https:// URL")
    try:
        data = pfx.read_bytes()
    except OSError as exc:
        raise UsageError(f"--sign-pfx {pfx}: {exc.strerror or exc}") from None
    try:
        key, certificate, _ = pkcs12.load_key_and_certificates(data, password.encode("utf-8"))
    except ValueError:
        raise UsageError(
            f"--sign-pfx {pfx}: not a PKCS#12 file, or the password in "
            f"{password_variable} does not open it"
        ) from None
    if key is None or certificate is None:
        raise UsageError(f"--sign-pfx {pfx}: it holds no private key with its certificate")
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and ExtendedKeyUsageOID.CODE_SIGNING not in usage:
        raise UsageError(f"--sign-pfx {pfx}: the certificate is not for code signing")
    moment = now or datetime.now(timezone.utc)
    if not certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc:
        raise UsageError(
            f"--sign-pfx {pfx}: the certificate is valid only from "
            f"{certificate.not_valid_before_utc:%Y-%m-%d} to {certificate.not_valid_after_utc:%Y-%m-%d}"
        )
    described = Certificate(
        subject=certificate.subject.rfc4514_string(),
        # Windows names a certificate by its SHA-1 thumbprint (Cert:\ paths, Trusted Publishers).
        thumbprint=certificate.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303
        not_after=certificate.not_valid_after_utc,
    )
    return Signer(
        pfx=pfx,
        password_variable=password_variable,
        password=password,
        certificate=described,
        tool=_tool(),
        timestamp_url=timestamp_url,
    )
