"""Managed identity endpoints: each host's success shape and validation errors."""

from __future__ import annotations

import hashlib
import re
import socket
import ssl
from pathlib import Path

import pytest
import requests
from emulator_testlib import TIMEOUT

from azidentity.emulator import Emulator, config_from_dict

RESOURCE = "https://storage.azure.com"


def _imds(emu: Emulator, metadata: bool = True, **params: str) -> requests.Response:
    headers = {"Metadata": "true"} if metadata else {}
    return requests.get(
        f"{emu.mi_base_url}/metadata/identity/oauth2/token",
        params={"api-version": "2018-02-01", "resource": RESOURCE, **params},
        headers=headers,
        timeout=TIMEOUT,
    )


def test_imds_system_assigned(emulator: Emulator) -> None:
    r = _imds(emulator)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {
        "access_token",
        "client_id",
        "expires_in",
        "expires_on",
        "ext_expires_in",
        "not_before",
        "resource",
        "token_type",
    }
    assert all(isinstance(v, str) for v in body.values())
    system = emulator.managed_identities.system
    claims = emulator.verify_token(body["access_token"])
    assert claims["appid"] == system.client_id == body["client_id"]
    assert claims["oid"] == system.object_id and claims["idtyp"] == "app" and claims["aud"] == RESOURCE
    assert int(body["expires_on"]) == claims["exp"] and body["resource"] == RESOURCE


@pytest.mark.parametrize("selector", ["client_id", "object_id", "msi_res_id"])
def test_imds_user_assigned(emulator: Emulator, selector: str) -> None:
    uami = emulator.managed_identities.user[1]
    value = {"client_id": uami.client_id, "object_id": uami.object_id, "msi_res_id": uami.resource_id}[
        selector
    ]
    r = _imds(emulator, **{selector: value})
    claims = emulator.verify_token(r.json()["access_token"])
    assert claims["appid"] == uami.client_id and claims["oid"] == uami.object_id


