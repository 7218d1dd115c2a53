"""The real azure-keyvault-secrets ``SecretClient`` (sync and aio) against the emulator's Key Vault-like
endpoint: Key Vault's bearer challenge names a tenant, the client asks the credential for a token for
that tenant, so per-request ``tenant_id`` and ``additionally_allowed_tenants`` are exercised through a
real SDK client.

Vaults listen on 127.0.0.1, so ``verify_challenge_resource=False`` (the client would otherwise require
the challenge's resource, vault.azure.net, to be a parent domain of the vault's host).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import azure.keyvault.secrets
import azure.keyvault.secrets.aio
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError, ResourceNotFoundError
from azure.keyvault.secrets._shared import http_challenge_cache

import azidentity
from azidentity.emulator import Emulator

VAULT_SCOPE = "https://vault.azure.net/.default"
API_VERSION = "7.5"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The SDK caches challenges per vault host for the whole process; each test starts without one.
    http_challenge_cache.clear()
    for name in list(os.environ):
        if name.startswith(("AZURE_", "IDENTITY_", "MSI_", "IMDS_")):
            monkeypatch.delenv(name)
    yield
    http_challenge_cache.clear()


class Vaults:
    """Builds SecretClients for the flavor (sync or aio) and closes them at teardown."""

    def __init__(self, flavor: Any, emulator: Emulator) -> None:
        self.flavor = flavor
        self.emu = emulator
        self._clients: list[Any] = []

    def credential(self, name: str = "ClientSecretCredential", **kwargs: Any) -> Any:
        app = self.emu.apps["secret"]
        return self.flavor.make(
            name,
            self.emu.tenant_id,
            app.client_id,
            app.secret,
            authority=self.emu.base_url,
            connection_verify=self.emu.ca_bundle_path,
            **kwargs,
        )

    def client(self, vault_url: str, credential: Any) -> Any:
        module = azure.keyvault.secrets.aio if self.flavor.is_async else azure.keyvault.secrets
        client = module.SecretClient(
            vault_url=vault_url,
            credential=credential,
            verify_challenge_resource=False,
            connection_verify=self.emu.ca_bundle_path,
        )
        self._clients.append(client)
        return client

    def run(self, value: Any) -> Any:
        return self.flavor.run(value)

    def close(self) -> None:
        for client in self._clients:
            self.run(client.close())


@pytest.fixture
def vaults(flavor: Any, emulator: Emulator) -> Iterator[Vaults]:
    v = Vaults(flavor, emulator)
    yield v
    v.close()


def _vault_log(emulator: Emulator) -> list[tuple[str, int | None, bool]]:
    return [
        (r.method, r.status, "Authorization" in r.headers) for r in emulator.requests if r.route == "keyvault"
    ]


def _token_requests(emulator: Emulator) -> list[Any]:
    return [r for r in emulator.requests if r.route == "token"]


def test_set_and_get_secret(vaults: Vaults, emulator: Emulator) -> None:
    client = vaults.client(emulator.keyvault_url, vaults.credential())
    first = vaults.run(client.set_secret("database-password", "first value"))
    second = vaults.run(client.set_secret("database-password", "second value", content_type="text/plain"))
    assert first.name == "database-password" and first.value == "first value"
    assert vaults.run(client.get_secret("database-password")).value == "second value"
    assert vaults.run(client.get_secret("database-password", first.properties.version)).value == "first value"
    assert second.properties.content_type == "text/plain"
    assert second.id.startswith(emulator.keyvault_url + "/secrets/database-password/")
    # Key Vault's protocol: a bodiless request elicits the challenge, then one token serves every request.
    assert _vault_log(emulator) == [
        ("PUT", 401, False),
        ("PUT", 200, True),
        ("PUT", 200, True),
        ("GET", 200, True),
        ("GET", 200, True),
    ]
    [token_request] = _token_requests(emulator)
    assert token_request.path == f"/{emulator.tenant_id}/oauth2/v2.0/token"
    assert token_request.form["scope"] == VAULT_SCOPE
    assert "CP1" in (token_request.claims or "")  # SecretClient asks for CAE tokens


def test_challenge_for_another_tenant_is_refused_by_default(vaults: Vaults, emulator: Emulator) -> None:
    client = vaults.client(emulator.keyvault_other_tenant_url, vaults.credential())
    with pytest.raises(azidentity.AuthenticationFailedError) as caught:
        vaults.run(client.set_secret("cross-tenant", "value"))
    message = str(caught.value)
    assert f"not configured to acquire tokens for tenant {emulator.other_tenant_id}" in message
    assert "additionally_allowed_tenants" in message
    assert caught.value.mitigation  # the guide's mitigation travels with the error
    assert _vault_log(emulator) == [("PUT", 401, False)]
    assert _token_requests(emulator) == []  # refused before any network request


@pytest.mark.parametrize("allowed", ["other", "*"])
def test_additionally_allowed_tenants_follow_the_challenge(
    vaults: Vaults, emulator: Emulator, allowed: str
) -> None:
    tenants = [emulator.other_tenant_id if allowed == "other" else "*"]
    client = vaults.client(
        emulator.keyvault_other_tenant_url, vaults.credential(additionally_allowed_tenants=tenants)
    )
    vaults.run(client.set_secret("cross-tenant", "value"))
    assert vaults.run(client.get_secret("cross-tenant")).value == "value"
    [token_request] = _token_requests(emulator)
    assert token_request.path == f"/{emulator.other_tenant_id}/oauth2/v2.0/token"
    assert _vault_log(emulator) == [("PUT", 401, False), ("PUT", 200, True), ("GET", 200, True)]


def test_one_credential_two_vaults_in_two_tenants(vaults: Vaults, emulator: Emulator) -> None:
    """Tokens are cached per tenant: each vault gets the token for its own tenant, once."""
    credential = vaults.credential(additionally_allowed_tenants=[emulator.other_tenant_id])
    home = vaults.client(emulator.keyvault_url, credential)
    other = vaults.client(emulator.keyvault_other_tenant_url, credential)
    for _ in range(2):
        vaults.run(home.set_secret("where", "home"))
        vaults.run(other.set_secret("where", "other"))
    assert vaults.run(home.get_secret("where")).value == "home"
    assert vaults.run(other.get_secret("where")).value == "other"
    paths = sorted(r.path for r in _token_requests(emulator))
    assert paths == sorted(f"/{t}/oauth2/v2.0/token" for t in (emulator.tenant_id, emulator.other_tenant_id))


def test_scope_shaped_challenge(vaults: Vaults, emulator: Emulator) -> None:
    vault = emulator.vault("scope-challenge-vault", challenge="scope")
    client = vaults.client(vault.url, vaults.credential())
    vaults.run(client.set_secret("s", "v"))
    [token_request] = _token_requests(emulator)
    assert token_request.form["scope"] == VAULT_SCOPE


def test_default_credential_reads_allowed_tenants_from_environment(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_AUTHORITY_HOST"):
        monkeypatch.setenv(name, emulator.env()[name])
    monkeypatch.setenv("AZURE_ADDITIONALLY_ALLOWED_TENANTS", emulator.other_tenant_id)
    credential = azidentity.DefaultAzureCredential(
        connection_verify=emulator.ca_bundle_path,
        exclude_managed_identity_credential=True,
        exclude_cli_credential=True,
        exclude_powershell_credential=True,
        exclude_developer_cli_credential=True,
    )
    with (
        credential,
        azure.keyvault.secrets.SecretClient(
            emulator.keyvault_other_tenant_url,
            credential,
            verify_challenge_resource=False,
            connection_verify=emulator.ca_bundle_path,
        ) as client,
    ):
        client.set_secret("from-dac", "value")
        assert client.get_secret("from-dac").value == "value"
    assert [r.path for r in _token_requests(emulator)] == [f"/{emulator.other_tenant_id}/oauth2/v2.0/token"]


class _IgnoresTenant:
    """A credential that answers every request with a home-tenant token, whatever tenant is asked for."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        return self.inner.get_token(*scopes)


