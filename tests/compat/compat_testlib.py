"""Test doubles in the style azure-identity's users write them, for either library.

Everything here is what a user's unit test has at hand: ``unittest.mock`` transports whose ``send``
checks each request and answers with a mock response that has only ``status_code``, ``headers``,
``text()`` and ``content_type``; async transports whose ``send`` is a plain function returning a
future, or an ``AsyncMock``; ``mock.patch.dict(os.environ, ...)``. Nothing here knows either
library's internals, so every test runs unchanged against ``azure.identity`` and ``azidentity``.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import os
import stat
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import parse_qs, urlparse

from azure.core.credentials import AccessToken, AccessTokenInfo

AUTHORITY = "login.microsoftonline.com"
TENANT = "contoso-tenant"
OTHER_TENANT = "fabrikam-tenant"
CLIENT_ID = "client-id-1"
SCOPE = "https://vault.azure.net/.default"
OTHER_SCOPE = "https://storage.azure.com/.default"
EXPIRES_IN = 3600
GET_TOKEN_METHODS = ("get_token", "get_token_info")
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
OBO_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


# --- responses ----------------------------------------------------------------------------------------


def mock_response(
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    json_payload: Any = None,
    text: str | None = None,
    with_json: bool = False,
) -> mock.Mock:
    """A response as azure-identity's own tests build one: a plain ``Mock`` (any other attribute
    exists and returns a Mock) with ``status_code``, ``headers``, ``text()`` and ``content_type``.
    ``with_json`` adds ``json()``, which azure-identity itself calls on a few responses (the Azure
    Pipelines OIDC answer), so users' doubles for those have it."""
    response = mock.Mock(status_code=status_code, headers=dict(headers or {}))
    _fill(response, json_payload, text)
    if with_json:
        response.json = lambda: json_payload
    return response


def strict_response(
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    json_payload: Any = None,
    text: str | None = None,
) -> mock.Mock:
    """The same, but *only* those four members: touching anything else raises AttributeError."""
    response = mock.Mock(spec_set=["status_code", "headers", "text", "content_type"])
    response.status_code = status_code
    response.headers = dict(headers or {})
    _fill(response, json_payload, text)
    return response


RESPONSE_STYLES = {"Mock": mock_response, "spec_set": strict_response}


def _fill(response: mock.Mock, json_payload: Any, text: str | None) -> None:
    if json_payload is not None:
        body, content_type = json.dumps(json_payload), "application/json"
    else:
        body, content_type = text or "", "text/plain"
    response.text = lambda encoding=None: body
    response.headers["content-type"] = content_type
    response.content_type = content_type


def token_payload(access_token: str, expires_in: int = EXPIRES_IN, **extra: Any) -> dict[str, Any]:
    return dict({"access_token": access_token, "expires_in": expires_in, "token_type": "Bearer"}, **extra)


def error_payload(error: str, description: str, code: int) -> dict[str, Any]:
    return {
        "error": error,
        "error_description": f"AADSTS{code}: {description}",
        "error_codes": [code],
        "timestamp": "2026-01-01 00:00:00Z",
        "trace_id": "00000000-0000-0000-0000-000000000001",
        "correlation_id": "00000000-0000-0000-0000-000000000002",
    }


def client_info(uid: str, utid: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"uid": uid, "utid": utid}).encode()).decode().rstrip("=")


