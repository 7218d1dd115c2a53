"""The in-memory token cache: refresh policy and single-flight acquisition.

Policy (azure-identity's, made per token so one scope's failure never delays another):
- a token is served until its refresh point: ``refresh_on`` if known, else 5 minutes before expiry;
- past the refresh point, one caller refreshes while the token stays valid; others keep being
  served the cached token; a failed refresh is not retried for 30 seconds and the cached token
  is served until it expires;
- an expired token is never served: callers wait for the refresh and see its error;
- single flight covers failures: callers that queued behind an attempt get its outcome, token
  or error (``failure_since``), instead of each starting an attempt of their own in turn; a
  caller that arrives after the attempt ended starts a new one.

The hit path takes no lock and logs nothing. Locks exist per key, so different scopes never
wait for each other: a ``threading.Lock`` for sync callers and an ``asyncio.Lock`` per event
loop for async callers (a lock bound to one loop cannot be used from another).
"""

from __future__ import annotations

import os
import time
from _thread import allocate_lock

from .._lazy import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio
    import threading
    import weakref
    from collections.abc import Callable, Hashable
    from typing import Any

    from .._token import Token

    Clock = Callable[[], float]

REFRESH_OFFSET = 300
RETRY_DELAY = 30


class CacheEntry:
    __slots__ = ("info", "access_token", "expires_on", "refresh_at", "last_attempt")

    def __init__(self, token: Token, now: float) -> None:
        from azure.core.credentials import AccessToken, AccessTokenInfo

        self.info = AccessTokenInfo(
            token.token, token.expires_on, token_type=token.token_type, refresh_on=token.refresh_on
        )
        self.access_token = AccessToken(token.token, token.expires_on)
        self.expires_on = token.expires_on
        self.refresh_at = (
            token.refresh_on if token.refresh_on is not None else token.expires_on - REFRESH_OFFSET
        )
        self.last_attempt = now


# Forks this process's lineage has gone through: a cache made before a fork renews its thread locks
# in the child on first use (a parent thread that held one at fork time doesn't exist there).
_forks = 0


def _count_fork() -> None:
    global _forks
    _forks += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_count_fork)


class TokenCache:
    # Every credential has one: slots keep 10,000 credentials small (the memory benchmark).
    __slots__ = (
        "clock",
        "_entries",
        "_guard",
        "_sync_locks",
        "_forks",
        "_async_locks",
        "_ended",
        "_failures",
        "__dict__",
    )

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or time.time
        self._entries: dict[Hashable, CacheEntry] = {}
        self._guard = allocate_lock()
        self._sync_locks: dict[Hashable, threading.Lock] = {}
        self._forks = _forks
        self._async_locks: weakref.WeakKeyDictionary[Any, dict[Hashable, asyncio.Lock]] | None = None
        # Attempts ended per key, and the last one's error (with the claims it was made with) if it failed:
        # made on the first attempt (a credential that never fetches a token carries no empty dicts).
        self._ended: dict[Hashable, int] | None = None
        self._failures: dict[Hashable, tuple[int, BaseException, str | None]] | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: Hashable) -> CacheEntry | None:
        """An entry that may be served now without asking anyone (the lock-free hit path)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        now = self.clock()
        if now < entry.refresh_at:
            return entry
        if now < entry.expires_on and now - entry.last_attempt < RETRY_DELAY:
            return entry
        return None

    def usable(self, key: Hashable) -> CacheEntry | None:
        """The cached entry if it has not expired (served when a refresh fails)."""
        entry = self._entries.get(key)
        if entry is not None and self.clock() < entry.expires_on:
            return entry
        return None

    def begin_attempt(self, key: Hashable) -> None:
        entry = self._entries.get(key)
        if entry is not None:
            entry.last_attempt = self.clock()

    def attempts(self, key: Hashable) -> int:
        """How many attempts for ``key`` have ended: read before waiting for the single-flight lock."""
        return self._ended.get(key, 0) if self._ended is not None else 0

    def end_attempt(
        self, key: Hashable, error: BaseException | None = None, claims: str | None = None
    ) -> None:
        if self._ended is None or self._failures is None:
            self._ended, self._failures = {}, {}
        ended = self._ended[key] = self._ended.get(key, 0) + 1
        if error is None:
            self._failures.pop(key, None)
        else:
            self._failures[key] = (ended, error, claims)

    def failure_since(self, key: Hashable, seen: int, claims: str | None) -> BaseException | None:
        """The error of an attempt (for the same claims) that ended after ``seen``: the caller waited
        for it."""
        failure = self._failures.get(key) if self._failures is not None else None
        if failure is not None and failure[0] > seen and failure[2] == claims:
            return failure[1]
        return None

    def store(self, key: Hashable, token: Token) -> CacheEntry:
        entry = CacheEntry(token, self.clock())
        self._entries[key] = entry
        return entry

    def clear(self) -> None:
        self._entries.clear()

    def sync_lock(self, key: Hashable) -> threading.Lock:
        if self._forks != _forks:  # first use in a forked child: the parent's locks may be held forever
            self._guard, self._sync_locks, self._forks = allocate_lock(), {}, _forks
        lock = self._sync_locks.get(key)
        if lock is None:
            with self._guard:
                lock = self._sync_locks.setdefault(key, allocate_lock())
        return lock

    def async_lock(self, key: Hashable) -> asyncio.Lock:
        import asyncio

        loop = asyncio.get_running_loop()
        with self._guard:
            if self._async_locks is None:
                import weakref

                self._async_locks = weakref.WeakKeyDictionary()
            locks = self._async_locks.get(loop)
            if locks is None:
                locks = self._async_locks[loop] = {}
            lock = locks.get(key)
            if lock is None:
                lock = locks[key] = asyncio.Lock()
        return lock
