"""ChainedTokenCredential: order, unavailable vs failed, the aggregate layout, the chain context, nesting."""

from __future__ import annotations

import asyncio
import logging

import pytest
from azure.core.credentials import AccessToken, AccessTokenInfo

import azidentity
import azidentity.aio
from azidentity import AuthenticationFailedError, CredentialUnavailableError
from azidentity._credential import current_chain
from azidentity._errors import DOCTOR_LINE

SCOPE = "https://storage.azure.com/.default"


class Member:
    """A scripted credential: returns a token, or raises the error it was given. Records calls."""

    def __init__(self, name, outcome, *, info=True, token=True):
        self.name, self.outcome = name, outcome
        self.calls, self.in_chain, self.closed = [], [], 0
        if not info:
            self.get_token_info = None
        if not token:
            self.get_token = None

    def _result(self, method, scopes, kwargs):
        self.calls.append((method, scopes, kwargs))
        self.in_chain.append(current_chain() is not None)
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return (
            AccessToken(self.outcome, 4102444800)
            if method == "get_token"
            else AccessTokenInfo(self.outcome, 4102444800)
        )

    def close(self):
        self.closed += 1


class SyncMember(Member):
    def __getattribute__(self, item):
        value = object.__getattribute__(self, item)
        if item in ("get_token", "get_token_info") and value is None:
            raise AttributeError(item)
        return value

    def get_token(self, *scopes, **kwargs):
        return self._result("get_token", scopes, kwargs)

    def get_token_info(self, *scopes, options=None):
        return self._result("get_token_info", scopes, options)


class AsyncMember(SyncMember):
    async def get_token(self, *scopes, **kwargs):
        await asyncio.sleep(0)
        return self._result("get_token", scopes, kwargs)

    async def get_token_info(self, *scopes, options=None):
        await asyncio.sleep(0)
        return self._result("get_token_info", scopes, options)

    async def close(self):
        self.closed += 1


def members(flavor, *outcomes, **kwargs):
    cls = AsyncMember if flavor.is_async else SyncMember
    return [cls(f"M{i}", outcome, **kwargs) for i, outcome in enumerate(outcomes)]


def unavailable(text="not configured"):
    return CredentialUnavailableError(text, credential="FakeCredential")


def failed(text="refused"):
    return AuthenticationFailedError(text, credential="FakeCredential", mitigation_key="network")


def chain(flavor, *credentials):
    return flavor.make("ChainedTokenCredential", *credentials)


def test_at_least_one_credential(flavor):
    with pytest.raises(ValueError, match="^at least one credential is required$"):
        flavor.cls("ChainedTokenCredential")()


def test_first_token_wins_and_later_members_are_not_called(flavor):
    a, b, c = members(flavor, unavailable(), "token-b", "token-c")
    credential = chain(flavor, a, b, c)
    assert flavor.get_token(credential, SCOPE, tenant_id="t1").token == "token-b"
    assert b.calls == [("get_token", (SCOPE,), {"claims": None, "tenant_id": "t1", "enable_cae": False})]
    assert c.calls == []
    assert a.in_chain == [True] and b.in_chain == [True]
    assert (current_chain() is not None) is False
    assert credential._successful_credential is b
    # A plain chain walks from the start every time (only DefaultAzureCredential remembers).
    flavor.get_token(credential, SCOPE)
    assert len(a.calls) == 2


def test_get_token_info_and_fallbacks(flavor):
    only_token, only_info = members(flavor, "t", "i", info=False)[0], members(flavor, "i", token=False)[0]
    info = flavor.get_token_info(chain(flavor, only_token), SCOPE, options={"tenant_id": "x"})
    assert isinstance(info, AccessTokenInfo) and info.token == "t"
    assert only_token.calls[0][0] == "get_token" and only_token.calls[0][2] == {"tenant_id": "x"}
    token = flavor.get_token(chain(flavor, only_info), SCOPE, claims="c")
    assert type(token) is AccessToken and token.token == "i"
    assert only_info.calls[0] == ("get_token_info", (SCOPE,), {"claims": "c"})
    pop_only_token = members(flavor, "t", info=False)[0]
    with pytest.raises(CredentialUnavailableError, match="Proof of possession"):
        flavor.get_token_info(chain(flavor, pop_only_token), SCOPE, options={"pop": {"nonce": "n"}})


