"""SharedTokenCacheCredential over the emulator, with MSAL's shared cache written by the real msal.

Every test has its own HOME (so ``~/.IdentityService`` is the test's) and no D-Bus session unless it
asks for the private Secret Service; the cache is the plaintext variant (msal-extensions'
FilePersistence) unless the test says otherwise.
"""

from __future__ import annotations

import json
import os
import pickle
import time
from pathlib import Path
from typing import Any

import pytest

import azidentity
from azidentity import AuthenticationFailedError, CredentialUnavailableError
from azidentity._mitigations import ROWS
from interactive_testlib import Clock
from msal_testlib import GRANTED, SCOPE, identity_service, plaintext_cache, register_tokens, sign_in

VAULT = "https://vault.azure.net/.default"


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


def token_requests(emu: Any) -> list[Any]:
    return [r for r in emu.requests if r.route == "token"]


def signed_in(
    emu: Any, canary: Any, *users: str, app: str = "azure_cli", name: str = "msal.cache.nocae"
) -> None:
    cache = plaintext_cache(name)
    for user in users:
        register_tokens(sign_in(emu, cache, app=app, user=user), canary)


# -- the happy path -------------------------------------------------------------------------------------
def test_signs_in_the_cached_user_as_the_azure_cli(flavor, home, emulator, secret_canary):
    signed_in(emulator, secret_canary, "alice", app="vscode")  # any family member's refresh token serves
    emulator.reset()
    credential = flavor.make("SharedTokenCacheCredential", **kwargs_for(emulator))
    token = flavor.get_token(credential, VAULT)
    claims = emulator.verify_token(token.token)
    assert claims["upn"] == emulator.users["alice"].username and claims["aud"] == "https://vault.azure.net"
    (request,) = token_requests(emulator)
    assert request.path.startswith("/organizations/")  # as azure-identity: the refresh goes to organizations
    assert request.form["grant_type"] == "refresh_token"
    assert request.form["client_id"] == "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
    assert flavor.get_token(credential, VAULT).token == token.token  # then from memory
    assert len(token_requests(emulator)) == 1


def test_a_cached_access_token_is_served_while_valid(flavor, home, emulator, secret_canary):
    signed_in(emulator, secret_canary, "alice")  # MSAL cached an access token for GRANTED
    emulator.reset()
    clock = Clock()
    credential = flavor.make("SharedTokenCacheCredential", _clock=clock, **kwargs_for(emulator))
    first = flavor.get_token(credential, GRANTED)
    assert not token_requests(emulator)  # straight from MSAL's cache
    cached = json.loads((identity_service() / "msal.cache.nocae").read_text())["AccessToken"]
    assert first.token in [entry["secret"] for entry in cached.values()]
    # Within 5 minutes of its expiry it is not served: the refresh token is redeemed instead.
    clock.advance(first.expires_on - time.time() - 200)
    fresh = flavor.make("SharedTokenCacheCredential", _clock=clock, **kwargs_for(emulator))
    assert flavor.get_token(fresh, GRANTED).token != first.token
    assert len(token_requests(emulator)) == 1


def test_get_token_info_and_claims_skip_the_cached_access_token(flavor, home, emulator, secret_canary):
    signed_in(emulator, secret_canary, "alice")
    emulator.reset()
    credential = flavor.make("SharedTokenCacheCredential", **kwargs_for(emulator))
    info = flavor.get_token_info(credential, GRANTED)
    assert info.expires_on > time.time() and not token_requests(emulator)
    challenge = '{"access_token":{"nbf":{"essential":true,"value":"1"}}}'
    flavor.get_token(credential, GRANTED, claims=challenge)
    (request,) = token_requests(emulator)
    assert json.loads(request.form["claims"]) == json.loads(challenge)


def test_cae_reads_the_cae_cache_first_and_falls_back(flavor, home, emulator, secret_canary):
    signed_in(emulator, secret_canary, "alice")  # only msal.cache.nocae exists
    emulator.reset()
    credential = flavor.make("SharedTokenCacheCredential", **kwargs_for(emulator))
    token = flavor.get_token(credential, GRANTED, enable_cae=True)
    assert emulator.verify_token(token.token).get("xms_cc") == ["CP1"]
    (request,) = token_requests(emulator)  # the non-CAE access token was not served for a CAE request
    assert "CP1" in request.form["claims"]


