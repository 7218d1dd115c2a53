"""InteractiveBrowserCredential end to end: the test plays the browser against the emulator's
/authorize and the credential's own redirect server, over real sockets, sync and async."""

from __future__ import annotations

import asyncio
import pickle
import socket
import time
from typing import Any

import pytest
import requests

import azidentity
from azidentity import (
    AuthenticationFailedError,
    AuthenticationRecord,
    AuthenticationRequiredError,
    CredentialUnavailableError,
)
from azidentity._protocol.user_effects import BrowserAuthorization, RedirectResult
from interactive_testlib import SCOPE, VAULT_SCOPE, Browser, follow, kwargs_for, register_refresh_tokens


@pytest.fixture(autouse=True)
def _canary(emulator: Any, secret_canary: Any) -> Any:
    yield
    register_refresh_tokens(emulator, secret_canary)


def browser_credential(flavor: Any, emu: Any, browser: Any = None, **kwargs: Any) -> Any:
    return flavor.make("InteractiveBrowserCredential", **kwargs_for(emu, _open_browser=browser, **kwargs))


def test_sign_in_end_to_end(flavor: Any, emulator: Any) -> None:
    browser = Browser(emulator)
    credential = browser_credential(flavor, emulator, browser)
    token = flavor.get_token(credential, SCOPE)
    claims = emulator.verify_token(token.token)
    alice = emulator.users["alice"]
    assert claims["upn"] == alice.username and claims["aud"] == "https://storage.azure.com"
    assert claims["appid"] == emulator.apps["public"].client_id
    # What went over the wire
    query = browser.last_query
    assert query["response_type"] == "code" and query["prompt"] == "select_account"
    assert query["response_mode"] == "form_post" and query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43 and query["state"]
    assert query["scope"].split() == [SCOPE, "offline_access", "openid", "profile"]
    port = int(query["redirect_uri"].rsplit(":", 1)[1])
    assert query["redirect_uri"] == f"http://localhost:{port}" and 8400 <= port < 9000
    assert [r.route for r in emulator.requests] == ["authorize", "token"]
    form = emulator.requests[1].form
    assert form["grant_type"] == "authorization_code" and form["redirect_uri"] == query["redirect_uri"]
    assert len(form["code_verifier"]) == 43 and form["client_info"] == "1"
    (page,) = browser.pages
    assert page.status_code == 200 and "Authentication complete. You can close this window." in page.text
    # The server is gone once the sign-in is over.
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/", timeout=2)
    # Cached: no second prompt.
    assert flavor.get_token(credential, SCOPE).token == token.token
    assert len(browser.urls) == 1


def test_query_response_mode_reaches_the_server_as_a_get(flavor: Any, emulator: Any) -> None:
    browser = Browser(
        emulator, rewrite=lambda url: url.replace("response_mode=form_post", "response_mode=query")
    )
    credential = browser_credential(flavor, emulator, browser)
    flavor.get_token(credential, SCOPE)
    assert "Authentication complete" in browser.pages[0].text
    assert browser.pages[0].request.method == "GET"


def test_login_hint_and_explicit_redirect_uri(flavor: Any, emulator: Any) -> None:
    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    browser = Browser(emulator)
    bob = emulator.users["bob"]
    credential = browser_credential(
        flavor, emulator, browser, login_hint=bob.username, redirect_uri=f"http://localhost:{port}/callback"
    )
    record = flavor.run(credential.authenticate(scopes=[SCOPE]))
    assert record.username == bob.username and record.tenant_id == emulator.other_tenant_id
    assert browser.last_query["login_hint"] == bob.username
    assert browser.last_query["redirect_uri"] == f"http://localhost:{port}/callback"


def test_authenticate_returns_a_record_and_later_scopes_are_silent(flavor: Any, emulator: Any) -> None:
    browser = Browser(emulator)
    credential = browser_credential(flavor, emulator, browser)
    record = flavor.run(credential.authenticate(scopes=[SCOPE]))
    alice = emulator.users["alice"]
    host = emulator.base_url.split("://")[1]
    assert isinstance(record, AuthenticationRecord)
    assert (record.username, record.tenant_id, record.client_id, record.authority) == (
        alice.username,
        emulator.tenant_id,
        emulator.apps["public"].client_id,
        host,
    )
    assert record.home_account_id == f"{alice.object_id}.{emulator.tenant_id}"
    # The token authenticate() got is cached; another resource is served by the refresh token.
    flavor.get_token(credential, SCOPE)
    token = flavor.get_token(credential, VAULT_SCOPE)
    assert emulator.verify_token(token.token)["aud"] == "https://vault.azure.net"
    assert [r.route for r in emulator.requests] == ["authorize", "token", "token"]
    assert emulator.requests[-1].form["grant_type"] == "refresh_token"
    assert len(browser.urls) == 1
    # authenticate() always asks the user.
    flavor.run(credential.authenticate(scopes=[SCOPE]))
    assert len(browser.urls) == 2


