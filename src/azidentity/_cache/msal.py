"""Where MSAL's shared token cache lives, and reading it without ever writing, locking or prompting.

azidentity reads MSAL's caches (SharedTokenCacheCredential, VisualStudioCodeCredential, and user
credentials migrating from azure-identity) and never writes them: another tool's cache can't be
corrupted by a program that doesn't write it. Stores, as msal-extensions keeps them for a cache
named ``N`` (``msal.cache.nocae``, ``my-app.cae``, ...):

* Linux: a Secret Service item (libsecret schema ``N``, i.e. attribute ``xdg:schema=N``, plus
  ``MsalClientID=Microsoft.Developer.IdentityService``, label ``MSALCache``), with
  ``~/.IdentityService/N`` as the file whose modification time tells other processes it changed.
  Where encryption was impossible and unencrypted storage was allowed, that file holds the cache
  itself in plain text (JSON). The Secret Service is spoken to over D-Bus with ``jeepney`` (installed
  with ``azidentity[cache]``), with a time limit on every call, and a locked item is reported, never
  unlocked: no prompt can appear.
* macOS (untested): Keychain generic password, service ``Microsoft.Developer.IdentityService``,
  account ``MSALCache`` for ``msal.cache.nocae``, else ``N``; read with ``/usr/bin/security`` under
  a timeout (a Keychain prompt can't block us past it). ``~/.IdentityService/N`` is the marker file.
* Windows (untested): ``%LOCALAPPDATA%\\.IdentityService\\N``, encrypted with DPAPI for the current
  user (no entropy), decrypted with ``CryptUnprotectData`` and ``CRYPTPROTECT_UI_FORBIDDEN``.

A cache whose file doesn't exist is absent: nothing else is looked at (and ``jeepney`` isn't even
imported), which keeps DefaultAzureCredential's cold path free. Files are opened non-blocking
and must be regular files of at most 16 MiB (a FIFO planted there can't hang the read).
"""

from __future__ import annotations

import os
import sys

from .._lazy import TYPE_CHECKING
from .._protocol.msal_cache import (
    DEFAULT_NAME,
    KEYCHAIN_DEFAULT_ACCOUNT,
    KEYCHAIN_SERVICE,
    MAX_CACHE_SIZE,
    SECRET_ATTRIBUTE,
    Snapshot,
)

if TYPE_CHECKING:
    from typing import Any

    from .._protocol.msal_cache import ReadMsalCache


class FileProblem(Exception):
    """A file that exists but can't be read as it should; the message says why (no path prefix)."""


