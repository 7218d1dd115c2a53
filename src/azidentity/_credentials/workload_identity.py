"""WorkloadIdentityCredential: a Kubernetes service-account token exchanged with Entra ID."""

from __future__ import annotations

import os
from typing import Any, ClassVar

from .._constants import EnvironmentVariables
from .._credential import AsyncCredential, SyncCredential, TokenRequest
from .._protocol import entra, federated
from .._protocol.effects import Flow
from .._token import Token
from .client_assertion import _ClientAssertion
from .entra import EntraCredential


def federated_flow(credential: EntraCredential, request: TokenRequest, source: str) -> Flow[Token]:
    """EntraCredential's flow, plus: when no federated identity credential matches the assertion, the
    error shows the assertion's issuer, subject and audience (not secret) to compare with it."""
    from .._errors import AuthenticationFailedError

    tenant = credential._tenant(request)
    auth = yield from credential._client_auth(tenant)
    form = entra.scope_form(
        request.scopes,
        entra.merge_claims(request.claims, request.enable_cae),
        **credential._grant(request),
        **auth,
    )
    response = yield entra.token_request(credential._token_url(tenant), form)
    try:
        token, _ = entra.parse_token_response(response, credential=credential._name, now=credential._now())
    except AuthenticationFailedError as error:
        if error.error_code not in federated.MISMATCH_CODES:
            raise
        raise AuthenticationFailedError(
            f"{error.detail}\n{federated.describe(auth['client_assertion'], source)}",
            credential=credential._name,
            http_response=response,
        ) from None
    return token


class _WorkloadIdentity(_ClientAssertion):
    _repr_fields: ClassVar[tuple[str, ...]] = ("tenant_id", "client_id", "token_file_path", "authority")

    def __init__(
        self,
        *,
        tenant_id: str | None = None,
        client_id: str | None = None,
        token_file_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        tenant_id = tenant_id or os.environ.get(EnvironmentVariables.AZURE_TENANT_ID)
        client_id = client_id or os.environ.get(EnvironmentVariables.AZURE_CLIENT_ID)
        token_file_path = token_file_path or os.environ.get(EnvironmentVariables.AZURE_FEDERATED_TOKEN_FILE)
        missing = [
            (what, argument, variable)
            for what, argument, variable, value in (
                ("client ID", "client_id", "AZURE_CLIENT_ID", client_id),
                ("tenant ID", "tenant_id", "AZURE_TENANT_ID", tenant_id),
                ("token file", "token_file_path", "AZURE_FEDERATED_TOKEN_FILE", token_file_path),
            )
            if not value
        ]
        if missing:
            from .._errors import ConfigurationError

            raise ConfigurationError(
                self._incomplete(missing), credential=self._name, mitigation_key="workload-incomplete"
            )
        assert tenant_id and client_id and token_file_path
        self._token_file_path = os.fspath(token_file_path)
        # Accepted for drop-in compatibility; the AKS token proxy mode is not implemented.
        kwargs.pop("enable_azure_proxy", None)
        self._init_entra(
            tenant_id,
            client_id,
            authority=kwargs.pop("authority", None),
            additionally_allowed_tenants=kwargs.pop("additionally_allowed_tenants", None),
            kwargs=kwargs,
        )

    def _incomplete(self, missing: list[tuple[str, str, str]]) -> str:
        return (
            "; ".join(f"no {what} specified" for what, _, _ in missing)
            + ". Pass "
            + ", ".join(argument for _, argument, _ in missing)
            + " or set "
            + ", ".join(variable for _, _, variable in missing)
            + "."
        )

    def _assertion(self) -> str:
        """The token file's content, read on every request: Kubernetes rotates the file."""
        from .._errors import CredentialUnavailableError

        path = self._token_file_path
        try:
            with open(path, encoding="utf-8") as file:
                assertion = file.read(64 * 1024).strip()
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            raise CredentialUnavailableError(
                f"cannot read the federated token file {path!r}: {reason}",
                credential=self._name,
                mitigation_key="workload-token-file",
            ) from None
        if not assertion:
            raise CredentialUnavailableError(
                f"the federated token file {path!r} is empty",
                credential=self._name,
                mitigation_key="workload-token-file",
            )
        return assertion

    def _flow(self, request: TokenRequest) -> Flow[Token]:
        return federated_flow(self, request, f"the token file {self._token_file_path!r}")

    def __getstate__(self) -> dict[str, Any]:
        return EntraCredential.__getstate__(self)


class WorkloadIdentityCredential(_WorkloadIdentity, SyncCredential):
    """Authenticates with Microsoft Entra Workload ID: a Kubernetes service-account token exchanged for an
    Entra token through a federated identity credential.

    On AKS with the workload identity webhook, the pod's environment provides everything:
    ``AZURE_TENANT_ID``, ``AZURE_CLIENT_ID`` and ``AZURE_FEDERATED_TOKEN_FILE``.

    :keyword str tenant_id: the application's tenant; default AZURE_TENANT_ID.
    :keyword str client_id: the application's (or user-assigned identity's) client ID;
        default AZURE_CLIENT_ID.
    :keyword str token_file_path: the projected service-account token; default AZURE_FEDERATED_TOKEN_FILE.
        Read on every token request, since Kubernetes rotates it.
    :keyword str authority: the Entra authority host; default AZURE_AUTHORITY_HOST or the public cloud.
    :keyword list[str] additionally_allowed_tenants: tenants besides ``tenant_id`` for which the credential
        may acquire tokens; "*" allows any tenant.
    """


class AsyncWorkloadIdentityCredential(_WorkloadIdentity, AsyncCredential):
    __doc__ = WorkloadIdentityCredential.__doc__
