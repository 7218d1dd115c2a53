"""The acceptance story: a tool signs its user in once, keeps the AuthenticationRecord, and a new
process gets tokens silently from the persistent cache: no prompt and no request to Entra ID until
the access token needs refreshing, then one silent refresh with the refresh token.

Run against a real Secret Service (GNOME Keyring on a private D-Bus, as in test_persistence.py;
skipped without it unless CI is set) and with ``allow_unencrypted_storage=True`` (runs everywhere).
This file is also the worker the tests start as the "next process" (``python THIS_FILE``).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

WORKER = Path(__file__)
SCOPE = "https://storage.azure.com/.default"


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- the worker (the next run of the developer's tool) ------------------------------------------------
def _worker(args: dict[str, Any]) -> dict[str, Any]:
    import asyncio
    import time

    import azidentity
    import azidentity.aio

    record = azidentity.AuthenticationRecord.deserialize(args["record"])
    options = azidentity.TokenCachePersistenceOptions(
        name=args["name"], allow_unencrypted_storage=args["allow_unencrypted"]
    )

    def no_browser(url: str) -> bool:
        raise AssertionError("the next process must not prompt")

    def make(module: Any) -> Any:
        return module.InteractiveBrowserCredential(
            authentication_record=record,
            cache_persistence_options=options,
            connection_verify=args["ca"],
            _open_browser=no_browser,
            _clock=lambda: time.time() + args["offset"],
        )

    with make(azidentity) as credential:
        sync_token = credential.get_token(args["scope"])

    async def get() -> Any:
        async with make(azidentity.aio) as credential:
            return await credential.get_token(args["scope"])

    async_token = asyncio.run(get())
    return {"sync": _sha(sync_token.token), "async": _sha(async_token.token)}


if __name__ == "__main__":
    print(json.dumps(_worker(json.loads(os.environ["INTERACTIVE_WORKER_ARGS"]))))
    sys.exit(0)


# -- the tests -------------------------------------------------------------------------------------------
import azidentity  # noqa: E402
import persistence_worker  # noqa: E402 - the worker above must not need the test helpers
from azidentity._cache import store as persistence  # noqa: E402
from interactive_testlib import Browser, kwargs_for, register_refresh_tokens  # noqa: E402


@pytest.fixture(scope="module")
def secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    missing = persistence_worker.missing_binaries()
    try:
        import secretstorage  # noqa: F401
    except ImportError:
        missing.append("the Python package secretstorage")
    if missing:
        reason = f"needs {', '.join(missing)} (apt-get install gnome-keyring dbus-daemon)"
        if os.environ.get("CI"):
            pytest.fail(reason + "; CI never skips the Secret Service tests")
        pytest.skip(reason)
    service = persistence_worker.SecretService(tmp_path_factory.mktemp("secret-service"))
    yield service
    service.stop()


@pytest.fixture(params=["secret-service", "unencrypted"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A private cache home, the secret store (or none), and the environment for the next process."""
    import importlib

    import keyring

    with pytest.MonkeyPatch.context() as mp:
        for name, sub in (("HOME", "home"), ("XDG_CACHE_HOME", "cache"), ("XDG_CONFIG_HOME", "config")):
            (tmp_path / sub).mkdir()
            mp.setenv(name, str(tmp_path / sub))
        if request.param == "secret-service":
            service = request.getfixturevalue("secret_service")
            mp.setenv("DBUS_SESSION_BUS_ADDRESS", service.address)
            mp.delenv("PYTHON_KEYRING_BACKEND", raising=False)
            backend = "keyring.backends.SecretService.Keyring"
        else:
            mp.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus'}")
            mp.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
            backend = "keyring.backends.fail.Keyring"
        previous = keyring.get_keyring()
        module, _, cls = backend.rpartition(".")
        keyring.set_keyring(getattr(importlib.import_module(module), cls)())
        persistence._reset()
        try:
            yield {
                "allow_unencrypted": request.param == "unencrypted",
                "env": dict(os.environ),
                "directory": tmp_path / "cache" / "azidentity",
                "encrypted": request.param == "secret-service",
            }
        finally:
            keyring.set_keyring(previous)
            persistence._reset()


