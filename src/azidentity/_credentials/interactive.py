"""The shared core of the credentials that sign users in (browser, device code).

``get_token``: the access-token cache (base class), then *silent* acquisition: with an
:class:`AuthenticationRecord` (given, or kept from this instance's last sign-in) the account's
refresh token is redeemed for the requested scopes; then, unless automatic authentication is
disabled, the user signs in interactively. ``authenticate()`` always signs the user in and
returns the record.

Refresh tokens and accounts live in a :class:`UserStore`: in memory per credential instance and,
with ``cache_persistence_options``, in the persistent cache (sections ``refresh_tokens`` and
``accounts``) so that a later process holding the record gets tokens without a prompt. A refresh
token is never logged, shown in a repr, or pickled (the store is transient).
"""

from __future__ import annotations

from .. import log
from .._authority import authority_host, normalize_authority
from .._cache.auth_record import AuthenticationRecord
from .._constants import ARM_SCOPES, DEVELOPER_SIGN_ON_CLIENT_ID
from .._credential import (
    AsyncCredential,
    CredentialBase,
    SyncCredential,
    TokenRequest,
    _scope_key,
    current_chain,
)
from .._lazy import TYPE_CHECKING
from .._protocol.account import Account, account_from_response
from .._protocol.effects import Flow
from .entra import EntraCredential

if TYPE_CHECKING:
    from collections.abc import Hashable, Iterable
    from typing import Any, ClassVar, NoReturn

    from .._cache.memory import CacheEntry
    from .._protocol.effects import HttpResponse
    from .._token import Token

REFRESH_TOKENS = "refresh_tokens"
ACCOUNTS = "accounts"
_ALIASES = frozenset({"organizations", "common", "consumers"})


class UserStore:
    """Accounts and refresh tokens of one credential instance.

    In memory always; in the persistent cache too when ``options`` (TokenCachePersistenceOptions)
    is given. CAE and non-CAE requests use separate persistent caches (as azure-identity does);
    a lookup falls back to the other one, since a refresh token serves either kind of request.
    """

    def __init__(self, options: Any = None) -> None:
        self._options = options
        self._refresh_tokens: dict[str, str] = {}
        self._accounts: dict[str, Account] = {}
        self._stores: dict[bool, Any] = {}

    def __repr__(self) -> str:
        return f"<UserStore accounts={len(self._accounts)} persistent={self._options is not None}>"

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("a UserStore holds refresh tokens and is never pickled")

    def open(self, cae: bool) -> Any:
        """The persistent store for CAE or non-CAE tokens (None without persistence). Raises
        CredentialUnavailableError when persistent storage isn't available: before any prompt."""
        if self._options is None:
            return None
        store = self._stores.get(cae)
        if store is None:
            from .._cache.store import open_store

            store = self._stores[cae] = open_store(self._options, cae=cae)
        return store

    def _persistent(self, cae: bool) -> list[Any]:
        if self._options is None:
            return []
        return [self.open(cae), self.open(not cae)]

    def refresh_token(self, account: Account, cae: bool) -> str | None:
        secret = self._refresh_tokens.get(account.key)
        if secret:
            return secret
        for store in self._persistent(cae):
            value = store.get(REFRESH_TOKENS, account.key)
            if isinstance(value, dict) and isinstance(value.get("secret"), str) and value["secret"]:
                self._refresh_tokens[account.key] = value["secret"]
                return str(value["secret"])
        return None

    def save(self, account: Account, refresh_token: str | None, cae: bool) -> None:
        self._accounts[account.key] = account
        if refresh_token:
            self._refresh_tokens[account.key] = refresh_token
        store = self.open(cae)
        if store is not None:
            store.put(ACCOUNTS, account.key, account.to_dict())
            if refresh_token:
                store.put(
                    REFRESH_TOKENS,
                    account.key,
                    {
                        "secret": refresh_token,
                        "home_account_id": account.home_account_id,
                        "environment": account.authority,
                        "client_id": account.client_id,
                    },
                )

    def evict(self, account: Account, refresh_token: str, cae: bool) -> None:
        """Forget a rejected refresh token (wherever it is still the current one)."""
        if self._refresh_tokens.get(account.key) == refresh_token:
            del self._refresh_tokens[account.key]
        for store in self._persistent(cae):
            value = store.get(REFRESH_TOKENS, account.key)
            if isinstance(value, dict) and value.get("secret") == refresh_token:
                store.delete(REFRESH_TOKENS, account.key)


