"""Credentials that ask Entra ID's token endpoint for a token, tested as a user tests their code.

Every case runs against azure-identity and azidentity, sync and both async transport styles, through
``get_token`` and ``get_token_info``: the request sent, the token returned, the cache, claims, tenants,
CAE, errors. Only the requests that matter are checked; MSAL's metadata requests (azure-identity's
sync credentials) are answered on the side by :class:`Script`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from azure.core.exceptions import ClientAuthenticationError

from .compat_testlib import (
    AUTHORITY,
    CLIENT_ID,
    GET_TOKEN_METHODS,
    JWT_BEARER,
    OBO_GRANT,
    OTHER_SCOPE,
    OTHER_TENANT,
    RESPONSE_STYLES,
    SCOPE,
    TENANT,
    Expect,
    Library,
    Mode,
    Script,
    account_token_payload,
    assert_expires_in,
    call,
    error_payload,
    form_of,
    jwt_parts,
    mock_response,
    self_signed_pem,
    skip_theirs,
    token_payload,
    user_token_payload,
)

SECRET = "client-secret-value"
ASSERTION = "client-assertion-value"
USER_ASSERTION = "user-assertion-value"
FEDERATED_TOKEN = "federated-token-value"
OIDC_URI = "https://pipelines.example.test/oidc/token"
OIDC_TOKEN = "oidc-token-value"
SYSTEM_ACCESS_TOKEN = "system-access-token-value"
SERVICE_CONNECTION = "service-connection-id"
REDIRECT_URI = "http://localhost:8400"
PEM, DER = self_signed_pem()


def token_url(tenant: str = TENANT) -> str:
    return f"https://{AUTHORITY}/{tenant}/oauth2/v2.0/token"


def has_scope(scope: str) -> Callable[[Any], None]:
    def check(request: Any) -> None:
        assert scope in form_of(request)["scope"].split(), form_of(request)["scope"]

    return check


def certificate_assertion(request: Any) -> None:
    form = form_of(request)
    header, claims = jwt_parts(form["client_assertion"])
    assert header["alg"] in ("RS256", "PS256")
    assert "x5t" in header or "x5t#S256" in header
    assert claims["iss"] == claims["sub"] == CLIENT_ID
    assert claims["aud"] == request.url.split("?")[0]


@dataclass
class Case:
    """One credential: how a user builds it, and the token request it must send."""

    name: str
    build: Callable[[Any, dict[str, Any], Path], Any]
    form: dict[str, str]
    check: Callable[[Any], None] | None = None
    env: dict[str, str] = field(default_factory=dict)
    prelude: Callable[[Script], None] | None = None  # requests before the token request
    theirs_async: str | None = None  # why azure-identity's async class can't run this case
    user: bool = False  # a user's token (refresh token, account)
    account: bool = False  # the answer names a user's account (on-behalf-of)

    def make(self, module: Any, tmp_path: Path, **kwargs: Any) -> Any:
        return self.build(module, kwargs, tmp_path)

    def payload(self, access_token: str) -> dict[str, Any]:
        if self.user:
            return user_token_payload(access_token)
        if self.account:
            return account_token_payload(access_token)
        return token_payload(access_token)

    def __str__(self) -> str:
        return self.name


def _workload(module: Any, kwargs: dict[str, Any], tmp_path: Path) -> Any:
    token_file = tmp_path / "token"
    token_file.write_text(FEDERATED_TOKEN)
    return module.WorkloadIdentityCredential(
        tenant_id=TENANT, client_id=CLIENT_ID, token_file_path=str(token_file), **kwargs
    )


def _oidc_exchange(script: Script) -> None:
    script.add(
        Expect(
            "POST",
            OIDC_URI,
            query={"api-version": "7.1", "serviceConnectionId": SERVICE_CONNECTION},
            headers={"Authorization": f"Bearer {SYSTEM_ACCESS_TOKEN}"},
        ),
        mock_response(json_payload={"oidcToken": OIDC_TOKEN}, with_json=True),
    )


def _username_password(module: Any, kwargs: dict[str, Any], tmp_path: Path) -> Any:
    with pytest.warns(DeprecationWarning, match="UsernamePasswordCredential is deprecated"):
        return module.UsernamePasswordCredential(
            CLIENT_ID, "user@contoso.com", "password", tenant_id=TENANT, **kwargs
        )


ASYNC_ONLY_SYNC = "azure-identity has no async {} (README: Async DeviceCodeCredential, ...)"

CASES = [
    Case(
        "ClientSecretCredential",
        lambda m, kw, tmp: m.ClientSecretCredential(TENANT, CLIENT_ID, SECRET, **kw),
        {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET},
    ),
    Case(
        "CertificateCredential",
        lambda m, kw, tmp: m.CertificateCredential(TENANT, CLIENT_ID, certificate_data=PEM, **kw),
        {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_assertion_type": JWT_BEARER},
        check=certificate_assertion,
    ),
    Case(
        "CertificateCredential(certificate_path)",
        lambda m, kw, tmp: m.CertificateCredential(TENANT, CLIENT_ID, _pem_file(tmp), **kw),
        {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_assertion_type": JWT_BEARER},
        check=certificate_assertion,
    ),
    Case(
        "ClientAssertionCredential",
        lambda m, kw, tmp: m.ClientAssertionCredential(TENANT, CLIENT_ID, lambda: ASSERTION, **kw),
        {
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_assertion_type": JWT_BEARER,
            "client_assertion": ASSERTION,
        },
    ),
    Case(
        "OnBehalfOfCredential",
        lambda m, kw, tmp: m.OnBehalfOfCredential(
            TENANT, CLIENT_ID, client_secret=SECRET, user_assertion=USER_ASSERTION, **kw
        ),
        {
            "grant_type": OBO_GRANT,
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "assertion": USER_ASSERTION,
            "requested_token_use": "on_behalf_of",
        },
        account=True,
    ),
    Case(
        "OnBehalfOfCredential(client_assertion_func)",
        lambda m, kw, tmp: m.OnBehalfOfCredential(
            TENANT, CLIENT_ID, client_assertion_func=lambda: ASSERTION, user_assertion=USER_ASSERTION, **kw
        ),
        {"grant_type": OBO_GRANT, "client_assertion": ASSERTION, "assertion": USER_ASSERTION},
        account=True,
    ),
    Case(
        "OnBehalfOfCredential(client_certificate)",
        lambda m, kw, tmp: m.OnBehalfOfCredential(
            TENANT, CLIENT_ID, client_certificate=PEM, user_assertion=USER_ASSERTION, **kw
        ),
        {"grant_type": OBO_GRANT, "client_assertion_type": JWT_BEARER, "assertion": USER_ASSERTION},
        check=certificate_assertion,
        account=True,
    ),
    Case(
        "WorkloadIdentityCredential",
        _workload,
        {
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_assertion_type": JWT_BEARER,
            "client_assertion": FEDERATED_TOKEN,
        },
    ),
    Case(
        "AzurePipelinesCredential",
        lambda m, kw, tmp: m.AzurePipelinesCredential(
            tenant_id=TENANT,
            client_id=CLIENT_ID,
            service_connection_id=SERVICE_CONNECTION,
            system_access_token=SYSTEM_ACCESS_TOKEN,
            **kw,
        ),
        {
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": OIDC_TOKEN,
        },
        env={"SYSTEM_OIDCREQUESTURI": OIDC_URI},
        prelude=_oidc_exchange,
        theirs_async="its async AzurePipelinesCredential sends the OIDC request through a synchronous "
        "pipeline, which an async transport can't serve (README: Async AzurePipelinesCredential)",
    ),
    Case(
        "EnvironmentCredential",
        lambda m, kw, tmp: m.EnvironmentCredential(**kw),
        {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET},
        env={"AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_ID": CLIENT_ID, "AZURE_CLIENT_SECRET": SECRET},
    ),
    Case(
        "EnvironmentCredential(certificate)",
        lambda m, kw, tmp: _with_pem_env(tmp, lambda: m.EnvironmentCredential(**kw)),
        {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_assertion_type": JWT_BEARER},
        check=certificate_assertion,
        env={"AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_ID": CLIENT_ID},
    ),
    Case(
        "DefaultAzureCredential",
        lambda m, kw, tmp: m.DefaultAzureCredential(**kw),
        {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET},
        env={"AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_ID": CLIENT_ID, "AZURE_CLIENT_SECRET": SECRET},
    ),
    Case(
        "AuthorizationCodeCredential",
        lambda m, kw, tmp: m.AuthorizationCodeCredential(
            TENANT, CLIENT_ID, "authorization-code-value", REDIRECT_URI, client_secret=SECRET, **kw
        ),
        {
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "code": "authorization-code-value",
            "redirect_uri": REDIRECT_URI,
            "client_secret": SECRET,
        },
        user=True,
    ),
    Case(
        "UsernamePasswordCredential",
        _username_password,
        {
            "grant_type": "password",
            "client_id": CLIENT_ID,
            "username": "user@contoso.com",
            "password": "password",
        },
        theirs_async=ASYNC_ONLY_SYNC.format("UsernamePasswordCredential"),
        user=True,
    ),
]


def _pem_file(tmp_path: Path) -> str:
    path = tmp_path / "certificate.pem"
    path.write_bytes(PEM)
    return str(path)


def _with_pem_env(tmp_path: Path, build: Callable[[], Any]) -> Any:
    with mock.patch.dict(os.environ, {"AZURE_CLIENT_CERTIFICATE_PATH": _pem_file(tmp_path)}):
        return build()


cases = pytest.mark.parametrize("case", CASES, ids=str)
methods = pytest.mark.parametrize("method", GET_TOKEN_METHODS)


@pytest.fixture
def environ(case: Case) -> Any:
    with mock.patch.dict(os.environ, case.env):
        yield case.env


def module_for(case: Case, library: Library, mode: Mode) -> Any:
    if mode.is_async and case.theirs_async:
        skip_theirs(library, case.theirs_async)
    return mode.module(library)


def token_exchange(
    case: Case, script: Script, access_token: str, *, tenant: str = TENANT, respond: Any = mock_response
) -> None:
    if case.prelude is not None:
        case.prelude(script)
    script.add(
        Expect("POST", token_url(tenant), form=case.form, check=_checks(case, SCOPE)),
        respond(json_payload=case.payload(access_token)),
    )


def _checks(case: Case, scope: str) -> Callable[[Any], None]:
    def check(request: Any) -> None:
        has_scope(scope)(request)
        if case.check is not None:
            case.check(request)

    return check


@cases
@methods
@pytest.mark.parametrize("style", list(RESPONSE_STYLES))
def test_token_request_and_cache(
    case: Case, library: Library, mode: Mode, method: str, environ: Any, tmp_path: Path, style: str
) -> None:
    """``style``: the response is a plain Mock (azure-identity's own tests' style), or a Mock with *only*
    status_code, headers, text() and content_type (anything else raises AttributeError)."""
    module = module_for(case, library, mode)
    script = Script()
    token_exchange(case, script, "access-token-1", respond=RESPONSE_STYLES[style])
    transport = mode.transport(script)
    credential = case.make(module, tmp_path, transport=transport)

    token = call(mode, credential, method, SCOPE)
    assert token.token == "access-token-1"
    assert_expires_in(token)
    if method == "get_token_info":
        assert token.token_type == "Bearer"
    sent = transport.send.call_count

    again = call(mode, credential, method, SCOPE)  # from the cache: nothing sent
    assert again.token == "access-token-1"
    assert transport.send.call_count == sent
    assert script.unanswered == 0


@cases
@methods
def test_another_scope_is_another_token(
    case: Case, library: Library, mode: Mode, method: str, environ: Any, tmp_path: Path
) -> None:
    module = module_for(case, library, mode)
    skip_theirs(
        library,
        "AuthorizationCodeCredential redeems its refresh token only for the scopes of the code's redemption "
        "(README: AuthorizationCodeCredential's refresh token)",
        when=case.name == "AuthorizationCodeCredential",
    )
    script = Script()
    token_exchange(case, script, "access-token-1")
    transport = mode.transport(script)
    credential = case.make(module, tmp_path, transport=transport)
    assert call(mode, credential, method, SCOPE).token == "access-token-1"

    if case.user:  # the refresh token from the first answer serves the next scope
        script.add(
            Expect("POST", token_url(), form={"grant_type": "refresh_token"}, check=has_scope(OTHER_SCOPE)),
            mock_response(json_payload=user_token_payload("access-token-2")),
        )
    else:
        if case.prelude is not None:
            case.prelude(script)
        script.add(
            Expect("POST", token_url(), form=case.form, check=has_scope(OTHER_SCOPE)),
            mock_response(json_payload=case.payload("access-token-2")),
        )
    assert call(mode, credential, method, OTHER_SCOPE).token == "access-token-2"
    assert script.unanswered == 0


@cases
@methods
def test_claims_are_sent_and_bypass_the_cache(
    case: Case, library: Library, mode: Mode, method: str, environ: Any, tmp_path: Path
) -> None:
    module = module_for(case, library, mode)
    claims = json.dumps({"access_token": {"nbf": {"essential": True, "value": "1700000000"}}})
    script = Script()
    token_exchange(case, script, "access-token-1")
    transport = mode.transport(script)
    credential = case.make(module, tmp_path, transport=transport)
    assert call(mode, credential, method, SCOPE).token == "access-token-1"

    def claims_sent(request: Any) -> None:
        assert json.loads(form_of(request)["claims"]) == json.loads(claims)

    if case.user:
        script.add(
            Expect("POST", token_url(), form={"grant_type": "refresh_token"}, check=claims_sent),
            mock_response(json_payload=user_token_payload("access-token-2")),
        )
    else:
        if case.prelude is not None:
            case.prelude(script)
        script.add(
            Expect("POST", token_url(), form=case.form, check=claims_sent),
            mock_response(json_payload=case.payload("access-token-2")),
        )
    assert call(mode, credential, method, SCOPE, claims=claims).token == "access-token-2"
    assert script.unanswered == 0


@cases
@methods
def test_enable_cae_asks_for_the_cp1_capability(
    case: Case, library: Library, mode: Mode, method: str, environ: Any, tmp_path: Path
) -> None:
    module = module_for(case, library, mode)

    def cp1(request: Any) -> None:
        claims = json.loads(form_of(request)["claims"])
        assert claims["access_token"]["xms_cc"]["values"] == ["CP1"]

    script = Script()
    if case.prelude is not None:
        case.prelude(script)
    script.add(
        Expect("POST", token_url(), form=case.form, check=cp1),
        mock_response(json_payload=case.payload("cae-token")),
    )
    credential = case.make(module, tmp_path, transport=mode.transport(script))
    assert call(mode, credential, method, SCOPE, enable_cae=True).token == "cae-token"


@cases
@methods
def test_tenant_id_of_the_request(
    case: Case, library: Library, mode: Mode, method: str, environ: Any, tmp_path: Path
) -> None:
    module = module_for(case, library, mode)
    script = Script()
    if case.prelude is not None:
        case.prelude(script)
    script.add(
        Expect("POST", token_url(OTHER_TENANT), form=case.form),
        mock_response(json_payload=case.payload("other-tenant-token")),
    )
    credential = case.make(
        module, tmp_path, transport=mode.transport(script), additionally_allowed_tenants=["*"]
    )
    assert call(mode, credential, method, SCOPE, tenant_id=OTHER_TENANT).token == "other-tenant-token"
    assert script.unanswered == 0


@cases
@methods
def test_tenant_not_allowed(
    case: Case, library: Library, mode: Mode, method: str, environ: Any, tmp_path: Path
) -> None:
    module = module_for(case, library, mode)
    script = Script()
    transport = mode.transport(script)
    credential = case.make(module, tmp_path, transport=transport)
    with pytest.raises(ClientAuthenticationError) as raised:
        call(mode, credential, method, SCOPE, tenant_id=OTHER_TENANT)
    assert (
        not isinstance(raised.value, library.CredentialUnavailableError)
        or case.name == "DefaultAzureCredential"
    )
    assert OTHER_TENANT in str(raised.value)
    assert "additionally_allowed_tenants" in str(raised.value)
    assert script.requests == []


@cases
@methods
def test_error_response(
    case: Case, library: Library, mode: Mode, method: str, environ: Any, tmp_path: Path
) -> None:
    module = module_for(case, library, mode)
    script = Script()
    if case.prelude is not None:
        case.prelude(script)
    script.add(
        Expect("POST", token_url()),
        mock_response(
            401, json_payload=error_payload("invalid_client", "Invalid client secret provided.", 7000215)
        ),
    )
    credential = case.make(module, tmp_path, transport=mode.transport(script))
    with pytest.raises(ClientAuthenticationError) as raised:
        call(mode, credential, method, SCOPE)
    # The credential tried and was refused: a chain must stop here, not move on.
    assert not isinstance(raised.value, library.CredentialUnavailableError)
    assert "AADSTS7000215" in str(raised.value)


@cases
@methods
def test_no_scopes(
    case: Case, library: Library, mode: Mode, method: str, environ: Any, tmp_path: Path
) -> None:
    module = module_for(case, library, mode)
    script = Script()
    credential = case.make(module, tmp_path, transport=mode.transport(script))
    # A chain (DefaultAzureCredential) reports its member's ValueError as a ClientAuthenticationError.
    chain = case.name == "DefaultAzureCredential"
    with pytest.raises(ClientAuthenticationError if chain else ValueError):
        call(mode, credential, method)
    assert script.requests == []


@cases
@pytest.mark.parametrize("how", ["authority", "AZURE_AUTHORITY_HOST"])
def test_authority(case: Case, library: Library, mode: Mode, environ: Any, tmp_path: Path, how: str) -> None:
    """Another cloud's authority, by keyword or by AZURE_AUTHORITY_HOST: the token request goes there."""
    module = module_for(case, library, mode)
    host = "login.microsoftonline.us"  # AzureAuthorityHosts.AZURE_GOVERNMENT
    script = Script()
    if case.prelude is not None:
        case.prelude(script)
    script.add(
        Expect("POST", f"https://{host}/{TENANT}/oauth2/v2.0/token", form=case.form),
        mock_response(json_payload=case.payload("government-token")),
    )
    kwargs: dict[str, Any] = {"transport": mode.transport(script)}
    with mock.patch.dict(
        os.environ, {"AZURE_AUTHORITY_HOST": f"https://{host}"} if how != "authority" else {}
    ):
        if how == "authority":
            kwargs["authority"] = library.AzureAuthorityHosts.AZURE_GOVERNMENT
        credential = case.make(module, tmp_path, **kwargs)
        assert call(mode, credential, "get_token", SCOPE).token == "government-token"
    assert script.unanswered == 0


