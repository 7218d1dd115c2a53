"""Access tokens, ID tokens and client_info, shaped like the ones Entra issues."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from . import jwt
from .state import Runtime, UserIdentity


def service_principal_id(client_id: str, tenant_id: str) -> str:
    # An app has one service principal per tenant; derive its object id stably from the pair.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sp:{tenant_id}:{client_id}"))


def pairwise_sub(user_oid: str, client_id: str) -> str:
    # Entra's `sub` is pairwise (differs per app for the same user); its exact derivation is private.
    return jwt.b64url_encode(hashlib.sha256(f"{user_oid}|{client_id}".encode()).digest()[:32])


def client_info(user: UserIdentity) -> str:
    return jwt.b64url_encode(json.dumps({"uid": user.object_id, "utid": user.tenant_id}).encode())


@dataclass(frozen=True)
class IssuedToken:
    token: str
    claims: dict[str, Any]
    lifetime: int

    @property
    def expires_on(self) -> int:
        return int(self.claims["exp"])

    @property
    def not_before(self) -> int:
        return int(self.claims["nbf"])


def access_token(
    rt: Runtime,
    *,
    tenant_id: str,
    audience: str,
    client_id: str,
    lifetime: int,
    user: UserIdentity | None = None,
    object_id: str | None = None,
    scp: str | None = None,
    roles: list[str] | None = None,
    cp1: bool = False,
    appidacr: str = "1",
    extra: dict[str, Any] | None = None,
) -> IssuedToken:
    """A v1-shaped access token (iss sts.windows.net) as Entra issues for Azure resources."""
    now = int(rt.clock())
    issuer = f"https://sts.windows.net/{tenant_id}/"
    claims: dict[str, Any] = {
        "aud": audience,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "appid": client_id,
        "azp": client_id,
        "appidacr": appidacr,
        "idp": issuer,
        "tid": tenant_id,
        "uti": jwt.b64url_encode(secrets.token_bytes(16)),
        "ver": "1.0",
    }
    if user is not None:
        claims.update(
            {
                "oid": user.object_id,
                "sub": pairwise_sub(user.object_id, client_id),
                "upn": user.username,
                "unique_name": user.username,
                "name": user.name,
                "idtyp": "user",
                "scp": scp or "user_impersonation",
            }
        )
    else:
        oid = object_id or service_principal_id(client_id, tenant_id)
        claims.update({"oid": oid, "sub": oid, "idtyp": "app"})
    if roles:
        claims["roles"] = list(roles)
    if cp1:
        claims["xms_cc"] = ["CP1"]
    claims.update(extra or {})
    return IssuedToken(rt.entra_key.sign(claims), claims, lifetime)


def id_token(
    rt: Runtime, *, user: UserIdentity, client_id: str, lifetime: int, nonce: str | None = None
) -> str:
    now = int(rt.clock())
    claims = {
        "aud": client_id,
        "iss": f"{rt.base_url}/{user.tenant_id}/v2.0",
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "name": user.name,
        "oid": user.object_id,
        "preferred_username": user.username,
        "sub": pairwise_sub(user.object_id, client_id),
        "tid": user.tenant_id,
        "ver": "2.0",
    }
    if nonce:
        claims["nonce"] = nonce
    return rt.entra_key.sign(claims)


def verify(rt: Runtime, token: str) -> dict[str, Any]:
    """Check signature (emulator key) and expiry; return the claims.  Raises ValueError."""
    decoded = jwt.decode(token)
    if decoded.header.get("alg") != "RS256":
        raise ValueError("token is not RS256")
    if decoded.header.get("kid") not in (None, rt.entra_key.kid):
        raise ValueError("token was not signed by this emulator (unknown kid)")
    if not jwt.verify_signature(decoded, rt.entra_key.public_key):
        raise ValueError("bad token signature")
    exp = decoded.claims.get("exp")
    if not isinstance(exp, (int, float)) or exp <= rt.clock():
        raise ValueError("token expired")
    return decoded.claims
