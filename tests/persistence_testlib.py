"""The persistent cache tests' Secret Service fixtures and helpers, shared by the tests in cache/.

``secret_service`` is a private D-Bus session bus with an unlocked GNOME Keyring (persistence_worker.py);
without dbus-daemon and gnome-keyring-daemon the tests using it are skipped, unless CI is set: then they
fail (decisions.md: `make test` may skip, CI never). ``cache_home`` gives a test its own HOME and
XDG_CACHE_HOME; ``keyring_on`` / ``keyring_off`` point keyring at the private service or at none.
Import the fixtures a module uses (pytest finds fixtures among a module's globals).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import azidentity
import persistence_worker
from azidentity import TokenCachePersistenceOptions
from azidentity._cache import store as persistence

SCOPE = "https://storage.azure.com/.default"
SECTION = persistence.ACCESS_TOKENS


@pytest.fixture(scope="session")
def secret_service(tmp_path_factory: pytest.TempPathFactory) -> Any:
    missing = persistence_worker.missing_binaries()
    try:
        import keyring  # noqa: F401
        import secretstorage  # noqa: F401
    except ImportError as error:
        missing.append(f"the Python package {error.name}")
    if missing:
        reason = (
            f"the Secret Service tests need {', '.join(missing)} (apt-get install gnome-keyring dbus-daemon)"
        )
        if os.environ.get("CI"):
            pytest.fail(reason + "; CI installs them and never skips these tests")
        pytest.skip(reason)
    service = persistence_worker.SecretService(tmp_path_factory.mktemp("secret-service"))
    yield service
    service.stop()


def _use_backend(backend_class: str) -> Any:
    """Make keyring use this backend in this process; returns what to restore.

    keyring detects its backends once per process (and a backend's viability check raises once the
    environment changed), so tests name the backend instead of asking keyring to detect it again.
    Subprocesses detect normally.
    """
    import importlib

    import keyring

    previous = keyring.get_keyring()
    module, _, name = backend_class.rpartition(".")
    keyring.set_keyring(getattr(importlib.import_module(module), name)())
    return previous


@pytest.fixture
def cache_home(tmp_path: Path) -> Any:
    """HOME and XDG_CACHE_HOME in tmp_path (never the real home); the store's process state reset."""
    with pytest.MonkeyPatch.context() as mp:
        for name, sub in (("HOME", "home"), ("XDG_CACHE_HOME", "cache"), ("XDG_CONFIG_HOME", "config")):
            (tmp_path / sub).mkdir()
            mp.setenv(name, str(tmp_path / sub))
        mp.delenv("PYTHON_KEYRING_BACKEND", raising=False)
        persistence._reset()
        yield mp, tmp_path / "cache" / "azidentity"
        persistence._reset()


@pytest.fixture
def keyring_on(secret_service: Any, cache_home: Any) -> Any:
    """The private Secret Service for this process (keyring re-detects its backend) and its subprocesses."""
    mp, directory = cache_home
    mp.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service.address)
    previous = _use_backend("keyring.backends.SecretService.Keyring")
    yield directory
    import keyring

    keyring.set_keyring(previous)


@pytest.fixture
def keyring_off(cache_home: Any, tmp_path: Path) -> Any:
    """No Secret Service: the session bus address names a socket nobody listens on."""
    mp, directory = cache_home
    mp.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus'}")
    previous = _use_backend("keyring.backends.fail.Keyring")
    yield directory
    import keyring

    keyring.set_keyring(previous)


def options(name: str = "test.cache", **kwargs: Any) -> TokenCachePersistenceOptions:
    return TokenCachePersistenceOptions(name=name, **kwargs)


def credential(
    emu: Any, name: str = "test.cache", module: Any = azidentity, app: str = "secret", **kwargs: Any
) -> Any:
    a = emu.apps[app]
    kwargs.setdefault("cache_persistence_options", options(name))
    return module.ClientSecretCredential(
        emu.tenant_id,
        a.client_id,
        a.secret,
        authority=emu.base_url,
        connection_verify=emu.ca_bundle_path,
        **kwargs,
    )
