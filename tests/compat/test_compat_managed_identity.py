"""ManagedIdentityCredential on each host, with a transport double and a patched environment.

The host is chosen from the environment at construction (both libraries), so each test patches
``os.environ`` the way the host would set it; endpoints are loopback addresses that are never
contacted (the transport answers).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from azure.core.exceptions import ClientAuthenticationError

from .compat_testlib import (
    AUTHORITY,
    CLIENT_ID,
    GET_TOKEN_METHODS,
    JWT_BEARER,
    RESPONSE_STYLES,
    SCOPE,
    TENANT,
    Expect,
    Library,
    Mode,
    Script,
    call,
    mock_response,
    skip_theirs,
    token_payload,
)

RESOURCE = SCOPE[: -len("/.default")]
ENDPOINT = "http://127.0.0.1:9/msi/token"
IMDS_HOST = "http://127.0.0.1:9"
IMDS_URL = IMDS_HOST + "/metadata/identity/oauth2/token"


def mi_payload(access_token: str, expires_in: int = 3600) -> dict[str, Any]:
    return {
        "access_token": access_token,
        "expires_on": str(int(time.time()) + expires_in),
        "resource": RESOURCE,
        "token_type": "Bearer",
    }


@dataclass
class Host:
    name: str
    env: dict[str, str]
    expect: Callable[[dict[str, str]], Expect]  # identity params -> the request
    client_id_param: str | None = "client_id"  # how a user-assigned client ID is sent (None: refused)
    theirs_async: str | None = None
    sync: str | None = None  # why neither library's sync credential can be tested with a transport double
    ours: str | None = None  # why azidentity doesn't send through a transport double here (a README row)
    payload: Callable[[str], dict[str, Any]] = mi_payload

    def __str__(self) -> str:
        return self.name


def _get(url: str, api_version: str, headers: dict[str, str]) -> Callable[[dict[str, str]], Expect]:
    def expect(identity: dict[str, str]) -> Expect:
        return Expect(
            "GET", url, query={"api-version": api_version, "resource": RESOURCE, **identity}, headers=headers
        )

    return expect


def _cloud_shell(identity: dict[str, str]) -> Expect:
    return Expect("POST", ENDPOINT, form={"resource": RESOURCE, **identity}, headers={"Metadata": "true"})


def _token_file() -> str:
    import tempfile

    handle, path = tempfile.mkstemp(prefix="compat-federated-")
    os.write(handle, b"federated-token-value")
    os.close(handle)
    return path


def _exchange(identity: dict[str, str]) -> Expect:
    return Expect(
        "POST",
        f"https://{AUTHORITY}/{TENANT}/oauth2/v2.0/token",
        form={
            "client_id": identity.get("client_id", CLIENT_ID),
            "client_assertion_type": JWT_BEARER,
            "client_assertion": "federated-token-value",
            "grant_type": "client_credentials",
        },
    )


HOSTS = [
    Host(
        "App Service",
        {"IDENTITY_ENDPOINT": ENDPOINT, "IDENTITY_HEADER": "identity-header-value"},
        _get(ENDPOINT, "2019-08-01", {"X-IDENTITY-HEADER": "identity-header-value"}),
    ),
    Host(
        "IMDS",
        {"AZURE_POD_IDENTITY_AUTHORITY_HOST": IMDS_HOST},
        _get(IMDS_URL, "2018-02-01", {"Metadata": "true"}),
        payload=lambda access_token: dict(mi_payload(access_token), expires_in="3600"),  # IMDS sends both
    ),
    Host(
        "Azure ML",
        {"MSI_ENDPOINT": ENDPOINT, "MSI_SECRET": "msi-secret-value"},
        _get(ENDPOINT, "2017-09-01", {"secret": "msi-secret-value"}),
        client_id_param="clientid",
    ),
    Host("Cloud Shell", {"MSI_ENDPOINT": ENDPOINT}, _cloud_shell, client_id_param=None),
    Host(
        "Service Fabric",
        {
            "IDENTITY_ENDPOINT": "https://127.0.0.1:9/msi/token",
            "IDENTITY_HEADER": "identity-header-value",
            "IDENTITY_SERVER_THUMBPRINT": "A" * 40,
        },
        _get("https://127.0.0.1:9/msi/token", "2019-07-01-preview", {"Secret": "identity-header-value"}),
        client_id_param=None,
        sync="azure-identity's sync Service Fabric credential uses only a RequestsTransport's session, not "
        "a transport double (it warns and connects by itself); azidentity pins the server certificate",
        ours="Service Fabric keeps its own certificate-pinning transport and names yours in a UserWarning "
        "(README: Service Fabric with an async transport)",
    ),
    Host(
        "token exchange",
        {
            "AZURE_TENANT_ID": TENANT,
            "AZURE_CLIENT_ID": CLIENT_ID,
            "AZURE_AUTHORITY_HOST": f"https://{AUTHORITY}",
        },
        _exchange,
        payload=lambda access_token: token_payload(access_token),
    ),
]

hosts = pytest.mark.parametrize("host", HOSTS, ids=str)
methods = pytest.mark.parametrize("method", GET_TOKEN_METHODS)


@pytest.fixture
def environ(host: Host, library: Library, mode: Mode) -> Any:
    if mode.is_async and host.theirs_async:
        skip_theirs(library, host.theirs_async)
    if not mode.is_async and host.sync:
        pytest.skip(host.sync)
    if library.ours and host.ours:
        pytest.skip(f"azidentity: {host.ours}")
    env = dict(host.env)
    if host.name == "token exchange":
        env["AZURE_FEDERATED_TOKEN_FILE"] = _token_file()
    with mock.patch.dict(os.environ, env):
        yield env
    if host.name == "token exchange":
        os.unlink(env["AZURE_FEDERATED_TOKEN_FILE"])


@hosts
@methods
@pytest.mark.parametrize("style", list(RESPONSE_STYLES))
def test_system_assigned_token_and_cache(
    host: Host, library: Library, mode: Mode, method: str, environ: Any, style: str
) -> None:
    script = Script((host.expect({}), RESPONSE_STYLES[style](json_payload=host.payload("mi-token-1"))))
    transport = mode.transport(script)
    credential = mode.module(library).ManagedIdentityCredential(transport=transport)

    token = call(mode, credential, method, SCOPE)
    assert token.token == "mi-token-1"
    assert abs(token.expires_on - (time.time() + 3600)) < 60
    sent = transport.send.call_count
    assert call(mode, credential, method, SCOPE).token == "mi-token-1"
    assert transport.send.call_count == sent
    assert script.unanswered == 0


@hosts
@methods
def test_user_assigned_client_id(host: Host, library: Library, mode: Mode, method: str, environ: Any) -> None:
    module = mode.module(library)
    if host.client_id_param is None:
        # Hosts without user-assigned identities refuse a client_id: at construction or at get_token.
        with pytest.raises((ValueError, ClientAuthenticationError)):
            credential = module.ManagedIdentityCredential(
                client_id="user-assigned-id", transport=mode.transport(Script())
            )
            call(mode, credential, method, SCOPE)
        return
    script = Script(
        (
            host.expect({host.client_id_param: "user-assigned-id"}),
            mock_response(json_payload=host.payload("mi-token")),
        )
    )
    credential = module.ManagedIdentityCredential(
        client_id="user-assigned-id", transport=mode.transport(script)
    )
    assert call(mode, credential, method, SCOPE).token == "mi-token"


@hosts
@methods
def test_error_response(host: Host, library: Library, mode: Mode, method: str, environ: Any) -> None:
    error = {"error": "invalid_resource", "error_description": "AADSTS500011: resource principal not found"}
    # Enough answers for the retries either library makes on a 400 (none, normally).
    script = Script(*[(Expect(), mock_response(400, json_payload=error)) for _ in range(8)])
    credential = mode.module(library).ManagedIdentityCredential(transport=mode.transport(script))
    with pytest.raises(ClientAuthenticationError):
        call(mode, credential, method, SCOPE)


@hosts
@methods
def test_requires_exactly_one_scope(
    host: Host, library: Library, mode: Mode, method: str, environ: Any
) -> None:
    if host.name == "token exchange":
        pytest.skip("token exchange goes through WorkloadIdentityCredential, which takes several scopes")
    credential = mode.module(library).ManagedIdentityCredential(transport=mode.transport(Script()))
    with pytest.raises(ValueError):
        call(mode, credential, method)
    with pytest.raises(ValueError):
        call(mode, credential, method, SCOPE, "https://storage.azure.com/.default")


@pytest.mark.parametrize("method", GET_TOKEN_METHODS)
def test_tenant_id_is_ignored(library: Library, mode: Mode, method: str) -> None:
    """Managed identity has no tenant to choose: a request's tenant_id changes nothing."""
    env = {"IDENTITY_ENDPOINT": ENDPOINT, "IDENTITY_HEADER": "identity-header-value"}
    with mock.patch.dict(os.environ, env):
        script = Script((HOSTS[0].expect({}), mock_response(json_payload=mi_payload("mi-token"))))
        credential = mode.module(library).ManagedIdentityCredential(transport=mode.transport(script))
        assert call(mode, credential, method, SCOPE, tenant_id="some-other-tenant").token == "mi-token"


