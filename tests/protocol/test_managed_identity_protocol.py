"""Managed identity's sans-IO core: detection, request builders, parsers, retry decisions, Arc checks.

No sockets here: flows are stepped with next()/send()/throw().
"""

from __future__ import annotations

import calendar
import json
import os
import time

import pytest

from azidentity._protocol.effects import Headers, HttpRequest, HttpResponse, Sleep, TransportError
from azidentity._protocol.managed_identity import arc
from azidentity._protocol.managed_identity import identity as mi_identity
from azidentity._protocol.managed_identity import imds as mi_imds
from azidentity._protocol.managed_identity import requests as mi_requests
from azidentity._protocol.managed_identity import responses as mi_responses
from azidentity._protocol.managed_identity import sources as mi_sources
from azidentity._protocol.managed_identity.retry import (
    GONE_BUDGET,
    IMDS_STATUSES,
    OTHER_STATUSES,
    RetryPolicy,
    connect_failed,
    retry_after,
    send,
)
from managed_identity_testlib import in_chain

NOW = 1_700_000_000.0
REQ = HttpRequest("GET", "http://127.0.0.1:1/metadata/identity/oauth2/token")


def response(status: int, body: bytes | str = b"{}", headers: dict[str, str] | None = None) -> HttpResponse:
    data = body.encode() if isinstance(body, str) else body
    return HttpResponse(status, Headers(headers or {}), data, REQ, "")


# -- detection -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "kind"),
    [
        ({}, mi_sources.IMDS),
        ({"IDENTITY_ENDPOINT": "http://a", "IDENTITY_HEADER": "h"}, mi_sources.APP_SERVICE),
        (
            {
                "IDENTITY_ENDPOINT": "https://a",
                "IDENTITY_HEADER": "h",
                "IDENTITY_SERVER_THUMBPRINT": "ab" * 20,
            },
            mi_sources.SERVICE_FABRIC,
        ),
        ({"IDENTITY_ENDPOINT": "http://a", "IMDS_ENDPOINT": "http://b"}, mi_sources.ARC),
        ({"MSI_ENDPOINT": "http://a", "MSI_SECRET": "s"}, mi_sources.AZURE_ML),
        ({"MSI_ENDPOINT": "http://a"}, mi_sources.CLOUD_SHELL),
        (
            {"AZURE_FEDERATED_TOKEN_FILE": "/f", "AZURE_TENANT_ID": "t", "AZURE_AUTHORITY_HOST": "https://h"},
            mi_sources.WORKLOAD,
        ),
        ({"WEBSITE_SITE_NAME": "site"}, mi_sources.NONE),
        ({"WEBSITE_INSTANCE_ID": "abc"}, mi_sources.NONE),
        ({"IDENTITY_ENDPOINT": "http://a"}, mi_sources.NONE),
        # azure-identity's order: IDENTITY_ENDPOINT wins over MSI_ENDPOINT, MSI_ENDPOINT over workload
        # identity.
        (
            {
                "IDENTITY_ENDPOINT": "http://a",
                "IDENTITY_HEADER": "h",
                "MSI_ENDPOINT": "http://b",
                "MSI_SECRET": "s",
            },
            mi_sources.APP_SERVICE,
        ),
        (
            {
                "MSI_ENDPOINT": "http://a",
                "AZURE_FEDERATED_TOKEN_FILE": "/f",
                "AZURE_TENANT_ID": "t",
                "AZURE_AUTHORITY_HOST": "https://h",
            },
            mi_sources.CLOUD_SHELL,
        ),
    ],
)
def test_detect(env, kind):
    assert mi_sources.detect(env).kind == kind


def test_detect_imds_address_and_pod_identity_override():
    assert mi_sources.detect({}).endpoint == "http://169.254.169.254/metadata/identity/oauth2/token"
    source = mi_sources.detect({"AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:9/"})
    assert source.endpoint == "http://127.0.0.1:9/metadata/identity/oauth2/token"


def test_detect_app_service_without_identity_endpoint_says_not_enabled():
    source = mi_sources.detect({"WEBSITE_SITE_NAME": "contoso", "FUNCTIONS_WORKER_RUNTIME": "python"})
    assert source.problem_key == "mi-app-service-not-enabled"
    assert "managed identity is not enabled for this app" in (source.problem or "")
    assert "contoso" in (source.problem or "")


