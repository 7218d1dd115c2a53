"""Property-based tests (hypothesis): every parser and validator takes arbitrary input.

The contract under test: a parser returns a well-formed value or raises one of azidentity's
documented errors (``CredentialUnavailableError``, ``AuthenticationFailedError``; ``ValueError`` /
``TypeError`` for bad arguments) whose message names what is wrong. Nothing else escapes: no
``KeyError``, ``OverflowError``, ``RecursionError``, no endless retry loop.

Responses are fed to the credentials' real flows (stepped by hand: no sockets), so the whole path
from bytes to token or error is exercised, the error rendering included. Examples per property are
kept modest (``PROFILE``) so the module runs in seconds; ``tests/fuzz`` searches longer.
"""

from __future__ import annotations

import base64
import json
import math
import os
import tempfile
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import azidentity
from azidentity import AuthenticationFailedError, CredentialUnavailableError
from azidentity._authority import normalize_authority, resolve_tenant, validate_tenant_id
from azidentity._credential import CHAIN, ChainContext, TokenRequest
from azidentity._protocol import (
    azure_cli,
    azure_developer_cli,
    azure_powershell,
    entra,
    federated,
)
from azidentity._protocol import (
    developer_tool as tool_protocol,
)
from azidentity._protocol.certificate import load_certificate
from azidentity._protocol.effects import (
    Headers,
    HttpRequest,
    HttpResponse,
    ProcessResult,
    Sleep,
    TransportError,
)
from azidentity._protocol.managed_identity import arc
from azidentity._protocol.managed_identity import imds as mi_imds
from azidentity._protocol.managed_identity import requests as mi_requests
from azidentity._protocol.managed_identity import responses as mi_responses
from azidentity._protocol.managed_identity.retry import (
    IMDS_STATUSES,
    OTHER_STATUSES,
    RetryPolicy,
    retry_after_from,
    send,
)
from azidentity._redact import redact_text
from azidentity._token import Token

# AZIDENTITY_HYPOTHESIS_EXAMPLES=2000 (make fuzz does) searches longer than the suite's default.
_EXAMPLES = int(os.environ.get("AZIDENTITY_HYPOTHESIS_EXAMPLES", "100"))
PROFILE = settings(
    max_examples=_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FEW = settings(PROFILE, max_examples=max(_EXAMPLES * 2 // 5, 10))
DOCUMENTED = (CredentialUnavailableError, AuthenticationFailedError)
SCOPE = "https://management.azure.com/.default"
MAX_STEPS = 300  # no flow may take more effects than this (retries are bounded)

# -- strategies ---------------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
numberish = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**8),
    st.integers(min_value=10**15, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.none(),
    st.booleans(),
    json_values,
    st.sampled_from(
        [
            "3600",
            " 3599 ",
            "1e999",
            "NaN",
            "-1",
            "0",
            "86400.5",
            "99" * 300,
            "12/31/2030 11:59:59 PM +00:00",
            "1/1/0001 0:00:00",
            "13/45/2030 25:61:61 PM",
            "2/29/2023 1:00:00 AM",
            "1/1/9999 11:59:59 PM -23:59",
        ]
    ),
)
token_fields = st.fixed_dictionaries(
    {},
    optional={
        "access_token": st.one_of(st.just("eyJ0eXAiOiJKV1QifQ.e30.c2ln"), st.text(max_size=8), json_values),
        "expires_in": numberish,
        "expires_on": numberish,
        "refresh_in": numberish,
        "ext_expires_in": numberish,
        "token_type": st.one_of(st.just("Bearer"), json_values),
        "error": st.one_of(
            st.sampled_from(["invalid_client", "invalid_grant", "invalid_request"]), json_values
        ),
        "error_description": st.one_of(
            st.text(max_size=60), st.just("AADSTS7000215: Invalid client secret.\r\nTrace"), json_values
        ),
        "error_codes": st.one_of(
            st.lists(st.integers(min_value=-(2**70), max_value=2**70), max_size=3), json_values
        ),
        "correlation_id": json_values,
        "trace_id": json_values,
        "timestamp": json_values,
        "message": json_values,
        "client_id": json_values,
        "msi_res_id": json_values,
    },
)


def _deep(n: int) -> bytes:
    return b"[" * n + b"]" * n


bodies = st.one_of(
    token_fields.map(lambda d: json.dumps(d).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=120),
    st.text(max_size=120).map(str.encode),
    st.integers(min_value=1, max_value=200_000).map(_deep),
    st.sampled_from(
        [
            b"",
            b"<html><body>proxy</body></html>",
            b"{",
            b'{"access_token": "x", "expires_in": 36',
            b"no azure identity found for request clientID",
            b"\xff\xfe{}",
        ]
    ),
)
header_values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "0",
            "1",
            "60",
            "999999",
            "1e999",
            "inf",
            "-inf",
            "nan",
            "NaN",
            "-5",
            "Tue, 29 Feb 2000 00:00:00 GMT",
            "Fri, 31 Dec 9999 23:59:59 GMT",
            "application/json",
            "text/html",
            'Basic realm="/nonexistent/a.key"',
            "Basic realm=",
            "Bearer realm=x",
        ]
    ),
)
headers = st.dictionaries(
    st.sampled_from(
        [
            "Retry-After",
            "retry-after-ms",
            "x-ms-retry-after-ms",
            "Content-Type",
            "WWW-Authenticate",
            "Location",
            "x-vss-e2eid",
            "x-msedge-ref",
        ]
    ),
    header_values,
    max_size=4,
)
statuses = st.one_of(
    st.sampled_from([200, 200, 200, 400, 401, 403, 404, 410, 429, 500, 502, 503, 504, 302]),
    st.integers(min_value=100, max_value=599),
)
responses = st.tuples(statuses, headers, bodies, st.booleans())  # (..., truncated)
# An answer is a response or "no response" (a transport error; timeout or refused).
answers = st.one_of(responses, st.sampled_from(["timeout", "refused", "reset"]))


