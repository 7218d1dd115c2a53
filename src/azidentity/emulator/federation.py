"""External token issuers for workload identity federation: a Kubernetes-style OIDC issuer and the
Azure Pipelines OIDC token endpoint (each with its own signing key, distinct from Entra's)."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from .config import TOKEN_EXCHANGE_AUDIENCE
from .state import Runtime, SigningKey
from .wire import RecordedRequest, Response, Route, json_response

PIPELINES_API_VERSION = "7.1"
DEFAULT_SUBJECT = "system:serviceaccount:default:workload"


def _discovery(issuer: str, jwks_uri: str) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "jwks_uri": jwks_uri,
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }


class FederationService:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def routes(self) -> list[Route]:
        return [
            Route.of(
                "oidc-issuer", "GET", r"/oidc-issuer/\.well-known/openid-configuration", self.oidc_discovery
            ),
            Route.of("oidc-issuer", "GET", r"/oidc-issuer/openid/v1/jwks", self.oidc_jwks),
            Route.of(
                "oidc-issuer",
                "GET",
                r"/pipelines-issuer/\.well-known/openid-configuration",
                self.pipelines_discovery,
            ),
            Route.of("oidc-issuer", "GET", r"/pipelines-issuer/keys", self.pipelines_jwks),
            Route.of("pipelines-oidc", "POST", r"/pipelines/oidctoken", self.pipelines_token),
        ]

    # --- Kubernetes service-account issuer --------------------------------------------------------

    def oidc_discovery(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        issuer = self.rt.oidc_issuer_url
        return json_response(200, _discovery(issuer, f"{issuer}/openid/v1/jwks"))

    def oidc_jwks(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        return json_response(200, {"keys": [self.rt.oidc_key.jwk()]})

    def service_account_token(
        self, subject: str = DEFAULT_SUBJECT, audience: str = TOKEN_EXCHANGE_AUDIENCE, lifetime: int = 3600
    ) -> str:
        now = int(self.rt.clock())
        namespace, _, account = subject.removeprefix("system:serviceaccount:").partition(":")
        claims = {
            "aud": [audience],  # projected service-account tokens carry aud as a list
            "iss": self.rt.oidc_issuer_url,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "kubernetes.io": {
                "namespace": namespace,
                "serviceaccount": {"name": account, "uid": str(uuid.uuid4())},
            },
        }
        return _sign(self.rt.oidc_key, claims)

    # --- Azure Pipelines ----------------------------------------------------------------------------

    def pipelines_discovery(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        issuer = self.rt.pipelines_issuer_url
        return json_response(200, _discovery(issuer, f"{issuer}/keys"))

    def pipelines_jwks(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        return json_response(200, {"keys": [self.rt.pipelines_key.jwk()]})

    def pipelines_oidc_token(self, lifetime: int = 600) -> str:
        config = self.rt.config
        now = int(self.rt.clock())
        claims = {
            "jti": str(uuid.uuid4()),
            "sub": config.pipelines_subject,
            "aud": TOKEN_EXCHANGE_AUDIENCE,
            "iss": self.rt.pipelines_issuer_url,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
        }
        return _sign(self.rt.pipelines_key, claims)

    def pipelines_token(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        config = self.rt.config
        # Azure DevOps answers auth failures with an empty body (HTML for browsers) and tracing headers,
        # never JSON; clients must not assume a parseable error.
        trace = {"x-vss-e2eid": str(uuid.uuid4()), "x-msedge-ref": f"Ref A: {secrets.token_hex(16).upper()}"}
        auth = request.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or token.strip() != config.pipelines_system_access_token:
            return Response(401, b"", {**trace, "Content-Type": "text/html; charset=utf-8"})
        version = request.query.get("api-version")
        if version != PIPELINES_API_VERSION:
            return json_response(
                400,
                _vss_error(
                    f"The requested REST API version of {version} is out of range for this server. "
                    f"The latest REST API version this server supports is {PIPELINES_API_VERSION}.",
                    "VssVersionOutOfRangeException",
                ),
                trace,
            )
        connection = request.query.get("serviceConnectionId", "")
        if connection.lower() != config.pipelines_service_connection_id.lower():
            return json_response(
                404,
                _vss_error(
                    f"No service connection found with identifier {connection}.",
                    "ServiceEndpointNotFoundException",
                ),
                trace,
            )
        return json_response(200, {"oidcToken": self.pipelines_oidc_token()}, trace)


def _vss_error(message: str, type_key: str) -> dict[str, Any]:
    return {
        "$id": "1",
        "innerException": None,
        "message": message,
        "typeName": (
            f"Microsoft.VisualStudio.Services.WebApi.{type_key}, Microsoft.VisualStudio.Services.WebApi"
        ),
        "typeKey": type_key,
        "errorCode": 0,
        "eventId": 3000,
    }


def _sign(key: SigningKey, claims: dict[str, Any]) -> str:
    return key.sign(claims)
