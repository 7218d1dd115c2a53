"""ManagedIdentityCredential end to end against the emulator, sync and async, on every host."""

from __future__ import annotations

import logging
import pickle
import time
from pathlib import Path

import pytest

from azidentity import AuthenticationFailedError, CredentialUnavailableError
from managed_identity_testlib import (  # noqa: F401 - fresh_mi_cache is an autouse fixture
    RESOURCE,
    SCOPE,
    Sleeps,
    closed_port,
    fresh_mi_cache,
    in_chain,
    make,
    requests_to,
)

ROUTES = {
    "imds": "imds",
    "app-service": "app-service",
    "functions": "app-service",
    "arc": "arc",
    "service-fabric": "service-fabric",
    "cloud-shell": "cloud-shell",
    "azure-ml": "azure-ml",
}


def check_token(emu, token, identity):
    claims = emu.verify_token(token.token)
    assert claims["aud"] == RESOURCE
    assert claims["oid"] == identity.object_id
    assert token.expires_on == claims["exp"]
    return claims


@pytest.mark.parametrize("host", list(ROUTES))
def test_system_assigned_identity_on_every_host(flavor, emulator, host):
    credential = make(flavor, emulator, host)
    token = flavor.get_token(credential, SCOPE)
    check_token(emulator, token, emulator.managed_identities.system)
    info = flavor.get_token_info(credential, SCOPE)
    assert info.token == token.token and info.token_type == "Bearer"
    assert info.refresh_on is not None and info.refresh_on < info.expires_on  # half of a 24 h lifetime
    assert len(requests_to(emulator, ROUTES[host])) == (2 if host == "arc" else 1)  # Arc: challenge + answer


@pytest.mark.parametrize("host", ["imds", "app-service", "arc", "azure-ml"])
def test_user_assigned_by_client_id(flavor, emulator, host):
    identity = emulator.managed_identities.user[1]
    credential = make(flavor, emulator, host, client_id=identity.client_id)
    check_token(emulator, flavor.get_token(credential, SCOPE), identity)


@pytest.mark.parametrize("host", ["imds", "app-service", "arc", "azure-ml"])
@pytest.mark.parametrize("kind", ["object_id", "resource_id"])
def test_user_assigned_by_object_or_resource_id(flavor, emulator, host, kind):
    identity = emulator.managed_identities.user[0]
    credential = make(flavor, emulator, host, identity_config={kind: getattr(identity, kind)})
    check_token(emulator, flavor.get_token(credential, SCOPE), identity)


@pytest.mark.parametrize(
    ("host", "path", "method", "params", "headers"),
    [
        (
            "imds",
            "/metadata/identity/oauth2/token",
            "GET",
            {"api-version": "2018-02-01", "msi_res_id": "R"},
            {"Metadata": "true"},
        ),
        (
            "app-service",
            "/msi/token",
            "GET",
            {"api-version": "2019-08-01", "mi_res_id": "R"},
            {"X-IDENTITY-HEADER": "identity_header"},
        ),
        (
            "arc",
            "/arc/metadata/identity/oauth2/token",
            "GET",
            {"api-version": "2020-06-01", "msi_res_id": "R"},
            {"Metadata": "true"},
        ),
        (
            "azure-ml",
            "/ml/token",
            "GET",
            {"api-version": "2017-09-01", "clientid": "C"},
            {"secret": "azure_ml_secret"},
        ),
        (
            "azure-ml",
            "/ml/token",
            "GET",
            {"api-version": "2017-09-01", "msi_res_id": "R"},
            {"secret": "azure_ml_secret"},
        ),
        (
            "service-fabric",
            "/sf/token",
            "GET",
            {"api-version": "2019-07-01-preview"},
            {"Secret": "service_fabric_secret"},
        ),
        ("cloud-shell", "/cloudshell/token", "POST", {}, {"Metadata": "true"}),
    ],
)
def test_request_shapes(flavor, emulator, host, path, method, params, headers):
    identity = emulator.managed_identities.user[0]
    kwargs = {}
    if "msi_res_id" in params or "mi_res_id" in params:
        kwargs["identity_config"] = {"resource_id": identity.resource_id}
    elif "clientid" in params:
        kwargs["client_id"] = identity.client_id
    flavor.get_token(make(flavor, emulator, host, **kwargs), SCOPE)
    request = requests_to(emulator, ROUTES[host])[-1]
    assert request.method == method and request.path == path
    expected = {k: {"R": identity.resource_id, "C": identity.client_id}.get(v, v) for k, v in params.items()}
    for name, value in expected.items():
        assert request.query[name] == value
    if host == "cloud-shell":
        assert request.form == {"resource": RESOURCE} and "resource" not in request.query
    else:
        assert request.query["resource"] == RESOURCE
    secrets = {
        "identity_header": emulator.config.identity_header,
        "azure_ml_secret": emulator.config.azure_ml_secret,
        "service_fabric_secret": emulator.config.service_fabric_secret,
    }
    for name, value in headers.items():
        assert request.headers.get(name) == secrets.get(value, value)
    assert "Authorization" not in request.headers or host == "arc"


