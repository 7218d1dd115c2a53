"""DeviceCodeCredential against the emulator, whose clock the test moves: the credential's polls
are Sleep effects (injected ``_sleep`` advances the shared clock), so nothing really waits."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
import requests

import conftest
from azidentity import AuthenticationFailedError, AuthenticationRequiredError
from azidentity.emulator import Emulator
from interactive_testlib import SCOPE, VAULT_SCOPE, Clock, kwargs_for, register_refresh_tokens


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def clocked(clock: Clock) -> Iterator[Emulator]:
    with Emulator(clock=clock) as emu:
        conftest.register_info(emu.info())
        yield emu


@pytest.fixture
def emu(clocked: Emulator, secret_canary: Any) -> Iterator[Emulator]:
    clocked.reset()
    yield clocked
    register_refresh_tokens(clocked, secret_canary)


class User:
    """The person at the other device: approves (or declines) after ``after`` polls."""

    def __init__(
        self,
        emu: Emulator,
        clock: Clock,
        *,
        after: int = 0,
        action: str = "approve",
        username: str | None = None,
        lag: float = 0,
    ) -> None:
        self.emu, self.clock, self.after, self.action, self.username, self.lag = (
            emu,
            clock,
            after,
            action,
            username,
            lag,
        )
        self.prompts: list[tuple[str, str, datetime.datetime]] = []
        self.sleeps: list[float] = []

    def prompt(self, verification_uri: str, user_code: str, expires_on: datetime.datetime) -> None:
        self.prompts.append((verification_uri, user_code, expires_on))
        if self.after == 0:
            self._act()

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(seconds - self.lag if len(self.sleeps) == 1 else seconds)
        if len(self.sleeps) == self.after:
            self._act()

    def _act(self) -> None:
        user_code = self.prompts[-1][1]
        if self.action == "approve":
            self.emu.approve_device_code(user_code, self.username)
        elif self.action == "decline":
            self.emu.decline_device_code(user_code)

    def kwargs(self, **extra: Any) -> dict[str, Any]:
        return kwargs_for(
            self.emu, prompt_callback=self.prompt, _sleep=self.sleep, _clock=self.clock, **extra
        )


def polls(emu: Emulator) -> list[str]:
    """What each token request got: the grant's outcome."""
    out = []
    for r in emu.requests:
        if r.route == "token":
            out.append("token" if r.status == 200 else str(r.status))
        else:
            out.append(r.route)
    return out


def test_sign_in(flavor: Any, emu: Emulator, clock: Clock) -> None:
    user = User(emu, clock)
    credential = flavor.make("DeviceCodeCredential", **user.kwargs())
    token = flavor.get_token(credential, SCOPE)
    assert emu.verify_token(token.token)["upn"] == emu.users["alice"].username
    ((uri, code, expires_on),) = user.prompts
    assert uri == f"{emu.base_url}/devicelogin" and len(code) == 9
    assert expires_on.tzinfo == datetime.timezone.utc
    assert abs(expires_on.timestamp() - (clock() + 900 - sum(user.sleeps))) < 5
    assert user.sleeps == [5]  # the server's interval, before the first poll
    assert polls(emu) == ["devicecode", "token"]
    form = emu.requests[1].form
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:device_code" and form["client_info"] == "1"
    assert emu.requests[0].form["scope"] == f"{SCOPE} offline_access openid profile"
    assert flavor.get_token(credential, SCOPE).token == token.token


def test_default_prompt_prints_the_server_message(emu: Emulator, clock: Clock, capsys: Any) -> None:
    import azidentity

    user = User(emu, clock, after=1)
    credential = azidentity.DeviceCodeCredential(**kwargs_for(emu, _sleep=user.sleep, _clock=clock))
    original_prompt = credential._prompt

    def remember(code: Any) -> None:  # the user reads the code off the screen
        user.prompts.append(("", code.user_code, datetime.datetime.now(datetime.timezone.utc)))
        original_prompt(code)

    credential._prompt = remember
    with credential:
        credential.get_token(SCOPE)
    out = capsys.readouterr().out
    assert out == (
        f"To sign in, use a web browser to open the page {emu.base_url}/devicelogin and enter the code "
        f"{user.prompts[0][1]} to authenticate.\n"
    )


def test_polls_until_approved(flavor: Any, emu: Emulator, clock: Clock) -> None:
    user = User(emu, clock, after=3)
    credential = flavor.make("DeviceCodeCredential", **user.kwargs())
    flavor.get_token(credential, SCOPE)
    assert user.sleeps == [5, 5, 5]
    assert polls(emu) == ["devicecode", "400", "400", "token"]
    assert [r.form.get("device_code") for r in emu.requests[1:]].count(
        emu.requests[1].form["device_code"]
    ) == 3


def test_slow_down_adds_five_seconds(flavor: Any, emu: Emulator, clock: Clock) -> None:
    # The first wait is a second short: the emulator answers slow_down and from then on wants 10 s.
    user = User(emu, clock, after=2, lag=1)
    credential = flavor.make("DeviceCodeCredential", **user.kwargs())
    flavor.get_token(credential, SCOPE)
    assert user.sleeps == [5, 10]
    assert polls(emu) == ["devicecode", "400", "token"]


