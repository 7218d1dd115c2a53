"""The shared shape of credentials that talk to Entra ID's token endpoint.

A subclass provides its client authentication (``_client_auth``: secret, certificate
assertion, callback assertion, federated token) and its grant (``_grant``); this class turns
them into one token request and parses the answer.
"""

from __future__ import annotations

from .._authority import normalize_authority, resolve_tenant, validate_tenant_id
from .._credential import CredentialBase, TokenRequest
from .._lazy import TYPE_CHECKING
from .._protocol import entra
from .._protocol.effects import Flow

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any, ClassVar

    from .._errors import AuthenticationFailedError
    from .._protocol.effects import HttpResponse
    from .._token import Token


class EntraCredential(CredentialBase):
    _repr_fields: ClassVar[tuple[str, ...]] = ("tenant_id", "client_id", "authority")
    # Whether the configured tenant must be in azure-identity's charset (letters, digits, '-', '.'), as
    # azure-identity requires for the same credential. Either way a tenant that would change the
    # request's URL ('/', '?', '#', '%', whitespace, "..") is refused.
    _strict_tenant: ClassVar[bool] = True
    _mitigation_key: ClassVar[str | None] = None

    def _init_entra(
        self,
        tenant_id: str,
        client_id: str,
        *,
        authority: str | None = None,
        additionally_allowed_tenants: Iterable[str] | None = None,
        kwargs: dict[str, Any],
    ) -> None:
        if not tenant_id:
            raise ValueError(
                "tenant_id should be a Microsoft Entra tenant's id (also called its 'directory id')"
            )
        validate_tenant_id(tenant_id, strict=self._strict_tenant)
        if not client_id:
            raise ValueError("client_id should be the id of a Microsoft Entra application")
        self._tenant_id = tenant_id
        self._client_id = client_id
        self._authority = normalize_authority(authority)
        self._additionally_allowed_tenants = list(additionally_allowed_tenants or [])
        # Accepted for drop-in compatibility: we send tokens requests straight to the authority
        # without instance discovery, so there is nothing to disable.
        kwargs.pop("disable_instance_discovery", None)
        self._cache_persistence_options = kwargs.pop("cache_persistence_options", None)
        kwargs.pop("enable_support_logging", None)
        self._init_base(kwargs)

    def _persistent_namespace(self) -> str:
        # An application's tokens: never served to another application, tenant or authority.
        return "|".join((type(self).__name__, self._authority, self._tenant_id, self._client_id))

    def _tenant(self, request: TokenRequest) -> str:
        return resolve_tenant(
            self._tenant_id, request.tenant_id, self._additionally_allowed_tenants, self._name
        )

    def _token_url(self, tenant: str) -> str:
        return entra.token_url(self._authority, tenant)

    def _client_auth(self, tenant: str) -> Flow[dict[str, str]]:
        """Form fields that authenticate the client (may yield effects, e.g. to fetch an OIDC token)."""
        raise NotImplementedError

    def _grant(self, request: TokenRequest) -> dict[str, str]:
        return {"grant_type": "client_credentials"}

    def _flow(self, request: TokenRequest) -> Flow[Token]:
        tenant = self._tenant(request)
        auth = yield from self._client_auth(tenant)
        form = entra.scope_form(
            request.scopes,
            entra.merge_claims(request.claims, request.enable_cae),
            **self._grant(request),
            **auth,
        )
        response = yield entra.token_request(self._token_url(tenant), form)
        token, payload = entra.parse_token_response(
            response, credential=self._name, now=self._now(), mitigation_key=self._mitigation_key
        )
        self._on_payload(request, tenant, payload)
        return token

    def _redeem_refresh_token(
        self, secret: str, request: TokenRequest, tenant: str
    ) -> Flow[tuple[tuple[Token, dict[str, Any]] | AuthenticationFailedError, HttpResponse]]:
        """A user's refresh token for the requested scopes: the token and its payload, or Entra's
        rejection (``authorize.parse_refresh_response``); and the response, for the error to show."""
        from .._protocol import authorize  # user credentials only: not loaded for service principals

        form = authorize.refresh_form(
            self._client_id,
            secret,
            authorize.user_scopes(request.scopes),
            claims=entra.merge_claims(request.claims, request.enable_cae),
        )
        response = yield entra.token_request(self._token_url(tenant), form)
        return authorize.parse_refresh_response(response, credential=self._name, now=self._now()), response

    def _on_payload(self, request: TokenRequest, tenant: str, payload: dict[str, Any]) -> None:
        """Hook for credentials that keep more than the access token (refresh tokens, accounts)."""