def test_rotated_refresh_token_is_kept_in_memory_and_the_cache_never_written(
    flavor, home, emulator, secret_canary
):
    signed_in(emulator, secret_canary, "alice")
    path = identity_service() / "msal.cache.nocae"
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    original = next(iter(json.loads(before[0])["RefreshToken"].values()))["secret"]
    credential = flavor.make("SharedTokenCacheCredential", **kwargs_for(emulator))
    flavor.get_token(credential, VAULT)
    del emulator.runtime.refresh_tokens._grants[original]  # Entra ID no longer accepts the cached one
    token = flavor.get_token(credential, SCOPE)  # the rotated one, from memory
    assert emulator.verify_token(token.token)["upn"] == emulator.users["alice"].username
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before  # MSAL's cache untouched
    assert sorted(p.name for p in identity_service().iterdir()) == ["msal.cache.nocae"]  # no lock file left
    assert "refresh" not in repr(credential).lower()
    copy = pickle.loads(pickle.dumps(credential))  # the rotated token isn't in the pickle...
    flavor._made.append(copy)
    assert not copy._rotated
    with pytest.raises(AuthenticationFailedError) as info:  # ...so a copy has only the cache's, rejected
        flavor.run(copy.get_token(SCOPE))
    assert "Token acquisition failed for user 'alice@emulator.test'" in str(info.value)
    assert info.value.status_code == 400 and info.value.oauth_error == "invalid_grant"


def test_pickled_credential_works(flavor, home, emulator, secret_canary):
    signed_in(emulator, secret_canary, "alice")
    credential = flavor.make("SharedTokenCacheCredential", "alice@emulator.test", **kwargs_for(emulator))
    copy = pickle.loads(pickle.dumps(credential))
    assert emulator.verify_token(flavor.run(copy.get_token(VAULT)).token)["upn"] == "alice@emulator.test"
    flavor.run(copy.close())


# -- choosing the account ---------------------------------------------------------------------------------
def test_several_accounts_need_a_username_or_tenant(flavor, home, emulator, secret_canary):
    signed_in(emulator, secret_canary, "alice", "bob")
    alice, bob = emulator.users["alice"], emulator.users["bob"]
    credential = flavor.make("SharedTokenCacheCredential", **kwargs_for(emulator))
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(credential, VAULT)
    text = str(info.value)
    assert text.startswith(
        "SharedTokenCacheCredential: Multiple accounts were found in the cache. Use username and tenant id "
        "to disambiguate."
    )
    assert f"(username: {alice.username}, tenant: {alice.tenant_id})" in text
    assert f"(username: {bob.username}, tenant: {bob.tenant_id})" in text
    assert info.value.mitigation == ROWS["shared-cache-multiple-accounts"].mitigation
    assert info.value.troubleshooting_anchor == "sharedtokencachecredential"
    by_name = flavor.make("SharedTokenCacheCredential", bob.username.upper(), **kwargs_for(emulator))
    assert emulator.verify_token(flavor.get_token(by_name, VAULT).token)["upn"] == bob.username
    by_tenant = flavor.make("SharedTokenCacheCredential", tenant_id=alice.tenant_id, **kwargs_for(emulator))
    assert emulator.verify_token(flavor.get_token(by_tenant, VAULT).token)["upn"] == alice.username


@pytest.mark.parametrize(
    ("username", "tenant", "text"),
    [
        (
            "carol@emulator.test",
            None,
            "No account matching the specified username: carol@emulator.test was found",
        ),
        (None, "00000000-0000-0000-0000-000000000000", "No account matching the specified tenant: 0000"),
        (
            "bob@other.emulator.test",
            "TENANT",
            "No account matching the specified username: bob@other.emulator.test tenant: ",
        ),
    ],
)
def test_no_matching_account(flavor, home, emulator, secret_canary, username, tenant, text):
    signed_in(emulator, secret_canary, "alice", "bob")
    tenant = emulator.tenant_id if tenant == "TENANT" else tenant
    credential = flavor.make("SharedTokenCacheCredential", username, tenant_id=tenant, **kwargs_for(emulator))
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(credential, VAULT)
    assert text in str(info.value) and "Cached accounts: (username: " in str(info.value)
    assert info.value.mitigation == ROWS["shared-cache-no-matching-account"].mitigation


