"""IMDS: the guide's rows, retries and backoff (injected sleep), the chain probe, timeouts.

IMDS is always the emulator (AZURE_POD_IDENTITY_AUTHORITY_HOST) or a closed loopback port; no test
sends traffic to 169.254.169.254.
"""

from __future__ import annotations

import time

import pytest

from azidentity import AuthenticationFailedError, CredentialUnavailableError
from azidentity._mitigations import ROWS
from managed_identity_testlib import (  # noqa: F401 - fresh_mi_cache is an autouse fixture
    SCOPE,
    Sleeps,
    closed_port,
    fresh_mi_cache,
    in_chain,
    make,
    requests_to,
    with_metadata,
    without_metadata,
)

DOCKER_403 = (
    "connecting to 169.254.169.254:80: connecting to 169.254.169.254:80: dial tcp 169.254.169.254:80: "
    "connectex: A socket operation was attempted to an unreachable network."
)
# Faults carry a body: azure-core's async response can't read an empty body twice (see the report).
BUSY = {"error": "temporarily_unavailable", "error_description": "try again later"}
NOT_ASSIGNED = {"error": "invalid_request", "error_description": "Identity not found"}


def dead_imds() -> dict[str, str]:
    return {"AZURE_POD_IDENTITY_AUTHORITY_HOST": f"http://127.0.0.1:{closed_port()}"}


def assert_row(error, key):
    assert error.mitigation == ROWS[key].mitigation, str(error)
    text = str(error)
    assert f"Mitigation: {ROWS[key].mitigation}" in text
    assert "Troubleshooting: TROUBLESHOOTING.md#" in text


# -- the guide's rows ----------------------------------------------------------------------------------


def test_identity_not_assigned_user_assigned_fails(flavor, emulator):
    credential = make(flavor, emulator, client_id="00000000-0000-0000-0000-00000000dead")
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(credential, SCOPE)
    error = info.value
    assert "The requested identity hasn't been assigned to this resource." in str(error)
    assert "Identity not found" in str(error) and error.status_code == 400
    assert_row(error, "mi-imds-identity-not-assigned")
    # In a chain too: the user asked for that identity.
    with in_chain(), pytest.raises(AuthenticationFailedError):
        flavor.get_token(credential, SCOPE)


def test_identity_not_assigned_system_assigned(flavor, emulator):
    emulator.faults.add("imds", status=400, body=NOT_ASSIGNED, match=with_metadata, times=None)
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(make(flavor, emulator), SCOPE)
    assert "The requested identity hasn't been assigned to this resource." in str(info.value)
    assert_row(info.value, "mi-imds-identity-not-assigned")
    with in_chain(), pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(make(flavor, emulator), SCOPE)
    assert "hasn't been assigned" in str(info.value)
    assert emulator.count("imds") == 3  # standalone; probe + request in the chain: 400s are not retried


@pytest.mark.parametrize("status", [502, 504])
def test_gateway_errors(flavor, emulator, status):
    sleeps = Sleeps()
    emulator.faults.add(
        "imds",
        status=status,
        body="<html><body>Bad Gateway</body></html>",
        headers={"Content-Type": "text/html"},
        times=None,
    )
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(make(flavor, emulator, sleeps=sleeps), SCOPE)
    assert "The request failed due to a gateway error" in str(info.value)
    assert "proxies" in info.value.mitigation
    assert_row(info.value, "mi-imds-gateway")
    assert emulator.count("imds") == 6 and sleeps == [0.8, 1.6, 3.2, 6.4, 12.8]


def test_retries_exhausted_shows_last_response(flavor, emulator):
    sleeps = Sleeps()
    emulator.faults.add(
        "imds", status=500, body={"error": "server_error", "error_description": "boom"}, times=None
    )
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(make(flavor, emulator, sleeps=sleeps), SCOPE)
    text = str(info.value)
    assert (
        "Multiple attempts failed to obtain a token from the managed identity endpoint (6 attempts in 24.8 s)"
        in text
    )
    assert "RESPONSE 500" in text and '"error_description": "boom"' in text
    assert_row(info.value, "mi-retries-exhausted")
    assert emulator.count("imds") == 6
    assert sleeps == [0.8, 1.6, 3.2, 6.4, 12.8] and sum(sleeps) <= 30


