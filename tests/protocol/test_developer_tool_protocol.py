"""Developer-tool protocol code without processes: validation, argument lists, output parsing."""

from __future__ import annotations

import base64
import json
import time

import pytest

from azidentity import AuthenticationFailedError, CredentialUnavailableError
from azidentity._protocol import azure_cli, azure_developer_cli, azure_powershell
from azidentity._protocol import developer_tool as tool_protocol
from azidentity._protocol.effects import ProcessResult

INJECTIONS = [
    "https://x/.default; rm -rf ~",
    "https://x/.default | cat",
    "https://x/.default'",
    "https://x/.default&calc",
    "https://x/.default\n--debug",
    "https://x /.default",
    "--debug",
    "-o",
    "https://x/.default`id`",
    "https://x/.default$(id)",
    'https://x/.default"',
    "https://x/.default\t",
    "",
]


def result(stdout: str = "", stderr: str = "", code: int = 0, **kw: object) -> ProcessResult:
    return ProcessResult(code, stdout, stderr, 0.01, **kw)  # type: ignore[arg-type]


# -- validation ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("scope", INJECTIONS)
def test_unsafe_scopes_are_refused_naming_the_value(scope: str) -> None:
    with pytest.raises(ValueError) as info:
        tool_protocol.validate_scope(scope)
    assert repr(scope) in str(info.value)


@pytest.mark.parametrize("scope", ["https://management.azure.com/.default", "api://a-b_c.d/e:f", "openid"])
def test_safe_scopes_pass(scope: str) -> None:
    tool_protocol.validate_scope(scope)


@pytest.mark.parametrize(
    "tenant", ["a b", "a;b", "a|b", "a'b", "a&b", "-tenant", "--tenant", "a\nb", "a/b", ""]
)
def test_unsafe_tenants_are_refused(tenant: str) -> None:
    with pytest.raises(ValueError) as info:
        tool_protocol.validate_tenant(tenant)
    assert repr(tenant) in str(info.value)


@pytest.mark.parametrize(
    "subscription", ["a;b", "a|b", "a'b", "a&b", "-s", "--debug", "a\nb", 'a"b', "a$b", "a/b"]
)
def test_unsafe_subscriptions_are_refused(subscription: str) -> None:
    problem = tool_protocol.subscription_error(subscription)
    assert problem is not None and repr(subscription) in problem and "use its ID instead" in problem


@pytest.mark.parametrize(
    "subscription", ["My Subscription", "11111111-2222-3333-4444-555555555555", "dev_sub.1"]
)
def test_safe_subscriptions_pass(subscription: str) -> None:
    assert tool_protocol.subscription_error(subscription) is None


def test_scope_count() -> None:
    with pytest.raises(ValueError, match="exactly one scope"):
        tool_protocol.validate_scopes(("a", "b"), exactly_one=True)
    tool_protocol.validate_scopes(("a", "b"), exactly_one=False)


def test_resource_of_strips_default_suffix_only() -> None:
    assert tool_protocol.resource_of("https://vault.azure.net/.default") == "https://vault.azure.net"
    assert tool_protocol.resource_of("https://vault.azure.net") == "https://vault.azure.net"
    assert tool_protocol.resource_of("api://x/read") == "api://x/read"


# -- expiry -----------------------------------------------------------------------------------------------
def test_utc_time_is_the_instant_it_names() -> None:
    assert tool_protocol.parse_utc_time("1970-01-01T00:00:10Z") == 10
    assert tool_protocol.parse_utc_time("2024-01-31T22:05:09Z") == 1706738709
    assert tool_protocol.parse_utc_time("2024-01-31T23:05:09.123+01:00") == 1706738709
    for bad in ("2024-01-31 22:05:09", "2024-13-31T22:05:09Z", "tomorrow", 1706738709, None):
        with pytest.raises(ValueError):
            tool_protocol.parse_utc_time(bad)


def test_local_time_with_and_without_fraction() -> None:
    now = int(time.time())
    text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
    assert tool_protocol.parse_local_time(text) == now
    assert tool_protocol.parse_local_time(text + ".123456") == now
    with pytest.raises(ValueError):
        tool_protocol.parse_local_time("2024-01-31T22:05:09Z")


def test_epoch_seconds() -> None:
    assert tool_protocol.epoch_seconds(5) == 5
    assert tool_protocol.epoch_seconds("5") == 5
    for bad in (True, "five", None, float("nan")):
        with pytest.raises(ValueError):
            tool_protocol.epoch_seconds(bad)


def test_scrub_removes_tokens_and_caps_length() -> None:
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    assert jwt not in tool_protocol.scrub(f"ERROR: {jwt}")
    shown = tool_protocol.scrub("x " * 10000)
    assert len(shown) < tool_protocol.SHOWN_OUTPUT + 100 and "characters in all" in shown


# -- argument lists ---------------------------------------------------------------------------------------
def test_az_command() -> None:
    assert azure_cli.command("/bin/az", "https://r", None, None) == (
        "/bin/az",
        "account",
        "get-access-token",
        "--output",
        "json",
        "--resource",
        "https://r",
    )
    assert azure_cli.command("/bin/az", "https://r", "t", "My Sub")[-4:] == (
        "--tenant",
        "t",
        "--subscription",
        "My Sub",
    )


