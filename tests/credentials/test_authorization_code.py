"""AuthorizationCodeCredential with codes the test obtains from the emulator's /authorize."""

from __future__ import annotations

import pickle
import time
from typing import Any

import pytest

from azidentity import AuthenticationFailedError
from interactive_testlib import REDIRECT_URI, SCOPE, VAULT_SCOPE, get_code, register_refresh_tokens


@pytest.fixture(autouse=True)
def _canary(emulator: Any, secret_canary: Any) -> Any:
    yield
    register_refresh_tokens(emulator, secret_canary)


def make(flavor: Any, emu: Any, code: str, app: str = "public", **kwargs: Any) -> Any:
    kwargs.setdefault("redirect_uri", REDIRECT_URI)
    return flavor.make(
        "AuthorizationCodeCredential",
        emu.tenant_id,
        emu.apps[app].client_id,
        code,
        authority=emu.base_url,
        connection_verify=emu.ca_bundle_path,
        **kwargs,
    )


def token_grants(emu: Any) -> list[str]:
    return [r.form["grant_type"] for r in emu.requests if r.route == "token"]


def test_redeems_once_then_caches_and_refreshes(flavor: Any, emulator: Any, secret_canary: Any) -> None:
    code = get_code(emulator, canary=secret_canary)
    emulator.reset()
    credential = make(flavor, emulator, code)
    token = flavor.get_token(credential, SCOPE)
    assert emulator.verify_token(token.token)["upn"] == emulator.users["alice"].username
    form = emulator.requests[0].form
    assert (form["code"], form["redirect_uri"], form["client_info"]) == (code, REDIRECT_URI, "1")
    assert "client_secret" not in form and form["scope"] == SCOPE
    assert flavor.get_token(credential, SCOPE).token == token.token
    vault = flavor.get_token(credential, VAULT_SCOPE)  # any scope, with the refresh token
    assert emulator.verify_token(vault.token)["aud"] == "https://vault.azure.net"
    assert token_grants(emulator) == ["authorization_code", "refresh_token"]
    assert code not in repr(credential)


def test_refresh_after_expiry(flavor: Any, emulator: Any) -> None:
    now = [time.time()]
    credential = make(flavor, emulator, get_code(emulator), _clock=lambda: now[0])
    first = flavor.get_token(credential, SCOPE)
    now[0] = first.expires_on + 10
    second = flavor.get_token(credential, SCOPE)
    assert second.token != first.token
    assert token_grants(emulator) == ["authorization_code", "refresh_token"]


def test_confidential_client_sends_its_secret(flavor: Any, emulator: Any) -> None:
    app = emulator.apps["secret"]
    credential = make(
        flavor, emulator, get_code(emulator, app="secret"), app="secret", client_secret=app.secret
    )
    token = flavor.get_token(credential, SCOPE)
    assert emulator.verify_token(token.token)["appidacr"] == "1"
    assert emulator.requests[-1].form["client_secret"] == app.secret
    data = pickle.dumps(credential)
    assert not any(rt.encode() in data for rt in emulator.runtime.refresh_tokens._grants)


def test_a_code_is_single_use(flavor: Any, emulator: Any) -> None:
    code = get_code(emulator)
    flavor.get_token(make(flavor, emulator, code), SCOPE)
    with pytest.raises(AuthenticationFailedError, match="AADSTS54005") as caught:
        flavor.get_token(make(flavor, emulator, code), SCOPE)
    assert caught.value.oauth_error == "invalid_grant"


def test_redirect_uri_must_match(flavor: Any, emulator: Any) -> None:
    credential = make(flavor, emulator, get_code(emulator), redirect_uri="http://localhost:8765/other")
    with pytest.raises(AuthenticationFailedError, match="AADSTS500112"):
        flavor.get_token(credential, SCOPE)


def test_nothing_left_after_the_refresh_token_is_rejected(flavor: Any, emulator: Any) -> None:
    credential = make(flavor, emulator, get_code(emulator))
    flavor.get_token(credential, SCOPE)
    emulator.runtime.refresh_tokens.revoke_all()
    with pytest.raises(AuthenticationFailedError, match="AADSTS70000"):
        flavor.get_token(credential, VAULT_SCOPE)
    with pytest.raises(
        AuthenticationFailedError,
        match="No authorization code, cached access token, or refresh token available.",
    ) as caught:
        flavor.get_token(credential, VAULT_SCOPE)
    assert "new authorization code" in caught.value.mitigation
    assert token_grants(emulator) == ["authorization_code", "refresh_token"]


def test_construction_checks(flavor: Any, emulator: Any) -> None:
    with pytest.raises(ValueError, match="authorization_code"):
        make(flavor, emulator, "")
    with pytest.raises(ValueError, match="redirect_uri"):
        make(flavor, emulator, "code", redirect_uri="")