def _answer(request: HttpRequest, answer: Any) -> HttpResponse | TransportError:
    if isinstance(answer, str):
        error = TransportError(
            request, f"{request.method} {request.url_without_query}: {answer}", timeout=answer == "timeout"
        )
        if answer == "refused":
            error.__cause__ = ConnectionRefusedError(111, "Connection refused")
        return error
    status, hdrs, body, truncated = answer
    return HttpResponse(status, Headers(hdrs), body, request, "Reason", truncated=truncated and len(body) > 0)


def drive(flow: Any, answers: list[Any]) -> Any:
    """Step a flow: each HttpRequest gets the next answer (the last repeats), Sleep gets None."""
    value: Any = None
    error: BaseException | None = None
    for step in range(MAX_STEPS):
        try:
            effect = flow.throw(error) if error is not None else flow.send(value)
        except StopIteration as stop:
            return stop.value
        value, error = None, None
        if isinstance(effect, HttpRequest):
            outcome = _answer(effect, answers[min(step, len(answers) - 1)] if answers else "refused")
            if isinstance(outcome, TransportError):
                error = outcome
            else:
                value = outcome
        elif not isinstance(effect, Sleep):
            raise AssertionError(f"unexpected effect {effect!r}")
    raise AssertionError(f"the flow took more than {MAX_STEPS} effects: its retries are not bounded")


def check_outcome(
    run: Any, credential: str, now: float, translate: Any = None, latest: float = 366 * 24 * 3600
) -> Any:
    """``run()`` returns a sane token or raises a documented error that names the credential.

    ``translate``: the credential's ``_translate``, which ``get_token`` applies to a flow's escaping
    TransportError (Entra flows leave "no response" to it); nothing else may need translating.
    """
    try:
        try:
            token = run()
        except TransportError as error:
            assert translate is not None, f"a TransportError escaped: {error}"
            raise translate(error) from error
    except DOCUMENTED as error:
        text = str(error)
        assert text.strip(), "an error without a message"
        assert credential in text, text[:300]
        return error
    assert isinstance(token, Token), token
    assert isinstance(token.token, str) and token.token
    assert now < token.expires_on <= now + latest, token
    assert token.refresh_on is None or token.refresh_on < token.expires_on
    return token


@contextmanager
def chain(enabled: bool) -> Any:
    """As a chain of two calls its members (enabled), or standalone."""
    marker = CHAIN.set(ChainContext("ChainedTokenCredential", ("A", "B")) if enabled else None)
    try:
        yield
    finally:
        CHAIN.reset(marker)


# -- Entra ID token responses -------------------------------------------------------------------------


@PROFILE
@given(answer=answers)
def test_entra_token_response(answer: Any) -> None:
    credential = azidentity.ClientSecretCredential(
        "tenant", "client", "not-a-real-secret-value", authority="https://127.0.0.1:1"
    )
    now = time.time()
    outcome = check_outcome(
        lambda: drive(credential._flow(TokenRequest((SCOPE,))), [answer]),
        "ClientSecretCredential",
        now,
        credential._translate,
    )
    if isinstance(answer, tuple) and answer[0] == 200 and isinstance(outcome, AuthenticationFailedError):
        # A 200 without a token says which part is wrong.
        assert any(word in str(outcome) for word in ("access_token", "expires_in", "unexpected response")), (
            str(outcome)
        )