def test_retry_total_overrides(flavor, emulator):
    sleeps = Sleeps()
    emulator.faults.add("imds", status=503, body=BUSY, times=None)
    with pytest.raises(AuthenticationFailedError):
        flavor.get_token(
            make(flavor, emulator, sleeps=sleeps, retry_total=2, retry_backoff_factor=0.1), SCOPE
        )
    assert emulator.count("imds") == 3 and sleeps == [0.1, 0.2]


def test_transient_errors_then_success(flavor, emulator):
    sleeps = Sleeps()
    emulator.faults.add("imds", status=429, body=BUSY, times=1)
    emulator.faults.add("imds", status=503, body=BUSY, times=1)
    emulator.faults.add("imds", status=404, body=BUSY, times=1)
    token = flavor.get_token(make(flavor, emulator, sleeps=sleeps), SCOPE)
    emulator.verify_token(token.token)
    assert emulator.count("imds") == 4 and sleeps == [0.8, 1.6, 3.2]


def test_410_is_retried_for_70_seconds(flavor, emulator):
    sleeps = Sleeps()
    emulator.faults.add("imds", status=410, body={"error": "gone"}, times=None)
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(make(flavor, emulator, sleeps=sleeps), SCOPE)
    assert sum(sleeps) >= 70 and max(sleeps) <= 60
    assert emulator.count("imds") == len(sleeps) + 1
    assert "Multiple attempts failed" in str(info.value)


def test_410_then_ready(flavor, emulator):
    sleeps = Sleeps()
    emulator.faults.add("imds", status=410, body=BUSY, times=7)
    token = flavor.get_token(make(flavor, emulator, sleeps=sleeps), SCOPE)
    emulator.verify_token(token.token)
    assert emulator.count("imds") == 8 and sum(sleeps) >= 70


def test_retry_after_is_honoured_and_capped(flavor, emulator):
    sleeps = Sleeps()
    emulator.faults.add("imds", status=429, body=BUSY, headers={"Retry-After": "7"}, times=1)
    emulator.faults.add("imds", status=503, body=BUSY, headers={"Retry-After": "86400"}, times=1)
    flavor.get_token(make(flavor, emulator, sleeps=sleeps, timeout=120), SCOPE)
    assert sleeps == [7, 60]


def test_aks_pod_identity_not_ready(flavor, emulator):
    sleeps = Sleeps()
    body = "no azure identity found for request clientID 1234\n"
    emulator.faults.add(
        "imds", status=404, body=body, headers={"Retry-After": "2", "Content-Type": "text/plain"}, times=None
    )
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(make(flavor, emulator, sleeps=sleeps, client_id="1234"), SCOPE)
    assert "no azure identity found for request clientID" in str(info.value)
    assert_row(info.value, "mi-aks-pod-identity")
    assert "labels" in info.value.mitigation and "Retry-After" in info.value.mitigation
    assert sleeps == [2, 2, 2, 2, 2]


def test_aks_pod_identity_becomes_ready(flavor, emulator):
    sleeps = Sleeps()
    emulator.faults.add(
        "imds",
        status=404,
        body="no azure identity found for request clientID x",
        headers={"Retry-After": "1"},
        times=2,
    )
    emulator.verify_token(flavor.get_token(make(flavor, emulator, sleeps=sleeps), SCOPE).token)
    assert sleeps == [1, 1]


