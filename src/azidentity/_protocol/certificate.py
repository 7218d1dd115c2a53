"""Loading a client certificate (PEM or PKCS#12) into a signing key and its chain.

Every failure names what is wrong with the input, because "Failed to deserialize certificate"
is the single most reported certificate problem: an encrypted key without a password, a wrong
password, a file with no key or no certificate, a non-RSA key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.+?-----END \1-----", re.S)


@dataclass(frozen=True)
class ClientCertificate:
    private_key: Any  # cryptography RSAPrivateKey
    chain: tuple[Any, ...]  # x509.Certificate, leaf first
    thumbprint_sha1: bytes
    thumbprint_sha256: bytes

    def __repr__(self) -> str:
        return f"ClientCertificate(sha1={self.thumbprint_sha1.hex()})"


def load_certificate(data: bytes, password: bytes | str | None, source: str) -> ClientCertificate:
    """Parse ``data``; ``source`` names the input in errors (a path, or "certificate_data")."""
    if isinstance(password, str):
        password = password.encode("utf-8")
    if not data or not data.strip():
        raise ValueError(f"The certificate {source} is empty.")
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        if b"-----BEGIN" in data:
            key, certs = _load_pem(data, password or None, source)
        else:
            key, certs = _load_pkcs12(data, password or None, source)
    except UnsupportedAlgorithm as error:  # an algorithm cryptography doesn't know (not a ValueError)
        raise ValueError(f"The certificate {source} uses an unsupported algorithm: {error}") from None
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(
            f"The certificate {source} has a {type(key).__name__.lstrip('_')} private key; "
            "an RSA key is required."
        )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    leaf = []
    for cert in certs:
        # Certificates are parsed lazily: a damaged public key fails only now.
        try:
            cert_public = cert.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        except (ValueError, UnsupportedAlgorithm) as error:
            raise ValueError(
                f"The certificate {source} contains a certificate whose public key cannot be read: {error}"
            ) from None
        if cert_public == public:
            leaf.append(cert)
    if not leaf:
        raise ValueError(
            f"The certificate {source} holds a private key that matches none of its certificates."
        )
    chain = (leaf[0], *[c for c in certs if c is not leaf[0]])
    return ClientCertificate(
        key, chain, leaf[0].fingerprint(hashes.SHA1()), leaf[0].fingerprint(hashes.SHA256())
    )  # noqa: S303


def _load_pem(data: bytes, password: bytes | None, source: str) -> tuple[Any, list[Any]]:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    blocks = [(m.group(1).decode(), m.group(0)) for m in _PEM_BLOCK.finditer(data)]
    certs = []
    for kind, block in blocks:
        if kind in ("CERTIFICATE", "X509 CERTIFICATE"):
            try:
                certs.append(x509.load_pem_x509_certificate(block))
            except ValueError as error:
                raise ValueError(
                    f"The certificate {source} contains a CERTIFICATE block that cannot be parsed: {error}"
                ) from None
            except Warning as warning:
                raise _warned(source, warning) from None
    keys = [(kind, block) for kind, block in blocks if kind.endswith("PRIVATE KEY")]
    if not keys:
        raise ValueError(
            f"The certificate {source} contains no private key; "
            "the PEM data must include the certificate's private key."
        )
    if len(keys) > 1:
        raise ValueError(
            f"The certificate {source} contains {len(keys)} private keys; it must contain exactly one."
        )
    if not certs:
        raise ValueError(f"The certificate {source} contains a private key but no CERTIFICATE block.")
    kind, block = keys[0]
    encrypted = kind == "ENCRYPTED PRIVATE KEY" or b"Proc-Type: 4,ENCRYPTED" in block
    if encrypted and password is None:
        raise ValueError(f"The private key in the certificate {source} is encrypted; pass its password.")
    try:
        key = load_pem_private_key(block, password if encrypted else None)
    except (ValueError, TypeError) as error:
        if encrypted:
            raise ValueError(
                f"The password for the certificate {source} is wrong (its private key cannot be decrypted)."
            ) from None
        raise ValueError(f"The private key in the certificate {source} cannot be parsed: {error}") from None
    return key, certs


def _load_pkcs12(data: bytes, password: bytes | None, source: str) -> tuple[Any, list[Any]]:
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password)
    except Warning as warning:
        raise _warned(source, warning) from None
    except ValueError:
        if password is None:
            raise ValueError(
                f"The certificate {source} is neither PEM nor readable PKCS#12 data; if it is an encrypted "
                "PKCS#12 (.pfx) file, pass its password."
            ) from None
        raise ValueError(
            f"The certificate {source} cannot be read as PKCS#12 with the given password: "
            "the password is wrong or the data is not PKCS#12 (nor PEM)."
        ) from None
    if key is None:
        raise ValueError(
            f"The certificate {source} contains no private key; the PKCS#12 data must include it."
        )
    if cert is None:
        raise ValueError(f"The certificate {source} contains a private key but no certificate.")
    return key, [cert, *extra]


def _warned(source: str, warning: Warning) -> ValueError:
    # cryptography warns about certificates it will refuse in a later release (a serial number that
    # isn't positive, for one). Normally that is only a warning; a program whose warnings filter turns
    # it into an exception gets it here, named, instead of a traceback from inside cryptography.
    return ValueError(
        f"The certificate {source} contains a certificate that cryptography warns about, and this "
        f"program's warnings filter makes warnings errors ({warning}). Reissue the certificate, or "
        "let the warning through (warnings.filterwarnings)."
    )
