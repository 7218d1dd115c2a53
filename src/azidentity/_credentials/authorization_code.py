"""AuthorizationCodeCredential: redeem an authorization code the application already obtained.

The code is redeemed on the first request (codes are single-use); afterwards the credential
serves cached access tokens and redeems the refresh token that came with the code, for any
scope. When neither is left: "No authorization code, cached access token, or refresh token
available."
"""

from __future__ import annotations

from .._authority import authority_host
from .._credential import AsyncCredential, CredentialBase, SyncCredential, TokenRequest
from .._lazy import TYPE_CHECKING
from .._protocol import authorize, entra
from .._protocol.account import Account, account_from_response
from .._protocol.effects import Flow
from .entra import EntraCredential
from .interactive import UserStore

if TYPE_CHECKING:
    from typing import Any, ClassVar

    from .._token import Token


class _AuthorizationCode(EntraCredential):
    _transient: ClassVar[tuple[str, ...]] = (*CredentialBase._transient, "_user_store")
    _repr_fields: ClassVar[tuple[str, ...]] = ("tenant_id", "client_id", "authority", "redirect_uri")
    _strict_tenant: ClassVar[bool] = False  # azure-identity takes any tenant string here

    def __init__(
        self, tenant_id: str, client_id: str, authorization_code: str, redirect_uri: str, **kwargs: Any
    ) -> None:
        if not authorization_code or not isinstance(authorization_code, str):
            raise ValueError(
                "authorization_code should be the code the authorization endpoint redirected with"
            )
        if not redirect_uri or not isinstance(redirect_uri, str):
            raise ValueError("redirect_uri should be the redirect URI the authorization code was issued for")
        self._authorization_code: str | None = authorization_code
        self._redirect_uri = redirect_uri
        self._client_secret: str | None = kwargs.pop("client_secret", None) or None
        self._account: Account | None = None
        # Not a persistent-cache credential (nor in azure-identity): its account is known only after the
        # code is redeemed, so a shared file could hand one user's token to another user's credential.
        kwargs.pop("cache_persistence_options", None)
        self._init_entra(
            tenant_id,
            client_id,
            authority=kwargs.pop("authority", None),
            additionally_allowed_tenants=kwargs.pop("additionally_allowed_tenants", None),
            kwargs=kwargs,
        )
        self._user_store = UserStore(self._cache_persistence_options)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._user_store = UserStore(self._cache_persistence_options)

    def _keep(self, payload: dict[str, Any], request: TokenRequest, tenant: str) -> None:
        account = account_from_response(payload, authority=self._authority, client_id=self._client_id)
        if account is None:  # no client_info or id_token: this instance's one, unnamed account
            account = Account("", "", tenant, authority_host(self._authority), self._client_id)
        self._account = account
        refresh_token = payload.get("refresh_token")
        self._user_store.save(
            account, refresh_token if isinstance(refresh_token, str) else None, request.enable_cae
        )

    def _flow(self, request: TokenRequest) -> Flow[Token]:
        from .._errors import AuthenticationFailedError

        tenant = self._tenant(request)
        claims = entra.merge_claims(request.claims, request.enable_cae)
        url = self._token_url(tenant)
        if self._authorization_code:
            form = authorize.auth_code_form(
                self._client_id,
                self._authorization_code,
                self._redirect_uri,
                request.scopes,
                claims=claims,
                client_secret=self._client_secret,
            )
            response = yield entra.token_request(url, form)
            token, payload = entra.parse_token_response(response, credential=self._name, now=self._now())
            self._authorization_code = None  # single use
            self._keep(payload, request, tenant)
            return token
        account = self._account
        secret = self._user_store.refresh_token(account, request.enable_cae) if account is not None else None
        if account is None or secret is None:
            raise AuthenticationFailedError(
                "No authorization code, cached access token, or refresh token available.",
                credential=self._name,
                mitigation_key="auth-code-exhausted",
            )
        form = authorize.refresh_form(
            self._client_id, secret, request.scopes, claims=claims, client_secret=self._client_secret
        )
        response = yield entra.token_request(url, form)
        try:
            token, payload = entra.parse_token_response(response, credential=self._name, now=self._now())
        except AuthenticationFailedError as error:
            if error.oauth_error == "invalid_grant":
                self._user_store.evict(account, secret, request.enable_cae)
            raise
        self._keep(payload, request, tenant)
        return token


class AuthorizationCodeCredential(_AuthorizationCode, SyncCredential):
    """Authenticates by redeeming an authorization code previously obtained from Microsoft Entra ID.

    :param str tenant_id: the tenant the code was issued in.
    :param str client_id: the application the code was issued to.
    :param str authorization_code: the code from the authorization endpoint's redirect.
    :param str redirect_uri: the redirect URI the code was issued for.
    :keyword str client_secret: the application's secret (confidential applications only).
    :keyword str authority: the Entra ID host, e.g. "login.microsoftonline.com" (the default).
    :keyword list[str] additionally_allowed_tenants: tenants besides ``tenant_id`` that
        ``get_token`` may request; "*" allows any.
    """


class AsyncAuthorizationCodeCredential(_AuthorizationCode, AsyncCredential):
    __doc__ = AuthorizationCodeCredential.__doc__

    # azure-identity's sync class takes client_secret through **kwargs, its async class by name: so do these.
    def __init__(
        self,
        tenant_id: str,
        client_id: str,
        authorization_code: str,
        redirect_uri: str,
        *,
        client_secret: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            tenant_id, client_id, authorization_code, redirect_uri, client_secret=client_secret, **kwargs
        )