def test_azure_ml_system_identity_sends_default_identity_client_id(flavor, emulator):
    flavor.get_token(make(flavor, emulator, "azure-ml"), SCOPE)
    (request,) = requests_to(emulator, "azure-ml")
    assert request.query["clientid"] == emulator.managed_identities.system.client_id


def test_azure_ml_date_string_expiry(flavor, emulator):
    expires = int(time.time()) + 3600
    date = time.strftime("%m/%d/%Y %I:%M:%S %p +00:00", time.gmtime(expires))
    emulator.faults.add("azure-ml", status=200, body={"access_token": "opaque-ml-token", "expires_on": date})
    token = flavor.get_token(make(flavor, emulator, "azure-ml"), SCOPE)
    assert token.token == "opaque-ml-token" and token.expires_on == expires


# -- the process-wide cache ----------------------------------------------------------------------------------


def test_two_credentials_share_one_token(flavor, emulator):
    first, second = make(flavor, emulator), make(flavor, emulator)
    token = flavor.get_token(first, SCOPE)
    assert flavor.get_token(second, SCOPE).token == token.token
    assert flavor.get_token(second, "https://management.azure.com").token == token.token  # same resource
    assert emulator.count("imds") == 1
    # A new credential per request (the common throttling pattern) still asks once.
    for _ in range(5):
        flavor.get_token(make(flavor, emulator), SCOPE)
    assert emulator.count("imds") == 1


def test_sync_and_async_share_the_cache(emulator):
    import asyncio

    import azidentity.aio

    env = emulator.env("imds")
    with azidentity.ManagedIdentityCredential(_env=env) as credential:
        token = credential.get_token(SCOPE)

    async def go():
        async with azidentity.aio.ManagedIdentityCredential(_env=env) as credential:
            return await credential.get_token(SCOPE)

    assert asyncio.run(go()).token == token.token
    assert emulator.count("imds") == 1


def test_cache_is_keyed_by_identity_scope_and_endpoint(flavor, emulator):
    user = emulator.managed_identities.user[0]
    flavor.get_token(make(flavor, emulator), SCOPE)
    flavor.get_token(make(flavor, emulator, client_id=user.client_id), SCOPE)
    flavor.get_token(make(flavor, emulator, identity_config={"object_id": user.object_id}), SCOPE)
    flavor.get_token(make(flavor, emulator), "https://vault.azure.net/.default")
    assert emulator.count("imds") == 4
    flavor.get_token(make(flavor, emulator, "app-service"), SCOPE)
    assert emulator.count("app-service") == 1


def test_claims_bypass_the_cache_and_tenant_is_ignored(flavor, emulator):
    credential = make(flavor, emulator)
    first = flavor.get_token(credential, SCOPE, tenant_id="some-other-tenant")
    second = flavor.get_token(credential, SCOPE, claims='{"access_token": {"nbf": {"essential": true}}}')
    assert second.token != first.token
    assert emulator.count("imds") == 2
    assert flavor.get_token(credential, SCOPE).token == second.token  # stored under the normal key


def test_a_credential_with_its_own_clock_gets_its_own_cache(flavor, emulator):
    flavor.get_token(make(flavor, emulator), SCOPE)
    flavor.get_token(make(flavor, emulator, _clock=time.time), SCOPE)
    assert emulator.count("imds") == 2


# -- arguments, logging, repr ------------------------------------------------------------------------------


def test_exactly_one_scope(flavor, emulator):
    credential = make(flavor, emulator)
    with pytest.raises(ValueError, match="This credential requires exactly one scope per token request."):
        flavor.get_token(credential, SCOPE, "https://vault.azure.net/.default")
    with pytest.raises(ValueError, match="whitespace"):
        flavor.get_token(credential, "https://management.azure.com /.default")
    assert emulator.count() == 0


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"client_id": "a", "identity_config": {"object_id": "b"}}, "must not contain"),
        ({"identity_config": {"object_id": "b", "resource_id": "c"}}, "more than one"),
        ({"connection_timeout": 0}, "connection_timeout"),
        ({"read_timeout": -1}, "read_timeout"),
        ({"probe_timeout": "1"}, "probe_timeout"),
        ({"retry_total": -1}, "retry_total"),
    ],
)
def test_constructor_validation(flavor, kwargs, text):
    with pytest.raises(ValueError, match=text):
        flavor.make("ManagedIdentityCredential", _env={}, **kwargs)


def test_info_log_names_source_and_identity(flavor, emulator, caplog):
    with caplog.at_level(logging.INFO, logger="azidentity"):
        make(flavor, emulator, "app-service", client_id="1234")
        make(flavor, emulator, "arc")
        make(flavor, emulator, None, env={"MSI_ENDPOINT": "http://127.0.0.1:9/x"})
    messages = [r.getMessage() for r in caplog.records]
    assert "ManagedIdentityCredential will use App Service managed identity with client_id 1234" in messages
    assert "ManagedIdentityCredential will use Azure Arc managed identity" in messages
    assert "ManagedIdentityCredential will use Cloud Shell managed identity" in messages


