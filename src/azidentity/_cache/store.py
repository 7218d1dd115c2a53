"""The persistent token cache: an encrypted file shared by the processes of one user.

Where: ``$XDG_CACHE_HOME/azidentity/`` (else ``~/.cache/azidentity/``; ``%LOCALAPPDATA%\\azidentity\\``
on Windows), a 0700 directory. One file per cache name and CAE flavour, as azure-identity keeps
CAE and non-CAE tokens apart: ``<name>.nocae.json.enc`` and ``<name>.cae.json.enc``, 0600.

Encryption: AES-256-GCM (``cryptography``). The file is ``MAGIC || nonce(12) || ciphertext+tag``
with ``MAGIC || file name`` as associated data (a CAE file can't pass for a non-CAE one). The key
is 32 random bytes kept in the operating system's secret store through ``keyring`` (service
``azidentity``, user = the cache name; Secret Service on Linux, Keychain on macOS, Credential
Locker on Windows; only Linux is tested). It is read or created once per process with a round
trip (a created key is read back; the cipher encrypts and decrypts a probe). When that fails,
:func:`open_store` raises ``CredentialUnavailableError`` ("persistent storage isn't available due
to error ...", row ``cache-unavailable``) -- unless the options allow unencrypted storage: then the
file is ``<name>.<flavour>.json`` in plain JSON, 0600 in the 0700 directory, and a WARNING says so.
Never a silent plaintext fallback.

Processes: readers never lock (the file is only ever replaced whole); a writer holds an advisory
lock on ``<name>.lock`` (``flock``; ``msvcrt.locking`` on Windows, untested), re-reads the file,
changes it and replaces it atomically (temporary file in the same directory, fsync, ``os.replace``).
A corrupt, foreign, oversized (> 16 MiB) or undecryptable file (its key was replaced) is moved
aside as ``<file>.corrupt-<UTC time>-<pid>`` with a WARNING and the cache starts empty; I/O errors
while writing are logged as WARNINGs and never fail a token request.

Document: ``{"format": "azidentity-cache", "version": 1, "sections": {section: {key: value}}}``
where values are JSON objects. Sections: ``access_tokens`` (``persistent.PersistentTokenCache``),
``refresh_tokens`` and ``accounts`` (the user sign-in credentials).

Event loops: blocking file I/O on a thread running an asyncio loop would stall every task on it (an
fsync, or up to ``LOCK_TIMEOUT`` seconds waiting for another process's lock). A change made there
(``put`` / ``delete`` / ``update``) is queued and saved by a writer thread, in order; reads on that
thread see queued changes at once, never wait for the lock, and ``saved()`` / ``wait_saved()`` wait
for the queue. The token cache reads the file off the loop too (``persistent.py``).

Leftovers: temporary files of writers that died before renaming, and corrupt files moved aside
(kept for inspection), are removed by the next write once they are older than ``STALE_AFTER`` (a day).

When errors are raised: at credential construction. ``CredentialBase._new_cache`` builds a
``PersistentTokenCache``, which opens its stores, so a misconfigured machine is reported by
the constructor -- as ``CredentialUnavailableError``, which ``DefaultAzureCredential`` turns into an
unavailable member instead of failing its own construction. The outcome of the key round trip is
remembered for the process (a secret store that failed once is not asked again).

This module imports ``keyring`` and ``cryptography`` only when a store is opened.
"""

from __future__ import annotations

import os
import stat
import sys
import threading
import time

from .. import log
from .._lazy import TYPE_CHECKING

if TYPE_CHECKING:
    import concurrent.futures
    from collections.abc import Callable
    from typing import Any

    Entries = dict[str, dict[str, Any]]
    Sections = dict[str, Entries]
    Change = tuple[str, Callable[[Entries], object]]

SERVICE = "azidentity"
ACCESS_TOKENS = "access_tokens"
MAX_FILE_SIZE = 16 * 1024 * 1024
LOCK_TIMEOUT = 10.0
STALE_AFTER = 24 * 3600.0  # seconds before a leftover temporary or corrupt file is removed
_FORMAT = "azidentity-cache"
_VERSION = 1
_MAGIC = b"AZIDENTITY-CACHE/1 AES-256-GCM\n"
_NONCE = 12
_TAG = 16


class _Unavailable(Exception):
    """Why encryption (or the directory) can't be used; becomes CredentialUnavailableError."""

    def __init__(self, cause: str, mitigation_key: str = "cache-unavailable") -> None:
        super().__init__(cause)
        self.cause = cause
        self.mitigation_key = mitigation_key


