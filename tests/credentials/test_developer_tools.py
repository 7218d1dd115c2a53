"""The three developer-tool credentials, run against stand-in az / azd / pwsh processes.

Every test runs sync and async (``flavor``) and, where the behaviour is shared, for each tool. The
stand-ins check their arguments, answer as the real tools do, and on success hand back a real token
from the emulator, so each credential is exercised through a real subprocess and a real token.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from azidentity import AuthenticationFailedError, CredentialUnavailableError
from azidentity._mitigations import ROWS
from azidentity._protocol import azure_cli
from azidentity.emulator import pytest_plugin
from flavor import Flavor
from standins import harness
from standins.harness import RESOURCE, SCOPE, Tools

# Fixtures (the emulator's are also registered by tests/conftest.py).
emulator = pytest_plugin.emulator
tools = harness.tools

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
CLAIMS = '{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}'


@dataclass(frozen=True)
class Case:
    tool: str
    credential: str
    key: str
    not_found: str
    logged_out: str  # the tool's own words, passed through

    def expected_argv(self, tenant: str | None = None) -> list[str]:
        if self.tool == "az":
            argv = ["account", "get-access-token", "--output", "json", "--resource", RESOURCE]
            return argv + (["--tenant", tenant] if tenant else [])
        if self.tool == "azd":
            argv = ["auth", "token", "--output", "json", "--no-prompt", "--scope", SCOPE]
            return argv + (["--tenant-id", tenant] if tenant else [])
        return ["-NoProfile", "-NonInteractive", "-OutputFormat", "Text", "-EncodedCommand", "<script>"]


CASES = [
    Case(
        "az",
        "AzureCliCredential",
        "cli",
        "Azure CLI not found on path",
        "ERROR: Please run 'az login' to setup account.",
    ),
    Case(
        "azd",
        "AzureDeveloperCliCredential",
        "azd",
        "Azure Developer CLI not found on path",
        "ERROR: fetching token: not logged in, run `azd auth login` to login",
    ),
    Case(
        "pwsh",
        "AzurePowerShellCredential",
        "pwsh",
        "PowerShell is not installed",
        "Run Connect-AzAccount to login.",
    ),
]


@pytest.fixture(params=CASES, ids=[c.tool for c in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    return request.param  # type: ignore[no-any-return]


def assert_row(error: Exception, key: str) -> None:
    """The error carries the guide's row and prints its mitigation."""
    row = ROWS[key]
    mitigation = row.mitigation
    if key in ("cli-not-logged-in", "cli-failed"):  # az's names the requested resource
        mitigation = azure_cli.mitigation(key, azure_cli.Request(SCOPE), ())
    assert getattr(error, "mitigation", None) == mitigation
    assert f"Mitigation: {mitigation}" in str(error)
    assert f"#{row.anchor}" in str(error)


def test_token_from_the_tool(case: Case, tools: Tools, flavor: Any, secret_canary: Any) -> None:
    cred = flavor.make(case.credential)
    before = time.time()
    token = flavor.get_token(cred, SCOPE)
    secret_canary.register_token(token.token)
    claims = tools.verify(token.token)
    assert claims["aud"] == RESOURCE and claims["tid"] == tools.emulator.tenant_id
    assert before + 3590 <= token.expires_on <= time.time() + 3600
    [call] = tools.calls(case.tool)
    assert call["argv"] == case.expected_argv()
    assert call["cwd"] == os.path.realpath("/bin")
    assert call["stdin"] == "/dev/null"
    if case.tool == "pwsh":
        assert call["script"] == {"resource": RESOURCE, "tenant": "", "recognized": True}
    info = flavor.get_token_info(cred, SCOPE)
    assert info.token_type == "Bearer" and info.expires_on >= token.expires_on - 5


def test_requested_tenant_reaches_the_command_line(case: Case, tools: Tools, flavor: Any) -> None:
    other = tools.emulator.other_tenant_id
    token = flavor.get_token(flavor.make(case.credential), SCOPE, tenant_id=other)
    assert tools.verify(token.token)["tid"] == other
    [call] = tools.calls(case.tool)
    assert call["argv"] == case.expected_argv(other)
    if case.tool == "pwsh":
        assert call["script"]["tenant"] == other


