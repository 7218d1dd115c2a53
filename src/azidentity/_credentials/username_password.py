"""UsernamePasswordCredential: a user's password (deprecated: no multifactor authentication)."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

from .._constants import DEVELOPER_SIGN_ON_CLIENT_ID
from .._credential import AsyncCredential, SyncCredential, TokenRequest
from .._protocol.effects import Flow
from .entra import EntraCredential

DEPRECATION = (
    "UsernamePasswordCredential is deprecated, as it doesn't support multifactor authentication (MFA). "
    "For more details, see https://aka.ms/azsdk/identity/mfa."
)


class _UsernamePassword(EntraCredential):
    _repr_fields: ClassVar[tuple[str, ...]] = ("tenant_id", "client_id", "username")

    def __init__(self, client_id: str, username: str, password: str, **kwargs: Any) -> None:
        warnings.warn(DEPRECATION, DeprecationWarning, stacklevel=3)
        if not username:
            raise ValueError("username must be the user's name, e.g. user@contoso.com")
        if not password:
            raise ValueError("password must be the user's password")
        self._username = username
        self._password = password
        for unsupported in ("authentication_record", "disable_automatic_authentication"):
            kwargs.pop(unsupported, None)
        self._init_entra(
            kwargs.pop("tenant_id", None) or "organizations", client_id or DEVELOPER_SIGN_ON_CLIENT_ID,
            authority=kwargs.pop("authority", None),
            additionally_allowed_tenants=kwargs.pop("additionally_allowed_tenants", None), kwargs=kwargs,
        )

    def _client_auth(self, tenant: str) -> Flow[dict[str, str]]:
        return {"client_id": self._client_id}
        yield  # pragma: no cover

    def _grant(self, request: TokenRequest) -> dict[str, str]:
        return {"grant_type": "password", "username": self._username, "password": self._password, "client_info": "1"}


class UsernamePasswordCredential(_UsernamePassword, SyncCredential):
    """Authenticates a user with a username and password (deprecated: it cannot do MFA).

    :param str client_id: the application the user signs in to.
    :param str username: the user's name (usually an email address).
    :param str password: the user's password.
    :keyword str tenant_id: the user's tenant; "organizations" by default.
    """


class AsyncUsernamePasswordCredential(_UsernamePassword, AsyncCredential):
    __doc__ = UsernamePasswordCredential.__doc__
