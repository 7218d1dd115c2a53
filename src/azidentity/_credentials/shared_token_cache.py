"""SharedTokenCacheCredential: a user signed in by another Microsoft tool, from MSAL's shared token cache.

MSAL's shared cache (``msal.cache``, or the name in ``cache_persistence_options``) is read -- never
written -- from the operating system's store (``azidentity._cache.msal``). The credential chooses the
one account that has a refresh token of the developer tools' family (FOCI) and matches ``username``
and/or ``tenant_id`` (its home tenant), serves a cached access token while it is valid for more than
5 minutes, and otherwise redeems the account's refresh token at the authority as the Azure CLI's
client (``04b07795-...``, a family member), as azure-identity does. Entra ID may return a new
refresh token: it is kept in memory for this credential (never in a pickle, never written back).

With ``authentication_record`` the record's account and application are used instead (azure-identity
switches to MSAL's silent flow then): the record's client's own refresh token, or its family's.

Reading never blocks for long: every wait for the secret store is bounded (2 s inside a chain, 5 s
standalone), a locked keyring is reported instead of unlocked, and a cache another program is
writing is read again for at most 0.75 s.
"""

from __future__ import annotations

import sys

from .. import log
from .._constants import DEVELOPER_SIGN_ON_CLIENT_ID
from .._credential import AsyncCredential, CredentialBase, SyncCredential, TokenRequest, current_chain
from .._lazy import TYPE_CHECKING
from .._protocol import msal_cache as mc
from .._protocol.effects import Flow
from .entra import EntraCredential

if TYPE_CHECKING:
    from typing import Any, ClassVar, NoReturn

    from .._token import Token

SECRET_STORE_WAIT_IN_CHAIN = 2.0
SECRET_STORE_WAIT = 5.0


def supported() -> bool:
    """Whether MSAL keeps a shared token cache on this platform (Windows, macOS, Linux)."""
    return sys.platform in ("win32", "darwin") or sys.platform.startswith("linux")


