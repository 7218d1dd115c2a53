"""The encrypted persistent token cache, against a real Secret Service (GNOME Keyring on a private D-Bus).

Without dbus-daemon and gnome-keyring-daemon the Secret Service tests are skipped, unless CI is
set: then they fail (decisions.md: `make test` may skip, CI never). Tests that need no secret store
(the "isn't available" error, unencrypted storage) run everywhere.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import azidentity
import azidentity.aio
import persistence_testlib
import persistence_worker
from azidentity import CredentialUnavailableError, TokenCachePersistenceOptions
from azidentity._cache import store as persistence
from azidentity._cache.file_format import MAX_FILE_SIZE
from azidentity._mitigations import ROWS
from persistence_testlib import SCOPE, SECTION, credential, options

# The Secret Service fixtures (pytest finds fixtures among a module's names).
secret_service = persistence_testlib.secret_service
cache_home = persistence_testlib.cache_home
keyring_on = persistence_testlib.keyring_on
keyring_off = persistence_testlib.keyring_off

TENANT = "00000000-0000-0000-0000-00000000000a"
CLIENT = "00000000-0000-0000-0000-00000000000b"


def token_args(emu: Any, name: str, app: str = "secret") -> dict[str, Any]:
    a = emu.apps[app]
    return {
        "tenant_id": emu.tenant_id,
        "client_id": a.client_id,
        "secret": a.secret,
        "authority": emu.base_url,
        "ca": emu.ca_bundle_path,
        "name": name,
        "scope": SCOPE,
    }


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "azidentity" and r.levelno == logging.WARNING]


# -- the options ---------------------------------------------------------------------------------------
def test_options_signature_repr_and_pickle() -> None:
    default = TokenCachePersistenceOptions()
    assert (default.name, default.allow_unencrypted_storage) == ("msal.cache", False)
    assert repr(default) == "TokenCachePersistenceOptions(name='msal.cache', allow_unencrypted_storage=False)"
    relaxed = TokenCachePersistenceOptions(name="app", allow_unencrypted_storage=True, future_keyword=1)
    assert repr(relaxed) == "TokenCachePersistenceOptions(name='app', allow_unencrypted_storage=True)"
    copy = pickle.loads(pickle.dumps(relaxed))
    assert (copy.name, copy.allow_unencrypted_storage) == ("app", True)
    with pytest.raises(TypeError):
        TokenCachePersistenceOptions("app")  # type: ignore[misc]  # keyword-only, as in azure-identity
    for bad in ("", ".", "..", "a/b", "a\\b", "a\0b", "x" * 201, "tab\there"):
        with pytest.raises(ValueError, match="is not usable"):
            TokenCachePersistenceOptions(name=bad)
    with pytest.raises(TypeError):
        TokenCachePersistenceOptions(name=3)  # type: ignore[arg-type]


def test_importing_the_store_loads_neither_keyring_nor_cryptography() -> None:
    code = (
        "import sys, azidentity; azidentity.TokenCachePersistenceOptions; import azidentity._cache.store;"
        "print([m for m in ('keyring', 'secretstorage', 'cryptography', 'json') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


# -- encrypted, with the Secret Service ----------------------------------------------------------------
def test_the_private_bus_starts_no_second_keyring(secret_service: Any) -> None:
    """The fixture's bus activates nothing, so no call can auto-start a second, password-less
    gnome-keyring-daemon: one used to race the fixture's for org.freedesktop.secrets (the default
    collection then stayed locked, a few starts in 100 on a loaded machine) and outlived the bus."""
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import Proxy, open_dbus_connection

    with open_dbus_connection(bus=secret_service.address) as connection:
        bus = Proxy(message_bus, connection, timeout=10)
        assert bus.ListActivatableNames()[0] == ["org.freedesktop.DBus"]
        assert bus.GetConnectionUnixProcessID(persistence_worker.SECRETS)[0] == secret_service.keyring_pid


def test_encrypted_at_rest_with_owner_only_modes(keyring_on: Path, emulator: Any) -> None:
    with credential(emulator) as cred:
        token = cred.get_token(SCOPE).token
    path = keyring_on / "test.cache.nocae.json.enc"
    data = path.read_bytes()
    assert data.startswith(b"AZIDENTITY-CACHE/1 AES-256-GCM\n")
    for secret in (token, token[-40:], emulator.apps["secret"].client_id, "access_tokens", "expires_on"):
        assert secret.encode() not in data
    assert mode(keyring_on) == 0o700 and mode(path) == 0o600
    assert not (keyring_on / "test.cache.nocae.json").exists()  # no plaintext twin
    assert sorted(p.name for p in keyring_on.iterdir()) == ["test.cache.lock", "test.cache.nocae.json.enc"]
    # The key is in the Secret Service, not on disk.
    import keyring

    assert len(keyring.get_password("azidentity", "test.cache") or "") == 44


def test_second_process_gets_a_cache_hit_with_zero_requests(
    keyring_on: Path, emulator: Any, secret_canary: Any
) -> None:
    with credential(emulator) as cred:
        token = cred.get_token(SCOPE).token
    assert emulator.count("token") == 1
    out = persistence_worker.run("token", token_args(emulator, "test.cache"), dict(os.environ))
    secret_canary.check_output("persistence worker", out["_stdout"] + out["_stderr"])
    expected = hashlib.sha256(token.encode()).hexdigest()
    assert out["sync"] == expected and out["async"] == expected  # sync and async credentials share it
    assert emulator.count("token") == 1  # the other process asked nobody


def test_pickled_credential_carries_its_options_not_the_store(keyring_on: Path, emulator: Any) -> None:
    cred = credential(emulator)
    token = cred.get_token(SCOPE).token
    data = pickle.dumps(cred)
    assert (
        token.encode() not in data and b"PersistentStore" not in data and b"PersistentTokenCache" not in data
    )
    copy = pickle.loads(data)
    assert repr(copy._cache_persistence_options) == repr(options())
    assert type(copy._cache).__name__ == "PersistentTokenCache" and len(copy._cache) == 0
    assert copy.get_token(SCOPE).token == token  # from the file
    assert emulator.count("token") == 1
    cred.close()
    copy.close()


def test_a_hit_in_memory_never_touches_the_file(keyring_on: Path, emulator: Any, monkeypatch: Any) -> None:
    with credential(emulator) as cred:
        token = cred.get_token(SCOPE).token

        def no_file(*args: Any) -> Any:
            raise AssertionError("file access on an in-memory hit")

        monkeypatch.setattr(persistence.PersistentStore, "_load", no_file)
        monkeypatch.setattr(persistence.PersistentStore, "update", no_file)
        assert cred.get_token(SCOPE).token == token
        assert cred.get_token_info(SCOPE).token == token


async def test_async_credential_reads_and_writes_the_same_cache(keyring_on: Path, emulator: Any) -> None:
    async with credential(emulator, module=azidentity.aio) as cred:
        token = (await cred.get_token(SCOPE)).token
    with credential(emulator) as cred:
        assert cred.get_token(SCOPE).token == token
    assert emulator.count("token") == 1


def test_cae_and_non_cae_tokens_live_in_separate_files(keyring_on: Path, emulator: Any) -> None:
    with credential(emulator) as cred:
        plain = cred.get_token(SCOPE).token
        cae = cred.get_token(SCOPE, enable_cae=True).token
    assert emulator.count("token") == 2
    nocae_store = persistence.open_store(options(), cae=False)
    cae_store = persistence.open_store(options(), cae=True)
    assert nocae_store.path.endswith("test.cache.nocae.json.enc") and cae_store.path.endswith(
        "test.cache.cae.json.enc"
    )
    ((nocae_key, nocae_value),) = nocae_store.items(SECTION).items()
    ((cae_key, cae_value),) = cae_store.items(SECTION).items()
    assert nocae_value["token"] == plain and nocae_key.endswith("False)")
    assert cae_value["token"] == cae and cae_key.endswith("True)")
    assert cae_key.startswith(f"ClientSecretCredential|{emulator.base_url}|{emulator.tenant_id}|")
    with credential(emulator) as cred:  # a new instance finds each in its own file
        assert cred.get_token(SCOPE, enable_cae=True).token == cae
        assert cred.get_token(SCOPE).token == plain
    assert emulator.count("token") == 2


def test_credentials_with_other_identities_do_not_share_tokens(keyring_on: Path, emulator: Any) -> None:
    with credential(emulator) as one, credential(emulator, app="api") as other:
        assert one.get_token(SCOPE).token != other.get_token(SCOPE).token
    assert emulator.count("token") == 2
    assert len(persistence.open_store(options(), cae=False).items(SECTION)) == 2
    with credential(emulator, name="another.cache") as third:  # another cache name: another file
        third.get_token(SCOPE)
    assert emulator.count("token") == 3


def test_expired_tokens_are_never_served_from_the_file_and_are_pruned(
    keyring_on: Path, emulator: Any
) -> None:
    with credential(emulator) as cred:
        info = cred.get_token_info(SCOPE)
    later = [float(info.expires_on + 1)]
    with credential(emulator, _clock=lambda: later[0]) as cred:
        fresh = cred.get_token(SCOPE).token
    assert fresh != info.token and emulator.count("token") == 2
    (value,) = persistence.open_store(options(), cae=False).items(SECTION).values()
    assert value["token"] == fresh  # the expired entry was pruned when the new one was written


def test_a_fresher_token_written_by_another_process_replaces_one_due_for_refresh(
    keyring_on: Path, emulator: Any
) -> None:
    import time

    now = [time.time()]
    first = credential(emulator, _clock=lambda: now[0])
    info = first.get_token_info(SCOPE)
    now[0] = (
        info.refresh_on or info.expires_on - 300
    ) + 1.0  # the first credential's token is due for refresh
    with credential(emulator, _clock=lambda: now[0]) as second:  # "another process" refreshes it
        refreshed = second.get_token(SCOPE).token
    assert refreshed != info.token and emulator.count("token") == 2
    assert first.get_token(SCOPE).token == refreshed  # adopted from the file, no request
    assert emulator.count("token") == 2
    first.close()


def test_store_contract(keyring_on: Path) -> None:
    store = persistence.open_store(options(), cae=False)
    assert persistence.open_store(options(), cae=False) is store  # one instance per file per process
    assert persistence.open_store(options(), cae=True) is not store
    # Allowing unencrypted storage changes nothing where encryption works.
    assert persistence.open_store(options(allow_unencrypted_storage=True), cae=False) is store
    assert store.encrypted and store.get("accounts", "a") is None and store.items("accounts") == {}
    store.put("accounts", "a", {"username": "user@example.com", "n": [1, 2]})
    store.put("refresh_tokens", "r", {"secret": "refresh-token-value-0123456789"})
    assert store.get("accounts", "a") == {"username": "user@example.com", "n": [1, 2]}
    assert store.items("refresh_tokens") == {"r": {"secret": "refresh-token-value-0123456789"}}
    store.delete("accounts", "a")
    store.delete("accounts", "never-there")
    assert store.items("accounts") == {}
    with pytest.raises(TypeError):
        store.put("accounts", "b", {"not json": object()})
    assert b"refresh-token-value" not in Path(store.path).read_bytes()
    assert not [p for p in keyring_on.iterdir() if p.name.endswith(".tmp")]


def test_directory_with_loose_permissions_is_tightened(keyring_on: Path) -> None:
    keyring_on.mkdir(mode=0o755)
    os.chmod(keyring_on, 0o755)
    persistence.open_store(options(), cae=False)
    assert mode(keyring_on) == 0o700


@pytest.mark.parametrize(
    "content",
    [
        b"garbage \x00\xff not a cache",
        b'{"format": "azidentity-cache", "version": 1, "sections": {}}',  # plaintext where ciphertext belongs
        b"AZIDENTITY-CACHE/1 AES-256-GCM\n" + b"\x01" * 40,  # right header, wrong ciphertext
        b"AZIDENTITY-CACHE/1 AES-256-GCM\n",  # truncated
    ],
    ids=["garbage", "foreign", "tampered", "truncated"],
)
def test_corrupt_or_foreign_file_is_moved_aside(
    keyring_on: Path, emulator: Any, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    keyring_on.mkdir(mode=0o700)
    path = keyring_on / "test.cache.nocae.json.enc"
    path.write_bytes(content)
    caplog.set_level(logging.WARNING, "azidentity")
    with credential(emulator) as cred:
        token = cred.get_token(SCOPE).token  # no crash: the cache starts empty
    (aside,) = keyring_on.glob("test.cache.nocae.json.enc.corrupt-*")
    assert aside.read_bytes() == content
    assert any("was moved to" in w and "starts empty" in w for w in warnings_of(caplog))
    assert persistence.open_store(options(), cae=False).items(SECTION) != {}
    with credential(emulator) as cred:
        assert cred.get_token(SCOPE).token == token
    assert emulator.count("token") == 1


def test_oversized_file_is_moved_aside(keyring_on: Path, caplog: pytest.LogCaptureFixture) -> None:
    keyring_on.mkdir(mode=0o700)
    path = keyring_on / "test.cache.nocae.json.enc"
    with open(path, "wb") as f:
        f.truncate(MAX_FILE_SIZE + 1)  # sparse: no 16 MiB written
    caplog.set_level(logging.WARNING, "azidentity")
    store = persistence.open_store(options(), cae=False)
    assert store.get(SECTION, "x") is None
    assert not path.exists() and len(list(keyring_on.glob("*.corrupt-*"))) == 1
    assert any("larger than" in w for w in warnings_of(caplog))


def test_a_replaced_key_moves_the_undecryptable_file_aside(
    keyring_on: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import keyring

    store = persistence.open_store(options(name="rotated.cache"), cae=False)
    store.put("accounts", "a", {"v": 1})
    keyring.delete_password("azidentity", "rotated.cache")  # the key is lost (or rotated)
    persistence._reset()
    caplog.set_level(logging.INFO, "azidentity")
    store = persistence.open_store(options(name="rotated.cache"), cae=False)  # creates a new key
    assert store.get("accounts", "a") is None
    assert any("can't be decrypted with the key in the secret store" in w for w in warnings_of(caplog))
    assert len(list(keyring_on.glob("rotated.cache.nocae.json.enc.corrupt-*"))) == 1
    store.put("accounts", "a", {"v": 2})
    assert store.get("accounts", "a") == {"v": 2}


def test_processes_writing_at_once_lose_nothing(keyring_on: Path) -> None:
    workers, count = 8, 50
    env = dict(os.environ)
    processes = [
        persistence_worker.start(
            "put", {"name": "stress.cache", "worker": w, "count": count, "section": "stress"}, env
        )
        for w in range(workers)
    ]
    try:
        for p in processes:  # every worker has opened the store (keyring, key) before any writes
            assert p.stdout is not None and p.stdout.readline().strip() == "ready", (
                p.stderr and p.stderr.read()
            )
        for p in processes:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        for p in processes:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
            assert json.loads(out.strip().splitlines()[-1]) == {"done": count, "encrypted": True}
            assert not err.strip(), err  # no WARNING (lock timeout, unreadable file) from any writer
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()
    store = persistence.open_store(options(name="stress.cache"), cae=False)
    entries = store.items("stress")
    assert len(entries) == workers * count
    assert all(
        entries[f"w{w}-{i}"] == {"worker": w, "i": i, "pad": "x" * 64}
        for w in range(workers)
        for i in range(count)
    )
    assert not list(keyring_on.glob("*.tmp")) and not list(keyring_on.glob("*.corrupt-*"))


# -- without a secret store ------------------------------------------------------------------------------
def test_no_secret_service_says_persistent_storage_isnt_available(tmp_path: Path, cache_home: Any) -> None:
    """In a fresh process whose D-Bus session address names a dead socket."""
    mp, directory = cache_home
    env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path / 'dead-bus'}"}
    out = persistence_worker.run(
        "open", {"name": "none.cache", "tenant_id": TENANT, "client_id": CLIENT}, env
    )
    row = ROWS["cache-unavailable"]
    for attempt in (out["strict"], out["credential"]):
        assert attempt["type"] == "CredentialUnavailableError"
        text = attempt["text"]
        assert text.startswith(
            "persistent storage isn't available due to error \"keyring found no usable secret store"
        )
        assert "D-Bus session bus" in text.split("\n")[0]
        assert f"Mitigation: {row.mitigation}" in text
        assert "Troubleshooting: TROUBLESHOOTING.md#persistent-token-cache" in text
        assert attempt["mitigation"] == row.mitigation and attempt["anchor"] == "persistent-token-cache"
    # Allowed to be unencrypted: a plaintext file readable by its owner only, and a WARNING saying so.
    relaxed = Path(out["relaxed"]["path"])
    assert relaxed == directory / "none.cache.nocae.json" and out["relaxed"]["encrypted"] is False
    assert out["relaxed"]["value"] == {"v": 1}
    assert mode(relaxed) == 0o600 and mode(directory) == 0o700
    assert json.loads(relaxed.read_text())["sections"] == {"probe": {"k": {"v": 1}}}
    (warning,) = [w for w in out["warnings"] if "UNENCRYPTED" in w]
    assert str(directory) in warning and "none.cache.nocae.json" in warning
    assert "allow_unencrypted_storage=True" in warning and "D-Bus session bus" in warning
    assert not list(directory.glob("*.enc"))


def test_unencrypted_storage_when_allowed(
    keyring_off: Path, emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "azidentity")
    relaxed = options(allow_unencrypted_storage=True)
    with pytest.raises(CredentialUnavailableError, match="^persistent storage isn't available"):
        credential(emulator)  # the strict options still refuse
    with credential(emulator, cache_persistence_options=relaxed) as cred:
        token = cred.get_token(SCOPE).token
    with credential(emulator, cache_persistence_options=relaxed) as cred:
        assert cred.get_token(SCOPE).token == token
    assert emulator.count("token") == 1
    path = keyring_off / "test.cache.nocae.json"
    assert mode(path) == 0o600 and mode(keyring_off) == 0o700
    assert token in path.read_text()  # plaintext, as the user allowed
    assert len([w for w in warnings_of(caplog) if "UNENCRYPTED" in w]) == 1  # once per cache per process


def test_default_azure_credential_survives_an_unavailable_cache(keyring_off: Path) -> None:
    env = {
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": CLIENT,
        "AZURE_CLIENT_SECRET": "not-a-real-secret-value",
    }
    dac = azidentity.DefaultAzureCredential(cache_persistence_options=options(), _env=env)
    (entry,) = [e for e in dac._plan if e.key == "environment"]
    assert "persistent storage isn't available" in (entry.construction_error or "")


def test_keyring_not_installed(cache_home: Any, monkeypatch: Any) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)
    with pytest.raises(CredentialUnavailableError) as caught:
        persistence.open_store(options(), cae=False)
    assert str(caught.value).startswith(
        "persistent storage isn't available due to error \"the keyring package"
    )
    assert caught.value.mitigation == ROWS["cache-keyring-missing"].mitigation
    assert "azidentity[cache]" in str(caught.value)
    assert not persistence.open_store(options(allow_unencrypted_storage=True), cae=False).encrypted


def test_unusable_cache_directory(cache_home: Any, tmp_path: Path, monkeypatch: Any) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file where the directory should be
    with pytest.raises(CredentialUnavailableError) as caught:
        persistence.open_store(options(allow_unencrypted_storage=True), cae=False)
    assert "can't use the cache directory" in str(caught.value)
    assert caught.value.mitigation == ROWS["cache-directory"].mitigation
