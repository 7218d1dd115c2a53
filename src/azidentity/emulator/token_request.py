"""Parsing and shared validation for one token-endpoint request (used by every grant handler)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from . import errors
from .client_auth import ClientAuth, authenticate
from .config import AppConfig, UserConfig
from .errors import EntraError
from .state import RefreshGrant, Runtime, UserIdentity
from .tokens import IssuedToken, access_token, client_info, id_token
from .wire import RecordedRequest, Response, json_response

GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
DNS_NAME = re.compile(r"^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
TENANT_ALIASES = ("common", "organizations", "consumers")
OIDC_SCOPES = ("openid", "profile", "offline_access", "email")
GRAPH = "https://graph.microsoft.com"


def resolve_tenant(rt: Runtime, segment: str, error: str = "invalid_request") -> str | None:
    """Tenant id for an authority path segment; None for the multi-tenant aliases."""
    if segment.lower() in TENANT_ALIASES:
        return None
    if GUID.match(segment):
        for tid in rt.config.tenants:
            if tid.lower() == segment.lower():
                return tid
        raise errors.tenant_not_found(segment, error)
    if DNS_NAME.match(segment):
        for tid, domain in rt.config.tenants.items():
            if domain.lower() == segment.lower():
                return tid
        raise errors.tenant_not_found(segment, error)
    raise errors.tenant_malformed(segment, error)


@dataclass(frozen=True)
class Resource:
    audience: str
    resource: str
    permissions: list[str]
    oidc: list[str] = field(default_factory=list)

    @property
    def is_default(self) -> bool:
        return self.permissions == [".default"]

    @property
    def scp(self) -> str:
        perms = [p for p in self.permissions if p != ".default"]
        if perms:
            return " ".join(perms)
        return "User.Read" if self.resource == GRAPH else "user_impersonation"

    @property
    def granted_scope(self) -> str:
        sep = "" if self.resource.endswith("/") else "/"
        return " ".join([f"{self.resource}{sep}{p}" for p in self.scp.split()] + self.oidc)


def _split_scope(item: str) -> tuple[str, str]:
    if "://" in item:
        if "/" not in item.split("://", 1)[1]:
            raise errors.invalid_scope(item)  # a v1 resource URI passed where a v2 scope is required
        resource, permission = item.rsplit("/", 1)
        if not permission:
            raise errors.invalid_scope(item)
        return resource, permission
    if "/" in item:
        resource, permission = item.rsplit("/", 1)
        return resource, permission
    return GRAPH, item  # bare permission names are Microsoft Graph's, as in Entra


def parse_scope(rt: Runtime, scope: str) -> Resource:
    per_resource: dict[str, list[str]] = {}
    oidc: list[str] = []
    for item in scope.split():
        if item in OIDC_SCOPES:
            oidc.append(item)
            continue
        resource, permission = _split_scope(item)
        per_resource.setdefault(resource, []).append(permission)
    if len(per_resource) > 1:
        raise errors.multiple_resources()
    if not per_resource:
        return Resource(GRAPH, GRAPH, [], oidc)
    resource, permissions = next(iter(per_resource.items()))
    audience = resource
    if resource.lower().startswith("api://"):
        # App ID URI "api://<client id>" identifies the app itself; tokens for it carry the bare id.
        app = rt.app_by_client_id(resource[len("api://") :])
        if app is not None:
            audience = app.client_id
    return Resource(audience, resource, permissions, oidc)


def wants_cp1(claims_text: str | None) -> bool:
    """True when the ``claims`` request parameter declares the CP1 (CAE) client capability."""
    if claims_text is None:
        return False
    try:
        data = json.loads(claims_text)
    except json.JSONDecodeError as exc:
        raise errors.invalid_claims() from exc
    if not isinstance(data, dict):
        raise errors.invalid_claims()
    access = data.get("access_token")
    xms_cc = access.get("xms_cc") if isinstance(access, dict) else None
    values = xms_cc.get("values") if isinstance(xms_cc, dict) else None
    return isinstance(values, list) and "CP1" in values


@dataclass
class TokenRequest:
    rt: Runtime
    request: RecordedRequest
    tenant_segment: str
    tenant_id: str | None  # None for /common, /organizations, /consumers
    grant_type: str

    @property
    def form(self) -> dict[str, str]:
        return self.request.form

    def param(self, name: str) -> str:
        value = self.form.get(name)
        if not value:
            raise errors.missing_parameter(name)
        return value

    def require_tenant(self) -> str:
        if self.tenant_id is None:
            raise errors.no_tenant(self.grant_type)
        return self.tenant_id

    def app(self) -> AppConfig:
        client_id = self.param("client_id")
        app = self.rt.app_by_client_id(client_id)
        if app is None:
            raise errors.app_not_found(client_id, self.tenant_id or self.tenant_segment)
        return app

    def check_app_in_tenant(self, app: AppConfig, tenant_id: str) -> None:
        if tenant_id not in app.tenant_ids:
            raise errors.app_not_found(app.client_id, self.rt.config.tenants.get(tenant_id, tenant_id))

    def authenticate(self, app: AppConfig, tenant_id: str) -> ClientAuth:
        self.check_app_in_tenant(app, tenant_id)
        return authenticate(self.rt, app, tenant_id, self.tenant_segment, self.form)

    def resource(self, tenant_id: str) -> Resource:
        res = parse_scope(self.rt, self.param("scope"))
        if "unknown-resource" in res.resource:
            raise errors.unknown_resource(res.resource, self.rt.config.tenants.get(tenant_id, tenant_id))
        return res

    def cp1(self) -> bool:
        return wants_cp1(self.form.get("claims"))

    def find_user(self, username: str) -> UserConfig | None:
        for user in self.rt.config.users.values():
            if user.username.lower() == username.lower():
                return user
        return None

    # --- responses ---------------------------------------------------------------------------

    def respond(self, token: IssuedToken, **extra: str) -> Response:
        body: dict[str, object] = {
            "token_type": "Bearer",
            "expires_in": token.lifetime,
            "ext_expires_in": token.lifetime,
            "access_token": token.token,
        }
        if token.lifetime >= 7200:
            body["refresh_in"] = token.lifetime // 2  # Entra advertises proactive refresh on long tokens
        body.update(extra)
        headers = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}
        if self.request.client_request_id:
            headers["client-request-id"] = self.request.client_request_id
        return json_response(200, body, headers)

    def respond_for_user(
        self,
        app: AppConfig,
        user: UserIdentity,
        res: Resource,
        auth: ClientAuth,
        *,
        nonce: str | None = None,
    ) -> Response:
        rt = self.rt
        lifetime = rt.lifetime_for(app)
        token = access_token(
            rt,
            tenant_id=user.tenant_id,
            audience=res.audience,
            client_id=app.client_id,
            lifetime=lifetime,
            user=user,
            scp=res.scp,
            cp1=self.cp1(),
            appidacr=auth.appidacr,
        )
        grant = RefreshGrant(
            app.client_id, user.tenant_id, user, rt.clock() + rt.config.refresh_token_lifetime
        )
        extra = {"scope": res.granted_scope, "refresh_token": rt.refresh_tokens.issue(grant)}
        if "openid" in res.oidc:
            extra["id_token"] = id_token(
                rt, user=user, client_id=app.client_id, lifetime=lifetime, nonce=nonce
            )
        if self.form.get("client_info") == "1":
            extra["client_info"] = client_info(user)
        if app.family_id:
            # Family of client IDs (FOCI): Entra says "foci": "1" for family members, whose refresh
            # tokens every member of the family can redeem (MSAL keeps it as the token's family_id).
            extra["foci"] = app.family_id
        return self.respond(token, **extra)


def user_identity(user: UserConfig) -> UserIdentity:
    return UserIdentity(user.object_id, user.tenant_id, user.username, user.display_name)


__all__ = ["EntraError", "Resource", "TokenRequest", "parse_scope", "resolve_tenant", "user_identity"]
