"""ChainedTokenCredential and DefaultAzureCredential, with member doubles as users write them.

Members are ``Mock(spec_set=["get_token", "get_token_info"], ...)`` (sync) or ``AsyncMock`` (async);
the chain moves on past ``CredentialUnavailableError`` and stops at any other error, and its error
names every member it tried with that member's message.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

from .compat_testlib import (
    GET_TOKEN_METHODS,
    SCOPE,
    Library,
    Mode,
    call,
    header,
    mock_response,
)

methods = pytest.mark.parametrize("method", GET_TOKEN_METHODS)
sync_and_async = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
EXPIRES = int(time.time()) + 3600


def token_for(method: str, token: str = "chain-token") -> Any:
    return AccessTokenInfo(token, EXPIRES) if method == "get_token_info" else AccessToken(token, EXPIRES)


def member(
    is_async: bool,
    *,
    error: BaseException | None = None,
    token: str | None = None,
    spec: Any = None,
    only: str | None = None,
) -> Any:
    """A credential double: raises ``error`` or returns ``token`` from both token methods."""
    names = [only] if only else ["get_token", "get_token_info"]
    factory = mock.AsyncMock if is_async else mock.Mock
    methods_: dict[str, Any] = {}
    for name in names:
        if error is not None:
            methods_[name] = factory(side_effect=error)
        else:
            methods_[name] = factory(return_value=token_for(name, token or "chain-token"))
    if spec is not None:
        return mock.Mock(spec=spec, **methods_)
    return mock.Mock(spec_set=names, **methods_)


def chain(library: Library, is_async: bool, *members: Any) -> Any:
    return (library.aio if is_async else library.sync).ChainedTokenCredential(*members)


@sync_and_async
@methods
def test_attempts_each_credential_until_one_returns_a_token(
    library: Library, is_async: bool, method: str
) -> None:
    mode = Mode("async-future" if is_async else "sync")
    members = [
        member(is_async, error=library.CredentialUnavailableError("first is unavailable")),
        member(is_async, error=library.CredentialUnavailableError("second is unavailable")),
        member(is_async, token="third-token"),
        member(is_async, token="never"),
    ]
    token = call(mode, chain(library, is_async, *members), method, SCOPE)
    assert token.token == "third-token"
    assert [getattr(m, method).call_count for m in members] == [1, 1, 1, 0]
    mode.close()


@sync_and_async
@methods
def test_error_names_every_credential_and_its_message(library: Library, is_async: bool, method: str) -> None:
    mode = Mode("async-future" if is_async else "sync")
    first = member(
        is_async,
        error=library.CredentialUnavailableError("first_error"),
        spec=library.sync.ClientSecretCredential,
    )
    second = member(
        is_async,
        error=library.CredentialUnavailableError("second_error"),
        spec=library.sync.CertificateCredential,
    )
    with pytest.raises(ClientAuthenticationError) as raised:
        call(mode, chain(library, is_async, first, second), method, SCOPE)
    message = raised.value.message
    assert "ClientSecretCredential" in message and "first_error" in message
    assert "CertificateCredential" in message and "second_error" in message
    mode.close()


@sync_and_async
@methods
def test_an_unexpected_error_stops_the_chain(library: Library, is_async: bool, method: str) -> None:
    mode = Mode("async-future" if is_async else "sync")
    members = [
        member(is_async, error=library.CredentialUnavailableError("unavailable")),
        member(is_async, error=ValueError("it can't be done")),
        member(is_async, token="never"),
    ]
    with pytest.raises(ClientAuthenticationError) as raised:
        call(mode, chain(library, is_async, *members), method, SCOPE)
    assert "it can't be done" in raised.value.message
    assert getattr(members[-1], method).call_count == 0
    mode.close()


@sync_and_async
@methods
def test_an_authentication_failure_stops_the_chain(library: Library, is_async: bool, method: str) -> None:
    mode = Mode("async-future" if is_async else "sync")
    members = [
        member(is_async, error=ClientAuthenticationError("the secret is wrong")),
        member(is_async, token="never"),
    ]
    with pytest.raises(ClientAuthenticationError) as raised:
        call(mode, chain(library, is_async, *members), method, SCOPE)
    assert "the secret is wrong" in str(raised.value)
    assert not isinstance(raised.value, library.CredentialUnavailableError)
    assert getattr(members[-1], method).call_count == 0
    mode.close()


@sync_and_async
@methods
@pytest.mark.parametrize("only", ["get_token", "get_token_info"])
def test_members_with_one_token_method(library: Library, is_async: bool, method: str, only: str) -> None:
    mode = Mode("async-future" if is_async else "sync")
    members = [
        member(is_async, error=library.CredentialUnavailableError("no"), only=only),
        member(is_async, token="t", only=only),
    ]
    token = call(mode, chain(library, is_async, *members), method, SCOPE)
    assert token.token == "t"
    mode.close()


@sync_and_async
def test_options_reach_the_member(library: Library, is_async: bool) -> None:
    mode = Mode("async-future" if is_async else "sync")
    inner = member(is_async, token="t")
    call(mode, chain(library, is_async, inner), "get_token", SCOPE, tenant_id="tenant-x", claims="claims-x")
    args, kwargs = inner.get_token.call_args
    assert args == (SCOPE,) and kwargs.get("tenant_id") == "tenant-x" and kwargs.get("claims") == "claims-x"
    call(mode, chain(library, is_async, inner), "get_token_info", SCOPE, tenant_id="tenant-y")
    args, kwargs = inner.get_token_info.call_args
    assert args == (SCOPE,) and kwargs["options"]["tenant_id"] == "tenant-y"
    mode.close()


@sync_and_async
def test_a_chain_needs_a_credential(library: Library, is_async: bool) -> None:
    with pytest.raises(ValueError):
        chain(library, is_async)


@methods
def test_unconfigured_pipelines_credential_lets_the_chain_move_on(library: Library, method: str) -> None:
    fallback = mock.MagicMock()
    pipelines = library.sync.AzurePipelinesCredential(
        system_access_token="token",
        tenant_id="tenant-id",
        client_id="client-id",
        service_connection_id="connection",
    )
    getattr(chain(library, False, pipelines, fallback), method)(SCOPE)
    assert getattr(fallback, method).called


@methods
def test_managed_identity_with_a_failing_transport_lets_the_chain_move_on(
    library: Library, method: str
) -> None:
    """A transport double that raises (any exception: no response) makes managed identity unavailable."""
    transport = mock.Mock(send=mock.Mock(side_effect=Exception("timeout")))
    with mock.patch.dict(os.environ, {"AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:9"}):
        members = [
            member(False, error=library.CredentialUnavailableError("")),
            library.sync.ManagedIdentityCredential(transport=transport),
            member(False, token="last-token"),
        ]
        token = getattr(chain(library, False, *members), method)(SCOPE)
    assert token.token == "last-token"
    assert getattr(members[-1], method).call_count == 1


@methods
def test_managed_identity_with_a_transport_error_lets_the_chain_move_on(
    library: Library, method: str
) -> None:
    transport = mock.Mock(send=mock.Mock(side_effect=ServiceRequestError("connection refused")))
    with mock.patch.dict(os.environ, {"AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:9"}):
        members = [
            library.sync.ManagedIdentityCredential(transport=transport),
            member(False, token="last-token"),
        ]
        assert getattr(chain(library, False, *members), method)(SCOPE).token == "last-token"


@methods
def test_managed_identity_in_a_chain(library: Library, mode: Mode, method: str) -> None:
    """Inside a chain, either library may first probe IMDS (no Metadata header); then it asks for the
    token."""

    def send(request: Any, **kwargs: Any) -> Any:
        if header(request, "Metadata") is None:  # the probe
            return mock_response(400, json_payload={"error": "invalid_request", "error_description": "probe"})
        return mock_response(
            json_payload={
                "access_token": "imds-token",
                "expires_in": "3600",
                "expires_on": str(int(time.time()) + 3600),
                "resource": "https://vault.azure.net",
                "token_type": "Bearer",
            }
        )

    with mock.patch.dict(os.environ, {"AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:9"}):
        module = mode.module(library)
        members = [
            member(mode.is_async, error=library.CredentialUnavailableError("")),
            module.ManagedIdentityCredential(transport=mode.transport(send)),
        ]
        assert call(mode, module.ChainedTokenCredential(*members), method, SCOPE).token == "imds-token"


# --- DefaultAzureCredential ----------------------------------------------------------------------------


@pytest.fixture
def nothing_configured(tmp_path: Path) -> Any:
    """No environment, no developer tool on PATH, no home directory state, IMDS on a closed loopback port."""
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": str(tmp_path / "no-tools"),
        "HOME": str(home),
        "AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:9",
    }
    with mock.patch.dict(os.environ, env):
        yield


def refusing_transport(mode: Mode) -> Any:
    def send(request: Any, **kwargs: Any) -> Any:
        raise ServiceRequestError("connection refused")

    return mode.transport(send)


@methods
def test_default_credential_with_nothing_configured(
    library: Library, mode: Mode, method: str, nothing_configured: Any
) -> None:
    credential = mode.module(library).DefaultAzureCredential(transport=refusing_transport(mode))
    with pytest.raises(ClientAuthenticationError) as raised:
        call(mode, credential, method, SCOPE)
    message = raised.value.message
    assert message.startswith("DefaultAzureCredential failed to")  # README: Error text
    for name in (
        "EnvironmentCredential",
        "ManagedIdentityCredential",
        "AzureCliCredential",
        "AzurePowerShellCredential",
        "AzureDeveloperCliCredential",
    ):
        assert name in message, name
    mode.close_credential(credential)


def test_default_credential_refuses_tenant_id(library: Library) -> None:
    with pytest.raises(TypeError):
        library.sync.DefaultAzureCredential(tenant_id="tenant")


@pytest.mark.parametrize("value", ["nonsense", "azureclicredential,environmentcredential"])
def test_default_credential_rejects_an_invalid_token_credentials_variable(
    library: Library, value: str
) -> None:
    with mock.patch.dict(os.environ, {"AZURE_TOKEN_CREDENTIALS": value}):
        with pytest.raises(ValueError, match="AZURE_TOKEN_CREDENTIALS"):
            library.sync.DefaultAzureCredential()


def test_default_credential_uses_the_developer_tool(
    library: Library, nothing_configured: Any, tmp_path: Path
) -> None:
    """AZURE_TOKEN_CREDENTIALS=dev, and az on PATH answering: the token is az's."""
    import json
    import sys

    from .compat_testlib import write_executable

    tools = tmp_path / "tools"
    tools.mkdir()
    output = json.dumps(
        {
            "accessToken": "az-token",
            "expires_on": int(time.time()) + 3600,
            "expiresOn": "2099-01-01 00:00:00.000000",
            "tokenType": "Bearer",
        }
    )
    write_executable(tools, "az", f"#!{sys.executable}\nprint({output!r})\n")
    with mock.patch.dict(os.environ, {"PATH": str(tools), "AZURE_TOKEN_CREDENTIALS": "AzureCliCredential"}):
        assert library.sync.DefaultAzureCredential().get_token(SCOPE).token == "az-token"
