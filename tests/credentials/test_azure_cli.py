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


def test_unknown_tenant_shows_azs_useful_line_not_its_traceback(tools: Tools, flavor: Any) -> None:
    # az answers an unknown tenant with a Python traceback around MSAL's "Unable to get authority
    # configuration" (tests/real_az checks the stand-in prints what az prints).
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(flavor.make("AzureCliCredential"), SCOPE, tenant_id="unknown.example")
    error = info.value
    text = str(error)
    assert "ERROR: Unable to get authority configuration for" in text
    assert "AADSTS90002: Tenant 'unknown.example' not found." in text
    assert "Traceback" not in text and 'File "' not in text and "WARNING" not in text
    assert (error.error_code, error.error_codes) == ("AADSTS90002", [90002])
    assert "'unknown.example'" in error.mitigation and error.mitigation in text
    [call] = tools.calls("az")
    assert call["argv"][-2:] == ["--tenant", "unknown.example"]


def test_a_warning_on_success_is_no_error(tools: Tools, flavor: Any) -> None:
    # A token for a tenant other than the service principal's home: az warns on stderr and succeeds.
    other = tools.emulator.other_tenant_id
    token = flavor.get_token(flavor.make("AzureCliCredential"), SCOPE, tenant_id=other)
    assert tools.verify(token.token)["tid"] == other


@pytest.mark.parametrize(
    ("case", "code"),
    [("resource", "AADSTS500011"), ("secret", "AADSTS7000215"), ("subscription", None)],
)
def test_refusals_carry_the_code_and_name_the_request(
    case: str, code: str | None, tools: Tools, flavor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    scope, kwargs, named = SCOPE, {}, RESOURCE
    if case == "resource":
        scope = named = "https://unknown-resource.example/.default"
    elif case == "secret":
        monkeypatch.setenv("STANDIN_CLIENT_SECRET", "not-the-secret")
        kwargs = {"tenant_id": tools.emulator.tenant_id}
        named = f"--tenant {tools.emulator.tenant_id}"
    else:
        kwargs = {"subscription": "Nope"}
        named = "'Nope'"
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(flavor.make("AzureCliCredential", **kwargs), scope)
    error = info.value
    assert error.error_code == code and error.error_codes == ([int(code[6:])] if code else [])
    assert named in error.mitigation and f"Mitigation: {error.mitigation}" in str(error)
    if code:
        assert error.trace_id and error.correlation_id and error.timestamp


def test_not_logged_in_names_the_requested_resource_and_tenant(tools: Tools, flavor: Any) -> None:
    tools.mode("logged_out")
    tenant = tools.emulator.tenant_id
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(
            flavor.make("AzureCliCredential"), "https://vault.azure.net/.default", tenant_id=tenant
        )
    assert info.value.mitigation == (
        f"Run `az login --tenant {tenant}`, then check with `az account get-access-token --output json "
        f"--resource https://vault.azure.net --tenant {tenant}`."
    )
