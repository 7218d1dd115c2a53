"""The lock that serialises the writers of one persistent cache, across processes and threads.

Readers never lock (the cache file is only ever replaced whole, ``store.py``); a writer holds an
advisory lock on ``<name>.lock`` in the cache directory (``flock``; ``msvcrt.locking`` on Windows,
untested) while it re-reads, changes and replaces the file, and ``encryption.py`` holds it while it
creates the cache's key, so two processes never create two keys. Waiting is bounded: after
``LOCK_TIMEOUT`` seconds the caller gets ``LockTimeout`` (a writer logs a WARNING and drops the
change; a token request never fails for it).

One ``FileLock`` per lock file per process (``lock_for``), whose thread lock also serialises
this process's threads. A forked child renews those thread locks: a thread of the parent that held
one at ``fork`` time does not exist in the child.
"""

from __future__ import annotations

import os
import sys
import threading
import time

LOCK_TIMEOUT = 10.0


class LockTimeout(Exception):
    pass


class FileLock:
    """An advisory lock on a file, also serialising the threads of this process.

    The lock file is opened anew for each acquisition: ``flock`` locks belong to an open file
    description, which a forked child would share with its parent if it were kept open.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.thread_lock = threading.Lock()

    def hold(self, timeout: float = LOCK_TIMEOUT) -> _Held:
        return _Held(self, timeout)


class _Held:
    def __init__(self, lock: FileLock, timeout: float) -> None:
        self._lock = lock
        self._timeout = timeout
        self._fd = -1

    def __enter__(self) -> None:
        deadline = time.monotonic() + self._timeout
        if not self._lock.thread_lock.acquire(timeout=self._timeout):
            raise LockTimeout(self._lock.path)
        try:
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOINHERIT", 0)
            self._fd = os.open(self._lock.path, flags, 0o600)
            try:
                _lock_fd(self._fd, deadline, self._lock.path)
            except BaseException:
                os.close(self._fd)
                raise
        except BaseException:
            self._lock.thread_lock.release()
            raise

    def __exit__(self, *args: object) -> None:
        try:
            _unlock_fd(self._fd)
        finally:
            os.close(self._fd)
            self._lock.thread_lock.release()


if sys.platform == "win32":  # pragma: no cover - untested, as decisions.md says
    import msvcrt

    def _lock_fd(fd: int, deadline: float, path: str) -> None:
        delay = 0.001
        while True:
            try:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                return
            except OSError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(path) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.02)

    def _unlock_fd(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock_fd(fd: int, deadline: float, path: str) -> None:
        delay = 0.0005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(path) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.01)

    def _unlock_fd(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


# -- one per lock file per process ---------------------------------------------------------------------
_locks: dict[str, FileLock] = {}


def lock_for(path: str) -> FileLock:
    """The process's lock for ``path``. Callers serialise calls (``store.open_store`` holds its guard)."""
    lock = _locks.get(path)
    if lock is None:
        lock = _locks[path] = FileLock(path)
    return lock


def _reset() -> None:
    """Forget the locks (``store._reset``, which holds the store's guard)."""
    _locks.clear()


def _after_fork_in_child() -> None:
    # A thread of the parent may have held one of these locks at fork time; the child has no such thread.
    for lock in _locks.values():
        lock.thread_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
