"""The persistent cache and asyncio: its file I/O (reads, fsync, waits of up to 10 s for another
process's lock) stays off the event loop (issue 12.8); stale leftovers are swept by the next write.

Against the same private Secret Service as test_persistence.py (persistence_testlib's fixtures).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import azidentity
import azidentity.aio
import persistence_testlib
from azidentity._cache import store as persistence
from persistence_testlib import SCOPE, SECTION, credential, options

# The Secret Service fixtures (pytest finds fixtures among a module's names).
secret_service = persistence_testlib.secret_service
cache_home = persistence_testlib.cache_home
keyring_on = persistence_testlib.keyring_on


class LockHolder:
    """Another process holding the cache's file lock until released."""

    CODE = (
        "import fcntl, os, sys\n"
        "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "print('locked', flush=True)\n"
        "sys.stdin.readline()\n"
    )

    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", self.CODE, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "locked"

    def release(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("\n")
        self.process.stdin.close()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


async def test_a_write_waiting_for_another_process_lock_doesnt_stall_the_loop(
    keyring_on: Path, emulator: Any
) -> None:
    persistence.open_store(
        options(), cae=False
    )  # creates the key (under the lock) before the holder takes it
    holder = LockHolder(keyring_on / "test.cache.lock")
    try:
        async with credential(emulator, module=azidentity.aio) as cred:
            task = asyncio.create_task(cred.get_token(SCOPE))
            ticks_after_the_token = 0
            for _ in range(4000):  # a bound, not a wait: ~20 s of 5 ms ticks
                await asyncio.sleep(0.005)
                assert not task.done(), "get_token finished while another process held the lock"
                if emulator.count("token"):
                    ticks_after_the_token += 1  # the loop runs while the token waits to be saved
                    if ticks_after_the_token == 20:
                        break
            assert ticks_after_the_token == 20
            holder.release()
            token = (await asyncio.wait_for(task, 30)).token
    finally:
        holder.stop()
    # saved once the lock was free: a new credential (sync, this process) reads it from the file
    with credential(emulator) as other:
        assert other.get_token(SCOPE).token == token
    assert emulator.count("token") == 1


async def test_the_file_is_read_and_written_off_the_loop_thread(
    keyring_on: Path, emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[tuple[str, threading.Thread]] = []
    load, write = persistence.PersistentStore._load, persistence.PersistentStore._write

    def recording_load(self: Any, *args: Any, **kwargs: Any) -> Any:
        threads.append(("read", threading.current_thread()))
        return load(self, *args, **kwargs)

    def recording_write(self: Any, *args: Any, **kwargs: Any) -> Any:
        threads.append(("write", threading.current_thread()))
        return write(self, *args, **kwargs)

    monkeypatch.setattr(persistence.PersistentStore, "_load", recording_load)
    monkeypatch.setattr(persistence.PersistentStore, "_write", recording_write)
    async with credential(emulator, module=azidentity.aio) as first:
        token = (await first.get_token(SCOPE)).token
    async with credential(emulator, module=azidentity.aio) as second:  # memory empty: from the file
        assert (await second.get_token(SCOPE)).token == token
    assert emulator.count("token") == 1
    kinds = {kind for kind, _ in threads}
    assert kinds == {"read", "write"}
    assert all(thread is not threading.current_thread() for _, thread in threads), threads


async def test_a_sync_credential_inside_a_coroutine_still_uses_the_file(
    keyring_on: Path, emulator: Any
) -> None:
    with credential(emulator) as first:
        token = first.get_token(SCOPE).token
    with credential(emulator) as second:  # a sync credential on the loop's thread
        assert second.get_token(SCOPE).token == token
        fresh = second.get_token(SCOPE, claims='{"access_token":{"nbf":{"essential":true}}}').token
    assert emulator.count("token") == 2
    persistence._reset()
    (value,) = persistence.open_store(options(), cae=False).items(SECTION).values()
    assert value["token"] == fresh  # its write was saved before get_token returned


async def test_changes_made_on_the_loop_are_queued_seen_at_once_and_saved_in_order(keyring_on: Path) -> None:
    store = persistence.open_store(options(), cae=False)
    store.put("section", "a", {"v": 1})
    store.put("section", "b", {"v": 1})
    store.put("section", "a", {"v": 2})
    store.delete("section", "b")
    assert store.items("section") == {"a": {"v": 2}}  # this process sees its queued changes
    await store.saved()
    assert store.saved_future() is None
    persistence._reset()
    again = persistence.open_store(options(), cae=False)  # a fresh store: only the file
    assert again.items("section") == {"a": {"v": 2}}


def test_stale_temporary_and_corrupt_files_are_removed_on_the_next_write(keyring_on: Path) -> None:
    store = persistence.open_store(options(), cae=False)
    store.put("section", "a", {"v": 1})
    directory = Path(store.path).parent
    base = Path(store.path).name
    two_days_ago = time.time() - 2 * 24 * 3600
    stale = [directory / f"{base}.k2j4h5.tmp", directory / f"{base}.corrupt-20260101T000000Z-4242"]
    kept = [
        directory / f"{base}.h3k9s1.tmp",  # a writer may be using it right now
        directory / f"{base}.corrupt-20261206T000000Z-4243",  # moved aside today: kept for inspection
        directory / "another.cache.nocae.json.enc.x8d7f6.tmp",  # another cache's
        directory / f"{base}.notes",  # not a leftover
    ]
    for path in stale + kept:
        path.write_bytes(b"left over")
    for path in [*stale, *kept[2:]]:
        os.utime(path, (two_days_ago, two_days_ago))
    old_directory = directory / f"{base}.d.tmp"
    old_directory.mkdir()  # not a regular file: never removed
    os.utime(old_directory, (two_days_ago, two_days_ago))
    store.put("section", "b", {"v": 1})
    assert [p for p in stale if p.exists()] == []
    assert all(p.exists() for p in [*kept, old_directory])
    # the clock is injectable: a day later, today's leftovers go too
    store.clock = lambda: time.time() + 2 * 24 * 3600
    store.put("section", "c", {"v": 1})
    assert not kept[0].exists() and not kept[1].exists()
    assert kept[2].exists() and kept[3].exists() and store.items("section").keys() == {"a", "b", "c"}
