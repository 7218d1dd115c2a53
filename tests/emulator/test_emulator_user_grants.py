"""User grants: password (ROPC), refresh_token, on-behalf-of."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from emulator_testlib import (
    FakeClock,
    assert_entra_error,
    b64d,
    jwt_parts,
    secret_token,
    token,
    verify_with_jwks,
)

from azidentity.emulator import Emulator

SCOPE = "https://storage.azure.com/user_impersonation openid profile offline_access"


def _password(emu: Emulator, tenant: str | None = None, **overrides: str) -> requests.Response:
    alice = emu.users["alice"]
    form = {
        "grant_type": "password",
        "client_id": emu.apps["public"].client_id,
        "username": alice.username,
        "password": alice.password,
        "scope": SCOPE,
        "client_info": "1",
    }
    form.update(overrides)
    return token(emu, tenant, **form)


def test_password_grant(emulator: Emulator) -> None:
    r = _password(emulator)
    assert r.status_code == 200, r.text
    body = r.json()
    alice = emulator.users["alice"]
    claims = verify_with_jwks(body["access_token"], emulator.jwks())
    assert claims["idtyp"] == "user" and claims["oid"] == alice.object_id and claims["upn"] == alice.username
    assert claims["scp"] == "user_impersonation" and claims["aud"] == "https://storage.azure.com"
    assert claims["appid"] == emulator.apps["public"].client_id and claims["name"] == alice.display_name
    assert body["refresh_token"] and body["scope"].startswith("https://storage.azure.com/user_impersonation")
    id_claims = verify_with_jwks(body["id_token"], emulator.jwks())
    assert id_claims["aud"] == emulator.apps["public"].client_id
    assert id_claims["preferred_username"] == alice.username
    assert id_claims["iss"] == f"{emulator.base_url}/{emulator.tenant_id}/v2.0"
    info = json.loads(b64d(body["client_info"]))
    assert info == {"uid": alice.object_id, "utid": emulator.tenant_id}


def test_password_grant_via_organizations(emulator: Emulator) -> None:
    r = _password(emulator, tenant="organizations")
    assert emulator.verify_token(r.json()["access_token"])["tid"] == emulator.tenant_id


def test_password_errors(emulator: Emulator) -> None:
    assert_entra_error(_password(emulator, password="wrong"), 400, "invalid_grant", 50126)
    assert_entra_error(_password(emulator, username="nobody@emulator.test"), 400, "invalid_grant", 50126)
    # alice lives in the first tenant only
    assert_entra_error(_password(emulator, tenant=emulator.other_tenant_id), 400, "invalid_grant", 50126)
    assert_entra_error(_password(emulator, client_secret="x"), 401, "invalid_client", 700025)
    form_missing = _password(emulator, username="")
    assert_entra_error(form_missing, 400, "invalid_request", 900144)


def test_password_cp1(emulator: Emulator) -> None:
    claims = json.dumps({"access_token": {"xms_cc": {"values": ["CP1"]}}})
    r = _password(emulator, claims=claims)
    assert emulator.verify_token(r.json()["access_token"])["xms_cc"] == ["CP1"]
    assert emulator.requests[-1].claims_sent


def test_refresh_token_grant(emulator: Emulator) -> None:
    first = _password(emulator).json()
    public = emulator.apps["public"].client_id
    r = token(
        emulator,
        grant_type="refresh_token",
        client_id=public,
        refresh_token=first["refresh_token"],
        scope="https://vault.azure.net/.default offline_access",
    )
    assert r.status_code == 200, r.text
    claims = emulator.verify_token(r.json()["access_token"])
    assert claims["aud"] == "https://vault.azure.net" and claims["oid"] == emulator.users["alice"].object_id
    assert r.json()["refresh_token"]
    bad = token(emulator, grant_type="refresh_token", client_id=public, refresh_token="1.bogus", scope=SCOPE)
    assert_entra_error(bad, 400, "invalid_grant", 70000)
    other_client = token(
        emulator,
        grant_type="refresh_token",
        client_id=emulator.apps["secret"].client_id,
        client_secret=emulator.apps["secret"].secret or "",
        refresh_token=first["refresh_token"],
        scope=SCOPE,
    )
    assert_entra_error(other_client, 400, "invalid_grant", 70000)


def test_refresh_token_expires_with_clock() -> None:
    clock = FakeClock()
    with Emulator(clock=clock) as emu:
        rt = _password(emu).json()["refresh_token"]
        clock.now += emu.config.refresh_token_lifetime + 1
        r = token(
            emu,
            grant_type="refresh_token",
            client_id=emu.apps["public"].client_id,
            refresh_token=rt,
            scope=SCOPE,
        )
        assert_entra_error(r, 400, "invalid_grant", 70000)


def _obo(emu: Emulator, assertion: str, **overrides: str) -> requests.Response:
    api = emu.apps["api"]
    form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "client_id": api.client_id,
        "client_secret": api.secret or "",
        "assertion": assertion,
        "requested_token_use": "on_behalf_of",
        "scope": "https://graph.microsoft.com/User.Read offline_access",
    }
    form.update(overrides)
    return token(emu, **form)


def _user_token_for(emu: Emulator, audience_scope: str) -> str:
    return str(_password(emu, scope=audience_scope).json()["access_token"])


@pytest.mark.parametrize("prefix", ["", "api://"])
def test_on_behalf_of(emulator: Emulator, prefix: str) -> None:
    api = emulator.apps["api"].client_id
    user_token = _user_token_for(emulator, f"api://{api}/access_as_user")
    assert emulator.verify_token(user_token)["aud"] == api
    if prefix:
        # Entra never issues aud "api://<id>" for this app, but apps with that App ID URI get it; mint one.
        from azidentity.emulator.state import UserIdentity
        from azidentity.emulator.tokens import access_token

        alice = emulator.users["alice"]
        user = UserIdentity(alice.object_id, alice.tenant_id, alice.username, alice.display_name)
        user_token = access_token(
            emulator.runtime,
            tenant_id=emulator.tenant_id,
            audience=f"api://{api}",
            client_id=emulator.apps["public"].client_id,
            lifetime=600,
            user=user,
        ).token
    r = _obo(emulator, user_token)
    assert r.status_code == 200, r.text
    claims = emulator.verify_token(r.json()["access_token"])
    assert claims["aud"] == "https://graph.microsoft.com" and claims["scp"] == "User.Read"
    assert claims["appid"] == api and claims["oid"] == emulator.users["alice"].object_id
    assert claims["idtyp"] == "user"
    assert r.json()["refresh_token"]


def test_on_behalf_of_errors(emulator: Emulator) -> None:
    storage_token = _user_token_for(emulator, "https://storage.azure.com/.default")
    assert_entra_error(_obo(emulator, storage_token), 400, "invalid_grant", 50013)
    good = _user_token_for(emulator, f"api://{emulator.apps['api'].client_id}/.default")
    h, p, _ = good.split(".")
    tampered = f"{h}.{p}.{storage_token.rsplit('.', 1)[1]}"  # valid JSON, signature of another token
    assert_entra_error(_obo(emulator, tampered), 400, "invalid_grant", 50013)
    assert_entra_error(_obo(emulator, good, client_secret="bad"), 401, "invalid_client", 7000215)
    assert_entra_error(_obo(emulator, good, requested_token_use=""), 400, "invalid_request", 900144)
    assert_entra_error(_obo(emulator, "x.y"), 400, "invalid_request", 50027)
    app_token = secret_token(emulator, scope=f"api://{emulator.apps['api'].client_id}/.default").json()
    assert_entra_error(_obo(emulator, app_token["access_token"]), 400, "invalid_grant", 50013)


def test_on_behalf_of_expired_assertion() -> None:
    clock = FakeClock()
    with Emulator(clock=clock) as emu:
        user_token = _user_token_for(emu, f"api://{emu.apps['api'].client_id}/.default")
        clock.now += 3601
        assert_entra_error(_obo(emu, user_token), 400, "invalid_grant", 500133)


def test_obo_assertion_header_has_kid(emulator: Emulator) -> None:
    header: dict[str, Any]
    header, _ = jwt_parts(_user_token_for(emulator, "https://storage.azure.com/.default"))
    assert header["alg"] == "RS256" and header["kid"] == emulator.jwks()["keys"][0]["kid"]


def test_refresh_token_at_a_tenant_the_user_is_not_in(emulator: Emulator) -> None:
    # Entra's answer when a refresh token is redeemed where its user is neither member nor guest: the
    # Azure CLI shows it for `az account get-access-token --tenant <another tenant>`.
    first = _password(emulator).json()
    r = token(
        emulator,
        emulator.other_tenant_id,
        grant_type="refresh_token",
        client_id=emulator.apps["public"].client_id,
        refresh_token=first["refresh_token"],
        scope=SCOPE,
    )
    assert_entra_error(r, 400, "invalid_grant", 50020)
    description = r.json()["error_description"]
    alice = emulator.users["alice"]
    assert f"User account '{alice.username}'" in description
    assert f"does not exist in tenant '{emulator.config.other_tenant_domain}'" in description
    assert emulator.apps["public"].client_id in description
