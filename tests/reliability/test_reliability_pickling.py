"""Pickling: every credential (sync and async) round-trips and works afterwards, also in a child process
started with multiprocessing's spawn context; a pickle holds configuration only (never tokens, refresh
tokens, caches, locks or connections); an unpicklable callback is a TypeError naming it.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import pickle
from pathlib import Path
from typing import Any

import pytest

import azidentity
import azidentity.aio
import canary

SCOPE = "https://storage.azure.com/.default"
MI_SCOPE = "https://management.azure.com/.default"
# What a pickle of a credential must never name: caches, locks, event loops, sessions, pipelines.
FORBIDDEN = (
    # TokenCache's module (the class name alone is part of SharedTokenCacheCredential's)
    b"azidentity._cache.memory",
    b"_persistent_token_cache",
    b"PersistentStore",
    b"_thread",
    b"RLock",
    b"threading",
    b"asyncio",
    b"azure.core.pipeline",
    b"requests.sessions",
    b"aiohttp",
    b"SyncIO",
    b"AsyncIO",
    b"socket",
)


def cert_assertion_factory(path: str, client_id: str, audience: str) -> Any:
    import functools

    return functools.partial(_cert_assertion, path, client_id, audience)


def _cert_assertion(path: str, client_id: str, audience: str) -> str:
    """A module-level (so picklable) assertion callback: signs with the emulator's app certificate."""
    import time

    from azidentity._protocol.assertion import build_assertion
    from azidentity._protocol.certificate import load_certificate

    cert = load_certificate(Path(path).read_bytes(), None, "test")
    return build_assertion(cert, client_id, audience, time.time())


def _user_assertion(emu: Any) -> str:
    """Alice's token for the middle-tier app: the OBO user assertion."""
    user, public = emu.users["alice"], emu.apps["public"]
    with pytest.warns(DeprecationWarning, match="UsernamePasswordCredential is deprecated"):
        credential = azidentity.UsernamePasswordCredential(
            public.client_id,
            user.username,
            user.password,
            tenant_id=emu.tenant_id,
            authority=emu.base_url,
            connection_verify=emu.ca_bundle_path,
        )
    with credential:
        token = credential.get_token(f"api://{emu.apps['api'].client_id}/.default").token
    canary.configuration_token(token)
    return token


