"""Azurite (the Azure Storage emulator, npm package ``azurite``) for tests: started on a free loopback
port over HTTPS with ``--oauth basic``, stopped at teardown.

Where the executable comes from, first found wins: ``$AZURITE_BLOB``; ``.ci/node_modules/.bin`` (what
``.ci/run`` installs with ``npm install --no-save --prefix .ci azurite``); ``node_modules/.bin`` at the
repository root; ``azurite-blob`` on PATH. When none is found the tests are skipped, except under CI
(``$CI`` set), where that is a failure.

Azurite with ``--oauth basic`` does not check signatures, but accepts only tokens whose ``iss`` starts
with ``https://sts.windows.net/`` and whose ``aud`` is ``https://storage.azure.com`` (or a blob host);
the emulator's v1-shaped tokens are exactly that.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]  # tests/ecosystem/ -> the repository
assert (REPO / "pyproject.toml").is_file(), f"not the repository root: {REPO}"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
ACCOUNT = "devstoreaccount1"  # Azurite's built-in account


@dataclass(frozen=True)
class Azurite:
    port: int
    cert_path: str
    log_path: str

    @property
    def account_url(self) -> str:
        return f"https://127.0.0.1:{self.port}/{ACCOUNT}"


def find_azurite() -> str | None:
    candidates = [
        os.environ.get("AZURITE_BLOB", ""),
        str(REPO / ".ci" / "node_modules" / ".bin" / "azurite-blob"),
        str(REPO / "node_modules" / ".bin" / "azurite-blob"),
        shutil.which("azurite-blob") or "",
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


def write_certificate(directory: Path) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 and localhost: (cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "azurite.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "azurite-cert.pem", directory / "azurite-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    os.chmod(key_path, 0o600)
    return str(cert_path), str(key_path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"Azurite exited with {process.returncode}:\n{log_path.read_text(errors='replace')}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(
        f"Azurite did not listen on 127.0.0.1:{port} within {START_TIMEOUT:.0f} s:\n"
        f"{log_path.read_text(errors='replace')}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    # Azurite runs in its own session (start_new_session): signal that group, i.e. only what we started.
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(STOP_TIMEOUT)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(STOP_TIMEOUT)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    executable = find_azurite()
    if executable is None:
        _unavailable(
            "Azurite is not installed (npm install --no-save --prefix .ci azurite; .ci/run does this)"
        )
    assert executable is not None
    if shutil.which("node") is None:
        _unavailable("Node.js is not on PATH; Azurite needs it")
    work = tmp_path_factory.mktemp("azurite")
    cert_path, key_path = write_certificate(work)
    port = _free_port()
    log_path = work / "azurite.log"
    argv = [
        executable,
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--oauth",
        "basic",
        "--cert",
        cert_path,
        "--key",
        key_path,
        "--inMemoryPersistence",
        "--extentMemoryLimit",
        "64",
        "--silent",
        "--skipApiVersionCheck",
        "--disableTelemetry",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=work,
            start_new_session=True,
        )
    try:
        _wait_for_port(process, port, log_path)
        yield Azurite(port, cert_path, str(log_path))
    finally:
        _stop(process)
