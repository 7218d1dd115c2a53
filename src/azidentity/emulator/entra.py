"""Entra ID endpoints: OpenID configuration, instance discovery, JWKS and the v2.0 token endpoint."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from . import errors
from .errors import EntraError, error_response
from .grants import DEFAULT_GRANTS, GrantHandler
from .state import Runtime
from .token_request import TokenRequest, resolve_tenant
from .wire import RecordedRequest, Response, Route, json_response

TENANT = r"(?P<tenant>[^/]+)"


class EntraService:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.grants: dict[str, GrantHandler] = dict(DEFAULT_GRANTS)

    def register_grant(self, grant_type: str, handler: GrantHandler) -> None:
        self.grants[grant_type] = handler

    def routes(self) -> list[Route]:
        return [
            Route.of(
                "openid-configuration",
                "GET",
                rf"/{TENANT}/v2\.0/\.well-known/openid-configuration",
                self.openid_configuration,
            ),
            Route.of("instance-discovery", "GET", r"/common/discovery/instance", self.instance_discovery),
            Route.of("jwks", "GET", rf"/{TENANT}/discovery/v2\.0/keys", self.jwks_handler),
            Route.of("jwks", "GET", rf"/{TENANT}/discovery/keys", self.jwks_handler),
            Route.of("token", "POST", rf"/{TENANT}/oauth2/v2\.0/token", self.token),
        ]

    def _error(self, err: EntraError, request: RecordedRequest) -> Response:
        return error_response(err, request, self.rt.base_url, self.rt.clock())

    def openid_configuration(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        segment = params["tenant"]
        try:
            tid = resolve_tenant(self.rt, segment, error="invalid_tenant")
        except EntraError as err:
            return self._error(err, request)
        base = self.rt.base_url
        path_tenant = tid or segment
        issuer_tenant = tid or "{tenantid}"  # Entra publishes this literal placeholder for /common
        doc: dict[str, Any] = {
            "token_endpoint": f"{base}/{path_tenant}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/{path_tenant}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/{issuer_tenant}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "authorization_endpoint": f"{base}/{path_tenant}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{path_tenant}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/{path_tenant}/oauth2/v2.0/logout",
            "claims_supported": [
                "sub",
                "iss",
                "cloud_instance_name",
                "cloud_instance_host_name",
                "cloud_graph_host_name",
                "msgraph_host",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "acr",
                "nonce",
                "preferred_username",
                "name",
                "tid",
                "ver",
                "at_hash",
                "c_hash",
                "email",
            ],
            "kerberos_endpoint": f"{base}/{path_tenant}/kerberos",
            "tenant_region_scope": "NA" if tid else None,
            "cloud_instance_name": "emulator.test",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }
        return json_response(200, doc)

    def instance_discovery(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        netloc = urlsplit(self.rt.base_url).netloc
        port = netloc.rsplit(":", 1)[1]
        aliases = [netloc, f"localhost:{port}"]
        tenant = "common"
        endpoint = request.query.get("authorization_endpoint")
        if endpoint:
            parsed = urlsplit(endpoint)
            if parsed.netloc.lower() not in aliases:
                return self._error(
                    EntraError(400, "invalid_instance", 50049, "Unknown or invalid instance."), request
                )
            tenant = next((p for p in parsed.path.split("/") if p), "common")
        body = {
            "tenant_discovery_endpoint": f"{self.rt.base_url}/{tenant}/v2.0/.well-known/openid-configuration",
            "api-version": request.query.get("api-version", "1.1"),
            "metadata": [{"preferred_network": netloc, "preferred_cache": netloc, "aliases": aliases}],
        }
        return json_response(200, body)

    def jwks(self, tenant_id: str | None = None) -> dict[str, Any]:
        issuer = f"{self.rt.base_url}/{tenant_id or '{tenantid}'}/v2.0"
        return {"keys": [self.rt.entra_key.jwk(issuer=issuer)]}

    def jwks_handler(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        try:
            tid = resolve_tenant(self.rt, params["tenant"], error="invalid_tenant")
        except EntraError as err:
            return self._error(err, request)
        return json_response(200, self.jwks(tid))

    def token(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        try:
            segment = params["tenant"]
            tenant_id = resolve_tenant(self.rt, segment)
            grant_type = request.form.get("grant_type")
            if not grant_type:
                raise errors.missing_parameter("grant_type")
            handler = self.grants.get(grant_type)
            if handler is None:
                raise errors.unsupported_grant(grant_type)
            return handler(TokenRequest(self.rt, request, segment, tenant_id, grant_type))
        except EntraError as err:
            return self._error(err, request)