def test_configured_tenant_and_allowed_tenants(case: Case, tools: Tools, flavor: Any) -> None:
    home, other = tools.emulator.tenant_id, tools.emulator.other_tenant_id
    cred = flavor.make(case.credential, tenant_id=home)
    assert tools.verify(flavor.get_token(cred, SCOPE).token)["tid"] == home
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(cred, SCOPE, tenant_id=other)
    assert "not configured to acquire tokens for tenant" in str(info.value)
    assert_row(info.value, "tenant-not-allowed")
    assert len(tools.calls()) == 1
    allowed = flavor.make(case.credential, tenant_id=home, additionally_allowed_tenants=[other])
    assert tools.verify(flavor.get_token(allowed, SCOPE, tenant_id=other).token)["tid"] == other


def test_not_installed(case: Case, tools: Tools, flavor: Any) -> None:
    tools.remove(case.tool)
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(flavor.make(case.credential), SCOPE)
    assert str(info.value).startswith(f"{case.credential}: {case.not_found}")
    assert_row(info.value, f"{case.key}-not-found")
    assert tools.calls() == []


def test_not_executable_counts_as_not_installed(case: Case, tools: Tools, flavor: Any) -> None:
    # Found by name on PATH, but the kernel refuses to run it (a broken install).
    path = tools.bin / case.tool
    path.write_text("#!/nonexistent/interpreter\n")
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(flavor.make(case.credential), SCOPE)
    assert case.not_found in str(info.value)


def test_not_logged_in(case: Case, tools: Tools, flavor: Any) -> None:
    tools.mode("logged_out")
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(flavor.make(case.credential), SCOPE)
    assert case.logged_out in str(info.value)
    assert_row(info.value, f"{case.key}-not-logged-in")


def test_claims_challenge_is_refused_with_the_login_command(case: Case, tools: Tools, flavor: Any) -> None:
    import base64

    if case.tool == "azd":
        pytest.skip("azd takes claims challenges (azd auth token --claims): test_azure_developer_cli.py")

    encoded = base64.b64encode(CLAIMS.encode()).decode()
    tenant = tools.emulator.tenant_id
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(flavor.make(case.credential, tenant_id=tenant), SCOPE, claims=CLAIMS)
    login = {
        "az": f"az login --claims-challenge {encoded} --tenant {tenant} --scope {SCOPE}",
        "pwsh": f"Connect-AzAccount -TenantId '{tenant}' -ClaimsChallenge '{encoded}'",
    }[case.tool]
    assert login in str(info.value)
    assert "requires multifactor authentication or additional claims" in str(info.value)
    assert_row(info.value, f"{case.key}-claims")
    assert tools.calls() == []


def test_timeout(case: Case, tools: Tools, flavor: Any) -> None:
    tools.mode("ok", sleep=30)
    cred = flavor.make(case.credential, process_timeout=0.3)
    start = time.monotonic()
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(cred, SCOPE)
    assert time.monotonic() - start < 5
    display = {"az": "Azure CLI", "azd": "Azure Developer CLI", "pwsh": "Azure PowerShell"}[case.tool]
    assert f"{display} timed out after 0.3 seconds" in str(info.value)
    assert "process_timeout" in str(info.value)
    assert_row(info.value, f"{case.key}-timeout")


def test_failure_shows_stderr_without_tokens(case: Case, tools: Tools, flavor: Any) -> None:
    tools.mode("fail")
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(flavor.make(case.credential), SCOPE)
    text = str(info.value)
    assert "REDACTED" in text and JWT not in text and "0.AXoAabcdefghijklmnop" not in text
    assert_row(info.value, f"{case.key}-failed")


def test_malformed_output(case: Case, tools: Tools, flavor: Any) -> None:
    tools.mode("garbage")
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(flavor.make(case.credential), SCOPE)
    assert "Unexpected output from" in str(info.value) and JWT not in str(info.value)
    assert_row(info.value, f"{case.key}-failed")


