"""DefaultAzureCredential: the chain it builds, what it does with failures, its guide rows, failing fast.

Every test runs in a prepared process environment (``clean``): no AZURE_* or managed identity
variables, an empty PATH, and IMDS pointed at a closed loopback port, so nothing reaches
169.254.169.254 or any real tool.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
import time

import pytest
from azure.core.credentials import AccessToken

import azidentity
from azidentity import AuthenticationFailedError, CredentialUnavailableError
from azidentity._credential import current_chain
from azidentity._credentials.chained import member_name
from azidentity._credentials.default import valid_token_credentials
from azidentity._mitigations import ROWS
from standins import harness

tools = harness.tools  # the az / azd / pwsh stand-ins, wired to the emulator
SCOPE = "https://management.azure.com/.default"
# azure-identity 1.27's members and order (the sync chain; the async one has no broker).
ALL = [
    "EnvironmentCredential",
    "WorkloadIdentityCredential",
    "ManagedIdentityCredential",
    "SharedTokenCacheCredential",
    "VisualStudioCodeCredential",
    "AzureCliCredential",
    "AzurePowerShellCredential",
    "AzureDeveloperCliCredential",
    "BrokerCredential",
]
DEV = [
    "SharedTokenCacheCredential",
    "VisualStudioCodeCredential",
    "AzureCliCredential",
    "AzurePowerShellCredential",
    "AzureDeveloperCliCredential",
    "BrokerCredential",
]
HOST_VARIABLES = (
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "WEBSITE_SITE_NAME",
    "WEBSITE_INSTANCE_ID",
    "SYSTEM_OIDCREQUESTURI",
)
HAS_BROWSER = importlib.util.find_spec("azidentity._credentials.interactive_browser") is not None


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def for_flavor(flavor, expected):
    """The sync chain's members as the flavor has them: azure-identity's async chain has no broker."""
    return [n for n in expected if not (flavor.is_async and n == "BrokerCredential")]


@pytest.fixture
def clean(monkeypatch, tmp_path):
    """No credential configuration at all; IMDS is a closed loopback port; no tools on PATH; an empty
    HOME (no MSAL cache, no VS Code sign-in record)."""
    for name in list(os.environ):
        if name.startswith("AZURE_") or name in HOST_VARIABLES:
            monkeypatch.delenv(name)
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", f"http://127.0.0.1:{closed_port()}")
    from azidentity._credentials.managed_identity import _clear_shared_cache

    _clear_shared_cache()
    return monkeypatch


def names(credential):
    return [member_name(c) for c in credential.credentials]


# ---- the chain: order, exclusions, AZURE_TOKEN_CREDENTIALS -------------------------------------------
CHAIN_CASES = [
    # (AZURE_TOKEN_CREDENTIALS, keyword arguments, expected members of the sync chain)
    (None, {}, ALL),
    ("", {}, ALL),
    ("dev", {}, DEV),
    ("  DeV ", {}, DEV),
    ("prod", {}, ["EnvironmentCredential", "WorkloadIdentityCredential", "ManagedIdentityCredential"]),
    ("PROD", {}, ["EnvironmentCredential", "WorkloadIdentityCredential", "ManagedIdentityCredential"]),
    ("AzureCliCredential", {}, ["AzureCliCredential"]),
    ("azureclicredential", {}, ["AzureCliCredential"]),
    (" ManagedIdentityCredential ", {}, ["ManagedIdentityCredential"]),
    ("environmentcredential", {}, ["EnvironmentCredential"]),
    ("WorkloadIdentityCredential", {}, ["WorkloadIdentityCredential"]),
    ("AzurePowerShellCredential", {}, ["AzurePowerShellCredential"]),
    ("AzureDeveloperCliCredential", {}, ["AzureDeveloperCliCredential"]),
    ("VisualStudioCodeCredential", {}, ["VisualStudioCodeCredential"]),
    # explicit exclude_* keywords win over the variable, in both directions
    ("dev", {"exclude_environment_credential": False}, ["EnvironmentCredential", *DEV]),
    (
        "prod",
        {"exclude_managed_identity_credential": True},
        ["EnvironmentCredential", "WorkloadIdentityCredential"],
    ),
    (
        "AzureCliCredential",
        {"exclude_developer_cli_credential": False},
        ["AzureCliCredential", "AzureDeveloperCliCredential"],
    ),
    (
        "AzureCliCredential",
        {"exclude_shared_token_cache_credential": False},
        ["SharedTokenCacheCredential", "AzureCliCredential"],
    ),
    (
        None,
        {"exclude_cli_credential": True, "exclude_powershell_credential": True},
        [n for n in ALL if n not in ("AzureCliCredential", "AzurePowerShellCredential")],
    ),
    (
        None,
        {
            "exclude_environment_credential": True,
            "exclude_workload_identity_credential": True,
            "exclude_managed_identity_credential": True,
        },
        ALL[3:],
    ),
    (None, {"exclude_cli_credential": False}, ALL),
    # the shared cache, VS Code and broker keywords (azure-identity's), honoured
    (
        None,
        {
            "exclude_shared_token_cache_credential": True,
            "exclude_visual_studio_code_credential": True,
            "exclude_broker_credential": True,
            "visual_studio_code_tenant_id": "t",
            "shared_cache_username": "u",
            "shared_cache_tenant_id": "t",
            "broker_tenant_id": "t",
            "broker_client_id": "c",
        },
        [
            "EnvironmentCredential",
            "WorkloadIdentityCredential",
            "ManagedIdentityCredential",
            "AzureCliCredential",
            "AzurePowerShellCredential",
            "AzureDeveloperCliCredential",
        ],
    ),
]


@pytest.mark.parametrize(("variable", "kwargs", "expected"), CHAIN_CASES)
def test_chain_members(flavor, clean, variable, kwargs, expected):
    if variable is not None:
        clean.setenv("AZURE_TOKEN_CREDENTIALS", variable)
    credential = flavor.make("DefaultAzureCredential", **kwargs)
    expected = for_flavor(flavor, expected)
    assert names(credential) == expected
    plan = {entry.name: entry for entry in credential.plan}
    assert [name for name, entry in plan.items() if entry.included] == expected
    assert ("BrokerCredential" in plan) is not flavor.is_async
    assert not plan["InteractiveBrowserCredential"].included


@pytest.mark.parametrize(
    ("variable", "kwargs", "error"),
    [
        (
            "bogus",
            {},
            "Invalid value for AZURE_TOKEN_CREDENTIALS: bogus. "
            "Valid values are: dev, prod, azureclicredential",
        ),
        ("dev,prod", {}, "Invalid value for AZURE_TOKEN_CREDENTIALS"),
        (
            None,
            {"require_envvar": True},
            "AZURE_TOKEN_CREDENTIALS environment variable is required but is not set",
        ),
        (
            "  ",
            {"require_envvar": True},
            "AZURE_TOKEN_CREDENTIALS environment variable is required but is not set",
        ),
        ("AzureCliCredential", {"exclude_cli_credential": True}, "every credential is excluded"),
    ],
)
def test_chain_configuration_errors(flavor, clean, variable, kwargs, error):
    if variable is not None:
        clean.setenv("AZURE_TOKEN_CREDENTIALS", variable)
    with pytest.raises(ValueError, match=error.replace(".", r"\.")):
        flavor.cls("DefaultAzureCredential")(**kwargs)


@pytest.mark.parametrize("value", ["SharedTokenCacheCredential", "BrokerCredential", "bogus"])
def test_invalid_value_lists_every_valid_value(clean, value):
    """azure-identity's list: the shared cache and the broker can't be chosen alone (only through "dev")."""
    clean.setenv("AZURE_TOKEN_CREDENTIALS", value)
    with pytest.raises(ValueError) as info:
        azidentity.DefaultAzureCredential()
    assert str(info.value) == (
        f"Invalid value for AZURE_TOKEN_CREDENTIALS: {value}. "
        "Valid values are: dev, prod, azureclicredential, "
        "azuredeveloperclicredential, azurepowershellcredential, environmentcredential, "
        "interactivebrowsercredential, managedidentitycredential, visualstudiocodecredential, "
        "workloadidentitycredential."
    )
    assert str(info.value).endswith("Valid values are: " + ", ".join(valid_token_credentials()) + ".")
    assert ROWS["dac-invalid-token-credentials"].error in str(info.value)  # the guide row's text


def test_require_envvar_with_a_value(clean):
    clean.setenv("AZURE_TOKEN_CREDENTIALS", "dev")
    assert names(azidentity.DefaultAzureCredential(require_envvar=True)) == DEV


def test_tenant_id_is_refused_like_azure_identity(flavor, clean):
    with pytest.raises(TypeError, match=r"^'tenant_id' is not supported in DefaultAzureCredential\.$"):
        flavor.cls("DefaultAzureCredential")(tenant_id="t")


@pytest.mark.skipif(not HAS_BROWSER, reason="InteractiveBrowserCredential is not built yet")
def test_interactive_browser_is_opt_in_and_last(flavor, clean):
    credential = flavor.make("DefaultAzureCredential", exclude_interactive_browser_credential=False)
    members = names(credential)
    assert members[members.index("AzureDeveloperCliCredential") + 1] == "InteractiveBrowserCredential"
    assert members[-1] == ("InteractiveBrowserCredential" if flavor.is_async else "BrokerCredential")


def test_interactive_browser_skipped_when_not_installed(clean, monkeypatch):
    import importlib as real

    original = real.import_module

    def refuse(name, *args):
        if name.endswith("interactive_browser"):
            raise ImportError("not built")
        return original(name, *args)

    monkeypatch.setattr(real, "import_module", refuse)
    credential = azidentity.DefaultAzureCredential(exclude_interactive_browser_credential=False)
    assert names(credential) == ALL
    entry = next(e for e in credential.plan if e.name == "InteractiveBrowserCredential")
    assert not entry.included and "not available" in entry.reason


# ---- what each member is given ------------------------------------------------------------------------
def members_by_name(credential):
    return {member_name(c): c for c in credential.credentials}


def test_member_arguments(flavor, clean, emulator):
    clean.setenv("AZURE_CLIENT_ID", "00000000-0000-0000-0000-0000000000aa")
    credential = flavor.make(
        "DefaultAzureCredential", process_timeout=3, headers={"x-a": "1"}, managed_identity_probe_timeout=0.25
    )
    m = members_by_name(credential)
    mi = m["ManagedIdentityCredential"]
    assert mi._probe_timeout == 0.25
    assert str(mi._identity) == "client_id 00000000-0000-0000-0000-0000000000aa"  # AZURE_CLIENT_ID by default
    assert mi._pipeline_kwargs.get("headers") == {"x-a": "1"}
    assert m["EnvironmentCredential"]._pipeline_kwargs.get("headers") == {"x-a": "1"}
    for tool in ("AzureCliCredential", "AzurePowerShellCredential", "AzureDeveloperCliCredential"):
        assert m[tool]._process_timeout == 3
        assert "headers" not in m[tool]._pipeline_kwargs  # pipeline keywords don't reach the tools
    # An explicit None forces the system-assigned identity, as in azure-identity.
    system = members_by_name(flavor.make("DefaultAzureCredential", managed_identity_client_id=None))
    assert system["ManagedIdentityCredential"]._identity is None
    chosen = members_by_name(flavor.make("DefaultAzureCredential", managed_identity_client_id="uami-client"))
    assert str(chosen["ManagedIdentityCredential"]._identity) == "client_id uami-client"


def test_shared_cache_vscode_and_broker_arguments(flavor, clean):
    """azure-identity's keywords and the variables it reads for them (AZURE_USERNAME, AZURE_TENANT_ID)."""
    clean.setenv("AZURE_USERNAME", "user@env.test")
    clean.setenv("AZURE_TENANT_ID", "tenant-from-env")
    m = members_by_name(flavor.make("DefaultAzureCredential", headers={"x-a": "1"}))
    shared = m["SharedTokenCacheCredential"]
    assert (shared._username, shared._account_tenant) == ("user@env.test", "tenant-from-env")
    assert shared._pipeline_kwargs.get("headers") == {"x-a": "1"}
    assert shared._msal_cache_name == "msal.cache" and shared._allow_plaintext
    assert m["VisualStudioCodeCredential"]._configured_tenant is None  # the record's tenant by default
    if not flavor.is_async:
        broker = m["BrokerCredential"]
        assert (broker._tenant_id, broker._client_id) == ("tenant-from-env", None)
    m = members_by_name(
        flavor.make(
            "DefaultAzureCredential",
            shared_cache_username="chosen@x.test",
            shared_cache_tenant_id="chosen-tenant",
            visual_studio_code_tenant_id="vscode-tenant",
            broker_tenant_id="broker-tenant",
            broker_client_id="broker-client",
            authority="https://login.microsoftonline.us",
            additionally_allowed_tenants=["t2"],
        )
    )
    shared = m["SharedTokenCacheCredential"]
    assert (shared._username, shared._account_tenant) == ("chosen@x.test", "chosen-tenant")
    assert shared._authority == "https://login.microsoftonline.us"
    assert shared._additionally_allowed_tenants == ["t2"]
    vscode = m["VisualStudioCodeCredential"]
    assert vscode._configured_tenant == "vscode-tenant" and vscode._additionally_allowed_tenants == ["t2"]
    if not flavor.is_async:
        broker = m["BrokerCredential"]
        assert (broker._tenant_id, broker._client_id) == ("broker-tenant", "broker-client")


