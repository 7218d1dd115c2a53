"""Reading MSAL's cache when it is damaged, huge, unreadable, being written, or in a locked or silent
Secret Service: always a clear CredentialUnavailableError, never a crash, never a hang. Plus the
encrypted variant (the Secret Service item azure-identity's persistence writes) and the sans-IO parts.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import azidentity
import msal_testlib
import persistence_worker
from azidentity import CredentialUnavailableError
from azidentity._mitigations import ROWS
from azidentity._protocol import msal_cache as mc
from msal_testlib import (
    identity_service,
    plaintext_cache,
    register_tokens,
    secret_service_cache,
    sign_in,
)
from persistence_testlib import secret_service  # noqa: F401  (the private D-Bus + GNOME Keyring, reused)

VAULT = "https://vault.azure.net/.default"
NOCAE = "msal.cache.nocae"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.delenv("AZURE_AUTHORITY_HOST", raising=False)
    return home


def kwargs_for(emu: Any, **extra: Any) -> dict[str, Any]:
    return {"authority": emu.base_url, "connection_verify": emu.ca_bundle_path, **extra}


def cache_path() -> Path:
    return identity_service() / NOCAE


def write_cache(content: bytes | str) -> Path:
    path = cache_path()
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def unavailable(flavor: Any, credential: Any, scope: str = VAULT) -> CredentialUnavailableError:
    start = time.monotonic()
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(credential, scope)
    assert time.monotonic() - start < 5, "bounded"
    return info.value


# -- damaged, huge, unreadable --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"RefreshToken": {"k": {"secret": ', "it isn't JSON"),
        (b"[1, 2, 3]", "it is JSON but not MSAL's token cache (a list, not an object)"),
        (b'{"Account": []}', "its Account section is a list, not an object"),
        (b"[" * 100 + b"]" * 100, "nested"),
        (b"\xff\xfe{}", "it isn't UTF-8 text"),
    ],
)
def test_a_damaged_cache_is_a_clear_unavailable_error(flavor, home, emulator, content, reason):
    write_cache(content)
    sleeps: list[float] = []
    credential = flavor.make("SharedTokenCacheCredential", _sleep=sleeps.append, **kwargs_for(emulator))
    error = unavailable(flavor, credential)
    text = str(error)
    assert text.startswith("SharedTokenCacheCredential: the cache ~/.IdentityService/msal.cache.nocae")
    assert "can't be read" in text and reason in text
    assert error.mitigation == ROWS["shared-cache-unreadable"].mitigation
    assert len(sleeps) <= 1  # a damaged file nobody writes is read twice at most, not retried at length
    assert not emulator.requests


def test_a_huge_cache_is_refused_without_reading_it_all(flavor, home, emulator):
    path = write_cache(b"")
    with open(path, "wb") as f:
        f.truncate(mc.MAX_CACHE_SIZE + 1)  # sparse: 16 MiB + 1 of zeros
    error = unavailable(flavor, flavor.make("SharedTokenCacheCredential", **kwargs_for(emulator)))
    assert f"it is larger than {mc.MAX_CACHE_SIZE} bytes" in str(error)


@pytest.mark.parametrize("kind", ["directory", "symlink loop", "fifo"])
def test_an_unreadable_cache_never_hangs(flavor, home, emulator, kind):
    path = cache_path()
    path.parent.mkdir()
    if kind == "directory":
        path.mkdir()
        expected = "it is not a regular file"
    elif kind == "symlink loop":
        path.symlink_to(path)
        expected = "Too many levels of symbolic links"
    else:
        os.mkfifo(path)  # opening a FIFO for reading would wait for a writer forever
        expected = "it is not a regular file"
    error = unavailable(flavor, flavor.make("SharedTokenCacheCredential", **kwargs_for(emulator)))
    assert "the cache file ~/.IdentityService/msal.cache.nocae can't be read" in str(error)
    assert expected in str(error)
    assert error.mitigation == ROWS["shared-cache-unreadable"].mitigation


def test_malformed_entries_are_ignored_not_trusted(flavor, home, emulator):
    document = {
        "Account": {"a": {"home_account_id": 5, "environment": None}, "b": "not an object"},
        "RefreshToken": {
            "r": {"secret": ["x"], "home_account_id": "u.t", "environment": "127.0.0.1", "family_id": "1"}
        },
        "AccessToken": {"t": {"secret": "s", "expires_on": "soon", "home_account_id": "u.t"}},
    }
    write_cache(json.dumps(document))
    error = unavailable(flavor, flavor.make("SharedTokenCacheCredential", **kwargs_for(emulator)))
    assert "No accounts were found in the cache" in str(error)


# -- written while we read -------------------------------------------------------------------------------
def full_cache(emu: Any, canary: Any) -> bytes:
    register_tokens(sign_in(emu, plaintext_cache()), canary)
    return cache_path().read_bytes()


def test_a_cache_being_written_is_read_again(flavor, home, emulator, secret_canary):
    """MSAL truncates the file and writes it while holding <file>.lockfile: read again until it is whole."""
    complete = full_cache(emulator, secret_canary)
    lock = Path(str(cache_path()) + ".lockfile")
    lock.write_text(f"{os.getpid()} msal")
    cache_path().write_bytes(complete[: len(complete) // 2])  # mid-write
    sleeps: list[float] = []

    def writer_finishes(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            cache_path().write_bytes(complete)
            lock.unlink()

    credential = flavor.make("SharedTokenCacheCredential", _sleep=writer_finishes, **kwargs_for(emulator))
    token = flavor.get_token(credential, VAULT)
    assert emulator.verify_token(token.token)["upn"] == "alice@emulator.test"
    assert sleeps == [0.05, 0.1]


@pytest.mark.parametrize("partial", ["empty", "half"])
def test_a_writer_that_never_finishes_is_waited_for_0_75_s_at_most(
    flavor, home, emulator, secret_canary, partial
):
    complete = full_cache(emulator, secret_canary)
    Path(str(cache_path()) + ".lockfile").write_text("4242 a stuck writer")
    cache_path().write_bytes(b"" if partial == "empty" else complete[: len(complete) // 2])
    sleeps: list[float] = []
    credential = flavor.make("SharedTokenCacheCredential", _sleep=sleeps.append, **kwargs_for(emulator))
    error = unavailable(flavor, credential)
    assert sleeps == list(mc.RETRY_DELAYS) and sum(sleeps) == pytest.approx(0.75)
    assert "another program held its lock file the whole time" in str(error)
    assert error.mitigation == ROWS["shared-cache-unreadable"].mitigation


# A tool that keeps writing: a write every 50 ms, far more often than any real one (MSAL writes once per
# token it gets). On ext4 a rewrite leaves the file empty for ~2 ms (truncating waits for the old blocks);
# a writer that never pauses keeps it empty most of the time, which no bounded reader could outlast.
WRITER = """
import os, sys, time
sys.path.insert(0, sys.argv[1])
from msal_testlib import plaintext_cache
cache = plaintext_cache()
stop = sys.argv[2]
writes = 0
while not os.path.exists(stop) and writes < 20000:
    account = next(iter(cache.search(cache.CredentialType.ACCOUNT)))
    cache.modify(cache.CredentialType.ACCOUNT, account, {"local_account_id": str(writes)})
    writes += 1
    if writes == 1:
        print("writing", flush=True)
    time.sleep(0.05)