@PROFILE
@given(status=statuses, hdrs=headers, body=bodies, truncated=st.booleans())
def test_entra_parser_directly(status: int, hdrs: dict[str, str], body: bytes, truncated: bool) -> None:
    now = 1_700_000_000.0
    response = HttpResponse(
        status, Headers(hdrs), body, HttpRequest("POST", "https://h/t/oauth2/v2.0/token"), truncated=truncated
    )
    check_outcome(lambda: entra.parse_token_response(response, credential="X", now=now)[0], "X", now)


@PROFILE
@given(
    claims=st.one_of(
        st.text(max_size=60), json_values.map(json.dumps), st.integers(1, 100_000).map(lambda n: "[" * n)
    ),
    cae=st.booleans(),
)
def test_claims_challenges(claims: str, cae: bool) -> None:
    try:
        merged = entra.merge_claims(claims, cae)
    except ValueError as error:
        assert "claims must be a JSON object" in str(error)
        return
    if cae:
        assert json.loads(merged or "{}")["access_token"]["xms_cc"] == {"values": ["CP1"]} or isinstance(
            json.loads(merged or "{}").get("access_token"), (list, str, int, float, bool, type(None))
        )


# -- Azure Pipelines and workload identity (a federated assertion, then Entra) -------------------------


@FEW
@given(oidc=answers, token=answers)
def test_pipelines_responses(oidc: Any, token: Any) -> None:
    credential = azidentity.AzurePipelinesCredential(
        tenant_id="tenant",
        client_id="client",
        service_connection_id="connection",
        system_access_token="not-a-real-system-token",
        authority="https://127.0.0.1:1",
    )
    with mock.patch.dict(os.environ, {"SYSTEM_OIDCREQUESTURI": "https://127.0.0.1:1/oidc"}):
        check_outcome(
            lambda: drive(credential._flow(TokenRequest((SCOPE,))), [oidc, token]),
            "AzurePipelinesCredential",
            time.time(),
            credential._translate,
        )


@FEW
@given(
    assertion=st.one_of(
        st.text(max_size=80),
        st.builds(
            lambda h, p: f"{h}.{base64.urlsafe_b64encode(p).decode()}.sig",
            st.text(max_size=10),
            st.one_of(
                json_values.map(lambda v: json.dumps(v).encode()),
                st.binary(max_size=40),
                st.integers(1, 50_000).map(_deep),
            ),
        ),
    ),
    answer=answers,
)
def test_workload_identity_assertions_and_responses(assertion: str, answer: Any) -> None:
    federated.unverified_claims(assertion)  # never raises
    assert federated.describe(assertion, "the token file")
    with tempfile.NamedTemporaryFile(
        "w", suffix=".jwt", delete=False, encoding="utf-8", errors="surrogatepass"
    ) as file:
        file.write(assertion)
    try:
        credential = azidentity.WorkloadIdentityCredential(
            tenant_id="tenant", client_id="client", token_file_path=file.name, authority="https://127.0.0.1:1"
        )
        check_outcome(
            lambda: drive(credential._flow(TokenRequest((SCOPE,))), [answer]),
            "WorkloadIdentityCredential",
            time.time(),
            credential._translate,
        )
    finally:
        os.unlink(file.name)


# -- managed identity: every host's responses -----------------------------------------------------------

_ARC_DIR = tempfile.mkdtemp(prefix="azidentity-reliability-arc-")
with open(os.path.join(_ARC_DIR, "good.key"), "w") as _key:
    _key.write("0123456789abcdef")
HOST_ENV = {
    "imds": {"AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:1"},
    "app-service": {
        "IDENTITY_ENDPOINT": "http://127.0.0.1:1/msi/token",
        "IDENTITY_HEADER": "not-a-real-header",
    },
    "arc": {"IDENTITY_ENDPOINT": "http://127.0.0.1:1/arc", "IMDS_ENDPOINT": "http://127.0.0.1:1"},
    "service-fabric": {
        "IDENTITY_ENDPOINT": "https://127.0.0.1:1/sf",
        "IDENTITY_HEADER": "not-a-real-sf-secret",
        "IDENTITY_SERVER_THUMBPRINT": "ab" * 20,
    },
    "cloud-shell": {"MSI_ENDPOINT": "http://127.0.0.1:1/cs"},
    "azure-ml": {"MSI_ENDPOINT": "http://127.0.0.1:1/ml", "MSI_SECRET": "not-a-real-ml-secret"},
}
arc_challenges = st.tuples(
    st.just(401),
    st.fixed_dictionaries(
        {
            "WWW-Authenticate": st.one_of(
                st.sampled_from(
                    [
                        f"Basic realm={os.path.join(_ARC_DIR, 'good.key')}",
                        f'Basic realm="{os.path.join(_ARC_DIR, "good.key")}"',
                        f"Basic realm={os.path.join(_ARC_DIR, '..', 'good.key')}",
                        f"Basic realm={_ARC_DIR}/missing.key",
                        "Basic realm=/etc/passwd",
                        "Basic realm=relative.key",
                        "Basic realm=/etc/shadow.key",
                        "Basic realm=\x00.key",
                        "Basic",
                        "Digest realm=x",
                    ]
                ),
                st.text(max_size=40),
            )
        }
    ),
    st.just(b"{}"),
    st.just(False),
)