@pytest.mark.parametrize(
    ("status", "body", "headers"),
    [
        (403, DOCKER_403, {"Content-Type": "text/plain"}),
        (200, "<html><head><title>Proxy</title></head></html>", {"Content-Type": "text/html"}),
        (200, "token: yes", {"Content-Type": "text/plain"}),
        (500, "Internal error", {"Content-Type": "text/plain"}),
    ],
)
def test_answers_not_from_imds(flavor, emulator, status, body, headers):
    emulator.faults.add("imds", status=status, body=body, headers=headers, match=with_metadata, times=None)
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(make(flavor, emulator, retry_total=0), SCOPE)
    assert "is not IMDS" in str(info.value)
    assert_row(info.value, "mi-not-imds")
    with in_chain(), pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(make(flavor, emulator, retry_total=0), SCOPE)
    assert "is not IMDS" in str(info.value)


def test_docker_desktop_answers_the_probe(flavor, emulator):
    emulator.faults.add("imds", status=403, body=DOCKER_403, times=None)
    with in_chain(), pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(make(flavor, emulator), SCOPE)
    assert "Docker" in str(info.value) and emulator.count("imds") == 1


def test_bad_token_response(flavor, emulator):
    emulator.faults.add(
        "imds",
        status=200,
        body={"access_token": "eyJhbGciOi.secretish.part", "expires": 1},
        match=with_metadata,
    )
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(make(flavor, emulator), SCOPE)
    text = str(info.value)
    assert "neither expires_on nor expires_in" in text and "REDACTED" in text and "secretish" not in text
    assert_row(info.value, "mi-bad-response")


def test_app_service_host_without_identity_endpoint(flavor, emulator):
    env = {"WEBSITE_SITE_NAME": "contoso-app", "WEBSITE_INSTANCE_ID": "abc"}
    credential = make(flavor, emulator, "imds", env=env)  # IMDS would answer: it must not be asked
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(credential, SCOPE)
    assert "managed identity is not enabled for this app" in str(info.value)
    assert_row(info.value, "mi-app-service-not-enabled")
    assert emulator.count() == 0


# -- no response, timeouts, resets -------------------------------------------------------------------------


def test_nothing_listening_standalone_is_unavailable_at_once(flavor, emulator):
    sleeps = Sleeps()
    credential = make(flavor, emulator, None, env=dead_imds(), sleeps=sleeps)
    start = time.monotonic()
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(credential, SCOPE)
    assert time.monotonic() - start < 3 and sleeps == []
    assert "No response received from the managed identity endpoint" in str(info.value)
    assert_row(info.value, "mi-no-response")


def test_hanging_endpoint_ends_within_read_timeout(flavor, emulator):
    sleeps = Sleeps()
    emulator.faults.add("imds", hang=True, match=with_metadata, times=None)
    credential = make(flavor, emulator, sleeps=sleeps, read_timeout=0.3, retry_total=1)
    start = time.monotonic()
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(credential, SCOPE)
    elapsed = time.monotonic() - start
    assert elapsed < 2 * 0.3 + 2.5, elapsed
    assert emulator.count("imds") == 2 and sleeps == [0.8]
    assert "Multiple attempts failed" in str(info.value) and "no response" in str(info.value)
    assert_row(info.value, "mi-no-response")


def test_hang_then_answer(flavor, emulator):
    sleeps = Sleeps()
    emulator.faults.add("imds", hang=True, match=with_metadata, times=1)
    token = flavor.get_token(make(flavor, emulator, sleeps=sleeps, read_timeout=0.3), SCOPE)
    emulator.verify_token(token.token)
    assert sleeps == [0.8]


def test_connection_reset_is_retried(flavor, emulator):
    sleeps = Sleeps()
    emulator.faults.add("imds", reset=True, times=1)
    emulator.verify_token(flavor.get_token(make(flavor, emulator, sleeps=sleeps), SCOPE).token)
    assert emulator.count("imds") == 2
    # aiohttp itself retries an idempotent request once when the connection is reset.
    assert sleeps == ([] if flavor.is_async else [0.8])


