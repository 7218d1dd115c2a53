"""The family of client IDs (FOCI) and the OpenID Connect nonce, driven with plain HTTP.

Entra ID answers members of a client family (Microsoft's developer tools: the Azure CLI, VS Code, ...)
with ``"foci": "1"``, and any member may redeem a family refresh token; other applications' refresh
tokens stay theirs. A ``nonce`` sent to /authorize comes back in the id_token (MSAL checks it).
"""

from __future__ import annotations

from emulator_testlib import USER_SCOPE, assert_entra_error, redeem, redirected, token, verify_with_jwks
from emulator_testlib import authorize as authorize_public

from azidentity.emulator import Emulator

CLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
VSCODE = "aebc6443-996d-45c2-90f0-388ff96faa56"


def sign_in(emu: Emulator, client_id: str, **extra: str) -> dict[str, object]:
    code = redirected(authorize_public(emu, client_id=client_id, **extra))["code"]
    response = redeem(emu, code, client_id=client_id)
    assert response.status_code == 200, response.text
    return dict(response.json())


def refresh(emu: Emulator, client_id: str, refresh_token: str) -> object:
    return token(
        emu,
        "organizations",
        grant_type="refresh_token",
        client_id=client_id,
        refresh_token=refresh_token,
        scope="https://vault.azure.net/.default",
    )


def test_family_apps_are_registered_under_their_well_known_ids(emulator: Emulator) -> None:
    assert (emulator.apps["azure_cli"].client_id, emulator.apps["azure_cli"].family_id) == (CLI, "1")
    assert (emulator.apps["vscode"].client_id, emulator.apps["vscode"].family_id) == (VSCODE, "1")
    assert emulator.apps["public"].family_id is None
    assert emulator.info()["apps"]["vscode"]["family_id"] == "1"


def test_family_members_redeem_each_other_s_refresh_tokens(emulator: Emulator) -> None:
    body = sign_in(emulator, VSCODE)
    assert body["foci"] == "1"
    r = refresh(emulator, CLI, str(body["refresh_token"]))
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]
    claims = emulator.verify_token(r.json()["access_token"])  # type: ignore[attr-defined]
    assert claims["appid"] == CLI and claims["upn"] == emulator.users["alice"].username


def test_other_apps_refresh_tokens_are_theirs_alone(emulator: Emulator) -> None:
    body = sign_in(emulator, emulator.apps["public"].client_id)
    assert "foci" not in body
    assert_entra_error(refresh(emulator, CLI, str(body["refresh_token"])), 400, "invalid_grant", 70000)  # type: ignore[arg-type]
    family = sign_in(emulator, CLI)
    rejected = refresh(emulator, emulator.apps["public"].client_id, str(family["refresh_token"]))
    assert rejected.status_code == 400  # type: ignore[attr-defined]


def test_the_nonce_comes_back_in_the_id_token(emulator: Emulator) -> None:
    body = sign_in(emulator, CLI, nonce="n-0S6_WzA2Mj")
    assert verify_with_jwks(str(body["id_token"]), emulator.jwks())["nonce"] == "n-0S6_WzA2Mj"
    plain = sign_in(emulator, CLI)
    assert "nonce" not in verify_with_jwks(str(plain["id_token"]), emulator.jwks())
    assert USER_SCOPE.endswith("offline_access")
