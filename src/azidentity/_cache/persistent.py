"""The persistent access-token cache: the in-memory TokenCache backed by a PersistentStore.

Split from ``store`` (the encrypted store itself) so each module has one job.

Async credentials never touch the file on the event loop: the acquisition lock they take on a
miss (``async_lock``) reads the file in a worker thread once the lock is held, and waits (without
blocking the loop) for the writes the acquisition queued before it lets the next caller in; on the
loop's thread, lookups answer from memory only and writes are queued (``PersistentStore``).
"""

from __future__ import annotations

from .._lazy import TYPE_CHECKING
from .._token import Token
from .memory import RETRY_DELAY, CacheEntry, TokenCache
from .store import ACCESS_TOKENS, PersistentStore, open_store
from .write_queue import on_event_loop

if TYPE_CHECKING:
    import asyncio
    import threading
    from collections.abc import Callable, Hashable
    from typing import Any

    from .file_format import Entries


def _token_from(value: dict[str, Any]) -> Token | None:
    token, expires_on = value.get("token"), value.get("expires_on")
    refresh_on, token_type = value.get("refresh_on"), value.get("token_type", "Bearer")
    if not isinstance(token, str) or not token or not isinstance(token_type, str):
        return None
    if type(expires_on) is not int or not (refresh_on is None or type(refresh_on) is int):
        return None
    return Token(token, expires_on, refresh_on, token_type)


def _unexpired(value: object, now: float) -> bool:
    expires_on = value.get("expires_on") if isinstance(value, dict) else None
    return type(expires_on) is int and now < expires_on


class PersistentTokenCache(TokenCache):
    """The in-memory :class:`TokenCache`, backed by the ``access_tokens`` section of a store.

    A hit in memory never touches the file. A miss (or a token due for refresh) reads the file:
    another process may have a fresher token; a usable one is kept in memory. Every stored token
    is written to the file, and expired ones are pruned from it.

    Persistent keys are ``namespace() + "|" + repr(cache key)``: the credential's identity
    (``CredentialBase._persistent_namespace``) and its ``_cache_key`` (tenant, sorted scopes, CAE).
    A key whose last element is ``True`` is a CAE key (``CredentialBase._cache_key``'s shape) and
    goes to the CAE file; every other key goes to the non-CAE file.
    """

    def __init__(self, clock: Callable[[], float] | None, options: Any, namespace: Callable[[], str]) -> None:
        super().__init__(clock)
        self._namespace = namespace
        self._stores = (open_store(options, cae=False), open_store(options, cae=True))

    def lookup(self, key: Hashable) -> CacheEntry | None:
        # The hit path is TokenCache.lookup's, inline so that a hit costs what it costs there.
        entry = self._entries.get(key)
        if entry is not None:
            now = self.clock()
            if now < entry.refresh_at:
                return entry
            if now < entry.expires_on and now - entry.last_attempt < RETRY_DELAY:
                return entry
        if on_event_loop():
            return None  # the acquisition lock reads the file (async_lock: in a thread; sync_lock: there)
        return self._load(key, entry)

    # -- the acquisition locks -------------------------------------------------------------------------
    def async_lock(self, key: Hashable) -> Any:
        return _AsyncAcquisition(self, key, super().async_lock(key))

    def sync_lock(self, key: Hashable) -> Any:
        lock = super().sync_lock(key)
        # A sync credential called on an event loop's thread (it blocks the loop anyway): its lookups
        # skipped the file, so its acquisition reads it.
        return _SyncAcquisitionOnLoop(self, key, lock) if on_event_loop() else lock

    def _prefetch(self, key: Hashable) -> None:
        """Adopt a usable token from the file into memory (a blocking read: off the loop)."""
        self._load(key, self._entries.get(key))

    async def _saved(self) -> None:
        for store in self._stores:
            await store.saved()

    def _wait_saved(self) -> None:
        for store in self._stores:
            store.wait_saved()

    def _locate(self, key: Hashable) -> tuple[str, PersistentStore]:
        cae = isinstance(key, tuple) and len(key) > 0 and key[-1] is True
        return f"{self._namespace()}|{key!r}", self._stores[cae]

    def _load(self, key: Hashable, current: CacheEntry | None) -> CacheEntry | None:
        persistent_key, store = self._locate(key)
        value = store.get(ACCESS_TOKENS, persistent_key)
        token = _token_from(value) if value is not None else None
        if token is None:
            return None
        now = self.clock()
        if now >= token.expires_on or (current is not None and token.expires_on <= current.expires_on):
            return None  # expired, or nothing newer than what memory holds
        entry = CacheEntry(token, now)
        # Not attempted by this process: a token due for refresh is refreshed now (and served if that fails).
        entry.last_attempt = current.last_attempt if current is not None else float("-inf")
        self._entries[key] = entry
        return entry if now < entry.refresh_at else None

    def store(self, key: Hashable, token: Token) -> CacheEntry:
        entry = super().store(key, token)
        persistent_key, store = self._locate(key)
        value = {
            "token": token.token,
            "expires_on": token.expires_on,
            "refresh_on": token.refresh_on,
            "token_type": token.token_type,
        }
        now = self.clock()

        def change(entries: Entries) -> None:
            for stale in [k for k, v in entries.items() if not _unexpired(v, now)]:
                del entries[stale]
            entries[persistent_key] = value

        store.update(ACCESS_TOKENS, change)
        return entry


class _AsyncAcquisition:
    """``async with cache.async_lock(key)``: the key's asyncio.Lock, then the file read in a worker
    thread; on the way out, the queued writes saved before the next caller may read."""

    __slots__ = ("_cache", "_key", "_lock")

    def __init__(self, cache: PersistentTokenCache, key: Hashable, lock: asyncio.Lock) -> None:
        self._cache, self._key, self._lock = cache, key, lock

    async def __aenter__(self) -> None:
        import asyncio

        await self._lock.acquire()
        try:
            await asyncio.to_thread(self._cache._prefetch, self._key)
        except BaseException:
            self._lock.release()
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await self._cache._saved()
        finally:
            self._lock.release()


class _SyncAcquisitionOnLoop:
    __slots__ = ("_cache", "_key", "_lock")

    def __init__(self, cache: PersistentTokenCache, key: Hashable, lock: threading.Lock) -> None:
        self._cache, self._key, self._lock = cache, key, lock

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            self._cache._prefetch(self._key)
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._cache._wait_saved()
        finally:
            self._lock.release()