def test_detect_workload_identity_can_be_excluded():
    env = {"AZURE_FEDERATED_TOKEN_FILE": "/f", "AZURE_TENANT_ID": "t", "AZURE_AUTHORITY_HOST": "https://h"}
    assert mi_sources.detect(env, exclude_workload_identity=True).kind == mi_sources.IMDS


def test_detect_service_fabric_checks_https_and_thumbprint():
    ok = mi_sources.detect(
        {
            "IDENTITY_ENDPOINT": "https://a",
            "IDENTITY_HEADER": "h",
            "IDENTITY_SERVER_THUMBPRINT": "AB:" * 19 + "AB",
        }
    )
    assert ok.thumbprint == "ab" * 20 and ok.problem is None
    bad = mi_sources.detect(
        {"IDENTITY_ENDPOINT": "https://a", "IDENTITY_HEADER": "h", "IDENTITY_SERVER_THUMBPRINT": "xyz"}
    )
    assert bad.problem and "SHA-1" in bad.problem
    http = mi_sources.detect(
        {"IDENTITY_ENDPOINT": "http://a", "IDENTITY_HEADER": "h", "IDENTITY_SERVER_THUMBPRINT": "ab" * 20}
    )
    assert http.problem and "HTTPS" in http.problem


# -- identities ------------------------------------------------------------------------------------------


def identity(client_id, config):
    return mi_identity.identity_from_args(client_id, config).identity


def test_identity_from_args():
    assert identity(None, None) is None
    assert identity("cid", None) == mi_identity.Identity("client_id", "cid")
    assert identity(None, {"object_id": "oid"}) == mi_identity.Identity("object_id", "oid")
    assert identity(None, {"resource_id": "/r"}) == mi_identity.Identity("resource_id", "/r")
    # Wire names from older samples are read as the id they name when no other id is given.
    assert identity(None, {"msi_res_id": "/r"}) == mi_identity.Identity("resource_id", "/r")
    assert identity(None, {"mi_res_id": "/r"}) == mi_identity.Identity("resource_id", "/r")
    assert identity(None, {"clientid": "c"}) == mi_identity.Identity("client_id", "c")
    assert identity(None, {"Object_ID": "o"}) == mi_identity.Identity("object_id", "o")
    # Empty values select nothing (azure-identity's truthiness); unknown keys are dropped.
    assert identity("", {"client_id": ""}) is None
    args = mi_identity.identity_from_args("c", {"bogus": "x", "msi_res_id": "/r"})
    assert args.identity == mi_identity.Identity("client_id", "c") and args.dropped == ("bogus", "msi_res_id")
    assert mi_identity.identity_from_args(None, {"object_id": " "}).blank == "identity_config['object_id']"
    assert mi_identity.identity_from_args(" ", None).blank == "client_id"
    assert mi_identity.identity_from_args(None, {"bogus": "x"}).configured


@pytest.mark.parametrize(
    ("client_id", "config", "text"),
    [
        ("cid", {"object_id": "oid"}, "must not contain any of the following keys"),
        ("cid", {"client_id": ""}, "must not contain any of the following keys"),
        (None, {"object_id": "oid", "resource_id": "/r"}, "more than one"),
    ],
)
def test_identity_config_validation(client_id, config, text):
    with pytest.raises(ValueError, match=text):
        mi_identity.identity_from_args(client_id, config)


def test_cloud_shell_refusals():
    assert mi_identity.cloud_shell_refusal(mi_identity.identity_from_args("c", None)) == (
        "client_id should not be set for cloud shell managed identity."
    )
    refusal = mi_identity.cloud_shell_refusal(mi_identity.identity_from_args(None, {"resource_id": ""}))
    assert refusal == "identity_config must not contain the following keys: client_id, object_id, resource_id"
    assert mi_identity.cloud_shell_refusal(mi_identity.identity_from_args(None, {"msi_res_id": "/r"})) is None


def test_unsupported_identities():
    sf = mi_sources.Source(mi_sources.SERVICE_FABRIC, "https://x")
    message, key = mi_identity.unsupported_identity(sf, mi_identity.Identity("client_id", "c")) or ("", "")
    assert key == "mi-service-fabric-identity" and "Service Fabric" in message
    assert mi_identity.unsupported_identity(sf, None, configured=True) is not None
    assert mi_identity.unsupported_identity(sf, None) is None