print(writes, flush=True)
"""


def test_reading_while_msal_keeps_writing(home, emulator, secret_canary, tmp_path):
    """Another process keeps rewriting the cache through msal-extensions (truncate, write, under its lock
    file) while this one reads it: every read gets the whole cache."""
    register_tokens(sign_in(emulator, plaintext_cache()), secret_canary)
    emulator.reset()
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(Path(msal_testlib.__file__).parent), str(stop)],
        env={**os.environ, "HOME": str(home)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
        reads, start = 0, time.monotonic()
        while reads < 60 or (time.monotonic() - start < 0.6 and reads < 5000):  # across ~10 writes
            credential = azidentity.SharedTokenCacheCredential(**kwargs_for(emulator))  # reads MSAL's cache
            token = credential.get_token("https://storage.azure.com/user_impersonation")  # MSAL's cached one
            assert token.token
            reads += 1
    finally:
        stop.touch()
        out, _ = writer.communicate(timeout=60)
    assert writer.returncode == 0 and int(out.split()[-1]) >= 5, out
    assert not [r for r in emulator.requests if r.route == "token"]  # every read found the whole cache


# -- the Secret Service (encrypted) -------------------------------------------------------------------------
@pytest.fixture
def dbus(secret_service: Any, home: Path, monkeypatch: pytest.MonkeyPatch) -> Any:  # noqa: F811
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service.address)
    yield secret_service
    import secretstorage

    connection = secretstorage.dbus_init()
    try:
        for item in secretstorage.search_items(
            connection, {"MsalClientID": "Microsoft.Developer.IdentityService"}
        ):
            item.delete()
    finally:
        connection.close()


def test_the_encrypted_cache_in_the_secret_service(flavor, dbus, emulator, secret_canary):
    register_tokens(sign_in(emulator, secret_service_cache(), user="bob"), secret_canary)
    assert cache_path().read_bytes() == b""  # only the change marker
    credential = flavor.make("SharedTokenCacheCredential", **kwargs_for(emulator))
    assert (
        emulator.verify_token(flavor.get_token(credential, VAULT).token)["upn"] == "bob@other.emulator.test"
    )
    strict = flavor.make(  # an encrypted cache needs no allow_unencrypted_storage
        "SharedTokenCacheCredential",
        cache_persistence_options=azidentity.TokenCachePersistenceOptions(),
        **kwargs_for(emulator),
    )
    assert flavor.get_token(strict, VAULT).token
    from azidentity._credentials.shared_token_cache import describe_cache

    facts = describe_cache("msal.cache", True, emulator.base_url)
    assert (
        "Secret Service item (schema 'msal.cache.nocae', MsalClientID=Microsoft.Developer.IdentityService)"
        in (facts["MSAL cache"])
    )
    assert facts["accounts"] == f"(username: bob@other.emulator.test, tenant: {emulator.other_tenant_id})"


def test_an_empty_marker_without_an_item_is_an_empty_cache(flavor, dbus, emulator):
    write_cache(b"")
    error = unavailable(flavor, flavor.make("SharedTokenCacheCredential", **kwargs_for(emulator)))
    assert "No accounts were found in the cache" in str(error)
    assert "Secret Service item (schema 'msal.cache.nocae'" in str(error)


def test_a_locked_keyring_is_reported_never_unlocked(
    flavor, home, emulator, secret_canary, tmp_path, monkeypatch
):
    """Its own Secret Service: the login keyring gets locked, and unlocking it would need a prompt."""
    if persistence_worker.missing_binaries():
        pytest.skip("needs dbus-daemon and gnome-keyring-daemon")
    (tmp_path / "locked-service").mkdir()
    service = persistence_worker.SecretService(tmp_path / "locked-service")
    try:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", service.address)
        register_tokens(sign_in(emulator, secret_service_cache()), secret_canary)
        import secretstorage

        with secretstorage.dbus_init() as connection:
            secretstorage.get_default_collection(connection).lock()
        error = unavailable(flavor, flavor.make("SharedTokenCacheCredential", **kwargs_for(emulator)))
        assert "in a locked keyring; azidentity never asks to unlock it" in str(error)
        assert error.mitigation == ROWS["shared-cache-locked"].mitigation
    finally:
        service.stop()


def test_a_session_bus_that_never_answers_is_given_up_on(flavor, home, emulator, tmp_path, monkeypatch):
    write_cache(b"")  # an encrypted cache's marker: the Secret Service must be asked
    path = tmp_path / "silent-bus"
    silent = socket.socket(socket.AF_UNIX)
    silent.bind(str(path))
    silent.listen(4)
    try:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={path}")
        credential = flavor.make(
            "SharedTokenCacheCredential", _secret_store_timeout=0.3, **kwargs_for(emulator)
        )
        start = time.monotonic()
        error = unavailable(flavor, credential)
        assert time.monotonic() - start < 0.3 + 1.5
    finally:
        silent.close()
    assert "didn't answer within 0.3 s" in str(error)
    assert error.mitigation == ROWS["shared-cache-secret-store"].mitigation


def test_no_session_bus_for_an_encrypted_cache(flavor, home, emulator):
    write_cache(b"")
    error = unavailable(flavor, flavor.make("SharedTokenCacheCredential", **kwargs_for(emulator)))
    assert "there is no D-Bus session here (DBUS_SESSION_BUS_ADDRESS is not set)" in str(error)
    assert error.mitigation == ROWS["shared-cache-secret-store"].mitigation


# -- the cold path -------------------------------------------------------------------------------------------
def test_no_cache_costs_default_azure_credential_no_imports(tmp_path):
    """Without a cache or a VS Code record, the two members load only small pure-Python modules of ours."""
    script = """