@PROFILE
@given(
    host=st.sampled_from(sorted(HOST_ENV)),
    first=st.one_of(answers, arc_challenges),
    rest=st.lists(answers, min_size=1, max_size=4),
    in_chain=st.booleans(),
    identity=st.sampled_from(
        [
            None,
            {"client_id": "11111111-1111-1111-1111-111111111111"},
            {"object_id": "o"},
            {"resource_id": "/subscriptions/x"},
        ]
    ),
)
def test_managed_identity_host_responses(
    host: str, first: Any, rest: list[Any], in_chain: bool, identity: dict[str, str] | None
) -> None:
    if host == "cloud-shell" and identity:  # a ValueError at construction, as in azure-identity
        with pytest.raises(ValueError, match="cloud shell|identity_config must not contain"):
            azidentity.ManagedIdentityCredential(_env=HOST_ENV[host], identity_config=identity)
        return
    credential = azidentity.ManagedIdentityCredential(
        _env=HOST_ENV[host], identity_config=identity, _arc_token_dir=_ARC_DIR
    )
    now = time.time()
    with chain(in_chain):
        check_outcome(
            lambda: drive(credential._flow(TokenRequest((SCOPE,))), [first, *rest]),
            "ManagedIdentityCredential",
            now,
        )


@PROFILE
@given(status=statuses, hdrs=headers, body=bodies, truncated=st.booleans())
def test_managed_identity_token_parser(
    status: int, hdrs: dict[str, str], body: bytes, truncated: bool
) -> None:
    now = 1_700_000_000.0
    response = HttpResponse(status, Headers(hdrs), body, HttpRequest("GET", "http://h/"), truncated=truncated)
    try:
        token, _ = mi_responses.parse_token(response, now)
    except mi_responses.BadTokenResponse as problem:
        assert str(problem).startswith("the response")
        return
    assert now < token.expires_on <= now + mi_responses.MAX_LIFETIME + 1
    mi_imds.not_imds_reason(response)
    mi_responses.message_of(response)


@PROFILE
@given(value=numberish)
def test_expires_on_formats(value: Any) -> None:
    try:
        parsed = mi_responses.parse_expires_on(value)
    except ValueError as problem:
        assert len(str(problem)) < 400  # names the value, shortened
        return
    assert isinstance(parsed, int)


@PROFILE
@given(
    sequence=st.lists(
        st.one_of(st.tuples(st.sampled_from([200, 404, 410, 429, 500, 503, 400]), headers), st.just("error")),
        min_size=1,
        max_size=30,
    ),
    imds=st.booleans(),
)
def test_managed_identity_retries_are_bounded(sequence: list[Any], imds: bool) -> None:
    policy = RetryPolicy(statuses=IMDS_STATUSES, gone_budget=70.0) if imds else RetryPolicy(3, OTHER_STATUSES)
    request = HttpRequest("GET", "http://127.0.0.1:1/")
    flow = send(request, policy, lambda: 1_700_000_000.0)
    waits: list[float] = []
    answered = 0
    effect = next(flow)
    for _ in range(MAX_STEPS):
        try:
            if isinstance(effect, Sleep):
                assert not math.isnan(effect.seconds) and 0 < effect.seconds <= 60
                waits.append(effect.seconds)
                effect = flow.send(None)
                continue
            item = sequence[min(answered, len(sequence) - 1)]
            answered += 1
            if item == "error":
                effect = flow.throw(TransportError(request, "reset"))
            else:
                effect = flow.send(HttpResponse(item[0], Headers(item[1]), b"{}", request))
        except StopIteration as stop:
            outcome = stop.value
            break
    else:
        raise AssertionError("retries never ended")
    assert outcome.attempts == answered
    assert answered <= (policy.max_retries + 1 if not imds else policy.max_retries + 1 + 90)
    assert sum(waits) <= policy.max_retries * 60 + 70 + 60


