"""Spans of chains (ChainedTokenCredential, DefaultAzureCredential), managed identity (the emulator's
IMDS: probe, retries) and developer tools (the stand-ins), sync and async, native tracer and plugin.

No traffic leaves 127.0.0.1: IMDS is the emulator or a closed loopback port.
"""

from __future__ import annotations

import os

import pytest
from opentelemetry.trace import SpanKind, StatusCode

import azidentity
from azidentity import AuthenticationFailedError, CredentialUnavailableError
from managed_identity_testlib import (  # noqa: F401 - fresh_mi_cache is an autouse fixture
    SCOPE,
    Sleeps,
    closed_port,
    fresh_mi_cache,
    in_chain,
    make,
    with_metadata,
    without_metadata,
)
from standins import harness
from tracing_testlib import Spans, assert_credential_span, http_spans, tracing

tools = harness.tools  # the az / azd / pwsh stand-ins, wired to the emulator
__all__ = ["tools", "tracing"]

BUSY = {"error": "temporarily_unavailable", "error_description": "try again later"}
DAC_MEMBERS = [
    "EnvironmentCredential.get_token",
    "WorkloadIdentityCredential.get_token",
    "ManagedIdentityCredential.get_token",
    "SharedTokenCacheCredential.get_token",
    "VisualStudioCodeCredential.get_token",
    "AzureCliCredential.get_token",
    "AzurePowerShellCredential.get_token",
    "AzureDeveloperCliCredential.get_token",
    "BrokerCredential.get_token",  # the sync chain's last member (azure-identity's async chain has none)
]
CLI = DAC_MEMBERS.index("AzureCliCredential.get_token")


def dac_members(flavor):
    return [m for m in DAC_MEMBERS if not (flavor.is_async and m.startswith("BrokerCredential"))]


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


@pytest.fixture
def clean(monkeypatch, tmp_path):
    """No credential configuration; IMDS is a closed loopback port; no tools on PATH."""
    for name in list(os.environ):
        if name.startswith("AZURE_") or name in HOST_VARIABLES:
            monkeypatch.delenv(name)
    (tmp_path / "home").mkdir(exist_ok=True)  # no MSAL cache, no VS Code sign-in record
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    empty = tmp_path / "empty-bin"  # (``tools``, requested after ``clean``, puts the stand-ins there)
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", f"http://127.0.0.1:{closed_port()}")
    return monkeypatch


def chain(flavor, *members):
    return flavor.make("ChainedTokenCredential", *members)


# -- ChainedTokenCredential -------------------------------------------------------------------------------
def test_a_chain_and_each_member_tried(flavor, clean, emulator, tracing: Spans):
    credential = chain(flavor, flavor.make("EnvironmentCredential"), flavor.secret_credential(emulator))
    flavor.get_token(credential, SCOPE)
    assert tracing.tree() == [
        (
            "ChainedTokenCredential.get_token",
            [
                ("EnvironmentCredential.get_token", []),
                ("ClientSecretCredential.get_token", [("POST", [])]),
            ],
        )
    ]
    top = tracing.one("ChainedTokenCredential.get_token")
    assert_credential_span(top, "ChainedTokenCredential", "token")
    assert top.attributes["azidentity.chain.selected"] == "ClientSecretCredential"
    assert top.attributes["azidentity.scopes"] == (SCOPE,)
    environment, secret = tracing.children(top)
    assert_credential_span(environment, "EnvironmentCredential", "unavailable")
    assert environment.attributes["error.type"] == "azidentity.CredentialUnavailableError"
    assert_credential_span(secret, "ClientSecretCredential", "token")
    assert environment.end_time <= secret.start_time  # tried in order, with the times they had
    assert top.start_time <= environment.start_time and secret.end_time <= top.end_time


def test_a_chain_answered_from_a_member_cache_makes_no_span(flavor, clean, emulator, tracing: Spans):
    credential = chain(flavor, flavor.make("EnvironmentCredential"), flavor.secret_credential(emulator))
    flavor.get_token(credential, SCOPE)
    tracing.clear()
    flavor.get_token(credential, SCOPE)
    flavor.get_token_info(credential, SCOPE)
    assert tracing.all == []


