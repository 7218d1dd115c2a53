"""AzurePipelinesCredential against the emulator's Azure Pipelines OIDC endpoint and Entra ID."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from azidentity import AuthenticationFailedError, CredentialUnavailableError
from azidentity._mitigations import ROWS
from azidentity.emulator import pytest_plugin

# Fixtures (the emulator's are also registered by tests/conftest.py).
emulator = pytest_plugin.emulator

SCOPE = "https://management.azure.com/.default"


@pytest.fixture
def in_pipeline(monkeypatch: pytest.MonkeyPatch, emulator: Any) -> Any:
    monkeypatch.setenv("SYSTEM_OIDCREQUESTURI", emulator.pipelines_oidc_url)
    return emulator


def make(flavor: Any, emulator: Any, **kwargs: Any) -> Any:
    options: dict[str, Any] = {
        "tenant_id": emulator.tenant_id,
        "client_id": emulator.apps["pipelines"].client_id,
        "service_connection_id": emulator.pipelines_service_connection_id,
        "system_access_token": emulator.pipelines_system_access_token,
        "authority": emulator.authority,
        "connection_verify": emulator.ca_bundle_path,
    }
    options.update(kwargs)
    return flavor.make("AzurePipelinesCredential", **options)


def oidc_requests(emulator: Any) -> list[Any]:
    return [r for r in emulator.requests if r.route == "pipelines-oidc"]


def assert_row(error: Exception, key: str) -> None:
    row = ROWS[key]
    assert getattr(error, "mitigation", None) == row.mitigation
    assert f"Mitigation: {row.mitigation}" in str(error)


def assert_trace_headers(error: Exception, emulator: Any) -> None:
    [request] = oidc_requests(emulator)
    text = str(error)
    assert "\nx-vss-e2eid: " in text and "\nx-msedge-ref: Ref A: " in text
    assert emulator.pipelines_system_access_token not in text


def test_token_for_the_service_connection(flavor: Any, in_pipeline: Any) -> None:
    emulator = in_pipeline
    token = flavor.get_token(make(flavor, emulator), SCOPE)
    claims = emulator.verify_token(token.token)
    assert claims["appid"] == emulator.apps["pipelines"].client_id and claims["tid"] == emulator.tenant_id
    [oidc] = oidc_requests(emulator)
    assert oidc.method == "POST" and oidc.path == "/pipelines/oidctoken"
    assert oidc.query == {
        "api-version": "7.1",
        "serviceConnectionId": emulator.pipelines_service_connection_id,
    }
    assert oidc.headers["Authorization"] == f"Bearer {emulator.pipelines_system_access_token}"
    assert oidc.headers["X-TFS-FedAuthRedirect"] == "Suppress"
    assert oidc.headers["Content-Type"].startswith("application/json")
    assert oidc.body == b""
    [exchange] = [r for r in emulator.requests if r.route == "token"]
    assert exchange.form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assert exchange.time >= oidc.time


def test_a_new_oidc_token_for_each_entra_request(flavor: Any, in_pipeline: Any) -> None:
    cred = make(flavor, in_pipeline)
    flavor.get_token(cred, SCOPE)
    flavor.get_token(cred, SCOPE)  # cached: no request
    flavor.get_token(cred, "https://vault.azure.net/.default")
    assert len(oidc_requests(in_pipeline)) == 2


def test_not_in_a_pipeline(flavor: Any, emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYSTEM_OIDCREQUESTURI", raising=False)
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(make(flavor, emulator), SCOPE)
    assert "Missing value for the SYSTEM_OIDCREQUESTURI environment variable" in str(info.value)
    assert_row(info.value, "pipelines-not-in-pipeline")
    assert emulator.requests == []


def test_wrong_system_access_token_is_a_401(flavor: Any, in_pipeline: Any, secret_canary: Any) -> None:
    wrong = "wrong-system-access-token-0123456789"
    secret_canary.register_secret(wrong)
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(make(flavor, in_pipeline, system_access_token=wrong), SCOPE)
    assert "401 (Unauthorized) response from the OIDC endpoint" in str(info.value)
    assert info.value.status_code == 401
    assert wrong not in str(info.value)
    assert_row(info.value, "pipelines-unauthorized")
    assert_trace_headers(info.value, in_pipeline)


def test_wrong_service_connection(flavor: Any, in_pipeline: Any) -> None:
    wrong = "00000000-1111-2222-3333-444444444444"
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(make(flavor, in_pipeline, service_connection_id=wrong), SCOPE)
    assert f"No service connection found with identifier {wrong}" in str(info.value)
    assert_row(info.value, "pipelines-service-connection")
    assert_trace_headers(info.value, in_pipeline)


def test_invalid_tenant_is_aadsts900023(flavor: Any, in_pipeline: Any) -> None:
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(make(flavor, in_pipeline, tenant_id="some-tenant-id"), SCOPE)
    assert "AADSTS900023: Specified tenant identifier 'some-tenant-id' is neither a valid DNS name" in str(
        info.value
    )
    assert info.value.error_code == "AADSTS900023"
    assert_row(info.value, "AADSTS900023-pipelines")


def test_federated_mismatch_shows_the_oidc_tokens_claims(flavor: Any, in_pipeline: Any) -> None:
    # The workload app trusts the Kubernetes issuer only: the pipeline's token matches nothing.
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(make(flavor, in_pipeline, client_id=in_pipeline.apps["workload"].client_id), SCOPE)
    text = str(info.value)
    assert info.value.error_code == "AADSTS70021"
    assert f"issuer (iss) '{in_pipeline.pipelines_issuer_url}'" in text
    assert "subject (sub) 'sc://emulator-org/emulator-project/emulator-connection'" in text
    assert_row(info.value, "AADSTS70021-pipelines")


def test_oidc_endpoint_unreachable(flavor: Any, emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("SYSTEM_OIDCREQUESTURI", f"https://127.0.0.1:{port}/oidctoken")
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(make(flavor, emulator, retry_total=0), SCOPE)
    assert f"127.0.0.1:{port}/oidctoken" in str(info.value)
    assert_row(info.value, "network")


@pytest.mark.parametrize(
    "missing", ["tenant_id", "client_id", "service_connection_id", "system_access_token"]
)
def test_required_arguments(missing: str, flavor: Any, emulator: Any) -> None:
    with pytest.raises(ValueError) as info:
        make(flavor, emulator, **{missing: ""})
    assert repr(missing) in str(info.value)
    with pytest.raises(TypeError):
        flavor.cls("AzurePipelinesCredential")(tenant_id="t", client_id="c", service_connection_id="s")


def test_repr_and_pickle_keep_the_system_token_secret(flavor: Any, in_pipeline: Any) -> None:
    cred = make(flavor, in_pipeline)
    token = flavor.get_token(cred, SCOPE)
    text = repr(cred)
    assert in_pipeline.pipelines_service_connection_id in text
    assert in_pipeline.pipelines_system_access_token not in text
    data = pickle.dumps(cred)
    assert token.token.encode() not in data
    clone = pickle.loads(data)
    flavor._made.append(clone)
    assert in_pipeline.verify_token(flavor.get_token(clone, SCOPE).token)["tid"] == in_pipeline.tenant_id


# -- the protocol, without I/O ---------------------------------------------------------------------------
def _response(status: int, body: bytes, headers: dict[str, str] | None = None) -> Any:
    from azidentity._protocol import pipelines
    from azidentity._protocol.effects import Headers, HttpResponse

    request = pipelines.oidc_request(
        "https://dev.azure.com/org/_apis/oidctoken/", "sc-id", "system-token-value"
    )
    return HttpResponse(status, Headers(headers or {}), body, request, reason="Reason")


def test_oidc_request_shape() -> None:
    from azidentity._protocol import pipelines

    request = pipelines.oidc_request(
        "https://dev.azure.com/org/_apis/oidctoken/", "sc-id", "system-token-value"
    )
    assert (request.method, request.url) == ("POST", "https://dev.azure.com/org/_apis/oidctoken")
    assert request.params == {"api-version": "7.1", "serviceConnectionId": "sc-id"}
    assert request.headers["Authorization"] == "Bearer system-token-value"
    assert request.form is None


@pytest.mark.parametrize("body", [b"", b"<html>sign in</html>", b"{}", b'{"oidcToken": ""}', b"[1]"])
def test_oidc_answer_without_a_token(body: bytes) -> None:
    from azidentity._protocol import pipelines

    with pytest.raises(AuthenticationFailedError) as info:
        pipelines.parse_oidc_response(_response(200, body, {"x-vss-e2eid": "e2e"}), credential="C")
    assert "OIDC token not found" in str(info.value) and "x-vss-e2eid: e2e" in str(info.value)
    assert_row(info.value, "pipelines-oidc-failed")


def test_oidc_token_is_returned_and_redacted_in_errors() -> None:
    from azidentity._protocol import pipelines

    assert pipelines.parse_oidc_response(
        _response(200, b'{"oidcToken": "eyJx.eyJy.sig"}'), credential="C"
    ) == ("eyJx.eyJy.sig")
    with pytest.raises(AuthenticationFailedError) as info:
        pipelines.parse_oidc_response(_response(500, b'{"message": "boom"}'), credential="C")
    assert "500 (Reason) response from the OIDC endpoint" in str(info.value)
    assert_row(info.value, "pipelines-oidc-failed")


def test_unverified_claims_of_garbage() -> None:
    from azidentity._protocol import federated

    assert federated.unverified_claims("not a jwt") == {}
    assert federated.unverified_claims("a.%%%.c") == {}
    assert "not a readable JWT" in federated.describe("x.y.z", "somewhere")
