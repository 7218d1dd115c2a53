"""Coverage-guided fuzzing (atheris / libFuzzer) of azidentity's response and output parsers.

    python tests/fuzz/fuzz_parsers.py -max_total_time=300     # make fuzz
    python tests/fuzz/fuzz_parsers.py -runs=20000             # a fixed number of inputs
    python tests/fuzz/fuzz_parsers.py CORPUS_DIR -max_total_time=60

Each input picks a parser and feeds it bytes shaped by the fuzzer: Entra ID token responses, each
managed-identity host's responses (through the credential's flow, retries included), Azure Arc's
challenge, az / azd / pwsh output, Azure Pipelines' OIDC answer, federated assertions, Retry-After
values, tenants, scopes and authorities. Only azidentity's documented errors may come out
(CredentialUnavailableError, AuthenticationFailedError; ValueError / TypeError from validators); anything
else is a crash that libFuzzer reports with the input that caused it. A flow that takes more than
MAX_STEPS effects (retries without end) is a crash too.
"""

from __future__ import annotations

import sys
import time

import atheris

# azure-core is imported (and left uninstrumented) first: the coverage that matters is azidentity's.
import azure.core.exceptions  # noqa: F401

with atheris.instrument_imports(include=["azidentity"]):
    from azidentity import _authority, _redact
    from azidentity._credential import TokenRequest
    from azidentity._credentials.managed_identity import ManagedIdentityCredential
    from azidentity._errors import AuthenticationFailedError, CredentialUnavailableError
    from azidentity._protocol import (
        azure_cli,
        azure_developer_cli,
        azure_powershell,
        entra,
        federated,
        pipelines,
    )
    from azidentity._protocol import (
        developer_tool as tool_protocol,
    )
    from azidentity._protocol.effects import (
        Headers,
        HttpRequest,
        HttpResponse,
        ProcessResult,
        Sleep,
        TransportError,
    )
    from azidentity._protocol.managed_identity import arc
    from azidentity._protocol.managed_identity import requests as mi_requests
    from azidentity._protocol.managed_identity import responses as mi_responses
    from azidentity._protocol.managed_identity.retry import retry_after_from

DOCUMENTED = (CredentialUnavailableError, AuthenticationFailedError)
MAX_STEPS = 300
NOW = 1_700_000_000.0
HEADER_NAMES = [
    "Retry-After",
    "retry-after-ms",
    "Content-Type",
    "WWW-Authenticate",
    "Location",
    "x-vss-e2eid",
]
HOSTS = {
    "imds": {"AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:1"},
    "app-service": {"IDENTITY_ENDPOINT": "http://127.0.0.1:1/msi/token", "IDENTITY_HEADER": "h"},
    "arc": {"IDENTITY_ENDPOINT": "http://127.0.0.1:1/arc", "IMDS_ENDPOINT": "http://127.0.0.1:1"},
    "cloud-shell": {"MSI_ENDPOINT": "http://127.0.0.1:1/cs"},
    "azure-ml": {"MSI_ENDPOINT": "http://127.0.0.1:1/ml", "MSI_SECRET": "s"},
}
CREDENTIALS = {
    name: ManagedIdentityCredential(_env=env, _arc_token_dir="/nonexistent") for name, env in HOSTS.items()
}
REQUEST = HttpRequest("POST", "https://127.0.0.1:1/tenant/oauth2/v2.0/token")


FIELDS = [
    "access_token",
    "expires_in",
    "expires_on",
    "refresh_in",
    "token_type",
    "error",
    "error_description",
    "error_codes",
    "oidcToken",
    "message",
    "client_id",
    "msi_res_id",
    "correlation_id",
]


def _value(fdp: atheris.FuzzedDataProvider, depth: int = 0) -> object:
    kind = fdp.ConsumeIntInRange(0, 8 if depth < 3 else 6)
    if kind == 0:
        return fdp.ConsumeInt(fdp.ConsumeIntInRange(1, 64))
    if kind == 1:
        return fdp.ConsumeFloat()
    if kind in (2, 3):
        return fdp.ConsumeUnicodeNoSurrogates(40)
    if kind == 4:
        return str(fdp.ConsumeIntInRange(-10, 10**9))
    if kind == 5:
        return fdp.ConsumeBool()
    if kind == 6:
        return None
    if kind == 7:
        return [_value(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 3))]
    return {fdp.PickValueInList(FIELDS): _value(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 3))}