def id_token(username: str, tenant: str, object_id: str, audience: str = CLIENT_ID, **extra: Any) -> str:
    """An unsigned id_token (header.payload.signature) with the claims clients read."""
    now = int(time.time())
    claims = {
        **extra,
        "iss": f"https://{AUTHORITY}/{tenant}/v2.0",
        "sub": "subject",
        "aud": audience,
        "exp": now + 3600,
        "iat": now,
        "nbf": now,
        "tid": tenant,
        "oid": object_id,
        "preferred_username": username,
    }

    def part(value: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def account_token_payload(
    access_token: str,
    username: str = "user@contoso.com",
    client_id: str = CLIENT_ID,
    nonce: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A token for a user, naming the account (client_info, id_token), as on-behalf-of answers."""
    claims = {"nonce": nonce} if nonce else {}
    return token_payload(
        access_token,
        client_info=client_info("user-object-id", TENANT),
        id_token=id_token(username, TENANT, "user-object-id", audience=client_id, **claims),
        **extra,
    )


def user_token_payload(
    access_token: str,
    username: str = "user@contoso.com",
    client_id: str = CLIENT_ID,
    nonce: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """What Entra ID answers a user's sign-in: tokens, a refresh token, and the account."""
    return account_token_payload(
        access_token, username, client_id, nonce, refresh_token=f"refresh-{access_token}", **extra
    )


# --- requests -----------------------------------------------------------------------------------------


def form_of(request: Any) -> dict[str, str]:
    """A request's form fields, however the library built the request."""
    body = getattr(request, "body", None)
    if isinstance(body, dict):
        return {k: v.decode() if isinstance(v, bytes) else str(v) for k, v in body.items()}
    if isinstance(body, (bytes, bytearray)):
        body = body.decode()
    if isinstance(body, str) and body:
        return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
    return {}


def query_of(request: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(request.url).query, keep_blank_values=True).items()}


def path_of(request: Any) -> str:
    return urlparse(request.url).path


def header(request: Any, name: str) -> str | None:
    for key, value in request.headers.items():
        if key.lower() == name.lower():
            return str(value)
    return None


def is_discovery(request: Any) -> bool:
    """MSAL's metadata requests (azure-identity's sync credentials send them before a token request)."""
    return request.method == "GET" and any(
        part in request.url
        for part in ("/.well-known/openid-configuration", "/discovery/instance", "/userrealm/")
    )


def discovery_response(request: Any) -> mock.Mock:
    parsed = urlparse(request.url)
    base = f"{parsed.scheme}://{parsed.netloc}"
    if "/userrealm/" in request.url:
        return mock_response(json_payload={"account_type": "Managed", "domain_name": "contoso.com"})
    if "/discovery/instance" in request.url:
        return mock_response(
            json_payload={
                "tenant_discovery_endpoint": f"{base}/{TENANT}/v2.0/.well-known/openid-configuration",
                "api-version": "1.1",
                "metadata": [],
            }
        )
    tenant = parsed.path.strip("/").split("/")[0]
    return mock_response(
        json_payload={
            "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
            "issuer": f"{base}/{tenant}/v2.0",
        }
    )


@dataclass
class Expect:
    """What one request must look like; ``check`` raises AssertionError naming every mismatch."""

    method: str | None = None
    url: str | None = None  # without the query
    form: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    absent_form: Iterable[str] = ()
    check: Callable[[Any], None] | None = None

    def verify(self, request: Any) -> None:
        problems = []
        if self.method and request.method != self.method:
            problems.append(f"method {request.method!r}, expected {self.method!r}")
        if self.url and request.url.split("?", 1)[0] != self.url:
            problems.append(f"url {request.url!r}, expected {self.url!r}")
        form, query = form_of(request), query_of(request)
        for name, value in self.form.items():
            if form.get(name) != value:
                problems.append(f"form field {name}={form.get(name)!r}, expected {value!r}")
        for name in self.absent_form:
            if name in form:
                problems.append(f"form field {name} present, expected absent")
        for name, value in self.query.items():
            if query.get(name) != value:
                problems.append(f"query parameter {name}={query.get(name)!r}, expected {value!r}")
        for name, value in self.headers.items():
            if header(request, name) != value:
                problems.append(f"header {name}={header(request, name)!r}, expected {value!r}")
        assert not problems, f"unexpected {request.method} {request.url}:\n  " + "\n  ".join(problems)
        if self.check is not None:
            self.check(request)


class Dynamic:
    """A response made when the request arrives (from something the test learns on the way)."""

    def __init__(self, build: Callable[[Any], Any]) -> None:
        self.build = build


class Script:
    """A transport's ``send``: checks each request in turn against an :class:`Expect` and answers with
    the response that goes with it. MSAL's metadata requests are answered on the side (they are that
    library's business, not what the test is about) and not counted in :attr:`requests`."""

    def __init__(self, *exchanges: tuple[Expect, Any]) -> None:
        self._exchanges = list(exchanges)
        self.requests: list[Any] = []
        self.discovery: list[Any] = []

    def add(self, expect: Expect, response: Any) -> None:
        self._exchanges.append((expect, response))

    def __call__(self, request: Any, **kwargs: Any) -> Any:
        # A credential's own keywords must not leak into the transport call.
        assert "claims" not in kwargs and "tenant_id" not in kwargs and "enable_cae" not in kwargs, kwargs
        if is_discovery(request):
            self.discovery.append(request)
            return discovery_response(request)
        if not self._exchanges:
            raise AssertionError(f"unexpected request: {request.method} {request.url}")
        expect, response = self._exchanges.pop(0)
        self.requests.append(request)
        expect.verify(request)
        if isinstance(response, BaseException):
            raise response
        if isinstance(response, Dynamic):
            return response.build(request)
        return response

    @property
    def unanswered(self) -> int:
        return len(self._exchanges)


# --- transports ----------------------------------------------------------------------------------------


def completed_future(result: Any) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_result(result)
    return future


def failed_future(error: BaseException) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_exception(error)
    return future


def sync_transport(send: Callable[..., Any]) -> mock.MagicMock:
    """``MagicMock`` transport (it supports ``with``) whose ``send`` wraps the given function."""
    return mock.MagicMock(send=mock.Mock(wraps=send))


def future_transport(send: Callable[..., Any]) -> mock.MagicMock:
    """Async transport whose ``send`` is a plain function returning a completed future."""

    def send_returning_future(request: Any, **kwargs: Any) -> asyncio.Future[Any]:
        try:
            return completed_future(send(request, **kwargs))
        except Exception as error:  # the future carries a transport error, as a real one would
            return failed_future(error)

    return mock.MagicMock(send=mock.Mock(wraps=send_returning_future))


def async_mock_transport(send: Callable[..., Any]) -> mock.AsyncMock:
    """Async transport built from ``AsyncMock``: ``await transport.send(...)`` returns ``send``'s result."""
    return mock.AsyncMock(send=mock.AsyncMock(side_effect=send))


class Mode:
    """sync, or one of two ways users build async transports; :meth:`run` awaits what needs awaiting."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.is_async = name != "sync"
        self._loop = asyncio.new_event_loop() if self.is_async else None

    def module(self, library: Any) -> Any:
        return library.aio if self.is_async else library.sync

    def transport(self, send: Callable[..., Any]) -> Any:
        if self.name == "sync":
            return sync_transport(send)
        if self.name == "async-future":
            return future_transport(send)
        return async_mock_transport(send)

    def run(self, value: Any) -> Any:
        if self._loop is not None and asyncio.iscoroutine(value):
            return self._loop.run_until_complete(value)
        return value

    def close(self) -> None:
        if self._loop is not None:
            self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()

    # The transport calls a credential makes when it closes or is used as a context manager.
    def enters(self, transport: Any) -> int:
        return int((transport.__aenter__ if self.is_async else transport.__enter__).call_count)

    def exits(self, transport: Any) -> int:
        return int((transport.__aexit__ if self.is_async else transport.__exit__).call_count)

    def other_enters_and_exits(self, transport: Any) -> int:
        """The sync protocol's calls on an async transport (or the reverse): always 0."""
        if self.is_async:
            return int(transport.__enter__.call_count + transport.__exit__.call_count)
        return int(transport.__aenter__.call_count + transport.__aexit__.call_count)

    def close_credential(self, credential: Any) -> None:
        self.run(credential.close())

    def use(self, credential: Any, body: Callable[[], Any] = lambda: None) -> Any:
        """``with credential:`` (or ``async with``), running ``body`` inside."""
        if not self.is_async:
            with credential as entered:
                assert entered is credential
                return body()

        async def inside() -> Any:
            async with credential as entered:
                assert entered is credential
                return body()

        return self.run(inside())


def call(mode: Mode, credential: Any, method: str, *scopes: str, **kwargs: Any) -> Any:
    """``credential.get_token(*scopes, **kwargs)`` or ``get_token_info(*scopes, options=kwargs)``."""
    if method == "get_token_info":
        result = mode.run(credential.get_token_info(*scopes, options=kwargs or None))
        assert isinstance(result, AccessTokenInfo), type(result)
    else:
        result = mode.run(credential.get_token(*scopes, **kwargs))
        assert isinstance(result, AccessToken), type(result)
    return result


def assert_expires_in(token: Any, seconds: int = EXPIRES_IN, slack: int = 30) -> None:
    expected = time.time() + seconds
    assert abs(token.expires_on - expected) <= slack, (token.expires_on, expected)


# --- files -------------------------------------------------------------------------------------------------


def write_executable(directory: Path, name: str, script: str) -> Path:
    path = directory / name
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def self_signed_pem() -> tuple[bytes, bytes]:
    """A fresh RSA certificate with its key, as PEM (certificate first, then key), and the DER certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "compat-test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem, certificate.public_bytes(serialization.Encoding.DER)


def certificate_formats(password: str) -> dict[str, bytes]:
    """One fresh certificate and key as an encrypted PEM and as PKCS#12, both under ``password``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    pem, _ = self_signed_pem()
    key = serialization.load_pem_private_key(pem, password=None)
    certificate = x509.load_pem_x509_certificate(pem)
    encryption = serialization.BestAvailableEncryption(password.encode())
    encrypted_pem = certificate.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    pfx = pkcs12.serialize_key_and_certificates(b"compat", key, certificate, None, encryption)  # type: ignore[arg-type]
    return {"encrypted PEM": encrypted_pem, "PKCS#12": pfx}


def jwt_parts(assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
    def decode(part: str) -> dict[str, Any]:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # type: ignore[no-any-return]

    header_part, payload_part, _ = assertion.split(".")
    return decode(header_part), decode(payload_part)


def clean_environment() -> dict[str, str]:
    """The environment without any variable either library reads (a user's test starts from that)."""
    prefixes = ("AZURE_", "IDENTITY_", "MSI_", "IMDS_", "SYSTEM_OIDC", "DEFAULT_IDENTITY", "AZIDENTITY_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


# --- libraries ----------------------------------------------------------------------------------------


@dataclass
class Library:
    """One library under test: ``sync`` is ``azure.identity`` / ``azidentity``, ``aio`` its async module."""

    name: str
    sync: Any
    aio: Any

    @property
    def ours(self) -> bool:
        return self.name == "azidentity"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sync, name)

    def __repr__(self) -> str:
        return self.name


def skip_theirs(library: Library, reason: str, when: bool = True) -> None:
    """A deliberate difference (README's Differences table names it): azure-identity is not run."""
    if not library.ours and when:
        import pytest

        pytest.skip(f"azure-identity: {reason}")
