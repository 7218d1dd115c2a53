"""Refresh timing with an injected clock, and single flight for threads and asyncio tasks."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import azidentity
import azidentity.aio
from azidentity import AuthenticationFailedError
from azidentity._cache.memory import TokenCache
from azidentity._token import make_token

SCOPE = "https://storage.azure.com/.default"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def make(flavor, emu, clock, **kwargs):
    return flavor.secret_credential(emu, _clock=clock, retry_total=0, **kwargs)


def test_refresh_timing(flavor, emulator):
    clock = Clock()
    start = clock.now
    credential = make(flavor, emulator, clock)
    first = flavor.get_token(credential, SCOPE)
    assert emulator.count("token") == 1
    lifetime = first.expires_on - start
    assert 3000 < lifetime <= 3600

    clock.now = first.expires_on - 301  # before the refresh point (5 minutes before expiry)
    assert flavor.get_token(credential, SCOPE).token == first.token
    assert emulator.count("token") == 1

    clock.now = first.expires_on - 299  # past it: exactly one refresh
    second = flavor.get_token(credential, SCOPE)
    assert emulator.count("token") == 2
    assert second.expires_on > first.expires_on

    # the endpoint now fails: a refresh attempt past the refresh point keeps the valid cached token
    emulator.faults.add("token", status=500, body={"error": "server_error"}, times=None)
    clock.now = second.expires_on - 200
    assert flavor.get_token(credential, SCOPE).token == second.token
    assert emulator.count("token") == 3
    # within 30 s of a failed attempt: no new request
    clock.now += 29
    assert flavor.get_token(credential, SCOPE).token == second.token
    assert emulator.count("token") == 3
    clock.now += 2
    assert flavor.get_token(credential, SCOPE).token == second.token
    assert emulator.count("token") == 4
    # expired: never served; the failure is raised
    clock.now = second.expires_on + 1
    with pytest.raises(AuthenticationFailedError):
        flavor.get_token(credential, SCOPE)
    assert emulator.count("token") == 5


def test_refresh_on_from_refresh_in_and_half_life():
    now = 1_000_000.0
    assert make_token("t", int(now + 3600), now).refresh_on is None
    assert make_token("t", int(now + 86400), now).refresh_on == int(now + 43200)
    assert make_token("t", int(now + 86400), now, refresh_in=600).refresh_on == int(now + 600)
    cache = TokenCache(lambda: now)
    entry = cache.store("k", make_token("t", int(now + 86400), now))
    assert entry.refresh_at == int(now + 43200)
    assert entry.info.refresh_on == int(now + 43200)


def test_sixty_four_threads_one_request(emulator):
    emulator.faults.add("token", delay=0.3)  # keep the first request in flight while the others arrive
    app = emulator.apps["secret"]
    credential = azidentity.ClientSecretCredential(
        emulator.tenant_id,
        app.client_id,
        app.secret,
        authority=emulator.base_url,
        connection_verify=emulator.ca_bundle_path,
    )
    barrier = threading.Barrier(64)
    tokens: list[str] = []

    def worker() -> None:
        barrier.wait(timeout=10)
        tokens.append(credential.get_token(SCOPE).token)

    with credential:
        threads = [threading.Thread(target=worker) for _ in range(64)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert len(tokens) == 64 and len(set(tokens)) == 1
    assert emulator.count("token") == 1


async def test_sixty_four_tasks_one_request(emulator):
    emulator.faults.add("token", delay=0.3)
    app = emulator.apps["secret"]
    async with azidentity.aio.ClientSecretCredential(
        emulator.tenant_id,
        app.client_id,
        app.secret,
        authority=emulator.base_url,
        connection_verify=emulator.ca_bundle_path,
    ) as credential:
        tokens = await asyncio.wait_for(asyncio.gather(*(credential.get_token(SCOPE) for _ in range(64))), 30)
    assert len({t.token for t in tokens}) == 1
    assert emulator.count("token") == 1


def test_different_scopes_do_not_wait_for_each_other(emulator):
    """A slow scope must not block another scope's acquisition (locks are per key)."""
    app = emulator.apps["secret"]
    credential = azidentity.ClientSecretCredential(
        emulator.tenant_id,
        app.client_id,
        app.secret,
        authority=emulator.base_url,
        connection_verify=emulator.ca_bundle_path,
        retry_total=0,
        read_timeout=2,
    )
    emulator.faults.add("token", hang=True, match=lambda r: "slow" in r.form.get("scope", ""))
    slow_done = threading.Event()

    def slow() -> None:
        try:
            credential.get_token("https://slow.example/.default")
        except Exception:
            pass
        slow_done.set()

    with credential:
        t = threading.Thread(target=slow, daemon=True)
        t.start()
        assert credential.get_token(SCOPE).token  # completes while the slow scope is still in flight
        assert not slow_done.is_set()
        assert slow_done.wait(10)  # the hung request ends at its read timeout
