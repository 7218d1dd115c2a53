"""A small Key Vault-like secrets endpoint, enough for ``azure-keyvault-secrets``' ``SecretClient``.

Each vault is served by its own HTTPS listener (own port), because a vault is a host of its own and
the Key Vault SDK caches the bearer challenge per host. It speaks Key Vault's authentication protocol:

* A request without ``Authorization`` is answered ``401`` with
  ``WWW-Authenticate: Bearer authorization="{base_url}/{tenant}", resource="https://vault.azure.net"``
  (or ``scope="https://vault.azure.net/.default"``), naming the vault's tenant.
* Otherwise the bearer token must be an emulator-issued token (valid signature, not expired) whose
  ``aud`` is Key Vault's and whose ``iss``/``tid`` name the vault's tenant; anything else is answered
  ``401`` with the challenge and Key Vault's ``AKV100xx`` message.

Secrets: ``PUT /secrets/{name}``, ``GET /secrets/{name}`` and ``GET /secrets/{name}/{version}``, each
with ``api-version`` 7.x or a date-shaped version (newer SDKs send ``2026-04-01``), shaped like
Key Vault's ``SecretBundle``.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from . import tokens
from .state import Runtime
from .wire import RecordedRequest, Response, Route, json_response

RESOURCE = "https://vault.azure.net"
# Key Vault accepts its resource URI (with or without a trailing slash) or its application id.
AUDIENCES = (RESOURCE, RESOURCE + "/", "cfa8b339-82a2-471a-a3c9-0fc0be7a4093")
CHALLENGE_PARAMETERS = ("resource", "scope")
SECRET_NAME = r"(?P<name>[0-9A-Za-z-]{1,127})"
VERSION = r"(?P<version>[0-9a-f]{32})"
# 7.0 ... 7.6, then date-shaped versions (2025-07-01, 2026-04-01, ...), each optionally "-preview".
API_VERSION = re.compile(r"^(7\.\d+|20\d\d-\d\d-\d\d)(-preview)?$")
ROUTE = "keyvault"


@dataclass
class SecretVersion:
    version: str
    value: str
    content_type: str | None
    tags: dict[str, str] | None
    enabled: bool
    not_before: int | None
    expires: int | None
    created: int


@dataclass
class Vault:
    """One vault: the tenant its challenge names, and its secrets (name -> versions, newest last)."""

    name: str
    tenant_id: str
    challenge: str = "resource"
    url: str = ""
    secrets: dict[str, list[SecretVersion]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def challenge_header(self, base_url: str, error: str | None = None) -> str:
        if self.challenge == "scope":
            target = f'scope="{RESOURCE}/.default"'
        else:
            target = f'resource="{RESOURCE}"'
        header = f'Bearer authorization="{base_url}/{self.tenant_id}", {target}'
        if error:
            header += f', error="{error}"'
        return header

    def clear(self) -> None:
        with self.lock:
            self.secrets.clear()


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(status, {"error": {"code": code, "message": message}}, headers)


class KeyVaultService:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def routes(self, vault: Vault) -> list[Route]:
        def handler(method: str) -> Any:
            return lambda request, params: self.handle(vault, method, request, params)

        return [
            Route.of(ROUTE, "PUT", rf"/secrets/{SECRET_NAME}", handler("set")),
            Route.of(ROUTE, "GET", rf"/secrets/{SECRET_NAME}/?", handler("get")),
            Route.of(ROUTE, "GET", rf"/secrets/{SECRET_NAME}/{VERSION}", handler("get")),
        ]

    # --- authentication ------------------------------------------------------------------------------

    def _unauthorized(self, vault: Vault, message: str | None) -> Response:
        headers = {"WWW-Authenticate": vault.challenge_header(self.rt.base_url)}
        if message is None:
            return _error(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", headers)
        return _error(401, "Unauthorized", message, headers)

    def _authenticate(self, vault: Vault, request: RecordedRequest) -> str | None:
        """None if the request may proceed; otherwise Key Vault's message for a 401."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return ""
        try:
            claims = tokens.verify(self.rt, token.strip())
        except ValueError as exc:
            return f"AKV10016: Token validation failed: {exc}."
        expected_issuer = f"https://sts.windows.net/{vault.tenant_id}/"
        if claims.get("aud") not in AUDIENCES:
            return f"AKV10022: Invalid audience. Expected {RESOURCE}, found: {claims.get('aud')}."
        if claims.get("iss") != expected_issuer or claims.get("tid") != vault.tenant_id:
            return f"AKV10032: Invalid issuer. Expected one of {expected_issuer}, found {claims.get('iss')}."
        return None

    # --- secrets ------------------------------------------------------------------------------------

    def handle(self, vault: Vault, method: str, request: RecordedRequest, params: dict[str, str]) -> Response:
        api_version = request.query.get("api-version", "")
        if not API_VERSION.match(api_version):
            return _error(
                400,
                "BadParameter",
                "The request URI contains an invalid API version: "
                f"'{api_version}'. Key Vault expects 7.x or a date.",
            )
        problem = self._authenticate(vault, request)
        if problem is not None:
            return self._unauthorized(vault, problem or None)
        if method == "set":
            return self._set(vault, request, params["name"])
        return self._get(vault, params["name"], params.get("version"))

    def _bundle(self, vault: Vault, name: str, item: SecretVersion) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "enabled": item.enabled,
            "created": item.created,
            "updated": item.created,
            "recoveryLevel": "Recoverable+Purgeable",
            "recoverableDays": 90,
        }
        if item.not_before is not None:
            attributes["nbf"] = item.not_before
        if item.expires is not None:
            attributes["exp"] = item.expires
        bundle: dict[str, Any] = {
            "value": item.value,
            "id": f"{vault.url}/secrets/{name}/{item.version}",
            "attributes": attributes,
        }
        if item.content_type is not None:
            bundle["contentType"] = item.content_type
        if item.tags is not None:
            bundle["tags"] = item.tags
        return bundle

    def _set(self, vault: Vault, request: RecordedRequest, name: str) -> Response:
        try:
            body = json.loads(request.body or b"null")
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("value"), str):
            return _error(
                400, "BadParameter", "The request body must be a JSON object with a string 'value'."
            )
        raw_attributes = body.get("attributes")
        attributes: dict[str, Any] = raw_attributes if isinstance(raw_attributes, dict) else {}
        tags = body.get("tags") if isinstance(body.get("tags"), dict) else None
        content_type = body.get("contentType") if isinstance(body.get("contentType"), str) else None
        item = SecretVersion(
            version=secrets.token_hex(16),
            value=body["value"],
            content_type=content_type,
            tags=tags,
            enabled=bool(attributes.get("enabled", True)),
            not_before=attributes.get("nbf"),
            expires=attributes.get("exp"),
            created=int(self.rt.clock()),
        )
        with vault.lock:
            vault.secrets.setdefault(name.lower(), []).append(item)  # names are case-insensitive
        return json_response(200, self._bundle(vault, name, item))

    def _get(self, vault: Vault, name: str, version: str | None) -> Response:
        with vault.lock:
            versions = list(vault.secrets.get(name.lower(), []))
        item = (
            next((v for v in versions if v.version == version), None)
            if version
            else (versions[-1] if versions else None)
        )
        if item is None:
            what = f"{name}/{version}" if version else name
            return _error(
                404,
                "SecretNotFound",
                f"A secret with (name/id) {what} was not found in this key vault. "
                "If you recently deleted this secret you may be able to recover it using the correct "
                "recovery command.",
            )
        if not item.enabled:
            return _error(403, "Forbidden", f"Operation get is not allowed on a disabled secret ({name}).")
        return json_response(200, self._bundle(vault, name, item))
