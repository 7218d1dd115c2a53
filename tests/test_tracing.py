"""Credential spans with the real OpenTelemetry SDK, through azure-core's native tracer and its
OpenTelemetry plugin, sync and async, against the emulator: service principals and users.

(Chains, managed identity and developer tools: test_tracing_chains.py; the CLI and the cost of
tracing when it is off: test_tracing_cli.py.)
"""

from __future__ import annotations

import pytest
from opentelemetry.trace import SpanKind, StatusCode

import canary
from azidentity import AuthenticationFailedError
from tracing_testlib import Spans, app_tracer, assert_credential_span, http_spans, tracing, url

__all__ = ["tracing"]  # the fixture

ARM = "https://management.azure.com/.default"
VAULT = "https://vault.azure.net/.default"


def test_a_token_request_is_a_span_with_the_http_request_under_it(flavor, emulator, tracing: Spans):
    credential = flavor.secret_credential(emulator)
    flavor.get_token(credential, ARM)
    span = tracing.one("ClientSecretCredential.get_token")
    assert_credential_span(span, "ClientSecretCredential", "token")
    assert span.attributes["azidentity.scopes"] == (ARM,)
    assert "azidentity.tenant_id" not in span.attributes  # none was requested
    assert span.parent is None  # nothing around it
    (http,) = http_spans(tracing, span)
    assert http.name == "POST" and http.kind is SpanKind.CLIENT
    assert url(http).startswith(f"{emulator.authority}/{emulator.tenant_id}/oauth2/v2.0/token")
    assert dict(http.attributes)["http.response.status_code"] == 200
    assert span.start_time <= http.start_time and http.end_time <= span.end_time
    assert tracing.names() == ["POST", "ClientSecretCredential.get_token"]


def test_a_cache_hit_makes_no_span(flavor, emulator, tracing: Spans):
    credential = flavor.secret_credential(emulator)
    flavor.get_token(credential, ARM)
    flavor.get_token(credential, ARM, tenant_id=emulator.tenant_id)  # its own cache key
    assert len(tracing.named("ClientSecretCredential.get_token")) == 2
    tracing.clear()
    for _ in range(3):
        flavor.get_token(credential, ARM)
        flavor.get_token_info(credential, ARM)
        flavor.get_token(credential, ARM, tenant_id=emulator.tenant_id)  # the slower hit path
    assert tracing.all == []
    assert emulator.count("token") == 2  # the first, and the one for the explicit tenant


def test_get_token_info_and_the_request_attributes(flavor, emulator, tracing: Spans):
    credential = flavor.secret_credential(emulator, additionally_allowed_tenants=["*"])
    options = {"tenant_id": emulator.tenant_id, "claims": '{"access_token":{"nbf":{"essential":true}}}'}
    flavor.get_token_info(credential, VAULT, options=options)
    span = tracing.one("ClientSecretCredential.get_token_info")
    assert_credential_span(span, "ClientSecretCredential", "token")
    assert span.attributes["azidentity.tenant_id"] == emulator.tenant_id
    assert span.attributes["azidentity.claims_challenge"] is True  # that there was one, not what it said
    assert "essential" not in str(dict(span.attributes))


def test_scopes_lose_query_strings_and_user_info(flavor, emulator, tracing: Spans):
    credential = flavor.secret_credential(emulator)
    # (Not canaries: the error message quotes the scope the caller passed, as it always has.)
    odd = "https://user:hunter2@vault.azure.net/.default?sig=s3cr3t#frag"
    try:
        flavor.get_token(credential, odd)
    except Exception:  # the emulator may refuse the odd scope; the span is what matters
        pass
    (span,) = [s for s in tracing.all if s.name == "ClientSecretCredential.get_token"]
    assert span.attributes["azidentity.scopes"] == ("https://vault.azure.net/.default",)


