"""AzureCliCredential with the real ``az`` on PATH: every way az refuses, alone and inside a chain.

On its own the credential raises the guide's category (CredentialUnavailableError only when nobody
is signed in; AuthenticationFailedError when az tried and was refused), with the AADSTS code as an
attribute and a mitigation naming what was requested. Inside DefaultAzureCredential every az failure
lets the chain move on, as azure-identity does: here to the Azure Developer CLI stand-in behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from azidentity import AuthenticationFailedError, CredentialUnavailableError
from real_az import realaz
from standins import harness

ARM = "https://management.azure.com/.default"
UNKNOWN_TENANT = "00000000-1111-2222-3333-444444444444"


@dataclass(frozen=True)
class Case:
    name: str
    identity: str
    scope: str = ARM
    credential: dict[str, str] = field(default_factory=dict)
    tenant: str | None = None  # per call; "home" / "other" are the emulator's tenants
    code: str | None = None
    says: tuple[str, ...] = ()  # in the message, from az
    names: tuple[str, ...] = ()  # in the mitigation: what was requested


CASES = [
    Case(
        "not logged in",
        "logged-out",
        says=("ERROR: Please run 'az login' to setup account.",),
        names=("az login", "--resource https://management.azure.com"),
    ),
    Case(
        "app not in that tenant",
        "single",
        tenant="other",
        code="AADSTS700016",
        says=("was not found in the directory",),
        names=("{other}",),
    ),
    Case(
        "unknown tenant",
        "sp",
        tenant=UNKNOWN_TENANT,
        code="AADSTS90002",
        says=(
            "ERROR: Unable to get authority configuration for",
            f"AADSTS90002: Tenant '{UNKNOWN_TENANT}' not found",
        ),
        names=(UNKNOWN_TENANT,),
    ),
    Case(
        "unknown resource",
        "sp",
        scope="https://unknown-resource.example/.default",
        code="AADSTS500011",
        says=("The resource principal named https://unknown-resource.example was not found",),
        names=("https://unknown-resource.example/.default",),
    ),
    Case(
        "unknown subscription",
        "sp",
        credential={"subscription": "No Such Subscription"},
        says=("ERROR: Subscription 'No Such Subscription' not found.",),
        names=("'No Such Subscription'", "az account list"),
    ),
    Case(
        "wrong stored secret",
        "wrong-secret",
        credential={"tenant_id": "{home}"},
        code="AADSTS7000215",
        says=("Invalid client secret provided",),
        names=("az login --service-principal", "--tenant {home}"),
    ),
    Case(
        "a user at a tenant she isn't in",
        "user",
        tenant="other",
        code="AADSTS50020",
        says=("does not exist in tenant",),
        names=("{other}",),
    ),
]


def _fill(text: str, real: realaz.RealAz) -> str:
    return text.format(home=real.emulator.tenant_id, other=real.emulator.other_tenant_id)


def _request(case: Case, real: realaz.RealAz) -> tuple[dict[str, str], dict[str, str]]:
    credential = {k: _fill(v, real) for k, v in case.credential.items()}
    tenant = {"home": real.emulator.tenant_id, "other": real.emulator.other_tenant_id}.get(
        case.tenant or "", case.tenant
    )
    return credential, ({"tenant_id": tenant} if tenant else {})


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_alone(case: Case, use_az: Any, flavor: Any) -> None:
    real = use_az(case.identity)
    credential, per_call = _request(case, real)
    expected = CredentialUnavailableError if case.identity == "logged-out" else AuthenticationFailedError
    with pytest.raises(expected) as info:
        flavor.get_token(flavor.make("AzureCliCredential", **credential), case.scope, **per_call)
    error = info.value
    if expected is AuthenticationFailedError:
        assert not isinstance(error, CredentialUnavailableError)
    text = str(error)
    assert text.startswith("AzureCliCredential: "), text
    for words in case.says:
        assert words in text
    assert error.error_code == case.code
    assert error.error_codes == ([int(case.code[len("AADSTS") :])] if case.code else [])
    for words in case.names:
        assert _fill(words, real) in error.mitigation, error.mitigation
    assert f"Mitigation: {error.mitigation}" in text
    assert "#azureclicredential" in text
    # az's Python traceback, its WARNING lines and its colours stay out of the message.
    assert "Traceback" not in text and 'File "' not in text and "WARNING:" not in text and "\x1b[" not in text
    assert len(text.splitlines()) <= 12, text


# DefaultAzureCredential takes no subscription (nor tenant) for its az member: that case can't arise in it.
IN_CHAIN = [c for c in CASES if not c.credential]


@pytest.mark.parametrize("case", IN_CHAIN, ids=[c.name for c in IN_CHAIN])
def test_inside_default_azure_credential_the_chain_moves_on(
    case: Case, use_az: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, az_token_canary: Any
) -> None:
    """After az fails, DefaultAzureCredential tries the next member: the azd stand-in behind it."""
    stand_ins = tmp_path / "stand-ins"
    harness.install(stand_ins)
    (stand_ins / "az").unlink()
    real = use_az(case.identity, path_after=str(stand_ins))
    azd_app = real.emulator.apps["api"]
    log = tmp_path / "calls.jsonl"
    for name, value in {
        "STANDIN_AUTHORITY": real.emulator.authority,
        "STANDIN_TENANT": real.emulator.tenant_id,
        "STANDIN_CLIENT_ID": azd_app.client_id,
        "STANDIN_CLIENT_SECRET": str(azd_app.secret),
        "STANDIN_CA": real.emulator.ca_bundle_path,
        "STANDIN_LOG": str(log),
    }.items():
        monkeypatch.setenv(name, value)
    _, per_call = _request(case, real)
    import azidentity

    chain = azidentity.DefaultAzureCredential(
        exclude_environment_credential=True,
        exclude_workload_identity_credential=True,
        exclude_managed_identity_credential=True,  # never IMDS from a test
        exclude_powershell_credential=True,
    )
    with chain:
        try:
            token = chain.get_token(case.scope, **per_call)
        except CredentialUnavailableError as error:
            # azd refused this request too (an unknown tenant or resource): every member was tried.
            text = str(error)
            assert "AzureCliCredential: " in text and "AzureDeveloperCliCredential: " in text
            assert all(words in text for words in case.says)
            token = None
    assert [call["tool"] for call in harness_calls(log)] == ["azd"]
    if token is not None:
        az_token_canary(token.token)
        assert real.emulator.verify_token(token.token)["appid"] == azd_app.client_id


def harness_calls(log: Path) -> list[dict[str, Any]]:
    import json

    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