def test_flood_of_output_gives_a_short_error(case: Case, tools: Tools, flavor: Any) -> None:
    tools.mode("flood", STANDIN_FLOOD_MB="8")
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(flavor.make(case.credential), SCOPE)
    assert len(str(info.value)) < 4000 and "characters in all" in str(info.value)


_FLOOD_CHILD = """
import asyncio, json, resource, sys, time
import azidentity, azidentity.aio
from azidentity import _driver

kind, timeout, guard = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
captured = []  # size of the output each tool run handed back to the credential
sync_run, async_run = _driver.SyncIO.run, _driver.AsyncIO.run


def run(self, effect):
    result = sync_run(self, effect)
    captured.append(len(result.stdout) + len(result.stderr))
    return result


async def arun(self, effect):
    result = await async_run(self, effect)
    captured.append(len(result.stdout) + len(result.stderr))
    return result


_driver.SyncIO.run, _driver.AsyncIO.run = run, arun
cred = (azidentity if kind == "sync" else azidentity.aio).AzureCliCredential(process_timeout=timeout)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
start = time.monotonic()
try:
    if kind == "sync":
        cred.get_token("https://management.azure.com/.default")
    else:
        # The guard only keeps a hanging driver from hanging this test.
        asyncio.run(asyncio.wait_for(cred.get_token("https://management.azure.com/.default"), guard))
    outcome = "token"
except Exception as error:
    outcome = type(error).__name__ + ": " + str(error)[:200]
print(json.dumps({"seconds": time.monotonic() - start, "outcome": outcome, "captured": captured,
                  "rss_growth_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before}))
"""


def run_flood_child(flavor: Any, timeout: float, guard: float) -> dict[str, Any]:
    import json
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _FLOOD_CHILD, flavor.name, str(timeout), str(guard)],
        capture_output=True,
        text=True,
        timeout=30,
        env=dict(os.environ),
        check=True,
    )
    report: dict[str, Any] = json.loads(done.stdout)
    assert report["outcome"].startswith(("CredentialUnavailableError", "AuthenticationFailedError")), report
    return report


def test_flooding_tool_output_is_bounded(tools: Tools) -> None:
    # az writes 64 MiB, then hangs: what is kept must stay small. (Sync only: the async driver drops the
    # output of a timed-out run, so only its memory growth shows the flood, and that depends on timing.)
    tools.mode("flood_hang", STANDIN_FLOOD_MB="64")
    report = run_flood_child(Flavor(False), timeout=1.0, guard=3.0)
    assert report["seconds"] < 2.5, report
    assert report["captured"] and max(report["captured"]) <= 2 * 1024 * 1024, report
    assert report["rss_growth_mb"] < 16, report


def test_endless_flood_ends_at_the_timeout(tools: Tools, flavor: Any) -> None:
    tools.mode("flood")
    report = run_flood_child(flavor, timeout=0.3, guard=1.5)
    assert report["seconds"] < 1.3, report


# -- argument validation -----------------------------------------------------------------------------
BAD_VALUES = ["x;y", "x|y", "x'y", "x&y", "x y", "x\ny", "-x", "--debug", "x`y`", "x$(y)", 'x"y']


@pytest.mark.parametrize("bad", BAD_VALUES)
def test_injection_in_scope_or_tenant_never_reaches_the_tool(
    bad: str, case: Case, tools: Tools, flavor: Any
) -> None:
    cred = flavor.make(case.credential)
    if not bad.startswith("-"):  # a '-' inside a scope is fine; only a leading one looks like an option
        with pytest.raises(ValueError) as info:
            flavor.get_token(cred, f"https://management.azure.com/{bad}")
        assert repr(f"https://management.azure.com/{bad}") in str(info.value)
    with pytest.raises(ValueError) as info:
        flavor.get_token(cred, bad)
    assert repr(bad) in str(info.value)
    with pytest.raises(ValueError) as info:
        flavor.get_token(cred, SCOPE, tenant_id=bad)
    assert repr(bad) in str(info.value)
    with pytest.raises(ValueError) as info:
        flavor.make(case.credential, tenant_id=bad)
    assert repr(bad) in str(info.value)
    assert tools.calls() == []