def test_supported_identities():
    for kind in (mi_sources.IMDS, mi_sources.APP_SERVICE, mi_sources.ARC, mi_sources.AZURE_ML):
        for ident in ("client_id", "object_id", "resource_id"):
            assert (
                mi_identity.unsupported_identity(
                    mi_sources.Source(kind, "http://x"), mi_identity.Identity(ident, "v")
                )
                is None
            )
    assert (
        mi_identity.unsupported_identity(mi_sources.Source(mi_sources.CLOUD_SHELL, "http://x"), None) is None
    )


# -- requests --------------------------------------------------------------------------------------------


def test_resource_for():
    assert mi_requests.resource_for(("https://vault.azure.net/.default",)) == "https://vault.azure.net"
    assert mi_requests.resource_for(("https://vault.azure.net",)) == "https://vault.azure.net"
    with pytest.raises(ValueError, match="exactly one scope"):
        mi_requests.resource_for(("a/.default", "b/.default"))
    for bad in ("https://x y/.default", "https://x\n/.default", "/.default", "https://x\x7f"):
        with pytest.raises(ValueError):
            mi_requests.resource_for((bad,))


@pytest.mark.parametrize(
    ("kind", "identity", "method", "version", "param", "header"),
    [
        (
            mi_sources.IMDS,
            mi_identity.Identity("resource_id", "/r"),
            "GET",
            "2018-02-01",
            "msi_res_id",
            ("Metadata", "true"),
        ),
        (
            mi_sources.IMDS,
            mi_identity.Identity("object_id", "o"),
            "GET",
            "2018-02-01",
            "object_id",
            ("Metadata", "true"),
        ),
        (
            mi_sources.APP_SERVICE,
            mi_identity.Identity("resource_id", "/r"),
            "GET",
            "2019-08-01",
            "mi_res_id",
            ("X-IDENTITY-HEADER", "sec"),
        ),
        (
            mi_sources.APP_SERVICE,
            mi_identity.Identity("client_id", "c"),
            "GET",
            "2019-08-01",
            "client_id",
            ("X-IDENTITY-HEADER", "sec"),
        ),
        (
            mi_sources.ARC,
            mi_identity.Identity("resource_id", "/r"),
            "GET",
            "2020-06-01",
            "msi_res_id",
            ("Metadata", "true"),
        ),
        (
            mi_sources.AZURE_ML,
            mi_identity.Identity("client_id", "c"),
            "GET",
            "2017-09-01",
            "clientid",
            ("secret", "sec"),
        ),
        (
            mi_sources.AZURE_ML,
            mi_identity.Identity("object_id", "o"),
            "GET",
            "2017-09-01",
            "object_id",
            ("secret", "sec"),
        ),
        (
            mi_sources.AZURE_ML,
            mi_identity.Identity("resource_id", "/r"),
            "GET",
            "2017-09-01",
            "msi_res_id",
            ("secret", "sec"),
        ),
        (mi_sources.SERVICE_FABRIC, None, "GET", "2019-07-01-preview", None, ("Secret", "sec")),
        (mi_sources.CLOUD_SHELL, None, "POST", None, None, ("Metadata", "true")),
    ],
)
def test_token_request_shapes(kind, identity, method, version, param, header):
    source = mi_sources.Source(kind, "http://127.0.0.1:1/token", secret="sec")
    request = mi_requests.token_request(source, "https://r", identity, mi_requests.Timeouts(2, 5))
    assert request.method == method and request.url == "http://127.0.0.1:1/token"
    params = dict(request.params or {})
    assert params.get("api-version") == version
    if kind == mi_sources.CLOUD_SHELL:
        assert request.form == {"resource": "https://r"} and "resource" not in params
    else:
        assert params["resource"] == "https://r"
    if param:
        assert params[param] == identity.value
    assert dict(request.headers)[header[0]] == header[1]
    # Never proxied, no transport retries (the flow retries), explicit timeouts.
    assert request.bypass_proxy and request.retry_total == 0
    assert (request.connection_timeout, request.read_timeout) == (2, 5)


