"""UsernamePasswordCredential: a user's password (deprecated: no multifactor authentication).

It shares the user-credential core with the browser and device-code credentials, so it also
has ``authenticate()``, accepts an ``AuthenticationRecord``, keeps refresh tokens and honours
``disable_automatic_authentication``; its "interaction" is the password grant.
"""

from __future__ import annotations

import warnings

from .._constants import DEVELOPER_SIGN_ON_CLIENT_ID
from .._credential import TokenRequest
from .._lazy import TYPE_CHECKING
from .._protocol import authorize, entra
from .._protocol.effects import Flow
from .interactive import UserCredential, _AsyncUserCredential, _SyncUserCredential

if TYPE_CHECKING:
    from typing import Any, ClassVar

    from .._token import Token

DEPRECATION = (
    "UsernamePasswordCredential is deprecated, as it doesn't support multifactor authentication (MFA). "
    "For more details, see https://aka.ms/azsdk/identity/mfa."
)


class _UsernamePassword(UserCredential):
    _repr_fields: ClassVar[tuple[str, ...]] = ("tenant_id", "client_id", "username")

    def __init__(self, client_id: str, username: str, password: str, **kwargs: Any) -> None:
        warnings.warn(DEPRECATION, DeprecationWarning, stacklevel=3)
        self._configure(client_id, username, password, kwargs)

    @classmethod
    def _without_warning(cls, client_id: str, username: str, password: str, **kwargs: Any) -> Any:
        """Built for EnvironmentCredential, which has already warned in its own words (as azure-identity
        does): no second warning, and no process-wide warning filter changed to silence it."""
        credential = cls.__new__(cls)
        credential._configure(client_id, username, password, kwargs)
        return credential

    def _configure(self, client_id: str, username: str, password: str, kwargs: dict[str, Any]) -> None:
        if not username:
            raise ValueError("username must be the user's name, e.g. user@contoso.com")
        if not password:
            raise ValueError("password must be the user's password")
        self._username = username
        self._password = password
        self._init_user(kwargs, client_id or DEVELOPER_SIGN_ON_CLIENT_ID)

    def _sign_in(self, request: TokenRequest, tenant: str) -> Flow[tuple[Token, dict[str, Any]]]:
        form = entra.scope_form(
            authorize.user_scopes(request.scopes),
            entra.merge_claims(request.claims, request.enable_cae),
            grant_type="password",
            client_id=self._client_id,
            username=self._username,
            password=self._password,
            client_info="1",
        )
        response = yield entra.token_request(self._token_url(tenant), form)
        return entra.parse_token_response(response, credential=self._name, now=self._now())


class UsernamePasswordCredential(_UsernamePassword, _SyncUserCredential):
    """Authenticates a user with a username and password (deprecated: it cannot do MFA).

    :param str client_id: the application the user signs in to.
    :param str username: the user's name (usually an email address).
    :param str password: the user's password.
    :keyword str tenant_id: the user's tenant; "organizations" by default.
    :keyword AuthenticationRecord authentication_record: a record from an earlier ``authenticate()``.
    :keyword bool disable_automatic_authentication: raise AuthenticationRequiredError instead of signing in.
    """


class AsyncUsernamePasswordCredential(_UsernamePassword, _AsyncUserCredential):
    __doc__ = UsernamePasswordCredential.__doc__
