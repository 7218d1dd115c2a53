"""A deliberately small JWS (compact serialization) implementation: RS256 and PS256 only.

The emulator must not share JWT code with the client library, so that a bug in one cannot hide a bug
in the other; this module is written directly from RFC 7515/7518.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SUPPORTED_ALGS = ("RS256", "PS256")
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without '=' padding (clients differ; Entra accepts both)."""
    stripped = text.rstrip("=")
    if not _B64URL.match(stripped):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


def _uint(value: int) -> str:
    return b64url_encode(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclass(frozen=True)
class DecodedJwt:
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


def decode(token: str) -> DecodedJwt:
    """Split and decode a compact JWS without verifying it.  Raises ValueError if malformed."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise ValueError("a JWS has three dot-separated parts")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError("JWT header or payload is not JSON") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("JWT header and payload must be JSON objects")
    return DecodedJwt(header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), b64url_decode(parts[2]))


def _sign_padding(alg: str) -> padding.AsymmetricPadding:
    if alg == "RS256":
        return padding.PKCS1v15()
    if alg == "PS256":
        return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
    raise ValueError(f"unsupported alg {alg!r}")


def sign(
    claims: Mapping[str, Any],
    key: rsa.RSAPrivateKey,
    *,
    alg: str = "RS256",
    headers: Mapping[str, Any] | None = None,
) -> str:
    header: dict[str, Any] = {"typ": "JWT", "alg": alg}
    header.update(headers or {})
    signing_input = ".".join(
        b64url_encode(json.dumps(part, separators=(",", ":")).encode("utf-8")) for part in (header, claims)
    )
    signature = key.sign(signing_input.encode("ascii"), _sign_padding(alg), hashes.SHA256())
    return f"{signing_input}.{b64url_encode(signature)}"


def verify_signature(decoded: DecodedJwt, public_key: rsa.RSAPublicKey) -> bool:
    alg = decoded.header.get("alg")
    if alg == "RS256":
        pad: padding.AsymmetricPadding = padding.PKCS1v15()
    elif alg == "PS256":
        # Signers disagree on the PSS salt length (RFC 7518 says 32; PyJWT uses the maximum),
        # and Entra accepts both, so let cryptography detect it.
        pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
    else:
        return False
    try:
        public_key.verify(decoded.signature, decoded.signing_input, pad, hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def x5t(cert: x509.Certificate) -> str:
    return b64url_encode(cert.fingerprint(hashes.SHA1()))  # noqa: S303 - x5t is SHA-1 by definition


def x5t_s256(cert: x509.Certificate) -> str:
    return b64url_encode(cert.fingerprint(hashes.SHA256()))


def public_jwk(cert: x509.Certificate, kid: str, **extra: Any) -> dict[str, Any]:
    """JWK for the certificate's RSA key, shaped like Entra's JWKS entries (with x5t/x5c)."""
    public_key = cert.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise TypeError("only RSA keys are supported")
    numbers = public_key.public_numbers()
    der = cert.public_bytes(serialization.Encoding.DER)
    jwk: dict[str, Any] = {
        "kty": "RSA",
        "use": "sig",
        "kid": kid,
        "x5t": x5t(cert),
        "n": _uint(numbers.n),
        "e": _uint(numbers.e),
        "x5c": [base64.b64encode(der).decode("ascii")],
    }
    jwk.update(extra)
    return jwk


def public_key_from_jwk(jwk: Mapping[str, Any]) -> rsa.RSAPublicKey:
    n = int.from_bytes(b64url_decode(str(jwk["n"])), "big")
    e = int.from_bytes(b64url_decode(str(jwk["e"])), "big")
    return rsa.RSAPublicNumbers(e, n).public_key()