def test_get_token_info_names_the_methods_called(flavor, clean, emulator, tracing: Spans):
    credential = chain(flavor, flavor.secret_credential(emulator))
    flavor.get_token_info(credential, SCOPE)
    assert tracing.tree() == [
        ("ChainedTokenCredential.get_token_info", [("ClientSecretCredential.get_token_info", [("POST", [])])])
    ]


def test_a_failing_member_stops_the_chain_and_its_span_says_where(flavor, clean, emulator, tracing: Spans):
    credential = chain(
        flavor,
        flavor.secret_credential(emulator, secret="not-the-secret-value"),
        flavor.secret_credential(emulator),
    )
    with pytest.raises(AuthenticationFailedError):
        flavor.get_token(credential, SCOPE)
    top = tracing.one("ChainedTokenCredential.get_token")
    assert_credential_span(top, "ChainedTokenCredential", "failed")
    assert top.attributes["azidentity.error_code"] == "AADSTS7000215"
    assert "azidentity.chain.selected" not in top.attributes
    (member,) = tracing.children(top)  # the second member was never tried
    assert_credential_span(member, "ClientSecretCredential", "failed")
    assert member.attributes["azidentity.error_code"] == "AADSTS7000215"
    assert [s.name for s in http_spans(tracing, member)] == ["POST"]


def test_every_member_unavailable(flavor, clean, tracing: Spans):
    credential = chain(flavor, flavor.make("EnvironmentCredential"), flavor.make("AzureCliCredential"))
    with pytest.raises(CredentialUnavailableError):
        flavor.get_token(credential, SCOPE)
    # Nothing reached the network or a tool, but the chain failed: the walk is shown.
    assert tracing.tree() == [
        (
            "ChainedTokenCredential.get_token",
            [("EnvironmentCredential.get_token", []), ("AzureCliCredential.get_token", [])],
        )
    ]
    top = tracing.one("ChainedTokenCredential.get_token")
    assert_credential_span(top, "ChainedTokenCredential", "unavailable")
    for member in tracing.children(top):
        assert_credential_span(member, member.name.split(".")[0], "unavailable")


def test_a_chain_inside_a_chain_is_one_span(flavor, clean, emulator, tracing: Spans):
    inner = chain(flavor, flavor.make("EnvironmentCredential"))
    credential = chain(flavor, inner, flavor.secret_credential(emulator))
    flavor.get_token(credential, SCOPE)
    assert tracing.tree() == [
        (
            "ChainedTokenCredential.get_token",
            [
                ("ChainedTokenCredential.get_token", [("EnvironmentCredential.get_token", [])]),
                ("ClientSecretCredential.get_token", [("POST", [])]),
            ],
        )
    ]
    outer = tracing.roots()[0]
    nested = tracing.children(outer)[0]
    assert_credential_span(nested, "ChainedTokenCredential", "unavailable")


def test_a_member_that_is_not_an_azidentity_credential(flavor, clean, emulator, tracing: Spans):
    from azure.core.credentials import AccessToken

    class Static:
        def get_token(self, *scopes, **kwargs):
            return AccessToken("static-token-value-0123456789", 4102444800)

    class AsyncStatic:
        async def get_token(self, *scopes, **kwargs):
            return AccessToken("static-token-value-0123456789", 4102444800)

    failing = flavor.secret_credential(emulator, secret="not-the-secret-value")
    other = AsyncStatic() if flavor.is_async else Static()
    credential = chain(flavor, flavor.make("EnvironmentCredential"), other)
    flavor.get_token(credential, SCOPE)
    assert tracing.all == []  # nothing of ours did work, nothing failed
    credential = chain(flavor, failing, other)
    with pytest.raises(AuthenticationFailedError):
        flavor.get_token(credential, SCOPE)
    assert [s.name for s in tracing.roots()] == ["ChainedTokenCredential.get_token"]