@PROFILE
@given(value=header_values, name=st.sampled_from(["Retry-After", "retry-after-ms", "x-ms-retry-after-ms"]))
def test_retry_after_values(value: str, name: str) -> None:
    seconds = retry_after_from(Headers({name: value}), 1_700_000_000.0)
    assert seconds is None or (not math.isnan(seconds) and seconds >= 0)
    from azidentity._http.pipeline import RETRY_AFTER_MAX, _EventRetryPolicy

    class Raw:
        headers = Headers({name: value})

    class Response:
        http_response = Raw()

    capped = _EventRetryPolicy().get_retry_after(Response())
    assert capped is None or 0 <= capped <= RETRY_AFTER_MAX


# -- Azure Arc's challenge ----------------------------------------------------------------------------


@PROFILE
@given(
    header=st.one_of(
        header_values,
        st.builds(lambda p: f"Basic realm={p}", st.text(max_size=60)),
        st.builds(lambda p: f"Basic realm={_ARC_DIR}/{p}", st.text(max_size=30)),
    )
)
def test_arc_challenges(header: str) -> None:
    response = HttpResponse(401, Headers({"WWW-Authenticate": header}), b"", HttpRequest("GET", "http://h"))
    try:
        path = arc.challenge_path(response)
        resolved = arc.check_key_path(path, _ARC_DIR)
    except arc.KeyFileProblem as problem:
        assert str(problem)
        return
    assert os.path.dirname(resolved) == os.path.realpath(_ARC_DIR) and resolved.endswith(".key")


# -- developer tools' output ----------------------------------------------------------------------------

az_like = st.fixed_dictionaries(
    {},
    optional={
        "accessToken": st.one_of(st.just("tok-" + "a" * 20), json_values),
        "expires_on": numberish,
        "expiresOn": st.one_of(
            numberish,
            st.sampled_from(
                [
                    "2099-01-31 17:05:09.123456",
                    "2024-13-45 99:99:99",
                    "0001-01-01 00:00:00",
                    "2099-01-31T22:05:09Z",
                    "2099-01-31T22:05:09+01:00",
                    "2099-02-30T00:00:00Z",
                ]
            ),
        ),
        "token": st.one_of(st.just("tok-" + "b" * 20), json_values),
        "tokenType": json_values,
    },
)
stdouts = st.one_of(
    az_like.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.builds(
        lambda t, e: f"WARNING: x\nazsdk%{t}%{e}\n",
        st.text(max_size=10),
        st.one_of(st.integers(min_value=-10, max_value=10**400).map(str), st.text(max_size=10)),
    ),
    st.integers(1, 100_000).map(lambda n: "[" * n),
    st.just("NO_AZ_ACCOUNT_MODULE"),
)
stderrs = st.one_of(
    st.text(max_size=200),
    st.sampled_from(
        [
            "ERROR: Please run 'az login' to setup account.",
            "ERROR: AADSTS50076: MFA",
            '{"type":"consoleMessage","data":{"message":"not logged in, run `azd auth login` to login"}}',
            '{"error": "fetching token: not logged in, run `azd auth login`"}',
            "Run Connect-AzAccount to login.",
            "AuthorizationManager check failed.",
            "'az' is not recognized",
            "Line |\n   3 | x\n     | ~~~\n     | boom",
            "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2lnbmF0dXJl leaked",
        ]
    ),
    st.integers(1, 50_000).map(lambda n: "{" * n),
)
process_results = st.builds(
    ProcessResult,
    returncode=st.sampled_from([0, 0, 0, 1, 2, 127, -9]),
    stdout=stdouts,
    stderr=stderrs,
    duration=st.just(0.1),
    timed_out=st.booleans().map(lambda b: b and False),
    not_found=st.just(False),
) | st.builds(
    ProcessResult,
    returncode=st.just(-1),
    stdout=st.just(""),
    stderr=st.just(""),
    duration=st.just(10.0),
    timed_out=st.just(True),
    not_found=st.booleans(),
)


@PROFILE
@given(result=process_results, tool=st.sampled_from(["az", "azd", "pwsh"]))
def test_developer_tool_output(result: ProcessResult, tool: str) -> None:
    parse = {"az": azure_cli.parse, "azd": azure_developer_cli.parse, "pwsh": azure_powershell.parse}[tool]
    now = time.time()
    # A tool's expiry is not bounded by a lifetime (its tokens are not cached by default), only by time.
    outcome = check_outcome(
        lambda: parse(result, credential=f"{tool}-credential", timeout=10, now=now),
        f"{tool}-credential",
        now,
        latest=2**53,
    )
    if isinstance(outcome, Exception):
        assert "eyJ0eXAiOiJKV1Qi" not in str(outcome)  # token-shaped output is redacted


