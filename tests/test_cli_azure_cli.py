"""AzureCliCredential specifics: subscriptions, the CLI's expiry formats, errors with AADSTS codes."""

from __future__ import annotations

import time
from typing import Any

import pytest

from azidentity import AuthenticationFailedError, CredentialUnavailableError
from azidentity._mitigations import ROWS
from azidentity.emulator import pytest_plugin
from standins import harness
from standins.harness import RESOURCE, SCOPE, Tools

# Fixtures (the emulator's are also registered by tests/conftest.py).
emulator = pytest_plugin.emulator
tools = harness.tools

SUBSCRIPTION_ID = "11111111-2222-3333-4444-555555555555"


@pytest.mark.parametrize("subscription", ["Emulator Subscription", SUBSCRIPTION_ID])
def test_subscription_reaches_the_command_line(subscription: str, tools: Tools, flavor: Any) -> None:
    cred = flavor.make("AzureCliCredential", subscription=subscription)
    token = flavor.get_token(cred, SCOPE)
    assert tools.verify(token.token)["aud"] == RESOURCE
    [call] = tools.calls("az")
    assert call["argv"] == [
        "account",
        "get-access-token",
        "--output",
        "json",
        "--resource",
        RESOURCE,
        "--subscription",
        subscription,
    ]
    assert f"subscription={subscription!r}" in repr(cred)


def test_unknown_subscription_is_the_clis_error(tools: Tools, flavor: Any) -> None:
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(flavor.make("AzureCliCredential", subscription="Nope"), SCOPE)
    assert "ERROR: Subscription 'Nope' not found" in str(info.value)


@pytest.mark.parametrize(
    "subscription",
    ["My Sub; rm -rf ~", "sub|x", "sub'x", "sub&x", "-sub", "--debug", "sub\nx", 'sub"x', "sub$(x)", "sub/x"],
)
def test_subscription_with_invalid_characters(subscription: str, tools: Tools, flavor: Any) -> None:
    with pytest.raises(ValueError) as info:
        flavor.make("AzureCliCredential", subscription=subscription)
    text = str(info.value)
    assert repr(subscription) in text and "contains invalid characters" in text
    assert "use its ID instead" in text
    assert f"Mitigation: {ROWS['cli-subscription'].mitigation}" in text
    assert tools.calls() == []


@pytest.mark.parametrize("mode", ["legacy_expiry", "legacy_expiry_no_fraction"])
def test_local_time_expiry_of_older_clis(mode: str, tools: Tools, flavor: Any) -> None:
    # CLIs before 2.54 print only expiresOn, in local time, with or without microseconds.
    tools.mode(mode)
    before = time.time()
    token = flavor.get_token(flavor.make("AzureCliCredential"), SCOPE)
    assert before + 3590 <= token.expires_on <= time.time() + 3600


def test_expired_login_with_an_aadsts_code_is_a_failure(tools: Tools, flavor: Any) -> None:
    # az's words mention `az login`, but an Entra error code means the CLI did try: a chain stops here.
    tools.mode("aadsts_login")
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(flavor.make("AzureCliCredential"), SCOPE)
    assert "AADSTS700082" in str(info.value)
    assert not isinstance(info.value, CredentialUnavailableError)


def test_emulator_error_passes_through(tools: Tools, flavor: Any) -> None:
    # A tenant the signed-in account does not belong to: the CLI prints Entra's error.
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(flavor.make("AzureCliCredential"), SCOPE, tenant_id="unknown.example")
    assert "AADSTS" in str(info.value)
    [call] = tools.calls("az")
    assert call["argv"][-2:] == ["--tenant", "unknown.example"]