def _body(fdp: atheris.FuzzedDataProvider) -> bytes:
    import json

    if fdp.ConsumeBool():  # a JSON document with the fields parsers look for
        document = {fdp.PickValueInList(FIELDS): _value(fdp) for _ in range(fdp.ConsumeIntInRange(0, 6))}
        return json.dumps(document).encode()
    return fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 4096))


def _response(fdp: atheris.FuzzedDataProvider, request: HttpRequest = REQUEST) -> HttpResponse:
    status = fdp.PickValueInList(
        [200, 200, 200, 400, 401, 404, 410, 429, 500, 503, 302, fdp.ConsumeIntInRange(100, 599)]
    )
    headers = {
        fdp.PickValueInList(HEADER_NAMES): fdp.ConsumeUnicodeNoSurrogates(40)
        for _ in range(fdp.ConsumeIntInRange(0, 3))
    }
    return HttpResponse(
        status, Headers(headers), _body(fdp), request, truncated=fdp.ConsumeIntInRange(0, 9) == 0
    )


def _drive(flow, fdp: atheris.FuzzedDataProvider) -> None:  # type: ignore[no-untyped-def]
    value = None
    error = None
    for _ in range(MAX_STEPS):
        try:
            effect = flow.throw(error) if error is not None else flow.send(value)
        except StopIteration:
            return
        value, error = None, None
        if isinstance(effect, HttpRequest):
            if fdp.ConsumeIntInRange(0, 7) == 0:
                error = TransportError(effect, "no response", timeout=fdp.ConsumeBool())
            else:
                value = _response(fdp, effect)
        elif not isinstance(effect, Sleep):
            raise AssertionError(f"unexpected effect {effect!r}")
    raise AssertionError("a flow took more than MAX_STEPS effects: unbounded retries")


def _process(fdp: atheris.FuzzedDataProvider) -> ProcessResult:
    return ProcessResult(
        fdp.PickValueInList([0, 0, 0, 1, 127, -9]),
        fdp.ConsumeUnicodeNoSurrogates(2048),
        fdp.ConsumeUnicodeNoSurrogates(512),
        0.1,
        timed_out=fdp.ConsumeIntInRange(0, 15) == 0,
    )


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    target = fdp.ConsumeIntInRange(0, 11)
    try:
        if target == 0:
            entra.parse_token_response(_response(fdp), credential="X", now=NOW)
        elif target == 1:
            mi_responses.parse_token(_response(fdp), NOW)
        elif target == 2:
            credential = CREDENTIALS[fdp.PickValueInList(sorted(CREDENTIALS))]
            _drive(credential._flow(TokenRequest(("https://management.azure.com/.default",))), fdp)
        elif target == 3:
            response = HttpResponse(
                401, Headers({"WWW-Authenticate": fdp.ConsumeUnicodeNoSurrogates(200)}), b"", REQUEST
            )
            arc.check_key_path(arc.challenge_path(response), "/var/opt/azcmagent/tokens")
        elif target == 4:
            parse = fdp.PickValueInList([azure_cli.parse, azure_developer_cli.parse, azure_powershell.parse])
            parse(_process(fdp), credential="X", timeout=10, now=time.time())
        elif target == 5:
            pipelines.parse_oidc_response(_response(fdp), credential="X")
        elif target == 6:
            federated.describe(fdp.ConsumeUnicodeNoSurrogates(1024), "fuzz")
        elif target == 7:
            seconds = retry_after_from(
                Headers({fdp.PickValueInList(HEADER_NAMES[:2]): fdp.ConsumeUnicodeNoSurrogates(60)}), NOW
            )
            assert seconds is None or seconds >= 0, seconds
        elif target == 8:
            _authority.validate_tenant_id(fdp.ConsumeUnicodeNoSurrogates(60))
        elif target == 9:
            _authority.normalize_authority(fdp.ConsumeUnicodeNoSurrogates(80) or "x", env={})
        elif target == 10:
            tool_protocol.validate_scopes([fdp.ConsumeUnicodeNoSurrogates(60)], exactly_one=True)
            mi_requests.resource_for((fdp.ConsumeUnicodeNoSurrogates(60),))
        else:
            _redact.redact_json(entra.merge_claims(fdp.ConsumeUnicodeNoSurrogates(400), fdp.ConsumeBool()))
            mi_responses.parse_expires_on(fdp.ConsumeUnicodeNoSurrogates(60))
    except DOCUMENTED:
        pass
    except (ValueError, TypeError):
        if target in (0, 2, 4, 5, 6, 7):  # parsers of responses and output raise only documented errors
            raise


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
