"""azure-core pipelines for credentials (imported on first request, never at ``import azidentity``).

Users' pipeline keywords (``transport``, ``connection_verify``, ``proxies``, ``retry_*``,
``headers``, ``user_agent``, ``logging_enable``, ``policies``, ``per_call_policies``,
``per_retry_policies``) behave as in any Azure SDK client. Two deliberate differences:

- azure-core's ``NetworkTraceLoggingPolicy`` (enabled by ``logging_enable=True``) logs request
  bodies, i.e. client secrets and assertions. Credentials use :class:`EventLogPolicy` instead,
  which logs method, URL without query, status and duration, and never a body or secret header.
- ``direct=True`` (managed identity endpoints) builds a transport that ignores proxy
  environment variables: IMDS and the other host endpoints must never be proxied.

Bounds azure-core leaves open, closed here:

- ``Retry-After``: azure-core sleeps for whatever a server asks (``Retry-After: 999999`` is 11 days)
  and raises ``ValueError`` for a value that is neither a number nor an HTTP date. Here a hint is
  honoured up to :data:`RETRY_AFTER_MAX` seconds and a malformed one is ignored (backoff applies).
- Waiting between the retries of one request adds up to at most :data:`RETRY_WAIT_BUDGET` seconds
  (less if azure-core's ``timeout`` keyword is lower): a retry whose wait would exceed it is not made.
- Response bodies: :class:`BodyLimitPolicy` streams each response and keeps at most
  :data:`MAX_BODY` bytes (decompressed), so neither a huge nor an endless body (nor a gzip bomb)
  can exhaust memory; the driver reports the cut (``HttpResponse.truncated``).
- The credential's ``_sleep`` test seam replaces the retry policy's sleep too, so tests can prove
  these bounds without waiting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from azure.core.pipeline import AsyncPipeline, Pipeline, PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import (
    AsyncHTTPPolicy,
    AsyncRetryPolicy,
    CustomHookPolicy,
    HeadersPolicy,
    HttpLoggingPolicy,
    HTTPPolicy,
    ProxyPolicy,
    RetryPolicy,
    SansIOHTTPPolicy,
    UserAgentPolicy,
)

from .. import _tracing, log
from .._protocol.effects import MAX_BODY
from .._version import __version__

SDK_MONIKER = f"azidentity/{__version__}"

# Keywords consumed here rather than forwarded to the transport.
_PIPELINE_KEYS = ("policies", "per_call_policies", "per_retry_policies", "transport")
# A server's Retry-After is honoured up to this many seconds.
RETRY_AFTER_MAX = 60.0
# The waits between the retries of one request add up to at most this many seconds.
RETRY_WAIT_BUDGET = 60.0
_WAITED = "azidentity_waited"


class EventLogPolicy(SansIOHTTPPolicy[Any, Any]):
    """Request/Response events without bodies, queries or secret headers."""

    def on_request(self, request: PipelineRequest[Any]) -> None:
        request.context["azidentity_start"] = time.perf_counter()
        http = request.http_request
        log.emit(log.EVENT_REQUEST, logging.DEBUG, "%s %s", http.method, str(http.url).split("?", 1)[0])

    def on_response(self, request: PipelineRequest[Any], response: PipelineResponse[Any, Any]) -> None:
        start = request.context.get("azidentity_start", time.perf_counter())
        http = request.http_request
        log.emit(
            log.EVENT_RESPONSE,
            logging.DEBUG,
            "%s %s -> %s (%.0f ms)",
            http.method,
            str(http.url).split("?", 1)[0],
            response.http_response.status_code,
            (time.perf_counter() - start) * 1000,
        )


class _RetryEvents:
    """Logs retry decisions; bounds Retry-After and the total wait; sleeps through the ``_sleep`` seam."""

    sleeper: Callable[[float], Any] | None = None

    def get_retry_after(self, response: Any) -> float | None:
        from .._protocol.managed_identity.retry import retry_after_from

        hint = retry_after_from(response.http_response.headers, time.time())
        return None if hint is None else min(hint, RETRY_AFTER_MAX)

    def _wait(self, settings: Any, response: Any) -> float:
        """What azure-core's ``sleep`` waits before the next try: Retry-After if sent, else backoff."""
        hint = self.get_retry_after(response) if response is not None else None
        return hint if hint else max(float(self.get_backoff_time(settings)), 0.0)  # type: ignore[attr-defined]

    def increment(self, settings: Any, response: Any = None, error: Any = None) -> bool:
        status = getattr(getattr(response, "http_response", None), "status_code", None)
        if not super().increment(settings, response=response, error=error):  # type: ignore[misc]
            return False
        # azure-core passes the request (not a response) for transport errors: then it only backs off.
        wait = self._wait(
            settings, response if error is None and hasattr(response, "http_response") else None
        )
        budget = min(RETRY_WAIT_BUDGET, float(settings.get("timeout") or RETRY_WAIT_BUDGET))
        waited = float(settings.get(_WAITED, 0.0))
        if waited + wait > budget:
            log.emit(
                log.EVENT_RETRY,
                logging.DEBUG,
                "not retrying after %s: waiting %.1f s more would exceed the %.0f s retry budget",
                status if status is not None else error,
                wait,
                budget,
            )
            return False
        settings[_WAITED] = waited + wait
        log.emit(log.EVENT_RETRY, logging.DEBUG, "retrying after %s", status if status is not None else error)
        return True


