"""AzureDeveloperCliCredential specifics: several scopes, UTC expiry, azd's JSON error lines."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import pytest

from azidentity import AuthenticationFailedError, CredentialUnavailableError
from azidentity._mitigations import ROWS
from azidentity.emulator import pytest_plugin
from standins import harness
from standins.harness import SCOPE, Tools

# Fixtures (the emulator's are also registered by tests/conftest.py).
emulator = pytest_plugin.emulator
tools = harness.tools


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run with local time 4 or 5 hours behind UTC (this process and the stand-ins)."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is POSIX-only")
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    assert time.timezone != 0, "the test needs a non-UTC local time zone"
    yield
    monkeypatch.undo()
    time.tzset()


def test_utc_expiry_is_read_as_utc(new_york: None, tools: Tools, flavor: Any) -> None:
    # azure-identity reads azd's "...Z" time as local time: off by the zone's offset (4-5 hours here).
    before = time.time()
    token = flavor.get_token(flavor.make("AzureDeveloperCliCredential"), SCOPE)
    assert before + 3590 <= token.expires_on <= time.time() + 3600
    assert tools.verify(token.token)["exp"] == token.expires_on


def test_az_local_expiry_in_the_same_zone(new_york: None, tools: Tools, flavor: Any) -> None:
    # The Azure CLI's expiresOn *is* local time: read in the same zone it was written in.
    tools.mode("legacy_expiry")
    before = time.time()
    token = flavor.get_token(flavor.make("AzureCliCredential"), SCOPE)
    assert before + 3590 <= token.expires_on <= time.time() + 3600


def test_several_scopes(tools: Tools, flavor: Any) -> None:
    scopes = ("https://storage.azure.com/user_impersonation", "https://storage.azure.com/.default")
    token = flavor.get_token(flavor.make("AzureDeveloperCliCredential"), *scopes)
    assert tools.verify(token.token)["aud"] == "https://storage.azure.com"
    [call] = tools.calls("azd")
    assert call["argv"] == [
        "auth",
        "token",
        "--output",
        "json",
        "--no-prompt",
        "--scope",
        scopes[0],
        "--scope",
        scopes[1],
    ]
    assert call["env"]["NO_COLOR"] == "true"


def test_json_error_lines_are_unwrapped(tools: Tools, flavor: Any) -> None:
    tools.mode("fail")
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(flavor.make("AzureDeveloperCliCredential"), SCOPE)
    text = str(info.value)
    assert "fetching token: AADSTS50076: MFA required." in text and '{"error"' not in text


def test_not_logged_in_text_is_azds_own(tools: Tools, flavor: Any) -> None:
    tools.mode("logged_out")
    with pytest.raises(Exception) as info:
        flavor.get_token(flavor.make("AzureDeveloperCliCredential"), SCOPE)
    first = str(info.value).splitlines()[0]
    assert (
        first
        == "AzureDeveloperCliCredential: ERROR: fetching token: not logged in, run `azd auth login` to login"
    )


# -- claims challenges (issue 12.4) --------------------------------------------------------------------------
# Passed to azd as --claims <standard base64>, as azure-identity and Go do.
CLAIMS = '{"access_token":{"nbf":{"essential":true,"value":"1700000000"},"xms_cc":{"values":["cp1"]}}}'
ENCODED = base64.b64encode(CLAIMS.encode()).decode()


def test_claims_are_passed_to_azd(tools: Tools, flavor: Any) -> None:
    tenant = tools.emulator.tenant_id
    token = flavor.get_token(
        flavor.make("AzureDeveloperCliCredential", tenant_id=tenant), SCOPE, claims=CLAIMS
    )
    assert tools.verify(token.token)["aud"] == "https://management.azure.com"
    [call] = tools.calls("azd")
    assert call["argv"] == [
        "auth", "token", "--output", "json", "--no-prompt", "--scope", SCOPE, "--tenant-id", tenant,
        "--claims", ENCODED,
    ]  # fmt: skip
    # the stand-in handed the decoded challenge to Entra ID, as azd does
    assert tools.emulator.requests[-1].form["claims"] == CLAIMS


def test_claims_through_get_token_info(tools: Tools, flavor: Any) -> None:
    info = flavor.get_token_info(
        flavor.make("AzureDeveloperCliCredential"), SCOPE, options={"claims": CLAIMS}
    )
    assert tools.verify(info.token)
    assert tools.calls("azd")[0]["argv"][-2:] == ["--claims", ENCODED]


def test_an_azd_without_the_claims_flag_is_unavailable_with_the_upgrade(tools: Tools, flavor: Any) -> None:
    tools.mode("old_azd")
    credential = flavor.make("AzureDeveloperCliCredential")
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(credential, SCOPE, claims=CLAIMS)
    text = str(info.value)
    assert text.splitlines()[0] == (
        "AzureDeveloperCliCredential: Claims challenges are not supported by the Azure Developer CLI version "
        "you are using. Please update to version 1.18.1 or later."
    )
    assert info.value.mitigation == ROWS["azd-claims-unsupported"].mitigation
    assert f"Mitigation: {info.value.mitigation}" in text
    # the same old azd still answers requests without claims
    assert tools.verify(flavor.get_token(credential, SCOPE).token)


def test_a_challenge_azd_cannot_satisfy_names_the_login_with_the_claims(tools: Tools, flavor: Any) -> None:
    tools.mode("claims_mfa")
    tenant = tools.emulator.tenant_id
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(flavor.make("AzureDeveloperCliCredential", tenant_id=tenant), SCOPE, claims=CLAIMS)
    text = str(info.value)
    assert "AADSTS50076" in text  # azd's own words first
    assert f"azd auth login --claims {ENCODED} --tenant-id {tenant}" in text
    assert info.value.mitigation == ROWS["azd-claims"].mitigation