def coerce_record(record: Any) -> AuthenticationRecord | None:
    """Our record, or one with the same attributes (azure-identity's), or None."""
    if record is None or isinstance(record, AuthenticationRecord):
        return record
    try:
        return AuthenticationRecord(
            record.tenant_id, record.client_id, record.authority, record.home_account_id, record.username
        )
    except AttributeError:
        raise TypeError(
            "authentication_record must be an AuthenticationRecord (from authenticate()), "
            f"got {type(record).__name__}"
        ) from None


def _same_authority(given: str, recorded: str) -> bool:
    """The record's authority, or its host given with a port (MSAL, and so azure-identity's records,
    keep the host without the port it listens on)."""
    from .._authority import _host_and_port

    a, b = normalize_authority(given), normalize_authority(recorded)
    if a == b:
        return True
    netloc_a, _, path_a = a.split("://", 1)[1].partition("/")
    netloc_b, _, path_b = b.split("://", 1)[1].partition("/")
    (host_a, _), (host_b, port_b) = _host_and_port(netloc_a), _host_and_port(netloc_b)
    return host_a.lower() == host_b.lower() and not port_b and path_a == path_b


def record_account(record: AuthenticationRecord) -> Account:
    return Account(
        record.home_account_id,
        record.username,
        record.tenant_id,
        authority_host(record.authority),
        record.client_id,
    )