def test_a_refused_secret_is_an_error_span_with_the_aadsts_code(flavor, emulator, tracing: Spans):
    credential = flavor.secret_credential(emulator, secret="not-the-secret-value")
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(credential, ARM)
    span = tracing.one("ClientSecretCredential.get_token")
    assert_credential_span(span, "ClientSecretCredential", "failed")
    attributes = dict(span.attributes)
    assert attributes["error.type"] == "azidentity.AuthenticationFailedError"
    assert attributes["azidentity.error_code"] == "AADSTS7000215" == info.value.error_code
    assert attributes["azidentity.oauth_error"] == "invalid_client"
    assert span.status.description.startswith("azidentity.AuthenticationFailedError: ClientSecretCredential")
    (event,) = [e for e in span.events if e.name == "exception"]
    assert event.attributes["exception.message"] == str(info.value)
    assert "Traceback" in event.attributes["exception.stacktrace"]
    (http,) = http_spans(tracing, span)
    assert dict(http.attributes)["http.response.status_code"] == 401


def test_spans_nest_under_the_application_span(flavor, emulator, tracing: Spans):
    credential = flavor.secret_credential(emulator)
    with app_tracer().start_as_current_span("handle request") as outer:
        flavor.get_token(credential, ARM)
    assert tracing.tree() == [("handle request", [("ClientSecretCredential.get_token", [("POST", [])])])]
    span = tracing.one("ClientSecretCredential.get_token")
    assert span.parent.span_id == outer.get_span_context().span_id
    assert span.context.trace_id == outer.get_span_context().trace_id


def test_the_http_request_carries_the_trace_context(flavor, emulator, tracing: Spans):
    flavor.get_token(flavor.secret_credential(emulator), ARM)
    (http,) = tracing.named("POST")
    (recorded,) = [r for r in emulator.requests if r.route == "token"]
    traceparent = {k.lower(): v for k, v in recorded.headers.items()}["traceparent"]
    assert traceparent.split("-")[2] == f"{http.context.span_id:016x}"


def test_tracing_options_turned_off_mean_no_spans(flavor, emulator, tracing: Spans):
    from azure.core.settings import settings

    settings.tracing_enabled = False
    flavor.get_token(flavor.secret_credential(emulator), ARM)
    assert tracing.all == []


def test_certificate_credential(flavor, emulator, tracing: Spans):
    app = emulator.apps["cert"]
    credential = flavor.make(
        "CertificateCredential",
        emulator.tenant_id,
        app.client_id,
        app.cert_pem_path,
        authority=emulator.authority,
        connection_verify=emulator.ca_bundle_path,
    )
    flavor.get_token(credential, ARM)
    span = tracing.one("CertificateCredential.get_token")
    assert_credential_span(span, "CertificateCredential", "token")
    assert [s.name for s in http_spans(tracing, span)] == ["POST"]


# -- users --------------------------------------------------------------------------------------------------
def user_credential(flavor, emulator, password=None):
    user, public = emulator.users["alice"], emulator.apps["public"]
    with pytest.warns(DeprecationWarning):
        return flavor.make(
            "UsernamePasswordCredential",
            public.client_id,
            user.username,
            password or user.password,
            tenant_id=emulator.tenant_id,
            authority=emulator.base_url,
            connection_verify=emulator.ca_bundle_path,
        )


def test_username_password(flavor, emulator, tracing: Spans):
    credential = user_credential(flavor, emulator)
    flavor.get_token(credential, ARM)
    span = tracing.one("UsernamePasswordCredential.get_token")
    assert_credential_span(span, "UsernamePasswordCredential", "token")
    assert http_spans(tracing, span)  # every request of the flow under it
    assert all(s.parent.span_id == span.context.span_id for s in tracing.all if s is not span)
    tracing.clear()
    flavor.get_token(credential, ARM)  # cached
    assert tracing.all == []


