"""The persistent token cache: an encrypted file shared by the processes of one user.

Where: ``$XDG_CACHE_HOME/azidentity/`` (else ``~/.cache/azidentity/``; ``%LOCALAPPDATA%\\azidentity\\``
on Windows), a 0700 directory. One file per cache name and CAE flavour, as azure-identity keeps
CAE and non-CAE tokens apart: ``<name>.nocae.json.enc`` and ``<name>.cae.json.enc``, 0600.
Sections: ``access_tokens`` (``persistent.PersistentTokenCache``), ``refresh_tokens`` and
``accounts`` (the user sign-in credentials).

Encryption (``encryption.py``): when the key can't be kept in the secret store, :func:`open_store`
raises ``CredentialUnavailableError`` ("persistent storage isn't available due to error ...", row
``cache-unavailable``) -- unless the options allow unencrypted storage: then the file is
``<name>.<flavour>.json`` in plain JSON, 0600 in the 0700 directory, and a WARNING says so. Never a
silent plaintext fallback.

Processes: readers never lock (the file is only ever replaced whole); a writer holds the cache's
file lock (``file_lock.py``), re-reads the file, changes it and replaces it atomically (temporary
file in the same directory, fsync, ``os.replace``). A corrupt, foreign, oversized or undecryptable
file (``file_format.py``) is moved aside as ``<file>.corrupt-<UTC time>-<pid>`` with a WARNING and
the cache starts empty; I/O errors while writing are logged as WARNINGs and never fail a token
request. On an event loop's thread, changes go through a writer thread (``write_queue.py``).

Leftovers: temporary files of writers that died before renaming, and corrupt files moved aside
(kept for inspection), are removed by the next write once they are older than ``STALE_AFTER`` (a day).

When errors are raised: at credential construction. ``CredentialBase._new_cache`` builds a
``PersistentTokenCache``, which opens its stores, so a misconfigured machine is reported by
the constructor -- as ``CredentialUnavailableError``, which ``DefaultAzureCredential`` turns into an
unavailable member instead of failing its own construction.

Per process: one store per file (:func:`open_store`), one lock per lock file (``file_lock.py``), one
answer from the secret store per cache name (``encryption.py``); ``_reset`` forgets them all. A
forked child renews the locks and forgets its parent's write queues.
``keyring`` and ``cryptography`` are imported only when a store is opened.
"""

from __future__ import annotations

import os
import stat
import sys
import threading
import time

from .. import log
from .._lazy import TYPE_CHECKING
from . import encryption, file_lock
from .encryption import MAGIC, Unavailable, cipher_for
from .file_format import MAX_FILE_SIZE, Corrupt, decode, encode
from .file_lock import LOCK_TIMEOUT, LockTimeout, lock_for
from .write_queue import WriteQueue, on_event_loop

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .encryption import Cipher
    from .file_format import Entries, Sections
    from .file_lock import FileLock
    from .write_queue import Change

ACCESS_TOKENS = "access_tokens"
STALE_AFTER = 24 * 3600.0  # seconds before a leftover temporary or corrupt file is removed