@pytest.mark.parametrize("key", ["object_id", "resource_id"])
def test_identity_config_on_app_service(library: Library, mode: Mode, key: str) -> None:
    """A user-assigned identity chosen by object ID or resource ID (sync azure-identity sends the resource
    ID as ``mi_res_id``, async as ``resource_id``: either is accepted here)."""
    value = "/subscriptions/s/resourcegroups/r/providers/x/y" if key == "resource_id" else "object-id-value"
    names = {"object_id": ("object_id",), "resource_id": ("mi_res_id", "resource_id", "msi_res_id")}[key]

    def check(request: Any) -> None:
        from .compat_testlib import query_of

        assert any(query_of(request).get(name) == value for name in names), query_of(request)

    env = {"IDENTITY_ENDPOINT": ENDPOINT, "IDENTITY_HEADER": "identity-header-value"}
    with mock.patch.dict(os.environ, env):
        script = Script(
            (Expect("GET", ENDPOINT, check=check), mock_response(json_payload=mi_payload("mi-token")))
        )
        credential = mode.module(library).ManagedIdentityCredential(
            identity_config={key: value}, transport=mode.transport(script)
        )
        assert call(mode, credential, "get_token", SCOPE).token == "mi-token"


def test_no_endpoint_in_environment_is_unavailable(library: Library, tmp_path: Path) -> None:
    """IDENTITY_ENDPOINT alone names no host: the credential is unavailable (a chain moves on)."""
    with mock.patch.dict(os.environ, {"IDENTITY_ENDPOINT": ENDPOINT}):
        credential = library.sync.ManagedIdentityCredential(transport=mock.MagicMock())
        with pytest.raises(library.CredentialUnavailableError):
            credential.get_token(SCOPE)
