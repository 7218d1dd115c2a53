"""The real azure-storage-blob client, sync and aio, against Azurite (HTTPS, ``--oauth basic``), with
tokens from azidentity credentials talking to the emulator. Everything stays on 127.0.0.1.

The fixture lives in azurite_fixture.py: skipped when Azurite is not installed, a failure under CI.
"""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient
from azure.storage.blob.aio import BlobServiceClient as AsyncBlobServiceClient

import azidentity
import azidentity.aio
from azidentity.emulator import Emulator

if TYPE_CHECKING:
    from azurite_fixture import Azurite

pytest_plugins = ["azurite_fixture"]  # the `azurite` fixture

STORAGE_SCOPE = "https://storage.azure.com/.default"
# The chain's developer tools would start real az / pwsh / azd processes: leave them out.
NO_DEVELOPER_TOOLS = {
    "exclude_cli_credential": True,
    "exclude_powershell_credential": True,
    "exclude_developer_cli_credential": True,
}
_STEERING_PREFIXES = (
    "AZURE_",
    "IDENTITY_",
    "MSI_",
    "IMDS_",
    "AZURESUBSCRIPTION_",
    "SYSTEM_OIDC",
    "WEBSITE_",
    "FUNCTIONS_",
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing from the machine's environment may steer a credential, and no managed identity token
    cached by another test may be served."""
    from azidentity._credentials.managed_identity import _clear_shared_cache

    for name in list(os.environ):
        if name.startswith(_STEERING_PREFIXES):
            monkeypatch.delenv(name)
    _clear_shared_cache()


def _set_env(monkeypatch: pytest.MonkeyPatch, values: dict[str, str], *names: str) -> None:
    for name in names:
        monkeypatch.setenv(name, values[name])


def _container() -> str:
    return f"azidentity-{uuid.uuid4().hex[:12]}"


def exercise(service: BlobServiceClient) -> None:
    name = _container()
    container = service.create_container(name)
    payload = os.urandom(1024)
    container.upload_blob("greeting.bin", payload)
    assert container.download_blob("greeting.bin").readall() == payload
    assert [b.name for b in container.list_blobs()] == ["greeting.bin"]
    assert name in [c.name for c in service.list_containers()]
    container.delete_container()


async def exercise_async(service: AsyncBlobServiceClient) -> None:
    name = _container()
    container = await service.create_container(name)
    payload = os.urandom(1024)
    await container.upload_blob("greeting.bin", payload)
    downloaded = await container.download_blob("greeting.bin")
    assert await downloaded.readall() == payload
    assert [b.name async for b in container.list_blobs()] == ["greeting.bin"]
    await container.delete_container()


def _dac_environment(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """EnvironmentCredential's variables from the emulator, and IMDS pointed at the emulator too (so the
    chain could not leave 127.0.0.1 even if it got past EnvironmentCredential)."""
    _set_env(
        monkeypatch,
        emulator.env(),
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_AUTHORITY_HOST",
    )
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.mi_base_url)


def _assert_one_client_secret_token(emulator: Emulator) -> None:
    token_requests = [r for r in emulator.requests if r.route == "token"]
    assert len(token_requests) == 1, [(r.route, r.status) for r in emulator.requests]
    request = token_requests[0]
    assert request.status == 200
    assert request.form["client_id"] == emulator.apps["secret"].client_id
    assert request.form["scope"] == STORAGE_SCOPE
    assert request.path == f"/{emulator.tenant_id}/oauth2/v2.0/token"
    assert emulator.count("imds") == 0  # the chain stopped at EnvironmentCredential


def test_default_credential_environment_sync(
    azurite: Azurite, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    _dac_environment(emulator, monkeypatch)
    with azidentity.DefaultAzureCredential(
        connection_verify=emulator.ca_bundle_path, **NO_DEVELOPER_TOOLS
    ) as credential:
        service = BlobServiceClient(
            azurite.account_url, credential=credential, connection_verify=azurite.cert_path
        )
        with service:
            exercise(service)
            exercise(service)
    _assert_one_client_secret_token(emulator)


async def test_default_credential_environment_async(
    azurite: Azurite, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    _dac_environment(emulator, monkeypatch)
    credential = azidentity.aio.DefaultAzureCredential(
        connection_verify=emulator.ca_bundle_path, **NO_DEVELOPER_TOOLS
    )
    async with (
        credential,
        AsyncBlobServiceClient(
            azurite.account_url, credential=credential, connection_verify=azurite.cert_path
        ) as service,
    ):
        await exercise_async(service)
        await exercise_async(service)
    _assert_one_client_secret_token(emulator)


def _app_service(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    _set_env(monkeypatch, emulator.env("app-service"), "IDENTITY_ENDPOINT", "IDENTITY_HEADER")


def _assert_one_app_service_token(emulator: Emulator) -> None:
    requests = [r for r in emulator.requests if r.listener == "managed-identity"]
    assert [(r.route, r.status) for r in requests] == [("app-service", 200)]
    assert requests[0].query["resource"] == "https://storage.azure.com"
    assert emulator.count("token") == 0


def test_managed_identity_app_service_sync(
    azurite: Azurite, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    _app_service(emulator, monkeypatch)
    with azidentity.ManagedIdentityCredential() as credential:
        with BlobServiceClient(
            azurite.account_url, credential=credential, connection_verify=azurite.cert_path
        ) as service:
            exercise(service)
            exercise(service)
    _assert_one_app_service_token(emulator)


async def test_managed_identity_app_service_async(
    azurite: Azurite, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    _app_service(emulator, monkeypatch)
    credential = azidentity.aio.ManagedIdentityCredential()
    async with (
        credential,
        AsyncBlobServiceClient(
            azurite.account_url, credential=credential, connection_verify=azurite.cert_path
        ) as service,
    ):
        await exercise_async(service)
    _assert_one_app_service_token(emulator)


def test_default_credential_managed_identity_in_chain(
    azurite: Azurite, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing in the environment but App Service's variables: the chain reaches ManagedIdentityCredential."""
    _app_service(emulator, monkeypatch)
    with azidentity.DefaultAzureCredential(**NO_DEVELOPER_TOOLS) as credential:
        with BlobServiceClient(
            azurite.account_url, credential=credential, connection_verify=azurite.cert_path
        ) as service:
            exercise(service)
    _assert_one_app_service_token(emulator)


class _WrongAudience:
    """Hands Azurite a valid emulator token for Key Vault instead of Storage."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        return self.inner.get_token("https://vault.azure.net/.default")


def test_azurite_really_checks_tokens(azurite: Azurite, emulator: Emulator) -> None:
    """The positive tests mean something only if Azurite rejects a token for another audience."""
    app = emulator.apps["secret"]
    with azidentity.ClientSecretCredential(
        emulator.tenant_id,
        app.client_id,
        app.secret,
        authority=emulator.base_url,
        connection_verify=emulator.ca_bundle_path,
    ) as inner:
        service = BlobServiceClient(
            azurite.account_url, credential=_WrongAudience(inner), connection_verify=azurite.cert_path
        )
        with pytest.raises(HttpResponseError) as caught:
            service.create_container(_container())
    assert caught.value.status_code in (401, 403)
