"""Load: 200 threads and 200 asyncio tasks over 20 scopes, with tokens expiring underneath.

An injected clock jumps one token lifetime ahead, PHASES times per round, so every cached token expires
while the callers hammer the credential. A phase lasts at least PHASE seconds and ends only once every
scope has been served a token of that phase: on a loaded machine a slow first fetch can't make a phase
pass unseen (a fixed 0.25 s phase did, under two busy CPU loops: one token for a scope in a round).
Checked: every refresh of a key is exactly one request (the emulator's request log, per scope, equals
the number of distinct tokens callers received for it), no
caller ever receives an expired token, no error, no deadlock (every join is bounded), and memory stays
flat from one round to the next (tracemalloc).
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
import tracemalloc
from typing import Any

import pytest

import azidentity
import azidentity.aio

SCOPES = [f"https://resource-{i}.example/.default" for i in range(20)]
MI_SCOPES = [f"https://resource-{i}.example" for i in range(20)]
THREADS = TASKS = 200
PHASE = 0.25  # seconds between clock jumps
PHASES = 4  # per round
LIFETIME = 3600  # the emulator's token lifetimes (expires_in): Entra ID's
MI_LIFETIME = 86400  # and managed identity's
JOIN = 30.0  # no join waits longer than this


class JumpingClock:
    """Real time plus a number of whole token lifetimes that grows while the test runs.

    ``served(scope, expires_on)``: a caller got a token; once every scope has one still valid at the
    current clock (i.e. fetched in this phase), the phase may end.
    """

    def __init__(self, scopes: list[str], lifetime: int = LIFETIME) -> None:
        self.base = time.time()
        self.jumps = 0
        self.step = lifetime + 1
        self._scopes = len(scopes)
        self._lock = threading.Lock()
        self._served: set[str] = set()
        self.all_served = threading.Event()

    def __call__(self) -> float:
        return self.base + self.jumps * self.step

    def served(self, scope: str, expires_on: float) -> None:
        with self._lock:
            if expires_on > self():
                self._served.add(scope)
                if len(self._served) == self._scopes:
                    self.all_served.set()

    def jump(self) -> None:
        with self._lock:
            self.jumps += 1
            self._served = set()
            self.all_served.clear()

    def run(self, stop: threading.Event) -> None:
        for _ in range(PHASES):
            if stop.wait(PHASE) or not self.all_served.wait(JOIN):
                return  # (a phase never served: the round's checks report it)
            self.jump()
        if not stop.wait(PHASE):  # the last phase runs as long as the others
            self.all_served.wait(JOIN)


def _requests_per_scope(emu: Any, route: str, field: str) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    for request in emu.requests:
        if request.route == route:
            counts[(request.form if route == "token" else request.query).get(field, "")] += 1
    return counts


def _check(
    emu: Any, route: str, field: str, received: dict[str, set[str]], errors: list[str], scopes: list[str]
) -> None:
    assert not errors, errors[:5]
    counts = _requests_per_scope(emu, route, field)
    for scope in scopes:
        key = scope
        assert received[scope], f"{scope}: no caller got a token"
        # One request per refresh: as many requests as distinct tokens handed out, never more.
        assert counts[key] == len(received[scope]), (scope, counts[key], len(received[scope]))
        assert len(received[scope]) >= 2  # tokens did expire and get refreshed underneath


def _sync_round(
    credential: Any, scopes: list[str], clock: JumpingClock
) -> tuple[dict[str, set[str]], list[str]]:
    received: dict[str, set[str]] = collections.defaultdict(set)
    errors: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def caller(index: int) -> None:
        i = index
        while not stop.is_set():
            scope = scopes[i % len(scopes)]
            i += 7
            before = clock()
            try:
                token = credential.get_token(scope)
            except Exception as error:  # noqa: BLE001 - collected and reported
                with lock:
                    errors.append(f"{type(error).__name__}: {error}")
                return
            if token.expires_on <= before:
                with lock:
                    errors.append(f"expired token served for {scope}: {token.expires_on} <= {before}")
                return
            with lock:
                received[scope].add(token.token)
            clock.served(scope, token.expires_on)

    ticker = threading.Thread(target=clock.run, args=(stop,), daemon=True)
    threads = [threading.Thread(target=caller, args=(n,), daemon=True) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    ticker.start()
    ticker.join((PHASES + 1) * (PHASE + JOIN))
    stop.set()
    deadline = time.monotonic() + JOIN
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0.1))
    alive = [t for t in threads if t.is_alive()]
    assert not alive, f"{len(alive)} threads still running: a deadlock"
    return received, errors


@pytest.mark.parametrize("target", ["entra", "imds"])
def test_threads(emulator: Any, target: str) -> None:
    if target == "entra":
        clock = JumpingClock(SCOPES)
        app = emulator.apps["secret"]
        credential = azidentity.ClientSecretCredential(
            emulator.tenant_id,
            app.client_id,
            app.secret,
            authority=emulator.base_url,
            connection_verify=emulator.ca_bundle_path,
            _clock=clock,
        )
        scopes, route, field = SCOPES, "token", "scope"
    else:
        clock = JumpingClock(MI_SCOPES, MI_LIFETIME)
        credential = azidentity.ManagedIdentityCredential(_env=emulator.env("imds"), _clock=clock)
        scopes, route, field = [s + "/.default" for s in MI_SCOPES], "imds", "resource"
    with credential:
        received, errors = _sync_round(credential, scopes, clock)
        if target == "entra":
            _check(emulator, route, field, received, errors, scopes)
        else:
            _check(
                emulator,
                route,
                field,
                {s[: -len("/.default")]: v for s, v in received.items()},
                errors,
                MI_SCOPES,
            )
        # A second round: memory stays flat (caches hold one entry per key, locks are per key).
        tracemalloc.start()
        try:
            before = tracemalloc.take_snapshot()
            emulator.reset()
            clock.jump()
            received, errors = _sync_round(credential, scopes, clock)
            assert not errors, errors[:5]
            after = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
    _assert_bounded_growth(before, after)


def _assert_bounded_growth(before: Any, after: Any) -> None:
    """azidentity's own allocations (the emulator's excluded) grew by less than 256 KiB over a round."""
    growth = sum(
        stat.size_diff
        for stat in after.compare_to(before, "filename")
        if "azidentity/" in (stat.traceback[0].filename if stat.traceback else "")
        and "/emulator/" not in stat.traceback[0].filename
    )
    assert growth < 256 * 1024, f"azidentity's memory grew by {growth} bytes over a round"


async def _async_round(credential: Any, clock: JumpingClock) -> tuple[dict[str, set[str]], list[str]]:
    received: dict[str, set[str]] = collections.defaultdict(set)
    errors: list[str] = []
    stop = asyncio.Event()

    async def caller(index: int) -> None:
        i = index
        while not stop.is_set():
            scope = SCOPES[i % len(SCOPES)]
            i += 7
            before = clock()
            try:
                token = await credential.get_token(scope)
            except Exception as error:  # noqa: BLE001
                errors.append(f"{type(error).__name__}: {error}")
                return
            if token.expires_on <= before:
                errors.append(f"expired token served for {scope}")
                return
            received[scope].add(token.token)
            clock.served(scope, token.expires_on)
            await asyncio.sleep(0)

    async def every_scope_served() -> None:
        # a threading.Event (the sync round shares the clock), waited for in a thread: the loop runs on
        assert await asyncio.to_thread(clock.all_served.wait, JOIN), "a phase in which no token was served"

    async def ticker() -> None:
        for _ in range(PHASES):
            await asyncio.sleep(PHASE)
            await every_scope_served()
            clock.jump()
        await asyncio.sleep(PHASE)
        await every_scope_served()
        stop.set()

    tasks = [asyncio.create_task(caller(n)) for n in range(TASKS)]
    try:
        await ticker()
    finally:
        stop.set()
    done, pending = await asyncio.wait(tasks, timeout=JOIN)
    assert not pending, f"{len(pending)} tasks still running: a deadlock"
    return received, errors


async def test_asyncio_tasks(emulator: Any) -> None:
    clock = JumpingClock(SCOPES)
    app = emulator.apps["secret"]
    async with azidentity.aio.ClientSecretCredential(
        emulator.tenant_id,
        app.client_id,
        app.secret,
        authority=emulator.base_url,
        connection_verify=emulator.ca_bundle_path,
        _clock=clock,
    ) as credential:
        received, errors = await _async_round(credential, clock)
        _check(emulator, "token", "scope", received, errors, SCOPES)
        tracemalloc.start()
        try:
            before = tracemalloc.take_snapshot()
            emulator.reset()
            clock.jump()
            received, errors = await _async_round(credential, clock)
            assert not errors, errors[:5]
            after = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
    _assert_bounded_growth(before, after)


def test_first_use_from_many_threads_builds_one_pipeline(emulator: Any) -> None:
    """Threads that all make a credential's first request at once share one pipeline: a pipeline built
    by a losing thread kept its connections where ``close()`` could not reach them (ResourceWarning
    for unclosed sockets once collected: pytest's unraisable-exception check fails the test)."""
    import gc

    app = emulator.apps["secret"]
    barrier = threading.Barrier(32)
    for _ in range(3):
        credential = azidentity.ClientSecretCredential(
            emulator.tenant_id,
            app.client_id,
            app.secret,
            authority=emulator.base_url,
            connection_verify=emulator.ca_bundle_path,
        )
        scopes = [f"https://first-use-{i}.example/.default" for i in range(32)]

        def first_use(scope: str, credential: Any = credential) -> None:
            barrier.wait(timeout=JOIN)
            credential.get_token(scope)

        threads = [threading.Thread(target=first_use, args=(scope,)) for scope in scopes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=JOIN)
        credential.close()
        del credential, first_use
        gc.collect()