@PROFILE
@given(text=st.text(max_size=300))
def test_redaction_and_scrubbing_never_fail(text: str) -> None:
    redact_text(text)
    assert len(tool_protocol.scrub(text * 3)) <= tool_protocol.SHOWN_OUTPUT + 40
    azure_developer_cli.error_text(text)


# -- certificates ------------------------------------------------------------------------------------------


class _Material(dict[str, bytes]):
    def __repr__(self) -> str:  # a failing example must not print key material
        return "<the emulator's certificate material>"


@pytest.fixture(scope="module")
def pems(emulator_session: Any) -> dict[str, bytes]:
    app = emulator_session.apps["cert"]
    read = lambda path: Path(path).read_bytes()  # noqa: E731
    return _Material(
        pem=read(app.cert_pem_path),
        encrypted=read(app.cert_pem_encrypted_path),
        pfx=read(app.pfx_path),
        password=(app.cert_password or "").encode(),
    )


def _mutate(data: bytes, where: int, byte: int, cut: int) -> bytes:
    if not data:
        return data
    i = where % len(data)
    mutated = data[:i] + bytes([byte]) + data[i + 1 :]
    return mutated[: max(1, len(mutated) - cut)]


@PROFILE
@given(data=st.data())
def test_certificate_input(pems: dict[str, bytes], data: Any) -> None:
    kind = data.draw(st.sampled_from(["pem", "encrypted", "pfx", "random", "blocks"]))
    if kind == "random":
        blob = data.draw(st.binary(max_size=300))
    elif kind == "blocks":
        names = st.sampled_from(
            [
                "CERTIFICATE",
                "PRIVATE KEY",
                "RSA PRIVATE KEY",
                "ENCRYPTED PRIVATE KEY",
                "EC PRIVATE KEY",
                "X509 CERTIFICATE",
                "PUBLIC KEY",
            ]
        )
        blocks = data.draw(st.lists(st.tuples(names, st.binary(max_size=80)), max_size=4))
        blob = (
            b"\n".join(
                b"-----BEGIN %s-----\n%s\n-----END %s-----" % (n.encode(), base64.encodebytes(b), n.encode())
                for n, b in blocks
            )
            or b"-----BEGIN"
        )
    else:
        original = pems[kind]
        blob = _mutate(
            original,
            data.draw(st.integers(0, 10**6)),
            data.draw(st.integers(0, 255)),
            data.draw(st.integers(0, 64)),
        )
        if data.draw(st.booleans()):
            blob = original  # unmutated: loads with the right password
    password = data.draw(st.sampled_from([None, "", "wrong-password", pems["password"]]))
    try:
        certificate = load_certificate(blob, password, "certificate_data")
    except ValueError as error:
        assert "certificate_data" in str(error), str(error)
        return
    assert certificate.thumbprint_sha1 and certificate.chain


# -- the persistent cache file ------------------------------------------------------------------------------

_CACHE_DIR = tempfile.mkdtemp(prefix="azidentity-reliability-cache-")


@PROFILE
@given(
    content=st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries(
            {
                "format": st.one_of(st.just("azidentity-cache"), json_values),
                "version": st.one_of(st.just(1), json_values),
                "sections": st.one_of(
                    st.dictionaries(
                        st.sampled_from(["access_tokens", "x"]),
                        st.dictionaries(st.text(max_size=5), json_values, max_size=3),
                        max_size=2,
                    ),
                    json_values,
                ),
            }
        ).map(lambda d: json.dumps(d).encode()),
        st.integers(1, 100_000).map(_deep),
    ),
    encrypted=st.booleans(),
)
def test_persistent_cache_files(content: bytes, encrypted: bool) -> None:
    from azidentity._cache.encryption import MAGIC, Cipher
    from azidentity._cache.file_lock import FileLock
    from azidentity._cache.persistent import _token_from
    from azidentity._cache.store import PersistentStore

    cipher = Cipher(b"k" * 32) if encrypted else None
    path = os.path.join(_CACHE_DIR, "cache.json.enc" if encrypted else "cache.json")
    store = PersistentStore(path, cipher, FileLock(os.path.join(_CACHE_DIR, "cache.lock")))
    with open(path, "wb") as f:
        f.write(MAGIC + content if encrypted and content[:1] == b"M" else content)
    entries = store.items("access_tokens")  # never raises: a bad file is moved aside
    assert isinstance(entries, dict)
    for value in entries.values():
        token = _token_from(value)
        assert token is None or isinstance(token.expires_on, int)
    store.put(
        "access_tokens", "k", {"token": "t", "expires_on": 1, "refresh_on": None, "token_type": "Bearer"}
    )
    assert store.get("access_tokens", "k") is not None
    for name in os.listdir(_CACHE_DIR):
        if ".corrupt-" in name:
            os.unlink(os.path.join(_CACHE_DIR, name))