def read_regular_file(path: str, limit: int) -> bytes | None:
    """The content of a regular file of at most ``limit`` bytes; None when it doesn't exist.

    Opened with O_NONBLOCK (a FIFO under that name would otherwise wait forever for a writer).
    Raises :class:`FileProblem` for anything else: not a regular file, too large, unreadable.
    """
    import stat

    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None
    except PermissionError:
        raise FileProblem("permission denied") from None
    except OSError as error:
        raise FileProblem(error.strerror or str(error)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileProblem("it is not a regular file")
        if info.st_size > limit:
            raise FileProblem(f"it is larger than {limit} bytes ({info.st_size} bytes)")
        chunks = []
        size = 0
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise FileProblem(f"it is larger than {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as error:
        raise FileProblem(error.strerror or str(error)) from None
    finally:
        os.close(fd)


def identity_service_directory() -> str:
    """``~/.IdentityService`` (``%LOCALAPPDATA%\\.IdentityService`` on Windows)."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.join(os.path.expanduser("~"), "AppData", "Local")
        return os.path.join(base, ".IdentityService")
    return os.path.join(os.path.expanduser("~"), ".IdentityService")


def cache_file(name: str) -> str:
    return os.path.join(identity_service_directory(), name)


def _display(path: str) -> str:
    home = os.path.expanduser("~")
    return "~" + path[len(home) :] if home not in ("", "~", "/") and path.startswith(home + os.sep) else path


def _decode(data: bytes, where: str) -> Snapshot | str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return Snapshot(
            "problem",
            [where],
            problem=f"the cache {where} can't be read: it isn't UTF-8 text (not MSAL's token cache)",
            mitigation_key="shared-cache-unreadable",
        )


class MsalCacheReader:
    """Performs :class:`~azidentity._protocol.msal_cache.ReadMsalCache` effects (one read each)."""

    def perform_sync(self, effect: ReadMsalCache) -> Snapshot:
        try:
            return read(effect.name, effect.allow_plaintext, effect.timeout)
        except Exception as error:  # a bug or an exotic OS error must not escape as a raw traceback
            return Snapshot(
                "problem",
                [cache_file(effect.name)],
                problem=f"reading the cache failed unexpectedly: {type(error).__name__}: {error}",
                mitigation_key="shared-cache-unreadable",
            )

    async def perform_async(self, effect: ReadMsalCache) -> Snapshot:
        import asyncio

        # D-Bus and file reads block: in a worker thread, never on the event loop (every wait is bounded).
        return await asyncio.to_thread(self.perform_sync, effect)

    def __repr__(self) -> str:
        return "MsalCacheReader()"


READER = MsalCacheReader()


def read(name: str, allow_plaintext: bool, timeout: float) -> Snapshot:
    """One read of the cache ``name`` from this platform's store."""
    if sys.platform == "win32":  # pragma: no cover - untested, as the README says
        return _read_windows(name)
    if sys.platform == "darwin":  # pragma: no cover - untested
        return _read_macos(name, allow_plaintext, timeout)
    if sys.platform.startswith("linux"):
        return _read_linux(name, allow_plaintext, timeout)
    return Snapshot(  # pragma: no cover - other platforms
        "problem",
        [f"{sys.platform}: no known store"],
        problem="Shared token cache is not supported on this platform.",
        mitigation_key="shared-cache-unsupported",
    )


def _read_marker(name: str) -> tuple[str, bytes | None, Snapshot | None]:
    path = cache_file(name)
    where = _display(path)
    try:
        return where, read_regular_file(path, MAX_CACHE_SIZE), None
    except FileProblem as problem:
        return (
            where,
            None,
            Snapshot(
                "problem",
                [where],
                problem=f"the cache file {where} can't be read: {problem}",
                mitigation_key="shared-cache-unreadable",
            ),
        )


def _lock_held(name: str) -> bool:
    return os.path.exists(cache_file(name) + ".lockfile")


_NOT_ALLOWED = "cache_persistence_options doesn't set allow_unencrypted_storage=True"


def _being_written(name: str, locked_before: bool, data: bytes) -> bool:
    """Whether a writer may have been at work while the file was read: MSAL's lock file existed before
    or after the read, or the file's size changed since (a writer that finished in between)."""
    if locked_before or _lock_held(name):
        return True
    try:
        return os.stat(cache_file(name)).st_size != len(data)
    except OSError:
        return True


def _read_linux(name: str, allow_plaintext: bool, timeout: float) -> Snapshot:
    locked_before = _lock_held(name)
    where, data, problem = _read_marker(name)
    if problem is not None:
        return problem
    if data is None:
        return Snapshot("absent", [f"{where} (not found)"])
    busy = _being_written(name, locked_before, data)
    plaintext = bool(data.strip())
    item = secret_service_lookup(name, timeout)
    if isinstance(item, tuple):  # the encrypted cache (the file is then only a change marker)
        text = _decode(item[1], item[0])
        if isinstance(text, Snapshot):
            return text
        return Snapshot("found", [f"{where} (change marker)", item[0]], text=text, encrypted=True)
    secret_where = item.where if isinstance(item, Snapshot) else (f"{_secret_where(name)} (not found)",)
    if isinstance(item, Snapshot) and not plaintext and busy:
        # Being written (MSAL holds the lock while it writes either store): the caller reads again.
        return Snapshot(
            "found",
            [f"{where} (empty, being written)", *secret_where],
            text="",
            busy=True,
            problem=item.problem,
            mitigation_key=item.mitigation_key,
        )
    if isinstance(item, Snapshot) and not (
        plaintext and allow_plaintext and item.mitigation_key != "shared-cache-locked"
    ):
        # The Secret Service can't be asked (or the item is locked): whatever the file says, the
        # encrypted cache may be there. A plaintext file, when allowed, is read below instead.
        why = item.problem or ""
        if plaintext and not allow_plaintext:
            why += f". {where} holds an unencrypted cache, not read: {_NOT_ALLOWED}"
        return Snapshot(
            "problem",
            [f"{where} ({'not empty' if plaintext else 'empty'})", *secret_where],
            problem=why,
            mitigation_key=item.mitigation_key,
        )
    if not plaintext:
        if busy:  # MSAL truncated the file and is writing it: the caller reads again
            return Snapshot("found", [f"{where} (empty, being written)"], text="", busy=True)
        return Snapshot("absent", [f"{where} (empty)", *secret_where])
    if not allow_plaintext:
        return Snapshot(
            "absent",
            [
                f"{where} (an unencrypted cache, not read: {_NOT_ALLOWED})",
                *secret_where,
            ],
        )
    text = _decode(data, where)
    if isinstance(text, Snapshot):
        return text
    return Snapshot("found", [f"{where} (unencrypted cache)"], text=text, busy=busy)


# -- the Secret Service (Linux) ----------------------------------------------------------------------------
_SECRETS = "org.freedesktop.secrets"
_SERVICE_PATH = "/org/freedesktop/secrets"
_SERVICE_IFACE = "org.freedesktop.Secret.Service"


def _secret_where(name: str) -> str:
    return f"Secret Service item (schema {name!r}, {SECRET_ATTRIBUTE[0]}={SECRET_ATTRIBUTE[1]})"


def _secret_problem(where: str, problem: str, key: str = "shared-cache-secret-store") -> Snapshot:
    return Snapshot("problem", [where], problem=problem, mitigation_key=key)


def secret_service_lookup(name: str, timeout: float) -> tuple[str, bytes] | Snapshot | None:
    """The Secret Service item of cache ``name``: ``(where, secret)``, None when there is none, or a
    problem :class:`Snapshot` (no session bus, no Secret Service, locked, timed out).

    Uses the "plain" session algorithm (the secret crosses the user's own session bus unencrypted,
    as the Secret Service specification allows) and never calls Unlock: a locked item is reported.
    """
    where = _secret_where(name)
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return _secret_problem(
            where,
            "the cache is kept in the Secret Service, and there is no D-Bus session here "
            "(DBUS_SESSION_BUS_ADDRESS is not set), so the Secret Service can't be reached",
        )
    try:
        from jeepney import DBusAddress, DBusErrorResponse, new_method_call
        from jeepney.io.blocking import open_dbus_connection
        from jeepney.wrappers import unwrap_msg
    except ImportError:
        return _secret_problem(
            where,
            "the cache is kept in the Secret Service, and reading it needs the jeepney package "
            "(pip install 'azidentity[cache]')",
            "shared-cache-jeepney-missing",
        )
    service = DBusAddress(_SERVICE_PATH, bus_name=_SECRETS, interface=_SERVICE_IFACE)
    try:
        connection = open_dbus_connection(bus="SESSION", auth_timeout=timeout)
    except TimeoutError:
        return _secret_problem(where, f"the D-Bus session bus didn't answer within {timeout:g} s")
    except Exception as error:
        return _secret_problem(
            where, f"can't connect to the D-Bus session bus: {type(error).__name__}: {error}"
        )

    def call(method: str, signature: str, *args: Any) -> Any:
        message = new_method_call(service, method, signature, args)
        return unwrap_msg(connection.send_and_get_reply(message, timeout=timeout))

    session = None
    try:
        _, session = call("OpenSession", "sv", "plain", ("s", ""))
        attributes = {"xdg:schema": name, SECRET_ATTRIBUTE[0]: SECRET_ATTRIBUTE[1]}
        unlocked, locked = call("SearchItems", "a{ss}", attributes)
        if not unlocked:
            if locked:
                return _secret_problem(
                    where,
                    "the cache's Secret Service item is in a locked keyring; "
                    "azidentity never asks to unlock it (that could show a prompt)",
                    "shared-cache-locked",
                )
            return None
        secrets = call("GetSecrets", "aoo", list(unlocked), session)[0]
        # Several items with the same attributes: MSAL replaces its one item; take the newest anyway.
        best: tuple[int, bytes] | None = None
        for path, (_, _, value, _) in secrets.items():
            modified = _modified(connection, path, timeout)
            if best is None or modified > best[0]:
                best = (modified, bytes(value))
        return None if best is None else (where, best[1])
    except TimeoutError:
        return _secret_problem(where, f"the Secret Service didn't answer within {timeout:g} s")
    except DBusErrorResponse as error:
        if error.name in (
            "org.freedesktop.DBus.Error.ServiceUnknown",
            "org.freedesktop.DBus.Error.NameHasNoOwner",
        ):
            return _secret_problem(
                where,
                "the cache is kept in the Secret Service, "
                "and no Secret Service runs on the D-Bus session bus (is gnome-keyring-daemon running?)",
            )
        return _secret_problem(where, f"the Secret Service answered an error: {error.name}")
    except Exception as error:
        return _secret_problem(where, f"the Secret Service failed: {type(error).__name__}: {error}")
    finally:
        if session is not None:
            try:
                session_address = DBusAddress(
                    session, bus_name=_SECRETS, interface="org.freedesktop.Secret.Session"
                )
                connection.send(new_method_call(session_address, "Close"))
            except Exception:
                pass
        connection.close()


def _modified(connection: Any, path: str, timeout: float) -> int:
    from jeepney import DBusAddress, Properties
    from jeepney.wrappers import unwrap_msg

    try:
        item = DBusAddress(path, bus_name=_SECRETS, interface="org.freedesktop.Secret.Item")
        value = unwrap_msg(connection.send_and_get_reply(Properties(item).get("Modified"), timeout=timeout))[
            0
        ][1]
        return value if isinstance(value, int) else 0
    except Exception:
        return 0


# -- macOS and Windows (untested) ----------------------------------------------------------------------------
def _read_macos(name: str, allow_plaintext: bool, timeout: float) -> Snapshot:  # pragma: no cover
    import subprocess

    where, data, problem = _read_marker(name)
    if problem is not None:
        return problem
    if data is None:
        return Snapshot("absent", [f"{where} (not found)"])
    account = KEYCHAIN_DEFAULT_ACCOUNT if name == f"{DEFAULT_NAME}.nocae" else name
    keychain = f"Keychain item (service {KEYCHAIN_SERVICE}, account {account})"
    try:
        done = subprocess.run(
            ["/usr/bin/security", "find-generic-password", "-s", KEYCHAIN_SERVICE, "-a", account, "-w"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return _secret_problem(
            keychain, f"the Keychain didn't answer within {timeout:g} s (a prompt may be waiting)"
        )
    except OSError as error:
        return _secret_problem(keychain, f"can't run /usr/bin/security: {error.strerror or error}")
    if done.returncode == 44:  # errSecItemNotFound
        return Snapshot("absent", [where, f"{keychain} (not found)"])
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return _secret_problem(
            keychain, f"the Keychain refused: {message[-1] if message else done.returncode}"
        )
    text = _decode(done.stdout.rstrip(b"\n"), keychain)
    if isinstance(text, Snapshot):
        return text
    return Snapshot("found", [where, keychain], text=text, encrypted=True)


def _read_windows(name: str) -> Snapshot:  # pragma: no cover - untested
    path = cache_file(name)
    try:
        data = read_regular_file(path, MAX_CACHE_SIZE)
    except FileProblem as problem:
        return Snapshot(
            "problem",
            [path],
            problem=f"the cache file {path} can't be read: {problem}",
            mitigation_key="shared-cache-unreadable",
        )
    if data is None:
        return Snapshot("absent", [f"{path} (not found)"])
    if not data:
        return Snapshot("absent", [f"{path} (empty)"])
    try:
        plain = _dpapi_unprotect(data)
    except OSError as error:
        return Snapshot(
            "problem",
            [path],
            problem=f"DPAPI can't decrypt the cache file {path} (another user's, or damaged): {error}",
            mitigation_key="shared-cache-unreadable",
        )
    text = _decode(plain, path)
    if isinstance(text, Snapshot):
        return text
    return Snapshot("found", [f"{path} (DPAPI)"], text=text, encrypted=True)


if sys.platform == "win32":  # pragma: no cover - untested

    def _dpapi_unprotect(data: bytes) -> bytes:
        import ctypes
        from ctypes import wintypes

        class Blob(ctypes.Structure):
            _fields_ = [("cbData", wintypes.DWORD), ("pbData", ctypes.POINTER(ctypes.c_char))]

        buffer = ctypes.create_string_buffer(data, len(data))
        source = Blob(len(data), ctypes.cast(buffer, ctypes.POINTER(ctypes.c_char)))
        result = Blob()
        ui_forbidden = 0x01
        if not ctypes.windll.crypt32.CryptUnprotectData(
            ctypes.byref(source), None, None, None, None, ui_forbidden, ctypes.byref(result)
        ):
            raise ctypes.WinError()
        try:
            return ctypes.string_at(result.pbData, result.cbData)
        finally:
            ctypes.windll.kernel32.LocalFree(result.pbData)

else:

    def _dpapi_unprotect(data: bytes) -> bytes:
        raise OSError("DPAPI exists only on Windows")
