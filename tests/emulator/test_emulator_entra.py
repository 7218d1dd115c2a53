"""Entra endpoints: discovery, JWKS, client credentials (secret + certificate) and their error codes."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from emulator_testlib import (
    FakeClock,
    assert_entra_error,
    client_assertion,
    get,
    load_pem,
    secret_token,
    token,
    verify_with_jwks,
)

from azidentity.emulator import Emulator, config_from_dict


def test_openid_configuration(emulator: Emulator) -> None:
    r = get(
        emulator.base_url,
        f"/{emulator.tenant_id}/v2.0/.well-known/openid-configuration",
        verify=emulator.ca_bundle_path,
    )
    assert r.status_code == 200
    doc = r.json()
    assert doc["token_endpoint"] == f"{emulator.base_url}/{emulator.tenant_id}/oauth2/v2.0/token"
    assert doc["issuer"] == f"{emulator.base_url}/{emulator.tenant_id}/v2.0"
    jwks = get(doc["jwks_uri"], "", verify=emulator.ca_bundle_path).json()
    assert jwks["keys"][0]["kty"] == "RSA"
    common = get(
        emulator.base_url, "/common/v2.0/.well-known/openid-configuration", verify=emulator.ca_bundle_path
    ).json()
    assert common["issuer"] == f"{emulator.base_url}/{{tenantid}}/v2.0"
    assert emulator.count("openid-configuration") == 2
    assert emulator.count("jwks") == 1


def test_openid_configuration_unknown_tenant(emulator: Emulator) -> None:
    r = get(
        emulator.base_url,
        f"/{uuid.uuid4()}/v2.0/.well-known/openid-configuration",
        verify=emulator.ca_bundle_path,
    )
    assert_entra_error(r, 400, "invalid_tenant", 90002)


def test_instance_discovery(emulator: Emulator) -> None:
    authz = f"{emulator.base_url}/{emulator.tenant_id}/oauth2/v2.0/authorize"
    r = get(
        emulator.base_url,
        "/common/discovery/instance",
        params={"api-version": "1.1", "authorization_endpoint": authz},
        verify=emulator.ca_bundle_path,
    )
    body = r.json()
    assert body["tenant_discovery_endpoint"] == (
        f"{emulator.base_url}/{emulator.tenant_id}/v2.0/.well-known/openid-configuration"
    )
    host = emulator.base_url.removeprefix("https://")
    assert host in body["metadata"][0]["aliases"]
    bad = get(
        emulator.base_url,
        "/common/discovery/instance",
        params={"authorization_endpoint": "https://login.example/x/oauth2/v2.0/authorize"},
        verify=emulator.ca_bundle_path,
    )
    assert_entra_error(bad, 400, "invalid_instance", 50049)


def test_client_secret_success_and_claims(emulator: Emulator) -> None:
    r = secret_token(emulator, headers={"client-request-id": "abc"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == body["ext_expires_in"] == 3600
    assert "refresh_in" not in body and "refresh_token" not in body
    claims = verify_with_jwks(body["access_token"], emulator.jwks())
    app = emulator.apps["secret"]
    assert claims["aud"] == "https://storage.azure.com"
    assert claims["iss"] == f"https://sts.windows.net/{emulator.tenant_id}/"
    assert claims["appid"] == claims["azp"] == app.client_id
    assert claims["tid"] == emulator.tenant_id and claims["ver"] == "1.0" and claims["idtyp"] == "app"
    assert claims["exp"] - claims["iat"] == 3600 and claims["nbf"] == claims["iat"]
    assert claims["oid"] == claims["sub"] and claims["uti"]
    assert "xms_cc" not in claims
    assert emulator.verify_token(body["access_token"]) == claims
    assert r.headers["client-request-id"] == "abc"


def test_multi_tenant_app_in_other_tenant_and_domain_authority(emulator: Emulator) -> None:
    r = secret_token(emulator, tenant=emulator.other_tenant_id)
    assert emulator.verify_token(r.json()["access_token"])["tid"] == emulator.other_tenant_id
    r = secret_token(emulator, tenant=emulator.config.tenant_domain)
    assert r.status_code == 200


def test_api_scope_audience_is_client_id(emulator: Emulator) -> None:
    api = emulator.apps["api"].client_id
    r = secret_token(emulator, scope=f"api://{api}/.default")
    assert emulator.verify_token(r.json()["access_token"])["aud"] == api


def test_arm_scope_keeps_trailing_slash(emulator: Emulator) -> None:
    r = secret_token(emulator, scope="https://management.azure.com//.default")
    assert emulator.verify_token(r.json()["access_token"])["aud"] == "https://management.azure.com/"


def test_verify_token_rejects_tampering(emulator: Emulator) -> None:
    access = secret_token(emulator).json()["access_token"]
    h, p, s = access.split(".")
    with pytest.raises(ValueError):
        emulator.verify_token(f"{h}.{p}x.{s}")
    with pytest.raises(ValueError):
        emulator.verify_token("not.a.jwt")


def test_cae_cp1(emulator: Emulator) -> None:
    claims = json.dumps({"access_token": {"xms_cc": {"values": ["CP1"]}}})
    r = secret_token(emulator, claims=claims)
    assert emulator.verify_token(r.json()["access_token"])["xms_cc"] == ["CP1"]
    secret_token(emulator)
    first, second = emulator.requests
    assert first.claims_sent and first.claims == claims
    assert not second.claims_sent
    assert_entra_error(secret_token(emulator, claims="{not json"), 400, "invalid_request", 90100)


def test_long_lifetime_has_refresh_in() -> None:
    config = config_from_dict({"apps": {"secret": {"token_lifetime": 7200}}})
    with Emulator(config) as emu:
        body = secret_token(emu).json()
        assert body["expires_in"] == 7200 and body["refresh_in"] == 3600


@pytest.mark.parametrize(
    ("form_change", "status", "error", "code"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client", 7000215),
        ({"grant_type": None}, 400, "invalid_request", 900144),
        ({"client_id": None}, 400, "invalid_request", 900144),
        ({"scope": None}, 400, "invalid_request", 900144),
        ({"client_secret": None}, 401, "invalid_client", 7000218),
        ({"grant_type": "magic"}, 400, "unsupported_grant_type", 70003),
        ({"scope": "https://storage.azure.com/user_impersonation"}, 400, "invalid_scope", 1002012),
        ({"scope": "https://storage.azure.com"}, 400, "invalid_scope", 70011),
        ({"scope": "https://a.example/.default https://b.example/.default"}, 400, "invalid_request", 28000),
        ({"scope": "https://unknown-resource.example/.default"}, 400, "invalid_resource", 500011),
        ({"client_id": "11111111-2222-3333-4444-555555555555"}, 400, "unauthorized_client", 700016),
    ],
)
def test_client_credentials_errors(
    emulator: Emulator, form_change: dict[str, str | None], status: int, error: str, code: int
) -> None:
    app = emulator.apps["secret"]
    form: dict[str, str | None] = {
        "grant_type": "client_credentials",
        "client_id": app.client_id,
        "client_secret": app.secret,
        "scope": "https://storage.azure.com/.default",
    }
    form.update(form_change)
    r = token(emulator, **{k: v for k, v in form.items() if v is not None})
    assert_entra_error(r, status, error, code)


def test_error_shape_and_correlation_id(emulator: Emulator) -> None:
    r = secret_token(emulator, client_secret="nope", headers={"client-request-id": "corr-1"})
    body = assert_entra_error(r, 401, "invalid_client", 7000215)
    assert body["correlation_id"] == "corr-1"
    lines = body["error_description"].split("\r\n")
    assert lines[1] == f"Trace ID: {body['trace_id']}"
    assert lines[2] == "Correlation ID: corr-1"
    assert lines[3] == f"Timestamp: {body['timestamp']}"
    assert body["error_uri"] == f"{emulator.base_url}/error?code=7000215"
    assert emulator.apps["secret"].client_id in body["error_description"]


def test_single_tenant_app_in_other_tenant(emulator: Emulator) -> None:
    r = secret_token(emulator, app="single", tenant=emulator.other_tenant_id)
    assert_entra_error(r, 400, "unauthorized_client", 700016)
    assert secret_token(emulator, app="single").status_code == 200


@pytest.mark.parametrize(
    ("tenant", "error", "code"),
    [
        (str(uuid.uuid4()), "invalid_request", 90002),
        ("nowhere.example", "invalid_request", 90002),
        ("not_a_tenant!", "invalid_request", 900023),
    ],
)
def test_bad_tenants(emulator: Emulator, tenant: str, error: str, code: int) -> None:
    assert_entra_error(secret_token(emulator, tenant=tenant), 400, error, code)


def test_client_credentials_on_common_needs_tenant(emulator: Emulator) -> None:
    assert_entra_error(secret_token(emulator, tenant="organizations"), 400, "invalid_request", 50059)


def test_expired_secret(emulator: Emulator) -> None:
    app = emulator.apps["secret"]
    r = secret_token(emulator, client_secret=app.expired_secret or "")
    assert_entra_error(r, 401, "invalid_client", 7000222)


def test_secret_expiry_follows_injected_clock() -> None:
    clock = FakeClock()
    config = config_from_dict({"apps": {"secret": {"secret_expires_at": clock.now + 100}}})
    with Emulator(config, clock=clock) as emu:
        assert secret_token(emu).status_code == 200
        clock.now += 101
        assert_entra_error(secret_token(emu), 401, "invalid_client", 7000222)


# --- certificate credentials --------------------------------------------------------------------


def _cert_request(emu: Emulator, assertion: str, tenant: str | None = None) -> requests.Response:
    return token(
        emu,
        tenant,
        grant_type="client_credentials",
        client_id=emu.apps["cert"].client_id,
        client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion=assertion,
        scope="https://vault.azure.net/.default",
    )


@pytest.mark.parametrize(
    ("alg", "use_s256", "pad"),
    [
        ("RS256", False, False),
        ("PS256", False, False),
        ("RS256", True, False),
        ("PS256", True, True),
    ],
)
def test_certificate_assertion_success(emulator: Emulator, alg: str, use_s256: bool, pad: bool) -> None:
    app = emulator.apps["cert"]
    cert, key = load_pem(app.cert_pem_path or "")
    r = _cert_request(
        emulator, client_assertion(emulator, app.client_id, cert, key, alg=alg, use_s256=use_s256, pad=pad)
    )
    assert r.status_code == 200, r.text
    claims = emulator.verify_token(r.json()["access_token"])
    assert claims["appid"] == app.client_id and claims["aud"] == "https://vault.azure.net"
    assert claims["appidacr"] == "2"


def test_certificate_files(emulator: Emulator) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.serialization import pkcs12

    app = emulator.apps["cert"]
    cert, _ = load_pem(app.cert_pem_path or "")
    assert cert.fingerprint(hashes.SHA1()).hex().upper() == app.thumbprint_sha1
    assert cert.fingerprint(hashes.SHA256()).hex().upper() == app.thumbprint_sha256
    enc_cert, _ = load_pem(app.cert_pem_encrypted_path or "", app.cert_password)
    assert enc_cert == cert
    assert b"ENCRYPTED PRIVATE KEY" in Path(app.cert_pem_encrypted_path or "").read_bytes()
    key, pfx_cert, _ = pkcs12.load_key_and_certificates(Path(app.pfx_path or "").read_bytes(), None)
    assert pfx_cert == cert and isinstance(key, rsa.RSAPrivateKey)
    _, pfx_cert2, _ = pkcs12.load_key_and_certificates(
        Path(app.pfx_password_path or "").read_bytes(), (app.cert_password or "").encode()
    )
    assert pfx_cert2 == cert
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(Path(app.pfx_password_path or "").read_bytes(), None)


def test_chain_certificate(emulator: Emulator) -> None:
    from cryptography import x509

    app = emulator.apps["cert"]
    data = Path(app.chain_pem_path or "").read_bytes()
    leaf, intermediate = x509.load_pem_x509_certificates(data)
    assert leaf.issuer == intermediate.subject
    _, key = load_pem(app.chain_pem_path or "")
    r = _cert_request(emulator, client_assertion(emulator, app.client_id, leaf, key))
    assert r.status_code == 200, r.text


def test_unregistered_certificate(emulator: Emulator) -> None:
    app = emulator.apps["cert"]
    cert, key = load_pem(app.unregistered_pem_path or "")
    r = _cert_request(emulator, client_assertion(emulator, app.client_id, cert, key))
    assert_entra_error(r, 401, "invalid_client", 700027)


def test_assertion_signed_by_wrong_key(emulator: Emulator) -> None:
    app = emulator.apps["cert"]
    cert, _ = load_pem(app.cert_pem_path or "")
    _, other_key = load_pem(app.unregistered_pem_path or "")
    r = _cert_request(emulator, client_assertion(emulator, app.client_id, cert, other_key))
    assert_entra_error(r, 401, "invalid_client", 700027)


def test_assertion_claim_errors(emulator: Emulator) -> None:
    app = emulator.apps["cert"]
    cert, key = load_pem(app.cert_pem_path or "")
    now = time.time()
    cases = [
        ({"exp": int(now) - 3600}, 400, 700024),
        ({"nbf": int(now) + 3600, "exp": int(now) + 7200}, 400, 700024),
        ({"aud": "https://login.example/token"}, 400, 700021),
        ({"sub": "someone-else"}, 400, 700023),
    ]
    for overrides, status, code in cases:
        r = _cert_request(emulator, client_assertion(emulator, app.client_id, cert, key, **overrides))
        assert_entra_error(r, status, "invalid_client", code)
    # issuer URL form of the audience is accepted too
    ok = client_assertion(
        emulator, app.client_id, cert, key, aud=f"{emulator.base_url}/{emulator.tenant_id}/v2.0"
    )
    assert _cert_request(emulator, ok).status_code == 200
    assert_entra_error(_cert_request(emulator, "garbage"), 400, "invalid_request", 50027)


def test_assertion_time_uses_injected_clock() -> None:
    clock = FakeClock()
    with Emulator(clock=clock) as emu:
        app = emu.apps["cert"]
        cert, key = load_pem(app.cert_pem_path or "")
        assertion = client_assertion(emu, app.client_id, cert, key, now=clock.now)
        clock.now += 600 + 301  # past exp plus the 5 minute skew allowance
        assert_entra_error(_cert_request(emu, assertion), 400, "invalid_client", 700024)
