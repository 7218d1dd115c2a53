"""What a migrating test notices outside token requests: constructor errors (types and texts),
AuthenticationRecord, tenant IDs, exceptions' attributes, get_bearer_token_provider, pickling."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.exceptions import ClientAuthenticationError

from .compat_testlib import (
    AUTHORITY,
    CLIENT_ID,
    SCOPE,
    TENANT,
    Expect,
    Library,
    Mode,
    Script,
    call,
    certificate_formats,
    error_payload,
    mock_response,
    self_signed_pem,
    token_payload,
)

PEM, DER = self_signed_pem()


# --- constructors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    ("args", "text"),
    [
        (("", CLIENT_ID, "secret"), "tenant_id"),
        ((TENANT, "", "secret"), "client_id"),
        ((TENANT, CLIENT_ID, ""), "secret"),
    ],
)
def test_client_secret_credential_refuses_empty_values(
    library: Library, is_async: bool, args: Any, text: str
) -> None:
    module = library.aio if is_async else library.sync
    with pytest.raises(ValueError, match=text):
        module.ClientSecretCredential(*args)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
class TestOnBehalfOfConstruction:
    """azure-identity's exception types and texts, which users' tests match."""

    def make(self, library: Library, is_async: bool, **kwargs: Any) -> Any:
        module = library.aio if is_async else library.sync
        return module.OnBehalfOfCredential(TENANT, CLIENT_ID, **kwargs)

    def test_no_client_credential(self, library: Library, is_async: bool) -> None:
        with pytest.raises(
            TypeError,
            match='Either "client_certificate", "client_secret", or "client_assertion_func" must be provided',
        ):
            self.make(library, is_async, user_assertion="assertion")

    @pytest.mark.parametrize("secret", ["", None])
    def test_empty_secret_is_no_client_credential(
        self, library: Library, is_async: bool, secret: Any
    ) -> None:
        with pytest.raises(TypeError):
            self.make(library, is_async, client_secret=secret, user_assertion="assertion")

    def test_empty_user_assertion(self, library: Library, is_async: bool) -> None:
        with pytest.raises(TypeError, match='"user_assertion" must not be empty.'):
            self.make(library, is_async, client_secret="secret", user_assertion="")

    def test_empty_user_assertion_is_checked_first(self, library: Library, is_async: bool) -> None:
        with pytest.raises(TypeError, match="user_assertion"):
            self.make(library, is_async, user_assertion="")

    def test_secret_and_certificate(self, library: Library, is_async: bool) -> None:
        with pytest.raises(
            ValueError, match='Specifying both "client_certificate" and "client_secret" is not valid.'
        ):
            self.make(
                library, is_async, client_secret="secret", client_certificate=PEM, user_assertion="assertion"
            )

    @pytest.mark.parametrize("other", ["client_secret", "client_certificate"])
    def test_assertion_func_and_another(self, library: Library, is_async: bool, other: str) -> None:
        value = PEM if other == "client_certificate" else "secret"
        with pytest.raises(ValueError, match="It is invalid to specify more than one of the following"):
            self.make(
                library,
                is_async,
                client_assertion_func=lambda: "a",
                user_assertion="assertion",
                **{other: value},
            )

    def test_invalid_certificate(self, library: Library, is_async: bool) -> None:
        with pytest.raises(
            ValueError, match='"client_certificate" is not a valid certificate in PEM or PKCS12 format'
        ):
            self.make(library, is_async, client_certificate=b"not a certificate", user_assertion="assertion")


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_certificate_credential_needs_a_certificate(library: Library, is_async: bool) -> None:
    module = library.aio if is_async else library.sync
    with pytest.raises(ValueError):
        module.CertificateCredential(TENANT, CLIENT_ID)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_workload_identity_without_configuration(library: Library, is_async: bool) -> None:
    module = library.aio if is_async else library.sync
    with pytest.raises(ValueError, match="WorkloadIdentityCredential"):
        module.WorkloadIdentityCredential()


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_workload_identity_reads_the_environment(library: Library, is_async: bool, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("federated")
    env = {
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": CLIENT_ID,
        "AZURE_FEDERATED_TOKEN_FILE": str(token_file),
    }
    with mock.patch.dict(os.environ, env):
        (library.aio if is_async else library.sync).WorkloadIdentityCredential()


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    "missing", ["tenant_id", "client_id", "service_connection_id", "system_access_token"]
)
def test_pipelines_credential_needs_every_argument(library: Library, is_async: bool, missing: str) -> None:
    kwargs = {
        "tenant_id": TENANT,
        "client_id": CLIENT_ID,
        "service_connection_id": "c",
        "system_access_token": "t",
    }
    kwargs[missing] = ""
    with pytest.raises(ValueError):
        (library.aio if is_async else library.sync).AzurePipelinesCredential(**kwargs)


@pytest.mark.parametrize("method", ["get_token", "get_token_info"])
def test_pipelines_credential_outside_a_pipeline(library: Library, sync_or_async: Mode, method: str) -> None:
    credential = sync_or_async.module(library).AzurePipelinesCredential(
        tenant_id=TENANT, client_id=CLIENT_ID, service_connection_id="c", system_access_token="t"
    )
    with pytest.raises(
        library.CredentialUnavailableError,
        match="Missing value for the SYSTEM_OIDCREQUESTURI environment variable",
    ):
        call(sync_or_async, credential, method, SCOPE)


@pytest.mark.parametrize("method", ["get_token", "get_token_info"])
def test_environment_credential_unconfigured_is_unavailable(
    library: Library, sync_or_async: Mode, method: str
) -> None:
    credential = sync_or_async.module(library).EnvironmentCredential()
    with pytest.raises(library.CredentialUnavailableError):
        call(sync_or_async, credential, method, SCOPE)


@pytest.mark.parametrize(
    "variables", [{"AZURE_TENANT_ID": TENANT}, {"AZURE_CLIENT_ID": CLIENT_ID, "AZURE_USERNAME": "user"}]
)
def test_environment_credential_incomplete_is_unavailable(
    library: Library, variables: dict[str, str]
) -> None:
    with mock.patch.dict(os.environ, variables):
        credential = library.sync.EnvironmentCredential()
    with pytest.raises(library.CredentialUnavailableError):
        credential.get_token(SCOPE)


def test_chained_credential_needs_a_credential(library: Library) -> None:
    with pytest.raises(ValueError):
        library.sync.ChainedTokenCredential()


@pytest.mark.parametrize(
    "config", [{"client_id": "a", "object_id": "b"}, {"object_id": "a", "resource_id": "b"}]
)
def test_managed_identity_config_with_two_ids(library: Library, config: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        library.sync.ManagedIdentityCredential(identity_config=config)


def test_managed_identity_client_id_and_identity_config(library: Library) -> None:
    with pytest.raises(ValueError):
        library.sync.ManagedIdentityCredential(client_id="a", identity_config={"object_id": "b"})


# --- AuthenticationRecord ----------------------------------------------------------------------------------

RECORD_ARGS = (TENANT, CLIENT_ID, AUTHORITY, f"uid.{TENANT}", "user@contoso.com")


def test_authentication_record_attributes(library: Library) -> None:
    record = library.AuthenticationRecord(*RECORD_ARGS)
    assert (
        record.tenant_id,
        record.client_id,
        record.authority,
        record.home_account_id,
        record.username,
    ) == RECORD_ARGS


def test_authentication_record_vars(library: Library) -> None:
    """Users serialize records their own way (``vars(record)``, ``record.__dict__``): the names are
    azure-identity's."""
    record = library.AuthenticationRecord(*RECORD_ARGS)
    assert vars(record) == {
        "_authority": AUTHORITY,
        "_client_id": CLIENT_ID,
        "_home_account_id": f"uid.{TENANT}",
        "_tenant_id": TENANT,
        "_username": "user@contoso.com",
    }
    assert record.__dict__ == vars(record)


