"""``close()`` and ``with credential:`` reach the transport the user gave, as in azure-identity.

azure-identity's credentials enter and exit the transport they were given: ``with credential:``
calls ``transport.__enter__`` once and ``__exit__`` once; ``close()`` calls ``__exit__``; async
credentials use ``__aenter__`` / ``__aexit__`` only. Closing twice, or closing a credential that has
nothing to close, is harmless. A chain closes its members.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from .compat_testlib import (
    CLIENT_ID,
    TENANT,
    Library,
    Mode,
    self_signed_pem,
    skip_theirs,
)

PEM, _ = self_signed_pem()
SYNC_ONLY = "azure-identity has no async {} (README: Async DeviceCodeCredential, ...)"


@dataclass
class Case:
    name: str
    build: Callable[[Any, dict[str, Any], Path], Any]
    env: dict[str, str] = field(default_factory=dict)
    theirs_async: str | None = None
    # How many times the credential enters/exits the one transport it was given ("at least" when
    # several of its parts share it, as azure-identity's AzurePipelinesCredential's do).
    shared: bool = False

    def __str__(self) -> str:
        return self.name


def _token_file(tmp_path: Path) -> str:
    path = tmp_path / "federated-token"
    path.write_text("federated-token-value")
    return str(path)


def _deprecated(build: Callable[[], Any]) -> Any:
    with pytest.warns(DeprecationWarning, match="UsernamePasswordCredential is deprecated"):
        return build()


LOOPBACK = "http://127.0.0.1:9/token"  # never contacted: the transport is a double
CASES = [
    Case(
        "ClientSecretCredential",
        lambda m, kw, tmp: m.ClientSecretCredential(TENANT, CLIENT_ID, "secret", **kw),
    ),
    Case(
        "CertificateCredential",
        lambda m, kw, tmp: m.CertificateCredential(TENANT, CLIENT_ID, certificate_data=PEM, **kw),
    ),
    Case(
        "ClientAssertionCredential",
        lambda m, kw, tmp: m.ClientAssertionCredential(TENANT, CLIENT_ID, lambda: "assertion", **kw),
    ),
    Case(
        "OnBehalfOfCredential",
        lambda m, kw, tmp: m.OnBehalfOfCredential(
            TENANT, CLIENT_ID, client_secret="secret", user_assertion="a", **kw
        ),
    ),
    Case(
        "WorkloadIdentityCredential",
        lambda m, kw, tmp: m.WorkloadIdentityCredential(
            tenant_id=TENANT, client_id=CLIENT_ID, token_file_path=_token_file(tmp), **kw
        ),
    ),
    Case(
        "AzurePipelinesCredential",
        lambda m, kw, tmp: m.AzurePipelinesCredential(
            tenant_id=TENANT,
            client_id=CLIENT_ID,
            service_connection_id="connection",
            system_access_token="t",
            **kw,
        ),
        theirs_async="its async AzurePipelinesCredential also enters the async transport with the sync "
        "protocol (README: Async AzurePipelinesCredential)",
        shared=True,
    ),
    Case(
        "AuthorizationCodeCredential",
        lambda m, kw, tmp: m.AuthorizationCodeCredential(
            TENANT, CLIENT_ID, "code", "http://localhost:8400", **kw
        ),
    ),
    Case(
        "EnvironmentCredential",
        lambda m, kw, tmp: m.EnvironmentCredential(**kw),
        env={"AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_ID": CLIENT_ID, "AZURE_CLIENT_SECRET": "secret"},
    ),
    Case(
        "DeviceCodeCredential",
        lambda m, kw, tmp: m.DeviceCodeCredential(**kw),
        theirs_async=SYNC_ONLY.format("DeviceCodeCredential"),
    ),
    Case(
        "InteractiveBrowserCredential",
        lambda m, kw, tmp: m.InteractiveBrowserCredential(**kw),
        theirs_async=SYNC_ONLY.format("InteractiveBrowserCredential"),
    ),
    Case(
        "UsernamePasswordCredential",
        lambda m, kw, tmp: _deprecated(
            lambda: m.UsernamePasswordCredential(CLIENT_ID, "user", "password", **kw)
        ),
        theirs_async=SYNC_ONLY.format("UsernamePasswordCredential"),
    ),
    Case(
        "ManagedIdentityCredential(IMDS)",
        lambda m, kw, tmp: m.ManagedIdentityCredential(**kw),
        env={"AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:9"},
    ),
    Case(
        "ManagedIdentityCredential(App Service)",
        lambda m, kw, tmp: m.ManagedIdentityCredential(**kw),
        env={"IDENTITY_ENDPOINT": LOOPBACK, "IDENTITY_HEADER": "header"},
    ),
    Case(
        "ManagedIdentityCredential(Cloud Shell)",
        lambda m, kw, tmp: m.ManagedIdentityCredential(**kw),
        env={"MSI_ENDPOINT": LOOPBACK},
    ),
    Case(
        "ManagedIdentityCredential(Azure ML)",
        lambda m, kw, tmp: m.ManagedIdentityCredential(**kw),
        env={"MSI_ENDPOINT": LOOPBACK, "MSI_SECRET": "secret"},
    ),
    Case(
        "ManagedIdentityCredential(Azure Arc)",
        lambda m, kw, tmp: m.ManagedIdentityCredential(**kw),
        env={"IDENTITY_ENDPOINT": LOOPBACK, "IMDS_ENDPOINT": "http://127.0.0.1:9"},
    ),
    Case(
        "ManagedIdentityCredential(token exchange)",
        lambda m, kw, tmp: _with_env(
            {"AZURE_FEDERATED_TOKEN_FILE": _token_file(tmp)}, lambda: m.ManagedIdentityCredential(**kw)
        ),
        env={"AZURE_CLIENT_ID": CLIENT_ID, "AZURE_TENANT_ID": TENANT},
    ),
]


def _with_env(env: dict[str, str], build: Callable[[], Any]) -> Any:
    with mock.patch.dict(os.environ, env):
        return build()


cases = pytest.mark.parametrize("case", CASES, ids=str)


def never_called(request: Any, **kwargs: Any) -> Any:
    raise AssertionError(f"no request expected: {request.method} {request.url}")


@pytest.fixture
def credential_and_transport(case: Case, library: Library, mode: Mode, tmp_path: Path) -> Any:
    if mode.is_async and case.theirs_async:
        skip_theirs(library, case.theirs_async)
    transport = mode.transport(never_called)
    with mock.patch.dict(os.environ, case.env):
        credential = case.build(mode.module(library), {"transport": transport}, tmp_path)
        yield credential, transport


def count_ok(case: Case, actual: int) -> bool:
    return actual >= 1 if case.shared else actual == 1


@cases
def test_close_exits_the_transport(case: Case, mode: Mode, credential_and_transport: Any) -> None:
    credential, transport = credential_and_transport
    assert mode.enters(transport) == 0 and mode.exits(transport) == 0

    mode.close_credential(credential)
    assert mode.enters(transport) == 0
    assert count_ok(case, mode.exits(transport)), mode.exits(transport)
    assert mode.other_enters_and_exits(transport) == 0


@cases
def test_context_manager_enters_and_exits_the_transport(
    case: Case, mode: Mode, credential_and_transport: Any
) -> None:
    credential, transport = credential_and_transport

    def inside() -> None:
        assert count_ok(case, mode.enters(transport)), mode.enters(transport)
        assert mode.exits(transport) == 0

    mode.use(credential, inside)
    assert count_ok(case, mode.enters(transport))
    assert mode.exits(transport) == mode.enters(transport)
    assert mode.other_enters_and_exits(transport) == 0


@cases
def test_closing_twice_is_harmless(case: Case, mode: Mode, credential_and_transport: Any) -> None:
    credential, transport = credential_and_transport
    mode.close_credential(credential)
    mode.close_credential(credential)
    assert mode.exits(transport) >= 1
    assert transport.send.call_count == 0


@cases
def test_exit_passes_the_exception_on(case: Case, mode: Mode, credential_and_transport: Any) -> None:
    """``credential.__exit__(*exc_info)`` hands the exception details to the transport's ``__exit__``."""
    if mode.is_async:
        pytest.skip("azure-identity's async credentials close their transport with (None, None, None)")
    credential, transport = credential_and_transport
    credential.__exit__("type", "value", "traceback")
    transport.__exit__.assert_called_with("type", "value", "traceback")