import json, sys
import azidentity
before = set(sys.modules)
credential = azidentity.DefaultAzureCredential(exclude_shared_token_cache_credential=sys.argv[1] == "off",
                                               exclude_visual_studio_code_credential=sys.argv[1] == "off")
try:
    credential.get_token("https://management.azure.com/.default")
except azidentity.CredentialUnavailableError:
    pass
print(json.dumps(sorted(set(sys.modules) - before)))
"""
    env = {
        "HOME": str(tmp_path),
        "PATH": str(tmp_path),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:9",
        "DBUS_SESSION_BUS_ADDRESS": os.environ.get("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent"),
    }
    loaded = {}
    for mode in ("on", "off"):
        done = subprocess.run(
            [sys.executable, "-c", script, mode],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        loaded[mode] = set(json.loads(done.stdout))
    extra = loaded["on"] - loaded["off"]
    assert extra <= {
        "azidentity._credentials.shared_token_cache",
        "azidentity._credentials.visual_studio_code",
        "azidentity._cache.msal",
        "azidentity._protocol.msal_cache",
        "azidentity._protocol.authorize",
    }, extra
    assert not {"jeepney", "secretstorage", "keyring", "msal", "msal_extensions"} & loaded["on"]


# -- the sans-IO parts ---------------------------------------------------------------------------------------
def test_environment_aliases_and_hosts():
    assert mc.environments_for("https://login.windows.net/") == mc.environments_for(
        "login.microsoftonline.com"
    )
    assert "login.partner.microsoftonline.cn" in mc.environments_for("https://login.chinacloudapi.cn")
    assert mc.environments_for("https://127.0.0.1:4443") == frozenset({"127.0.0.1"})  # MSAL drops the port
    assert mc.host_of("LOGIN.microsoftonline.com:443") == "login.microsoftonline.com"
    assert mc.cache_names("my-app", True) == ("my-app.cae", "my-app.nocae")


def test_refresh_tokens_own_client_first_then_family_newest_first():
    env = frozenset({"login.microsoftonline.com"})
    doc = mc.parse(
        json.dumps(
            {
                "RefreshToken": {
                    "1": {
                        "secret": "family-old",
                        "home_account_id": "u.t",
                        "environment": "login.windows.net",
                        "client_id": "other",
                        "family_id": "1",
                        "last_modification_time": "9",
                    },
                    "2": {
                        "secret": "family-new",
                        "home_account_id": "u.t",
                        "environment": "login.microsoftonline.com",
                        "client_id": "another",
                        "family_id": "1",
                        "last_modification_time": "10",
                    },
                    "3": {
                        "secret": "own",
                        "home_account_id": "u.t",
                        "environment": "login.microsoftonline.com",
                        "client_id": "MINE",
                    },
                    "4": {
                        "secret": "not-family",
                        "home_account_id": "u.t",
                        "environment": "login.microsoftonline.com",
                        "client_id": "x",
                    },
                    "5": {
                        "secret": "other-user",
                        "home_account_id": "v.t",
                        "environment": "login.microsoftonline.com",
                        "client_id": "mine",
                    },
                },
                "AppMetadata": {
                    "m": {"client_id": "mine", "environment": "login.microsoftonline.com", "family_id": "1"}
                },
            }
        )
    )
    assert mc.refresh_tokens_for(doc, "u.t", env, "mine") == [
        "own",
        "family-new",
    ]  # login.windows.net is no alias here
    aliases = mc.environments_for("login.microsoftonline.com")
    assert mc.refresh_tokens_for(doc, "u.t", aliases, "mine") == ["own", "family-new", "family-old"]
    assert mc.refresh_tokens_for(doc, "u.t", aliases, "stranger") == []  # not in a family: only its own
    assert mc.refresh_tokens_for(doc, "u.t", aliases, mc.AZURE_CLI_CLIENT_ID) == ["family-new", "family-old"]


def test_cached_access_token_rules():
    env = frozenset({"h"})
    now = 1_000_000
    doc = mc.parse(
        json.dumps(
            {
                "AccessToken": {
                    "ok": {
                        "secret": "ok",
                        "home_account_id": "u.t",
                        "environment": "h",
                        "realm": "t",
                        "target": "A b",
                        "expires_on": str(now + 3600),
                        "refresh_on": str(now + 1800),
                    },
                    "soon": {
                        "secret": "soon",
                        "home_account_id": "u.t",
                        "environment": "h",
                        "realm": "t",
                        "target": "a b c",
                        "expires_on": str(now + 299),
                    },
                    "realm": {
                        "secret": "realm",
                        "home_account_id": "u.t",
                        "environment": "h",
                        "realm": "elsewhere",
                        "target": "a",
                        "expires_on": str(now + 9999),
                    },
                }
            }
        )
    )
    assert mc.cached_access_token(doc, "u.t", env, ["a"], ["t"], now) == (
        "ok",
        now + 3600,
        now + 1800,
        "Bearer",
    )
    assert (
        mc.cached_access_token(doc, "u.t", env, ["a", "c"], ["t"], now) is None
    )  # within 5 minutes of expiry
    assert (
        mc.cached_access_token(doc, "u.t", env, ["a"], mc.token_realms("organizations", "t"), now)[0] == "ok"
    )
    assert mc.cached_access_token(doc, "u.t", env, ["a"], ["elsewhere"], now)[0] == "realm"
    assert mc.cached_access_token(doc, "x.t", env, ["a"], ["t"], now) is None


def test_retries_yield_sleep_effects():
    """The flow itself: a busy snapshot is read again after Sleep effects, then given up on."""
    flow = mc.read_caches([NOCAE], True, 1.0, performer=None)
    effect = next(flow)
    assert isinstance(effect, mc.ReadMsalCache) and effect.name == NOCAE
    busy = mc.Snapshot("found", ["f"], text="{", busy=True)
    seen = []
    step = flow.send(busy)
    while True:
        seen.append(type(step).__name__)
        try:
            step = flow.send(busy if isinstance(step, mc.ReadMsalCache) else None)
        except StopIteration as done:
            outcome = done.value
            break
    assert seen == ["Sleep", "ReadMsalCache"] * 4
    assert (
        not outcome.found
        and "another program held its lock file the whole time" in outcome.problems[0].message
    )
    assert "{" not in repr(busy)  # a snapshot's repr never shows the cache's text
