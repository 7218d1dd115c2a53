"""Credentials that sign a user in: device code, browser, username/password; ``authenticate()``.

A user's test answers the device-code and token requests with a transport double, takes the prompt
with ``prompt_callback``, and plays the browser by patching ``webbrowser.open`` with a function
that posts the authorization code to the credential's redirect URI.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any
from unittest import mock
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from azure.core.exceptions import ClientAuthenticationError

from .compat_testlib import (
    AUTHORITY,
    CLIENT_ID,
    DEVICE_CODE_GRANT,
    GET_TOKEN_METHODS,
    OTHER_SCOPE,
    SCOPE,
    TENANT,
    Dynamic,
    Expect,
    Library,
    Mode,
    Script,
    assert_expires_in,
    call,
    form_of,
    mock_response,
    skip_theirs,
    user_token_payload,
)

SYNC_ONLY = "azure-identity has no async {} (README: Async DeviceCodeCredential, ...)"
ORGANIZATIONS = f"https://{AUTHORITY}/organizations/oauth2/v2.0"
methods = pytest.mark.parametrize("method", GET_TOKEN_METHODS)


def module_for(library: Library, mode: Mode, name: str) -> Any:
    if mode.is_async:
        skip_theirs(library, SYNC_ONLY.format(name))
    return mode.module(library)


def has_scope(scope: str) -> Any:
    def check(request: Any) -> None:
        assert scope in form_of(request)["scope"].split()

    return check


# --- device code ------------------------------------------------------------------------------------


@pytest.fixture
def instant_polling() -> Iterator[list[float]]:
    """What a user's device-code test does so that polling at the server's interval takes no time:
    patch ``time.sleep`` (and ``asyncio.sleep``). Returns the waits asked for."""
    waits: list[float] = []

    async def asleep(seconds: float, *args: Any) -> None:
        waits.append(seconds)

    with mock.patch("time.sleep", side_effect=waits.append), mock.patch("asyncio.sleep", asleep):
        yield waits


def device_code_exchange(script: Script, access_token: str = "user-token") -> None:
    script.add(
        Expect("POST", f"{ORGANIZATIONS}/devicecode", form={"client_id": CLIENT_ID}, check=has_scope(SCOPE)),
        mock_response(
            json_payload={
                "device_code": "device-code-value",
                "user_code": "USER-CODE",
                "verification_uri": "https://microsoft.com/devicelogin",
                "expires_in": 900,
                "interval": 5,
                "message": "To sign in, use a web browser to open https://microsoft.com/devicelogin ...",
            }
        ),
    )
    script.add(
        Expect(
            "POST",
            f"{ORGANIZATIONS}/token",
            form={
                "grant_type": DEVICE_CODE_GRANT,
                "device_code": "device-code-value",
                "client_id": CLIENT_ID,
            },
        ),
        mock_response(json_payload=user_token_payload(access_token)),
    )


@methods
def test_device_code_sign_in(library: Library, mode: Mode, method: str, instant_polling: list[float]) -> None:
    module = module_for(library, mode, "DeviceCodeCredential")
    script = Script()
    device_code_exchange(script)
    prompts: list[tuple[Any, ...]] = []
    credential = module.DeviceCodeCredential(
        CLIENT_ID, prompt_callback=lambda *args: prompts.append(args), transport=mode.transport(script)
    )
    token = call(mode, credential, method, SCOPE)
    assert token.token == "user-token"
    assert_expires_in(token)
    ((uri, user_code, expires_on),) = prompts
    assert (uri, user_code) == ("https://microsoft.com/devicelogin", "USER-CODE")
    assert isinstance(expires_on, datetime.datetime)
    assert abs(expires_on.timestamp() - (datetime.datetime.now(datetime.timezone.utc).timestamp() + 900)) < 60
    assert script.unanswered == 0


def test_device_code_polls_at_the_server_interval(
    library: Library, mode: Mode, instant_polling: list[float]
) -> None:
    """The user has not signed in at the first poll: the credential waits ``interval`` seconds (through
    ``time.sleep`` / ``asyncio.sleep``, which a test may patch) and polls again."""
    module = module_for(library, mode, "DeviceCodeCredential")
    script = Script()
    device_code_exchange(script)
    pending = {
        "error": "authorization_pending",
        "error_description": "AADSTS70016: pending",
        "error_codes": [70016],
    }
    script._exchanges.insert(
        1, (Expect("POST", f"{ORGANIZATIONS}/token"), mock_response(400, json_payload=pending))
    )
    credential = module.DeviceCodeCredential(
        CLIENT_ID, prompt_callback=lambda *a: None, transport=mode.transport(script)
    )
    assert call(mode, credential, "get_token", SCOPE).token == "user-token"
    assert 5 <= sum(instant_polling) < 10 + 1
    assert script.unanswered == 0


def test_device_code_authenticate_then_refresh_silently(
    library: Library, mode: Mode, instant_polling: Any
) -> None:
    module = module_for(library, mode, "DeviceCodeCredential")
    script = Script()
    device_code_exchange(script)
    credential = module.DeviceCodeCredential(
        CLIENT_ID, prompt_callback=lambda *a: None, transport=mode.transport(script)
    )
    record = mode.run(credential.authenticate(scopes=[SCOPE]))
    assert isinstance(record, library.AuthenticationRecord)
    assert record.username == "user@contoso.com"
    assert record.home_account_id == f"user-object-id.{TENANT}"
    assert record.tenant_id == TENANT and record.client_id == CLIENT_ID and record.authority == AUTHORITY

    # The sign-in's refresh token serves another scope without another prompt.
    script.add(
        Expect(
            "POST", check=lambda r: form_of(r)["grant_type"] == "refresh_token" and has_scope(OTHER_SCOPE)(r)
        ),
        mock_response(json_payload=user_token_payload("second-token")),
    )
    assert call(mode, credential, "get_token", OTHER_SCOPE).token == "second-token"
    assert script.unanswered == 0


@methods
def test_disable_automatic_authentication(library: Library, mode: Mode, method: str) -> None:
    module = module_for(library, mode, "DeviceCodeCredential")
    script = Script()
    credential = module.DeviceCodeCredential(
        CLIENT_ID, disable_automatic_authentication=True, transport=mode.transport(script)
    )
    with pytest.raises(library.AuthenticationRequiredError) as raised:
        call(mode, credential, method, SCOPE)
    assert isinstance(raised.value, library.CredentialUnavailableError)
    assert list(raised.value.scopes) == [SCOPE]
    assert script.requests == []


def test_authenticate_without_scopes_uses_the_management_scope(
    library: Library, instant_polling: Any
) -> None:
    scopes: list[str] = []

    def check(request: Any) -> None:
        scopes.extend(form_of(request)["scope"].split())

    script = Script()
    device_code_exchange(script)
    script._exchanges[0][0].check = check  # the device code request carries the scopes
    credential = library.sync.DeviceCodeCredential(
        CLIENT_ID, prompt_callback=lambda *a: None, transport=mock.MagicMock(send=mock.Mock(wraps=script))
    )
    credential.authenticate()
    assert "https://management.core.windows.net//.default" in scopes


def test_authenticate_needs_scopes_in_an_unknown_cloud(library: Library) -> None:
    credential = library.sync.DeviceCodeCredential(
        CLIENT_ID, authority="https://login.example.test", transport=mock.MagicMock()
    )
    with pytest.raises(library.CredentialUnavailableError, match="'scopes'"):
        credential.authenticate()


def test_authentication_record_is_used(library: Library, mode: Mode) -> None:
    """A record from an earlier sign-in names the account; without a cached refresh token and with
    automatic authentication disabled, the credential asks for ``authenticate()``."""
    module = module_for(library, mode, "DeviceCodeCredential")
    record = library.AuthenticationRecord(TENANT, CLIENT_ID, AUTHORITY, f"uid.{TENANT}", "user@contoso.com")
    credential = module.DeviceCodeCredential(
        authentication_record=record,
        disable_automatic_authentication=True,
        transport=mode.transport(Script()),
    )
    with pytest.raises(library.AuthenticationRequiredError):
        call(mode, credential, "get_token", SCOPE)


# --- browser ------------------------------------------------------------------------------------------


class FakeBrowser:
    """Plays the user's browser: signs in at once, posting the code to the redirect URI."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.nonce: str | None = None
        self.failures: list[BaseException] = []
        self._threads: list[threading.Thread] = []

    def open(self, url: str, *args: Any, **kwargs: Any) -> bool:
        self.urls.append(url)
        query = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
        self.nonce = query.get("nonce")
        thread = threading.Thread(
            target=self._redirect, args=(query["redirect_uri"], query["state"]), daemon=True
        )
        thread.start()
        self._threads.append(thread)
        return True

    def _redirect(self, redirect_uri: str, state: str) -> None:
        try:
            body = urlencode({"code": "authorization-code", "state": state}).encode()
            with urllib.request.urlopen(
                urllib.request.Request(redirect_uri, data=body), timeout=10
            ) as response:
                response.read()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.failures.append(error)

    def join(self) -> None:
        for thread in self._threads:
            thread.join(10)