@pytest.mark.parametrize(
    "case", [c for c in CASES if not c.user and c.name != "DefaultAzureCredential"], ids=str
)
@pytest.mark.parametrize(
    ("extra", "refresh_in"), [({}, 43200), ({"refresh_in": 1800}, 1800)], ids=["half", "refresh_in"]
)
def test_refresh_on_of_a_long_lived_token(
    case: Case,
    library: Library,
    mode: Mode,
    environ: Any,
    tmp_path: Path,
    extra: dict[str, int],
    refresh_in: int,
) -> None:
    """A token living 24 h: refresh_on is the server's refresh_in, else half the lifetime."""
    import time

    module = module_for(case, library, mode)
    script = Script()
    if case.prelude is not None:
        case.prelude(script)
    payload = dict(case.payload("long-token"), expires_in=86400, **extra)
    script.add(Expect("POST", token_url()), mock_response(json_payload=payload))
    credential = case.make(module, tmp_path, transport=mode.transport(script))
    info = call(mode, credential, "get_token_info", SCOPE)
    if info.refresh_on is None and not library.ours and not mode.is_async and not extra:
        return  # azure-identity's MSAL-based sync credentials expose no refresh_on unless the server sent one
    assert info.refresh_on is not None
    assert abs(info.refresh_on - (time.time() + refresh_in)) < 60
