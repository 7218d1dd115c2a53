"""VisualStudioCodeCredential: VS Code's sign-in record, validated field by field; no broker on Linux, so a
token only from MSAL's shared cache (written here by real msal), else unavailable saying what to use."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from azidentity import AuthenticationFailedError, CredentialUnavailableError
from azidentity._mitigations import ROWS
from msal_testlib import plaintext_cache, register_tokens, sign_in

VAULT = "https://vault.azure.net/.default"
VSCODE = "aebc6443-996d-45c2-90f0-388ff96faa56"
RELATIVE = Path(".azure") / "ms-azuretools.vscode-azureresourcegroups" / "authRecord.json"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    return home


def record_for(emu: Any, user: str = "alice", **changes: Any) -> dict[str, Any]:
    u = emu.users[user]
    record = {
        "authority": emu.base_url,
        "clientId": VSCODE,
        "homeAccountId": f"{u.object_id}.{u.tenant_id}",
        "tenantId": u.tenant_id,
        "username": u.username,
        "version": "1.0",
    }
    record.update(changes)
    return {k: v for k, v in record.items() if v is not ...}


def write_record(home: Path, data: Any, relative: Path = RELATIVE) -> Path:
    path = home / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def unavailable(flavor: Any, credential: Any) -> CredentialUnavailableError:
    start = time.monotonic()
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(credential, VAULT)
    assert time.monotonic() - start < 5
    return info.value


def test_not_signed_in(flavor, home):
    error = unavailable(flavor, flavor.make("VisualStudioCodeCredential"))
    assert str(error).startswith(
        "VisualStudioCodeCredential: requires the user to be signed in to Azure via Visual Studio Code"
    )
    assert error.mitigation == ROWS["vscode-not-signed-in"].mitigation
    assert error.troubleshooting_anchor == "visualstudiocodecredential"


def test_no_broker_here_says_so_and_what_to_use(flavor, home, emulator):
    write_record(home, record_for(emulator))
    error = unavailable(flavor, flavor.make("VisualStudioCodeCredential"))
    text = str(error)
    assert (
        "needs a sign-in broker to get tokens for the account Visual Studio Code signed in "
        "(alice@emulator.test" in text
    )
    assert "this platform has none (the broker, WAM, exists on Windows and WSL)" in text
    assert "Use AzureCliCredential after 'az login', or InteractiveBrowserCredential." in text
    assert error.mitigation == ROWS["vscode-no-broker"].mitigation
    assert not emulator.requests


def test_the_record_under_dot_capital_azure_is_found_too(flavor, home, emulator):
    write_record(home, record_for(emulator), Path(".Azure") / RELATIVE.relative_to(".azure"))
    assert "needs a sign-in broker" in str(unavailable(flavor, flavor.make("VisualStudioCodeCredential")))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"clientId": "04b07795-8ddb-461a-bbee-02f9e1bf7b46"},
            f"clientId must match expected VS Code Azure Resources extension client ID: {VSCODE}",
        ),
        ({"tenantId": ...}, "tenantId field is missing"),
        ({"tenantId": "bad tenant/../x"}, "tenantId validation failed: Invalid tenant ID provided"),
        ({"username": ""}, "username must be a non-empty string"),
        ({"homeAccountId": 42}, "homeAccountId must be a non-empty string"),
        ({"authority": "http://insecure.example"}, "authority is not a usable authority"),
        (
            {"authority": ..., "username": None},
            "username must be a non-empty string; authority field is missing",
        ),
    ],
)
def test_each_bad_field_is_named(flavor, home, emulator, changes, message):
    path = write_record(home, record_for(emulator, **changes))
    error = unavailable(flavor, flavor.make("VisualStudioCodeCredential"))
    assert str(error).startswith(
        f"VisualStudioCodeCredential: Failed to load authentication record from Visual Studio Code: {path}: "
        "Authentication record validation failed: "
    )
    assert message in str(error)
    assert error.mitigation == ROWS["vscode-bad-record"].mitigation


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{" * 20, "isn't JSON"),
        ("[]", "the record must be a JSON object, not list"),
        (" " * (10 * 1024 + 1), "is unexpectedly large"),
    ],
)
def test_an_unusable_file(flavor, home, emulator, content, message):
    write_record(home, content)
    error = unavailable(flavor, flavor.make("VisualStudioCodeCredential"))
    assert "Failed to load authentication record from Visual Studio Code" in str(error) and message in str(
        error
    )


def test_a_fifo_in_place_of_the_record_never_hangs(flavor, home):
    path = home / RELATIVE
    path.parent.mkdir(parents=True)
    os.mkfifo(path)
    error = unavailable(flavor, flavor.make("VisualStudioCodeCredential"))
    assert "it is not a regular file" in str(error)


def test_a_refresh_token_in_msal_s_shared_cache_is_used(flavor, home, emulator, secret_canary):
    register_tokens(sign_in(emulator, plaintext_cache(), app="azure_cli"), secret_canary)  # FOCI family "1"
    write_record(home, record_for(emulator))
    emulator.reset()
    credential = flavor.make("VisualStudioCodeCredential", connection_verify=emulator.ca_bundle_path)
    token = flavor.get_token(credential, VAULT)
    assert emulator.verify_token(token.token)["upn"] == "alice@emulator.test"
    (request,) = [r for r in emulator.requests if r.route == "token"]
    assert request.form["client_id"] == VSCODE  # redeemed as VS Code's client, at the record's tenant
    assert request.path.startswith(f"/{emulator.tenant_id}/")


def test_tenants(flavor, home, emulator, secret_canary):
    register_tokens(sign_in(emulator, plaintext_cache()), secret_canary)
    write_record(home, record_for(emulator))
    other = emulator.other_tenant_id
    credential = flavor.make("VisualStudioCodeCredential", connection_verify=emulator.ca_bundle_path)
    with pytest.raises(AuthenticationFailedError, match="not configured to acquire tokens for tenant"):
        flavor.get_token(credential, VAULT, tenant_id=other)
    allowed = flavor.make(
        "VisualStudioCodeCredential",
        additionally_allowed_tenants=["*"],
        connection_verify=emulator.ca_bundle_path,
    )
    emulator.reset()
    with pytest.raises(AuthenticationFailedError):  # alice isn't in the other tenant: Entra ID says no
        flavor.get_token(allowed, VAULT, tenant_id=other)
    assert [r.path.split("/")[1] for r in emulator.requests if r.route == "token"] == [other]
    chosen = flavor.make(
        "VisualStudioCodeCredential", tenant_id=emulator.tenant_id, connection_verify=emulator.ca_bundle_path
    )
    assert flavor.get_token(chosen, VAULT).token


def test_default_azure_credential_reaches_vs_code(flavor, home, emulator, secret_canary, monkeypatch):
    register_tokens(sign_in(emulator, plaintext_cache()), secret_canary)
    write_record(home, record_for(emulator))
    for name in list(os.environ):
        if name.startswith("AZURE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9")
    credential = flavor.make(
        "DefaultAzureCredential",
        exclude_shared_token_cache_credential=True,
        connection_verify=emulator.ca_bundle_path,
    )
    assert emulator.verify_token(flavor.get_token(credential, VAULT).token)["upn"] == "alice@emulator.test"
    assert type(credential._successful_credential).__name__ == "VisualStudioCodeCredential"


def test_doctor_facts(home, emulator):
    from azidentity import VisualStudioCodeCredential

    assert VisualStudioCodeCredential()._doctor_facts()["auth record"].startswith("not found (")
    write_record(home, record_for(emulator))
    facts = VisualStudioCodeCredential()._doctor_facts()
    assert facts["auth record"] == f"{home / RELATIVE}: alice@emulator.test, tenant {emulator.tenant_id}"
    assert facts["broker"].startswith("none on this platform")
    assert "msal.cache.nocae (not found)" in facts["MSAL cache"]