def test_azure_ml_system_identity_sends_the_default_client_id():
    source = mi_sources.Source(mi_sources.AZURE_ML, "http://x", secret="s", default_client_id="default-cid")
    assert (
        dict(mi_requests.token_request(source, "r", None, mi_requests.Timeouts()).params or {})["clientid"]
        == "default-cid"
    )


def test_probe_request_has_no_metadata_header_and_short_timeouts():
    request = mi_imds.probe_request("http://127.0.0.1:1/metadata/identity/oauth2/token", "https://r", 1.0)
    assert "Metadata" not in request.headers
    assert request.retry_total == 0 and request.bypass_proxy
    assert request.connection_timeout == request.read_timeout == 1.0


def test_arc_answer_adds_authorization_and_keeps_the_rest():
    source = mi_sources.Source(mi_sources.ARC, "http://x")
    first = mi_requests.token_request(source, "r", None, mi_requests.Timeouts(1, 2))
    second = mi_requests.with_authorization(first, "k3y")
    assert dict(second.headers)["Authorization"] == "Basic k3y"
    assert second.params == first.params and second.read_timeout == 2 and second.bypass_proxy


# -- responses ---------------------------------------------------------------------------------------------


def test_parse_expires_on_forms():
    assert mi_responses.parse_expires_on(1700000000) == 1700000000
    assert mi_responses.parse_expires_on("1700000000") == 1700000000
    expected = calendar.timegm((2020, 1, 16, 5, 24, 12, 0, 0, 0))
    assert mi_responses.parse_expires_on("1/16/2020 5:24:12 AM +00:00") == expected
    assert mi_responses.parse_expires_on("01/16/2020 05:24:12 +00:00") == expected
    assert mi_responses.parse_expires_on("1/16/2020 5:24:12 PM +00:00") == expected + 12 * 3600
    assert mi_responses.parse_expires_on("1/16/2020 12:00:00 AM +00:00") == calendar.timegm(
        (2020, 1, 16, 0, 0, 0, 0, 0, 0)
    )
    assert mi_responses.parse_expires_on("1/16/2020 07:24:12 +02:00") == expected
    for bad in ("soon", "13/40/2020 5:24:12 +00:00", True, None, "1/16/2020 13:24:12 PM +00:00"):
        with pytest.raises(ValueError):
            mi_responses.parse_expires_on(bad)


def test_parse_token_variants():
    token, _ = mi_responses.parse_token(
        response(200, json.dumps({"access_token": "t", "expires_on": str(int(NOW + 3600))})), NOW
    )
    assert token.token == "t" and token.expires_on == NOW + 3600 and token.refresh_on is None
    token, _ = mi_responses.parse_token(response(200, '{"access_token": "t", "expires_in": "86400"}'), NOW)
    assert token.expires_on == NOW + 86400 and token.refresh_on == NOW + 43200  # half of a long life
    token, _ = mi_responses.parse_token(
        response(200, '{"access_token": "t", "expires_in": 7200, "refresh_in": 600}'), NOW
    )
    assert token.refresh_on == NOW + 600
    date = time.strftime("%m/%d/%Y %I:%M:%S %p +00:00", time.gmtime(NOW + 3600))
    token, _ = mi_responses.parse_token(
        response(200, json.dumps({"access_token": "t", "expires_on": date})), NOW
    )
    assert token.expires_on == NOW + 3600


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ("<html></html>", "not a JSON object"),
        ("[]", "not a JSON object"),
        ('{"expires_in": 3600}', "no access_token"),
        ('{"access_token": "t"}', "neither expires_on nor expires_in"),
        ('{"access_token": "t", "expires_on": "tomorrow"}', "unreadable"),
        ('{"access_token": "t", "expires_on": 5}', "not a usable token lifetime"),
    ],
)
def test_parse_token_problems(body, text):
    with pytest.raises(mi_responses.BadTokenResponse, match=text):
        mi_responses.parse_token(response(200, body), NOW)