def test_username_password_refused(flavor, emulator, tracing: Spans):
    credential = user_credential(flavor, emulator, password="wrong-password-value")
    with pytest.raises(AuthenticationFailedError):
        flavor.get_token(credential, ARM)
    span = tracing.one("UsernamePasswordCredential.get_token")
    assert_credential_span(span, "UsernamePasswordCredential", "failed")
    assert span.attributes["azidentity.error_code"] == "AADSTS50126"
    assert span.status.status_code is StatusCode.ERROR


# -- the secret canary reads spans ------------------------------------------------------------------------
def test_the_canary_reads_every_span_attribute_and_event(tracing: Spans):
    planted = {"attribute": "planted-in-an-attribute-0123", "event": "planted-in-an-event-4567"}
    for value in planted.values():
        canary.register_secret(value)
    try:
        with app_tracer().start_as_current_span("canary self-test") as span:
            span.set_attribute("x", planted["attribute"])
            span.add_event("e", {"y": planted["event"]})
        hits = "\n".join(canary.findings())
        assert "span canary self-test: contains a recorded secret (plan" in hits
        assert hits.count("span canary self-test") == 2  # both values, each found
    finally:
        with canary._lock:
            canary._captured[:] = [c for c in canary._captured if c[0] != "span canary self-test"]
        for value in planted.values():
            canary.SECRETS.discard(value)


# -- inside an Azure SDK client's method ------------------------------------------------------------------
class Client:
    """An Azure SDK client method: traced by azure-core's decorator, asking the credential for a token."""

    def __init__(self, credential, flavor):
        self.credential, self.flavor = credential, flavor

    def call(self):
        from azure.core.tracing.decorator import distributed_trace

        @distributed_trace(name_of_span="Client.call")
        def call():
            return self.flavor.get_token(self.credential, ARM)

        return call()


def test_inside_a_client_method(flavor, emulator, tracing: Spans):
    Client(flavor.secret_credential(emulator), flavor).call()
    if tracing.mode == "native":
        assert tracing.tree() == [("Client.call", [("ClientSecretCredential.get_token", [("POST", [])])])]
    else:
        # The plugin records no INTERNAL span nested in an Azure SDK method's span (its rule, for every
        # library): the HTTP request still shows, under the client's span.
        assert tracing.tree() == [("Client.call", [("POST", [])])]


# -- device code: the prompt and the polling, on an emulator whose clock the test moves -------------------
@pytest.fixture(scope="module")
def clocked():
    import conftest
    from azidentity.emulator import Emulator
    from interactive_testlib import Clock

    clock = Clock()
    with Emulator(clock=clock) as emu:
        conftest.register_info(emu.info())
        yield emu, clock


def test_device_code_polls_are_waits_in_its_span(flavor, clocked, tracing: Spans):
    from interactive_testlib import kwargs_for, register_refresh_tokens

    emu, clock = clocked
    emu.reset()
    prompts, waits = [], []

    def prompt(uri, code, expires_on):
        prompts.append(code)

    def sleep(seconds):
        waits.append(seconds)
        clock.advance(seconds)
        if len(waits) == 2:
            emu.approve_device_code(prompts[-1])

    credential = flavor.make(
        "DeviceCodeCredential", **kwargs_for(emu, prompt_callback=prompt, _sleep=sleep, _clock=clock)
    )
    flavor.get_token(credential, ARM)
    register_refresh_tokens(emu, canary)
    span = tracing.one("DeviceCodeCredential.get_token")
    assert_credential_span(span, "DeviceCodeCredential", "token")
    posts = http_spans(tracing, span)
    assert [dict(p.attributes)["http.response.status_code"] for p in posts] == [
        200,
        400,
        200,
    ]  # code, pending, token
    events = [e for e in span.events if e.name == "azidentity.wait"]
    assert [e.attributes["azidentity.wait.seconds"] for e in events] == waits == [5, 5]
    assert prompts[0] not in str(
        [dict(s.attributes) for s in tracing.all]
    )  # the user code stays in the prompt
