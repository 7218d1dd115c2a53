"""Managed identity endpoints of the Azure hosts: IMDS, App Service/Functions, Arc, Service Fabric,
Cloud Shell and Azure ML.  Each validates and answers in the shape of the real host."""

from __future__ import annotations

import os
import secrets
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import errors
from .config import ManagedIdentities
from .state import Runtime
from .tokens import IssuedToken, access_token
from .wire import RecordedRequest, Response, Route, json_response

ARC_API_VERSIONS = ("2019-11-01", "2020-06-01")


@dataclass(frozen=True)
class Identity:
    client_id: str
    object_id: str
    resource_id: str


class AmbiguousIdentity(Exception):
    pass


def select_identity(
    mis: ManagedIdentities, *, client_id: str | None, object_id: str | None, resource_id: str | None
) -> Identity | None:
    """The assigned identity a request names; with no id: system-assigned, else the only user-assigned one."""
    given = [
        (attr, value)
        for attr, value in (("client_id", client_id), ("object_id", object_id), ("resource_id", resource_id))
        if value
    ]
    if len(given) > 1:
        raise AmbiguousIdentity()
    candidates = [Identity(u.client_id, u.object_id, u.resource_id) for u in mis.user if u.assigned]
    system = mis.system
    if system.assigned:
        candidates.insert(0, Identity(system.client_id, system.object_id, system.resource_id))
    if not given:
        if system.assigned:
            return candidates[0]
        # IMDS's documented behaviour: with exactly one user-assigned identity, it is the default.
        return candidates[0] if len(candidates) == 1 else None
    attr, value = given[0]
    for identity in candidates:
        if str(getattr(identity, attr)).lower() == value.lower():
            return identity
    return None


def _imds_error(status: int, description: str, error: str = "invalid_request") -> Response:
    return json_response(status, {"error": error, "error_description": description})


def _app_service_error(status: int, message: str) -> Response:
    return json_response(
        status, {"statusCode": status, "message": message, "correlationId": str(uuid.uuid4())}
    )


def _sf_error(status: int, code: str, message: str) -> Response:
    return json_response(status, {"error": {"code": code, "message": message}})


