"""ManagedIdentityCredential through AKS workload identity (the webhook's variables set): the token exchange
is WorkloadIdentityCredential's, so CAE and tenants behave as that credential's do (issue 12.2).

Against the emulator's Entra ID over loopback HTTPS.
"""

from __future__ import annotations

import pytest

from azidentity import AuthenticationFailedError
from azidentity._mitigations import ROWS
from managed_identity_testlib import (  # noqa: F401 - fresh_mi_cache is an autouse fixture
    SCOPE,
    fresh_mi_cache,
    make,
    requests_to,
)


def workload(flavor, emulator, **kwargs):
    return make(flavor, emulator, "workload-identity", connection_verify=emulator.ca_bundle_path, **kwargs)


def is_cae(emulator, token) -> bool:
    return "CP1" in emulator.verify_token(token.token).get("xms_cc", [])


def test_cae_and_non_cae_tokens_are_cached_apart(flavor, emulator):
    first = workload(flavor, emulator)
    cae = flavor.get_token(first, SCOPE, enable_cae=True)
    plain = flavor.get_token(first, SCOPE)
    assert is_cae(emulator, cae) and not is_cae(emulator, plain)
    # Other instances share the process-wide cache, each kind under its own key.
    second = workload(flavor, emulator)
    assert flavor.get_token(second, SCOPE).token == plain.token
    assert flavor.get_token(second, SCOPE, enable_cae=True).token == cae.token
    info = flavor.get_token_info(second, SCOPE, options={"enable_cae": True})
    assert info.token == cae.token
    assert len(requests_to(emulator, "token")) == 2


def test_a_cae_token_first_is_not_served_to_a_non_cae_caller_of_another_instance(flavor, emulator):
    cae = flavor.get_token(workload(flavor, emulator), SCOPE, enable_cae=True)
    plain = flavor.get_token(workload(flavor, emulator), SCOPE)
    assert plain.token != cae.token and not is_cae(emulator, plain)


def test_another_tenant_is_refused_as_workload_identity_refuses_it(flavor, emulator):
    credential = workload(flavor, emulator)
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(credential, SCOPE, tenant_id=emulator.other_tenant_id)
    error = info.value
    text = str(error)
    assert text.startswith("ManagedIdentityCredential")
    assert f"not configured to acquire tokens for tenant {emulator.other_tenant_id}" in text
    assert error.mitigation == ROWS["tenant-not-allowed"].mitigation
    with pytest.raises(AuthenticationFailedError, match="not configured to acquire tokens"):
        flavor.get_token_info(credential, SCOPE, options={"tenant_id": emulator.other_tenant_id})
    assert emulator.count() == 0
    # The configured tenant, named explicitly, is simply the configured tenant.
    assert flavor.get_token(credential, SCOPE, tenant_id=emulator.tenant_id).token


def test_additionally_allowed_tenants_reach_the_exchange(flavor, emulator):
    """azure-identity hands ManagedIdentityCredential's keywords to WorkloadIdentityCredential there."""
    credential = workload(flavor, emulator, additionally_allowed_tenants=["*"])
    home = flavor.get_token(credential, SCOPE)
    other = flavor.get_token(credential, SCOPE, tenant_id=emulator.other_tenant_id)
    assert emulator.verify_token(other.token)["tid"] == emulator.other_tenant_id
    assert emulator.verify_token(home.token)["tid"] == emulator.tenant_id
    paths = [r.path for r in requests_to(emulator, "token")]
    assert paths == [
        f"/{emulator.tenant_id}/oauth2/v2.0/token",
        f"/{emulator.other_tenant_id}/oauth2/v2.0/token",
    ]
    # Cached per tenant: asking again sends nothing.
    assert flavor.get_token(credential, SCOPE, tenant_id=emulator.other_tenant_id).token == other.token
    assert flavor.get_token(credential, SCOPE).token == home.token
    assert len(requests_to(emulator, "token")) == 2


def test_other_sources_keep_ignoring_tenant_id(flavor, emulator):
    credential = make(flavor, emulator, "app-service")
    token = flavor.get_token(credential, SCOPE, tenant_id=emulator.other_tenant_id)
    assert emulator.verify_token(token.token)["tid"] == emulator.tenant_id
    assert emulator.count("app-service") == 1