def test_broker_is_present_and_says_why_it_is_unavailable(clean):
    credential = azidentity.DefaultAzureCredential(exclude_cli_credential=True)
    with pytest.raises(CredentialUnavailableError) as info:
        credential.get_token(SCOPE)
    broker = next(e for n, e in info.value.attempts if n == "BrokerCredential")
    assert str(broker).startswith(
        "BrokerCredential: InteractiveBrowserBrokerCredential unavailable. Brokered authentication is only "
        "supported on Windows and WSL platforms."
    )
    assert broker.mitigation == ROWS["broker-unavailable"].mitigation
    assert "\tBrokerCredential: InteractiveBrowserBrokerCredential unavailable" in str(info.value)


@pytest.mark.parametrize(
    ("variable", "kwargs", "probe"),
    [
        (None, {}, True),
        ("prod", {}, True),
        ("ManagedIdentityCredential", {}, False),  # azure-identity: the variable turns the probe off
        (
            None,
            {
                "exclude_environment_credential": True,
                "exclude_workload_identity_credential": True,
                "exclude_cli_credential": True,
                "exclude_powershell_credential": True,
                "exclude_developer_cli_credential": True,
                "exclude_shared_token_cache_credential": True,
                "exclude_visual_studio_code_credential": True,
                "exclude_broker_credential": True,
            },
            False,
        ),  # only member: nothing to fall back to
    ],
)
def test_managed_identity_probe_setting(clean, variable, kwargs, probe):
    if variable:
        clean.setenv("AZURE_TOKEN_CREDENTIALS", variable)
    credential = azidentity.DefaultAzureCredential(**kwargs)
    assert "ManagedIdentityCredential" in credential._context.members
    assert (len(credential._context.members) > 1) is probe  # managed identity probes when others follow