class ManagedIdentityService:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._lock = threading.Lock()
        self._arc_secrets: set[str] = set()

    def routes(self) -> list[Route]:
        return [
            Route.of("imds", "GET", r"/metadata/identity/oauth2/token", self.imds),
            Route.of("app-service", "GET", r"/msi/token", self.app_service),
            Route.of("arc", "GET", r"/arc/metadata/identity/oauth2/token", self.arc),
            Route.of("cloud-shell", "POST", r"/cloudshell/token", self.cloud_shell),
            Route.of("azure-ml", "GET", r"/ml/token", self.azure_ml),
        ]

    def service_fabric_routes(self) -> list[Route]:
        # Answer at the root too: IDENTITY_ENDPOINT may be given as the listener's bare URL.
        return [
            Route.of("service-fabric", "GET", pattern, self.service_fabric)
            for pattern in (r"/", r"/sf/token", r"/metadata/identity/oauth2/token")
        ]

    def _issue(self, identity: Identity, resource: str) -> IssuedToken:
        return access_token(
            self.rt,
            tenant_id=self.rt.config.tenant_id,
            audience=resource,
            client_id=identity.client_id,
            object_id=identity.object_id,
            lifetime=self.rt.config.mi_token_lifetime,
            appidacr="2",
            extra={"xms_mirid": identity.resource_id},
        )

    def _unknown_resource(self, resource: str) -> str | None:
        if "unknown-resource" in resource:
            return str(errors.unknown_resource(resource, self.rt.config.tenant_id))
        return None

    def _select(self, params: dict[str, str], resource_param: str) -> Identity | None:
        return select_identity(
            self.rt.config.managed_identities,
            client_id=params.get("client_id"),
            object_id=params.get("object_id") or params.get("principal_id"),
            resource_id=params.get(resource_param),
        )

    @staticmethod
    def _imds_body(token: IssuedToken, identity: Identity, resource: str) -> dict[str, str]:
        # IMDS returns every value as a string, numbers included.
        return {
            "access_token": token.token,
            "client_id": identity.client_id,
            "expires_in": str(token.lifetime),
            "expires_on": str(token.expires_on),
            "ext_expires_in": str(token.lifetime),
            "not_before": str(token.not_before),
            "resource": resource,
            "token_type": "Bearer",
        }

    def _imds_like(self, request: RecordedRequest, params: dict[str, str]) -> Response | tuple[Identity, str]:
        """Shared IMDS-family validation; returns an error response or (identity, resource)."""
        if request.headers.get("Metadata", "").lower() != "true":
            return _imds_error(400, "Required metadata header not specified")
        resource = params.get("resource")
        if not resource:
            return _imds_error(400, "Required audience parameter not specified")
        try:
            identity = self._select(params, "msi_res_id")
        except AmbiguousIdentity:
            return _imds_error(400, "Only one of client_id, object_id or msi_res_id may be specified")
        if identity is None:
            return _imds_error(400, "Identity not found")
        problem = self._unknown_resource(resource)
        if problem:
            return _imds_error(400, problem, "invalid_resource")
        return identity, resource

    def imds(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        if "X-Forwarded-For" in request.headers and request.headers.get("Metadata", "").lower() == "true":
            return _imds_error(400, "Request contains X-Forwarded-For header")  # IMDS refuses proxied calls
        if request.headers.get("Metadata", "").lower() == "true" and not request.query.get("api-version"):
            return _imds_error(400, "Required query variable 'api-version' is missing")
        result = self._imds_like(request, request.query)
        if isinstance(result, Response):
            return result
        identity, resource = result
        return json_response(200, self._imds_body(self._issue(identity, resource), identity, resource))

    def cloud_shell(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        result = self._imds_like(request, {**request.query, **request.form})
        if isinstance(result, Response):
            return result
        identity, resource = result
        return json_response(200, self._imds_body(self._issue(identity, resource), identity, resource))

    def arc(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        if request.headers.get("Metadata", "").lower() != "true":
            return _imds_error(400, "Required metadata header not specified")
        version = request.query.get("api-version")
        if version not in ARC_API_VERSIONS:
            return _imds_error(
                400, f"Invalid api-version '{version}'; supported: {', '.join(ARC_API_VERSIONS)}"
            )
        authorization = request.headers.get("Authorization")
        if not authorization:
            return self._arc_challenge()
        scheme, _, value = authorization.partition(" ")
        with self._lock:
            valid = scheme.lower() == "basic" and value.strip() in self._arc_secrets
        if not valid:
            return _imds_error(401, "Invalid Authorization header", "unauthorized_client")
        result = self._imds_like(request, request.query)
        if isinstance(result, Response):
            return result
        identity, resource = result
        body: dict[str, Any] = self._imds_body(self._issue(identity, resource), identity, resource)
        if self.rt.config.arc_echo_identity:
            if request.query.get("object_id"):
                body["object_id"] = identity.object_id
            if request.query.get("msi_res_id"):
                body["msi_res_id"] = identity.resource_id
        else:
            del body["client_id"]
        return json_response(200, body)

    def _arc_challenge(self) -> Response:
        # Arc proves the caller can read a root-owned directory: it writes a secret file and names it
        # in the challenge; the client answers with the file's contents.
        secret = secrets.token_hex(32)
        path = Path(self.rt.arc_token_dir) / f"{secrets.token_hex(16)}.key"
        path.write_text(secret, encoding="ascii")
        os.chmod(path, 0o600)
        with self._lock:
            self._arc_secrets.add(secret)
        return json_response(
            401,
            {"error": "unauthorized_client", "error_description": "Authorization required"},
            {"WWW-Authenticate": f"Basic realm={path}"},
        )

    def app_service(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        header = request.headers.get("X-IDENTITY-HEADER")
        if header is None:
            return _app_service_error(400, "The request is missing the required X-IDENTITY-HEADER header.")
        if header != self.rt.config.identity_header:
            return _app_service_error(401, "The X-IDENTITY-HEADER header value is invalid.")
        query = request.query
        if query.get("api-version") != "2019-08-01":
            return _app_service_error(
                400, f"api-version '{query.get('api-version')}' is not supported; use 2019-08-01."
            )
        resource = query.get("resource")
        if not resource:
            return _app_service_error(400, "The 'resource' query parameter is required.")
        try:
            identity = self._select(query, "mi_res_id")
        except AmbiguousIdentity:
            return _app_service_error(400, "Only one of client_id, object_id or mi_res_id may be specified.")
        if identity is None:
            return _app_service_error(400, "Unable to load requested managed identity.")
        problem = self._unknown_resource(resource)
        if problem:
            return _app_service_error(400, problem)
        token = self._issue(identity, resource)
        return json_response(
            200,
            {
                "access_token": token.token,
                "expires_on": str(token.expires_on),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": identity.client_id,
            },
        )

    def service_fabric(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        secret = request.headers.get("Secret")
        if not secret:
            return _sf_error(401, "SecretHeaderNotFound", "Secret is not found in the header.")
        if secret != self.rt.config.service_fabric_secret:
            return _sf_error(401, "SecretHeaderNotFound", "The Secret header value does not match.")
        query = request.query
        for name in ("api-version", "resource"):
            if not query.get(name):
                return _sf_error(
                    400, "ArgumentNullOrEmpty", f"Value cannot be null or empty. Parameter name: {name}"
                )
        if query["api-version"] != "2019-07-01-preview":
            return _sf_error(
                400, "InvalidApiVersion", f"api-version '{query['api-version']}' is not supported."
            )
        try:
            identity = self._select(query, "mi_res_id")
        except AmbiguousIdentity:
            identity = None
        if identity is None:
            return _sf_error(400, "ManagedIdentityNotFound", "The requested managed identity was not found.")
        resource = query["resource"]
        problem = self._unknown_resource(resource)
        if problem:
            return _sf_error(400, "InvalidResource", problem)
        token = self._issue(identity, resource)
        # Service Fabric's expires_on is a JSON number, unlike App Service's string.
        return json_response(
            200,
            {
                "access_token": token.token,
                "expires_on": token.expires_on,
                "token_type": "Bearer",
                "resource": resource,
            },
        )

    def azure_ml(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        secret = request.headers.get("secret")
        if secret != self.rt.config.azure_ml_secret:
            return _imds_error(401, "The 'secret' header is missing or invalid.", "unauthorized_client")
        query = request.query
        if query.get("api-version") != "2017-09-01":
            return _imds_error(
                400, f"api-version '{query.get('api-version')}' is not supported; use 2017-09-01."
            )
        resource = query.get("resource")
        if not resource:
            return _imds_error(400, "Required audience parameter not specified")
        # The 2017-09-01 API names the client ID "clientid"; object and resource IDs as IMDS does.
        try:
            identity = select_identity(
                self.rt.config.managed_identities,
                client_id=query.get("clientid"),
                object_id=query.get("object_id"),
                resource_id=query.get("msi_res_id"),
            )
        except AmbiguousIdentity:
            return _imds_error(400, "Only one of clientid, object_id or msi_res_id may be specified")
        if identity is None:
            return _imds_error(400, "Identity not found")
        problem = self._unknown_resource(resource)
        if problem:
            return _imds_error(400, problem, "invalid_resource")
        token = self._issue(identity, resource)
        return json_response(
            200,
            {
                "access_token": token.token,
                "expires_on": str(token.expires_on),
                "resource": resource,
                "token_type": "Bearer",
                "clientid": identity.client_id,
            },
        )