def test_authentication_record_serialization(library: Library) -> None:
    record = library.AuthenticationRecord(*RECORD_ARGS)
    assert json.loads(record.serialize()) == {
        "authority": AUTHORITY,
        "clientId": CLIENT_ID,
        "homeAccountId": f"uid.{TENANT}",
        "tenantId": TENANT,
        "username": "user@contoso.com",
        "version": "1.0",
    }
    again = library.AuthenticationRecord.deserialize(record.serialize())
    assert vars(again) == vars(record)


@pytest.mark.parametrize("version", ["42", None])
def test_authentication_record_unknown_version(library: Library, version: Any) -> None:
    data = json.loads(library.AuthenticationRecord(*RECORD_ARGS).serialize())
    data["version"] = version
    with pytest.raises(ValueError, match=f'Unexpected version "{version}"'):
        library.AuthenticationRecord.deserialize(json.dumps(data))


def test_authentication_record_pickles(library: Library) -> None:
    record = library.AuthenticationRecord(*RECORD_ARGS)
    assert vars(pickle.loads(pickle.dumps(record))) == vars(record)


def test_authentication_record_copies(library: Library) -> None:
    import copy

    record = library.AuthenticationRecord(*RECORD_ARGS)
    assert vars(copy.deepcopy(record)) == vars(record)
    assert vars(copy.copy(record)) == vars(record)