def test_declined(flavor: Any, emu: Emulator, clock: Clock) -> None:
    user = User(emu, clock, action="decline")
    credential = flavor.make("DeviceCodeCredential", **user.kwargs())
    with pytest.raises(AuthenticationFailedError, match="the user declined to sign in") as caught:
        flavor.get_token(credential, SCOPE)
    assert caught.value.oauth_error == "authorization_declined" and caught.value.status_code == 400
    assert "authenticate again" in caught.value.mitigation


def test_expired_code(flavor: Any, emu: Emulator, clock: Clock) -> None:
    user = User(emu, clock, action="nothing", lag=-1000)  # the user comes back after 1000 s
    credential = flavor.make("DeviceCodeCredential", **user.kwargs())
    with pytest.raises(
        AuthenticationFailedError, match="the device code expired before the user signed in"
    ) as caught:
        flavor.get_token(credential, SCOPE)
    assert caught.value.oauth_error == "expired_token"
    assert polls(emu) == ["devicecode", "400"]


def test_timeout(flavor: Any, emu: Emulator, clock: Clock) -> None:
    user = User(emu, clock, action="nothing")
    credential = flavor.make("DeviceCodeCredential", **user.kwargs(timeout=12))
    with pytest.raises(AuthenticationFailedError, match="Timed out after waiting 12 seconds") as caught:
        flavor.get_token(credential, SCOPE)
    assert user.sleeps[:2] == [5, 5] and 1.5 < user.sleeps[2] <= 2  # never waits past the deadline
    assert caught.value.mitigation and polls(emu) == ["devicecode", "400", "400", "400"]


def test_approval_through_the_verification_page(flavor: Any, emu: Emulator, clock: Clock) -> None:
    bob = emu.users["bob"]
    pages: list[requests.Response] = []

    def enter_code(verification_uri: str, user_code: str, expires_on: datetime.datetime) -> None:
        assert requests.get(verification_uri, verify=emu.ca_bundle_path, timeout=5).status_code == 200
        pages.append(
            requests.post(
                verification_uri,
                data={"user_code": user_code.lower(), "username": bob.username},
                verify=emu.ca_bundle_path,
                timeout=5,
            )
        )

    credential = flavor.make(
        "DeviceCodeCredential",
        **kwargs_for(emu, prompt_callback=enter_code, _sleep=clock.advance, _clock=clock),
    )
    record = flavor.run(credential.authenticate(scopes=[SCOPE]))
    assert pages[0].status_code == 200 and "You have signed in" in pages[0].text
    assert record.username == bob.username and record.tenant_id == emu.other_tenant_id
    assert record.home_account_id == f"{bob.object_id}.{emu.other_tenant_id}"


def test_authenticate_then_silent_with_automatic_authentication_disabled(
    flavor: Any, emu: Emulator, clock: Clock
) -> None:
    user = User(emu, clock)
    credential = flavor.make("DeviceCodeCredential", **user.kwargs(disable_automatic_authentication=True))
    with pytest.raises(AuthenticationRequiredError):
        flavor.get_token(credential, SCOPE)
    assert user.prompts == [] and emu.requests == []
    flavor.run(credential.authenticate(scopes=[SCOPE]))
    flavor.get_token(credential, VAULT_SCOPE)
    assert len(user.prompts) == 1
    assert emu.requests[-1].form["grant_type"] == "refresh_token"


def test_prompt_callback_failure_is_reported(flavor: Any, emu: Emulator, clock: Clock) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("terminal closed")

    credential = flavor.make("DeviceCodeCredential", **kwargs_for(emu, prompt_callback=broken, _clock=clock))
    with pytest.raises(
        AuthenticationFailedError, match="prompt_callback raised RuntimeError: terminal closed"
    ):
        flavor.get_token(credential, SCOPE)


def test_devicecode_errors_say_authentication_could_not_begin(
    flavor: Any, emu: Emulator, clock: Clock
) -> None:
    credential = flavor.make(
        "DeviceCodeCredential",
        **kwargs_for(emu, client_id="00000000-0000-0000-0000-000000000000", _clock=clock),
    )
    with pytest.raises(
        AuthenticationFailedError, match="Couldn't begin authentication: AADSTS700016"
    ) as caught:
        flavor.get_token(credential, SCOPE)
    assert caught.value.status_code == 400


def test_construction_checks() -> None:
    import azidentity

    with pytest.raises(ValueError, match="timeout must be a positive number"):
        azidentity.DeviceCodeCredential(timeout=-1)
    with pytest.raises(TypeError, match="prompt_callback must be a callable"):
        azidentity.DeviceCodeCredential(prompt_callback="print")  # type: ignore[arg-type]
    credential = azidentity.DeviceCodeCredential()
    assert (
        credential._client_id == "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
        and credential._tenant_id == "organizations"
    )


def test_a_coroutine_prompt_callback_is_refused(flavor: Any, emu: Emulator, clock: Clock) -> None:
    async def prompt(*args: Any) -> None:
        pass

    credential = flavor.make("DeviceCodeCredential", **kwargs_for(emu, prompt_callback=prompt, _clock=clock))
    with pytest.raises(TypeError, match="prompt_callback must be a plain function"):
        flavor.get_token(credential, SCOPE)