def test_refresh_after_expiry_without_a_prompt(flavor: Any, emulator: Any) -> None:
    now = [time.time()]
    browser = Browser(emulator)
    credential = browser_credential(flavor, emulator, browser, _clock=lambda: now[0])
    first = flavor.get_token(credential, SCOPE)
    now[0] = first.expires_on + 1
    second = flavor.get_token(credential, SCOPE)
    assert second.token != first.token and second.expires_on > now[0]
    assert len(browser.urls) == 1
    assert [r.form.get("grant_type") for r in emulator.requests if r.route == "token"] == [
        "authorization_code",
        "refresh_token",
    ]


def test_disable_automatic_authentication(flavor: Any, emulator: Any) -> None:
    browser = Browser(emulator)
    credential = browser_credential(flavor, emulator, browser, disable_automatic_authentication=True)
    claims = '{"access_token": {"nbf": {"essential": true}}}'
    with pytest.raises(AuthenticationRequiredError) as caught:
        flavor.get_token(credential, SCOPE, claims=claims)
    assert tuple(caught.value.scopes) == (SCOPE,) and caught.value.claims == claims
    assert "Call 'authenticate' to begin" in str(caught.value) and caught.value.mitigation
    assert browser.urls == [] and emulator.requests == []
    record = flavor.run(credential.authenticate(scopes=[SCOPE]))
    assert record.username == emulator.users["alice"].username
    flavor.get_token(credential, VAULT_SCOPE)  # silent from now on
    assert len(browser.urls) == 1


def test_record_without_a_refresh_token_requires_authentication(flavor: Any, emulator: Any) -> None:
    first = browser_credential(flavor, emulator, Browser(emulator))
    record = flavor.run(first.authenticate(scopes=[SCOPE]))
    # Another instance has its own (empty) in-memory store: it must ask the user.
    browser = Browser(emulator)
    second = browser_credential(
        flavor, emulator, browser, authentication_record=record, disable_automatic_authentication=True
    )
    with pytest.raises(AuthenticationRequiredError):
        flavor.get_token(second, SCOPE)
    assert browser.urls == []
    third = browser_credential(flavor, emulator, browser, authentication_record=record)
    flavor.get_token(third, SCOPE)
    assert len(browser.urls) == 1


def test_rejected_refresh_token_is_evicted_and_the_user_asked_again(flavor: Any, emulator: Any) -> None:
    browser = Browser(emulator)
    credential = browser_credential(flavor, emulator, browser)
    flavor.run(credential.authenticate(scopes=[SCOPE]))
    emulator.runtime.refresh_tokens.revoke_all()
    flavor.get_token(credential, VAULT_SCOPE)
    assert len(browser.urls) == 2  # invalid_grant on refresh -> interactive again
    grants = [r.form.get("grant_type") for r in emulator.requests if r.route == "token"]
    assert grants == ["authorization_code", "refresh_token", "authorization_code"]
    # With automatic authentication disabled the rejection surfaces as AuthenticationRequiredError.
    strict = browser_credential(flavor, emulator, browser, disable_automatic_authentication=True)
    flavor.run(strict.authenticate(scopes=[SCOPE]))
    emulator.runtime.refresh_tokens.revoke_all()
    with pytest.raises(AuthenticationRequiredError) as caught:
        flavor.get_token(strict, VAULT_SCOPE)
    assert caught.value.status_code == 400 and caught.value.oauth_error == "invalid_grant"
    emulator.reset()
    with pytest.raises(AuthenticationRequiredError):  # evicted: not even tried again
        flavor.get_token(strict, "https://graph.microsoft.com/.default")
    assert emulator.requests == []


def test_claims_challenge_bypasses_the_cache_and_goes_with_the_refresh(flavor: Any, emulator: Any) -> None:
    browser = Browser(emulator)
    credential = browser_credential(flavor, emulator, browser)
    flavor.run(credential.authenticate(scopes=[SCOPE]))
    claims = '{"access_token": {"nbf": {"essential": true}}}'
    token = flavor.get_token(credential, SCOPE, claims=claims, enable_cae=True)
    request = emulator.requests[-1]
    assert request.form["grant_type"] == "refresh_token" and '"xms_cc"' in request.form["claims"]
    assert emulator.verify_token(token.token)["xms_cc"] == ["CP1"]
    assert len(browser.urls) == 1