def test_not_imds_reason():
    docker = response(
        403,
        "connecting to 169.254.169.254:80: ... A socket operation was attempted to an unreachable network.",
        {"Content-Type": "text/plain"},
    )
    assert "Docker" in (mi_imds.not_imds_reason(docker) or "")
    assert "Docker" in (mi_imds.not_imds_reason(docker, probe=True) or "")
    html = response(200, "<html><body>proxy</body></html>", {"Content-Type": "text/html"})
    assert "HTML" in (mi_imds.not_imds_reason(html) or "")
    text = response(404, "no azure identity found")
    assert mi_imds.not_imds_reason(text) == "a body that is not JSON"
    assert mi_imds.not_imds_reason(text, probe=True) is None
    assert mi_imds.not_imds_reason(response(400, '{"error": "invalid_request"}')) is None
    assert mi_imds.not_imds_reason(response(500, b"")) is None


def test_message_of_reads_each_host_shape():
    assert (
        mi_responses.message_of(response(400, '{"error": "x", "error_description": "Identity not found"}'))
        == "Identity not found"
    )
    assert mi_responses.message_of(response(400, '{"statusCode": 400, "message": "bad"}')) == "bad"
    assert mi_responses.message_of(response(400, '{"error": {"code": "c", "message": "sf"}}')) == "sf"
    assert mi_responses.message_of(response(400, "plain")) == ""


# -- retries ---------------------------------------------------------------------------------------------


def test_backoff_sequence_and_bounds():
    policy = RetryPolicy()
    assert [policy.backoff(n) for n in range(1, 6)] == [0.8, 1.6, 3.2, 6.4, 12.8]
    assert sum(policy.backoff(n) for n in range(1, 6)) <= 30
    assert RetryPolicy(backoff_max=2).backoff(5) == 2


def test_retry_after_forms():
    assert retry_after(response(429, headers={"Retry-After": "7"}), NOW) == 7
    assert retry_after(response(429, headers={"retry-after-ms": "1500"}), NOW) == 1.5
    assert retry_after(response(429, headers={"x-ms-retry-after-ms": "250"}), NOW) == 0.25
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(NOW + 30))
    assert retry_after(response(429, headers={"Retry-After": date}), NOW) == pytest.approx(30)
    assert retry_after(response(429, headers={"Retry-After": "garbage"}), NOW) is None
    assert retry_after(response(429), NOW) is None


def run(flow, answers):
    """Step a send() flow: ``answers`` are responses or TransportErrors for each request."""
    requests, sleeps = 0, []
    effect = next(flow)
    answers = list(answers)
    try:
        while True:
            if isinstance(effect, Sleep):
                sleeps.append(effect.seconds)
                effect = flow.send(None)
                continue
            requests += 1
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
            effect = flow.throw(answer) if isinstance(answer, Exception) else flow.send(answer)
    except StopIteration as stop:
        return stop.value, requests, sleeps


def imds_policy(**kw):
    return RetryPolicy(statuses=IMDS_STATUSES, gone_budget=GONE_BUDGET, **kw)


def test_imds_retries_5xx_five_times_then_stops():
    outcome, requests, sleeps = run(send(REQ, imds_policy(), lambda: NOW), [response(500)])
    assert requests == 6 and sleeps == [0.8, 1.6, 3.2, 6.4, 12.8]
    assert outcome.response.status == 500 and outcome.attempts == 6 and outcome.slept == pytest.approx(24.8)


@pytest.mark.parametrize("status", [404, 429, 500, 503, 504])
def test_imds_retryable_statuses_then_success(status):
    outcome, requests, sleeps = run(send(REQ, imds_policy(), lambda: NOW), [response(status), response(200)])
    assert requests == 2 and sleeps == [0.8] and outcome.response.status == 200


@pytest.mark.parametrize("status", [400, 401, 403])
def test_imds_does_not_retry_client_errors(status):
    outcome, requests, sleeps = run(send(REQ, imds_policy(), lambda: NOW), [response(status)])
    assert requests == 1 and sleeps == []


def test_410_is_retried_for_at_least_70_seconds():
    outcome, requests, sleeps = run(send(REQ, imds_policy(), lambda: NOW), [response(410)])
    assert sum(sleeps) >= 70 and sum(sleeps) <= 75
    assert sleeps == [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, pytest.approx(19.6)]
    assert requests == len(sleeps) + 1 and outcome.response.status == 410


def test_410_budget_is_off_when_the_user_sets_retry_total():
    _, requests, sleeps = run(send(REQ, RetryPolicy(2, IMDS_STATUSES), lambda: NOW), [response(410)])
    assert requests == 3 and sleeps == [0.8, 1.6]