def test_no_cache_at_all(flavor, home, emulator):
    credential = flavor.make("SharedTokenCacheCredential", **kwargs_for(emulator))
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(credential, VAULT)
    assert str(info.value).split("\n")[0] == (
        "SharedTokenCacheCredential: No accounts were found in the cache. Looked at: "
        "~/.IdentityService/msal.cache.nocae (not found); ~/.IdentityService/msal.cache.cae (not found)."
    )
    assert info.value.mitigation == ROWS["shared-cache-no-accounts"].mitigation
    assert not emulator.requests


def test_accounts_without_a_family_refresh_token_are_not_shared(flavor, home, emulator, secret_canary):
    """An application's own (non-FOCI) refresh token is not for the developer tools to use."""
    signed_in(emulator, secret_canary, "alice", app="public")
    credential = flavor.make("SharedTokenCacheCredential", **kwargs_for(emulator))
    with pytest.raises(CredentialUnavailableError, match="No accounts were found in the cache"):
        flavor.get_token(credential, VAULT)


def test_another_authority_s_accounts_are_not_used(flavor, home, emulator, secret_canary):
    signed_in(emulator, secret_canary, "alice")
    emulator.reset()
    credential = flavor.make("SharedTokenCacheCredential", authority="login.microsoftonline.us")
    with pytest.raises(CredentialUnavailableError, match="No accounts were found in the cache"):
        flavor.get_token(credential, VAULT)
    assert not token_requests(emulator)


def test_cache_persistence_options_name_the_cache_to_read(flavor, home, emulator, secret_canary):
    signed_in(emulator, secret_canary, "bob", name="team-tool.nocae")
    default = flavor.make("SharedTokenCacheCredential", **kwargs_for(emulator))
    with pytest.raises(CredentialUnavailableError, match="No accounts"):
        flavor.get_token(default, VAULT)
    named = flavor.make(
        "SharedTokenCacheCredential",
        cache_persistence_options=azidentity.TokenCachePersistenceOptions(
            name="team-tool", allow_unencrypted_storage=True
        ),
        **kwargs_for(emulator),
    )
    assert (
        emulator.verify_token(flavor.get_token(named, VAULT).token)["upn"] == emulator.users["bob"].username
    )
    strict = flavor.make(
        "SharedTokenCacheCredential",
        cache_persistence_options=azidentity.TokenCachePersistenceOptions(name="team-tool"),
        **kwargs_for(emulator),
    )
    with pytest.raises(CredentialUnavailableError) as info:  # plaintext is read only when allowed
        flavor.get_token(strict, VAULT)
    assert "allow_unencrypted_storage=True" in str(info.value)


def test_authentication_record_chooses_the_account_and_application(flavor, home, emulator, secret_canary):
    signed_in(emulator, secret_canary, "alice", "bob", app="vscode")
    bob = emulator.users["bob"]
    record = azidentity.AuthenticationRecord(
        bob.tenant_id,
        emulator.apps["vscode"].client_id,
        emulator.base_url,
        f"{bob.object_id}.{bob.tenant_id}",
        bob.username,
    )
    emulator.reset()
    credential = flavor.make(
        "SharedTokenCacheCredential", authentication_record=record, connection_verify=emulator.ca_bundle_path
    )
    assert emulator.verify_token(flavor.get_token(credential, VAULT).token)["upn"] == bob.username
    (request,) = token_requests(emulator)
    assert request.form["client_id"] == emulator.apps["vscode"].client_id
    assert request.path.startswith(f"/{bob.tenant_id}/")  # the record's tenant