@pytest.mark.parametrize(
    "name",
    [
        "EnvironmentCredential",
        "DefaultAzureCredential",
        "AzureCliCredential",
        "AzureDeveloperCliCredential",
        "AzurePowerShellCredential",
    ],
)
def test_closing_an_unconfigured_credential_is_harmless(name: str, library: Library, mode: Mode) -> None:
    """Nothing configured (no environment), no transport given: ``close`` and ``with`` just work."""
    credential = getattr(mode.module(library), name)()
    mode.use(credential)
    mode.close_credential(credential)
    mode.close_credential(credential)


# --- chains --------------------------------------------------------------------------------------------


def test_chain_close_exits_its_members(library: Library) -> None:
    members = [mock.MagicMock() for _ in range(3)]
    chain = library.sync.ChainedTokenCredential(*members)
    chain.close()
    for member in members:
        assert member.__exit__.call_count == 1


def test_chain_context_manager_enters_and_exits_its_members(library: Library) -> None:
    members = [mock.MagicMock() for _ in range(3)]
    chain = library.sync.ChainedTokenCredential(*members)
    with chain as entered:
        assert entered is chain
        for member in members:
            assert member.__enter__.call_count == 1 and member.__exit__.call_count == 0
    for member in members:
        assert member.__enter__.call_count == 1 and member.__exit__.call_count == 1