# -- DefaultAzureCredential ---------------------------------------------------------------------------------
def test_default_credential_walk_on_a_developer_machine(flavor, clean, tools, tracing: Spans):
    credential = flavor.make("DefaultAzureCredential")
    token = flavor.get_token(credential, SCOPE)
    assert tools.verify(token.token)
    top = tracing.one("DefaultAzureCredential.get_token")
    assert_credential_span(top, "DefaultAzureCredential", "token")
    assert top.attributes["azidentity.chain.selected"] == "AzureCliCredential"
    members = tracing.children(top)
    assert [m.name for m in members] == DAC_MEMBERS[: CLI + 1]  # it stopped at the CLI
    for member in members[:CLI]:
        assert_credential_span(member, member.name.split(".")[0], "unavailable")
    assert_credential_span(members[CLI], "AzureCliCredential", "token")
    # Managed identity: the probe to (closed) IMDS is an HTTP span that failed.
    (probe,) = tracing.children(members[2])
    assert probe.name == "GET" and probe.kind is SpanKind.CLIENT
    assert probe.status.status_code is StatusCode.ERROR
    assert "timed out" in members[2].status.description or "no response" in members[2].status.description
    # The CLI: the tool run, with its duration and exit code, never its output.
    (run,) = tracing.children(members[CLI])
    assert run.name == "run az" and dict(run.attributes) == {
        "process.executable.name": "az",
        "process.exit.code": 0,
    }
    assert run.events == () or list(run.events) == []
    assert members[CLI].start_time <= run.start_time < run.end_time <= members[CLI].end_time
    # Afterwards the chain uses the CLI directly (as azure-identity does): that credential's span alone.
    tracing.clear()
    flavor.get_token(credential, SCOPE)
    assert tracing.tree() == [("AzureCliCredential.get_token", [("run az", [])])]


def test_default_credential_nothing_configured(flavor, clean, tracing: Spans):
    credential = flavor.make("DefaultAzureCredential")
    with pytest.raises(CredentialUnavailableError):
        flavor.get_token(credential, SCOPE)
    top = tracing.one("DefaultAzureCredential.get_token")
    assert_credential_span(top, "DefaultAzureCredential", "unavailable")
    members = tracing.children(top)
    assert [m.name for m in members] == dac_members(flavor)
    for member in members:
        assert_credential_span(member, member.name.split(".")[0], "unavailable")
    not_found = members[CLI].status.description
    assert "Azure CLI not found on path" in not_found, not_found


def test_default_credential_through_the_environment(flavor, clean, emulator, tracing: Spans):
    for name, value in emulator.env().items():
        clean.setenv(name, value)
    credential = flavor.make("DefaultAzureCredential", connection_verify=emulator.ca_bundle_path)
    flavor.get_token(credential, SCOPE)
    assert tracing.tree() == [
        ("DefaultAzureCredential.get_token", [("EnvironmentCredential.get_token", [("POST", [])])])
    ]


# -- managed identity --------------------------------------------------------------------------------------
def test_managed_identity_retries_are_http_spans_with_waits_between(flavor, emulator, tracing: Spans):
    sleeps = Sleeps()
    emulator.faults.add("imds", status=503, body=BUSY, match=with_metadata, times=2)
    credential = make(flavor, emulator, sleeps=sleeps)
    flavor.get_token(credential, SCOPE)
    span = tracing.one("ManagedIdentityCredential.get_token")
    assert_credential_span(span, "ManagedIdentityCredential", "token")
    requests = http_spans(tracing, span)
    assert [dict(r.attributes)["http.response.status_code"] for r in requests] == [503, 503, 200]
    waits = [e for e in span.events if e.name == "azidentity.wait"]
    assert [e.attributes["azidentity.wait.seconds"] for e in waits] == sleeps and len(sleeps) == 2
    assert requests[0].end_time <= waits[0].timestamp <= requests[1].start_time