# -- tenants -----------------------------------------------------------------------------------------------
def test_requested_tenant_and_additionally_allowed_tenants(flavor, home, emulator, secret_canary):
    signed_in(emulator, secret_canary, "alice")
    tenant = emulator.tenant_id
    emulator.reset()
    credential = flavor.make("SharedTokenCacheCredential", **kwargs_for(emulator))
    flavor.get_token(credential, VAULT, tenant_id=tenant)  # "organizations": any tenant, as azure-identity
    assert token_requests(emulator)[-1].path.startswith(f"/{tenant}/")
    pinned = flavor.make(
        "SharedTokenCacheCredential", additionally_allowed_tenants=["x"], **kwargs_for(emulator)
    )
    with pytest.raises(AuthenticationFailedError, match="not configured to acquire tokens for tenant"):
        flavor.get_token(pinned, VAULT, tenant_id=tenant)
    allowed = flavor.make(
        "SharedTokenCacheCredential", additionally_allowed_tenants=[tenant], **kwargs_for(emulator)
    )
    flavor.get_token(allowed, VAULT, tenant_id=tenant)


# -- refresh failures --------------------------------------------------------------------------------------
def test_rejected_refresh_token_fails_standalone_and_is_unavailable_in_the_chain(
    flavor, home, emulator, secret_canary, monkeypatch
):
    signed_in(emulator, secret_canary, "alice")
    emulator.runtime.refresh_tokens.revoke_all()
    credential = flavor.make("SharedTokenCacheCredential", **kwargs_for(emulator))
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(credential, VAULT)
    error = info.value
    assert str(error).startswith(
        "SharedTokenCacheCredential authentication failed: Token acquisition failed for user "
        "'alice@emulator.test': Microsoft Entra ID rejected the cached refresh token. To fix, "
        "re-authenticate through developer tooling supporting Azure single sign on"
    )
    assert (error.status_code, error.oauth_error) == (400, "invalid_grant") and error.mitigation
    assert "POST " in str(error) and "REDACTED" not in str(error).split("RESPONSE")[0]
    # Inside DefaultAzureCredential: unavailable, and the chain moves on (azure-identity does the same).
    for name in list(os.environ):
        if name.startswith("AZURE_"):
            monkeypatch.delenv(name)
    chain = flavor.make(
        "DefaultAzureCredential",
        exclude_environment_credential=True,
        exclude_workload_identity_credential=True,
        exclude_managed_identity_credential=True,
        exclude_visual_studio_code_credential=True,
        exclude_cli_credential=True,
        exclude_powershell_credential=True,
        exclude_developer_cli_credential=True,
        **kwargs_for(emulator),
    )
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(chain, VAULT)
    line = next(x for x in str(info.value).split("\n") if x.startswith("\tSharedTokenCacheCredential: "))
    assert line.startswith(
        "\tSharedTokenCacheCredential: authentication failed: Token acquisition failed for user"
    )


def test_network_failure_is_not_a_rejection(flavor, home, emulator, secret_canary):
    signed_in(emulator, secret_canary, "alice")
    emulator.faults.add("token", status=503, times=None)
    credential = flavor.make("SharedTokenCacheCredential", retry_total=0, **kwargs_for(emulator))
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(credential, VAULT)
    assert info.value.status_code == 503 and "Token acquisition failed" not in str(info.value)


# -- the chain ----------------------------------------------------------------------------------------------
def test_default_azure_credential_uses_the_shared_cache(flavor, home, emulator, secret_canary, monkeypatch):
    signed_in(emulator, secret_canary, "alice", "bob")
    for name in list(os.environ):
        if name.startswith("AZURE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AZURE_USERNAME", "bob@other.emulator.test")  # azure-identity's shared_cache_username
    monkeypatch.setenv("PATH", str(home))
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9")
    credential = flavor.make("DefaultAzureCredential", **kwargs_for(emulator))
    token = flavor.get_token(credential, VAULT)
    assert emulator.verify_token(token.token)["upn"] == "bob@other.emulator.test"
    assert type(credential._successful_credential).__name__ == "SharedTokenCacheCredential"


def test_supported_and_repr(flavor, home):
    cls = flavor.cls("SharedTokenCacheCredential")
    assert cls.supported() is True
    credential = flavor.make("SharedTokenCacheCredential", "u@x.test")
    assert repr(credential) == (
        f"<azidentity{'.aio' if flavor.is_async else ''}.SharedTokenCacheCredential username='u@x.test' "
        "authority='https://login.microsoftonline.com'>"
    )
