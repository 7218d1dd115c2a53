"""The persistent access-token cache: the in-memory TokenCache backed by a PersistentStore.

Split from ``_persistence`` (the encrypted store itself) so each module has one job.
"""

from __future__ import annotations

from ._cache import RETRY_DELAY, CacheEntry, TokenCache
from ._persistence import ACCESS_TOKENS, PersistentStore, open_store
from ._token import Token

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Hashable
    from typing import Any

    from ._persistence import Entries


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
        return self._load(key, entry)

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