def test_repr_and_pickle(flavor, emulator):
    cid = emulator.managed_identities.user[0].client_id
    credential = make(flavor, emulator, "app-service", client_id=cid)
    text = repr(credential)
    assert "App Service managed identity" in text and f"client_id='{cid}'" in text
    assert emulator.config.identity_header not in text
    assert type(credential).__name__ == "ManagedIdentityCredential"
    if not flavor.is_async:
        flavor.get_token(credential, SCOPE)
        clone = pickle.loads(pickle.dumps(credential))
        flavor._made.append(clone)
        assert flavor.get_token(clone, SCOPE).token == flavor.get_token(credential, SCOPE).token


def test_never_proxied(flavor, emulator, monkeypatch):
    dead = f"http://127.0.0.1:{closed_port()}"
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, dead)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    credential = make(flavor, emulator, proxies={"http": dead, "https": dead})
    flavor.get_token(credential, SCOPE)
    assert emulator.count("imds") == 1


def test_aks_workload_identity_token_exchange(flavor, emulator):
    """With the webhook's variables set, ManagedIdentityCredential exchanges the projected token file."""
    env = emulator.env("workload-identity")
    credential = flavor.make("ManagedIdentityCredential", _env=env, connection_verify=emulator.ca_bundle_path)
    claims = emulator.verify_token(flavor.get_token(credential, SCOPE).token)
    assert claims["appid"] == emulator.apps["workload"].client_id
    (exchange,) = [r for r in emulator.requests if r.route == "token"]
    assert exchange.form["client_assertion"] == Path(env["AZURE_FEDERATED_TOKEN_FILE"]).read_text().strip()
    assert emulator.count("imds") == 0


def test_aks_workload_identity_needs_a_client_id(flavor, emulator):
    env = {k: v for k, v in emulator.env("workload-identity").items() if k != "AZURE_CLIENT_ID"}
    with pytest.raises(ValueError, match="no client ID was provided"):
        flavor.make("ManagedIdentityCredential", _env=env)
    credential = flavor.make(
        "ManagedIdentityCredential",
        _env=env,
        client_id=emulator.apps["workload"].client_id,
        connection_verify=emulator.ca_bundle_path,
    )
    assert flavor.get_token(credential, SCOPE).token


def test_incomplete_environment_is_unavailable(flavor):
    credential = flavor.make("ManagedIdentityCredential", _env={"IDENTITY_ENDPOINT": "http://127.0.0.1:9"})
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(credential, SCOPE)
    assert "IDENTITY_ENDPOINT is set" in str(info.value) and info.value.mitigation


@pytest.mark.parametrize(
    ("host", "kwargs", "key"),
    [
        ("service-fabric", {"identity_config": {"object_id": "o"}}, "mi-service-fabric-identity"),
        ("service-fabric", {"client_id": "c"}, "mi-service-fabric-identity"),
    ],
)
def test_unsupported_identity_kinds_name_host_and_support(flavor, emulator, host, kwargs, key):
    from azidentity._mitigations import ROWS

    credential = make(flavor, emulator, host, **kwargs)
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(credential, SCOPE)
    assert info.value.mitigation == ROWS[key].mitigation
    assert emulator.count() == 0
    # In a chain the host simply can't serve that identity: the chain moves on.
    with in_chain(), pytest.raises(CredentialUnavailableError):
        flavor.get_token(make(flavor, emulator, host, **kwargs), SCOPE)


def test_exports():
    import azidentity.aio

    assert azidentity.ManagedIdentityCredential.__module__ == "azidentity._credentials.managed_identity"
    assert azidentity.aio.ManagedIdentityCredential.__name__ == "ManagedIdentityCredential"
    assert azidentity.aio.ManagedIdentityCredential.__module__ == "azidentity.aio"


def test_sleeps_helper_records():
    sleeps = Sleeps()
    sleeps(1.5)
    assert sleeps == [1.5]


def test_aks_workload_identity_follows_the_credentials_clock(flavor, emulator):
    """A test clock given to ManagedIdentityCredential reaches the workload identity exchange it
    delegates to: the token's expiry is counted from that clock, and the cache expires by it."""
    now = [1_000_000_000.0]  # 2001: far from the real time, so a mixed-up clock shows
    env = emulator.env("workload-identity")
    credential = flavor.make(
        "ManagedIdentityCredential",
        _env=env,
        connection_verify=emulator.ca_bundle_path,
        _clock=lambda: now[0],
    )
    first = flavor.get_token(credential, SCOPE)
    assert now[0] < first.expires_on <= now[0] + 24 * 3600
    now[0] = first.expires_on + 60
    assert flavor.get_token(credential, SCOPE).token != first.token
    assert emulator.count("token") == 2