# -- location ----------------------------------------------------------------------------------------
def cache_directory() -> str:
    """``$XDG_CACHE_HOME/azidentity`` or ``~/.cache/azidentity``
    (``%LOCALAPPDATA%\\azidentity`` on Windows)."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.join(os.path.expanduser("~"), "AppData", "Local")
    else:
        base = os.environ.get("XDG_CACHE_HOME", "")
        if not os.path.isabs(base):  # the XDG spec says relative values are ignored
            base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "azidentity")


def _ensure_directory() -> str:
    directory = cache_directory()
    if not os.path.isabs(directory):
        raise Unavailable(
            "no home directory to keep the cache in (set XDG_CACHE_HOME or HOME)", "cache-directory"
        )
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        if os.name == "posix":
            st = os.stat(directory)
            if st.st_uid != os.geteuid():
                raise Unavailable(
                    f"the cache directory {directory} belongs to another user", "cache-directory"
                )
            if st.st_mode & 0o077:
                os.chmod(directory, 0o700)
    except OSError as error:
        raise Unavailable(
            f"can't use the cache directory {directory}: {error.strerror or error}", "cache-directory"
        ) from error
    return directory


# -- the store ----------------------------------------------------------------------------------------
class PersistentStore(WriteQueue):
    """Sections of JSON objects in one file, safe for concurrent processes.

    ``get`` and ``items`` read the file without locking; ``put``, ``delete`` and ``update`` lock,
    re-read, change and atomically replace it -- on an event loop's thread, through the writer thread
    (``WriteQueue``). Nothing here raises for I/O trouble: reads see an empty cache,
    failed writes are logged as WARNINGs (the token in memory is still served).
    """

    # Tests replace it to age leftovers without waiting.
    clock: Callable[[], float] = staticmethod(time.time)

    def __init__(self, path: str, cipher: Cipher | None, lock: FileLock) -> None:
        self.path = path
        self.encrypted = cipher is not None
        self._cipher = cipher
        self._lock = lock
        self._directory = os.path.dirname(path)
        self._aad = MAGIC + os.path.basename(path).encode("utf-8")
        self._forget_queue()

    def __repr__(self) -> str:
        return f"<PersistentStore {self.path!r} encrypted={self.encrypted}>"

    # -- the contract --------------------------------------------------------------------------------
    def get(self, section: str, key: str) -> dict[str, Any] | None:
        return self._read().get(section, {}).get(key)

    def items(self, section: str) -> dict[str, dict[str, Any]]:
        return self._read().get(section, {})

    def put(self, section: str, key: str, value: dict[str, Any]) -> None:
        import json

        json.dumps(value)  # a value that can't be stored is the caller's bug: TypeError here, not later
        self.update(section, lambda entries: entries.__setitem__(key, value))

    def delete(self, section: str, key: str) -> None:
        self.update(section, lambda entries: entries.pop(key, None))

    def update(self, section: str, change: Callable[[Entries], object]) -> None:
        """Lock, re-read, let ``change`` edit the section's entries in place, write back.

        On an event loop's thread the change is queued for the writer thread instead; elsewhere it is
        saved before this returns (after any queued changes, which keep their order).
        """
        if on_event_loop():
            self._enqueue((section, change))
            return
        with self._queue_lock:
            queued = self._saved is not None
        if queued:
            self._enqueue((section, change)).result()
            return
        self._save([(section, change)])

    # -- saving ----------------------------------------------------------------------------------------
    def _save(self, changes: list[Change]) -> None:
        try:
            with self._lock.hold():
                sections = self._load(locked=True)
                for section, change in changes:
                    entries = sections.setdefault(section, {})
                    change(entries)
                    if not entries:
                        del sections[section]
                data = encode(sections, self._cipher, self._aad)
                if len(data) > MAX_FILE_SIZE:
                    self._warn(
                        "the persistent token cache %s would exceed %d bytes; the change was not saved",
                        self.path,
                        MAX_FILE_SIZE,
                    )
                    return
                self._write(data)
        except LockTimeout:
            self._warn(
                "timed out after %.0f s waiting for the lock on %s; the change was not saved "
                "(another process holds it)",
                LOCK_TIMEOUT,
                self._lock.path,
            )
        except OSError as error:
            self._warn("could not save the persistent token cache %s: %s", self.path, error)

    # -- reading ---------------------------------------------------------------------------------------
    def _read(self) -> Sections:
        sections = self._load()
        if self._saved is not None:  # (read without the lock: a stale answer only costs the overlay)
            sections = self._with_queued(sections)
        return sections

    def _load(self, locked: bool = False) -> Sections:
        try:
            with open(self.path, "rb") as f:
                data = f.read(MAX_FILE_SIZE + 1)
        except FileNotFoundError:
            return {}
        except OSError as error:
            self._warn("could not read the persistent token cache %s: %s", self.path, error)
            return {}
        if not data:
            return {}
        try:
            return decode(data, self._cipher, self._aad)
        except Corrupt as problem:
            if locked:
                self._move_aside(str(problem))
                return {}
        if on_event_loop():
            return {}  # never wait for the lock here: the next write (off the loop) moves it aside
        # A lock-free reader found a bad file: look again under the lock before moving it aside.
        try:
            with self._lock.hold():
                return self._load(locked=True)
        except (LockTimeout, OSError):
            return {}

    def _move_aside(self, reason: str) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target = f"{self.path}.corrupt-{stamp}-{os.getpid()}"
        try:
            os.replace(self.path, target)
        except OSError as error:
            self._warn(
                "the persistent token cache %s is unusable (%s) and could not be moved aside (%s); "
                "it will be overwritten",
                self.path,
                reason,
                error,
            )
            return
        self._warn(
            "the persistent token cache %s was unusable: %s. It was moved to %s and the cache starts empty",
            self.path,
            reason,
            target,
        )

    # -- writing ---------------------------------------------------------------------------------------
    def _write(self, data: bytes) -> None:
        import tempfile

        fd, temporary = tempfile.mkstemp(
            prefix=os.path.basename(self.path) + ".", suffix=".tmp", dir=self._directory
        )  # 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise
        # The directory is not fsynced: after a crash the rename may be lost, which loses an update of
        # a cache, never its consistency (the data was synced before the rename).
        self._sweep()

    def _sweep(self) -> None:
        """Remove this file's leftovers older than STALE_AFTER: ``<file>.<random>.tmp`` of a writer that
        died before renaming, ``<file>.corrupt-<time>-<pid>`` moved aside. Called under the lock."""
        prefix = os.path.basename(self.path) + "."
        cutoff = self.clock() - STALE_AFTER
        try:
            names = os.listdir(self._directory)
        except OSError:
            return
        for name in names:
            if not name.startswith(prefix):
                continue
            rest = name[len(prefix) :]
            if not (rest.endswith(".tmp") or rest.startswith("corrupt-")):
                continue
            path = os.path.join(self._directory, name)
            try:
                st = os.lstat(path)
                if stat.S_ISREG(st.st_mode) and st.st_mtime < cutoff:
                    os.unlink(path)
                    log.emit(log.EVENT_AUTHENTICATION, log.DEBUG, "removed the stale cache file %s", path)
            except OSError:
                pass


# -- opening ------------------------------------------------------------------------------------------
_guard = threading.Lock()
_stores: dict[str, PersistentStore] = {}
_plaintext_warned: set[str] = set()


def open_store(options: Any, *, cae: bool) -> PersistentStore:
    """The store for ``options`` (a ``TokenCachePersistenceOptions``), one per file per process.

    Raises ``CredentialUnavailableError`` (mitigation ``cache-unavailable``, or ``cache-keyring-missing``
    / ``cache-directory``) saying "persistent storage isn't available due to error ..." when the key
    can't be kept in the secret store and ``options.allow_unencrypted_storage`` is False.
    """
    from .options import check_name

    try:
        name = check_name(options.name)
        allow_unencrypted = bool(options.allow_unencrypted_storage)
    except AttributeError:
        raise TypeError(
            f"cache_persistence_options must be a TokenCachePersistenceOptions, got {type(options).__name__}"
        ) from None
    flavour = "cae" if cae else "nocae"
    with _guard:
        try:
            directory = _ensure_directory()
            lock = lock_for(os.path.join(directory, name + ".lock"))
            try:
                cipher: Cipher | None = cipher_for(name, lock)
                path = os.path.join(directory, f"{name}.{flavour}.json.enc")
            except Unavailable as problem:
                if not allow_unencrypted:
                    raise
                cipher = None
                path = os.path.join(directory, f"{name}.{flavour}.json")
                if lock.path not in _plaintext_warned:
                    _plaintext_warned.add(lock.path)
                    log.emit(
                        log.EVENT_AUTHENTICATION,
                        log.WARNING,
                        "The persistent token cache %r is stored UNENCRYPTED in %s "
                        "(%s.nocae.json and %s.cae.json, readable only by you) "
                        "because encryption isn't available: %s. "
                        "TokenCachePersistenceOptions(allow_unencrypted_storage=True) permits this.",
                        name,
                        directory,
                        name,
                        name,
                        problem.cause,
                    )
        except Unavailable as problem:
            from .._errors import CredentialUnavailableError

            raise CredentialUnavailableError(
                f'persistent storage isn\'t available due to error "{problem.cause}"',
                mitigation_key=problem.mitigation_key,
            ) from None
        store = _stores.get(path)
        if store is None:
            store = _stores[path] = PersistentStore(path, cipher, lock)
        return store


def _reset() -> None:
    """Forget opened stores and the secret store's answers (tests; a process that changed its environment)."""
    with _guard:
        _stores.clear()
        _plaintext_warned.clear()
        file_lock._reset()
        encryption._reset()


def _after_fork_in_child() -> None:
    # A thread of the parent may have held one of these locks at fork time; the child has no such thread.
    # (file_lock.py renews the file locks' thread locks itself.)
    global _guard
    _guard = threading.Lock()
    for store in _stores.values():
        store._forget_queue()  # the parent's writer thread and its queue stay the parent's


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