def test_connection_reset_every_time_fails(flavor, emulator):
    sleeps = Sleeps()
    emulator.faults.add("imds", reset=True, times=None)
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(make(flavor, emulator, sleeps=sleeps), SCOPE)
    assert emulator.count("imds") == 6 * (2 if flavor.is_async else 1) and len(sleeps) == 5
    assert "Connection reset" in str(info.value) or "reset" in str(info.value).lower()
    assert_row(info.value, "mi-no-response")


# -- the chain probe --------------------------------------------------------------------------------------


def test_probe_fails_fast_against_a_closed_port(flavor, emulator):
    sleeps = Sleeps()
    credential = make(flavor, emulator, None, env=dead_imds(), sleeps=sleeps)
    start = time.monotonic()
    with in_chain(), pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(credential, SCOPE)
    assert time.monotonic() - start < 1 + 2 and sleeps == []
    assert "managed identity timed out" in str(info.value)
    assert_row(info.value, "dac-mi-timeout")


def test_probe_times_out_on_a_hanging_imds(flavor, emulator):
    emulator.faults.add("imds", hang=True, match=without_metadata, times=None)
    credential = make(flavor, emulator, probe_timeout=0.3)
    start = time.monotonic()
    with in_chain(), pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(credential, SCOPE)
    assert time.monotonic() - start < 0.3 + 2.5
    assert "managed identity timed out" in str(info.value) and "0.3 s" in str(info.value)
    assert emulator.count("imds") == 1


def test_probe_shape_and_success_is_remembered(flavor, emulator):
    credential = make(flavor, emulator)
    with in_chain():
        emulator.verify_token(flavor.get_token(credential, SCOPE).token)
    probe, request = requests_to(emulator, "imds")
    assert "Metadata" not in probe.headers and probe.query["resource"] == "https://management.azure.com"
    assert request.headers.get("Metadata") == "true"
    with in_chain():
        flavor.get_token(credential, SCOPE, claims='{"access_token": {}}')  # bypasses the cache
        flavor.get_token(credential, "https://vault.azure.net/.default")
    assert len([r for r in requests_to(emulator, "imds") if without_metadata(r)]) == 1


def test_failed_probe_is_not_remembered(flavor, emulator):
    # Two resets: aiohttp retries a reset idempotent request once by itself.
    emulator.faults.add("imds", reset=True, match=without_metadata, times=2 if flavor.is_async else 1)
    credential = make(flavor, emulator)
    with in_chain():
        with pytest.raises(CredentialUnavailableError, match="managed identity timed out"):
            flavor.get_token(credential, SCOPE)
        emulator.verify_token(flavor.get_token(credential, SCOPE).token)
    probes = [without_metadata(r) for r in requests_to(emulator, "imds")]
    assert probes == [True] * (3 if flavor.is_async else 2) + [False]


def test_a_chain_with_more_members_probes_a_chain_of_one_does_not(flavor, emulator):
    with in_chain():
        flavor.get_token(make(flavor, emulator), SCOPE)
    assert [without_metadata(r) for r in requests_to(emulator, "imds")] == [True, False]
    emulator.reset()
    with in_chain("ManagedIdentityCredential"):
        flavor.get_token(make(flavor, emulator), "https://vault.azure.net/.default")
    assert [without_metadata(r) for r in requests_to(emulator, "imds")] == [False]


def test_after_a_successful_probe_full_retries_apply(flavor, emulator):
    sleeps = Sleeps()
    emulator.faults.add("imds", status=503, body=BUSY, match=with_metadata, times=2)
    credential = make(flavor, emulator, sleeps=sleeps)
    with in_chain():
        emulator.verify_token(flavor.get_token(credential, SCOPE).token)
    assert sleeps == [0.8, 1.6]


def test_no_answer_after_successful_probe_fails(flavor, emulator):
    sleeps = Sleeps()
    emulator.faults.add("imds", hang=True, match=with_metadata, times=None)
    credential = make(flavor, emulator, sleeps=sleeps, read_timeout=0.2, retry_total=1)
    with in_chain(), pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(credential, SCOPE)
    assert_row(info.value, "mi-no-response")
