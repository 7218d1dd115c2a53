"""Test-side helpers.  Deliberately independent of the emulator's own JWT code: a test that used the
emulator's signer/verifier could not catch a bug in it."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from azidentity.emulator import Emulator

TIMEOUT = 5


class FakeClock:
    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now


def b64e(data: bytes, pad: bool = False) -> str:
    text = base64.urlsafe_b64encode(data).decode()
    return text if pad else text.rstrip("=")


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    h, p, _ = token.split(".")
    return json.loads(b64d(h)), json.loads(b64d(p))


def sign_jwt(
    claims: dict[str, Any],
    key: rsa.RSAPrivateKey,
    header: dict[str, Any],
    alg: str = "RS256",
    pad: bool = False,
) -> str:
    head = {"alg": alg, "typ": "JWT", **header}
    signing_input = f"{b64e(json.dumps(head).encode(), pad)}.{b64e(json.dumps(claims).encode(), pad)}"
    if alg == "RS256":
        pad_alg: padding.AsymmetricPadding = padding.PKCS1v15()
    else:
        pad_alg = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    sig = key.sign(signing_input.encode(), pad_alg, hashes.SHA256())
    return f"{signing_input}.{b64e(sig, pad)}"


def load_pem(path: str, password: str | None = None) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    data = Path(path).read_bytes()
    cert = x509.load_pem_x509_certificates(data)[0]
    key = serialization.load_pem_private_key(data, password.encode() if password else None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return cert, key


def client_assertion(
    emu: Emulator,
    client_id: str,
    cert: x509.Certificate,
    key: rsa.RSAPrivateKey,
    *,
    tenant: str | None = None,
    alg: str = "RS256",
    use_s256: bool = False,
    pad: bool = False,
    now: float | None = None,
    **overrides: Any,
) -> str:
    now = time.time() if now is None else now
    claims: dict[str, Any] = {
        "aud": f"{emu.base_url}/{tenant or emu.tenant_id}/oauth2/v2.0/token",
        "iss": client_id,
        "sub": client_id,
        "jti": str(uuid.uuid4()),
        "nbf": int(now),
        "iat": int(now),
        "exp": int(now) + 600,
    }
    claims.update(overrides)
    header = (
        {"x5t#S256": b64e(cert.fingerprint(hashes.SHA256()))}
        if use_s256
        else {"x5t": b64e(cert.fingerprint(hashes.SHA1()))}
    )
    return sign_jwt(claims, key, header, alg, pad)


def token(
    emu: Emulator, tenant: str | None = None, headers: dict[str, str] | None = None, **form: str
) -> requests.Response:
    url = f"{emu.base_url}/{tenant or emu.tenant_id}/oauth2/v2.0/token"
    return requests.post(url, data=form, headers=headers, verify=emu.ca_bundle_path, timeout=TIMEOUT)


def secret_token(
    emu: Emulator,
    app: str = "secret",
    tenant: str | None = None,
    scope: str = "https://storage.azure.com/.default",
    headers: dict[str, str] | None = None,
    **extra: str,
) -> requests.Response:
    a = emu.apps[app]
    form = {
        "grant_type": "client_credentials",
        "client_id": a.client_id,
        "client_secret": a.secret or "",
        "scope": scope,
        **extra,
    }
    return token(emu, tenant, headers, **form)


def assert_entra_error(resp: requests.Response, status: int, error: str, code: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error"] == error, body
    assert body["error_codes"] == [code], body
    assert body["error_description"].startswith(f"AADSTS{code}: "), body
    for key in ("timestamp", "trace_id", "correlation_id", "error_uri"):
        assert key in body
    return body


def verify_with_jwks(token_text: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """RS256 verification with the published JWKS, using cryptography directly."""
    header, claims = jwt_parts(token_text)
    (jwk,) = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    pub = rsa.RSAPublicNumbers(int.from_bytes(b64d(jwk["e"]), "big"), int.from_bytes(b64d(jwk["n"]), "big"))
    signing_input, sig = token_text.rsplit(".", 1)
    pub.public_key().verify(b64d(sig), signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return claims


def get(emu_url: str, path: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("timeout", TIMEOUT)
    return requests.get(f"{emu_url}{path}", **kwargs)


# -- user sign-in: /authorize with PKCE for the public client, and redeeming its code --------------------
USER_SCOPE = "https://storage.azure.com/user_impersonation openid profile offline_access"
REDIRECT = "http://localhost:8400"
VERIFIER = "v" * 43


def challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def authorize(emu: Emulator, tenant: str = "organizations", **overrides: str | None) -> requests.Response:
    params: dict[str, str | None] = {
        "client_id": emu.apps["public"].client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": USER_SCOPE,
        "state": "st",
        "code_challenge": challenge(VERIFIER),
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return requests.get(
        f"{emu.base_url}/{tenant}/oauth2/v2.0/authorize",
        params={k: v for k, v in params.items() if v is not None},
        verify=emu.ca_bundle_path,
        allow_redirects=False,
        timeout=TIMEOUT,
    )


def redirected(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith((REDIRECT + "?", REDIRECT + "/?")), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def redeem(
    emu: Emulator, code: str, tenant: str = "organizations", **overrides: str | None
) -> requests.Response:
    form: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "client_id": emu.apps["public"].client_id,
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": VERIFIER,
        "scope": USER_SCOPE,
        "client_info": "1",
    }
    form.update(overrides)
    return token(emu, tenant, **{k: v for k, v in form.items() if v is not None})