class UserCredential(EntraCredential):
    """Configuration and flows shared by InteractiveBrowserCredential and DeviceCodeCredential.

    Subclasses implement :meth:`_sign_in`, the interaction that returns ``(token, payload)``.
    """

    _transient: ClassVar[tuple[str, ...]] = (*CredentialBase._transient, "_user_store")
    _stable_keys: ClassVar[bool] = False  # the key names the signed-in account, which sign-in changes
    _auth_record: AuthenticationRecord | None
    _user_store: UserStore

    def _init_user(self, kwargs: dict[str, Any], client_id: str | None = None) -> None:
        record = coerce_record(kwargs.pop("authentication_record", None))
        self._disable_automatic_authentication = bool(kwargs.pop("disable_automatic_authentication", False))
        client_id = kwargs.pop("client_id", None) or client_id or DEVELOPER_SIGN_ON_CLIENT_ID
        tenant_id = kwargs.pop("tenant_id", None)
        authority = kwargs.pop("authority", None)
        if record is not None:
            # The record names where the account lives: its application and authority (as in azure-identity).
            client_id = record.client_id
            tenant_id = tenant_id or record.tenant_id
            if authority and not _same_authority(authority, record.authority):
                raise ValueError(
                    f"authority={authority!r} differs from the authentication_record's authority "
                    f"{record.authority!r}; the record's account can only sign in at its own authority. "
                    "Leave out authority, or authenticate again at the new authority."
                )
            # MSAL (and so azure-identity's records) keep the authority's host without its port: an
            # authority naming the same host with a port says where that host listens.
            authority = authority or record.authority
        self._auth_record = record
        self._init_entra(
            tenant_id or "organizations",
            client_id,
            authority=authority,
            additionally_allowed_tenants=kwargs.pop("additionally_allowed_tenants", None),
            kwargs=kwargs,
        )
        self._user_store = UserStore(self._cache_persistence_options)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._user_store = UserStore(self._cache_persistence_options)

    # -- keys ------------------------------------------------------------------------------------
    def _cache_key(self, request: TokenRequest) -> Hashable:
        # Tokens belong to one account of one application at one authority, in one tenant: a persistent
        # cache shared by several credentials and processes must never hand one user's token to another.
        # The tenant is the one the token is for: a multi-tenant alias stands for the account's home
        # tenant, so the process that signed in at "organizations" and the next one, configured from the
        # record, agree on the key.
        record = self._auth_record
        tenant = request.tenant_id or self._tenant_id
        if record is None:
            return (None, None, self._client_id, tenant, _scope_key(request.scopes), request.enable_cae)
        if tenant.lower() in _ALIASES:
            tenant = record.tenant_id
        return (
            record.home_account_id,
            authority_host(record.authority),
            self._client_id,
            tenant,
            _scope_key(request.scopes),
            request.enable_cae,
        )

    def _persistent_namespace(self) -> str:
        # The cache key names the account, application, authority and tenant; the namespace must not
        # add the configured tenant (it changes once a record is given) nor the class (a record from a
        # browser sign-in serves a DeviceCodeCredential as well).
        return "user"

    def _on_success(self, request: TokenRequest, key: Hashable, token: Token) -> CacheEntry:
        # The sign-in may just have established (or changed) the account: store under its key.
        return super()._on_success(request, self._cache_key(request), token)

    # -- flows -----------------------------------------------------------------------------------
    def _flow(self, request: TokenRequest) -> Flow[Token]:
        tenant = self._tenant(request)
        self._user_store.open(request.enable_cae)  # fails before any prompt when storage isn't available
        token, rejection = yield from self._silent(request, tenant)
        if token is not None:
            return token
        if self._disable_automatic_authentication:
            from .._errors import AuthenticationRequiredError

            raise AuthenticationRequiredError(
                request.scopes, claims=request.claims, credential=self._name, http_response=rejection
            )
        return (yield from self._interactive(request, tenant))

    def _silent(self, request: TokenRequest, tenant: str) -> Flow[tuple[Token | None, HttpResponse | None]]:
        """Redeem the record's refresh token: (token, None), or (None, the rejection if any)."""
        from .._errors import AuthenticationFailedError

        record = self._auth_record
        if record is None:
            return None, None
        account = record_account(record)
        secret = self._user_store.refresh_token(account, request.enable_cae)
        migrated = False
        if secret is None:
            secret = yield from self._msal_refresh_token(record, request)
            if secret is None:
                return None, None
            migrated = True
        outcome, response = yield from self._redeem_refresh_token(secret, request, tenant)
        if isinstance(outcome, AuthenticationFailedError):
            self._user_store.evict(account, secret, request.enable_cae)
            log.emit(
                log.EVENT_AUTHENTICATION,
                log.INFO,
                "%s: the refresh token was rejected (%s); the user must sign in again",
                self._name,
                outcome.error_code or outcome.oauth_error,
            )
            return None, response
        token, payload = outcome
        refreshed = payload.get("refresh_token")
        if not isinstance(refreshed, str) or not refreshed:
            refreshed = secret if migrated else None  # keep a migrated token in our own cache from now on
        self._user_store.save(account, refreshed, request.enable_cae)
        log.emit(log.EVENT_AUTHENTICATION, log.DEBUG, "%s redeemed a refresh token", self._name)
        return token, None

    def _msal_refresh_token(self, record: AuthenticationRecord, request: TokenRequest) -> Flow[str | None]:
        """Migration from azure-identity: the record's refresh token from MSAL's cache of the same name.

        A program that used azure-identity with ``TokenCachePersistenceOptions(name=N)`` has its users'
        refresh tokens in MSAL's cache ``N`` (``N.nocae`` / ``N.cae``). When our own cache has none, that
        cache is read (never written); what is redeemed is kept in our cache from then on.
        """
        options = self._cache_persistence_options
        if options is None:
            return None
        from .._cache.msal import READER
        from .._protocol import msal_cache as mc

        names = mc.cache_names(options.name, request.enable_cae)
        wait = 2.0 if current_chain() is not None else 5.0
        outcome = yield from mc.read_caches(names, bool(options.allow_unencrypted_storage), wait, READER)
        for problem in outcome.problems:
            log.emit(
                log.EVENT_AUTHENTICATION,
                log.INFO,
                "%s can't read MSAL's token cache: %s",
                self._name,
                problem,
            )
        environments = mc.environments_for(normalize_authority(record.authority))
        secrets = mc.refresh_tokens_for(
            outcome.document, record.home_account_id, environments, self._client_id
        )
        if not secrets:
            return None
        log.emit(
            log.EVENT_AUTHENTICATION,
            log.INFO,
            "%s found the account's refresh token in MSAL's token cache %r "
            "(written by azure-identity or another MSAL application); signing in silently",
            self._name,
            options.name,
        )
        return secrets[0]

    def _interactive(self, request: TokenRequest, tenant: str) -> Flow[Token]:
        from .._errors import AuthenticationFailedError

        token, payload = yield from self._sign_in(request, tenant)
        account = account_from_response(payload, authority=self._authority, client_id=self._client_id)
        if account is None:
            raise AuthenticationFailedError(
                "the token response names no account (neither client_info nor an id_token), so the sign-in "
                "can't be remembered",
                credential=self._name,
                mitigation_key="entra-unexpected",
            )
        refresh_token = payload.get("refresh_token")
        self._user_store.save(
            account, refresh_token if isinstance(refresh_token, str) else None, request.enable_cae
        )
        self._auth_record = AuthenticationRecord(
            account.tenant_id, account.client_id, account.authority, account.home_account_id, account.username
        )
        log.emit(log.EVENT_AUTHENTICATION, log.INFO, "%s: the user signed in interactively", self._name)
        return token

    def _sign_in(self, request: TokenRequest, tenant: str) -> Flow[tuple[Token, dict[str, Any]]]:
        raise NotImplementedError

    # -- authenticate() ----------------------------------------------------------------------------
    def _authenticate_request(
        self, scopes: Iterable[str] | None, claims: str | None, tenant_id: str | None, enable_cae: bool
    ) -> TokenRequest:
        if isinstance(scopes, str):
            scopes = [scopes]
        chosen = tuple(scopes or ())
        if not chosen:
            default = ARM_SCOPES.get(authority_host(self._authority))
            if default is None:
                from .._errors import CredentialUnavailableError

                raise CredentialUnavailableError(
                    "Authenticating in this environment requires a value for the 'scopes' keyword argument.",
                    credential=self._name,
                )
            chosen = (default,)
        return self._request("authenticate", chosen, claims, tenant_id, enable_cae)

    def _authenticate_flow(self, request: TokenRequest) -> Flow[Token]:
        tenant = self._tenant(request)
        self._user_store.open(request.enable_cae)
        return (yield from self._interactive(request, tenant))

    def _authenticated(self, request: TokenRequest, token: Token) -> AuthenticationRecord:
        self._on_success(request, None, token)
        assert self._auth_record is not None  # set by _interactive
        return self._auth_record

    def _raise(self, error: Exception) -> NoReturn:
        translated = self._translate(error)
        log.emit(
            log.EVENT_AUTHENTICATION,
            log.WARNING,
            "%s.authenticate failed: %s",
            self._name,
            str(translated).split("\n", 1)[0],
        )
        if translated is error:
            raise error
        raise translated from error


