"""azure-core pipelines for credentials (imported on first request, never at ``import azidentity``).

Users' pipeline keywords (``transport``, ``connection_verify``, ``proxies``, ``retry_*``,
``headers``, ``user_agent``, ``logging_enable``, ``policies``, ``per_call_policies``,
``per_retry_policies``) behave as in any Azure SDK client. Two deliberate differences:

- azure-core's ``NetworkTraceLoggingPolicy`` (enabled by ``logging_enable=True``) logs request
  bodies, i.e. client secrets and assertions. Credentials use :class:`EventLogPolicy` instead,
  which logs method, URL without query, status and duration, and never a body or secret header.
- ``direct=True`` (managed identity endpoints) builds a transport that ignores proxy
  environment variables: IMDS and the other host endpoints must never be proxied.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from azure.core.pipeline import AsyncPipeline, Pipeline, PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import (
    AsyncRetryPolicy,
    CustomHookPolicy,
    HeadersPolicy,
    HttpLoggingPolicy,
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
            log.EVENT_RESPONSE, logging.DEBUG, "%s %s -> %s (%.0f ms)", http.method,
            str(http.url).split("?", 1)[0], response.http_response.status_code, (time.perf_counter() - start) * 1000,
        )


class _RetryEvents:
    def increment(self, settings: Any, response: Any = None, error: Any = None) -> bool:
        status = getattr(getattr(response, "http_response", None), "status_code", None)
        log.emit(log.EVENT_RETRY, logging.DEBUG, "retrying after %s", status if status is not None else error)
        return super().increment(settings, response=response, error=error)  # type: ignore[misc,no-any-return]


class _EventRetryPolicy(_RetryEvents, RetryPolicy):  # type: ignore[type-arg]
    pass


class _AsyncEventRetryPolicy(_RetryEvents, AsyncRetryPolicy):  # type: ignore[type-arg]
    pass


def _policies(kwargs: dict[str, Any], retry: Any, direct: bool) -> list[Any]:
    if kwargs.get("policies") is not None:
        return list(kwargs["policies"])
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
    ]
    return policies


def _transport_kwargs(kwargs: dict[str, Any], direct: bool) -> dict[str, Any]:
    out = {k: v for k, v in kwargs.items() if k not in _PIPELINE_KEYS and k != "logging_enable"}
    if direct:
        out["use_env_settings"] = False
    return out


def build_sync(kwargs: dict[str, Any], *, direct: bool = False) -> Pipeline[Any, Any]:
    transport = kwargs.get("transport")
    if transport is None:
        from azure.core.pipeline.transport import RequestsTransport

        transport = RequestsTransport(**_transport_kwargs(kwargs, direct))
    return Pipeline(transport=transport, policies=_policies(kwargs, _EventRetryPolicy(**kwargs), direct))


def build_async(kwargs: dict[str, Any], *, direct: bool = False) -> AsyncPipeline[Any, Any]:
    transport = kwargs.get("transport")
    if transport is None:
        try:
            from azure.core.pipeline.transport import AioHttpTransport
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError(
                "The async credentials need aiohttp: pip install 'azidentity[aio]', or pass transport=..."
            ) from error
        transport = AioHttpTransport(**_transport_kwargs(kwargs, direct))
    return AsyncPipeline(transport=transport, policies=_policies(kwargs, _AsyncEventRetryPolicy(**kwargs), direct))
