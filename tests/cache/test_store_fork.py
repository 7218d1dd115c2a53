"""A forked child can use the persistent store while a thread of its parent held the store's locks.

The threads of the parent don't exist in the child, so a lock one of them held at ``fork`` time
would stay held there forever: the store's modules renew their process state after a fork
(``os.register_at_fork``). Run in a subprocess (a fork of the pytest process would copy its threads'
locks too); no secret store is asked: keyring's ``fail`` backend, unencrypted storage allowed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = r"""
import os, signal, sys, threading
from azidentity import TokenCachePersistenceOptions
from azidentity._cache import store

options = TokenCachePersistenceOptions(name="fork.cache", allow_unencrypted_storage=True)
opened = store.open_store(options, cae=False)
holding, release = threading.Event(), threading.Event()


def hold():
    # Every lock the store takes: opening, the file lock's thread lock, the writer queue's lock.
    with store._guard, opened._lock.thread_lock, opened._queue_lock:
        holding.set()
        release.wait()


thread = threading.Thread(target=hold)
thread.start()
holding.wait()
pid = os.fork()
if pid == 0:
    signal.alarm(30)  # a lock still held would block forever: die instead of lingering
    try:
        assert store.open_store(options, cae=False) is opened
        opened.put("section", "key", {"v": 1})
        assert opened.items("section") == {"key": {"v": 1}}  # saved, not lost to a lock timeout
    except BaseException as error:
        print(f"child: {type(error).__name__}: {error}", file=sys.stderr)
        os._exit(1)
    os._exit(0)
release.set()
thread.join()
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_forked_child_uses_the_store_despite_locks_held_by_a_parent_thread(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    env.update(
        HOME=str(tmp_path),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "cache" / "azidentity" / "fork.cache.nocae.json").exists()