def test_retry_after_is_honoured_and_capped():
    _, _, sleeps = run(
        send(REQ, imds_policy(budget=120), lambda: NOW),
        [
            response(429, headers={"Retry-After": "7"}),
            response(429, headers={"Retry-After": "3600"}),
            response(200),
        ],
    )
    assert sleeps == [7, 60]
    # Within the default 30 s budget the capped 60 s wait doesn't fit: the loop ends instead.
    outcome, _, sleeps = run(
        send(REQ, imds_policy(), lambda: NOW),
        [response(429, headers={"Retry-After": "7"}), response(429, headers={"Retry-After": "3600"})],
    )
    assert sleeps == [7] and outcome.budget_spent and outcome.response.status == 429


def test_retry_total_zero_disables_retries():
    _, requests, sleeps = run(
        send(REQ, RetryPolicy(0, IMDS_STATUSES, gone_budget=70), lambda: NOW), [response(410)]
    )
    assert requests == 1 and sleeps == []


def test_other_hosts_retry_429_and_5xx_three_times():
    policy = RetryPolicy(3, OTHER_STATUSES)
    _, requests, sleeps = run(send(REQ, policy, lambda: NOW), [response(503)])
    assert requests == 4 and sleeps == [0.8, 1.6, 3.2]
    _, requests, _ = run(send(REQ, policy, lambda: NOW), [response(404)])
    assert requests == 1


def refused() -> TransportError:
    error = TransportError(REQ, "connection refused")
    error.__cause__ = ConnectionRefusedError(111, "Connection refused")
    return error


def test_transport_failures_are_retried_and_reported():
    timeout = TransportError(REQ, "read timed out", timeout=True)
    outcome, requests, sleeps = run(send(REQ, imds_policy(), lambda: NOW), [timeout])
    assert requests == 6 and outcome.error is timeout and outcome.response is None and not outcome.answered
    outcome, requests, _ = run(send(REQ, imds_policy(), lambda: NOW), [timeout, response(200)])
    assert requests == 2 and outcome.response.status == 200


def test_connect_failure_ends_at_once_unless_the_endpoint_answered_before():
    assert connect_failed(refused()) and not connect_failed(TransportError(REQ, "reset"))
    outcome, requests, sleeps = run(
        send(REQ, imds_policy(), lambda: NOW, retry_connect_failures=False), [refused()]
    )
    assert requests == 1 and sleeps == []
    outcome, requests, sleeps = run(
        send(REQ, imds_policy(), lambda: NOW, retry_connect_failures=False),
        [response(500), refused(), response(200)],
    )
    assert requests == 3 and outcome.response.status == 200 and outcome.answered


def test_certificate_rejections_are_not_retried():
    import ssl

    error = TransportError(REQ, "tls")
    error.__cause__ = ssl.SSLCertVerificationError("pin")
    _, requests, _ = run(send(REQ, RetryPolicy(3, OTHER_STATUSES), lambda: NOW), [error])
    assert requests == 1


# -- Azure Arc ----------------------------------------------------------------------------------------------


def test_arc_challenge_parsing():
    assert (
        arc.challenge_path(response(401, headers={"WWW-Authenticate": "Basic realm=/d/a.key"})) == "/d/a.key"
    )
    assert (
        arc.challenge_path(response(401, headers={"www-authenticate": 'basic REALM="/d/a.key"'}))
        == "/d/a.key"
    )
    for header, text in (
        (None, "Did not receive a value"),
        ("Bearer x", "correct value"),
        ("Basic realm=", "empty"),
    ):
        with pytest.raises(arc.KeyFileProblem, match=text):
            arc.challenge_path(response(401, headers={"WWW-Authenticate": header} if header else {}))


def test_arc_default_token_directories():
    assert arc.default_token_dir("posix", "linux", {}) == "/var/opt/azcmagent/tokens"
    assert arc.default_token_dir("nt", "win32", {"PROGRAMDATA": "C:\\ProgramData"}).endswith("Tokens")
    with pytest.raises(arc.KeyFileProblem, match="PROGRAMDATA"):
        arc.default_token_dir("nt", "win32", {})
    with pytest.raises(arc.KeyFileProblem, match="not supported"):
        arc.default_token_dir("posix", "darwin", {})