def every_credential(emu: Any, module: Any, tmp_path: Path) -> list[tuple[str, Any, str]]:
    """(name, credential, scope) for every credential that can get a token from the emulator."""
    secret, cert, api = emu.apps["secret"], emu.apps["cert"], emu.apps["api"]
    common = {"authority": emu.base_url, "connection_verify": emu.ca_bundle_path}
    token_file = tmp_path / "sa-token"
    token_file.write_text(emu.issue_service_account_token())
    canary.register_secret(token_file.read_text())
    user = emu.users["alice"]
    audience = f"{emu.base_url}/{emu.tenant_id}/oauth2/v2.0/token"
    with pytest.warns(DeprecationWarning, match="UsernamePasswordCredential is deprecated"):
        items = [
            (
                "ClientSecretCredential",
                module.ClientSecretCredential(emu.tenant_id, secret.client_id, secret.secret, **common),
                SCOPE,
            ),
            (
                "CertificateCredential",
                module.CertificateCredential(
                    emu.tenant_id,
                    cert.client_id,
                    cert.cert_pem_encrypted_path,
                    password=cert.cert_password,
                    **common,
                ),
                SCOPE,
            ),
            (
                "ClientCertificateCredential",
                module.ClientCertificateCredential(
                    emu.tenant_id, cert.client_id, certificate_data=Path(cert.pfx_path).read_bytes(), **common
                ),
                SCOPE,
            ),
            (
                "ClientAssertionCredential",
                module.ClientAssertionCredential(
                    emu.tenant_id,
                    cert.client_id,
                    cert_assertion_factory(cert.cert_pem_path, cert.client_id, audience),
                    **common,
                ),
                SCOPE,
            ),
            (
                "OnBehalfOfCredential",
                module.OnBehalfOfCredential(
                    emu.tenant_id,
                    api.client_id,
                    client_secret=api.secret,
                    user_assertion=_user_assertion(emu),
                    **common,
                ),
                "https://graph.microsoft.com/.default",
            ),
            (
                "UsernamePasswordCredential",
                module.UsernamePasswordCredential(
                    emu.apps["public"].client_id,
                    user.username,
                    user.password,
                    tenant_id=emu.tenant_id,
                    **common,
                ),
                SCOPE,
            ),
            (
                "WorkloadIdentityCredential",
                module.WorkloadIdentityCredential(
                    tenant_id=emu.tenant_id,
                    client_id=emu.apps["workload"].client_id,
                    token_file_path=str(token_file),
                    **common,
                ),
                SCOPE,
            ),
            (
                "AzurePipelinesCredential",
                module.AzurePipelinesCredential(
                    tenant_id=emu.tenant_id,
                    client_id=emu.apps["pipelines"].client_id,
                    service_connection_id=emu.pipelines_service_connection_id,
                    system_access_token=emu.pipelines_system_access_token,
                    **common,
                ),
                SCOPE,
            ),
            (
                "EnvironmentCredential",
                module.EnvironmentCredential(_env=emu.env(), connection_verify=emu.ca_bundle_path),
                SCOPE,
            ),
            (
                "ChainedTokenCredential",
                module.ChainedTokenCredential(
                    module.ManagedIdentityCredential(
                        _env={"WEBSITE_SITE_NAME": "no-identity"}
                    ),  # unavailable
                    module.ClientSecretCredential(emu.tenant_id, secret.client_id, secret.secret, **common),
                ),
                SCOPE,
            ),
            (
                "DefaultAzureCredential",
                module.DefaultAzureCredential(
                    _env=emu.env(),
                    connection_verify=emu.ca_bundle_path,
                    exclude_managed_identity_credential=True,
                    exclude_workload_identity_credential=True,
                ),
                SCOPE,
            ),
        ]
    for host in ("imds", "app-service", "arc", "cloud-shell", "azure-ml", "service-fabric"):
        extra = {} if host == "service-fabric" else {"connection_verify": emu.ca_bundle_path}
        items.append(
            (
                f"ManagedIdentityCredential[{host}]",
                module.ManagedIdentityCredential(
                    _env=emu.env(host), _arc_token_dir=emu.arc_token_dir, **extra
                ),
                MI_SCOPE,
            )
        )
    return items


def _get(credential: Any, scope: str) -> Any:
    if (
        isinstance(credential, (azidentity.aio.ChainedTokenCredential,))
        or type(credential).__module__ == "azidentity.aio"
    ):

        async def go() -> Any:
            try:
                return await credential.get_token(scope)
            finally:
                await credential.close()

        return asyncio.run(go())
    with credential:
        return credential.get_token(scope)


