"""Runtime state shared by the endpoint modules: URLs, keys, registered certificates, refresh tokens."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from . import jwt
from .config import OIDC_ISSUER_PLACEHOLDER, PIPELINES_ISSUER_PLACEHOLDER, AppConfig, EmulatorConfig
from .pki import CertKey


@dataclass(frozen=True)
class SigningKey:
    material: CertKey

    @property
    def kid(self) -> str:
        return jwt.x5t(self.material.cert)  # Entra's kid is the base64url SHA-1 thumbprint, like x5t

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        return self.material.key

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.material.key.public_key()

    def jwk(self, **extra: Any) -> dict[str, Any]:
        return jwt.public_jwk(self.material.cert, self.kid, **extra)

    def sign(self, claims: dict[str, Any], *, typ: str = "JWT") -> str:
        return jwt.sign(claims, self.private_key, headers={"typ": typ, "kid": self.kid, "x5t": self.kid})


@dataclass(frozen=True)
class RegisteredCert:
    """A certificate credential on an app: found by either thumbprint form the assertion header names."""

    x5t: str
    x5t_s256: str
    public_key: rsa.RSAPublicKey


@dataclass(frozen=True)
class UserIdentity:
    """The user a token is about (for OBO/refresh this may come from a token, not the user table)."""

    object_id: str
    tenant_id: str
    username: str
    name: str


@dataclass(frozen=True)
class RefreshGrant:
    client_id: str
    tenant_id: str
    user: UserIdentity
    expires_at: float


class RefreshTokenStore:
    """In-memory refresh tokens; opaque random strings, like Entra's (clients must not parse them)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._grants: dict[str, RefreshGrant] = {}

    def issue(self, grant: RefreshGrant) -> str:
        token = "1.AEMU" + secrets.token_urlsafe(48)
        with self._lock:
            self._grants[token] = grant
        return token

    def get(self, token: str) -> RefreshGrant | None:
        with self._lock:
            return self._grants.get(token)

    def revoke_all(self) -> None:
        with self._lock:
            self._grants.clear()


@dataclass
class Runtime:
    config: EmulatorConfig
    clock: Callable[[], float]
    entra_key: SigningKey
    oidc_key: SigningKey
    pipelines_key: SigningKey
    base_url: str = ""
    mi_base_url: str = ""
    arc_token_dir: str = ""
    app_certs: dict[str, list[RegisteredCert]] = field(default_factory=dict)
    refresh_tokens: RefreshTokenStore = field(default_factory=RefreshTokenStore)

    @property
    def oidc_issuer_url(self) -> str:
        return f"{self.base_url}/oidc-issuer"

    @property
    def pipelines_issuer_url(self) -> str:
        return f"{self.base_url}/pipelines-issuer"

    def resolve_issuer(self, configured: str) -> str:
        return configured.replace(OIDC_ISSUER_PLACEHOLDER, self.oidc_issuer_url).replace(
            PIPELINES_ISSUER_PLACEHOLDER, self.pipelines_issuer_url
        )

    def issuer_key(self, issuer: str) -> SigningKey | None:
        """Signing keys of the federated issuers the emulator itself hosts (it never fetches others)."""
        return {self.oidc_issuer_url: self.oidc_key, self.pipelines_issuer_url: self.pipelines_key}.get(
            issuer
        )

    def app_by_client_id(self, client_id: str) -> AppConfig | None:
        for app in self.config.apps.values():
            if app.client_id.lower() == client_id.lower():
                return app
        return None

    def lifetime_for(self, app: AppConfig | None) -> int:
        if app is not None and app.token_lifetime is not None:
            return app.token_lifetime
        return self.config.token_lifetime