# --- tenants -----------------------------------------------------------------------------------------------

# azure-identity checks tenants against letters, digits, '-' and '.' in these credentials (so do we) ...
STRICT = [
    "ClientSecretCredential",
    "CertificateCredential",
    "OnBehalfOfCredential",
    "AzurePipelinesCredential",
]
# ... and takes any string in these, where we refuse only what would change the request's path.
LENIENT = ["ClientAssertionCredential", "AuthorizationCodeCredential", "WorkloadIdentityCredential"]
UNUSUAL_BUT_ACCEPTED = ["tenant_1", "tenant@contoso", "tenant:1", "tenant!", "tenänt"]
PATH_CHANGING = ["a/b", "a?b", "a#b", "a%2Fb", "a b", "a\tb", ".", ".."]


def build(name: str, module: Any, tenant: str, tmp_path: Path, **kwargs: Any) -> Any:
    token_file = tmp_path / "federated-token"
    token_file.write_text("federated-token-value")
    return {
        "ClientSecretCredential": lambda: module.ClientSecretCredential(
            tenant, CLIENT_ID, "secret", **kwargs
        ),
        "CertificateCredential": lambda: module.CertificateCredential(
            tenant, CLIENT_ID, certificate_data=PEM, **kwargs
        ),
        "OnBehalfOfCredential": lambda: module.OnBehalfOfCredential(
            tenant, CLIENT_ID, client_secret="s", user_assertion="a", **kwargs
        ),
        "AzurePipelinesCredential": lambda: module.AzurePipelinesCredential(
            tenant_id=tenant,
            client_id=CLIENT_ID,
            service_connection_id="c",
            system_access_token="t",
            **kwargs,
        ),
        "ClientAssertionCredential": lambda: module.ClientAssertionCredential(
            tenant, CLIENT_ID, lambda: "assertion", **kwargs
        ),
        "AuthorizationCodeCredential": lambda: module.AuthorizationCodeCredential(
            tenant, CLIENT_ID, "code", "http://localhost:8400", **kwargs
        ),
        "WorkloadIdentityCredential": lambda: module.WorkloadIdentityCredential(
            tenant_id=tenant, client_id=CLIENT_ID, token_file_path=str(token_file), **kwargs
        ),
    }[name]()


@pytest.mark.parametrize("name", STRICT + LENIENT)
@pytest.mark.parametrize(
    "tenant", ["c878a2ab-8ef4-413b-83a0-199afb84d7fb", "contoso.onmicrosoft.com", "organizations", "common"]
)
def test_tenant_ids(library: Library, name: str, tenant: str, tmp_path: Path) -> None:
    build(name, library.sync, tenant, tmp_path)


