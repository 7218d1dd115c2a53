"""The base of every credential: configuration and flow here, I/O in the two facades.

A credential class is written once, as configuration plus ``_flow`` (a generator of effects,
no I/O). The public sync class mixes in :class:`SyncCredential`, the async one
:class:`AsyncCredential`; those facades hold the only sync/async differences: which driver
runs the flow and which lock kind serialises acquisition.

    class _ClientSecret(EntraCredential): ...                      # config + flow
    class ClientSecretCredential(_ClientSecret, SyncCredential)    # azidentity
    class AsyncClientSecretCredential(_ClientSecret, AsyncCredential)
        # exported as azidentity.aio.ClientSecretCredential (renamed by __init_subclass__)
"""

from __future__ import annotations

import time
from contextvars import ContextVar

from . import _tracing, log
from ._cache.memory import TokenCache
from ._lazy import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Awaitable, Hashable, Mapping
    from typing import Any, ClassVar

    from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions

    from ._cache.memory import CacheEntry
    from ._cache.options import TokenCachePersistenceOptions
    from ._driver import AsyncIO, SyncIO
    from ._protocol.effects import Flow
    from ._token import Token


class ChainContext:
    """The one notion of "in a chain": which chain a credential works for, and what a member may need to know.

    :data:`CHAIN` holds it while a chain calls a member (the drivers set it when they perform a
    ``MemberCall``), and while DefaultAzureCredential builds its members, so that they can
    configure themselves for it. Members read it through :func:`current_chain`: inside a chain,
    they lower their log levels and report failures that let the chain move on; managed identity
    probes IMDS once, quickly, when other members follow.
    """

    __slots__ = ("name", "default", "members", "env")

    def __init__(
        self,
        name: str,
        members: tuple[str, ...],
        *,
        default: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name  # the chain's class name
        self.members = members  # the names of the chain's members, in order
        self.default = default  # DefaultAzureCredential (whose members behave as azure-identity's do)
        self.env = env  # the environment DefaultAzureCredential was given (tests inject one), or None

    def __repr__(self) -> str:
        return f"ChainContext({self.name}, members={self.members!r})"


CHAIN: ContextVar[ChainContext | None] = ContextVar("azidentity_chain", default=None)


def current_chain() -> ChainContext | None:
    """The chain this credential is being called (or built) by, or None."""
    return CHAIN.get()


class TokenRequest:
    """What one get_token call asks for (``tenant_id`` as requested, not yet resolved).

    ``want_info``: the caller called ``get_token_info``. ``passthrough``: the caller's own keyword
    arguments (get_token) or options (get_token_info), which a chain hands on to its members.
    """

    __slots__ = ("scopes", "claims", "tenant_id", "enable_cae", "want_info", "passthrough")

    def __init__(
        self,
        scopes: tuple[str, ...],
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        *,
        want_info: bool = False,
        passthrough: Mapping[str, Any] | None = None,
    ) -> None:
        self.scopes = scopes
        self.claims = claims
        self.tenant_id = tenant_id
        self.enable_cae = enable_cae
        self.want_info = want_info
        self.passthrough = passthrough

    def __repr__(self) -> str:
        return (
            f"TokenRequest(scopes={self.scopes!r}, tenant_id={self.tenant_id!r}, "
            f"enable_cae={self.enable_cae})"
        )


def _scope_key(scopes: tuple[str, ...]) -> tuple[str, ...]:
    return scopes if len(scopes) < 2 else tuple(sorted(scopes))


class CredentialBase:
    """Configuration, cache and flow. Subclasses set ``_repr_fields`` and implement ``_flow``."""

    # Attributes rebuilt after unpickling instead of being pickled: caches, locks, connections.
    _transient: ClassVar[tuple[str, ...]] = ("_cache", "_io")
    # A plain request's cache key depends only on configuration and scopes, so a hit can reuse
    # the key computed (after validation) the first time and skip building request and key.
    # Credentials whose key changes with state (the signed-in account) set this False.
    _stable_keys: ClassVar[bool] = True
    # Chains keep no tokens of their own (their members do): each call runs the flow, no lock, no cache.
    _caches_tokens: ClassVar[bool] = True
    # Credentials this one holds and closes with itself (a chain's members).
    _members: tuple[Any, ...] = ()
    # Set by credentials that take ``cache_persistence_options``: the cache is then the encrypted file.
    _cache_persistence_options: TokenCachePersistenceOptions | None = None
    _repr_fields: ClassVar[tuple[str, ...]] = ()
    _cache: TokenCache
    _pipeline_kwargs: dict[str, Any]
    _clock: Any = None
    _sleep: Any = None

    def _init_base(self, kwargs: dict[str, Any]) -> None:
        """Keep pipeline keywords; take the test seams (``_clock``, ``_sleep``) out of them."""
        self._clock = kwargs.pop("_clock", None)
        self._sleep = kwargs.pop("_sleep", None)
        self._pipeline_kwargs = kwargs
        self._cache = self._new_cache()
        self._io: Any = None
        # scopes -> cache key, for calls with no options. The four public methods (sync/async x
        # get_token/get_token_info) inline this lookup on purpose: a hit is a dict get and a cache
        # lookup, with no further call, which is what the cache-hit benchmark measures.
        self._fast_keys: dict[tuple[str, ...], Hashable] = {}

    def _new_cache(self) -> TokenCache:
        options = self._cache_persistence_options
        if options is None:
            return TokenCache(self._clock)
        from ._cache.persistent import PersistentTokenCache

        # Opens the encrypted store now: a machine that can't keep it raises CredentialUnavailableError here.
        return PersistentTokenCache(self._clock, options, self._persistent_namespace)

    def _persistent_namespace(self) -> str:
        """Whose tokens these are, in the persistent cache's keys (``_cache_key`` adds tenant, scopes, CAE).

        Credentials whose tokens belong to more than this (an application, a signed-in account)
        override it.
        """
        return type(self).__name__

    @property
    def _name(self) -> str:
        return type(self).__name__

    def _now(self) -> float:
        return self._cache.clock()

    # -- what subclasses provide ---------------------------------------------------------------
    def _flow(self, request: TokenRequest) -> Flow[Token]:
        raise NotImplementedError

    def _cache_key(self, request: TokenRequest) -> Hashable:
        return (request.tenant_id, _scope_key(request.scopes), request.enable_cae)

    def _validate(self, request: TokenRequest) -> None:
        """Checks that need no I/O and raise ValueError for bad arguments."""

    # -- shared acquisition logic --------------------------------------------------------------
    def _request(
        self,
        method: str,
        scopes: tuple[str, ...],
        claims: str | None,
        tenant_id: str | None,
        enable_cae: bool,
        passthrough: Mapping[str, Any] | None = None,
    ) -> TokenRequest:
        if not scopes and self._caches_tokens:  # a chain hands even this on (its members decide)
            raise ValueError(f'"{method}" requires at least one scope')
        for scope in scopes:
            if not isinstance(scope, str) or not scope:
                raise ValueError(f'"{method}" requires scopes to be non-empty strings, got {scope!r}')
        request = TokenRequest(
            scopes,
            claims or None,
            tenant_id or None,
            bool(enable_cae),
            want_info=method == "get_token_info",
            passthrough=passthrough,
        )
        self._validate(request)
        return request

    def _request_from_options(
        self, scopes: tuple[str, ...], options: TokenRequestOptions | None
    ) -> TokenRequest:
        if not options:
            return self._request("get_token_info", scopes, None, None, False, options)
        return self._request(
            "get_token_info",
            scopes,
            options.get("claims"),
            options.get("tenant_id"),
            bool(options.get("enable_cae", False)),
            options,
        )

    def _lookup(self, request: TokenRequest) -> tuple[Hashable, CacheEntry | None]:
        """The lock-free hit path both facades share: the cache key, and an entry to serve now."""
        key = self._cache_key(request)
        if request.claims:
            return key, None
        if (
            self._stable_keys
            and request.tenant_id is None
            and not request.enable_cae
            and len(self._fast_keys) < 256
        ):
            self._fast_keys[request.scopes] = key
        return key, self._cache.lookup(key)

    def _after_waiting(self, request: TokenRequest, key: Hashable, seen: int) -> CacheEntry | None:
        """Holding the single-flight lock: the token the attempt we waited for stored, or its error raised;
        None when this caller must make the attempt (``seen``: attempts ended before it started waiting)."""
        cache = self._cache
        if not request.claims:
            entry = cache.lookup(key)
            if entry is not None:
                return entry
        failure = cache.failure_since(key, seen, request.claims)
        if failure is not None:
            raise failure  # the same exception object for every waiter, as concurrent.futures does
        cache.begin_attempt(key)
        return None

    def _settle(
        self, request: TokenRequest, key: Hashable, token: Token | None, error: Exception | None
    ) -> CacheEntry:
        """The attempt's outcome, kept for the callers queued behind it."""
        try:
            if error is not None:
                entry = self._on_failure(request, key, error)
            else:
                assert token is not None
                entry = self._on_success(request, key, token)
        except Exception as raised:
            self._cache.end_attempt(key, raised, request.claims)
            raise
        self._cache.end_attempt(key)
        return entry

    def _on_success(self, request: TokenRequest, key: Hashable, token: Token) -> CacheEntry:
        entry = self._cache.store(key, token)
        log.emit(
            log.EVENT_AUTHENTICATION,
            log.INFO,
            "%s acquired a token for scopes %s (expires %s)",
            self._name,
            " ".join(request.scopes),
            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(token.expires_on)),
        )
        return entry

    def _on_failure(self, request: TokenRequest, key: Hashable, error: Exception) -> CacheEntry:
        """Serve the cached token if it is still valid, else raise a well-formed error."""
        entry = None if request.claims else self._cache.usable(key)
        translated = self._translate(error)
        if entry is not None:
            log.emit(
                log.EVENT_AUTHENTICATION,
                log.WARNING,
                "%s could not refresh a token for scopes %s; serving the cached token until it expires: %s",
                self._name,
                " ".join(request.scopes),
                str(translated).split("\n", 1)[0],
            )
            return entry
        if translated is error:
            raise error
        raise translated from error

    def _translate(self, error: Exception) -> Exception:
        """Errors escaping a flow become our documented errors (never a raw traceback)."""
        from azure.core.exceptions import ClientAuthenticationError

        from ._errors import AuthenticationFailedError
        from ._protocol.effects import TransportError

        if isinstance(error, (ClientAuthenticationError, ValueError, TypeError)):
            return error
        if isinstance(error, TransportError) and isinstance(error.__cause__, ClientAuthenticationError):
            # The transport refused a setting before sending anything (azure-core raises these at once).
            return AuthenticationFailedError(
                str(error.__cause__), credential=self._name, mitigation_key="transport-setting"
            )
        if isinstance(error, TransportError):
            return AuthenticationFailedError(
                f"no response from {error.request.url_without_query}: {error.message}",
                credential=self._name,
                mitigation_key="network",
            )
        return AuthenticationFailedError(
            f"unexpected error: {type(error).__name__}: {error}", credential=self._name
        )

    # -- representation and pickling -------------------------------------------------------------
    def __repr__(self) -> str:
        fields = " ".join(f"{name}={getattr(self, '_' + name, None)!r}" for name in self._repr_fields)
        return (
            f"<{type(self).__module__.split('._')[0]}.{type(self).__name__}{' ' + fields if fields else ''}>"
        )

    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in self._transient and k != "_fast_keys"}
        _check_callables(self._name, state)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._cache = self._new_cache()
        self._io = None
        self._fast_keys = {}