def test_authority_and_tenants_reach_environment_credential(flavor, clean, emulator):
    app = emulator.apps["secret"]
    for name, value in (
        ("AZURE_TENANT_ID", emulator.tenant_id),
        ("AZURE_CLIENT_ID", app.client_id),
        ("AZURE_CLIENT_SECRET", app.secret),
        ("AZURE_AUTHORITY_HOST", "https://login.invalid"),
    ):
        clean.setenv(name, value)
    other = emulator.other_tenant_id
    credential = flavor.make(
        "DefaultAzureCredential",
        authority=emulator.base_url,
        connection_verify=emulator.ca_bundle_path,
        additionally_allowed_tenants=[other],
    )
    token = flavor.get_token(credential, SCOPE, tenant_id=other)
    assert emulator.verify_token(token.token)["tid"] == other


# ---- construction never fails because of the environment ------------------------------------------------
@pytest.mark.parametrize(
    ("variables", "text"),
    [
        ({"AZURE_CLIENT_SECRET": ""}, "AZURE_CLIENT_SECRET is set but empty"),
        (
            {"AZURE_CLIENT_SECRET": None, "AZURE_CLIENT_CERTIFICATE_PATH": "/no/such/cert.pem"},
            "AZURE_CLIENT_CERTIFICATE_PATH: The certificate file /no/such/cert.pem cannot be read",
        ),
    ],
)
def test_bad_environment_becomes_an_unavailable_line(flavor, clean, emulator, caplog, variables, text):
    caplog.set_level(logging.DEBUG, logger="azidentity")
    base = {
        "AZURE_TENANT_ID": emulator.tenant_id,
        "AZURE_CLIENT_ID": "00000000-0000-0000-0000-0000000000bb",
        "AZURE_CLIENT_SECRET": "x",
    }
    base.update(variables)
    for name, value in base.items():
        if value is not None:
            clean.setenv(name, value)
    credential = flavor.make("DefaultAzureCredential", exclude_workload_identity_credential=True)  # no raise
    assert any(r.levelno == logging.WARNING and text in r.getMessage() for r in caplog.records)
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(credential, SCOPE)
    lines = str(info.value).split("\n")
    assert lines[2] == f"\tEnvironmentCredential: {text}" or lines[2].startswith(
        f"\tEnvironmentCredential: {text}"
    )
    assert lines[3] == f"\t\tMitigation: {ROWS['env-bad-value'].mitigation}"
    # ... and the chain went on to the other members
    assert any(line.startswith("\tAzureDeveloperCliCredential: ") for line in lines)


