"""WorkloadIdentityCredential against the emulator's OIDC issuer and federated identity credentials."""

from __future__ import annotations

import base64
import json
import os
import pickle
from pathlib import Path
from typing import Any

import pytest

from azidentity import AuthenticationFailedError, CredentialUnavailableError
from azidentity._mitigations import ROWS
from azidentity.emulator import pytest_plugin

# Fixtures (the emulator's are also registered by tests/conftest.py).
emulator = pytest_plugin.emulator

SCOPE = "https://management.azure.com/.default"
SUBJECT = "system:serviceaccount:default:workload"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def token_file(tmp_path: Path, emulator: Any) -> Path:
    path = tmp_path / "azure-identity-token"
    path.write_text(emulator.issue_service_account_token())
    return path


def make(flavor: Any, emulator: Any, token_file: Path | str, **kwargs: Any) -> Any:
    options: dict[str, Any] = {
        "tenant_id": emulator.tenant_id,
        "client_id": emulator.apps["workload"].client_id,
        "token_file_path": str(token_file),
        "authority": emulator.authority,
        "connection_verify": emulator.ca_bundle_path,
    }
    options.update(kwargs)
    return flavor.make("WorkloadIdentityCredential", **options)


def assertions_sent(emulator: Any) -> list[str]:
    return [r.form["client_assertion"] for r in emulator.requests if r.route == "token"]


def test_token_for_the_service_account(flavor: Any, emulator: Any, token_file: Path) -> None:
    token = flavor.get_token(make(flavor, emulator, token_file), SCOPE)
    claims = emulator.verify_token(token.token)
    assert claims["aud"] == "https://management.azure.com"
    assert claims["appid"] == emulator.apps["workload"].client_id
    assert assertions_sent(emulator) == [token_file.read_text()]


def test_configuration_from_the_environment(
    flavor: Any, emulator: Any, token_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the AKS workload identity webhook injects into the pod.
    monkeypatch.setenv("AZURE_TENANT_ID", emulator.tenant_id)
    monkeypatch.setenv("AZURE_CLIENT_ID", emulator.apps["workload"].client_id)
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", emulator.authority)
    cred = flavor.make("WorkloadIdentityCredential", connection_verify=emulator.ca_bundle_path)
    assert emulator.verify_token(flavor.get_token(cred, SCOPE).token)["tid"] == emulator.tenant_id


def test_rotated_token_file_is_read_again(flavor: Any, emulator: Any, token_file: Path) -> None:
    now = [0.0]
    import time

    cred = make(flavor, emulator, token_file, _clock=lambda: time.time() + now[0])
    flavor.get_token(cred, SCOPE)
    first = token_file.read_text()
    # Kubernetes writes a new token into the projected volume; the next token request uses it.
    token_file.write_text(emulator.issue_service_account_token(lifetime=7200))
    second = token_file.read_text()
    assert second != first
    flavor.get_token(cred, SCOPE)  # served from the cache: no assertion needed
    assert assertions_sent(emulator) == [first]
    now[0] = 3500.0  # past the cached token's refresh point
    flavor.get_token(cred, SCOPE)
    assert assertions_sent(emulator) == [first, second]


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ({"client_id"}, ["no client ID specified"]),
        ({"tenant_id"}, ["no tenant ID specified"]),
        ({"token_file_path"}, ["no token file specified"]),
        (
            {"client_id", "tenant_id", "token_file_path"},
            ["no client ID specified", "no tenant ID specified", "no token file specified"],
        ),
    ],
)
def test_incomplete_configuration_names_what_is_missing(
    missing: set[str], named: list[str], flavor: Any, emulator: Any, token_file: Path
) -> None:
    kwargs = {name: None for name in missing}
    with pytest.raises(ValueError) as info:
        make(flavor, emulator, token_file, **kwargs)
    text = str(info.value)
    for words in named:
        assert words in text
    for words in {"no client ID specified", "no tenant ID specified", "no token file specified"} - set(named):
        assert words not in text
    assert text.startswith("WorkloadIdentityCredential: ")
    assert f"Mitigation: {ROWS['workload-incomplete'].mitigation}" in text
    for name in missing:
        assert name in text  # the argument to pass


@pytest.mark.parametrize("problem", ["missing", "empty", "directory", "unreadable"])
def test_unusable_token_file(problem: str, flavor: Any, emulator: Any, tmp_path: Path) -> None:
    path = tmp_path / "token"
    if problem == "empty":
        path.write_text("  \n")
    elif problem == "directory":
        path.mkdir()
    elif problem == "unreadable":
        if os.geteuid() == 0:
            path.write_bytes(b"\xff\xfe\x00not utf-8")  # root reads everything: use undecodable bytes
        else:
            path.write_text("token")
            path.chmod(0)
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(make(flavor, emulator, path), SCOPE)
    assert repr(str(path)) in str(info.value)
    assert info.value.mitigation == ROWS["workload-token-file"].mitigation
    assert emulator.requests == []


def _unsigned_jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("case", "code"), [("subject", "AADSTS700213"), ("issuer", "AADSTS70021"), ("audience", "AADSTS700212")]
)
def test_no_matching_federated_credential_shows_the_assertions_claims(
    case: str, code: str, flavor: Any, emulator: Any, token_file: Path
) -> None:
    if case == "subject":
        assertion = emulator.issue_service_account_token(subject="system:serviceaccount:prod:other")
        iss, sub, aud = (
            emulator.oidc_issuer_url,
            "system:serviceaccount:prod:other",
            "api://AzureADTokenExchange",
        )
    elif case == "audience":
        assertion = emulator.issue_service_account_token(audience="api://SomethingElse")
        iss, sub, aud = emulator.oidc_issuer_url, SUBJECT, "api://SomethingElse"
    else:
        iss, sub, aud = "https://oidc.example.invalid/cluster", SUBJECT, "api://AzureADTokenExchange"
        assertion = _unsigned_jwt({"iss": iss, "sub": sub, "aud": [aud], "exp": 4102444800})
    token_file.write_text(assertion)
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(make(flavor, emulator, token_file), SCOPE)
    error = info.value
    assert error.error_code == code and error.status_code == 400
    text = str(error)
    assert (
        f"issuer (iss) '{iss}'" in text
        and f"subject (sub) '{sub}'" in text
        and f"audience (aud) '{aud}'" in text
    )
    assert str(token_file) in text
    assert error.mitigation == ROWS[code].mitigation
    assert assertion not in text and assertion.split(".")[2] not in text


def test_other_entra_errors_are_unchanged(flavor: Any, emulator: Any, token_file: Path) -> None:
    # The app exists but has no federated credentials for this issuer -- or the client ID is wrong.
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(
            make(flavor, emulator, token_file, client_id="00000000-0000-0000-0000-000000000001"), SCOPE
        )
    assert info.value.error_code == "AADSTS700016"
    assert "issuer (iss)" not in str(info.value)


def test_repr_and_pickle(flavor: Any, emulator: Any, token_file: Path) -> None:
    cred = make(flavor, emulator, token_file)
    token = flavor.get_token(cred, SCOPE)
    assert f"token_file_path={str(token_file)!r}" in repr(cred)
    assert token_file.read_text() not in repr(cred)
    data = pickle.dumps(cred)
    assert token.token.encode() not in data and token_file.read_text().encode() not in data
    clone = pickle.loads(data)
    flavor._made.append(clone)
    assert repr(clone) == repr(cred)
    assert emulator.verify_token(flavor.get_token(clone, SCOPE).token)["tid"] == emulator.tenant_id
