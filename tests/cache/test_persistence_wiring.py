"""Persistence reaches the credentials that wrap or share caches: EnvironmentCredential and
ManagedIdentityCredential (beyond azure-identity: processes on one host share one MI token)."""

from __future__ import annotations

import pytest

import azidentity
from azidentity import TokenCachePersistenceOptions

SCOPE = "https://storage.azure.com/.default"


@pytest.fixture
def options(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return TokenCachePersistenceOptions(name="wiring-test", allow_unencrypted_storage=True)


def test_environment_credential_persists_through_its_inner_credential(emulator, options, monkeypatch):
    for name, value in emulator.env().items():
        monkeypatch.setenv(name, value)
    with azidentity.EnvironmentCredential(
        connection_verify=emulator.ca_bundle_path, cache_persistence_options=options
    ) as first:
        token = first.get_token(SCOPE).token
        with azidentity.EnvironmentCredential(
            connection_verify=emulator.ca_bundle_path, cache_persistence_options=options
        ) as second:
            assert second.get_token(SCOPE).token == token
    assert emulator.count("token") == 1


def test_managed_identity_tokens_shared_through_the_file(emulator, options):
    env = emulator.env("app-service")
    with azidentity.ManagedIdentityCredential(_env=env, cache_persistence_options=options) as first:
        token = first.get_token(SCOPE).token
        azidentity._credentials.managed_identity._clear_shared_cache()  # as if in another process
        with azidentity.ManagedIdentityCredential(_env=env, cache_persistence_options=options) as second:
            assert second.get_token(SCOPE).token == token
    assert emulator.count("app-service") == 1