def test_all_unavailable_raises_unavailable_in_the_layout(flavor):
    a, b = members(flavor, unavailable("first\nsecond line"), CredentialUnavailableError("plain"))
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(chain(flavor, a, b), SCOPE)
    name = type(a).__name__
    assert str(info.value).split("\n") == [
        "ChainedTokenCredential failed to acquire a token.",
        "Attempted credentials:",
        f"\t{name}: FakeCredential: first",
        "\t\tsecond line",
        f"\t{name}: plain",
        DOCTOR_LINE,
    ]
    assert info.value.credential == "ChainedTokenCredential"
    assert info.value.troubleshooting_anchor == "defaultazurecredential"
    assert [n for n, _ in info.value.attempts] == [name, name]


def test_a_failure_stops_the_chain_with_the_members_facts(flavor, emulator):
    bad = flavor.secret_credential(emulator, secret="not-the-secret-value")
    (after,) = members(flavor, "never")
    env = flavor.make("EnvironmentCredential", _env={})
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(chain(flavor, env, bad, after), SCOPE)
    error = info.value
    lines = str(error).split("\n")
    assert lines[0] == "ChainedTokenCredential failed to acquire a token."
    assert lines[2].startswith(
        "\tEnvironmentCredential: Missing or incomplete environment variable configuration"
    )
    member_line = next(i for i, line in enumerate(lines) if line.startswith("\tClientSecretCredential: "))
    assert lines[member_line].startswith("\tClientSecretCredential: authentication failed")
    assert lines[member_line + 1].startswith(f"\t\tPOST {emulator.base_url}/")
    assert lines[member_line + 2] == "\t\t" + "-" * 80
    assert lines[-1] == DOCTOR_LINE
    assert (error.credential, error.status_code, error.oauth_error, error.error_code) == (
        "ClientSecretCredential",
        401,
        "invalid_client",
        "AADSTS7000215",
    )
    assert error.mitigation and error.troubleshooting_anchor == "clientsecretcredential"
    assert error.response is not None and error.correlation_id
    assert isinstance(error.__cause__, AuthenticationFailedError)
    assert after.calls == []


def test_other_exceptions_stop_the_chain_too(flavor):
    a, b = members(flavor, RuntimeError("boom"), "never")
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(chain(flavor, a, b), SCOPE)
    assert f"\t{type(a).__name__}: RuntimeError: boom" in str(info.value).split("\n")
    assert b.calls == []


def test_nested_chain(flavor):
    inner_a, inner_b, outer_ok = members(
        flavor, unavailable("inner a"), unavailable("inner b"), "outer-token"
    )
    inner = chain(flavor, inner_a, inner_b)
    outer = chain(flavor, inner, outer_ok)
    assert flavor.get_token(outer, SCOPE).token == "outer-token"  # the inner chain was unavailable: continue
    assert inner_a.in_chain == [True]

    x, y = members(flavor, unavailable("x"), failed("inner failure"))
    (z,) = members(flavor, "never")
    outer = chain(flavor, chain(flavor, x, y), z)
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(outer, SCOPE)
    lines = str(info.value).split("\n")
    assert lines[:3] == [
        "ChainedTokenCredential failed to acquire a token.",
        "Attempted credentials:",
        "\tChainedTokenCredential: failed to acquire a token.",
    ]
    assert lines[3] == "\t\tAttempted credentials:"
    assert lines[4].startswith(f"\t\t\t{type(x).__name__}: FakeCredential: x")
    assert lines.count(DOCTOR_LINE) == 1 and lines[-1] == DOCTOR_LINE
    assert info.value.credential == "FakeCredential" and z.calls == []


