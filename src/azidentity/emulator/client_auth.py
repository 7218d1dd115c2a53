"""Client authentication at the token endpoint: secret, certificate assertion, federated assertion."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import errors, jwt
from .config import AppConfig
from .state import RegisteredCert, Runtime

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLOCK_SKEW = 300  # Entra tolerates five minutes of clock skew on assertion nbf/exp


@dataclass(frozen=True)
class ClientAuth:
    method: str  # "none" (public client), "secret", "certificate" or "federated"

    @property
    def appidacr(self) -> str:
        # v1 token claim: 0 = public client, 1 = secret, 2 = certificate/assertion
        return {"none": "0", "secret": "1"}.get(self.method, "2")


def authenticate(
    rt: Runtime, app: AppConfig, tenant_id: str, tenant_segment: str, form: Mapping[str, str]
) -> ClientAuth:
    secret = form.get("client_secret")
    assertion = form.get("client_assertion")
    if app.public:
        if secret or assertion:
            raise errors.public_client_with_credential()
        return ClientAuth("none")
    if assertion is not None:
        assertion_type = form.get("client_assertion_type")
        if not assertion_type:
            raise errors.missing_parameter("client_assertion_type")
        if assertion_type != ASSERTION_TYPE:
            raise errors.bad_assertion_type(assertion_type)
        return _check_assertion(rt, app, tenant_id, tenant_segment, assertion)
    if secret is not None:
        _check_secret(rt, app, secret)
        return ClientAuth("secret")
    raise errors.credential_required()


def _same(a: str, b: str | None) -> bool:
    return b is not None and hmac.compare_digest(a.encode(), b.encode())


def _check_secret(rt: Runtime, app: AppConfig, secret: str) -> None:
    now = rt.clock()
    if _same(secret, app.secret):
        expires = app.secret_expires_at
    elif _same(secret, app.expired_secret):
        expires = app.expired_secret_expires_at
    else:
        raise errors.invalid_secret(app.client_id)
    if expires is not None and now >= expires:
        raise errors.expired_secret(app.client_id)


def _check_times(rt: Runtime, claims: Mapping[str, Any]) -> None:
    now = rt.clock()
    exp = claims.get("exp")
    nbf = claims.get("nbf")
    if not isinstance(exp, (int, float)) or (nbf is not None and not isinstance(nbf, (int, float))):
        raise errors.malformed_jwt()
    if now > exp + CLOCK_SKEW or (nbf is not None and nbf > now + CLOCK_SKEW):
        raise errors.assertion_time(now, nbf, exp)


def _audiences(claims: Mapping[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list):
        return [a for a in aud if isinstance(a, str)]
    return []


def _check_assertion(
    rt: Runtime, app: AppConfig, tenant_id: str, tenant_segment: str, assertion: str
) -> ClientAuth:
    try:
        decoded = jwt.decode(assertion)
    except ValueError as exc:
        raise errors.malformed_jwt() from exc
    # An assertion the app issued about itself has iss == client_id; anything else is a token from an
    # external issuer, which Entra matches against the app's federated identity credentials.
    if decoded.claims.get("iss") == app.client_id:
        _check_certificate_assertion(rt, app, tenant_id, tenant_segment, decoded)
        return ClientAuth("certificate")
    _check_federated_assertion(rt, app, decoded)
    return ClientAuth("federated")


def _find_cert(certs: list[RegisteredCert], header: Mapping[str, Any]) -> tuple[RegisteredCert | None, str]:
    s256 = header.get("x5t#S256")
    sha1 = header.get("x5t")
    for cert in certs:
        if isinstance(s256, str) and s256.rstrip("=") == cert.x5t_s256:
            return cert, s256
        if isinstance(sha1, str) and sha1.rstrip("=") == cert.x5t:
            return cert, sha1
    presented = s256 if isinstance(s256, str) else sha1 if isinstance(sha1, str) else ""
    try:
        presented = jwt.b64url_decode(presented).hex().upper()
    except ValueError:
        pass
    return None, presented


def _check_certificate_assertion(
    rt: Runtime, app: AppConfig, tenant_id: str, tenant_segment: str, decoded: jwt.DecodedJwt
) -> None:
    cert, presented = _find_cert(rt.app_certs.get(app.client_id, []), decoded.header)
    if cert is None:
        raise errors.assertion_signature(app.client_id, presented)
    if decoded.header.get("alg") not in jwt.SUPPORTED_ALGS:
        raise errors.assertion_signature(app.client_id, presented, "Unsupported signing algorithm.")
    if not jwt.verify_signature(decoded, cert.public_key):
        raise errors.assertion_signature(
            app.client_id,
            presented,
            "The provided signature value did not match the expected signature value.",
        )
    claims = decoded.claims
    if claims.get("sub") != app.client_id:
        raise errors.assertion_subject(claims.get("iss"), claims.get("sub"), app.client_id)
    accepted = set()
    for segment in {tenant_id, tenant_segment}:
        accepted.add(f"{rt.base_url}/{segment}/oauth2/v2.0/token".lower())
        accepted.add(f"{rt.base_url}/{segment}/v2.0".lower())
    audiences = _audiences(claims)
    if not any(a.rstrip("/").lower() in accepted for a in audiences):
        raise errors.assertion_audience(
            claims.get("aud"), f"{rt.base_url}/{tenant_segment}/oauth2/v2.0/token"
        )
    _check_times(rt, claims)


def _check_federated_assertion(rt: Runtime, app: AppConfig, decoded: jwt.DecodedJwt) -> None:
    claims = decoded.claims
    iss, sub, aud = claims.get("iss"), claims.get("sub"), claims.get("aud")
    by_issuer = [f for f in app.federated_credentials if rt.resolve_issuer(f.issuer) == iss]
    if not by_issuer:
        raise errors.no_federated_record(iss, sub, aud)
    by_subject = [f for f in by_issuer if f.subject == sub]
    if not by_subject:
        raise errors.federated_subject(sub)
    presented = set(_audiences(claims))
    if not any(presented & set(f.audiences) for f in by_subject):
        raise errors.federated_audience(aud)
    key = rt.issuer_key(str(iss))
    if key is None:
        # The emulator never contacts other hosts, so it can only validate issuers it hosts itself.
        raise errors.EntraError(400, "invalid_client", 50166, "Request to External OIDC endpoint failed.")
    if decoded.header.get("alg") not in jwt.SUPPORTED_ALGS or not jwt.verify_signature(
        decoded, key.public_key
    ):
        raise errors.assertion_signature(
            app.client_id,
            str(decoded.header.get("kid", "")),
            "The provided signature value did not match the expected signature value.",
        )
    _check_times(rt, claims)
