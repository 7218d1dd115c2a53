"""The two drivers: run one flow synchronously or under asyncio.

This module and ``_http/`` are where sync and async differ (with the two facades). A flow is a
generator of effects (see ``_protocol.effects``); the driver performs each effect and sends
the result back, or throws :class:`TransportError` into the flow when no HTTP response came.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from . import _tracing
from ._credential import CHAIN
from ._protocol.effects import (
    Flow,
    Headers,
    HttpRequest,
    HttpResponse,
    MemberCall,
    ProcessResult,
    RunProcess,
    Sleep,
    TransportError,
)
from ._protocol.user_effects import Interaction

T = TypeVar("T")
_RETRY_METHODS = frozenset({"GET", "POST", "HEAD"})
# The per-request keyword azidentity's own sync transport (``_http.transport.StdlibTransport``) reads: an
# absolute ``time.monotonic()`` by which the whole request (connect, TLS, headers, body) must end. Only that
# transport gets it; a user's transport (requests, aiohttp) would reject or ignore a keyword it doesn't know.
DEADLINE_KEYWORD = "azidentity_deadline"


def _core_request(request: HttpRequest) -> Any:
    from azure.core.rest import HttpRequest as CoreRequest

    return CoreRequest(
        request.method,
        request.url,
        params=dict(request.params) if request.params else None,
        headers=dict(request.headers),
        data=dict(request.form) if request.form is not None else None,
    )


def _run_options(request: HttpRequest, own_transport: bool = False) -> dict[str, Any]:
    options: dict[str, Any] = {"retry_on_methods": _RETRY_METHODS}
    if own_transport and request.total_timeout is not None:
        options[DEADLINE_KEYWORD] = time.monotonic() + request.total_timeout
    if request.retry_total is not None:
        options["retry_total"] = request.retry_total
    if request.connection_timeout is not None:
        options["connection_timeout"] = request.connection_timeout
    if request.read_timeout is not None:
        options["read_timeout"] = request.read_timeout
    return options


def _response(request: HttpRequest, result: Any) -> HttpResponse:
    """Our view of a pipeline result: what BodyLimitPolicy read, and the documented response surface
    (a user's test double may offer nothing more than ``status_code``, ``headers`` and ``text()``)."""
    from ._http.pipeline import BODY

    raw = result.http_response
    body, truncated = result.context[BODY]
    return HttpResponse(
        status=raw.status_code,
        headers=Headers(_header_items(raw.headers)),
        body=body,
        request=request,
        reason=_reason(raw),
        raw=raw,
        truncated=truncated,
    )


def _reason(raw: Any) -> str:
    """The response's reason phrase, or the standard one for its status (a double may have none)."""
    reason = getattr(raw, "reason", None)
    if isinstance(reason, str) and reason:
        return reason
    from http import HTTPStatus

    try:
        return HTTPStatus(raw.status_code).phrase
    except ValueError:
        return ""


def _header_items(headers: Any) -> dict[str, str]:
    try:
        return {str(k): str(v) for k, v in headers.items()}
    except Exception:  # noqa: BLE001 - a double without real headers
        return {}


def _transport_error(request: HttpRequest, error: Exception) -> TransportError:
    from azure.core.exceptions import ServiceRequestTimeoutError, ServiceResponseTimeoutError

    timeout = (
        isinstance(error, (ServiceRequestTimeoutError, ServiceResponseTimeoutError))
        or "timed out" in str(error).lower()
    )
    message = f"{request.method} {request.url_without_query}: {type(error).__name__}: {error}"
    return TransportError(request, message, timeout=timeout)


def _safe_cwd() -> str:
    return os.environ.get("SYSTEMROOT", "C:\\Windows") if os.name == "nt" else "/bin"


# A token answer is a few KiB: a tool printing more than this per stream is stopped at once.
MAX_PROCESS_OUTPUT = 1024 * 1024
# After a kill, how long the pipes may take to report EOF (a grandchild that left the process group may
# hold them open; then they are abandoned).
_KILL_GRACE = 1.0
# POSIX: the tool gets its own process group, killed as a whole (az is a shell script that starts Python).
_NEW_SESSION = os.name != "nt"


def _kill(process: Any) -> None:
    try:
        if _NEW_SESSION:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
    except OSError:
        pass  # already gone


class _Sink:
    """Keeps the first MAX_PROCESS_OUTPUT bytes of a stream and kills the tool when it writes more."""

    def __init__(self, process: Any) -> None:
        self.data = bytearray()
        self._process = process
        self._full = False

    def feed(self, chunk: bytes) -> None:
        room = MAX_PROCESS_OUTPUT - len(self.data)
        if len(chunk) <= room:
            self.data += chunk
        elif not self._full:
            self._full = True
            self.data += chunk[:room]
            _kill(self._process)

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


def _pump(stream: Any, sink: _Sink) -> None:
    fd = stream.fileno()
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return
        if not chunk:
            return
        sink.feed(chunk)


# Held while a credential's IO or a pipeline is built on first use, and while one is closed: threads
# that race to the first request must share one pipeline (a losing thread's copy kept connections
# close() couldn't reach). Re-entrant, and nothing under it waits for another thread; a forked child
# gets a fresh one (a thread of the parent may have held it at fork: it would never be released).
BUILDING = threading.RLock()


def _renew_building_lock() -> None:
    global BUILDING
    BUILDING = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_renew_building_lock)