class _Corrupt(Exception):
    pass


class _LockTimeout(Exception):
    pass


def on_event_loop() -> bool:
    """True on a thread running an asyncio event loop, where blocking I/O stalls every task."""
    asyncio = sys.modules.get("asyncio")
    return asyncio is not None and asyncio._get_running_loop() is not None


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
        raise _Unavailable(
            "no home directory to keep the cache in (set XDG_CACHE_HOME or HOME)", "cache-directory"
        )
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        if os.name == "posix":
            st = os.stat(directory)
            if st.st_uid != os.geteuid():
                raise _Unavailable(
                    f"the cache directory {directory} belongs to another user", "cache-directory"
                )
            if st.st_mode & 0o077:
                os.chmod(directory, 0o700)
    except OSError as error:
        raise _Unavailable(
            f"can't use the cache directory {directory}: {error.strerror or error}", "cache-directory"
        ) from error
    return directory


# -- locking -----------------------------------------------------------------------------------------
class _FileLock:
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
    def __init__(self, lock: _FileLock, timeout: float) -> None:
        self._lock = lock
        self._timeout = timeout
        self._fd = -1

    def __enter__(self) -> None:
        deadline = time.monotonic() + self._timeout
        if not self._lock.thread_lock.acquire(timeout=self._timeout):
            raise _LockTimeout(self._lock.path)
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
                    raise _LockTimeout(path) from None
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
                    raise _LockTimeout(path) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.01)

    def _unlock_fd(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


# -- encryption and the secret store -------------------------------------------------------------------
class _Cipher:
    def __init__(self, key: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead = AESGCM(key)

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def decrypt(self, blob: bytes, aad: bytes) -> bytes:
        """Raises cryptography's ``InvalidTag`` when the key or the data is not the one written."""
        from cryptography.exceptions import InvalidTag

        if len(blob) < _NONCE + _TAG:
            raise InvalidTag()
        return self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], aad)