def test_timeout(flavor: Any, emulator: Any) -> None:
    browser = Browser(emulator, act=False)  # the user never signs in
    credential = browser_credential(flavor, emulator, browser, timeout=0.3)
    start = time.monotonic()
    with pytest.raises(
        AuthenticationFailedError, match="Timed out after waiting 0.3 seconds for the user to authenticate"
    ) as caught:
        flavor.get_token(credential, SCOPE)
    assert time.monotonic() - start < 5
    assert (
        caught.value.troubleshooting_anchor == "interactive-sign-in" and "timeout" in caught.value.mitigation
    )
    assert emulator.requests == []


def test_timeout_inside_a_chain_is_unavailable(emulator: Any) -> None:
    chain = azidentity.ChainedTokenCredential(
        azidentity.InteractiveBrowserCredential(
            **kwargs_for(emulator, _open_browser=Browser(emulator, act=False), timeout=0.2)
        )
    )
    with pytest.raises(CredentialUnavailableError, match="Timed out after waiting 0.2 seconds"):
        chain.get_token(SCOPE)


def test_no_browser_is_unavailable(flavor: Any, emulator: Any) -> None:
    credential = browser_credential(flavor, emulator, Browser(emulator, opens=False))
    with pytest.raises(CredentialUnavailableError, match="Failed to open a browser") as caught:
        flavor.get_token(credential, SCOPE)
    assert "DeviceCodeCredential" in caught.value.mitigation

    def broken(url: str) -> bool:
        raise OSError("no display")

    credential = browser_credential(flavor, emulator, broken)
    with pytest.raises(CredentialUnavailableError, match=r"Failed to open a browser \(OSError: no display\)"):
        flavor.get_token(credential, SCOPE)


def test_busy_redirect_port_is_unavailable(flavor: Any, emulator: Any) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        credential = browser_credential(
            flavor, emulator, Browser(emulator), redirect_uri=f"http://localhost:{port}"
        )
        with pytest.raises(
            CredentialUnavailableError, match=f"Couldn't start an HTTP server on localhost:{port}"
        ):
            flavor.get_token(credential, SCOPE)


def test_redirect_uri_needs_a_port() -> None:
    message = '"redirect_uri" must be a URL with port number, for example "http://localhost:8400"'
    with pytest.raises(ValueError, match=message):
        azidentity.InteractiveBrowserCredential(redirect_uri="http://localhost")
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        azidentity.InteractiveBrowserCredential(timeout=0)


def test_a_response_with_another_state_is_ignored(flavor: Any, emulator: Any) -> None:
    forged: list[requests.Response] = []

    def attacker_then_user(url: str) -> bool:
        redirect_uri = url.split("redirect_uri=")[1].replace("%3A", ":").replace("%2F", "/")
        forged.append(requests.post(redirect_uri, data={"code": "forged", "state": "guess"}, timeout=5))
        follow(emulator, url)
        return True

    credential = browser_credential(flavor, emulator, attacker_then_user)
    token = flavor.get_token(credential, SCOPE)
    assert forged[0].status_code == 400 and "ignored" in forged[0].text
    assert emulator.verify_token(token.token)["upn"] == emulator.users["alice"].username


def test_sign_in_error_from_the_authorize_page(flavor: Any, emulator: Any) -> None:
    credential = browser_credential(flavor, emulator, Browser(emulator), login_hint="nobody@emulator.test")
    with pytest.raises(
        AuthenticationFailedError, match="the sign-in page answered invalid_request: AADSTS50034"
    ):
        flavor.get_token(credential, SCOPE)
    assert [r.route for r in emulator.requests] == ["authorize"]


def test_async_sign_in_does_not_block_the_event_loop(emulator: Any) -> None:
    import azidentity.aio

    async def main() -> int:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        def slow_user(url: str) -> bool:
            time.sleep(0.3)  # the user takes a while (in the browser launcher's thread)
            follow(emulator, url)
            return True

        task = asyncio.ensure_future(ticker())
        async with azidentity.aio.InteractiveBrowserCredential(
            **kwargs_for(emulator, _open_browser=slow_user)
        ) as cred:
            await cred.get_token(SCOPE)
        stop.set()
        await task
        return ticks

    assert asyncio.run(main()) >= 10


