"""AzurePipelinesCredential: an Azure Pipelines service connection's OIDC token exchanged with Entra ID."""

from __future__ import annotations

import os
from typing import Any, ClassVar

from .._credential import AsyncCredential, SyncCredential, TokenRequest
from .._protocol import entra, pipelines
from .._protocol.effects import Flow, HttpResponse
from .._token import Token
from .entra import EntraCredential
from .workload_identity import federated_flow


class _AzurePipelines(EntraCredential):
    # Never the system access token: it is a secret.
    _repr_fields: ClassVar[tuple[str, ...]] = ("tenant_id", "client_id", "service_connection_id", "authority")

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        service_connection_id: str,
        system_access_token: str,
        **kwargs: Any,
    ) -> None:
        missing = [
            name
            for name, value in (
                ("tenant_id", tenant_id),
                ("client_id", client_id),
                ("service_connection_id", service_connection_id),
                ("system_access_token", system_access_token),
            )
            if not value
        ]
        if missing:
            raise ValueError(
                f"{self._name}: 'tenant_id', 'client_id', 'service_connection_id' and 'system_access_token' "
                f"are required keyword arguments; missing or empty: {', '.join(repr(m) for m in missing)}. "
                "system_access_token is the pipeline's System.AccessToken "
                "(map it into the step's environment)."
            )
        self._service_connection_id = service_connection_id
        self._system_access_token = system_access_token
        self._init_entra(
            tenant_id,
            client_id,
            authority=kwargs.pop("authority", None),
            additionally_allowed_tenants=kwargs.pop("additionally_allowed_tenants", None),
            kwargs=kwargs,
        )

    def _oidc_token(self) -> Flow[str]:
        """Ask the pipeline's OIDC endpoint for the service connection's ID token (an HTTP effect)."""
        from .._errors import CredentialUnavailableError

        request_uri = os.environ.get(pipelines.REQUEST_URI_VARIABLE)
        if not request_uri:
            raise CredentialUnavailableError(
                f"Missing value for the {pipelines.REQUEST_URI_VARIABLE} environment variable. "
                f"{self._name} is intended for use in Azure Pipelines, where this variable is set.",
                credential=self._name,
                mitigation_key="pipelines-not-in-pipeline",
            )
        response: HttpResponse = yield pipelines.oidc_request(
            request_uri, self._service_connection_id, self._system_access_token
        )
        return pipelines.parse_oidc_response(response, credential=self._name)

    def _client_auth(self, tenant: str) -> Flow[dict[str, str]]:
        oidc_token = yield from self._oidc_token()
        return entra.assertion_auth(self._client_id, oidc_token)

    def _flow(self, request: TokenRequest) -> Flow[Token]:
        return federated_flow(self, request, f"service connection {self._service_connection_id}")


class AzurePipelinesCredential(_AzurePipelines, SyncCredential):
    """Authenticates as the identity of an Azure Pipelines service connection (workload identity federation).

    :keyword str tenant_id: tenant of the service connection's service principal or managed identity.
    :keyword str client_id: client ID of that service principal or user-assigned managed identity.
    :keyword str service_connection_id: the service connection's resourceId.
    :keyword str system_access_token: the pipeline's System.AccessToken (secret; never logged or shown).
    :keyword str authority: the Entra authority host; default AZURE_AUTHORITY_HOST or the public cloud.
    :keyword list[str] additionally_allowed_tenants: tenants besides ``tenant_id`` for which the credential
        may acquire tokens; "*" allows any tenant.

    The OIDC endpoint is read from ``SYSTEM_OIDCREQUESTURI`` at each token request.
    """


class AsyncAzurePipelinesCredential(_AzurePipelines, AsyncCredential):
    __doc__ = AzurePipelinesCredential.__doc__