def _check_callables(credential: str, state: dict[str, Any]) -> None:
    """A callable the user gave (a callback, a hook) that pickle can't carry: a TypeError naming it,
    instead of pickle's "Can't pickle <function <lambda>>: attribute lookup failed"."""
    import pickle

    items = list(state.items())
    items += [
        (f"{key} (pipeline keyword)", value) for key, value in (state.get("_pipeline_kwargs") or {}).items()
    ]
    for name, value in items:
        if not callable(value) or isinstance(value, (type, CredentialBase)):
            continue
        try:
            pickle.dumps(value)
        except Exception as error:
            # The callable's name, never its repr: a partial's repr would show its arguments (secrets).
            module = getattr(value, "__module__", None) or "?"
            qualname = getattr(value, "__qualname__", type(value).__name__)
            what = f"{module}.{qualname}"
            raise TypeError(
                f"{credential} cannot be pickled: its {name.lstrip('_')} callable {what} is not picklable "
                f"({type(error).__name__}). Pass a module-level function (or another picklable callable)."
            ) from None


class SyncCredential(CredentialBase):
    """``get_token`` / ``get_token_info`` for synchronous callers."""

    def _sync_io(self) -> SyncIO:
        if self._io is None:
            from ._driver import BUILDING

            with BUILDING:  # threads racing to the first request share one
                if self._io is None:
                    self._io = self._new_sync_io()
        return self._io  # type: ignore[no-any-return]

    def _new_sync_io(self) -> SyncIO:
        from ._driver import SyncIO

        return SyncIO(self._pipeline_kwargs, self._sleep)

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        if not (claims or tenant_id or enable_cae):
            fast = self._fast_keys.get(scopes)
            if fast is not None:
                hit = self._cache.lookup(fast)
                if hit is not None:
                    return hit.access_token
        request = self._request("get_token", scopes, claims, tenant_id, enable_cae, kwargs)
        if not self._caches_tokens:
            return self._answer(self._flow(request))  # type: ignore[no-any-return]
        key, entry = self._lookup(request)
        return (entry or self._acquire(request, key)).access_token

    def get_token_info(self, *scopes: str, options: TokenRequestOptions | None = None) -> AccessTokenInfo:
        if not options:
            fast = self._fast_keys.get(scopes)
            if fast is not None:
                hit = self._cache.lookup(fast)
                if hit is not None:
                    return hit.info
        request = self._request_from_options(scopes, options)
        if not self._caches_tokens:
            return self._answer(self._flow(request))  # type: ignore[no-any-return]
        key, entry = self._lookup(request)
        return (entry or self._acquire(request, key)).info

    @_tracing.traced_chain
    def _answer(self, flow: Flow[Any]) -> Any:
        """A credential without a cache of its own (a chain): the flow's result is the answer."""
        return self._run(flow)

    @_tracing.traced_acquire
    def _acquire(self, request: TokenRequest, key: Hashable) -> CacheEntry:
        """Single flight: one caller per key asks the network; the others get its token or its error."""
        cache = self._cache
        seen = cache.attempts(key)
        with cache.sync_lock(key):
            entry = self._after_waiting(request, key, seen)
            if entry is not None:
                return entry
            try:
                token = self._run(self._flow(request))
            except Exception as error:
                return self._settle(request, key, None, error)
            return self._settle(request, key, token, None)

    def _run(self, flow: Flow[Any]) -> Any:
        from ._driver import run_sync

        return run_sync(flow, self._sync_io())

    def close(self) -> None:
        """Close connections; a ``transport=`` you gave is exited (``__exit__``), as azure-identity does."""
        self.__exit__()

    def __enter__(self) -> Any:
        self._sync_io().enter()
        for member in self._members:  # as azure-identity's chains: each member is entered
            enter = getattr(member, "__enter__", None)
            if callable(enter):
                enter()
        return self

    def __exit__(self, *args: object) -> None:
        for member in self._members:  # as azure-identity's chains: each member's __exit__
            exit_ = getattr(member, "__exit__", None)
            if callable(exit_):
                exit_(*args)
            elif callable(getattr(member, "close", None)):  # a member without the context protocol
                member.close()
        if self._io is None and "transport" not in self._pipeline_kwargs:
            return
        io, self._io = self._sync_io(), None
        io.close(*args)  # the exception details reach your transport's __exit__, as through azure-core