def _describe(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".rstrip(": ")
    cause = error.__cause__ or error.__context__
    if cause is not None and str(cause) and str(cause) not in text:
        text += f" ({type(cause).__name__}: {cause})"
    return text


def _no_backend_cause(backend: object) -> str:
    """keyring found nothing usable: say why, for the Secret Service, in the user's terms."""
    base = (
        f"keyring found no usable secret store (backend {type(backend).__module__}.{type(backend).__name__})"
    )
    if not sys.platform.startswith("linux"):
        return base
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return (
            base + ": DBUS_SESSION_BUS_ADDRESS is not set, so there is no D-Bus session and no Secret Service"
        )
    try:
        import secretstorage
    except ImportError:
        return base + ": the secretstorage package isn't installed (pip install 'azidentity[cache]')"
    try:
        connection = secretstorage.dbus_init()
    except Exception as error:
        return base + f": can't connect to the D-Bus session bus: {_describe(error)}"
    try:
        if not secretstorage.check_service_availability(connection):
            return base + ": no Secret Service on the D-Bus session bus (is gnome-keyring-daemon running?)"
    except Exception as error:
        return base + f": the D-Bus session bus didn't answer: {_describe(error)}"
    finally:
        try:
            connection.close()
        except Exception:
            pass
    return base


def _decode_key(value: str) -> bytes | None:
    import base64
    import binascii

    try:
        key = base64.b64decode(value.encode("ascii"), validate=True)
    except (ValueError, binascii.Error, UnicodeEncodeError):
        return None
    return key if len(key) == 32 else None


def _load_key(name: str, lock: _FileLock) -> bytes:
    """The cache's key from the secret store, created if absent (under the cache lock, read back)."""
    try:
        import keyring
    except ImportError as error:
        raise _Unavailable(
            f"the keyring package isn't installed ({error}); "
            "install it with: pip install 'azidentity[cache]'",
            "cache-keyring-missing",
        ) from error
    try:
        backend = keyring.get_keyring()
    except Exception as error:
        raise _Unavailable(f"keyring failed to start: {_describe(error)}") from error
    module = type(backend).__module__
    if module in ("keyring.backends.fail", "keyring.backends.null"):
        raise _Unavailable(_no_backend_cause(backend))
    where = f"{module}.{type(backend).__name__}"
    try:
        value = backend.get_password(SERVICE, name)
        if value is None:
            import base64

            with lock.hold():
                value = backend.get_password(SERVICE, name)
                if value is None:
                    backend.set_password(SERVICE, name, base64.b64encode(os.urandom(32)).decode("ascii"))
                    value = backend.get_password(SERVICE, name)
                    if value is None:
                        raise _Unavailable(f"the secret store ({where}) did not keep the key it was given")
                    log.emit(
                        log.EVENT_AUTHENTICATION,
                        log.INFO,
                        "Created the persistent token cache key for %r in the secret store (%s)",
                        name,
                        where,
                    )
    except _Unavailable:
        raise
    except _LockTimeout as error:
        raise _Unavailable(f"timed out waiting for the cache lock {error}") from error
    except Exception as error:  # keyring, secretstorage, jeepney and D-Bus errors alike
        raise _Unavailable(f"the secret store ({where}) failed: {_describe(error)}") from error
    key = _decode_key(value) if isinstance(value, str) else None
    if key is None:
        raise _Unavailable(
            f"the secret store ({where}) holds an entry for service {SERVICE!r}, user {name!r} that isn't an "
            f"azidentity cache key; delete it (keyring del {SERVICE} {name}) and try again"
        )
    return key


def _self_test(cipher: _Cipher) -> None:
    probe = os.urandom(16)
    if cipher.decrypt(cipher.encrypt(probe, b"self-test"), b"self-test") != probe:
        raise _Unavailable("the encryption self-test failed")


# -- the store ----------------------------------------------------------------------------------------
class PersistentStore:
    """Sections of JSON objects in one file, safe for concurrent processes.

    ``get`` and ``items`` read the file without locking; ``put``, ``delete`` and ``update`` lock,
    re-read, change and atomically replace it -- on an event loop's thread, through the writer thread
    (see the module's docstring). Nothing here raises for I/O trouble: reads see an empty cache,
    failed writes are logged as WARNINGs (the token in memory is still served).
    """

    # Tests replace it to age leftovers without waiting.
    clock: Callable[[], float] = staticmethod(time.time)

    def __init__(self, path: str, cipher: _Cipher | None, lock: _FileLock) -> None:
        self.path = path
        self.encrypted = cipher is not None
        self._cipher = cipher
        self._lock = lock
        self._directory = os.path.dirname(path)
        self._aad = _MAGIC + os.path.basename(path).encode("utf-8")
        self._forget_queue()

    def _forget_queue(self) -> None:
        self._queue_lock = threading.Lock()
        self._queued: list[Change] = []  # changes waiting for the writer thread, in order
        self._saving: list[Change] = []  # the batch it is saving now
        self._saved: concurrent.futures.Future[None] | None = None  # done when both are empty

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

    # -- the writer thread ----------------------------------------------------------------------------
    def saved_future(self) -> concurrent.futures.Future[None] | None:
        """Done once every change queued so far is saved (or failed with a WARNING); None: nothing queued."""
        with self._queue_lock:
            return self._saved

    def wait_saved(self) -> None:
        future = self.saved_future()
        if future is not None:
            future.result()

    async def saved(self) -> None:
        """``wait_saved`` for coroutines: the loop keeps running meanwhile."""
        future = self.saved_future()
        if future is not None:
            import asyncio

            # shield: a cancelled waiter must not cancel the future other waiters share
            await asyncio.shield(asyncio.wrap_future(future))

    def _enqueue(self, change: Change) -> concurrent.futures.Future[None]:
        with self._queue_lock:
            self._queued.append(change)
            if self._saved is None:
                import concurrent.futures

                self._saved = concurrent.futures.Future()
                # Not a daemon: the interpreter waits for queued changes before it exits.
                threading.Thread(target=self._drain, name="azidentity-cache-writer").start()
            return self._saved

    def _drain(self) -> None:
        while True:
            with self._queue_lock:
                batch, self._queued = self._queued, []
                self._saving = batch
                if not batch:
                    done, self._saved = self._saved, None
                    break
            try:
                self._save(batch)
            except Exception as error:  # a change's own bug: never leave waiters hanging
                self._warn("could not save the persistent token cache %s: %s", self.path, _describe(error))
            finally:
                with self._queue_lock:
                    self._saving = []
        if done is not None and not done.done():
            done.set_result(None)

    def _with_queued(self, sections: Sections) -> Sections:
        """The file's sections as they will be once the queued changes are saved."""
        with self._queue_lock:
            changes = self._saving + self._queued
        for section, change in changes:
            entries = sections.setdefault(section, {})
            change(entries)
            if not entries:
                del sections[section]
        return sections

    def _save(self, changes: list[Change]) -> None:
        try:
            with self._lock.hold():
                sections = self._load(locked=True)
                for section, change in changes:
                    entries = sections.setdefault(section, {})
                    change(entries)
                    if not entries:
                        del sections[section]
                data = self._encode(sections)
                if len(data) > MAX_FILE_SIZE:
                    self._warn(
                        "the persistent token cache %s would exceed %d bytes; the change was not saved",
                        self.path,
                        MAX_FILE_SIZE,
                    )
                    return
                self._write(data)
        except _LockTimeout:
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
            return self._decode(data)
        except _Corrupt as problem:
            if locked:
                self._move_aside(str(problem))
                return {}
        if on_event_loop():
            return {}  # never wait for the lock here: the next write (off the loop) moves it aside
        # A lock-free reader found a bad file: look again under the lock before moving it aside.
        try:
            with self._lock.hold():
                return self._load(locked=True)
        except (_LockTimeout, OSError):
            return {}

    def _decode(self, data: bytes) -> Sections:
        import json

        if len(data) > MAX_FILE_SIZE:
            raise _Corrupt(f"it is larger than {MAX_FILE_SIZE} bytes")
        if self._cipher is not None:
            if not data.startswith(_MAGIC):
                raise _Corrupt("it isn't an encrypted azidentity token cache")
            from cryptography.exceptions import InvalidTag

            try:
                data = self._cipher.decrypt(data[len(_MAGIC) :], self._aad)
            except InvalidTag:
                raise _Corrupt(
                    "it can't be decrypted with the key in the secret store (the key was replaced, "
                    "or the file was changed)"
                ) from None
        try:
            document = json.loads(data)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise _Corrupt("it isn't an azidentity token cache (not JSON)") from None
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            raise _Corrupt("it isn't an azidentity token cache")
        if document.get("version") != _VERSION:
            raise _Corrupt(f"it has an unknown format version {document.get('version')!r}")
        sections = document.get("sections")
        if not isinstance(sections, dict) or not all(
            isinstance(entries, dict) and all(isinstance(v, dict) for v in entries.values())
            for entries in sections.values()
        ):
            raise _Corrupt("its sections are malformed")
        return sections

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
    def _encode(self, sections: Sections) -> bytes:
        import json

        document = {"format": _FORMAT, "version": _VERSION, "sections": sections}
        plaintext = json.dumps(document, separators=(",", ":"), sort_keys=True).encode("utf-8")
        if self._cipher is None:
            return plaintext
        return _MAGIC + self._cipher.encrypt(plaintext, self._aad)

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

    @staticmethod
    def _warn(message: str, *args: object) -> None:
        log.emit(log.EVENT_AUTHENTICATION, log.WARNING, message, *args)


# -- opening ------------------------------------------------------------------------------------------
_guard = threading.Lock()
_stores: dict[str, PersistentStore] = {}
_locks: dict[str, _FileLock] = {}
_ciphers: dict[str, _Cipher | _Unavailable] = {}  # by cache name: the secret store is asked once per process
_plaintext_warned: set[str] = set()


def _file_lock(path: str) -> _FileLock:
    lock = _locks.get(path)
    if lock is None:
        lock = _locks[path] = _FileLock(path)
    return lock


def _cipher_for(name: str, lock: _FileLock) -> _Cipher:
    outcome = _ciphers.get(name)
    if outcome is None:
        try:
            cipher = _Cipher(_load_key(name, lock))
            _self_test(cipher)
            outcome = cipher
        except _Unavailable as problem:
            outcome = problem
        _ciphers[name] = outcome
    if isinstance(outcome, _Unavailable):
        raise _Unavailable(outcome.cause, outcome.mitigation_key)  # a fresh exception: no growing traceback
    return outcome


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
            lock = _file_lock(os.path.join(directory, name + ".lock"))
            try:
                cipher: _Cipher | None = _cipher_for(name, lock)
                path = os.path.join(directory, f"{name}.{flavour}.json.enc")
            except _Unavailable as problem:
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
        except _Unavailable as problem:
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
        _locks.clear()
        _ciphers.clear()
        _plaintext_warned.clear()


def _after_fork_in_child() -> None:
    # A thread of the parent may have held one of these locks at fork time; the child has no such thread.
    global _guard
    _guard = threading.Lock()
    for lock in _locks.values():
        lock.thread_lock = threading.Lock()
    for store in _stores.values():
        store._forget_queue()  # the parent's writer thread and its queue stay the parent's


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