# ---- the guide's rows ----------------------------------------------------------------------------------
def test_row_dac_failed_nothing_configured(flavor, clean):
    credential = flavor.make("DefaultAzureCredential")
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(credential, SCOPE)
    error = info.value
    lines = str(error).split("\n")
    assert lines[0] == "DefaultAzureCredential failed to acquire a token."
    assert lines[1] == "Attempted credentials:"
    assert [
        line.split(":")[0].strip() for line in lines if line.startswith("\t") and not line.startswith("\t\t")
    ] == for_flavor(flavor, ALL)
    assert lines[-1] == "To diagnose every credential at once, run: azidentity doctor"
    row = ROWS["dac-failed"]
    assert error.mitigation == row.mitigation and error.troubleshooting_anchor == "defaultazurecredential"
    assert error.credential == "DefaultAzureCredential"
    mi_line = next(line for line in lines if line.startswith("\tManagedIdentityCredential: "))
    assert "managed identity timed out" in mi_line or "no response" in mi_line.lower()


def test_row_managed_identity_timed_out(flavor, clean):
    """A host that accepts the connection and never answers: the probe gives up after its timeout."""
    with socket.socket() as blackhole:
        blackhole.bind(("127.0.0.1", 0))
        blackhole.listen(8)
        clean.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", f"http://127.0.0.1:{blackhole.getsockname()[1]}")
        credential = flavor.make("DefaultAzureCredential", managed_identity_probe_timeout=0.3)
        start = time.perf_counter()
        with pytest.raises(CredentialUnavailableError) as info:
            flavor.get_token(credential, SCOPE)
        elapsed = time.perf_counter() - start
    text = str(info.value)
    assert "\tManagedIdentityCredential: managed identity timed out" in text
    row = ROWS["dac-mi-timeout"]
    assert f"\t\tMitigation: {row.mitigation}" in text
    assert "ManagedIdentityCredential directly" in row.mitigation
    assert 0.3 <= elapsed < 0.3 + 1.5, elapsed