def test_managed_identity_probe_in_a_chain(flavor, emulator, tracing: Spans):
    credential = make(flavor, emulator)
    with in_chain():
        flavor.get_token(credential, SCOPE)
    span = tracing.one("ManagedIdentityCredential.get_token")
    probe, request = http_spans(tracing, span)
    assert probe.name == request.name == "GET"
    imds = [r for r in emulator.requests if r.route == "imds"]
    assert without_metadata(imds[0]) and with_metadata(imds[1])  # the first span is the probe


def test_managed_identity_failure(flavor, emulator, tracing: Spans):
    emulator.faults.add("imds", status=500, body=BUSY, times=None)
    credential = make(flavor, emulator, retry_total=1)
    with pytest.raises(AuthenticationFailedError):
        flavor.get_token(credential, SCOPE)
    span = tracing.one("ManagedIdentityCredential.get_token")
    assert_credential_span(span, "ManagedIdentityCredential", "failed")
    assert len(http_spans(tracing, span)) == 2
    assert len([e for e in span.events if e.name == "azidentity.wait"]) == 1


def test_managed_identity_app_service(flavor, emulator, tracing: Spans):
    flavor.get_token(make(flavor, emulator, "app-service"), SCOPE)
    span = tracing.one("ManagedIdentityCredential.get_token")
    assert_credential_span(span, "ManagedIdentityCredential", "token")
    (request,) = http_spans(tracing, span)
    assert "X-IDENTITY-HEADER" not in str(dict(request.attributes)).upper()


# -- developer tools -----------------------------------------------------------------------------------------
TOOLS = [
    ("az", "AzureCliCredential"),
    ("azd", "AzureDeveloperCliCredential"),
    ("pwsh", "AzurePowerShellCredential"),
]


@pytest.mark.parametrize(("tool", "name"), TOOLS)
def test_a_tool_run_is_a_child_span(flavor, tools, tracing: Spans, tool, name):
    flavor.get_token(flavor.make(name), SCOPE)
    span = tracing.one(f"{name}.get_token")
    assert_credential_span(span, name, "token")
    (run,) = tracing.children(span)
    assert run.name == f"run {tool}" and run.kind is SpanKind.INTERNAL
    assert dict(run.attributes) == {"process.executable.name": tool, "process.exit.code": 0}
    assert run.status.status_code is StatusCode.UNSET


@pytest.mark.parametrize(("tool", "name"), TOOLS)
def test_a_failing_tool(flavor, tools, tracing: Spans, tool, name):
    tools.mode("fail")
    with pytest.raises(AuthenticationFailedError):
        flavor.get_token(flavor.make(name), SCOPE)
    span = tracing.one(f"{name}.get_token")
    assert_credential_span(span, name, "failed")
    (run,) = tracing.children(span)
    assert run.status.status_code is StatusCode.ERROR
    assert run.status.description == f"{tool}: exit code {run.attributes['process.exit.code']}"


def test_a_tool_that_never_answers(flavor, tools, tracing: Spans):
    tools.mode("ok", sleep=30)
    with pytest.raises(CredentialUnavailableError):
        flavor.get_token(flavor.make("AzureCliCredential", process_timeout=0.5), SCOPE)
    (run,) = tracing.children(tracing.one("AzureCliCredential.get_token"))
    assert dict(run.attributes) == {"process.executable.name": "az", "azidentity.process.timed_out": True}
    assert run.status.description == "az: no answer within 0.5 s"
    assert 0.4e9 < run.end_time - run.start_time < 10e9


def test_a_tool_that_is_not_installed(flavor, tools, tracing: Spans):
    tools.remove("az")
    with pytest.raises(CredentialUnavailableError):
        flavor.get_token(flavor.make("AzureCliCredential"), SCOPE)
    span = tracing.one("AzureCliCredential.get_token")  # failed before running anything: still a span
    assert_credential_span(span, "AzureCliCredential", "unavailable")
    assert tracing.children(span) == []