def test_vault_rejects_a_token_from_the_wrong_tenant(emulator: Emulator) -> None:
    """The endpoint checks what Key Vault checks, so the tests above prove something."""
    app = emulator.apps["secret"]
    inner = azidentity.ClientSecretCredential(
        emulator.tenant_id,
        app.client_id,
        app.secret,
        authority=emulator.base_url,
        connection_verify=emulator.ca_bundle_path,
    )
    with (
        inner,
        azure.keyvault.secrets.SecretClient(
            emulator.keyvault_other_tenant_url,
            _IgnoresTenant(inner),
            verify_challenge_resource=False,
            connection_verify=emulator.ca_bundle_path,
        ) as client,
    ):
        with pytest.raises(ClientAuthenticationError) as caught:
            client.get_secret("anything")
    assert "AKV10032" in str(caught.value)


def test_endpoint_answers_like_key_vault(emulator: Emulator) -> None:
    """Errors as Key Vault shapes them: missing secret, bad api-version, a token for another audience."""
    app = emulator.apps["secret"]
    url = f"{emulator.keyvault_url}/secrets/absent"
    with azidentity.ClientSecretCredential(
        emulator.tenant_id,
        app.client_id,
        app.secret,
        authority=emulator.base_url,
        connection_verify=emulator.ca_bundle_path,
    ) as credential:
        vault_token = credential.get_token(VAULT_SCOPE).token
        storage_token = credential.get_token("https://storage.azure.com/.default").token

    def get(token: str, api_version: str = API_VERSION) -> requests.Response:
        return requests.get(
            url,
            params={"api-version": api_version},
            headers={"Authorization": f"Bearer {token}"},
            verify=emulator.ca_bundle_path,
            timeout=10,
        )

    missing = get(vault_token)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "SecretNotFound"
    assert get(vault_token, "2016-10").status_code == 400
    wrong_audience = get(storage_token)
    assert wrong_audience.status_code == 401
    assert "AKV10022" in wrong_audience.json()["error"]["message"]
    assert wrong_audience.headers["WWW-Authenticate"].startswith("Bearer authorization=")
    with pytest.raises(ResourceNotFoundError):
        with (
            azidentity.ClientSecretCredential(
                emulator.tenant_id,
                app.client_id,
                app.secret,
                authority=emulator.base_url,
                connection_verify=emulator.ca_bundle_path,
            ) as credential,
            azure.keyvault.secrets.SecretClient(
                emulator.keyvault_url,
                credential,
                verify_challenge_resource=False,
                connection_verify=emulator.ca_bundle_path,
            ) as client,
        ):
            client.get_secret("absent")


