"""Client assertion JWTs signed with a certificate (RFC 7523), as Entra ID expects them.

Header: ``alg`` PS256 (RS256 for ADFS, which lacks PSS), ``x5t#S256`` and ``x5t`` thumbprints,
and ``x5c`` (the chain, leaf first) when subject-name/issuer authentication is wanted.
Claims: ``aud`` (the token endpoint), ``iss`` = ``sub`` = client id, ``jti``, ``iat``, ``nbf``,
``exp``. A fresh assertion per request: signing is cheap and it avoids replay windows.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from .certificate import ClientCertificate

LIFETIME = 600


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def build_assertion(
    cert: ClientCertificate,
    client_id: str,
    audience: str,
    now: float,
    *,
    send_chain: bool = False,
    rsa_pkcs1: bool = False,
) -> str:
    import uuid

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    header: dict[str, Any] = {
        "alg": "RS256" if rsa_pkcs1 else "PS256",
        "typ": "JWT",
        "x5t": b64url(cert.thumbprint_sha1),
        "x5t#S256": b64url(cert.thumbprint_sha256),
    }
    if send_chain:
        header["x5c"] = [
            base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode("ascii") for c in cert.chain
        ]
    issued = int(now)
    claims = {
        "aud": audience,
        "iss": client_id,
        "sub": client_id,
        "jti": str(uuid.uuid4()),
        "iat": issued,
        "nbf": issued,
        "exp": issued + LIFETIME,
    }
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(claims, separators=(",", ":")).encode())
    ).encode("ascii")
    pad: Any = (
        padding.PKCS1v15()
        if rsa_pkcs1
        else padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
    )
    signature = cert.private_key.sign(signing_input, pad, hashes.SHA256())
    return signing_input.decode("ascii") + "." + b64url(signature)