def test_azd_command_takes_every_scope() -> None:
    assert azure_developer_cli.command("azd", ["a", "b"], "t") == (
        "azd",
        "auth",
        "token",
        "--output",
        "json",
        "--no-prompt",
        "--scope",
        "a",
        "--scope",
        "b",
        "--tenant-id",
        "t",
    )


def test_pwsh_command_encodes_the_script() -> None:
    argv = azure_powershell.command("pwsh", "https://r", "tenant-1")
    assert argv[:6] == ("pwsh", "-NoProfile", "-NonInteractive", "-OutputFormat", "Text", "-EncodedCommand")
    script = base64.b64decode(argv[6]).decode("utf-16-le")
    assert "'ResourceUrl' = 'https://r'" in script and "$tenantId = 'tenant-1'" in script
    assert "-MinimumVersion $minimumVersion" in script and "'2.2.0'" in script
    assert "SecureStringToBSTR" in script and "Get-AzAccessToken @params" in script


def test_claims_messages_are_the_login_commands() -> None:
    claims = '{"access_token":{"nbf":{"essential":true}}}'
    encoded = base64.b64encode(claims.encode()).decode()
    assert f"az login --claims-challenge {encoded} --tenant t --scope s" in azure_cli.claims_message(
        claims, "t", "s"
    )
    assert f"azd auth login --claims {encoded} --tenant-id t" in azure_developer_cli.claims_message(
        claims, "t"
    )
    assert f"Connect-AzAccount -TenantId 't' -ClaimsChallenge '{encoded}'" in azure_powershell.claims_message(
        claims, "t"
    )
    assert "--tenant" not in azure_cli.claims_message(claims, "", "s")


# -- parsers ---------------------------------------------------------------------------------------------
def test_az_parse_prefers_epoch() -> None:
    out = json.dumps(
        {"accessToken": "tok", "expiresOn": "2000-01-01 00:00:00.000000", "expires_on": 4102444800}
    )
    token = azure_cli.parse(result(out), credential="C", timeout=1, now=time.time())
    assert (token.token, token.expires_on) == ("tok", 4102444800)


@pytest.mark.parametrize(
    "stdout",
    [
        "",
        "not json",
        "[]",
        '{"accessToken": "t"}',
        '{"expires_on": 5}',
        '{"accessToken": "t", "expiresOn": "soon"}',
    ],
)
def test_az_malformed_output_is_a_failure(stdout: str) -> None:
    with pytest.raises(AuthenticationFailedError) as info:
        azure_cli.parse(result(stdout), credential="AzureCliCredential", timeout=1, now=0)
    assert "Unexpected output from Azure CLI" in str(info.value)


def test_az_login_words_with_aadsts_are_a_failure() -> None:
    with pytest.raises(AuthenticationFailedError):
        azure_cli.parse(
            result(stderr="ERROR: AADSTS50076: run az login", code=1), credential="C", timeout=1, now=0
        )
    with pytest.raises(CredentialUnavailableError):
        azure_cli.parse(
            result(stderr="ERROR: run 'az account set'", code=1), credential="C", timeout=1, now=0
        )


def test_not_found_conditions() -> None:
    for res in (
        result(code=127),
        result(not_found=True, code=127),
        result(stderr="'az' is not recognized as an internal or external command", code=1),
    ):
        with pytest.raises(CredentialUnavailableError, match="Azure CLI not found on path"):
            azure_cli.parse(res, credential="C", timeout=1, now=0)


def test_azd_error_text_unwraps_json_lines() -> None:
    stderr = (
        json.dumps({"type": "consoleMessage", "data": {"message": "\nERROR: one\n"}})
        + "\n"
        + json.dumps({"error": "two"})
        + "\nthree\n"
    )
    assert azure_developer_cli.error_text(stderr) == "ERROR: one\ntwo\nthree"


def test_pwsh_parse_finds_its_line_among_others() -> None:
    token = azure_powershell.parse(
        result("WARNING: x\nazsdk%tok%4102444800\n"), credential="C", timeout=1, now=0
    )
    assert (token.token, token.expires_on) == ("tok", 4102444800)
    for bad in ("azsdk%tok", "azsdk%%5", "azsdk%tok%soon", "nothing"):
        with pytest.raises(AuthenticationFailedError, match="Unexpected output from Get-AzAccessToken"):
            azure_powershell.parse(result(bad), credential="C", timeout=1, now=0)


def test_pwsh_error_record_is_cleaned() -> None:
    stderr = (
        "Get-AzAccessToken: \nLine |\n  23 |  $token = Get-AzAccessToken @params\n     |  ~~~~~~\n"
        "     | Run Connect-AzAccount to login.\n"
    )
    with pytest.raises(CredentialUnavailableError) as info:
        azure_powershell.parse(result(stderr=stderr, code=1), credential="C", timeout=1, now=0)
    assert info.value.detail == "Get-AzAccessToken:\nRun Connect-AzAccount to login."


def test_timeout_message_names_the_seconds() -> None:
    with pytest.raises(CredentialUnavailableError) as info:
        azure_developer_cli.parse(result(timed_out=True, code=-1), credential="C", timeout=2.5, now=0)
    assert "Azure Developer CLI timed out after 2.5 seconds" in str(info.value)
    assert "process_timeout" in str(info.value)