class SyncIO:
    """Performs effects for sync credentials; pipelines are built on first use.

    A ``transport=`` the user gave is theirs to observe: ``enter()`` and ``close()`` enter and
    exit it exactly once each, as azure-identity's credentials do (its pipeline is built
    eagerly, so even a credential never used exits its transport on ``close()``). Transports
    azidentity made itself are closed with their pipelines.
    """

    def __init__(self, pipeline_kwargs: dict[str, Any], sleep: Callable[[float], None] | None = None) -> None:
        self._kwargs = pipeline_kwargs
        self._pipelines: dict[bool, Any] = {}
        self._injected_sleep = sleep
        self.sleep = sleep if sleep is not None else time.sleep
        self.user_transport: Any = pipeline_kwargs.get("transport")

    def _pipeline(self, direct: bool) -> Any:
        pipeline = self._pipelines.get(direct)
        if pipeline is None:
            from ._http.pipeline import build_sync

            with BUILDING:
                pipeline = self._pipelines.get(direct)
                if pipeline is None:
                    pipeline = self._pipelines[direct] = build_sync(
                        self._kwargs, direct=direct, sleep=self._injected_sleep
                    )
        return pipeline

    def http(self, request: HttpRequest) -> HttpResponse:
        from azure.core.exceptions import AzureError

        try:
            own = self.user_transport is None  # the pipeline's transport is StdlibTransport
            result = self._pipeline(request.bypass_proxy).run(
                _core_request(request), **_run_options(request, own)
            )
            return _response(request, result)
        except AzureError as error:
            raise _transport_error(request, error) from error
        except Exception as error:
            if self.user_transport is None:
                raise  # our own transports raise AzureError: anything else is a defect to surface
            raise _transport_error(
                request, error
            ) from error  # a user's transport: no response, as azure-identity sees it

    def run(self, effect: RunProcess) -> ProcessResult:
        start = time.perf_counter()
        try:
            process = subprocess.Popen(
                list(effect.argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=dict(effect.env) if effect.env is not None else None,
                cwd=effect.cwd or _safe_cwd(),
                start_new_session=_NEW_SESSION,
            )
        except OSError as error:
            return ProcessResult(127, "", str(error), time.perf_counter() - start, not_found=True)
        out, err = _Sink(process), _Sink(process)
        pumps = [
            threading.Thread(target=_pump, args=(process.stdout, out), daemon=True),
            threading.Thread(target=_pump, args=(process.stderr, err), daemon=True),
        ]
        for pump in pumps:
            pump.start()
        timed_out = False
        try:
            returncode = process.wait(timeout=effect.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill(process)
            process.wait()
            returncode = -1
        for pump in pumps:
            pump.join(_KILL_GRACE)  # a grandchild outside the process group may hold a pipe open
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        return ProcessResult(
            returncode, out.text(), err.text(), time.perf_counter() - start, timed_out=timed_out
        )

    def enter(self) -> None:
        enter = getattr(self.user_transport, "__enter__", None)
        if callable(enter):
            enter()

    def close(self, *exc_details: object) -> None:
        with BUILDING:  # a pipeline being built now is either in this list or built after close
            pipelines = list(self._pipelines.values())
            self._pipelines.clear()
        if self.user_transport is not None:
            exit_ = getattr(self.user_transport, "__exit__", None)
            if callable(exit_):
                exit_(*exc_details)  # none on close(), as azure-core's Pipeline passes them on
            return
        for pipeline in pipelines:
            pipeline.__exit__(None, None, None)


def run_sync(flow: Flow[T], io: SyncIO) -> T:
    result: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = flow.throw(error) if error is not None else flow.send(result)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        result, error = None, None
        _tracing.performing(effect)
        if isinstance(effect, HttpRequest):
            try:
                result = io.http(effect)
            except TransportError as failure:
                error = failure
        elif isinstance(effect, Sleep):
            io.sleep(effect.seconds)
        elif isinstance(effect, RunProcess):
            result = io.run(effect)
            _tracing.process_ran(effect, result)
        elif isinstance(effect, Interaction):
            result = effect.performer.perform_sync(effect)
        elif isinstance(effect, MemberCall):
            reset = CHAIN.set(effect.context) if effect.context is not None else None
            try:
                result = effect.invoke()
            except Exception as failure:
                error = failure
            finally:
                if reset is not None:
                    CHAIN.reset(reset)
            if hasattr(result, "__await__"):
                flow.close()
                effect.refuse_async(result)
        else:  # pragma: no cover - a programming error in a flow
            raise TypeError(f"unknown effect {effect!r}")


class AsyncIO:
    """Performs effects for async credentials (the user's transport: as in :class:`SyncIO`, with
    ``__aenter__`` / ``__aexit__`` only, as azure-core's async pipeline uses; a double without them is
    left alone)."""

    def __init__(self, pipeline_kwargs: dict[str, Any], sleep: Callable[[float], Any] | None = None) -> None:
        self._kwargs = pipeline_kwargs
        self._pipelines: dict[bool, Any] = {}
        self._sleep = sleep
        self.user_transport: Any = pipeline_kwargs.get("transport")

    def _pipeline(self, direct: bool) -> Any:
        pipeline = self._pipelines.get(direct)
        if pipeline is None:
            from ._http.pipeline import build_async

            pipeline = self._pipelines[direct] = build_async(self._kwargs, direct=direct, sleep=self._sleep)
        return pipeline

    async def http(self, request: HttpRequest) -> HttpResponse:
        from azure.core.exceptions import AzureError

        try:
            result = await self._pipeline(request.bypass_proxy).run(
                _core_request(request), **_run_options(request)
            )
            return _response(request, result)
        except AzureError as error:
            raise _transport_error(request, error) from error
        except Exception as error:
            if self.user_transport is None:
                raise
            raise _transport_error(request, error) from error

    async def sleep(self, seconds: float) -> None:
        if self._sleep is not None:
            outcome = self._sleep(seconds)
            if outcome is not None and hasattr(outcome, "__await__"):
                await outcome
            return
        import asyncio

        await asyncio.sleep(seconds)

    async def run(self, effect: RunProcess) -> ProcessResult:
        import asyncio

        start = time.perf_counter()
        try:
            process = await asyncio.create_subprocess_exec(
                *effect.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=dict(effect.env) if effect.env is not None else None,
                cwd=effect.cwd or _safe_cwd(),
                start_new_session=_NEW_SESSION,
            )
        except OSError as error:
            return ProcessResult(127, "", str(error), time.perf_counter() - start, not_found=True)
        out, err = _Sink(process), _Sink(process)

        async def pump(stream: Any, sink: _Sink) -> None:
            # Never stop reading: a pipe paused by asyncio's flow control never reports EOF, and
            # Process.wait() (Python 3.11.5+) waits for the pipes, so it would never return.
            while chunk := await stream.read(65536):
                sink.feed(chunk)

        readers = asyncio.gather(pump(process.stdout, out), pump(process.stderr, err))
        timed_out = False
        try:
            await asyncio.wait_for(asyncio.shield(readers), effect.timeout)
            returncode = await asyncio.wait_for(process.wait(), _KILL_GRACE)
        except asyncio.TimeoutError:
            timed_out = True
            _kill(process)
            try:
                await asyncio.wait_for(readers, _KILL_GRACE)
                await asyncio.wait_for(process.wait(), _KILL_GRACE)
            except asyncio.TimeoutError:
                pass  # a grandchild outside the process group holds the pipes: abandon them
            returncode = -1
        return ProcessResult(
            returncode, out.text(), err.text(), time.perf_counter() - start, timed_out=timed_out
        )

    async def enter(self) -> None:
        await _maybe_await(getattr(self.user_transport, "__aenter__", None))

    async def close(self, *exc_details: object) -> None:
        pipelines = list(self._pipelines.values())
        self._pipelines.clear()
        if self.user_transport is not None:
            await _maybe_await(getattr(self.user_transport, "__aexit__", None), *exc_details)
            return
        for pipeline in pipelines:
            await pipeline.__aexit__(None, None, None)


async def _maybe_await(method: Any, *args: object) -> None:
    if callable(method):
        outcome = method(*args)
        if hasattr(outcome, "__await__"):
            await outcome


async def _http_within(io: AsyncIO, request: HttpRequest) -> HttpResponse:
    """``io.http``, ended at the request's whole-request deadline (a server trickling bytes can't
    outlast it)."""
    if request.total_timeout is None:
        return await io.http(request)
    import asyncio

    try:
        return await asyncio.wait_for(io.http(request), request.total_timeout)
    except asyncio.TimeoutError:
        raise TransportError(
            request,
            f"{request.method} {request.url_without_query}: no complete response within "
            f"{request.total_timeout:.1f} s",
            timeout=True,
        ) from None


async def run_async(flow: Flow[T], io: AsyncIO) -> T:
    result: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = flow.throw(error) if error is not None else flow.send(result)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        result, error = None, None
        _tracing.performing(effect)
        if isinstance(effect, HttpRequest):
            try:
                result = await _http_within(io, effect)
            except TransportError as failure:
                error = failure
        elif isinstance(effect, Sleep):
            await io.sleep(effect.seconds)
        elif isinstance(effect, RunProcess):
            result = await io.run(effect)
            _tracing.process_ran(effect, result)
        elif isinstance(effect, Interaction):
            result = await effect.performer.perform_async(effect)
        elif isinstance(effect, MemberCall):
            reset = CHAIN.set(effect.context) if effect.context is not None else None
            try:
                result = effect.invoke()
                if hasattr(result, "__await__"):
                    result = await result
            except Exception as failure:
                error = failure
            finally:
                if reset is not None:
                    CHAIN.reset(reset)
        else:  # pragma: no cover
            raise TypeError(f"unknown effect {effect!r}")