@pytest.fixture
def pipeline_env(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYSTEM_OIDCREQUESTURI", emulator.pipelines_oidc_url)
    canary.SECRETS.discard(emulator.arc_token_dir)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_every_credential_round_trips_and_works(
    emulator: Any, tmp_path: Path, pipeline_env: None, is_async: bool
) -> None:
    from azidentity._credentials import managed_identity

    module = azidentity.aio if is_async else azidentity
    for name, credential, scope in every_credential(emulator, module, tmp_path):
        token = _get(credential, scope).token  # the original has a token in its cache now
        data = pickle.dumps(credential)
        assert token.encode() not in data, name
        for forbidden in FORBIDDEN:
            assert forbidden not in data, (name, forbidden)
        clone = pickle.loads(data)
        assert repr(clone) == repr(credential), name
        managed_identity._clear_shared_cache()  # managed identity tokens are shared per process
        fresh = _get(clone, scope).token
        assert fresh != token, f"{name}: the clone must fetch its own token, not carry the original's"
        assert emulator.verify_token(fresh), name


def _child(data: bytes, scope: str, is_async: bool) -> tuple[str, int]:
    """In a spawned process: unpickle a credential and get a token."""
    credential = pickle.loads(data)
    token = _get(credential, scope)
    return token.token, token.expires_on


def test_spawned_child_process_gets_tokens(emulator: Any, tmp_path: Path, pipeline_env: None) -> None:
    import os

    jobs = []
    for module, is_async in ((azidentity, False), (azidentity.aio, True)):
        for name, credential, scope in every_credential(emulator, module, tmp_path):
            if name in ("AzurePipelinesCredential", "OnBehalfOfCredential") and is_async:
                # the pipeline variable is in this process's environment only once; one flavour is enough
                continue
            jobs.append(
                (f"{name}[{'async' if is_async else 'sync'}]", pickle.dumps(credential), scope, is_async)
            )
    context = multiprocessing.get_context("spawn")
    os.environ["SYSTEM_OIDCREQUESTURI"] = emulator.pipelines_oidc_url  # inherited by the child
    with context.Pool(2) as pool:
        pending = [
            (name, pool.apply_async(_child, (data, scope, is_async))) for name, data, scope, is_async in jobs
        ]
        for name, result in pending:
            token, expires_on = result.get(timeout=90)
            canary.register_token(token)
            assert emulator.verify_token(token), name
            assert expires_on > 0
    assert len(jobs) >= 30


def test_user_credential_pickle_has_no_refresh_token(emulator: Any) -> None:
    if not hasattr(azidentity, "AuthorizationCodeCredential"):
        pytest.skip("AuthorizationCodeCredential is not there yet")
    from interactive_testlib import REDIRECT_URI, get_code, register_refresh_tokens
    from interactive_testlib import SCOPE as USER_SCOPE

    code = get_code(emulator, canary=canary)
    for module in (azidentity, azidentity.aio):
        credential = module.AuthorizationCodeCredential(
            emulator.tenant_id,
            emulator.apps["public"].client_id,
            code if module is azidentity else get_code(emulator, canary=canary),
            REDIRECT_URI,
            authority=emulator.base_url,
            connection_verify=emulator.ca_bundle_path,
        )
        token = _get(credential, USER_SCOPE).token
        register_refresh_tokens(emulator, canary)
        data = pickle.dumps(credential)
        assert token.encode() not in data
        for refresh_token in list(emulator.runtime.refresh_tokens._grants):
            assert refresh_token.encode() not in data
        for forbidden in FORBIDDEN:
            assert forbidden not in data, forbidden


def _lambda_cases() -> list[tuple[str, Any]]:
    cases: list[tuple[str, Any]] = [
        ("ClientAssertionCredential", lambda m: m.ClientAssertionCredential("t", "c", lambda: "x")),
        (
            "OnBehalfOfCredential",
            lambda m: m.OnBehalfOfCredential("t", "c", client_assertion_func=lambda: "x", user_assertion="u"),
        ),
        (
            "ClientSecretCredential (raw_request_hook)",
            lambda m: m.ClientSecretCredential("t", "c", "s", raw_request_hook=lambda request: None),
        ),
        (
            "ManagedIdentityCredential (raw_response_hook)",
            lambda m: m.ManagedIdentityCredential(_env={}, raw_response_hook=lambda response: None),
        ),
    ]
    if hasattr(azidentity, "DeviceCodeCredential"):
        cases.append(
            (
                "DeviceCodeCredential (prompt_callback)",
                lambda m: m.DeviceCodeCredential(prompt_callback=lambda uri, code, expires: None),
            )
        )
    return cases


@pytest.mark.parametrize(("name", "factory"), _lambda_cases(), ids=[n for n, _ in _lambda_cases()])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_unpicklable_callback_is_a_type_error_naming_it(name: str, factory: Any, is_async: bool) -> None:
    credential = factory(azidentity.aio if is_async else azidentity)
    with pytest.raises(TypeError) as info:
        pickle.dumps(credential)
    text = str(info.value)
    assert "<lambda>" in text and "not picklable" in text, text
    assert type(credential).__name__ in text, text