class _EventRetryPolicy(_RetryEvents, RetryPolicy):  # type: ignore[type-arg]
    def sleep(self, settings: Any, transport: Any, response: Any = None) -> None:
        wait = self._wait(settings, response)
        if wait <= 0:
            return
        if self.sleeper is not None:
            self.sleeper(wait)
        elif hasattr(transport, "sleep"):  # as azure-core does, test doubles included
            transport.sleep(wait)
        else:
            time.sleep(wait)


class _AsyncEventRetryPolicy(_RetryEvents, AsyncRetryPolicy):  # type: ignore[type-arg]
    async def sleep(self, settings: Any, transport: Any, response: Any = None) -> None:
        wait = self._wait(settings, response)
        if wait <= 0:
            return
        if self.sleeper is not None:
            outcome = self.sleeper(wait)
        elif hasattr(transport, "sleep"):  # as azure-core does; a plain double's sleep may not be awaitable
            outcome = transport.sleep(wait)
        else:
            import asyncio

            outcome = asyncio.sleep(wait)
        if outcome is not None and hasattr(outcome, "__await__"):
            await outcome


# Where BodyLimitPolicy leaves what it read, in the pipeline response's context: (body, truncated).
BODY = "azidentity_body"


def _streams(http: Any) -> bool:
    """Whether ``http`` is one of azure-core's own response classes, which can be streamed.

    Decided by the class, not by ``hasattr``: a ``Mock`` answers every attribute, and
    ``Mock(spec=HttpResponse)`` even passes ``isinstance``; neither streams.
    """
    from azure.core.rest import AsyncHttpResponse, HttpResponse

    return issubclass(type(http), (HttpResponse, AsyncHttpResponse))


def _documented_body(http: Any) -> bytes:
    """The body through azure-core's documented surface only: ``body()`` if it gives bytes, else
    ``text()``."""
    for reader in ("body", "text"):
        method = getattr(http, reader, None)
        if not callable(method):
            continue
        try:
            value = method()
        except Exception:  # noqa: BLE001 - a double's unset member; try the next reader
            continue
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        if isinstance(value, str):
            return value.encode("utf-8")
    return b""


def _cut(body: bytes | bytearray) -> tuple[bytes, bool]:
    return bytes(body[:MAX_BODY]), len(body) > MAX_BODY


def _keep(response: PipelineResponse[Any, Any], body: bytes, truncated: bool, streamed: bool) -> None:
    response.context[BODY] = (body, truncated)
    if streamed:  # the stream is consumed: make what was read the response's content, as read() would
        http = response.http_response
        http._content = body
        if hasattr(http, "_decompressed_content"):  # aiohttp: the streamed chunks were decompressed already
            http._decompressed_content = True


