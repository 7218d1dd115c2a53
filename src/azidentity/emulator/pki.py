"""Certificates and keys, all generated at start: CA, TLS server certs, client certs, signing keys.

Validity periods use the real wall clock (not the emulator's injectable clock) because TLS peers
check them against the real clock.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOCAL_DNS = ("localhost",)
LOCAL_IPS = ("127.0.0.1",)


_pool_lock = threading.Lock()
_pool: list[rsa.RSAPrivateKey] = []


def _generate() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def new_key() -> rsa.RSAPrivateKey:
    """A fresh RSA key (from the prefetched pool if any: each key is handed out exactly once)."""
    with _pool_lock:
        if _pool:
            return _pool.pop()
    return _generate()


def prefetch_keys(count: int) -> None:
    """Make sure ``count`` keys are pooled, generating the missing ones in parallel (OpenSSL releases
    the GIL)."""
    with _pool_lock:
        missing = count - len(_pool)
    if missing <= 0:
        return
    with ThreadPoolExecutor(max_workers=min(missing, os.cpu_count() or 1, 8)) as pool:
        keys = list(pool.map(lambda _: _generate(), range(missing)))
    with _pool_lock:
        _pool.extend(keys)


_refill_thread: threading.Thread | None = None


def refill_in_background(count: int) -> None:
    """Pre-generate the next emulator's keys while this one serves (test suites start many emulators)."""
    global _refill_thread
    with _pool_lock:
        if _refill_thread is not None and _refill_thread.is_alive():
            return
        _refill_thread = threading.Thread(
            target=_refill, args=(count,), name="emulator-key-pool", daemon=True
        )
        _refill_thread.start()


def _refill(count: int) -> None:
    while True:
        with _pool_lock:
            if len(_pool) >= count:
                return
        key = _generate()
        with _pool_lock:
            _pool.append(key)


@dataclass(frozen=True)
class CertKey:
    cert: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def thumbprint_sha1(self) -> str:
        # Upper-case hex: the way Azure (portal, IDENTITY_SERVER_THUMBPRINT) writes thumbprints.
        return self.cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303

    @property
    def thumbprint_sha256(self) -> str:
        return self.cert.fingerprint(hashes.SHA256()).hex().upper()

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self, password: str | None = None) -> bytes:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password.encode())
            if password
            else serialization.NoEncryption()
        )
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "azidentity emulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _builder(subject: str, issuer: x509.Name, key: rsa.RSAPrivateKey, days: int) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # Back-date a little so a peer whose clock lags slightly still accepts the cert.
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def make_ca(common_name: str, parent: CertKey | None = None, *, path_length: int | None = None) -> CertKey:
    key = new_key()
    issuer_name = parent.cert.subject if parent else _name(common_name)
    signer = parent.key if parent else key
    builder = (
        _builder(common_name, issuer_name, key, 30)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if parent:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()), critical=False
        )
    return CertKey(builder.sign(signer, hashes.SHA256()), key)


def make_leaf(common_name: str, issuer: CertKey | None, *, server: bool = False) -> CertKey:
    """A leaf certificate; self-signed when ``issuer`` is None.  Server certs cover localhost/127.0.0.1."""
    key = new_key()
    issuer_name = issuer.cert.subject if issuer else _name(common_name)
    builder = _builder(common_name, issuer_name, key, 30).add_extension(
        x509.BasicConstraints(ca=False, path_length=None), critical=True
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    if server:
        names: list[x509.GeneralName] = [x509.DNSName(n) for n in LOCAL_DNS]
        names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in LOCAL_IPS]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    else:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    return CertKey(builder.sign(issuer.key if issuer else key, hashes.SHA256()), key)


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    os.chmod(path, 0o600)  # private keys: readable by the owner only
    return str(path)


@dataclass(frozen=True)
class ClientCertFiles:
    """Certificate-credential files for one app registration."""

    leaf: CertKey
    chain_leaf: CertKey
    unregistered: CertKey
    password: str
    pem_path: str
    pem_encrypted_path: str
    pfx_path: str
    pfx_password_path: str
    chain_pem_path: str
    unregistered_pem_path: str


def write_client_cert_files(
    directory: Path, name: str, intermediate: CertKey, password: str
) -> ClientCertFiles:
    """Leaf (self-signed), leaf issued by ``intermediate``, and an unregistered cert, in every format."""
    leaf = make_leaf(f"{name} client certificate", None)
    chain_leaf = make_leaf(f"{name} chained client certificate", intermediate)
    unregistered = make_leaf(f"{name} unregistered certificate", None)
    pw = password.encode()
    friendly = name.encode()
    return ClientCertFiles(
        leaf=leaf,
        chain_leaf=chain_leaf,
        unregistered=unregistered,
        password=password,
        pem_path=_write(directory / f"{name}.pem", leaf.cert_pem() + leaf.key_pem()),
        pem_encrypted_path=_write(
            directory / f"{name}-encrypted.pem", leaf.cert_pem() + leaf.key_pem(password)
        ),
        pfx_path=_write(
            directory / f"{name}.pfx",
            pkcs12.serialize_key_and_certificates(
                friendly, leaf.key, leaf.cert, None, serialization.NoEncryption()
            ),
        ),
        pfx_password_path=_write(
            directory / f"{name}-password.pfx",
            pkcs12.serialize_key_and_certificates(
                friendly, leaf.key, leaf.cert, None, serialization.BestAvailableEncryption(pw)
            ),
        ),
        chain_pem_path=_write(
            directory / f"{name}-chain.pem",
            chain_leaf.cert_pem() + intermediate.cert_pem() + chain_leaf.key_pem(),
        ),
        unregistered_pem_path=_write(
            directory / f"{name}-unregistered.pem", unregistered.cert_pem() + unregistered.key_pem()
        ),
    )


@dataclass(frozen=True)
class ServerPki:
    """TLS material for the HTTPS listeners."""

    ca: CertKey
    intermediate: CertKey
    server: CertKey
    service_fabric: CertKey
    ca_bundle_path: str
    server_cert_path: str
    server_key_path: str
    service_fabric_cert_path: str
    service_fabric_key_path: str


def build_server_pki(directory: Path) -> ServerPki:
    ca = make_ca("azidentity emulator root CA", path_length=1)
    intermediate = make_ca("azidentity emulator intermediate CA", ca, path_length=0)
    server = make_leaf("127.0.0.1", ca, server=True)
    # Service Fabric presents a self-signed cert that clients pin by thumbprint, not via a CA.
    service_fabric = make_leaf("service fabric managed identity", None, server=True)
    return ServerPki(
        ca=ca,
        intermediate=intermediate,
        server=server,
        service_fabric=service_fabric,
        ca_bundle_path=_write(directory / "ca.pem", ca.cert_pem()),
        server_cert_path=_write(directory / "server.pem", server.cert_pem()),
        server_key_path=_write(directory / "server.key", server.key_pem()),
        service_fabric_cert_path=_write(directory / "service-fabric.pem", service_fabric.cert_pem()),
        service_fabric_key_path=_write(directory / "service-fabric.key", service_fabric.key_pem()),
    )


def signing_material(common_name: str) -> CertKey:
    """A token-signing key with a self-signed cert (JWKS entries carry x5t/x5c like Entra's)."""
    return make_leaf(common_name, None)