def test_row_forbidden_identity_is_logged_once_at_info(flavor, clean, emulator, caplog):
    """The 401/403 row's mitigation: INFO logging says which credential provided the token."""
    caplog.set_level(logging.DEBUG, logger="azidentity")
    for name, value in emulator.env("app-service").items():
        clean.setenv(name, value)
    credential = flavor.make("DefaultAzureCredential")
    for _ in range(3):
        flavor.get_token(credential, SCOPE)
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert messages.count("DefaultAzureCredential authenticated with ManagedIdentityCredential") == 1
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("azidentity")]
    assert "DefaultAzureCredential authenticated with" in ROWS["dac-forbidden"].mitigation


# ---- fail fast --------------------------------------------------------------------------------------
def test_fail_fast_with_nothing_configured(flavor, clean, capsys):
    """IMDS absent (a closed loopback port): the whole chain fails well within the probe timeout + margin."""
    credential = flavor.make("DefaultAzureCredential")  # default probe timeout: 1 s
    start = time.perf_counter()
    with pytest.raises(CredentialUnavailableError):
        flavor.get_token(credential, SCOPE)
    elapsed = time.perf_counter() - start
    with capsys.disabled():
        print(f"\n[{flavor.name}] DefaultAzureCredential failed fast in {elapsed:.3f} s (probe timeout 1 s)")
    assert elapsed < 1.0 + 1.0


