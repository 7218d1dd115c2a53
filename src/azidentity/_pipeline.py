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

from . import log
from ._version import __version__

SDK_MONIKER = f"azidentity/{__version__}"

# Keywords consumed here rather than forwarded to the transport.
_PIPELINE_KEYS = ("policies", "per_call_policies", "per_retry_policies", "transport")
# A server's Retry-After is honoured up to this many seconds.
RETRY_AFTER_MAX = 60.0
# The waits between the retries of one request add up to at most this many seconds.
RETRY_WAIT_BUDGET = 60.0
# Bodies larger than this are cut: a token response is a few KiB (the driver imports it from here).
MAX_BODY = 1024 * 1024
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
        from ._protocol.mi_retry import retry_after_from

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
        if wait > 0:
            (self.sleeper if self.sleeper is not None else transport.sleep)(wait)


class _AsyncEventRetryPolicy(_RetryEvents, AsyncRetryPolicy):  # type: ignore[type-arg]
    async def sleep(self, settings: Any, transport: Any, response: Any = None) -> None:
        wait = self._wait(settings, response)
        if wait <= 0:
            return
        if self.sleeper is None:
            await transport.sleep(wait)
            return
        outcome = self.sleeper(wait)
        if outcome is not None and hasattr(outcome, "__await__"):
            await outcome


def _keep(http: Any, body: bytes, truncated: bool) -> None:
    """Make the read (and possibly cut) body the response's content, as ``read()`` would have."""
    http._content = body
    if hasattr(http, "_decompressed_content"):  # aiohttp: the streamed chunks were decompressed already
        http._decompressed_content = True
    http.azidentity_truncated = truncated


class BodyLimitPolicy(HTTPPolicy[Any, Any]):
    """Next to the transport: stream the response and keep at most MAX_BODY bytes of it.

    Read errors surface here, inside the retry policy, so they are retried as azure-core retries them.
    """

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        request.context.options["stream"] = True
        response = self.next.send(request)
        http = response.http_response
        body = bytearray()
        truncated = False
        try:
            for chunk in http.iter_bytes():
                body += chunk
                if len(body) > MAX_BODY:
                    truncated = True
                    break
        finally:
            http.close()
        _keep(http, bytes(body[:MAX_BODY]), truncated)
        return response


class AsyncBodyLimitPolicy(AsyncHTTPPolicy[Any, Any]):
    __doc__ = BodyLimitPolicy.__doc__

    async def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        request.context.options["stream"] = True
        response = await self.next.send(request)
        http = response.http_response
        body = bytearray()
        truncated = False
        try:
            async for chunk in http.iter_bytes():
                body += chunk
                if len(body) > MAX_BODY:
                    truncated = True
                    break
        finally:
            await http.close()
        _keep(http, bytes(body[:MAX_BODY]), truncated)
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
        # program's first token (see _transport.py). transport=RequestsTransport() restores it.
        from ._transport import StdlibTransport

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

            from ._transport import default_async_transport
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError(
                "The async credentials need aiohttp: pip install 'azidentity[aio]', or pass transport=..."
            ) from error
        transport = default_async_transport(
            **_transport_kwargs(kwargs, direct)
        )  # AioHttpTransport, CA dirs too
    retry = _AsyncEventRetryPolicy(**kwargs)
    retry.sleeper = sleep
    return AsyncPipeline(
        transport=transport, policies=_policies(kwargs, retry, direct, AsyncBodyLimitPolicy())
    )