def test_scope_count(case: Case, tools: Tools, flavor: Any) -> None:
    cred = flavor.make(case.credential)
    with pytest.raises(ValueError):
        flavor.get_token(cred)
    if case.tool == "azd":
        return  # azd takes several scopes (tested with azd)
    with pytest.raises(ValueError, match="exactly one scope"):
        flavor.get_token(cred, SCOPE, "https://vault.azure.net/.default")
    assert tools.calls() == []


def test_signature_is_fixed(case: Case, flavor: Any) -> None:
    with pytest.raises(TypeError):
        flavor.make(case.credential, client_id="x")
    with pytest.raises(TypeError):
        flavor.cls(case.credential)("tenant")
    for bad in (0, -1, "10", True, float("nan")):
        with pytest.raises(ValueError, match="process_timeout"):
            flavor.make(case.credential, process_timeout=bad)


# -- caching ---------------------------------------------------------------------------------------
def burst(flavor: Any, cred: Any, count: int, **kwargs: Any) -> list[Any]:
    if flavor.is_async:

        async def run() -> list[Any]:
            return list(await asyncio.gather(*(cred.get_token(SCOPE, **kwargs) for _ in range(count))))

        return flavor.run(run())  # type: ignore[no-any-return]
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: cred.get_token(SCOPE, **kwargs), range(count)))


def test_no_caching_by_default(case: Case, tools: Tools, flavor: Any) -> None:
    cred = flavor.make(case.credential)
    tokens = burst(flavor, cred, 3)
    flavor.get_token(cred, SCOPE)
    assert len(tools.calls(case.tool)) == 4
    assert len({t.token for t in tokens}) == 3  # three runs, three tokens
    assert len(cred._cache) == 0


def test_opt_in_cache_runs_the_tool_once_per_key(case: Case, tools: Tools, flavor: Any) -> None:
    cred = flavor.make(case.credential, cache_tokens=True)
    tokens = burst(flavor, cred, 5)
    assert len(tools.calls(case.tool)) == 1
    assert len({t.token for t in tokens}) == 1
    # Another tenant is another key: the tool runs again, once.
    burst(flavor, cred, 3, tenant_id=tools.emulator.other_tenant_id)
    assert len(tools.calls(case.tool)) == 2
    # Past the token's refresh point the tool runs again.
    cred._cache.clock = lambda: time.time() + 3400
    flavor.get_token(cred, SCOPE)
    assert len(tools.calls(case.tool)) == 3


def test_opt_in_cache_is_skipped_for_claims(tools: Tools, flavor: Any) -> None:
    cred = flavor.make("AzureCliCredential", cache_tokens=True)
    flavor.get_token(cred, SCOPE)
    with pytest.raises(CredentialUnavailableError, match="claims-challenge"):
        flavor.get_token(cred, SCOPE, claims=CLAIMS)


# -- costs, repr, pickling ------------------------------------------------------------------------------
def test_duration_is_logged_at_debug(
    case: Case, tools: Tools, flavor: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="azidentity"):
        flavor.get_token(flavor.make(case.credential), SCOPE)
    [record] = [r for r in caplog.records if " ran `" in r.getMessage()]
    assert record.levelno == logging.DEBUG
    message = record.getMessage()
    assert message.startswith(f"{case.credential} ran `{case.tool} ") and " s: exit code 0" in message


def test_repr_and_pickle_carry_configuration_only(case: Case, tools: Tools, flavor: Any) -> None:
    tenant = tools.emulator.tenant_id
    cred = flavor.make(case.credential, tenant_id=tenant, process_timeout=7, cache_tokens=True)
    token = flavor.get_token(cred, SCOPE)
    assert repr(cred).startswith(f"<azidentity.{'aio.' if flavor.is_async else ''}{case.credential} ")
    assert f"tenant_id='{tenant}'" in repr(cred) and "process_timeout=7" in repr(cred)
    data = pickle.dumps(cred)
    assert token.token.encode() not in data
    clone = pickle.loads(data)
    assert repr(clone) == repr(cred) and len(clone._cache) == 0
    flavor._made.append(clone)
    assert tools.verify(flavor.get_token(clone, SCOPE).token)["tid"] == tenant