@pytest.fixture
def browser() -> Iterator[FakeBrowser]:
    fake = FakeBrowser()
    with mock.patch("webbrowser.open", fake.open):
        yield fake
    fake.join()


def browser_exchange(script: Script, browser: FakeBrowser, access_token: str = "browser-token") -> None:
    script.add(
        Expect(
            "POST",
            f"{ORGANIZATIONS}/token",
            form={"grant_type": "authorization_code", "code": "authorization-code", "client_id": CLIENT_ID},
        ),
        Dynamic(
            lambda request: mock_response(json_payload=user_token_payload(access_token, nonce=browser.nonce))
        ),
    )


@methods
def test_browser_sign_in(library: Library, mode: Mode, method: str, browser: FakeBrowser) -> None:
    module = module_for(library, mode, "InteractiveBrowserCredential")
    script = Script()
    browser_exchange(script, browser)
    credential = module.InteractiveBrowserCredential(
        client_id=CLIENT_ID, timeout=30, transport=mode.transport(script)
    )
    token = call(mode, credential, method, SCOPE)
    assert token.token == "browser-token"
    (url,) = browser.urls
    assert url.startswith(f"{ORGANIZATIONS}/authorize?")
    query = parse_qs(urlparse(url).query)
    assert query["client_id"] == [CLIENT_ID] and query["response_type"] == ["code"]
    assert SCOPE in query["scope"][0].split()
    assert not browser.failures


