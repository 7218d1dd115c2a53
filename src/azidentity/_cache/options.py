"""``TokenCachePersistenceOptions``: ask a credential to keep its tokens in the encrypted cache on disk.

Same signature as azure-identity's. The cache itself (where, how it is encrypted, how processes
share it) is ``store.py``; this module stays import-light because ``azidentity`` exports it.
"""

from __future__ import annotations

from .._lazy import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

DEFAULT_NAME = "msal.cache"
_MAX_NAME = 200


def check_name(name: object) -> str:
    """The cache name becomes part of file names: a plain file name, nothing that leaves the directory."""
    if not isinstance(name, str):
        raise TypeError(f"TokenCachePersistenceOptions name must be a string, got {type(name).__name__}")
    if (
        not name
        or name in (".", "..")
        or len(name) > _MAX_NAME
        or any(c in name for c in "/\\\0")
        or not name.isprintable()
    ):
        raise ValueError(
            f"TokenCachePersistenceOptions name {name!r} is not usable: it must be a file name of at most "
            f"{_MAX_NAME} printable characters without '/' or '\\' (for example 'msal.cache' or 'my-app')"
        )
    return name


class TokenCachePersistenceOptions:
    """Options for the persistent token cache.

    Give an instance to a credential's ``cache_persistence_options`` to keep its tokens between runs
    of a program and share them between its processes. Tokens are stored encrypted; the key is kept
    in the operating system's secret store (Secret Service on Linux, Keychain on macOS, Credential
    Locker on Windows) through the ``keyring`` package: ``pip install 'azidentity[cache]'``.

    :keyword str name: the cache's name; credentials with the same name share the cache. Default
        "msal.cache" (the file is azidentity's own, not azure-identity's).
    :keyword bool allow_unencrypted_storage: when the secret store can't be used, keep the cache in a
        plaintext file readable only by the current user (and log a WARNING) instead of raising
        :class:`~azidentity.CredentialUnavailableError`. Default False.
    """

    def __init__(
        self, *, allow_unencrypted_storage: bool = False, name: str = DEFAULT_NAME, **kwargs: Any
    ) -> None:
        # Unknown keywords are accepted and ignored, as azure-identity does.
        self.allow_unencrypted_storage = bool(allow_unencrypted_storage)
        self.name = check_name(name)

    def __repr__(self) -> str:
        return (
            f"TokenCachePersistenceOptions(name={self.name!r}, "
            f"allow_unencrypted_storage={self.allow_unencrypted_storage})"
        )