def test_fail_fast_when_imds_never_answers(clean, capsys):
    with socket.socket() as blackhole:
        blackhole.bind(("127.0.0.1", 0))
        blackhole.listen(8)
        clean.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", f"http://127.0.0.1:{blackhole.getsockname()[1]}")
        credential = azidentity.DefaultAzureCredential()
        start = time.perf_counter()
        with pytest.raises(CredentialUnavailableError):
            credential.get_token(SCOPE)
        elapsed = time.perf_counter() - start
    with capsys.disabled():
        print(f"\nDefaultAzureCredential failed in {elapsed:.3f} s with IMDS silent (probe timeout 1 s)")
    assert 1.0 <= elapsed < 1.0 + 1.0


# ---- developer tools inside the chain -----------------------------------------------------------------
def test_tool_failures_are_unavailable_inside_the_chain(flavor, clean, tools: harness.Tools):
    tools.mode("fail")
    standalone = flavor.make("AzureCliCredential")
    with pytest.raises(AuthenticationFailedError):
        flavor.get_token(standalone, SCOPE)
    credential = flavor.make("DefaultAzureCredential")
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(credential, SCOPE)
    text = str(info.value)
    assert "\tAzureCliCredential: " in text and "\tAzureDeveloperCliCredential: " in text
    assert "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0" not in text  # the tool's leaked token is redacted
    cli = next(e for n, e in info.value.attempts if n == "AzureCliCredential")
    assert isinstance(cli, CredentialUnavailableError) and isinstance(
        cli.__cause__, AuthenticationFailedError
    )
    assert cli.mitigation == cli.__cause__.mitigation


def test_chain_reaches_the_cli_and_then_sticks_to_it(flavor, clean, tools: harness.Tools, caplog):
    caplog.set_level(logging.INFO, logger="azidentity")
    credential = flavor.make("DefaultAzureCredential")
    token = flavor.get_token(credential, SCOPE)
    assert tools.verify(token.token)["appid"] == tools.emulator.apps["secret"].client_id
    assert "DefaultAzureCredential authenticated with AzureCliCredential" in caplog.text
    assert len(tools.calls("az")) == 1
    flavor.get_token(credential, SCOPE)
    assert len(tools.calls("az")) == 2 and not tools.calls("azd")
    assert credential._successful_credential is members_by_name(credential)["AzureCliCredential"]


# ---- after the first success: that credential, directly ------------------------------------------------
class Scripted:
    def __init__(self, outcomes):
        self.outcomes, self.in_chain = list(outcomes), []

    def get_token(self, *scopes, **kwargs):
        self.in_chain.append(current_chain() is not None)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return AccessToken(outcome, 4102444800)


def test_sticky_after_first_success(clean):
    credential = azidentity.DefaultAzureCredential()
    first = Scripted(
        [CredentialUnavailableError("no", credential="A"), CredentialUnavailableError("no again")]
    )
    second = Scripted(["t1", "t2", AuthenticationFailedError("expired", credential="B")])
    credential.credentials = (first, second)
    assert credential.get_token(SCOPE).token == "t1"
    assert credential.get_token(SCOPE).token == "t2"
    assert first.in_chain == [True]  # not asked again
    assert second.in_chain == [True, False]  # called directly, outside the chain's context
    with pytest.raises(
        AuthenticationFailedError
    ) as info:  # the member's own error, unwrapped (azure-identity)
        credential.get_token(SCOPE)
    assert str(info.value) == "B: expired"