def test_bearer_token_provider_with_plain_requests(emulator: Emulator) -> None:
    """README's example: get_bearer_token_provider and a plain HTTP client."""
    app = emulator.apps["secret"]
    url = f"{emulator.keyvault_url}/secrets/plain-http"
    params = {"api-version": API_VERSION}
    unauthenticated = requests.get(url, params=params, verify=emulator.ca_bundle_path, timeout=10)
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["WWW-Authenticate"] == (
        f'Bearer authorization="{emulator.base_url}/{emulator.tenant_id}", resource="https://vault.azure.net"'
    )
    with azidentity.ClientSecretCredential(
        emulator.tenant_id,
        app.client_id,
        app.secret,
        authority=emulator.base_url,
        connection_verify=emulator.ca_bundle_path,
    ) as credential:
        token_provider = azidentity.get_bearer_token_provider(credential, VAULT_SCOPE)
        # verify= on each call: requests lets REQUESTS_CA_BUNDLE override a Session's verify attribute.
        headers = {"Authorization": f"Bearer {token_provider()}"}
        put = requests.put(
            url,
            params=params,
            json={"value": "over plain HTTP"},
            headers=headers,
            verify=emulator.ca_bundle_path,
            timeout=10,
        )
        assert put.status_code == 200, put.text
        headers = {"Authorization": f"Bearer {token_provider()}"}
        got = requests.get(url, params=params, headers=headers, verify=emulator.ca_bundle_path, timeout=10)
        assert got.json()["value"] == "over plain HTTP"
    assert emulator.count("token") == 1