class AsyncCredential(CredentialBase):
    """Coroutine ``get_token`` / ``get_token_info`` for asyncio callers.

    A subclass named ``AsyncX`` is presented as ``azidentity.aio.X``: same class name as the
    sync credential (drop-in with azure-identity), distinct module in ``repr`` and type hints.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__name__.startswith("Async") and cls.__name__ != "AsyncCredential":
            cls.__name__ = cls.__qualname__ = cls.__name__[len("Async") :]
            cls.__module__ = "azidentity.aio"

    def _async_io(self) -> AsyncIO:
        if self._io is None:  # no await before the assignment: one per event loop's tasks
            self._io = self._new_async_io()
        return self._io  # type: ignore[no-any-return]

    def _new_async_io(self) -> AsyncIO:
        from ._driver import AsyncIO

        return AsyncIO(self._pipeline_kwargs, self._sleep)

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        if not (claims or tenant_id or enable_cae):
            fast = self._fast_keys.get(scopes)
            if fast is not None:
                hit = self._cache.lookup(fast)
                if hit is not None:
                    return hit.access_token
        request = self._request("get_token", scopes, claims, tenant_id, enable_cae, kwargs)
        if not self._caches_tokens:
            return await self._answer(self._flow(request))  # type: ignore[no-any-return]
        key, entry = self._lookup(request)
        if entry is None:  # a hit never creates the acquisition coroutine
            entry = await self._acquire(request, key)
        return entry.access_token

    async def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        if not options:
            fast = self._fast_keys.get(scopes)
            if fast is not None:
                hit = self._cache.lookup(fast)
                if hit is not None:
                    return hit.info
        request = self._request_from_options(scopes, options)
        if not self._caches_tokens:
            return await self._answer(self._flow(request))  # type: ignore[no-any-return]
        key, entry = self._lookup(request)
        if entry is None:
            entry = await self._acquire(request, key)
        return entry.info

    @_tracing.traced_chain
    def _answer(self, flow: Flow[Any]) -> Awaitable[Any]:
        """A credential without a cache of its own (a chain): the flow's result is the answer."""
        return self._run(flow)

    @_tracing.traced_acquire_async
    async def _acquire(self, request: TokenRequest, key: Hashable) -> CacheEntry:
        """Single flight: one task per key (per event loop) asks the network; the others get its outcome."""
        cache = self._cache
        seen = cache.attempts(key)
        async with cache.async_lock(key):
            entry = self._after_waiting(request, key, seen)
            if entry is not None:
                return entry
            try:
                token = await self._run(self._flow(request))
            except Exception as error:
                return self._settle(request, key, None, error)
            return self._settle(request, key, token, None)

    async def _run(self, flow: Flow[Any]) -> Any:
        from ._driver import run_async

        return await run_async(flow, self._async_io())

    async def close(self) -> None:
        """Close connections; a ``transport=`` you gave is exited (``__aexit__``), as azure-identity does."""
        await self.__aexit__()

    async def __aenter__(self) -> Any:
        await self._async_io().enter()  # a chain's members are not entered, as in azure-identity
        return self

    async def __aexit__(self, *args: object) -> None:
        if self._members:  # a chain: its members are closed concurrently, as azure-identity does
            import asyncio

            closing = [getattr(member, "close", None) for member in self._members]
            outcomes = [close() for close in closing if callable(close)]
            await asyncio.gather(*(outcome for outcome in outcomes if hasattr(outcome, "__await__")))
        if self._io is None and "transport" not in self._pipeline_kwargs:
            return
        io, self._io = self._async_io(), None
        await io.close(*args)
