"""ClientAssertionCredential, OnBehalfOfCredential and UsernamePasswordCredential."""

from __future__ import annotations

from pathlib import Path

import pytest

from azidentity import AuthenticationFailedError, CredentialUnavailableError
from azidentity._protocol.assertion import build_assertion
from azidentity._protocol.certificate import load_certificate

SCOPE = "https://graph.microsoft.com/.default"


def _cert_assertion(emu, tenant):
    app = emu.apps["cert"]
    cert = load_certificate(Path(app.cert_pem_path).read_bytes(), None, "test")
    import time

    return build_assertion(cert, app.client_id, f"{emu.base_url}/{tenant}/oauth2/v2.0/token", time.time())


def test_client_assertion_callback(flavor, emulator):
    calls = []

    def func():
        calls.append(1)
        return _cert_assertion(emulator, emulator.tenant_id)

    credential = flavor.make(
        "ClientAssertionCredential",
        emulator.tenant_id,
        emulator.apps["cert"].client_id,
        func,
        authority=emulator.base_url,
        connection_verify=emulator.ca_bundle_path,
    )
    token = flavor.get_token(credential, SCOPE)
    assert emulator.verify_token(token.token)["appid"] == emulator.apps["cert"].client_id
    flavor.get_token(credential, SCOPE)
    assert calls == [1]


def test_client_assertion_callback_failure_is_named(flavor, emulator):
    def func():
        raise RuntimeError("vault unavailable")

    credential = flavor.make(
        "ClientAssertionCredential",
        emulator.tenant_id,
        "c",
        func,
        authority=emulator.base_url,
        connection_verify=emulator.ca_bundle_path,
    )
    with pytest.raises(CredentialUnavailableError, match="callback raised RuntimeError: vault unavailable"):
        flavor.get_token(credential, SCOPE)


def _user_token_for(emulator, middle_tier) -> str:
    """A user's access token whose audience is the middle-tier app (the OBO user assertion)."""
    import azidentity

    user, public = emulator.users["alice"], emulator.apps["public"]
    with pytest.warns(DeprecationWarning, match="UsernamePasswordCredential is deprecated"):
        credential = azidentity.UsernamePasswordCredential(
            public.client_id,
            user.username,
            user.password,
            tenant_id=emulator.tenant_id,
            authority=emulator.base_url,
            connection_verify=emulator.ca_bundle_path,
        )
    with credential:
        return credential.get_token(f"api://{middle_tier.client_id}/.default").token


@pytest.mark.parametrize("auth", ["secret", "certificate", "assertion"])
def test_on_behalf_of(flavor, emulator, auth, secret_canary):
    middle = emulator.apps["api" if auth == "secret" else "cert"]
    user_token = _user_token_for(emulator, middle)
    secret_canary.configuration_token(user_token)  # it is OBO's configuration: pickled, never logged
    if auth == "secret":
        kwargs = {"client_secret": middle.secret}
    elif auth == "certificate":
        kwargs = {"client_certificate": Path(middle.cert_pem_path).read_bytes()}
    else:
        kwargs = {"client_assertion_func": lambda: _cert_assertion(emulator, emulator.tenant_id)}
    credential = flavor.make(
        "OnBehalfOfCredential",
        emulator.tenant_id,
        middle.client_id,
        user_assertion=user_token,
        authority=emulator.base_url,
        connection_verify=emulator.ca_bundle_path,
        **kwargs,
    )
    token = flavor.get_token(credential, SCOPE)
    claims = emulator.verify_token(token.token)
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["oid"] == emulator.users["alice"].object_id
    form = [r.form for r in emulator.requests if r.route == "token"][-1]
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert form["requested_token_use"] == "on_behalf_of"
    assert form["assertion"] == user_token


def test_on_behalf_of_validation(flavor):
    cls = flavor.cls("OnBehalfOfCredential")
    # azure-identity's exception types and texts (tests/compat/test_compat_surface.py has them all)
    with pytest.raises(
        TypeError, match='Either "client_certificate", "client_secret", or "client_assertion_func"'
    ):
        cls("t", "c", user_assertion="x")
    with pytest.raises(ValueError, match="It is invalid to specify more than one of the following"):
        cls("t", "c", user_assertion="x", client_secret="s", client_assertion_func=lambda: "a")
    with pytest.raises(TypeError, match="must not be empty"):
        cls("t", "c", user_assertion="", client_secret="s")


def test_username_password(flavor, emulator):
    user, public = emulator.users["alice"], emulator.apps["public"]
    with pytest.warns(DeprecationWarning, match="doesn't support multifactor authentication"):
        credential = flavor.make(
            "UsernamePasswordCredential",
            public.client_id,
            user.username,
            user.password,
            tenant_id=emulator.tenant_id,
            authority=emulator.base_url,
            connection_verify=emulator.ca_bundle_path,
        )
    token = flavor.get_token(credential, SCOPE)
    assert emulator.verify_token(token.token)["oid"] == user.object_id


def test_username_password_wrong_password(flavor, emulator):
    user, public = emulator.users["alice"], emulator.apps["public"]
    with pytest.warns(DeprecationWarning):
        credential = flavor.make(
            "UsernamePasswordCredential",
            public.client_id,
            user.username,
            "wrong-password-value",
            tenant_id=emulator.tenant_id,
            authority=emulator.base_url,
            connection_verify=emulator.ca_bundle_path,
        )
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(credential, SCOPE)
    assert info.value.error_code == "AADSTS50126"
    assert info.value.troubleshooting_anchor == "usernamepasswordcredential"
    assert "wrong-password-value" not in str(info.value)