def test_imds_errors(emulator: Emulator) -> None:
    probe = _imds(emulator, metadata=False)
    assert probe.status_code == 400
    assert probe.json() == {
        "error": "invalid_request",
        "error_description": "Required metadata header not specified",
    }
    unknown = _imds(emulator, client_id="00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 400
    assert unknown.json() == {"error": "invalid_request", "error_description": "Identity not found"}
    assert _imds(emulator, resource="").status_code == 400
    bad_resource = _imds(emulator, resource="https://unknown-resource.example")
    assert bad_resource.status_code == 400 and bad_resource.json()["error"] == "invalid_resource"
    assert emulator.count("imds") == 4


def test_imds_identity_assignment_is_configurable() -> None:
    config = config_from_dict(
        {"managed_identities": {"system": {"assigned": False}, "user": [{"name": "only"}]}}
    )
    with Emulator(config) as emu:
        # no system identity and exactly one user-assigned: IMDS uses it by default
        only = emu.managed_identities.user[0]
        assert _imds(emu).json()["client_id"] == only.client_id
    config = config_from_dict({"managed_identities": {"system": {"assigned": False}, "user": []}})
    with Emulator(config) as emu:
        assert _imds(emu).json()["error_description"] == "Identity not found"


def test_imds_pod_identity_via_fault(emulator: Emulator) -> None:
    emulator.faults.add(
        "imds", status=404, body="no azure identity found for request clientID", headers={"Retry-After": "5"}
    )
    r = _imds(emulator)
    assert r.status_code == 404 and r.headers["Retry-After"] == "5"
    assert r.text == "no azure identity found for request clientID"
    assert _imds(emulator).status_code == 200


def _app_service(emu: Emulator, header: str | None = "", **params: str) -> requests.Response:
    headers = {} if header is None else {"X-IDENTITY-HEADER": header or emu.config.identity_header}
    env = emu.env("app-service")
    return requests.get(
        env["IDENTITY_ENDPOINT"],
        params={"api-version": "2019-08-01", "resource": RESOURCE, **params},
        headers=headers,
        timeout=TIMEOUT,
    )


def test_app_service(emulator: Emulator) -> None:
    r = _app_service(emulator)
    body = r.json()
    assert r.status_code == 200 and set(body) == {
        "access_token",
        "expires_on",
        "resource",
        "token_type",
        "client_id",
    }
    assert isinstance(body["expires_on"], str) and body["token_type"] == "Bearer"
    uami = emulator.managed_identities.user[0]
    r = _app_service(emulator, mi_res_id=uami.resource_id)
    assert r.json()["client_id"] == uami.client_id
    missing = _app_service(emulator, header=None)
    assert missing.status_code == 400 and set(missing.json()) == {"statusCode", "message", "correlationId"}
    wrong = _app_service(emulator, header="wrong")
    assert wrong.status_code == 401 and wrong.json()["statusCode"] == 401
    assert _app_service(emulator, client_id="nope").status_code == 400
    assert emulator.count("app-service") == 5
    functions = emulator.env("functions")
    assert functions["IDENTITY_ENDPOINT"] == f"{emulator.mi_base_url}/msi/token"
    assert "FUNCTIONS_WORKER_RUNTIME" in functions and "WEBSITE_SITE_NAME" in functions


def _arc(emu: Emulator, authorization: str | None = None, **params: str) -> requests.Response:
    headers = {"Metadata": "true"}
    if authorization is not None:
        headers["Authorization"] = authorization
    env = emu.env("arc")
    return requests.get(
        env["IDENTITY_ENDPOINT"],
        params={"api-version": "2020-06-01", "resource": RESOURCE, **params},
        headers=headers,
        timeout=TIMEOUT,
    )


def _arc_secret(emu: Emulator, challenge: requests.Response) -> str:
    assert challenge.status_code == 401
    match = re.fullmatch(r"Basic realm=(.+)", challenge.headers["WWW-Authenticate"])
    assert match
    path = Path(match.group(1))
    assert path.parent == Path(emu.arc_token_dir) and path.suffix == ".key"
    secret = path.read_text()
    assert 0 < len(secret.encode()) < 4096
    return secret


def test_arc_challenge_flow(emulator: Emulator) -> None:
    secret = _arc_secret(emulator, _arc(emulator))
    r = _arc(emulator, f"Basic {secret}")
    assert r.status_code == 200, r.text
    assert r.json()["client_id"] == emulator.managed_identities.system.client_id
    uami = emulator.managed_identities.user[0]
    r = _arc(emulator, f"Basic {secret}", object_id=uami.object_id)
    assert r.json()["object_id"] == uami.object_id
    assert _arc(emulator, "Basic wrong").status_code == 401
    assert _arc(emulator, **{"api-version": "2000-01-01"}).status_code == 400
    env = emulator.env("arc")
    assert env["IMDS_ENDPOINT"] == emulator.mi_base_url


def test_arc_without_echo() -> None:
    with Emulator(config_from_dict({"arc_echo_identity": False})) as emu:
        secret = _arc_secret(emu, _arc(emu))
        uami = emu.managed_identities.user[0]
        body = _arc(emu, f"Basic {secret}", client_id=uami.client_id).json()
        assert "client_id" not in body and emu.verify_token(body["access_token"])["appid"] == uami.client_id


def _sf_get(emu: Emulator, headers: dict[str, str], query: str) -> tuple[int, bytes, bytes]:
    """Raw HTTPS GET that pins the server by SHA-1 thumbprint, as Service Fabric clients do."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    host, port = emu.service_fabric_url.removeprefix("https://").split(":")
    with (
        socket.create_connection((host, int(port)), timeout=TIMEOUT) as raw,
        ctx.wrap_socket(raw, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        lines = [f"GET /sf/token?{query} HTTP/1.1", f"Host: {host}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        tls.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body, der


def test_service_fabric(emulator: Emulator) -> None:
    env = emulator.env("service-fabric")
    assert env["IDENTITY_SERVER_THUMBPRINT"] == emulator.service_fabric_thumbprint
    query = f"api-version=2019-07-01-preview&resource={RESOURCE}"
    status, body, der = _sf_get(emulator, {"Secret": env["IDENTITY_HEADER"]}, query)
    assert hashlib.sha1(der).hexdigest().upper() == emulator.service_fabric_thumbprint
    assert status == 200
    import json

    payload = json.loads(body)
    assert isinstance(payload["expires_on"], int) and payload["token_type"] == "Bearer"
    assert emulator.verify_token(payload["access_token"])["aud"] == RESOURCE
    # not trusted by the emulator CA: SF uses its own self-signed certificate
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(
            f"{emulator.service_fabric_url}/sf/token", verify=emulator.ca_bundle_path, timeout=TIMEOUT
        )
    status, body, _ = _sf_get(emulator, {}, query)
    assert status == 401 and json.loads(body)["error"]["code"] == "SecretHeaderNotFound"
    status, body, _ = _sf_get(emulator, {"Secret": env["IDENTITY_HEADER"]}, "api-version=2019-07-01-preview")
    assert status == 400 and json.loads(body)["error"]["code"] == "ArgumentNullOrEmpty"
    status, body, _ = _sf_get(emulator, {"Secret": env["IDENTITY_HEADER"]}, query + "&mi_res_id=/nope")
    assert status == 400 and json.loads(body)["error"]["code"] == "ManagedIdentityNotFound"


def test_cloud_shell(emulator: Emulator) -> None:
    url = emulator.env("cloud-shell")["MSI_ENDPOINT"]
    r = requests.post(url, data={"resource": RESOURCE}, headers={"Metadata": "true"}, timeout=TIMEOUT)
    assert r.status_code == 200 and r.json()["resource"] == RESOURCE
    assert emulator.verify_token(r.json()["access_token"])["aud"] == RESOURCE
    assert requests.post(url, data={"resource": RESOURCE}, timeout=TIMEOUT).status_code == 400


def test_azure_ml(emulator: Emulator) -> None:
    env = emulator.env("azure-ml")
    params = {
        "api-version": "2017-09-01",
        "resource": RESOURCE,
        "clientid": env["DEFAULT_IDENTITY_CLIENT_ID"],
    }
    r = requests.get(
        env["MSI_ENDPOINT"], params=params, headers={"secret": env["MSI_SECRET"]}, timeout=TIMEOUT
    )
    body = r.json()
    assert r.status_code == 200 and set(body) == {
        "access_token",
        "expires_on",
        "resource",
        "token_type",
        "clientid",
    }
    assert isinstance(body["expires_on"], str)
    uami = emulator.managed_identities.user[0]
    r = requests.get(
        env["MSI_ENDPOINT"],
        params={**params, "clientid": uami.client_id},
        headers={"secret": env["MSI_SECRET"]},
        timeout=TIMEOUT,
    )
    assert r.json()["clientid"] == uami.client_id
    # object_id and msi_res_id select identities too (as MSAL and azure-identity send them); one at a time.
    base = {"api-version": "2017-09-01", "resource": RESOURCE}
    for name, value in (("object_id", uami.object_id), ("msi_res_id", uami.resource_id)):
        r = requests.get(
            env["MSI_ENDPOINT"],
            params={**base, name: value},
            headers={"secret": env["MSI_SECRET"]},
            timeout=TIMEOUT,
        )
        assert r.status_code == 200 and r.json()["clientid"] == uami.client_id, (name, r.text)
    r = requests.get(
        env["MSI_ENDPOINT"],
        params={**base, "object_id": uami.object_id, "msi_res_id": uami.resource_id},
        headers={"secret": env["MSI_SECRET"]},
        timeout=TIMEOUT,
    )
    assert r.status_code == 400
    assert (
        requests.get(env["MSI_ENDPOINT"], params=params, headers={"secret": "x"}, timeout=TIMEOUT).status_code
        == 401
    )


def test_env_for_every_host(emulator: Emulator) -> None:
    from azidentity.emulator import HOSTS

    sp = emulator.env()
    assert sp["AZURE_CLIENT_SECRET"] == emulator.apps["secret"].secret
    assert sp["AZURE_AUTHORITY_HOST"] == emulator.base_url and sp["SSL_CERT_FILE"] == emulator.ca_bundle_path
    assert emulator.env("imds")["AZURE_POD_IDENTITY_AUTHORITY_HOST"] == emulator.mi_base_url
    for host in HOSTS:
        assert emulator.env(host)
    with pytest.raises(ValueError):
        emulator.env("mainframe")