def test_arc_key_path_checks(tmp_path):
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    good = tokens / "a.key"
    good.write_text("k")
    assert arc.check_key_path(str(good), str(tokens)) == os.path.realpath(good)
    outside = tmp_path / "b.key"
    outside.write_text("k")
    (tokens / "link.key").symlink_to(outside)
    (tokens / "txt.key").symlink_to(tokens / "notes.txt")
    cases = {
        str(outside): "not in the agent's token directory",
        f"{tokens}/../b.key": "not in the agent's token directory",
        str(tokens / "link.key"): "resolves to",
        str(tokens / "notes.txt"): "'.key' extension",
        str(tokens / "txt.key"): "'.key' extension",
        "a.key": "not absolute",
        str(tokens / "sub" / "c.key"): "not in the agent's token directory",
    }
    for path, text in cases.items():
        with pytest.raises(arc.KeyFileProblem, match=text):
            arc.check_key_path(path, str(tokens))


def test_arc_key_size():
    arc.check_key_size(4096)
    with pytest.raises(arc.KeyFileProblem, match="4096"):
        arc.check_key_size(4097)
    with pytest.raises(arc.KeyFileProblem, match="empty"):
        arc.check_key_size(0)


def test_arc_identity_echo():
    assert arc.confirms_identity({"client_id": "ABC"}, mi_identity.Identity("client_id", "abc"))
    assert arc.confirms_identity({"msi_res_id": "/R"}, mi_identity.Identity("resource_id", "/r"))
    assert arc.confirms_identity({"Object_Id": "o"}, mi_identity.Identity("object_id", "o"))
    assert not arc.confirms_identity({"client_id": "other"}, mi_identity.Identity("client_id", "abc"))
    assert not arc.confirms_identity({}, mi_identity.Identity("object_id", "o"))


# -- the credential's flow, stepped without I/O ------------------------------------------------------------


def test_credential_flow_steps_probe_then_token_request():
    import json as _json

    from azidentity import ManagedIdentityCredential
    from azidentity._credential import TokenRequest

    credential = ManagedIdentityCredential(
        _env={"AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:1"}, _clock=lambda: NOW
    )
    flow = credential._flow(TokenRequest(("https://vault.azure.net/.default",)))
    with in_chain():  # the probe is decided when the flow starts
        probe = next(flow)
    assert isinstance(probe, HttpRequest) and "Metadata" not in probe.headers and probe.read_timeout == 1.0
    request = flow.send(response(400, '{"error": "bad_request_102"}'))  # any IMDS answer: present
    assert (
        dict(request.headers)["Metadata"] == "true"
        and dict(request.params)["resource"] == "https://vault.azure.net"
    )
    assert flow.send(response(503, "{}")) == Sleep(0.8)
    again = flow.send(None)  # the same request, its whole-request deadline cut to what's left of 30 s
    assert again.replace(total_timeout=None) == request.replace(total_timeout=None)
    assert request.total_timeout == 30.0 and again.total_timeout <= 30.0 - 0.8
    body = _json.dumps({"access_token": "tok", "expires_in": "3600", "token_type": "Bearer"})
    with pytest.raises(StopIteration) as stop:
        flow.send(response(200, body))
    assert stop.value.value.token == "tok" and stop.value.value.expires_on == NOW + 3600
    # The probe's success is remembered: the next flow starts with the token request.
    flow = credential._flow(TokenRequest(("https://vault.azure.net/.default",)))
    assert dict(next(flow).headers).get("Metadata") == "true"


def test_credential_flow_probe_without_answer_is_unavailable():
    from azidentity import CredentialUnavailableError, ManagedIdentityCredential
    from azidentity._credential import TokenRequest

    credential = ManagedIdentityCredential(_env={})
    flow = credential._flow(TokenRequest(("https://vault.azure.net/.default",)))
    with in_chain():
        probe = next(flow)
    assert probe.url == "http://169.254.169.254/metadata/identity/oauth2/token"  # stepped: nothing is sent
    with pytest.raises(CredentialUnavailableError, match="managed identity timed out"):
        flow.throw(TransportError(probe, "timed out", timeout=True))
    assert not credential._imds_confirmed