def test_authenticate_needs_scopes_outside_known_clouds(flavor: Any, emulator: Any) -> None:
    credential = browser_credential(flavor, emulator, Browser(emulator))
    with pytest.raises(
        CredentialUnavailableError, match="requires a value for the 'scopes' keyword argument"
    ):
        flavor.run(credential.authenticate())
    # In a known cloud, authenticate() asks for Azure Resource Manager's scope.
    public = azidentity.InteractiveBrowserCredential()
    assert public._authenticate_request(None, None, None, False).scopes == (
        "https://management.core.windows.net//.default",
    )
    china = azidentity.InteractiveBrowserCredential(authority="login.chinacloudapi.cn")
    assert china._authenticate_request(None, None, None, False).scopes == (
        "https://management.core.chinacloudapi.cn//.default",
    )


def test_record_overrides_client_id_and_authority(emulator: Any) -> None:
    record = AuthenticationRecord(
        emulator.tenant_id, "record-client", "login.microsoftonline.us", "uid.utid", "u@x"
    )
    credential = azidentity.InteractiveBrowserCredential(client_id="ignored", authentication_record=record)
    assert credential._client_id == "record-client" and credential._tenant_id == emulator.tenant_id
    assert credential._authority == "https://login.microsoftonline.us"
    assert (
        azidentity.InteractiveBrowserCredential(authentication_record=record, tenant_id="other")._tenant_id
        == "other"
    )
    with pytest.raises(ValueError, match="differs from the authentication_record's authority"):
        azidentity.InteractiveBrowserCredential(
            authentication_record=record, authority="login.microsoftonline.com"
        )
    # azure-identity's record works too.
    from azure.identity import AuthenticationRecord as TheirRecord

    theirs = TheirRecord(emulator.tenant_id, "their-client", "login.microsoftonline.com", "uid.utid", "u@x")
    assert azidentity.InteractiveBrowserCredential(authentication_record=theirs)._client_id == "their-client"


def test_secrets_stay_out_of_pickles_reprs_and_logs(flavor: Any, emulator: Any, caplog: Any) -> None:
    caplog.set_level("DEBUG")
    credential = browser_credential(flavor, emulator, Browser(emulator))
    flavor.run(credential.authenticate(scopes=[SCOPE]))
    refresh_tokens = list(emulator.runtime.refresh_tokens._grants)
    assert refresh_tokens
    data = pickle.dumps(credential)
    assert not any(rt.encode() in data for rt in refresh_tokens)
    assert not any(rt in repr(credential) or rt in caplog.text for rt in refresh_tokens)
    copy = pickle.loads(data)
    assert copy._auth_record == credential._auth_record and copy._open_browser is None
    with pytest.raises(TypeError, match="never pickled"):
        pickle.dumps(credential._user_store)


def test_flow_can_be_stepped_without_io(emulator: Any) -> None:
    """The sans-IO shape: the browser effect is a plain value; a test answers it."""
    from azidentity._credential import TokenRequest

    credential = azidentity.InteractiveBrowserCredential(**kwargs_for(emulator))
    flow = credential._flow(TokenRequest((SCOPE,)))
    effect = next(flow)
    assert isinstance(effect, BrowserAuthorization) and effect.ports[0] == 8400 and effect.timeout == 300
    with pytest.raises(AuthenticationFailedError, match="state parameter doesn't match"):
        flow.send(RedirectResult("http://localhost:8400", {"code": "c", "state": "wrong"}))
    flow = credential._flow(TokenRequest((SCOPE,)))
    effect = next(flow)
    with pytest.raises(
        AuthenticationFailedError, match="the sign-in page answered access_denied: AADSTS65004"
    ):
        flow.send(
            RedirectResult(
                "http://localhost:8400",
                {
                    "state": effect.state,
                    "error": "access_denied",
                    "error_description": (
                        "AADSTS65004: User declined to consent to access the app.\r\nTrace ID: x"
                    ),
                },
            )
        )
    flow = credential._flow(TokenRequest((SCOPE,)))
    next(flow)
    with pytest.raises(AuthenticationFailedError, match="Timed out after waiting 300 seconds"):
        flow.send(RedirectResult("http://localhost:8400", failure="timeout"))


def test_default_azure_credential_builds_the_browser_member(emulator: Any) -> None:
    dac = azidentity.DefaultAzureCredential(
        exclude_interactive_browser_credential=False,
        interactive_browser_tenant_id=emulator.tenant_id,
        interactive_browser_client_id=emulator.apps["public"].client_id,
        authority=emulator.base_url,
        _env={},
    )
    member = dac.credentials[-2]  # before the broker, the sync chain's last member (as in azure-identity)
    assert type(member) is azidentity.InteractiveBrowserCredential
    assert member._tenant_id == emulator.tenant_id and member._client_id == emulator.apps["public"].client_id
    assert member._authority == emulator.base_url