class BodyLimitPolicy(HTTPPolicy[Any, Any]):
    """Next to the transport: read each response once, keeping at most MAX_BODY bytes of it.

    azure-core's own responses are streamed and the read stops there, so neither a huge nor an
    endless body (nor a gzip bomb) can exhaust memory. Any other response (a user's test double)
    is read through the documented surface, as azure-identity reads it, and then cut. Read errors
    surface here, inside the retry policy, so they are retried as azure-core retries them.
    """

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        request.context.options["stream"] = True
        response = self.next.send(request)
        http = response.http_response
        if not _streams(http):
            _keep(response, *_cut(_documented_body(http)), streamed=False)
            return response
        body = bytearray()
        try:
            for chunk in http.iter_bytes():
                body += chunk
                if len(body) > MAX_BODY:
                    break
        finally:
            http.close()
        _keep(response, *_cut(body), streamed=True)
        return response


class AsyncBodyLimitPolicy(AsyncHTTPPolicy[Any, Any]):
    __doc__ = BodyLimitPolicy.__doc__

    async def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        request.context.options["stream"] = True
        response = await self.next.send(request)
        http = response.http_response
        if not _streams(http):
            _keep(response, *_cut(_documented_body(http)), streamed=False)
            return response
        body = bytearray()
        try:
            async for chunk in http.iter_bytes():
                body += chunk
                if len(body) > MAX_BODY:
                    break
        finally:
            await http.close()
        _keep(response, *_cut(body), streamed=True)
        return response


def _policies(kwargs: dict[str, Any], retry: Any, direct: bool, limit: Any) -> list[Any]:
    if kwargs.get("policies") is not None:
        return [*kwargs["policies"], limit]
    proxy = ProxyPolicy() if direct else ProxyPolicy(**kwargs)
    policies: list[Any] = [
        HeadersPolicy(**kwargs),
        UserAgentPolicy(sdk_moniker=SDK_MONIKER, **kwargs),
        proxy,
        *kwargs.get("per_call_policies", ()),
        retry,
        *kwargs.get("per_retry_policies", ()),
        CustomHookPolicy(**kwargs),
        EventLogPolicy(),
        _tracing.http_policy(kwargs),
        HttpLoggingPolicy(**kwargs),
        limit,
    ]
    return policies


def _transport_kwargs(kwargs: dict[str, Any], direct: bool) -> dict[str, Any]:
    out = {k: v for k, v in kwargs.items() if k not in _PIPELINE_KEYS and k != "logging_enable"}
    if direct:
        out["use_env_settings"] = False
    return out


def build_sync(
    kwargs: dict[str, Any], *, direct: bool = False, sleep: Callable[[float], Any] | None = None
) -> Pipeline[Any, Any]:
    transport = kwargs.get("transport")
    if transport is None:
        # Not RequestsTransport: importing requests costs ~100 ms, a third of a short-lived
        # program's first token (see transport.py). transport=RequestsTransport() restores it.
        from .transport import StdlibTransport

        transport = StdlibTransport(**_transport_kwargs(kwargs, direct))
    retry = _EventRetryPolicy(**kwargs)
    retry.sleeper = sleep
    return Pipeline(transport=transport, policies=_policies(kwargs, retry, direct, BodyLimitPolicy()))


def build_async(
    kwargs: dict[str, Any], *, direct: bool = False, sleep: Callable[[float], Any] | None = None
) -> AsyncPipeline[Any, Any]:
    transport = kwargs.get("transport")
    if transport is None:
        try:
            from azure.core.pipeline.transport import AioHttpTransport  # noqa: F401 - aiohttp present?

            from .async_transport import default_async_transport
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError(
                "The async credentials need aiohttp: pip install 'azidentity[aio]', or pass transport=..."
            ) from error
        # AioHttpTransport, taking connection_verify as the sync transport does (CA directories too)
        transport = default_async_transport(**_transport_kwargs(kwargs, direct))
    retry = _AsyncEventRetryPolicy(**kwargs)
    retry.sleeper = sleep
    return AsyncPipeline(
        transport=transport, policies=_policies(kwargs, retry, direct, AsyncBodyLimitPolicy())
    )