class MsalCacheCredential(EntraCredential):
    """Reading MSAL's caches and redeeming the refresh tokens found there (shared with VS Code)."""

    _transient: ClassVar[tuple[str, ...]] = (*CredentialBase._transient, "_rotated")
    _rotated: dict[str, str]

    def _init_msal_cache(self, options: Any, kwargs: dict[str, Any]) -> None:
        self._secret_store_timeout = kwargs.pop("_secret_store_timeout", None)
        if options is None:
            # As azure-identity: the default shared cache, whether it is encrypted or not (a plaintext
            # one exists only because a user allowed it).
            self._msal_cache_name, self._allow_plaintext = mc.DEFAULT_NAME, True
        else:
            try:
                self._msal_cache_name = str(options.name)
                self._allow_plaintext = bool(options.allow_unencrypted_storage)
            except AttributeError:
                raise TypeError(
                    "cache_persistence_options must be a TokenCachePersistenceOptions, "
                    f"got {type(options).__name__}"
                ) from None
        self._rotated = {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._rotated = {}

    def _wait(self) -> float:
        if self._secret_store_timeout is not None:  # test seam
            return float(self._secret_store_timeout)
        return SECRET_STORE_WAIT_IN_CHAIN if current_chain() is not None else SECRET_STORE_WAIT

    def _read(self, request: TokenRequest) -> Flow[mc.ReadOutcome]:
        from .._cache.msal import READER

        names = mc.cache_names(self._msal_cache_name, request.enable_cae)
        return (yield from mc.read_caches(names, self._allow_plaintext, self._wait(), READER))

    def _unavailable(self, problem: mc.CacheProblem, outcome: mc.ReadOutcome | None = None) -> NoReturn:
        from .._errors import CredentialUnavailableError

        where = f" Looked at: {'; '.join(outcome.where)}." if outcome is not None and outcome.where else ""
        raise CredentialUnavailableError(
            problem.message.rstrip(".") + "." + where,
            credential=self._name,
            mitigation_key=problem.mitigation_key,
        )

    def _check_readable(self, outcome: mc.ReadOutcome) -> None:
        """No cache could be read and one could not: say why, instead of "no accounts"."""
        if outcome.problems and not outcome.found:
            problem = outcome.problems[0]
            self._unavailable(mc.CacheProblem(problem.message, problem.mitigation_key), outcome)
        for problem in outcome.problems:
            log.emit(log.EVENT_AUTHENTICATION, log.DEBUG, "%s: %s", self._name, problem.message)

    def _redeem(
        self,
        request: TokenRequest,
        tenant: str,
        home_account_id: str,
        username: str,
        refresh_tokens: list[str],
    ) -> Flow[Token]:
        """Redeem the first refresh token Entra ID accepts (the one it rotated to in memory first)."""
        from .._errors import AuthenticationFailedError
        from .._mitigations import lookup

        rotated = self._rotated.get(home_account_id)
        candidates = ([rotated] if rotated else []) + [t for t in refresh_tokens if t != rotated]
        if not candidates:
            self._unavailable(
                mc.CacheProblem(
                    f"Token acquisition failed for user '{username}': the cache holds no refresh token "
                    f"this application ({self._client_id}) may redeem. To fix, re-authenticate through "
                    "developer tooling supporting Azure single sign on",
                    "shared-cache-token-failed",
                )
            )
        rejection: AuthenticationFailedError | None = None
        rejected_response = None
        for secret in candidates:
            outcome, response = yield from self._redeem_refresh_token(secret, request, tenant)
            if isinstance(outcome, AuthenticationFailedError):
                rejection, rejected_response = outcome, response
                if self._rotated.get(home_account_id) == secret:
                    del self._rotated[home_account_id]
                continue
            token, payload = outcome
            refreshed = payload.get("refresh_token")
            if isinstance(refreshed, str) and refreshed:
                self._rotated[home_account_id] = refreshed  # in memory only: MSAL's cache is never written
            log.emit(log.EVENT_AUTHENTICATION, log.DEBUG, "%s redeemed a cached refresh token", self._name)
            return token
        assert rejection is not None
        code = rejection.error_code or ""
        raise AuthenticationFailedError(
            f"Token acquisition failed for user '{username}': Microsoft Entra ID rejected the cached refresh "
            f"token{'s' if len(candidates) > 1 else ''}. To fix, re-authenticate through developer tooling "
            "supporting Azure single sign on",
            credential=self._name,
            mitigation_key=code if code and lookup(code) else "shared-cache-token-failed",
            http_response=rejected_response,
        )


class _SharedTokenCache(MsalCacheCredential):
    _repr_fields: ClassVar[tuple[str, ...]] = ("username", "authority")

    def __init__(self, username: str | None = None, **kwargs: Any) -> None:
        record = kwargs.pop("authentication_record", None)
        if record is not None:
            from .interactive import coerce_record

            record = coerce_record(record)
        account_tenant = kwargs.pop("tenant_id", None)
        authority = kwargs.pop("authority", None)
        self._init_msal_cache(kwargs.pop("cache_persistence_options", None), kwargs)
        self._username = username or None
        self._account_tenant = account_tenant or None
        self._record = record
        if record is not None:
            # azure-identity's silent flow: the record's application and authority, its tenant by default.
            client_id, tenant = record.client_id, account_tenant or record.tenant_id
            authority = authority or record.authority
        else:
            # azure-identity's refresh request: as the Azure CLI's client, at "organizations".
            client_id, tenant = DEVELOPER_SIGN_ON_CLIENT_ID, "organizations"
        self._init_entra(
            tenant,
            client_id,
            authority=authority,
            additionally_allowed_tenants=kwargs.pop("additionally_allowed_tenants", None),
            kwargs=kwargs,
        )

    @staticmethod
    def supported() -> bool:
        """Whether the shared token cache is supported on the current platform.

        :return: True if the shared token cache is supported on the current platform, otherwise False.
        :rtype: bool
        """
        return supported()

    def _flow(self, request: TokenRequest) -> Flow[Token]:
        tenant = self._tenant(request)
        if not supported():
            self._unavailable(
                mc.CacheProblem(
                    "Shared token cache is not supported on this platform.", "shared-cache-unsupported"
                )
            )
        outcome = yield from self._read(request)
        self._check_readable(outcome)
        environments = mc.environments_for(self._authority)
        if self._record is not None:
            home_account_id, username = self._record.home_account_id, self._record.username
            account_tenant = self._record.tenant_id
        else:
            try:
                account = mc.choose_account(
                    mc.shared_accounts(outcome.document, environments), self._username, self._account_tenant
                )
            except mc.CacheProblem as problem:
                self._unavailable(problem, outcome)
            home_account_id = str(account.get("home_account_id"))
            username = str(account.get("username") or "")
            account_tenant = mc.home_tenant(home_account_id)
        if not request.claims:
            cached = mc.cached_access_token(
                outcome.primary,
                home_account_id,
                environments,
                request.scopes,
                mc.token_realms(tenant, account_tenant),
                self._now(),
            )
            if cached is not None:
                from .._token import Token

                secret, expires_on, refresh_on, token_type = cached
                log.emit(log.EVENT_AUTHENTICATION, log.DEBUG, "%s found a cached access token", self._name)
                return Token(secret, expires_on, refresh_on, token_type)
        refresh_tokens = mc.refresh_tokens_for(
            outcome.document, home_account_id, environments, self._client_id
        )
        return (yield from self._redeem(request, tenant, home_account_id, username, refresh_tokens))

    def _doctor_facts(self) -> dict[str, str]:
        """Where the credential looks and what it finds there (for ``azidentity doctor``)."""
        return describe_cache(
            self._msal_cache_name,
            self._allow_plaintext,
            self._authority,
            self._username,
            self._account_tenant,
        )


def describe_cache(
    name: str,
    allow_plaintext: bool,
    authority: str,
    username: str | None = None,
    tenant_id: str | None = None,
) -> dict[str, str]:
    """Facts about MSAL's cache ``name`` for ``azidentity doctor``: where, what, which accounts."""
    from .._cache.msal import read

    facts: dict[str, str] = {}
    environments = mc.environments_for(authority)
    documents = []
    looked = []
    for full in mc.cache_names(name, False):
        snapshot = read(full, allow_plaintext, SECRET_STORE_WAIT_IN_CHAIN)
        text = "; ".join(snapshot.where)
        if snapshot.status == "problem":
            text += f": {snapshot.problem}"
        elif snapshot.status == "found":
            try:
                documents.append(mc.parse(snapshot.text or ""))
            except ValueError as error:
                text += f": unreadable, {error}"
        looked.append(text)
    facts["MSAL cache"] = "; ".join(looked)
    accounts = [a for d in documents for a in mc.shared_accounts(d, environments)]
    unique = {str(a.get("home_account_id")): a for a in accounts}
    facts["accounts"] = (
        ", ".join(mc.describe_account(a) for a in unique.values())
        if unique
        else "none with a shared refresh token"
    )
    if username or tenant_id:
        facts["choosing"] = " ".join(
            part
            for part in (
                f"username {username}" if username else "",
                f"tenant {tenant_id}" if tenant_id else "",
            )
            if part
        )
    return facts


class SharedTokenCacheCredential(_SharedTokenCache, SyncCredential):
    """Authenticates using tokens in the local cache shared between Microsoft applications.

    The cache is MSAL's (``msal.cache``), written by Microsoft developer tools and by azure-identity's
    persistent caching; azidentity reads it and never writes it.

    :param str username: username (typically an email address) of the user to authenticate as, when
        the cache holds several accounts.
    :keyword str authority: authority of a Microsoft Entra endpoint, for example
        "login.microsoftonline.com" (the default, or AZURE_AUTHORITY_HOST).
    :keyword str tenant_id: a Microsoft Entra tenant ID, used to choose an account (by its home tenant)
        when the cache holds several.
    :keyword AuthenticationRecord authentication_record: an authentication record returned by a user
        credential such as DeviceCodeCredential or InteractiveBrowserCredential: sign that account in.
    :keyword cache_persistence_options: which MSAL cache to read (its ``name``) and whether an unencrypted
        one may be read; by default the shared cache, encrypted or not.
    :paramtype cache_persistence_options: ~azidentity.TokenCachePersistenceOptions
    :keyword list[str] additionally_allowed_tenants: tenants for which the credential may acquire tokens
        besides its own; "*" allows any.
    """


class AsyncSharedTokenCacheCredential(_SharedTokenCache, AsyncCredential):
    __doc__ = SharedTokenCacheCredential.__doc__

    def __init__(
        self,
        username: str | None = None,
        *,
        authority: str | None = None,
        tenant_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        # azure-identity's async class declares these two keyword-only (the sync one takes **kwargs).
        super().__init__(username, authority=authority, tenant_id=tenant_id, **kwargs)
