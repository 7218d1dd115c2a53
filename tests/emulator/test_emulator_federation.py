"""Workload identity federation: the OIDC issuer, the Pipelines OIDC endpoint, federated assertions."""

from __future__ import annotations

import time
from pathlib import Path

import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from emulator_testlib import (
    TIMEOUT,
    FakeClock,
    assert_entra_error,
    jwt_parts,
    sign_jwt,
    token,
    verify_with_jwks,
)

from azidentity.emulator import Emulator

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _exchange(emu: Emulator, assertion: str, app: str = "workload") -> requests.Response:
    return token(
        emu,
        grant_type="client_credentials",
        client_id=emu.apps[app].client_id,
        client_assertion_type=ASSERTION_TYPE,
        client_assertion=assertion,
        scope="https://storage.azure.com/.default",
    )


def test_oidc_issuer_documents(emulator: Emulator) -> None:
    issuer = emulator.oidc_issuer_url
    doc = requests.get(
        f"{issuer}/.well-known/openid-configuration", verify=emulator.ca_bundle_path, timeout=TIMEOUT
    ).json()
    assert doc["issuer"] == issuer and doc["jwks_uri"] == f"{issuer}/openid/v1/jwks"
    jwks = requests.get(doc["jwks_uri"], verify=emulator.ca_bundle_path, timeout=TIMEOUT).json()
    sa = emulator.issue_service_account_token()
    claims = verify_with_jwks(sa, jwks)
    assert claims["iss"] == issuer and claims["sub"] == "system:serviceaccount:default:workload"
    assert claims["aud"] == ["api://AzureADTokenExchange"]
    assert jwks["keys"][0]["kid"] != emulator.jwks()["keys"][0]["kid"]  # distinct from the Entra key
    assert emulator.count("oidc-issuer") == 2


def test_workload_identity_exchange(emulator: Emulator) -> None:
    r = _exchange(emulator, emulator.issue_service_account_token())
    assert r.status_code == 200, r.text
    claims = emulator.verify_token(r.json()["access_token"])
    assert claims["appid"] == emulator.apps["workload"].client_id and claims["idtyp"] == "app"


def test_workload_identity_env_file(emulator: Emulator) -> None:
    env = emulator.env("workload-identity")
    assert env["AZURE_CLIENT_ID"] == emulator.apps["workload"].client_id
    assert env["AZURE_AUTHORITY_HOST"] == emulator.base_url
    assertion = Path(env["AZURE_FEDERATED_TOKEN_FILE"]).read_text()
    assert _exchange(emulator, assertion).status_code == 200


def test_federated_mismatches(emulator: Emulator) -> None:
    wrong_subject = emulator.issue_service_account_token(subject="system:serviceaccount:default:other")
    assert_entra_error(_exchange(emulator, wrong_subject), 400, "invalid_request", 700213)
    wrong_audience = emulator.issue_service_account_token(audience="api://something-else")
    assert_entra_error(_exchange(emulator, wrong_audience), 400, "invalid_request", 700212)
    # a token from an issuer the app does not trust
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    foreign = sign_jwt(
        {
            "iss": "https://issuer.example",
            "sub": "system:serviceaccount:default:workload",
            "aud": "api://AzureADTokenExchange",
            "iat": now,
            "exp": now + 600,
        },
        key,
        {"kid": "k"},
    )
    assert_entra_error(_exchange(emulator, foreign), 400, "invalid_request", 70021)
    # right claims, wrong signing key
    _, claims = (
        foreign.split(".")[0],
        {
            "iss": emulator.oidc_issuer_url,
            "sub": "system:serviceaccount:default:workload",
            "aud": ["api://AzureADTokenExchange"],
            "iat": now,
            "exp": now + 600,
        },
    )
    forged = sign_jwt(claims, key, {"kid": "k"})
    assert_entra_error(_exchange(emulator, forged), 401, "invalid_client", 700027)
    # the cert app has no federated credentials at all
    assert_entra_error(
        _exchange(emulator, emulator.issue_service_account_token(), app="cert"), 400, "invalid_request", 70021
    )


def test_expired_service_account_token() -> None:
    clock = FakeClock()
    with Emulator(clock=clock) as emu:
        sa = emu.issue_service_account_token(lifetime=60)
        clock.now += 60 + 301
        assert_entra_error(_exchange(emu, sa), 400, "invalid_client", 700024)


def _pipelines(
    emu: Emulator, *, access_token: str | None = None, connection: str | None = None, api_version: str = "7.1"
) -> requests.Response:
    return requests.post(
        emu.pipelines_oidc_url,
        params={
            "api-version": api_version,
            "serviceConnectionId": connection or emu.pipelines_service_connection_id,
        },
        headers={
            "Authorization": f"Bearer {access_token or emu.pipelines_system_access_token}",
            "Content-Type": "application/json",
        },
        verify=emu.ca_bundle_path,
        timeout=TIMEOUT,
    )


def test_pipelines_oidc(emulator: Emulator) -> None:
    r = _pipelines(emulator)
    assert r.status_code == 200, r.text
    oidc_token = r.json()["oidcToken"]
    _, claims = jwt_parts(oidc_token)
    config = emulator.config
    assert (
        claims["sub"]
        == f"sc://{config.pipelines_org}/{config.pipelines_project}/{config.pipelines_connection_name}"
    )
    assert claims["aud"] == "api://AzureADTokenExchange"
    exchanged = _exchange(emulator, oidc_token, app="pipelines")
    assert exchanged.status_code == 200, exchanged.text
    assert emulator.count("pipelines-oidc") == 1
    env = emulator.env("pipelines")
    assert env["SYSTEM_OIDCREQUESTURI"] == emulator.pipelines_oidc_url


def test_pipelines_errors(emulator: Emulator) -> None:
    r = _pipelines(emulator, access_token="wrong")
    assert r.status_code == 401 and r.content == b""
    assert "x-vss-e2eid" in r.headers and "x-msedge-ref" in r.headers
    r = _pipelines(emulator, connection="00000000-0000-0000-0000-000000000001")
    assert r.status_code == 404
    assert (
        "No service connection found with identifier 00000000-0000-0000-0000-000000000001"
        in r.json()["message"]
    )
    r = _pipelines(emulator, api_version="7.0")
    assert r.status_code == 400 and "7.0" in r.json()["message"]