def test_sync_credentials_in_threads_keep_their_own_spans(clean, emulator, tracing: Spans):
    from concurrent.futures import ThreadPoolExecutor

    app = emulator.apps["secret"]
    credentials = [
        azidentity.ClientSecretCredential(
            emulator.tenant_id,
            app.client_id,
            app.secret,
            authority=emulator.authority,
            connection_verify=emulator.ca_bundle_path,
        )
        for _ in range(4)
    ]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda c: c.get_token(SCOPE), credentials))
    for credential in credentials:
        credential.close()
    spans = tracing.named("ClientSecretCredential.get_token")
    assert len(spans) == 4
    for span in spans:
        assert span.parent is None and [s.name for s in tracing.children(span)] == ["POST"]


# -- calls that never end normally --------------------------------------------------------------------------
def test_an_async_member_in_a_sync_chain(clean, emulator, tracing: Spans):
    member = azidentity.aio.ClientSecretCredential("tenant", "client", "secret-value-for-nothing")
    credential = azidentity.ChainedTokenCredential(azidentity.EnvironmentCredential(), member)
    with pytest.raises(TypeError, match="async credential"):
        credential.get_token(SCOPE)
    assert tracing.all == []  # nothing did work; the walk was abandoned, not failed
    app = emulator.apps["secret"]
    with azidentity.ClientSecretCredential(
        emulator.tenant_id,
        app.client_id,
        app.secret,
        authority=emulator.authority,
        connection_verify=emulator.ca_bundle_path,
    ) as other:
        other.get_token(SCOPE)
    (span,) = tracing.named("ClientSecretCredential.get_token")
    assert span.parent is None  # the abandoned walk left nothing behind in the context


def test_a_cancelled_request_inside_a_chain(clean, emulator, tracing: Spans):
    import asyncio

    emulator.faults.add("token", hang=True, times=None)
    app = emulator.apps["secret"]

    async def main():
        async with azidentity.aio.ChainedTokenCredential(
            azidentity.aio.EnvironmentCredential(),
            azidentity.aio.ClientSecretCredential(
                emulator.tenant_id,
                app.client_id,
                app.secret,
                authority=emulator.authority,
                connection_verify=emulator.ca_bundle_path,
            ),
        ) as credential:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(credential.get_token(SCOPE), 0.5)

    asyncio.run(main())
    top = tracing.one("ChainedTokenCredential.get_token")
    assert top.attributes["azidentity.outcome"] == "cancelled"
    assert top.attributes["error.type"] == "asyncio.exceptions.CancelledError"
    environment, secret = tracing.children(top)
    assert environment.attributes["azidentity.outcome"] == "unavailable"
    assert secret.name == "ClientSecretCredential.get_token"
    assert secret.attributes["azidentity.outcome"] == "cancelled"
    assert secret.status.status_code is StatusCode.ERROR


def test_callers_sharing_one_failed_attempt(clean, emulator, tracing: Spans):
    import threading

    app = emulator.apps["secret"]
    emulator.faults.add("token", delay=0.3, times=1)  # hold the attempt while the others queue
    credential = azidentity.ClientSecretCredential(
        emulator.tenant_id,
        app.client_id,
        "not-the-secret-value",
        authority=emulator.authority,
        connection_verify=emulator.ca_bundle_path,
    )
    errors = []

    def call():
        try:
            credential.get_token(SCOPE)
        except AuthenticationFailedError as error:
            errors.append(error)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    credential.close()
    assert len(errors) == 6 and emulator.count("token") == 1
    spans = tracing.named("ClientSecretCredential.get_token")
    assert len(spans) == 6  # every call failed, so every call has its span ...
    assert len(tracing.named("POST")) == 1  # ... and the one request sits under the call that made it
    (attempt,) = [s for s in spans if tracing.children(s)]
    assert all(s.attributes["azidentity.outcome"] == "failed" for s in spans)
    assert (
        all(s.parent is None for s in spans)
        and attempt.attributes["azidentity.error_code"] == "AADSTS7000215"
    )
