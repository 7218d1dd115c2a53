"""ClientSecretCredential: a service principal with a client secret."""

from __future__ import annotations

from .._credential import AsyncCredential, SyncCredential
from .._lazy import TYPE_CHECKING
from .._protocol import entra
from .._protocol.effects import Flow
from .entra import EntraCredential

if TYPE_CHECKING:
    from typing import Any


class _ClientSecret(EntraCredential):
    def __init__(self, tenant_id: str, client_id: str, client_secret: str, **kwargs: Any) -> None:
        if not client_secret:
            raise ValueError("secret should be a Microsoft Entra application's client secret")
        self._client_secret = client_secret
        self._init_entra(
            tenant_id,
            client_id,
            authority=kwargs.pop("authority", None),
            additionally_allowed_tenants=kwargs.pop("additionally_allowed_tenants", None),
            kwargs=kwargs,
        )

    def _client_auth(self, tenant: str) -> Flow[dict[str, str]]:
        return entra.secret_auth(self._client_id, self._client_secret)
        yield  # pragma: no cover - makes this a generator without effects


class ClientSecretCredential(_ClientSecret, SyncCredential):
    """Authenticates as a service principal using a client secret.

    :param str tenant_id: ID of the service principal's tenant (its "directory ID").
    :param str client_id: the service principal's client ID.
    :param str client_secret: one of the service principal's client secrets.
    :keyword str authority: authority of a Microsoft Entra endpoint, for example
        "login.microsoftonline.com" (the default), or AZURE_AUTHORITY_HOST.
    :keyword list[str] additionally_allowed_tenants: tenants besides ``tenant_id`` for which the
        credential may acquire tokens; "*" allows any tenant.
    """


class AsyncClientSecretCredential(_ClientSecret, AsyncCredential):
    __doc__ = ClientSecretCredential.__doc__