def next_process(
    emu: Any, storage: dict[str, Any], record: str, offset: float, canary: Any
) -> dict[str, Any]:
    args = {
        "record": record,
        "name": "tool.cache",
        "allow_unencrypted": storage["allow_unencrypted"],
        "ca": emu.ca_bundle_path,
        "scope": SCOPE,
        "offset": offset,
    }
    result = subprocess.run(
        [sys.executable, str(WORKER)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**storage["env"], "INTERACTIVE_WORKER_ARGS": json.dumps(args)},
    )
    canary.check_output("interactive worker", result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    output: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return output


def test_next_process_is_silent_until_the_token_needs_refreshing(
    emulator: Any, storage: dict[str, Any], secret_canary: Any
) -> None:
    options = azidentity.TokenCachePersistenceOptions(
        name="tool.cache", allow_unencrypted_storage=storage["allow_unencrypted"]
    )
    browser = Browser(emulator)
    with azidentity.InteractiveBrowserCredential(
        **kwargs_for(emulator, _open_browser=browser, cache_persistence_options=options)
    ) as credential:
        record = credential.authenticate(scopes=[SCOPE])
        token = credential.get_token(SCOPE)
    saved = record.serialize()
    assert [r.route for r in emulator.requests] == ["authorize", "token"]
    register_refresh_tokens(emulator, secret_canary)
    # What is on disk: encrypted with the Secret Service's key, or the plaintext file the user allowed.
    files = sorted(p.name for p in storage["directory"].iterdir())
    assert ("tool.cache.nocae.json.enc" in files) == storage["encrypted"]
    assert ("tool.cache.nocae.json" in files) == (not storage["encrypted"])
    if storage["encrypted"]:
        refresh_token = next(iter(emulator.runtime.refresh_tokens._grants))
        assert refresh_token.encode() not in (storage["directory"] / "tool.cache.nocae.json.enc").read_bytes()

    # The next run: the access token comes from the cache; Entra ID hears nothing.
    emulator.reset()
    out = next_process(emulator, storage, saved, 0, secret_canary)
    assert out == {"sync": _sha(token.token), "async": _sha(token.token)}
    assert emulator.requests == []

    # A run after the token expired: one silent refresh (sync), whose token the async credential reuses.
    out = next_process(emulator, storage, saved, 3600 + 60, secret_canary)
    assert out["sync"] == out["async"] != _sha(token.token)
    assert [(r.route, r.form.get("grant_type")) for r in emulator.requests] == [("token", "refresh_token")]
    register_refresh_tokens(emulator, secret_canary)
    # The refreshed refresh token was stored: a later run still signs in silently.
    emulator.reset()
    out = next_process(emulator, storage, saved, 2 * 3600 + 120, secret_canary)
    assert [r.form.get("grant_type") for r in emulator.requests] == ["refresh_token"]
    register_refresh_tokens(emulator, secret_canary)


def test_record_and_store_of_another_account_do_not_mix(emulator: Any, storage: dict[str, Any]) -> None:
    options = azidentity.TokenCachePersistenceOptions(
        name="tool.cache", allow_unencrypted_storage=storage["allow_unencrypted"]
    )
    records = {}
    for name in ("alice", "bob"):
        user = emulator.users[name]
        with azidentity.InteractiveBrowserCredential(
            **kwargs_for(
                emulator,
                _open_browser=Browser(emulator),
                login_hint=user.username,
                cache_persistence_options=options,
            )
        ) as credential:
            records[name] = credential.authenticate(scopes=[SCOPE])
    for name in ("alice", "bob"):
        with azidentity.InteractiveBrowserCredential(
            authentication_record=records[name],
            cache_persistence_options=options,
            connection_verify=emulator.ca_bundle_path,
            disable_automatic_authentication=True,
        ) as credential:
            token = credential.get_token(SCOPE)
            assert emulator.verify_token(token.token)["upn"] == emulator.users[name].username


def test_unavailable_storage_is_reported_before_any_prompt(emulator: Any, tmp_path: Path) -> None:
    import keyring
    import keyring.backends.fail

    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    persistence._reset()
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("XDG_CACHE_HOME", str(tmp_path))
            browser = Browser(emulator)
            with pytest.raises(
                azidentity.CredentialUnavailableError, match="persistent storage isn't available"
            ):
                azidentity.InteractiveBrowserCredential(
                    **kwargs_for(
                        emulator,
                        _open_browser=browser,
                        cache_persistence_options=azidentity.TokenCachePersistenceOptions(
                            name="strict.cache"
                        ),
                    )
                )
            assert browser.urls == []
    finally:
        keyring.set_keyring(previous)
        persistence._reset()