def test_logging_debug_per_member_and_info_once(flavor, caplog):
    caplog.set_level(logging.DEBUG, logger="azidentity")
    a, b = members(flavor, unavailable("not here"), "tok")
    credential = chain(flavor, a, b)
    flavor.get_token(credential, SCOPE)
    flavor.get_token(credential, SCOPE)
    records = [r for r in caplog.records if r.name == "azidentity"]
    assert not [r for r in records if r.levelno >= logging.WARNING]
    infos = [r.getMessage() for r in records if r.levelno == logging.INFO]
    assert infos == [f"ChainedTokenCredential authenticated with {type(b).__name__}"]
    assert any("is unavailable" in r.getMessage() and r.levelno == logging.DEBUG for r in records)


def test_close_and_context_manager(flavor):
    a, b = members(flavor, "t", "u")
    credential = chain(flavor, a, b)
    flavor.run(credential.close())
    assert (a.closed, b.closed) == (1, 1)
    if flavor.is_async:

        async def use():
            async with chain(flavor, a, b) as c:
                await c.get_token(SCOPE)

        flavor.run(use())
    else:
        with chain(flavor, a, b) as c:
            c.get_token(SCOPE)
    assert (a.closed, b.closed) == (2, 2)


def test_scopes_required(flavor):
    from azure.core.exceptions import ClientAuthenticationError

    (a,) = members(flavor, "t")
    # As azure-identity's chains report it: a ClientAuthenticationError, not the members' ValueError.
    with pytest.raises(ClientAuthenticationError, match="requires at least one scope"):
        flavor.get_token(chain(flavor, a))


def test_sync_chain_refuses_async_members():
    (member,) = [AsyncMember("a", "t")]
    with pytest.raises(TypeError, match="async credential"):
        azidentity.ChainedTokenCredential(member).get_token(SCOPE)


def test_async_chain_accepts_sync_members():
    member = SyncMember("a", "t")
    assert asyncio.run(azidentity.aio.ChainedTokenCredential(member).get_token(SCOPE)).token == "t"


def test_in_chain_is_per_task_under_asyncio():
    seen = []

    class Slow(AsyncMember):
        async def get_token(self, *scopes, **kwargs):
            await asyncio.sleep(0.01)
            seen.append(("member", (current_chain() is not None)))
            return AccessToken("t", 4102444800)

    async def outside():
        await asyncio.sleep(0.005)
        seen.append(("outside", (current_chain() is not None)))

    async def main():
        await asyncio.gather(
            azidentity.aio.ChainedTokenCredential(Slow("s", "t")).get_token(SCOPE), outside()
        )

    asyncio.run(main())
    assert sorted(seen) == [("member", True), ("outside", False)]


def test_bearer_token_provider(flavor, emulator):
    env = flavor.make(
        "EnvironmentCredential",
        _env={
            "AZURE_TENANT_ID": emulator.tenant_id,
            "AZURE_CLIENT_ID": emulator.apps["secret"].client_id,
            "AZURE_CLIENT_SECRET": emulator.apps["secret"].secret,
            "AZURE_AUTHORITY_HOST": emulator.base_url,
        },
        connection_verify=emulator.ca_bundle_path,
    )
    provider_factory = (
        azidentity.aio.get_bearer_token_provider if flavor.is_async else azidentity.get_bearer_token_provider
    )
    provider = provider_factory(chain(flavor, flavor.make("EnvironmentCredential", _env={}), env), SCOPE)
    token = flavor.run(provider())
    assert emulator.verify_token(token)["appid"] == emulator.apps["secret"].client_id


def test_repr_names_members(flavor):
    a, b = members(flavor, "t", "u")
    module = "azidentity.aio" if flavor.is_async else "azidentity"
    assert (
        repr(chain(flavor, a, b))
        == f"<{module}.ChainedTokenCredential credentials=[{type(a).__name__}, {type(b).__name__}]>"
    )
    assert flavor.cls("ChainedTokenCredential").__module__ == (
        "azidentity.aio" if flavor.is_async else "azidentity._credentials.chained"
    )
