"""Users' test-double transports: what azure-core documents is all a response needs to offer.

Unit tests written for azure-identity pass ``transport=`` objects built from ``Mock`` / ``MagicMock`` or
plain functions, whose responses have only ``status_code``, ``headers``, ``text()`` and ``content_type``.
These tests hold the core (driver and pipeline) to that surface, and to the transport's lifecycle:
``with credential`` enters and exits the transport once, ``close()`` exits it. tests/compat covers every
credential; this file covers the mechanism with one credential per kind of double.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from unittest import mock

import pytest

import azidentity
import azidentity.aio
from azidentity import AuthenticationFailedError

TENANT = "tenant"
CLIENT = "client"
SCOPE = "https://vault.azure.net/.default"
TOKEN = {"access_token": "the-access-token", "expires_in": 3600, "token_type": "Bearer"}


def mock_response(status_code: int = 200, payload: Any = TOKEN, headers: dict[str, str] | None = None) -> Any:
    """A response with only the documented surface (as azure-identity's users build them)."""
    response = mock.Mock(status_code=status_code, headers=headers or {}, content_type="application/json")
    response.text = lambda encoding=None: json.dumps(payload)
    return response


class PlainResponse:
    """No Mock magic at all: exactly four members."""

    def __init__(self, status_code: int, payload: Any) -> None:
        self.status_code = status_code
        self.headers = {"Content-Type": "application/json"}
        self.content_type = "application/json"
        self._text = json.dumps(payload)

    def text(self, encoding: str | None = None) -> str:
        return self._text


def validating_send(responses: list[Any], seen: list[Any]) -> Any:
    def send(request: Any, **kwargs: Any) -> Any:
        seen.append(request)
        assert request.url == f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"
        assert request.body["client_id"] == CLIENT and request.body["scope"] == SCOPE  # form data, as a dict
        return responses.pop(0)

    return send


@pytest.mark.parametrize("make_response", [mock_response, lambda: PlainResponse(200, TOKEN)])
@pytest.mark.parametrize("transport_class", [mock.Mock, mock.MagicMock])
def test_sync_mock_transport_and_minimal_response(transport_class: Any, make_response: Any) -> None:
    seen: list[Any] = []
    transport = transport_class(send=validating_send([make_response()], seen))
    credential = azidentity.ClientSecretCredential(TENANT, CLIENT, "secret", transport=transport)
    token = credential.get_token(SCOPE)
    assert token.token == "the-access-token" and len(seen) == 1
    assert credential.get_token_info(SCOPE).token == "the-access-token" and len(seen) == 1


def test_sync_error_response_from_a_mock_is_rendered() -> None:
    payload = {
        "error": "invalid_client",
        "error_description": "AADSTS7000215: Invalid client secret provided.",
        "error_codes": [7000215],
    }
    transport = mock.Mock(send=validating_send([mock_response(401, payload)], []))
    credential = azidentity.ClientSecretCredential(TENANT, CLIENT, "secret", transport=transport)
    with pytest.raises(AuthenticationFailedError) as caught:
        credential.get_token(SCOPE)
    assert caught.value.error_code == "AADSTS7000215" and caught.value.status_code == 401
    assert "Invalid client secret provided" in str(caught.value)
    # The standard phrase, since the double has no reason.
    assert "RESPONSE 401 Unauthorized" in str(caught.value)


def test_sync_retry_through_a_mock_transport_uses_its_sleep() -> None:
    responses = [mock_response(503, {}), mock_response(503, {}), mock_response()]
    transport = mock.Mock(send=validating_send(responses, []))
    credential = azidentity.ClientSecretCredential(TENANT, CLIENT, "secret", transport=transport)
    assert credential.get_token(SCOPE).token == "the-access-token"
    # azure-core's first retry has no backoff; the second waits through the transport, doubles included
    assert transport.sleep.call_count == 1


def _future(value: Any) -> Any:
    future = asyncio.get_running_loop().create_future()
    future.set_result(value)
    return future


async def test_async_transport_from_a_plain_function_returning_a_future() -> None:
    seen: list[Any] = []
    send = validating_send([PlainResponse(200, TOKEN), mock_response()], seen)
    transport = mock.Mock(send=lambda request, **kwargs: _future(send(request, **kwargs)))
    credential = azidentity.aio.ClientSecretCredential(TENANT, CLIENT, "secret", transport=transport)
    assert (await credential.get_token(SCOPE)).token == "the-access-token"
    assert (await credential.get_token(SCOPE, enable_cae=True)).token == "the-access-token"
    assert len(seen) == 2


async def test_async_mock_transport_with_async_mock_send() -> None:
    seen: list[Any] = []
    transport = mock.Mock(send=mock.AsyncMock(side_effect=validating_send([mock_response()], seen)))
    credential = azidentity.aio.ClientSecretCredential(TENANT, CLIENT, "secret", transport=transport)
    info = await credential.get_token_info(SCOPE)
    assert info.token == "the-access-token" and transport.send.await_count == 1


async def test_async_retry_through_a_plain_transport() -> None:
    send = validating_send([mock_response(503, {}), mock_response(503, {}), mock_response()], [])
    transport = mock.Mock(send=lambda request, **kwargs: _future(send(request, **kwargs)))
    credential = azidentity.aio.ClientSecretCredential(TENANT, CLIENT, "secret", transport=transport)
    assert (await credential.get_token(SCOPE)).token == "the-access-token"


# -- the transport's lifecycle ------------------------------------------------------------------------


def test_with_enters_and_exits_the_transport_once() -> None:
    transport = mock.MagicMock(send=validating_send([mock_response()], []))
    with azidentity.ClientSecretCredential(TENANT, CLIENT, "secret", transport=transport) as credential:
        credential.get_token(SCOPE)
    assert transport.__enter__.call_count == 1
    assert transport.__exit__.call_count == 1


def test_close_exits_the_transport_even_if_unused_and_twice_is_harmless() -> None:
    transport = mock.MagicMock()
    credential = azidentity.ClientSecretCredential(TENANT, CLIENT, "secret", transport=transport)
    credential.close()
    assert transport.__exit__.call_count == 1
    credential.close()
    assert transport.__enter__.call_count == 0


async def test_async_with_uses_only_the_async_context_methods() -> None:
    transport = mock.MagicMock()
    transport.send = mock.AsyncMock(side_effect=validating_send([mock_response()], []))
    async with azidentity.aio.ClientSecretCredential(
        TENANT, CLIENT, "secret", transport=transport
    ) as credential:
        await credential.get_token(SCOPE)
    assert transport.__aenter__.await_count == 1 and transport.__aexit__.await_count == 1
    assert transport.__enter__.call_count == 0 and transport.__exit__.call_count == 0
    await credential.close()
    assert transport.__aexit__.await_count == 2


def test_chains_close_their_members() -> None:
    transports = [mock.MagicMock(), mock.MagicMock()]
    members = [azidentity.ClientSecretCredential(TENANT, CLIENT, "s", transport=t) for t in transports]
    with azidentity.ChainedTokenCredential(*members):
        pass
    assert [t.__enter__.call_count for t in transports] == [1, 1]
    assert [t.__exit__.call_count for t in transports] == [1, 1]
