"""Grant handlers for the v2.0 token endpoint, registered in a dispatch table by grant_type.

New grants (authorization_code, device_code) are added by writing a ``GrantHandler`` and putting it in
``DEFAULT_GRANTS`` (or calling ``EntraService.register_grant`` at runtime).
"""

from __future__ import annotations

from collections.abc import Callable

from . import errors, jwt
from .errors import EntraError
from .state import Runtime, UserIdentity
from .token_request import TokenRequest, user_identity
from .tokens import access_token
from .wire import Response

GrantHandler = Callable[[TokenRequest], Response]
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def client_credentials(tr: TokenRequest) -> Response:
    tenant_id = tr.require_tenant()
    app = tr.app()
    if app.public:
        tr.check_app_in_tenant(app, tenant_id)
        raise errors.credential_required()  # a public client has no credential to prove it is the app
    auth = tr.authenticate(app, tenant_id)
    res = tr.resource(tenant_id)
    if not res.is_default:
        raise errors.default_scope_required(tr.param("scope"))
    token = access_token(
        tr.rt,
        tenant_id=tenant_id,
        audience=res.audience,
        client_id=app.client_id,
        lifetime=tr.rt.lifetime_for(app),
        roles=app.roles,
        cp1=tr.cp1(),
        appidacr=auth.appidacr,
    )
    return tr.respond(token)


def password(tr: TokenRequest) -> Response:
    app = tr.app()
    username = tr.param("username")
    secret = tr.param("password")
    tr.param("scope")
    user = tr.find_user(username)
    # One answer for "no such user" and "wrong password", so the endpoint does not reveal which
    # accounts exist.
    if user is None or (tr.tenant_id is not None and user.tenant_id != tr.tenant_id):
        raise errors.bad_credentials()
    auth = tr.authenticate(app, user.tenant_id)
    if user.password != secret:
        raise errors.bad_credentials()
    res = tr.resource(user.tenant_id)
    return tr.respond_for_user(app, user_identity(user), res, auth)


def on_behalf_of(tr: TokenRequest) -> Response:
    use = tr.param("requested_token_use")
    if use != "on_behalf_of":
        raise EntraError(
            400,
            "invalid_request",
            90014,
            f"The 'requested_token_use' parameter value '{use}' is not supported.",
        )
    assertion = tr.param("assertion")
    app = tr.app()
    rt = tr.rt
    try:
        decoded = jwt.decode(assertion)
    except ValueError as exc:
        raise errors.malformed_jwt() from exc
    if decoded.header.get("kid") != rt.entra_key.kid or not jwt.verify_signature(
        decoded, rt.entra_key.public_key
    ):
        raise errors.obo_signature()
    claims = decoded.claims
    tenant_id = str(claims.get("tid", ""))
    if tr.tenant_id is not None and tenant_id != tr.tenant_id:
        raise EntraError(
            400,
            "invalid_grant",
            50013,
            f"Assertion tenant '{tenant_id}' does not match the request tenant '{tr.tenant_id}'.",
        )
    auth = tr.authenticate(app, tenant_id)
    if auth.method == "none":
        raise errors.credential_required()  # OBO is for confidential (middle-tier) clients only
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or exp <= rt.clock():
        raise errors.obo_expired(rt.clock(), float(exp) if isinstance(exp, (int, float)) else 0.0)
    aud = claims.get("aud")
    if aud not in (app.client_id, f"api://{app.client_id}"):
        raise errors.obo_audience(aud, app.client_id)
    if claims.get("idtyp") != "user" or "oid" not in claims:
        raise errors.obo_not_user()
    user = user_identity_from_claims(claims, tenant_id)
    return tr.respond_for_user(app, user, tr.resource(tenant_id), auth)


def user_identity_from_claims(claims: dict[str, object], tenant_id: str) -> UserIdentity:
    return UserIdentity(
        object_id=str(claims["oid"]),
        tenant_id=tenant_id,
        username=str(claims.get("upn", "")),
        name=str(claims.get("name", "")),
    )


def refresh_token(tr: TokenRequest) -> Response:
    token = tr.param("refresh_token")
    app = tr.app()
    rt = tr.rt
    grant = rt.refresh_tokens.get(token)
    if grant is None or not same_family(rt, grant.client_id, app.client_id) or grant.expires_at <= rt.clock():
        raise errors.invalid_grant_token()
    if tr.tenant_id is not None and grant.tenant_id != tr.tenant_id:
        # A refresh token works at every tenant its user belongs to; the emulator's users belong to one.
        user = grant.user
        where = rt.config.tenants.get(tr.tenant_id, tr.tenant_id)
        raise errors.user_not_in_tenant(user.username, user.tenant_id, where, app.client_id, app.display_name)
    auth = tr.authenticate(app, grant.tenant_id)
    return tr.respond_for_user(app, grant.user, tr.resource(grant.tenant_id), auth)


def same_family(rt: Runtime, issued_to: str, redeemer: str) -> bool:
    """A refresh token serves the client it was issued to, or any member of that client's FOCI family."""
    if issued_to.lower() == redeemer.lower():
        return True
    issuer_app, redeemer_app = rt.app_by_client_id(issued_to), rt.app_by_client_id(redeemer)
    return bool(
        issuer_app is not None
        and redeemer_app is not None
        and issuer_app.family_id
        and issuer_app.family_id == redeemer_app.family_id
    )


DEFAULT_GRANTS: dict[str, GrantHandler] = {
    "client_credentials": client_credentials,
    "password": password,
    JWT_BEARER: on_behalf_of,
    "refresh_token": refresh_token,
}