class _SyncUserCredential(UserCredential, SyncCredential):
    def authenticate(
        self,
        *,
        scopes: Iterable[str] | None = None,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AuthenticationRecord:
        """Sign the user in interactively (always: the cache is not consulted) and return their record.

        :keyword scopes: scopes to request, e.g. an AuthenticationRequiredError's ``scopes``; the
            token is cached for them. Default: Azure Resource Manager's scope in the configured cloud.
        :keyword str claims: a claims challenge, e.g. an AuthenticationRequiredError's ``claims``.
        :keyword str tenant_id: the tenant to sign in to, if not the configured one.
        :keyword bool enable_cae: request a token that supports continuous access evaluation.
        :rtype: ~azidentity.AuthenticationRecord
        """
        request = self._authenticate_request(scopes, claims, tenant_id, enable_cae)
        try:
            token = self._run(self._authenticate_flow(request))
        except Exception as error:
            self._raise(error)
        return self._authenticated(request, token)


class _AsyncUserCredential(UserCredential, AsyncCredential):
    async def authenticate(
        self,
        *,
        scopes: Iterable[str] | None = None,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AuthenticationRecord:
        request = self._authenticate_request(scopes, claims, tenant_id, enable_cae)
        try:
            token = await self._run(self._authenticate_flow(request))
        except Exception as error:
            self._raise(error)
        return self._authenticated(request, token)

    authenticate.__doc__ = _SyncUserCredential.authenticate.__doc__
