"""The persistent cache's encryption: AES-256-GCM with a key kept in the operating system's secret store.

Cipher: AES-256-GCM (``cryptography``). An encrypted cache file is ``MAGIC || nonce(12) ||
ciphertext+tag`` with ``MAGIC || file name`` as associated data (a CAE file can't pass for a
non-CAE one); ``file_format.py`` frames and unframes it.

Key: 32 random bytes kept in the operating system's secret store through ``keyring`` (service
``azidentity``, user = the cache name; Secret Service on Linux, Keychain on macOS, Credential
Locker on Windows; only Linux is tested). It is read or created once per process with a round
trip (a created key is read back, under the cache's file lock so two processes never create two;
the cipher encrypts and decrypts a probe). When that fails, ``cipher_for`` raises
``Unavailable`` saying why in the user's terms, and ``store.open_store`` turns it into
``CredentialUnavailableError`` -- or into unencrypted storage, if the options allow it. The
outcome is remembered for the process (a secret store that failed once is not asked again).

This module imports ``keyring`` and ``cryptography`` only when a store is opened.
"""

from __future__ import annotations

import os
import sys

from .. import log
from .._lazy import TYPE_CHECKING
from .file_lock import LockTimeout

if TYPE_CHECKING:
    from .file_lock import FileLock

SERVICE = "azidentity"
MAGIC = b"AZIDENTITY-CACHE/1 AES-256-GCM\n"
_NONCE = 12
_TAG = 16


class Unavailable(Exception):
    """Why encryption (or the directory) can't be used; becomes CredentialUnavailableError."""

    def __init__(self, cause: str, mitigation_key: str = "cache-unavailable") -> None:
        super().__init__(cause)
        self.cause = cause
        self.mitigation_key = mitigation_key


class Cipher:
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


def describe(error: BaseException) -> str:
    """``Type: message (Cause: message)`` on one line (also for ``write_queue.py``'s WARNINGs)."""
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
        return base + f": can't connect to the D-Bus session bus: {describe(error)}"
    try:
        if not secretstorage.check_service_availability(connection):
            return base + ": no Secret Service on the D-Bus session bus (is gnome-keyring-daemon running?)"
    except Exception as error:
        return base + f": the D-Bus session bus didn't answer: {describe(error)}"
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


def _load_key(name: str, lock: FileLock) -> bytes:
    """The cache's key from the secret store, created if absent (under the cache lock, read back)."""
    try:
        import keyring
    except ImportError as error:
        raise Unavailable(
            f"the keyring package isn't installed ({error}); "
            "install it with: pip install 'azidentity[cache]'",
            "cache-keyring-missing",
        ) from error
    try:
        backend = keyring.get_keyring()
    except Exception as error:
        raise Unavailable(f"keyring failed to start: {describe(error)}") from error
    module = type(backend).__module__
    if module in ("keyring.backends.fail", "keyring.backends.null"):
        raise Unavailable(_no_backend_cause(backend))
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
                        raise Unavailable(f"the secret store ({where}) did not keep the key it was given")
                    log.emit(
                        log.EVENT_AUTHENTICATION,
                        log.INFO,
                        "Created the persistent token cache key for %r in the secret store (%s)",
                        name,
                        where,
                    )
    except Unavailable:
        raise
    except LockTimeout as error:
        raise Unavailable(f"timed out waiting for the cache lock {error}") from error
    except Exception as error:  # keyring, secretstorage, jeepney and D-Bus errors alike
        raise Unavailable(f"the secret store ({where}) failed: {describe(error)}") from error
    key = _decode_key(value) if isinstance(value, str) else None
    if key is None:
        raise Unavailable(
            f"the secret store ({where}) holds an entry for service {SERVICE!r}, user {name!r} that isn't an "
            f"azidentity cache key; delete it (keyring del {SERVICE} {name}) and try again"
        )
    return key


def _self_test(cipher: Cipher) -> None:
    probe = os.urandom(16)
    if cipher.decrypt(cipher.encrypt(probe, b"self-test"), b"self-test") != probe:
        raise Unavailable("the encryption self-test failed")


# -- once per process --------------------------------------------------------------------------------
_ciphers: dict[str, Cipher | Unavailable] = {}  # by cache name: the secret store is asked once per process


def cipher_for(name: str, lock: FileLock) -> Cipher:
    """The cipher of the cache ``name``. Callers serialise calls (``store.open_store`` holds its guard)."""
    outcome = _ciphers.get(name)
    if outcome is None:
        try:
            cipher = Cipher(_load_key(name, lock))
            _self_test(cipher)
            outcome = cipher
        except Unavailable as problem:
            outcome = problem
        _ciphers[name] = outcome
    if isinstance(outcome, Unavailable):
        raise Unavailable(outcome.cause, outcome.mitigation_key)  # a fresh exception: no growing traceback
    return outcome


def _reset() -> None:
    """Forget the secret store's answers (``store._reset``, which holds the store's guard)."""
    _ciphers.clear()