def test_row_dac_stopped_a_configured_credential_that_fails_stops_the_chain(flavor, clean, emulator):
    for name, value in {**emulator.env(), "AZURE_CLIENT_SECRET": "not-the-secret-value"}.items():
        clean.setenv(name, value)
    credential = flavor.make("DefaultAzureCredential", connection_verify=emulator.ca_bundle_path)
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(credential, SCOPE)
    error = info.value
    assert [name for name, _ in error.attempts] == ["EnvironmentCredential"]  # nothing after it was tried
    assert (error.error_code, error.status_code, error.credential) == (
        "AADSTS7000215",
        401,
        "ClientSecretCredential",
    )
    assert error.mitigation == ROWS["AADSTS7000215"].mitigation and error.response is not None
    lines = str(error).split("\n")
    assert (
        lines[2]
        == "\tEnvironmentCredential: ClientSecretCredential authentication failed: AADSTS7000215: "
        + lines[2].split("AADSTS7000215: ", 1)[1]
    )
    assert ROWS["dac-stopped"].anchor == "defaultazurecredential"


def test_a_failed_probe_does_not_disable_managed_identity(flavor, clean, emulator):
    for name, value in emulator.env("imds").items():
        clean.setenv(name, value)
    emulator.faults.add("imds", hang=True, times=1)  # IMDS not ready yet: no answer
    credential = flavor.make("DefaultAzureCredential", managed_identity_probe_timeout=0.3)
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(credential, SCOPE)
    assert "\tManagedIdentityCredential: managed identity timed out" in str(info.value)
    token = flavor.get_token(credential, SCOPE)  # IMDS answers now
    assert emulator.verify_token(token.token)["oid"] == emulator.managed_identities.system.object_id
    assert member_name(credential._successful_credential) == "ManagedIdentityCredential"


def test_pickle_round_trip(flavor, clean):
    import pickle

    credential = flavor.make("DefaultAzureCredential")
    copy = pickle.loads(pickle.dumps(credential))
    assert names(copy) == for_flavor(flavor, ALL) and type(copy) is type(credential)
    assert [e.name for e in copy.plan] == [e.name for e in credential.plan]


def test_workload_identity_in_a_pod(flavor, clean, emulator):
    for name, value in emulator.env("workload-identity").items():
        clean.setenv(name, value)
    credential = flavor.make("DefaultAzureCredential", connection_verify=emulator.ca_bundle_path)
    token = flavor.get_token(credential, SCOPE)
    assert emulator.verify_token(token.token)["appid"] == emulator.apps["workload"].client_id
    assert member_name(credential._successful_credential) == "WorkloadIdentityCredential"


def test_workload_identity_arguments(flavor, clean, tmp_path):
    clean.setenv("AZURE_TENANT_ID", "tenant-from-env")
    clean.setenv("AZURE_CLIENT_ID", "client-from-env")
    clean.setenv("AZURE_FEDERATED_TOKEN_FILE", str(tmp_path / "token"))

    def workload(**kwargs):
        return members_by_name(flavor.make("DefaultAzureCredential", **kwargs))["WorkloadIdentityCredential"]

    default = workload(headers={"x-a": "1"})
    assert (default._tenant_id, default._client_id) == ("tenant-from-env", "client-from-env")
    assert default._pipeline_kwargs.get("headers") == {"x-a": "1"}
    assert default._token_file_path == str(tmp_path / "token")
    assert workload(managed_identity_client_id="mi-client")._client_id == "mi-client"
    chosen = workload(
        managed_identity_client_id="mi-client",
        workload_identity_client_id="wi-client",
        workload_identity_tenant_id="wi-tenant",
        authority="https://login.microsoftonline.us",
        additionally_allowed_tenants=["t2"],
    )
    assert (chosen._client_id, chosen._tenant_id) == ("wi-client", "wi-tenant")
    assert chosen._authority == "https://login.microsoftonline.us"
    assert chosen._additionally_allowed_tenants == ["t2"]


def test_workload_identity_with_a_missing_token_file(flavor, clean, emulator, tmp_path):
    for name, value in emulator.env("workload-identity").items():
        clean.setenv(name, value)
    clean.setenv("AZURE_FEDERATED_TOKEN_FILE", str(tmp_path / "gone"))
    credential = flavor.make("DefaultAzureCredential")
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(credential, SCOPE)
    line = next(x for x in str(info.value).split("\n") if x.startswith("\tWorkloadIdentityCredential: "))
    assert "gone" in line and "No such file" in line