@PROFILE
@given(
    value=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {
                "token": json_values,
                "expires_on": numberish,
                "refresh_on": numberish,
                "token_type": json_values,
            }
        ),
    )
)
def test_persistent_token_entries(value: Any) -> None:
    from azidentity._cache.persistent import _token_from, _unexpired

    token = _token_from(value) if isinstance(value, dict) else None
    _unexpired(value, time.time())
    if token is not None:
        assert isinstance(token.token, str) and type(token.expires_on) is int


# -- AuthenticationRecord ------------------------------------------------------------------------------------

record_fields = st.fixed_dictionaries(
    {},
    optional={
        k: st.one_of(st.text(max_size=20), json_values)
        for k in ("authority", "clientId", "homeAccountId", "tenantId", "username")
    }
    | {"version": st.one_of(st.just("1.0"), json_values)},
)


def _check_record(data: Any) -> None:
    from azidentity import AuthenticationRecord

    try:
        record = AuthenticationRecord.deserialize(data)
    except ValueError as error:
        assert "AuthenticationRecord" in str(error) or "version" in str(error)
        return
    assert AuthenticationRecord.deserialize(record.serialize()) == record


@PROFILE
@given(
    data=st.one_of(record_fields.map(json.dumps), st.text(max_size=100), st.binary(max_size=100), json_values)
)
def test_authentication_record_deserialize(data: Any) -> None:
    _check_record(data)


@pytest.mark.parametrize("data", ['{"version": []}', '{"version": {}}', "[" * 100_000])
def test_authentication_record_rejects_odd_versions_and_deep_nesting(data: str) -> None:
    _check_record(data)


# -- environment configurations ------------------------------------------------------------------------------

_ENV_DIR = tempfile.mkdtemp(prefix="azidentity-reliability-env-")
with open(os.path.join(_ENV_DIR, "garbage.pem"), "wb") as _f:
    _f.write(b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
ENV_SECRETS = ("AZURE_CLIENT_SECRET", "AZURE_PASSWORD", "AZURE_CLIENT_CERTIFICATE_PASSWORD")
env_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["", " ", "common", "adfs", "..", "-x", "a/b", "t?x#y", "72f988bf-86f1-41af-91ab-2d7cd011db47"]
    ),
)
env_values = {
    "AZURE_TENANT_ID": env_text,
    "AZURE_CLIENT_ID": env_text,
    # Secrets are arbitrary text behind a marker, so that a leak check can't match template words.
    "AZURE_CLIENT_SECRET": st.one_of(st.just(""), st.text(max_size=30).map(lambda t: "S3cr3t!" + t)),
    "AZURE_CLIENT_CERTIFICATE_PATH": st.sampled_from(
        ["", "/nonexistent.pem", _ENV_DIR, os.path.join(_ENV_DIR, "garbage.pem"), "/dev/null", "/dev/zero"]
    ),
    "AZURE_CLIENT_CERTIFICATE_PASSWORD": st.one_of(
        st.just(""), st.text(max_size=20).map(lambda t: "Pa55!" + t)
    ),
    "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN": st.one_of(
        st.text(max_size=6), st.sampled_from(["true", "0", "yes"])
    ),
    "AZURE_USERNAME": env_text,
    "AZURE_PASSWORD": st.one_of(st.just(""), st.text(max_size=30).map(lambda t: "Pa55w0rd!" + t)),
    "AZURE_AUTHORITY_HOST": st.one_of(
        st.text(max_size=30),
        st.sampled_from(
            [
                "https://login.microsoftonline.us",
                "http://insecure",
                "https://user@host",
                "https://h#f",
                "https:///x",
                "login.microsoftonline.com",
                "https://h:99999",
                "https://[::1]",
            ]
        ),
    ),
    "AZURE_ADDITIONALLY_ALLOWED_TENANTS": st.text(max_size=30),
}
environments = st.fixed_dictionaries({}, optional=env_values)


