"""ClientSecretCredential against the emulator, sync and async, over real loopback HTTPS."""

from __future__ import annotations

import json

import pytest

from azidentity import AuthenticationFailedError

SCOPE = "https://storage.azure.com/.default"


def make(flavor, emu, app="secret", secret=None, **kwargs):
    a = emu.apps[app]
    return flavor.make(
        "ClientSecretCredential",
        emu.tenant_id,
        a.client_id,
        secret or a.secret,
        authority=emu.base_url,
        connection_verify=emu.ca_bundle_path,
        **kwargs,
    )


def test_token_verifies_with_emulator_keys(flavor, emulator):
    credential = make(flavor, emulator)
    token = flavor.get_token(credential, SCOPE)
    claims = emulator.verify_token(token.token)
    assert claims["aud"] == "https://storage.azure.com"
    assert claims["appid"] == emulator.apps["secret"].client_id
    assert claims["tid"] == emulator.tenant_id
    assert token.expires_on == claims["exp"]
    info = flavor.get_token_info(credential, SCOPE)
    assert info.token == token.token and info.token_type == "Bearer"
    assert emulator.count("token") == 1  # the second call was a cache hit


def test_request_shape(flavor, emulator):
    credential = make(flavor, emulator, headers={"x-test": "1"}, user_agent="myapp/2")
    flavor.get_token(credential, SCOPE)
    (request,) = [r for r in emulator.requests if r.route == "token"]
    assert request.method == "POST"
    assert request.path == f"/{emulator.tenant_id}/oauth2/v2.0/token"
    assert request.form["grant_type"] == "client_credentials"
    assert request.form["scope"] == SCOPE
    assert "claims" not in request.form
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["client-request-id"]
    assert headers["x-client-sku"] == "azidentity.Python"
    assert headers["x-test"] == "1"
    assert headers["user-agent"].startswith("myapp/2 azsdk-python-azidentity/")


@pytest.mark.parametrize(
    ("case", "code", "status", "oauth_error"),
    [("wrong", "AADSTS7000215", 401, "invalid_client"), ("expired", "AADSTS7000222", 401, "invalid_client")],
)
def test_secret_errors_render_the_guide_row(flavor, emulator, case, code, status, oauth_error):
    app = emulator.apps["secret"]
    secret = app.expired_secret if case == "expired" else "not-the-secret-value"
    credential = make(flavor, emulator, secret=secret)
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(credential, SCOPE)
    error = info.value
    text = str(error)
    lines = text.splitlines()
    assert lines[0].startswith("ClientSecretCredential authentication failed")
    assert lines[1] == f"POST {emulator.base_url}/{emulator.tenant_id}/oauth2/v2.0/token"
    assert lines[2] == "-" * 80 and lines[3].startswith(f"RESPONSE {status}")
    assert json.loads(text.split("-" * 80)[2])["error"] == oauth_error
    assert "Mitigation:" in text and "Troubleshooting: TROUBLESHOOTING.md#clientsecretcredential" in text
    assert (error.error_code, error.status_code, error.oauth_error) == (code, status, oauth_error)
    assert error.credential == "ClientSecretCredential"
    assert error.correlation_id and error.trace_id and error.timestamp
    assert error.mitigation and error.troubleshooting_anchor == "clientsecretcredential"
    assert error.response is not None
    assert secret not in text


def test_app_not_in_tenant(flavor, emulator):
    app = emulator.apps["single"]
    credential = flavor.make(
        "ClientSecretCredential",
        emulator.other_tenant_id,
        app.client_id,
        app.secret,
        authority=emulator.base_url,
        connection_verify=emulator.ca_bundle_path,
    )
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(credential, SCOPE)
    assert info.value.error_code == "AADSTS700016"
    assert "client ID and tenant ID" in info.value.mitigation


def test_cae_adds_cp1_and_uses_a_separate_cache(flavor, emulator):
    credential = make(flavor, emulator)
    plain = flavor.get_token(credential, SCOPE)
    cae = flavor.get_token(credential, SCOPE, enable_cae=True)
    assert "xms_cc" not in emulator.verify_token(plain.token)
    assert emulator.verify_token(cae.token)["xms_cc"] == ["CP1"]
    assert emulator.count("token") == 2
    forms = [r.form for r in emulator.requests if r.route == "token"]
    assert json.loads(forms[1]["claims"]) == {"access_token": {"xms_cc": {"values": ["CP1"]}}}


def test_claims_bypass_the_cache_and_merge_cp1(flavor, emulator):
    credential = make(flavor, emulator)
    flavor.get_token(credential, SCOPE, enable_cae=True)
    challenge = '{"access_token":{"nbf":{"essential":true,"value":"1"}}}'
    flavor.get_token(credential, SCOPE, enable_cae=True, claims=challenge)
    assert emulator.count("token") == 2
    sent = json.loads([r.form for r in emulator.requests if r.route == "token"][1]["claims"])
    assert sent == {"access_token": {"nbf": {"essential": True, "value": "1"}, "xms_cc": {"values": ["CP1"]}}}
    # the fresh token replaced the cached one: the next plain call is a hit
    flavor.get_token(credential, SCOPE, enable_cae=True)
    assert emulator.count("token") == 2


def test_get_token_info_options(flavor, emulator):
    credential = make(flavor, emulator, additionally_allowed_tenants=["*"])
    info = flavor.get_token_info(
        credential, SCOPE, options={"tenant_id": emulator.other_tenant_id, "enable_cae": True}
    )
    claims = emulator.verify_token(info.token)
    assert claims["tid"] == emulator.other_tenant_id and claims["xms_cc"] == ["CP1"]


def test_requires_a_scope(flavor, emulator):
    credential = make(flavor, emulator)
    with pytest.raises(ValueError, match="requires at least one scope"):
        flavor.get_token(credential)
    with pytest.raises(ValueError, match="requires at least one scope"):
        flavor.get_token_info(credential)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", "c", "s"), "tenant_id should be"),
        (("t", "", "s"), "client_id should be"),
        (("t", "c", ""), "secret should be"),
        (("bad tenant!", "c", "s"), "Invalid tenant ID"),
        (("t/../x", "c", "s"), "Invalid tenant ID"),
    ],
)
def test_constructor_validation(flavor, args, message):
    with pytest.raises(ValueError, match=message):
        flavor.cls("ClientSecretCredential")(*args)


def test_context_manager_and_close(emulator):
    import azidentity

    app = emulator.apps["secret"]
    with azidentity.ClientSecretCredential(
        emulator.tenant_id,
        app.client_id,
        app.secret,
        authority=emulator.base_url,
        connection_verify=emulator.ca_bundle_path,
    ) as credential:
        assert credential.get_token(SCOPE).token
    credential.close()  # idempotent


async def test_async_context_manager(emulator):
    import azidentity.aio

    app = emulator.apps["secret"]
    async with azidentity.aio.ClientSecretCredential(
        emulator.tenant_id,
        app.client_id,
        app.secret,
        authority=emulator.base_url,
        connection_verify=emulator.ca_bundle_path,
    ) as credential:
        assert (await credential.get_token(SCOPE)).token
