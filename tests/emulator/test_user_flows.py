"""The emulator's user sign-in endpoints, driven with plain HTTP: /authorize (PKCE, query and
form_post), the authorization_code grant, /devicecode with its verification page and the
device_code grant."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
import requests
from emulator_testlib import (
    REDIRECT,
    TIMEOUT,
    USER_SCOPE,
    VERIFIER,
    assert_entra_error,
    authorize,
    b64d,
    redeem,
    redirected,
    token,
    verify_with_jwks,
)

from azidentity.emulator import Emulator

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


# -- /authorize and the authorization_code grant ----------------------------------------------------------


def test_code_flow_with_pkce_query_response(emulator: Emulator) -> None:
    query = redirected(authorize(emulator))
    assert query["state"] == "st" and query["code"]
    r = redeem(emulator, query["code"])
    assert r.status_code == 200, r.text
    body = r.json()
    alice = emulator.users["alice"]
    claims = verify_with_jwks(body["access_token"], emulator.jwks())
    assert claims["upn"] == alice.username and claims["aud"] == "https://storage.azure.com"
    assert claims["appidacr"] == "0"  # a public client
    assert verify_with_jwks(body["id_token"], emulator.jwks())["preferred_username"] == alice.username
    assert json.loads(b64d(body["client_info"])) == {"uid": alice.object_id, "utid": emulator.tenant_id}
    refreshed = token(
        emulator,
        "organizations",
        grant_type="refresh_token",
        client_id=emulator.apps["public"].client_id,
        refresh_token=body["refresh_token"],
        scope="https://vault.azure.net/.default",
    )
    assert (
        refreshed.status_code == 200
        and emulator.verify_token(refreshed.json()["access_token"])["upn"] == alice.username
    )
    assert [r.route for r in emulator.requests] == ["authorize", "token", "token"]


def test_form_post_response(emulator: Emulator) -> None:
    page = authorize(emulator, response_mode="form_post", login_hint=emulator.users["bob"].username)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    action = re.search(r'action="([^"]+)"', page.text)
    assert action and html.unescape(action.group(1)) == REDIRECT
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    assert fields["state"] == "st" and "document.forms[0].submit()" in page.text
    r = redeem(emulator, html.unescape(fields["code"]))
    assert emulator.verify_token(r.json()["access_token"])["upn"] == emulator.users["bob"].username


def test_pkce_is_verified(emulator: Emulator) -> None:
    code = redirected(authorize(emulator))["code"]
    assert_entra_error(redeem(emulator, code, code_verifier="w" * 43), 400, "invalid_grant", 501481)
    code = redirected(authorize(emulator))["code"]
    assert_entra_error(redeem(emulator, code, code_verifier=None), 400, "invalid_request", 900144)
    plain = redirected(authorize(emulator, code_challenge=VERIFIER, code_challenge_method="plain"))["code"]
    assert redeem(emulator, plain).status_code == 200
    bad_method = redirected(authorize(emulator, code_challenge_method="S512"))
    assert bad_method["error"] == "invalid_request" and bad_method["error_description"].startswith(
        "AADSTS501491"
    )


def test_codes_are_single_use_and_bound(emulator: Emulator) -> None:
    code = redirected(authorize(emulator))["code"]
    assert redeem(emulator, code).status_code == 200
    assert_entra_error(redeem(emulator, code), 400, "invalid_grant", 54005)
    code = redirected(authorize(emulator))["code"]
    assert_entra_error(
        redeem(emulator, code, redirect_uri="http://localhost:8401"), 400, "invalid_grant", 500112
    )
    code = redirected(authorize(emulator))["code"]
    other = emulator.apps["secret"]
    assert_entra_error(
        redeem(emulator, code, client_id=other.client_id, client_secret=other.secret),
        400,
        "invalid_grant",
        70000,
    )
    assert_entra_error(redeem(emulator, "made-up"), 400, "invalid_grant", 70000)


def test_codes_expire(emulator: Emulator, monkeypatch: Any) -> None:
    assert emulator.user_flows is not None
    monkeypatch.setattr(emulator.user_flows, "code_lifetime", -1)
    code = redirected(authorize(emulator))["code"]
    assert_entra_error(redeem(emulator, code), 400, "invalid_grant", 70008)


def test_authorize_errors(emulator: Emulator) -> None:
    unknown = authorize(emulator, client_id="00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 400 and "AADSTS700016" in unknown.text  # a page: the redirect isn't trusted
    for uri in ("http://example.com:8400", "not a url", "ftp://localhost/x"):
        page = authorize(emulator, redirect_uri=uri)
        assert page.status_code == 400 and "AADSTS50011" in page.text
    assert authorize(emulator, response_mode="fragment").status_code == 400
    for overrides, code in (
        ({"response_type": "token"}, "AADSTS70005"),
        ({"login_hint": "nobody@emulator.test"}, "AADSTS50034"),
        ({"scope": None}, "AADSTS900144"),
    ):
        query = redirected(authorize(emulator, **overrides))
        assert query["error_description"].startswith(code) and query["state"] == "st" and "code" not in query
    # bob lives in the other tenant: he can't sign in at the first one
    query = redirected(
        authorize(emulator, tenant=emulator.tenant_id, login_hint=emulator.users["bob"].username)
    )
    assert query["error_description"].startswith("AADSTS50034")


def test_default_user(emulator: Emulator, monkeypatch: Any) -> None:
    assert emulator.user_flows is not None
    monkeypatch.setattr(emulator.user_flows, "default_user", "bob")
    r = redeem(emulator, redirected(authorize(emulator))["code"])
    assert emulator.verify_token(r.json()["access_token"])["upn"] == emulator.users["bob"].username


# -- device code ---------------------------------------------------------------------------------------


def devicecode(emu: Emulator, tenant: str = "organizations", **overrides: str | None) -> requests.Response:
    form: dict[str, str | None] = {"client_id": emu.apps["public"].client_id, "scope": USER_SCOPE}
    form.update(overrides)
    return requests.post(
        f"{emu.base_url}/{tenant}/oauth2/v2.0/devicecode",
        data={k: v for k, v in form.items() if v is not None},
        verify=emu.ca_bundle_path,
        timeout=TIMEOUT,
    )


def poll(emu: Emulator, device_code: str, tenant: str = "organizations") -> requests.Response:
    return token(
        emu,
        tenant,
        grant_type=DEVICE_GRANT,
        client_id=emu.apps["public"].client_id,
        device_code=device_code,
        client_info="1",
    )


@pytest.fixture
def no_interval(emulator: Emulator, monkeypatch: Any) -> Emulator:
    assert emulator.user_flows is not None
    monkeypatch.setattr(emulator.user_flows, "device_code_interval", 0)
    return emulator


def test_device_code_flow_approved_through_the_verification_page(no_interval: Emulator) -> None:
    emu = no_interval
    r = devicecode(emu)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"device_code", "user_code", "verification_uri", "expires_in", "interval", "message"}
    assert body["verification_uri"] == f"{emu.base_url}/devicelogin" and body["expires_in"] == 900
    assert body["user_code"] in body["message"] and body["verification_uri"] in body["message"]
    assert emu.pending_device_codes.count(body["user_code"]) == 1
    assert_entra_error(poll(emu, body["device_code"]), 400, "authorization_pending", 70016)
    page = requests.get(body["verification_uri"], verify=emu.ca_bundle_path, timeout=TIMEOUT)
    assert page.status_code == 200 and 'name="user_code"' in page.text
    approved = requests.post(
        body["verification_uri"],
        data={"user_code": body["user_code"], "username": "bob"},
        verify=emu.ca_bundle_path,
        timeout=TIMEOUT,
    )
    assert approved.status_code == 200 and "You have signed in" in approved.text
    r = poll(emu, body["device_code"])
    assert r.status_code == 200, r.text
    bob = emu.users["bob"]
    tokens = r.json()
    assert emu.verify_token(tokens["access_token"])["upn"] == bob.username
    assert tokens["refresh_token"] and json.loads(b64d(tokens["client_info"]))["uid"] == bob.object_id
    assert verify_with_jwks(tokens["id_token"], emu.jwks())["tid"] == emu.other_tenant_id
    assert_entra_error(poll(emu, body["device_code"]), 400, "invalid_grant", 70000)  # redeemed


def test_device_code_slow_down(emulator: Emulator) -> None:
    body = devicecode(emulator).json()
    assert body["interval"] == 5
    r = assert_entra_error(poll(emulator, body["device_code"]), 400, "slow_down", 70016)  # polled at once
    assert "at least 10 seconds" in r["error_description"]


def test_device_code_declined_and_expired(no_interval: Emulator, monkeypatch: Any) -> None:
    emu = no_interval
    body = devicecode(emu).json()
    emu.decline_device_code(body["user_code"])
    assert_entra_error(poll(emu, body["device_code"]), 400, "authorization_declined", 65004)
    with pytest.raises(ValueError, match="already declined"):
        emu.approve_device_code(body["user_code"])
    assert emu.user_flows is not None
    monkeypatch.setattr(emu.user_flows, "device_code_lifetime", -1)
    body = devicecode(emu).json()
    assert_entra_error(poll(emu, body["device_code"]), 400, "expired_token", 70020)
    with pytest.raises(ValueError, match="has expired"):
        emu.approve_device_code(body["user_code"])


def test_device_code_approval_checks(no_interval: Emulator) -> None:
    emu = no_interval
    with pytest.raises(ValueError, match="no device code"):
        emu.approve_device_code("NOSUCHCODE")
    body = devicecode(emu, tenant=emu.tenant_id).json()
    with pytest.raises(ValueError, match="is not in tenant"):
        emu.approve_device_code(body["user_code"], "bob")
    with pytest.raises(ValueError, match="no emulator user"):
        emu.approve_device_code(body["user_code"], "mallory")
    page = requests.post(
        f"{emu.base_url}/devicelogin",
        data={"user_code": "NOSUCHCODE"},
        verify=emu.ca_bundle_path,
        timeout=TIMEOUT,
    )
    assert page.status_code == 400 and "no device code" in page.text
    emu.approve_device_code(body["user_code"].lower(), "alice")
    assert poll(emu, body["device_code"], tenant=emu.tenant_id).status_code == 200
    # a device code belongs to its client
    body = devicecode(emu).json()
    emu.approve_device_code(body["user_code"])
    other = emu.apps["secret"]
    r = token(
        emu,
        "organizations",
        grant_type=DEVICE_GRANT,
        client_id=other.client_id,
        client_secret=other.secret,
        device_code=body["device_code"],
    )
    assert_entra_error(r, 400, "invalid_grant", 70000)


def test_devicecode_errors(emulator: Emulator) -> None:
    assert_entra_error(devicecode(emulator, scope=None), 400, "invalid_request", 900144)
    assert_entra_error(
        devicecode(emulator, client_id="00000000-0000-0000-0000-000000000000"),
        400,
        "unauthorized_client",
        700016,
    )