async def test_async_chain_close_closes_its_members(library: Library) -> None:
    members = [mock.AsyncMock() for _ in range(3)]
    chain = library.aio.ChainedTokenCredential(*members)
    await chain.close()
    for member in members:
        member.close.assert_awaited_once()


async def test_async_chain_context_manager_closes_its_members(library: Library) -> None:
    members = [mock.AsyncMock() for _ in range(3)]
    chain = library.aio.ChainedTokenCredential(*members)
    async with chain as entered:
        assert entered is chain
    for member in members:
        member.close.assert_awaited_once()


def test_chain_of_real_credentials_closes_their_transports(library: Library) -> None:
    transports = [mock.MagicMock(), mock.MagicMock()]
    chain = library.sync.ChainedTokenCredential(
        library.sync.ClientSecretCredential(TENANT, CLIENT_ID, "secret", transport=transports[0]),
        library.sync.ClientAssertionCredential(
            TENANT, CLIENT_ID, lambda: "assertion", transport=transports[1]
        ),
    )
    with chain:
        pass
    for transport in transports:
        assert transport.__enter__.call_count == 1 and transport.__exit__.call_count == 1


async def test_async_chain_of_real_credentials_closes_their_transports(library: Library) -> None:
    transports = [mock.AsyncMock(), mock.AsyncMock()]
    chain = library.aio.ChainedTokenCredential(
        library.aio.ClientSecretCredential(TENANT, CLIENT_ID, "secret", transport=transports[0]),
        library.aio.ClientAssertionCredential(
            TENANT, CLIENT_ID, lambda: "assertion", transport=transports[1]
        ),
    )
    await chain.close()
    for transport in transports:
        transport.__aexit__.assert_awaited_once()
        assert transport.__aenter__.await_count == 0