def test_browser_login_hint(library: Library, browser: FakeBrowser) -> None:
    script = Script()
    browser_exchange(script, browser)
    credential = library.sync.InteractiveBrowserCredential(
        client_id=CLIENT_ID,
        login_hint="user@contoso.com",
        transport=mock.MagicMock(send=mock.Mock(wraps=script)),
    )
    credential.get_token(SCOPE)
    assert parse_qs(urlparse(browser.urls[0]).query)["login_hint"] == ["user@contoso.com"]


def test_browser_authenticate(library: Library, mode: Mode, browser: FakeBrowser) -> None:
    module = module_for(library, mode, "InteractiveBrowserCredential")
    script = Script()
    browser_exchange(script, browser)
    credential = module.InteractiveBrowserCredential(
        client_id=CLIENT_ID, timeout=30, transport=mode.transport(script)
    )
    record = mode.run(credential.authenticate(scopes=[SCOPE]))
    assert record.username == "user@contoso.com" and record.home_account_id == f"user-object-id.{TENANT}"


def test_browser_redirect_uri_needs_a_port(library: Library) -> None:
    with pytest.raises(ValueError, match="redirect_uri"):
        library.sync.InteractiveBrowserCredential(redirect_uri="http://localhost")


def test_browser_that_cannot_open(library: Library) -> None:
    script = Script()
    with redirect_servers_closed(library):
        credential = library.sync.InteractiveBrowserCredential(
            client_id=CLIENT_ID, transport=mock.MagicMock(send=mock.Mock(wraps=script))
        )
        with (
            mock.patch("webbrowser.open", lambda *a, **k: False),
            mock.patch("platform.uname", return_value=("Linux", "h", "6.0-generic", "", "x86_64", "")),
        ):
            with pytest.raises(ClientAuthenticationError):
                credential.get_token(SCOPE)
    assert script.requests == []


@contextlib.contextmanager
def redirect_servers_closed(library: Library) -> Iterator[None]:
    """azure-identity leaves its redirect server listening when no browser opens (its code: the server
    is a local of the failed call, kept alive by the logged error's traceback until pytest drops the
    test's log records). Its servers are recorded and closed here; azidentity's side is left alone."""
    if library.ours:
        yield
        return
    from azure.identity._internal.auth_code_redirect_handler import AuthCodeRedirectServer

    servers: list[AuthCodeRedirectServer] = []

    class Recorded(AuthCodeRedirectServer):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            servers.append(self)

    try:
        with mock.patch("azure.identity._credentials.browser.AuthCodeRedirectServer", Recorded):
            yield
    finally:
        for server in servers:
            server.server_close()


# --- username and password ------------------------------------------------------------------------------


def test_username_password_is_deprecated(library: Library) -> None:
    with pytest.warns(DeprecationWarning, match="UsernamePasswordCredential is deprecated"):
        library.sync.UsernamePasswordCredential(CLIENT_ID, "user@contoso.com", "password")


def test_environment_with_username_and_password(library: Library) -> None:
    env = {"AZURE_CLIENT_ID": CLIENT_ID, "AZURE_USERNAME": "user@contoso.com", "AZURE_PASSWORD": "password"}
    script = Script(
        (
            Expect(
                "POST",
                f"{ORGANIZATIONS}/token",
                form={"grant_type": "password", "username": "user@contoso.com"},
            ),
            mock_response(json_payload=user_token_payload("password-token")),
        )
    )
    with mock.patch.dict(os.environ, env), pytest.warns(DeprecationWarning, match="username and password"):
        credential = library.sync.EnvironmentCredential(
            transport=mock.MagicMock(send=mock.Mock(wraps=script))
        )
    assert credential.get_token(SCOPE).token == "password-token"


def test_username_password_authenticate(library: Library, mode: Mode) -> None:
    module = module_for(library, mode, "UsernamePasswordCredential")
    script = Script(
        (
            Expect(
                "POST",
                f"{ORGANIZATIONS}/token",
                form={"grant_type": "password", "username": "user@contoso.com"},
            ),
            mock_response(json_payload=user_token_payload("password-token")),
        )
    )
    with pytest.warns(DeprecationWarning, match="UsernamePasswordCredential is deprecated"):
        credential = module.UsernamePasswordCredential(
            CLIENT_ID, "user@contoso.com", "password", transport=mode.transport(script)
        )
    record = mode.run(credential.authenticate(scopes=[SCOPE]))
    assert record.username == "user@contoso.com"
    assert call(mode, credential, "get_token", SCOPE).token == "password-token"  # cached by authenticate