@pytest.mark.parametrize("name", STRICT)
@pytest.mark.parametrize(
    "tenant", ["my tenant", "my_tenant", "tenant@contoso", "/", "\\", '"my-tenant"', "'my-tenant'"]
)
def test_strict_tenant_ids_are_refused(library: Library, name: str, tenant: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        build(name, library.sync, tenant, tmp_path)


@pytest.mark.parametrize("name", LENIENT)
@pytest.mark.parametrize("tenant", UNUSUAL_BUT_ACCEPTED)
def test_any_tenant_id_that_keeps_the_path(
    library: Library, mode: Mode, name: str, tenant: str, tmp_path: Path
) -> None:
    """These credentials take the tenant as given and send it in the token URL's path."""
    sent: list[str] = []

    def send(request: Any, **kwargs: Any) -> Any:
        sent.append(request.url)
        return mock_response(json_payload=token_payload("tenant-token"))

    credential = build(name, mode.module(library), tenant, tmp_path, transport=mode.transport(send))
    assert call(mode, credential, "get_token", SCOPE).token == "tenant-token"
    (url,) = sent
    from urllib.parse import unquote, urlparse

    assert unquote(urlparse(url).path) == f"/{tenant}/oauth2/v2.0/token"


@pytest.mark.parametrize("name", LENIENT + STRICT)
@pytest.mark.parametrize("tenant", PATH_CHANGING)
def test_tenant_ids_that_change_the_path_are_refused(
    library: Library, name: str, tenant: str, tmp_path: Path
) -> None:
    """A deliberate difference (README: Tenant IDs): azure-identity sends these into the URL."""
    if not library.ours:
        pytest.skip(
            "azure-identity: takes these tenant IDs in ClientAssertion-, AuthorizationCode- and "
            "WorkloadIdentityCredential (README: Tenant IDs)"
            if name in LENIENT
            else "covered above"
        )
    with pytest.raises(ValueError, match="tenant"):
        build(name, library.sync, tenant, tmp_path)


@pytest.mark.parametrize("tenant", UNUSUAL_BUT_ACCEPTED)
def test_request_tenant_is_taken_as_given(library: Library, mode: Mode, tenant: str) -> None:
    """azure-identity checks no charset for a request's tenant_id (only the developer tools do)."""
    sent: list[str] = []

    def send(request: Any, **kwargs: Any) -> Any:
        sent.append(request.url)
        return mock_response(json_payload=token_payload("tenant-token"))

    credential = mode.module(library).ClientAssertionCredential(
        TENANT,
        CLIENT_ID,
        lambda: "assertion",
        additionally_allowed_tenants=["*"],
        transport=mode.transport(send),
    )
    assert call(mode, credential, "get_token", SCOPE, tenant_id=tenant).token == "tenant-token"
    from urllib.parse import unquote, urlparse

    assert unquote(urlparse(sent[0]).path) == f"/{tenant}/oauth2/v2.0/token"


@pytest.mark.parametrize("tenant", PATH_CHANGING)
def test_request_tenant_that_changes_the_path_is_refused(library: Library, tenant: str) -> None:
    if not library.ours:
        pytest.skip("azure-identity: sends these into the URL (README: Tenant IDs)")
    credential = library.sync.ClientAssertionCredential(
        TENANT, CLIENT_ID, lambda: "assertion", additionally_allowed_tenants=["*"], transport=mock.MagicMock()
    )
    with pytest.raises(ValueError, match="tenant"):
        credential.get_token(SCOPE, tenant_id=tenant)


# --- certificates ------------------------------------------------------------------------------------------

CERTIFICATE_PASSWORD = "certificate-password"
FORMATS = certificate_formats(CERTIFICATE_PASSWORD)


@pytest.mark.parametrize("kind", list(FORMATS))
@pytest.mark.parametrize(
    "password", [CERTIFICATE_PASSWORD, CERTIFICATE_PASSWORD.encode()], ids=["str", "bytes"]
)
def test_certificate_with_a_password(library: Library, mode: Mode, kind: str, password: Any) -> None:
    script = Script(
        (
            Expect(
                "POST",
                form={"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
            ),
            mock_response(json_payload=token_payload("certificate-token")),
        )
    )
    credential = mode.module(library).CertificateCredential(
        TENANT, CLIENT_ID, certificate_data=FORMATS[kind], password=password, transport=mode.transport(script)
    )
    assert call(mode, credential, "get_token", SCOPE).token == "certificate-token"


@pytest.mark.parametrize("kind", list(FORMATS))
def test_certificate_with_a_wrong_password(library: Library, kind: str) -> None:
    with pytest.raises(ValueError):
        library.sync.CertificateCredential(
            TENANT, CLIENT_ID, certificate_data=FORMATS[kind], password="wrong"
        )


def test_certificate_without_a_private_key(library: Library) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    certificate_only = x509.load_der_x509_certificate(DER).public_bytes(Encoding.PEM)
    with pytest.raises(ValueError):
        library.sync.CertificateCredential(TENANT, CLIENT_ID, certificate_data=certificate_only)


# --- pipelines, assertions ---------------------------------------------------------------------------------

OIDC_URI = "https://pipelines.example.test/oidc/token"


@pytest.mark.parametrize(
    "response",
    [
        mock_response(401, json_payload={"message": "the system access token is not valid"}, with_json=True),
        mock_response(200, json_payload={"no": "token"}, with_json=True),
    ],
    ids=["401", "no oidcToken"],
)
def test_pipelines_oidc_failure(library: Library, response: Any) -> None:
    with mock.patch.dict(os.environ, {"SYSTEM_OIDCREQUESTURI": OIDC_URI}):
        script = Script((Expect("POST", OIDC_URI), response))
        credential = library.sync.AzurePipelinesCredential(
            tenant_id=TENANT,
            client_id=CLIENT_ID,
            service_connection_id="c",
            system_access_token="t",
            transport=mock.MagicMock(send=mock.Mock(wraps=script)),
        )
        with pytest.raises(ClientAuthenticationError) as raised:
            credential.get_token(SCOPE)
    assert not isinstance(raised.value, library.CredentialUnavailableError)
    assert script.unanswered == 0


def test_assertion_callback_that_raises(library: Library, mode: Mode) -> None:
    """The callback's error reaches the caller with its message. azure-identity lets it through as is;
    azidentity raises CredentialUnavailableError from it (README: Assertion callback errors)."""

    def broken() -> str:
        raise RuntimeError("no assertion today")

    script = Script()
    credential = mode.module(library).ClientAssertionCredential(
        TENANT, CLIENT_ID, broken, transport=mode.transport(script)
    )
    expected = library.CredentialUnavailableError if library.ours else RuntimeError
    with pytest.raises(expected, match="no assertion today") as raised:
        call(mode, credential, "get_token", SCOPE)
    if library.ours:
        assert isinstance(raised.value.__cause__, RuntimeError)
    assert script.requests == []


# --- exceptions ---------------------------------------------------------------------------------------------


def test_error_has_message_and_response(library: Library, mode: Mode) -> None:
    response = mock_response(
        401, json_payload=error_payload("invalid_client", "Invalid client secret provided.", 7000215)
    )
    script = Script((Expect("POST"), response))
    credential = mode.module(library).ClientAssertionCredential(
        TENANT, CLIENT_ID, lambda: "a", transport=mode.transport(script)
    )
    with pytest.raises(ClientAuthenticationError) as raised:
        call(mode, credential, "get_token", SCOPE)
    assert "AADSTS7000215" in raised.value.message
    assert raised.value.status_code == 401
    assert raised.value.response is not None and raised.value.response.status_code == 401


def test_credential_unavailable_error_is_a_client_authentication_error(library: Library) -> None:
    error = library.CredentialUnavailableError("no")
    assert isinstance(error, ClientAuthenticationError)
    assert error.message == "no" and str(error) == "no"
    required = library.AuthenticationRequiredError(["scope"], claims="c")
    assert isinstance(required, library.CredentialUnavailableError)
    assert list(required.scopes) == ["scope"] and required.claims == "c"
    assert "authenticate" in str(required)


# --- get_bearer_token_provider --------------------------------------------------------------------------


class OnlyGetToken:
    def __init__(self) -> None:
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls += 1
        return AccessToken("get-token-token", 2**31)


class OnlyGetTokenInfo:
    def __init__(self) -> None:
        self.calls = 0

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        self.calls += 1
        return AccessTokenInfo("info-token", 2**31)


@pytest.mark.parametrize("cls", [OnlyGetToken, OnlyGetTokenInfo])
def test_bearer_token_provider(library: Library, cls: type) -> None:
    credential = cls()
    provider = library.sync.get_bearer_token_provider(credential, SCOPE)
    expected = "get-token-token" if cls is OnlyGetToken else "info-token"
    assert provider() == expected and provider() == expected
    assert credential.calls == 1  # the token is kept until it needs refreshing


@pytest.mark.parametrize("only", ["get_token", "get_token_info"])
async def test_async_bearer_token_provider(library: Library, only: str) -> None:
    value = AccessToken("t", 2**31) if only == "get_token" else AccessTokenInfo("t", 2**31)
    credential = mock.Mock(spec_set=[only], **{only: mock.AsyncMock(return_value=value)})
    provider = library.aio.get_bearer_token_provider(credential, SCOPE)
    assert await provider() == "t"
    assert await provider() == "t"
    assert getattr(credential, only).await_count == 1


def test_bearer_token_provider_with_a_real_credential(library: Library) -> None:
    script = Script((Expect("POST"), mock_response(json_payload=token_payload("provided-token"))))
    credential = library.sync.ClientAssertionCredential(
        TENANT, CLIENT_ID, lambda: "a", transport=mock.MagicMock(send=mock.Mock(wraps=script))
    )
    assert library.sync.get_bearer_token_provider(credential, SCOPE)() == "provided-token"


# --- pickling -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build_credential",
    [
        lambda m: m.ClientSecretCredential(TENANT, CLIENT_ID, "secret"),
        lambda m: m.CertificateCredential(TENANT, CLIENT_ID, certificate_data=PEM),
        lambda m: m.DefaultAzureCredential(),
        lambda m: m.AzureCliCredential(),
    ],
    ids=["ClientSecretCredential", "CertificateCredential", "DefaultAzureCredential", "AzureCliCredential"],
)
def test_pickling(library: Library, build_credential: Any) -> None:
    credential = build_credential(library.sync)
    again = pickle.loads(pickle.dumps(credential))
    assert type(again) is type(credential)
