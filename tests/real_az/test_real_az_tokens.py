"""AzureCliCredential with the real ``az`` on PATH, signed in to the emulator: tokens.

Every token is checked against the emulator's signing key and its claims; ``expires_on`` must be
az's: ``int(time.time()) + expires_in`` when az received the token (the JWT's ``exp``, or a second
more when the clock ticked in between) or ``exp - 1`` when MSAL's cache served it.
"""

from __future__ import annotations

from typing import Any

from real_az import realaz

ARM = "https://management.azure.com/.default"
GRAPH = "https://graph.microsoft.com/.default"


def check(
    real: realaz.RealAz, token: Any, canary: Any, *, aud: str, tid: str, **expected: str
) -> dict[str, Any]:
    canary(token.token)
    claims: dict[str, Any] = real.emulator.verify_token(token.token)
    assert (claims["aud"], claims["tid"]) == (aud, tid)
    for name, value in expected.items():
        assert claims.get(name) == value, (name, claims.get(name))
    assert isinstance(token.expires_on, int)
    assert claims["exp"] - 1 <= token.expires_on <= claims["exp"] + 1, (token.expires_on, claims["exp"])
    return claims


def test_arm_scope_as_a_service_principal(use_az: Any, flavor: Any, az_token_canary: Any) -> None:
    real = use_az("sp")
    token = flavor.get_token(flavor.make("AzureCliCredential"), ARM)
    app = real.emulator.apps["secret"]
    claims = check(
        real, token, az_token_canary, aud="https://management.azure.com", tid=real.emulator.tenant_id
    )
    assert (claims["appid"], claims["idtyp"]) == (app.client_id, "app")


def test_graph_scope_as_the_user(use_az: Any, flavor: Any, az_token_canary: Any) -> None:
    real = use_az("user")
    info = flavor.get_token_info(flavor.make("AzureCliCredential"), GRAPH)
    alice = real.emulator.users["alice"]
    check(
        real,
        info,
        az_token_canary,
        aud="https://graph.microsoft.com",
        tid=real.emulator.tenant_id,
        upn=alice.username,
        oid=alice.object_id,
        appid=realaz.AZ_CLIENT_ID,
        idtyp="user",
    )
    assert info.token_type == "Bearer"


def test_a_resource_with_a_trailing_slash_keeps_it(use_az: Any, az_token_canary: Any) -> None:
    # "https://management.azure.com//.default" is the resource "https://management.azure.com/", which
    # az asks Entra for as such: the audience keeps the slash.
    real = use_az("sp")
    import azidentity

    with azidentity.AzureCliCredential(tenant_id=real.emulator.tenant_id) as credential:
        info = credential.get_token_info("https://management.azure.com//.default")
    check(real, info, az_token_canary, aud="https://management.azure.com/", tid=real.emulator.tenant_id)


def test_per_call_tenant_home_and_another(use_az: Any, flavor: Any, az_token_canary: Any) -> None:
    # For another tenant az prints a WARNING on stderr and succeeds: the warning is no error.
    real = use_az("sp")
    credential = flavor.make("AzureCliCredential")
    emulator = real.emulator
    other = flavor.get_token(credential, ARM, tenant_id=emulator.other_tenant_id)
    check(real, other, az_token_canary, aud="https://management.azure.com", tid=emulator.other_tenant_id)
    home = flavor.get_token_info(credential, ARM, options={"tenant_id": emulator.tenant_id})
    check(real, home, az_token_canary, aud="https://management.azure.com", tid=emulator.tenant_id)


def test_subscription_by_name_or_id(use_az: Any, flavor: Any, az_token_canary: Any) -> None:
    real = use_az("sp")
    [mine] = [s for s in real.subscriptions if s.tenant_id == real.emulator.tenant_id]
    subscription = mine.id if flavor.is_async else mine.name
    credential = flavor.make("AzureCliCredential", subscription=subscription)
    token = flavor.get_token(credential, ARM)
    check(real, token, az_token_canary, aud="https://management.azure.com", tid=mine.tenant_id)
