"""Single flight covers failures: callers queued behind a failing attempt get its error, not a turn of
their own.

N callers ask for the same token while the token endpoint is failing: one request goes out, and every
caller that was waiting for it is answered with its outcome (azure-identity's callers all fail after one
failure's time; before this, each waiter retried in turn: N failures one after another). A caller that
arrives after the failure tries again.

The emulator holds the one request (a fault whose ``match`` predicate blocks) until every other caller is
waiting for it. "Waiting" is read from the callers' own frames (a thread blocked on the single-flight
lock has ``_acquire`` as its innermost Python frame; a task awaits the lock inside ``_acquire``): that is
a synchronisation aid, so the test needs no timing; the evidence is the emulator's request count and the
errors the callers got.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from typing import Any

import azidentity
import azidentity.aio
from azidentity import AuthenticationFailedError

SCOPE = "https://vault.azure.net/.default"
CALLERS = 8
WAIT = 30.0  # bound on every wait in this file: a correctness bound, never reached when the code is right
FAILURE = {
    "error": "invalid_client",
    "error_description": "AADSTS7000215: Invalid client secret provided.",
    "error_codes": [7000215],
}


def _gate(emulator: Any) -> tuple[threading.Event, threading.Event]:
    arrived, release = threading.Event(), threading.Event()

    def hold(request: Any) -> bool:
        arrived.set()
        release.wait(WAIT)
        return True

    emulator.faults.add("token", status=401, body=FAILURE, match=hold, times=1)
    return arrived, release


def _until(condition: Any) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "callers never queued"
        time.sleep(0.005)


def _credential(module: Any, emulator: Any) -> Any:
    app = emulator.apps["secret"]
    return module.ClientSecretCredential(
        emulator.tenant_id,
        app.client_id,
        app.secret,
        authority=emulator.base_url,
        connection_verify=emulator.ca_bundle_path,
    )


def test_threads_behind_a_failing_attempt_share_its_error(emulator: Any) -> None:
    credential = _credential(azidentity, emulator)
    arrived, release = _gate(emulator)
    errors: list[BaseException | None] = [None] * CALLERS

    def call(index: int) -> None:
        try:
            credential.get_token(SCOPE)
        except BaseException as error:  # noqa: BLE001 - recorded for the assertions
            errors[index] = error

    threads = [threading.Thread(target=call, args=(i,), daemon=True) for i in range(CALLERS)]

    def queued() -> bool:
        frames = sys._current_frames()
        waiting = [t for t in threads if t.ident in frames and frames[t.ident].f_code.co_name == "_acquire"]
        return len(waiting) == CALLERS - 1

    with credential:
        for thread in threads:
            thread.start()
        assert arrived.wait(WAIT)
        _until(queued)
        release.set()
        for thread in threads:
            thread.join(WAIT)
        assert emulator.count("token") == 1
        assert all(
            isinstance(e, AuthenticationFailedError) and e.error_code == "AADSTS7000215" for e in errors
        )
        # Arriving after the failure: a new attempt (which the emulator now answers with a token).
        assert credential.get_token(SCOPE).token and emulator.count("token") == 2


async def test_tasks_behind_a_failing_attempt_share_its_error(emulator: Any) -> None:
    credential = _credential(azidentity.aio, emulator)
    arrived, release = _gate(emulator)
    tasks = [asyncio.create_task(credential.get_token(SCOPE)) for _ in range(CALLERS)]
    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(None, arrived.wait, WAIT)

    def awaiting_the_lock(task: asyncio.Task[Any]) -> bool:
        names, awaited = [], task.get_coro()
        while hasattr(awaited, "cr_code"):  # the chain of coroutines the task is suspended in
            names.append(awaited.cr_code.co_name)
            awaited = awaited.cr_await
        return "_acquire" in names and names[-1] == "acquire"  # asyncio.Lock.acquire

    deadline = time.monotonic() + WAIT
    while sum(awaiting_the_lock(t) for t in tasks) < CALLERS - 1:
        assert time.monotonic() < deadline, "tasks never queued"
        await asyncio.sleep(0.005)
    release.set()
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), WAIT)
    assert emulator.count("token") == 1
    assert all(isinstance(r, AuthenticationFailedError) and r.error_code == "AADSTS7000215" for r in results)
    assert (await credential.get_token(SCOPE)).token and emulator.count("token") == 2
    await credential.close()