@PROFILE
@given(env=environments, is_async=st.booleans())
def test_environment_configurations(env: dict[str, str], is_async: bool) -> None:
    import azidentity.aio

    env = {k: v.replace("\x00", "") for k, v in env.items()}
    cls = azidentity.aio.EnvironmentCredential if is_async else azidentity.EnvironmentCredential
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            credential = cls(_env=env)
        except ValueError as error:
            credential = error
    # The one warning it gives on purpose: a username and password in the environment (deprecated).
    for warning in caught:
        assert warning.category is DeprecationWarning, warning
        assert "username and password authentication" in str(warning.message), warning
    if isinstance(credential, ValueError):
        text = str(credential)
        variable = getattr(credential, "variable", None)
        assert variable is None or variable in env, text
        for name in ENV_SECRETS:
            if env.get(name):
                assert env[name] not in text, (name, text)
        return
    shown = repr(credential) + str(credential)
    for name in ENV_SECRETS:
        if env.get(name):
            assert env[name] not in shown, (name, shown)
    if credential.configuration is None:
        flow = credential._flow(TokenRequest((SCOPE,)))
        with pytest.raises(CredentialUnavailableError) as info:
            next(flow)
        assert "EnvironmentCredential" in str(info.value)


# -- tenants, scopes, authorities ----------------------------------------------------------------------------

tenant_texts = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="abc.-/?#%@:\\ \t\n0123456789", max_size=12),
    st.sampled_from([".", "..", "...", "-", "a..b", "%2e%2e", "contoso.onmicrosoft.com"]),
)


@PROFILE
@given(tenant=st.one_of(tenant_texts, json_values))
def test_tenant_ids(tenant: Any) -> None:
    try:
        validate_tenant_id(tenant)
    except ValueError as error:
        assert "tenant" in str(error).lower()
        return
    url = entra.token_url("https://login.microsoftonline.com", tenant)
    parts = urlsplit(url)
    assert parts.netloc == "login.microsoftonline.com" and not parts.query and not parts.fragment
    assert parts.path == f"/{tenant}/oauth2/v2.0/token" and parts.path.split("/")[1] not in (".", "..")


@PROFILE
@given(
    default=st.sampled_from(["tenant-a", "organizations", "adfs", ""]),
    requested=st.one_of(st.none(), tenant_texts),
    allowed=st.lists(st.sampled_from(["*", "tenant-b", "x"]), max_size=2),
)
def test_tenant_resolution(default: str, requested: str | None, allowed: list[str]) -> None:
    try:
        tenant = resolve_tenant(default, requested, allowed, "X", env={})
    except ValueError as error:
        assert "tenant" in str(error).lower()
        return
    except AuthenticationFailedError as error:
        assert "tenant" in str(error)
        return
    assert tenant in (default, requested)
    if tenant:
        validate_tenant_id(
            tenant, strict=False
        ) if tenant != default else None  # a request: any path-safe tenant


@PROFILE
@given(scopes=st.lists(st.one_of(st.text(max_size=40), json_values), max_size=3))
def test_scopes(scopes: list[Any]) -> None:
    credential = azidentity.ClientSecretCredential("tenant", "client", "not-a-real-secret-value")
    try:
        credential._request("get_token", tuple(scopes), None, None, False)
    except ValueError as error:
        assert "scope" in str(error)
    try:
        tool_protocol.validate_scopes(scopes, exactly_one=True)
    except ValueError as error:
        assert "scope" in str(error)
    else:
        assert not scopes[0].startswith("-") and all(c.isalnum() or c in "._-:/" for c in scopes[0])
    try:
        resource = mi_requests.resource_for(tuple(scopes))
    except (ValueError, TypeError, AttributeError) as error:
        assert not isinstance(error, AttributeError) or not all(isinstance(s, str) for s in scopes), error
        return
    assert resource and not any(c.isspace() or ord(c) < 32 for c in resource)


@PROFILE
@given(
    authority=st.one_of(
        st.text(max_size=40),
        st.builds(
            lambda s, r: f"{s}://{r}",
            st.sampled_from(["https", "http", "HTTPS", "ftp", "javascript", ""]),
            st.text(max_size=30),
        ),
        st.sampled_from(
            [
                "https://user:pw@login.microsoftonline.com",
                "https://login.microsoftonline.com#x",
                "https://a?b=c",
                "https://evil.com\\@login.microsoftonline.com",
                "https://[::1",
                "https://h:0",
                "https://h:65536",
                "https://h/%2e%2e/x",
                "file:///etc/passwd",
            ]
        ),
        st.integers(),
        st.none(),
    )
)
def test_authorities(authority: Any) -> None:
    try:
        value = normalize_authority(authority, env={})
    except (ValueError, TypeError) as error:
        assert "authority" in str(error)
        return
    parts = urlsplit(value)
    assert parts.scheme == "https" and parts.hostname and parts.username is None and parts.password is None
    assert not parts.query and not parts.fragment and "\\" not in value
    assert not any(c.isspace() or ord(c) < 32 for c in value)
    assert parts.port is None or 0 < parts.port < 65536  # urlsplit raises ValueError for a bad port
