"""Switching from azure-identity keeps users signed in.

A program used azure-identity's DeviceCodeCredential with ``TokenCachePersistenceOptions(name="my-app")``
and kept the AuthenticationRecord that ``authenticate()`` returned. azure-identity (through the real msal
and msal-extensions) wrote the refresh token into MSAL's cache ``my-app``. The same program, its import
line changed to azidentity, gets tokens from the same record and options without a prompt: azidentity's
own encrypted cache has nothing yet, so MSAL's cache of the same name is read, and what is redeemed is
kept in azidentity's cache from then on.

Both of azure-identity's stores on Linux: the plaintext file (msal-extensions' FilePersistence, what it
uses when libsecret is unusable and unencrypted storage is allowed) and the Secret Service item (written
by ``msal_testlib.SecretStoragePersistence`` with the schema, attributes and label azure-identity itself
passes to msal-extensions' libsecret persistence).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import azure.identity
import pytest

import azidentity
from azidentity import AuthenticationRequiredError, TokenCachePersistenceOptions
from interactive_testlib import register_refresh_tokens
from msal_testlib import SCOPE, identity_service, install_secret_storage_persistence
from persistence_testlib import cache_home, keyring_on, secret_service  # noqa: F401  (reused fixtures)

VAULT = "https://vault.azure.net/.default"
# Every test: HOME and XDG_CACHE_HOME of its own, the private Secret Service for azidentity's encrypted cache.
pytestmark = pytest.mark.usefixtures("keyring_on")


def azure_identity_sign_in(emu: Any, options: Any, user: str = "alice") -> str:
    """The old program: azure-identity's device code sign-in (the user approves at once); the record,
    serialized."""

    def approve(verification_uri: str, user_code: str, expires_on: Any) -> None:
        emu.approve_device_code(user_code, emu.users[user].username)

    credential = azure.identity.DeviceCodeCredential(
        client_id=emu.apps["public"].client_id,
        authority=emu.base_url,
        disable_instance_discovery=True,
        cache_persistence_options=options,
        prompt_callback=approve,
        connection_verify=emu.ca_bundle_path,
    )
    record = credential.authenticate(scopes=[SCOPE])
    credential.close()
    return str(record.serialize())


def new_program(flavor: Any, emu: Any, serialized: str, options: TokenCachePersistenceOptions) -> Any:
    """The same program on azidentity: same record, same options; it may not prompt."""
    return flavor.make(
        "DeviceCodeCredential",
        client_id=emu.apps["public"].client_id,
        authority=emu.base_url,  # the record names the host; MSAL drops the emulator's port from it
        authentication_record=azidentity.AuthenticationRecord.deserialize(serialized),
        cache_persistence_options=options,
        disable_automatic_authentication=True,
        connection_verify=emu.ca_bundle_path,
    )


def user_requests(emu: Any) -> list[str]:
    return [r.form.get("grant_type", r.route) for r in emu.requests if r.route in ("token", "devicecode")]


def test_plaintext_msal_cache(flavor, emulator, secret_canary, caplog):
    caplog.set_level(logging.INFO, logger="azidentity")
    old = azure.identity.TokenCachePersistenceOptions(name="my-app", allow_unencrypted_storage=True)
    serialized = azure_identity_sign_in(emulator, old)
    register_refresh_tokens(emulator, secret_canary)
    assert (
        (identity_service() / "my-app.nocae").read_text().startswith("{")
    )  # azure-identity's plaintext cache
    emulator.reset()
    options = TokenCachePersistenceOptions(name="my-app", allow_unencrypted_storage=True)
    token = flavor.get_token(new_program(flavor, emulator, serialized, options), VAULT)
    assert emulator.verify_token(token.token)["upn"] == "alice@emulator.test"
    assert user_requests(emulator) == ["refresh_token"]  # silently: no device code, no prompt
    assert "found the account's refresh token in MSAL's token cache 'my-app'" in caplog.text
    register_refresh_tokens(emulator, secret_canary)
    # From now on azidentity's own encrypted cache has the account: MSAL's cache isn't needed any more.
    for path in identity_service().iterdir():
        path.unlink()
    emulator.reset()
    again = new_program(flavor, emulator, serialized, options)
    assert flavor.get_token(again, "https://storage.azure.com/user_impersonation").token
    assert user_requests(emulator) == ["refresh_token"]
    ours = Path(os.environ["XDG_CACHE_HOME"]) / "azidentity"
    assert sorted(p.name for p in ours.iterdir()) == ["my-app.lock", "my-app.nocae.json.enc"]


def test_encrypted_msal_cache_in_the_secret_service(flavor, emulator, secret_canary, monkeypatch):
    install_secret_storage_persistence(
        monkeypatch
    )  # azure-identity's libsecret persistence, without PyGObject
    old = azure.identity.TokenCachePersistenceOptions(name="my-app")
    serialized = azure_identity_sign_in(emulator, old, user="bob")
    register_refresh_tokens(emulator, secret_canary)
    assert (identity_service() / "my-app.nocae").read_bytes() == b""  # only the change marker
    import secretstorage

    with secretstorage.dbus_init() as connection:
        (item,) = secretstorage.search_items(
            connection, {"xdg:schema": "my-app.nocae", "MsalClientID": "Microsoft.Developer.IdentityService"}
        )
        assert item.get_label() == "MSALCache"
    emulator.reset()
    credential = new_program(flavor, emulator, serialized, TokenCachePersistenceOptions(name="my-app"))
    token = flavor.get_token(credential, VAULT)
    assert emulator.verify_token(token.token)["upn"] == "bob@other.emulator.test"
    assert user_requests(emulator) == ["refresh_token"]
    delete_msal_items()


def delete_msal_items() -> None:
    import secretstorage

    with secretstorage.dbus_init() as connection:
        for item in secretstorage.search_items(
            connection, {"MsalClientID": "Microsoft.Developer.IdentityService"}
        ):
            item.delete()


def test_a_plaintext_cache_is_read_only_when_the_options_allow_it(flavor, emulator, secret_canary):
    serialized = azure_identity_sign_in(
        emulator, azure.identity.TokenCachePersistenceOptions(name="my-app", allow_unencrypted_storage=True)
    )
    register_refresh_tokens(emulator, secret_canary)
    emulator.reset()
    strict = new_program(flavor, emulator, serialized, TokenCachePersistenceOptions(name="my-app"))
    with pytest.raises(AuthenticationRequiredError):
        flavor.get_token(strict, VAULT)
    assert not user_requests(emulator)


def test_another_cache_name_or_no_options_read_nothing(flavor, emulator, secret_canary):
    serialized = azure_identity_sign_in(
        emulator, azure.identity.TokenCachePersistenceOptions(name="my-app", allow_unencrypted_storage=True)
    )
    register_refresh_tokens(emulator, secret_canary)
    emulator.reset()
    other = new_program(
        flavor,
        emulator,
        serialized,
        TokenCachePersistenceOptions(name="other-app", allow_unencrypted_storage=True),
    )
    with pytest.raises(AuthenticationRequiredError):
        flavor.get_token(other, VAULT)
    record = azidentity.AuthenticationRecord.deserialize(serialized)
    none = flavor.make(
        "DeviceCodeCredential",
        client_id=emulator.apps["public"].client_id,
        authority=emulator.base_url,
        authentication_record=record,
        disable_automatic_authentication=True,
    )
    with pytest.raises(AuthenticationRequiredError):
        flavor.get_token(none, VAULT)
    assert not user_requests(emulator)


def test_the_record_with_a_port_only_on_the_argument(emulator):
    record = azidentity.AuthenticationRecord("t", "c", "127.0.0.1", "u.t", "u")
    ok = azidentity.DeviceCodeCredential(authority=emulator.base_url, authentication_record=record)
    assert ok._authority == emulator.base_url
    with pytest.raises(ValueError, match="differs from the authentication_record's authority"):
        azidentity.DeviceCodeCredential(authority="https://127.0.0.2:4443", authentication_record=record)
    ported = azidentity.AuthenticationRecord("t", "c", emulator.base_url, "u.t", "u")
    with pytest.raises(ValueError, match="differs"):  # a record with a port is matched exactly
        azidentity.DeviceCodeCredential(authority="https://127.0.0.1", authentication_record=ported)
