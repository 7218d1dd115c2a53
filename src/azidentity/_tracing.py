"""Spans for token requests, made through azure-core's tracing (never an API of our own).

azure-core has two ways to trace, and azidentity follows whichever the user turned on:

- its native OpenTelemetry tracer (``AZURE_TRACING_ENABLED=true`` or ``settings.tracing_enabled = True``):
  spans come from ``azure.core.instrumentation.get_tracer(library_name="azidentity")``;
- the older plugin (``settings.tracing_implementation = "opentelemetry"``, from
  ``azure-core-tracing-opentelemetry``): spans are the plugin's ``OpenTelemetrySpan``, with its rule that
  an INTERNAL span nested in another Azure SDK method's span is not recorded.

What is traced (each hook is a decorator or one line in the file that calls in here):

- a credential's ``get_token`` / ``get_token_info`` that misses the cache (``_credential.py``'s
  ``_acquire``): a span ``<Credential>.get_token``, current while the token is requested, so azure-core's
  HTTP spans (``DistributedTracingPolicy`` in our pipelines, :func:`http_policy`) nest under it;
- a chain's walk (``_credential.py``'s ``_answer``, which runs a chain's flow): a span for the chain and one
  per member tried. A member's
  span *is* its ``get_token`` span (one span per call, not two);
- inside a credential span (``_driver.py``): waits between retries as ``azidentity.wait`` events, and each
  developer tool run as a child span ``run <tool>`` (its name, duration and exit code; never its output).

Spans are made lazily (see "frames" below): one exists only once the driver performs an effect for it
(an HTTP request, a tool run, a user interaction, a wait) or the call fails, and then starts at the time
the call did. A call answered from a cache -- the credential's own, after waiting for another caller's
request, or a member's inside a chain -- leaves no span.

Tracing off costs nothing measurable: while OpenTelemetry isn't loaded the check is one ``sys.modules``
lookup (no span could be recorded without it), while it has no tracer provider one more call; only then
are azure-core's settings asked. The cache-hit paths of credentials don't call in here at all. Nothing
here imports azure-core or OpenTelemetry unless tracing is on.

Spans never carry a secret: scopes lose query strings and user info, errors are recorded with our own
message (the guide's layout, redacted) and a stack trace without chained causes, tools without output.
"""

from __future__ import annotations

import functools
import sys
import time
from contextvars import ContextVar

from ._lazy import TYPE_CHECKING

if TYPE_CHECKING:  # _credential imports this module: nothing here may add to ``import azidentity``
    from collections.abc import Callable
    from typing import Any, TypeVar

    F = TypeVar("F", bound=Callable[..., Any])

LIBRARY = "azidentity"
# Attribute names (OpenTelemetry's own where one exists).
CREDENTIAL = "azidentity.credential"
SCOPES = "azidentity.scopes"
TENANT = "azidentity.tenant_id"
CLAIMS = "azidentity.claims_challenge"
CAE = "azidentity.enable_cae"
OUTCOME = "azidentity.outcome"
ERROR_TYPE = "error.type"
ERROR_CODE = "azidentity.error_code"
OAUTH_ERROR = "azidentity.oauth_error"
SELECTED = "azidentity.chain.selected"
WAIT_EVENT = "azidentity.wait"
WAIT_SECONDS = "azidentity.wait.seconds"
EXECUTABLE = "process.executable.name"
EXIT_CODE = "process.exit.code"
TIMED_OUT = "azidentity.process.timed_out"
NOT_FOUND = "azidentity.process.not_found"
_MAX_TEXT = 512


# -- is tracing on? ---------------------------------------------------------------------------------------
def backend() -> _Backend | None:
    """How to make spans now, or None when tracing is off (azure-core's settings decide, per call)."""
    otel = sys.modules.get("opentelemetry.trace")
    if otel is None:
        return None  # no OpenTelemetry loaded: no tracer provider, no span could be recorded
    if isinstance(otel.get_tracer_provider(), otel.ProxyTracerProvider):
        return None  # loaded (by some library) but never given a provider: nothing would be recorded
    from azure.core.settings import settings

    if not settings.tracing_enabled():
        return None
    plugin = settings.tracing_implementation()
    if plugin is not None:
        return _Plugin(plugin)
    from azure.core.instrumentation import get_tracer

    from ._version import __version__

    tracer = get_tracer(library_name=LIBRARY, library_version=__version__)
    return _Native(tracer) if tracer is not None else None


class _Backend:
    """Starts OpenTelemetry spans (``start``) and makes one current (``use``)."""

    def start(self, name: str, attributes: dict[str, Any], parent: Any, start_ns: int | None) -> Any:
        raise NotImplementedError

    def use(self, span: Any) -> Any:
        raise NotImplementedError


class _Native(_Backend):
    """azure-core's own tracer (``azure.core.tracing.opentelemetry.OpenTelemetryTracer``)."""

    def __init__(self, tracer: Any) -> None:
        self._tracer = tracer

    def start(self, name: str, attributes: dict[str, Any], parent: Any, start_ns: int | None) -> Any:
        from azure.core.tracing import SpanKind

        if parent is None:
            return self._tracer.start_span(
                name, kind=SpanKind.INTERNAL, attributes=attributes, start_time=start_ns
            )
        with self._tracer.use_span(parent, end_on_exit=False):
            return self._tracer.start_span(
                name, kind=SpanKind.INTERNAL, attributes=attributes, start_time=start_ns
            )

    def use(self, span: Any) -> Any:
        return self._tracer.use_span(span, end_on_exit=False)


class _Plugin(_Backend):
    """A plugin class (``AbstractSpan``) from ``settings.tracing_implementation``; its spans wrap
    OpenTelemetry's."""

    def __init__(self, plugin: Any) -> None:
        self._plugin = plugin

    def start(self, name: str, attributes: dict[str, Any], parent: Any, start_ns: int | None) -> Any:
        from azure.core.tracing import SpanKind

        extra = {"start_time": start_ns} if start_ns is not None else {}
        if parent is None:
            wrapper = self._plugin(name=name, kind=SpanKind.INTERNAL, **extra)
        else:
            with self._plugin.change_context(parent):
                wrapper = self._plugin(name=name, kind=SpanKind.INTERNAL, **extra)
        span = wrapper.span_instance
        span.set_attributes(attributes)
        return span

    def use(self, span: Any) -> Any:
        # Given the OpenTelemetry span (not the wrapper), the plugin makes it current without marking the
        # context "suppressed": azidentity's own nested spans stay visible.
        return self._plugin.change_context(span)


# -- what spans say -----------------------------------------------------------------------------------------
def clean_scope(scope: Any) -> str:
    """A scope without query string, fragment or user info (no secret rides along), and not too long."""
    text = str(scope).split("?", 1)[0].split("#", 1)[0]
    scheme, separator, rest = text.partition("://")
    if separator:
        host, slash, path = rest.partition("/")
        text = f"{scheme}://{host.rpartition('@')[2]}{slash}{path}"
    return text[:_MAX_TEXT]


def request_attributes(
    credential: str, scopes: tuple[str, ...], tenant_id: Any, claims: Any, enable_cae: Any
) -> dict[str, Any]:
    attributes: dict[str, Any] = {CREDENTIAL: credential, SCOPES: [clean_scope(s) for s in scopes]}
    if tenant_id and isinstance(tenant_id, str):
        attributes[TENANT] = tenant_id[:_MAX_TEXT]
    if claims:
        attributes[CLAIMS] = True  # whether there was a challenge; never its content
    if enable_cae:
        attributes[CAE] = True
    return attributes


def outcome(error: BaseException | None) -> str:
    if error is None:
        return "token"
    if not isinstance(error, Exception):
        return "cancelled"  # CancelledError, KeyboardInterrupt: the call was abandoned
    unavailable = any(cls.__name__ == "CredentialUnavailableError" for cls in type(error).__mro__)
    return "unavailable" if unavailable else "failed"


def error_type(error: BaseException) -> str:
    cls = type(error)
    module = cls.__module__
    if module == "builtins":
        return cls.__qualname__
    if module.startswith("azidentity."):
        module = "azidentity"  # the public name: azidentity.CredentialUnavailableError
    return f"{module}.{cls.__qualname__}"


def _first_line(error: BaseException) -> str:
    message = getattr(error, "message", None)
    text = message if isinstance(message, str) and message else str(error)
    return f"{error_type(error)}: {text.strip().splitlines()[0] if text.strip() else ''}"[:_MAX_TEXT]


def finish(span: Any, error: BaseException | None, end_ns: int | None = None) -> None:
    """Record the outcome (and the error, if any) and end the span."""
    span.set_attribute(OUTCOME, outcome(error))
    if error is not None:
        import traceback

        from opentelemetry.trace import Status, StatusCode

        span.set_attribute(ERROR_TYPE, error_type(error))
        for name, attribute in (("error_code", ERROR_CODE), ("oauth_error", OAUTH_ERROR)):
            value = getattr(error, name, None)
            if isinstance(value, str) and value:
                span.set_attribute(attribute, value[:_MAX_TEXT])
        # Our message only: a chained cause (another library's error) could quote what we redacted.
        stack = "".join(traceback.format_exception(type(error), error, error.__traceback__, chain=False))
        span.record_exception(
            error, attributes={"exception.stacktrace": stack}, timestamp=end_ns, escaped=True
        )
        span.set_status(Status(StatusCode.ERROR, _first_line(error)))
    span.end(end_time=end_ns)


# -- the frames of a trace in progress ------------------------------------------------------------------
# A frame is what azidentity is doing in this context (one ContextVar, so threads and asyncio tasks each
# have their own): a credential acquiring a token (_Acquisition), a chain's walk (_Chain) or one of its
# member calls (_Member), each pointing at the frame it runs in. A frame's span is started by
# _materialize, with its parents' spans, when the driver performs an effect inside it or when it fails;
# members that ended before their chain's span existed get theirs then, with the times they had.
class _Acquisition:
    """A credential's ``_acquire``; once its span exists it is current, so HTTP spans nest under it."""

    __slots__ = ("backend", "outer", "name", "attributes", "start", "member", "span", "current")

    def __init__(self, tracing: _Backend, credential: Any, request: Any, method: str, outer: Any) -> None:
        self.backend = tracing
        self.outer = outer
        # Inside a chain, the chain's span for this member is this call's span: one span, not two.
        self.member = outer if isinstance(outer, _Member) and outer.credential is credential else None
        self.name = f"{_name(credential)}.{method}"
        self.attributes = request_attributes(
            _name(credential), request.scopes, request.tenant_id, request.claims, request.enable_cae
        )
        self.start = time.time_ns()
        self.span: Any = None
        self.current: Any = None  # the context manager that made the span current


class _Chain:
    """A chain's walk."""

    __slots__ = ("backend", "owner", "outer", "name", "attributes", "start", "span", "merged", "done", "last")

    def __init__(self, tracing: _Backend, owner: Any, outer: Any) -> None:
        self.backend = tracing
        self.owner = owner
        self.outer = outer  # the frame this walk runs in (a member of an outer chain, ...) or None
        self.name = ""
        self.attributes: dict[str, Any] = {}
        self.start = time.time_ns()
        self.span: Any = None
        self.merged = False  # the span is the outer member's span (a chain inside a chain)
        self.done: list[_Member] = []  # members that ended before the span existed
        self.last = ""

    def describe(self, call: Any) -> None:
        if self.name:
            return
        options = call.options or {}
        kwargs = call.kwargs or {}
        self.name = f"{_name(self.owner)}.{'get_token_info' if call.want_info else 'get_token'}"
        self.attributes = request_attributes(
            _name(self.owner),
            call.scopes,
            options.get("tenant_id") or kwargs.get("tenant_id"),
            options.get("claims") or kwargs.get("claims"),
            options.get("enable_cae") or kwargs.get("enable_cae"),
        )


class _Member:
    """One member call of a chain's walk."""

    __slots__ = ("chain", "credential", "name", "attributes", "start", "end", "error", "span")

    def __init__(self, chain: _Chain, call: Any) -> None:
        self.chain = chain
        self.credential = call.credential
        cred = call.credential
        info = hasattr(cred, "get_token_info") and (call.want_info or not hasattr(cred, "get_token"))
        self.name = f"{call.name}.{'get_token_info' if info else 'get_token'}"
        self.attributes = {**chain.attributes, CREDENTIAL: call.name}
        self.start = time.time_ns()
        self.end: int | None = None
        self.error: BaseException | None = None
        self.span: Any = None


_FRAME: ContextVar[Any] = ContextVar("azidentity_trace_frame", default=None)


def _name(credential: Any) -> str:
    name = getattr(credential, "_name", None)
    return name if isinstance(name, str) else type(credential).__name__


def _materialize(frame: Any) -> Any:
    """The span of ``frame`` (None: the caller's current span), starting it and its parents if needed."""
    if frame is None:
        return None
    if isinstance(frame, _Acquisition):
        if frame.span is None:
            if frame.member is not None:
                frame.span = _materialize(frame.member)
            else:
                parent = _materialize(frame.outer)
                frame.span = frame.backend.start(frame.name, frame.attributes, parent, frame.start)
        return frame.span
    if isinstance(frame, _Member):
        if frame.span is None:
            parent = _materialize(frame.chain)
            frame.span = frame.chain.backend.start(frame.name, frame.attributes, parent, frame.start)
        return frame.span
    chain: _Chain = frame
    if chain.span is None:
        outer = chain.outer
        if isinstance(outer, _Member) and outer.credential is chain.owner:
            chain.span, chain.merged = _materialize(outer), True
        else:
            chain.span = chain.backend.start(chain.name, chain.attributes, _materialize(outer), chain.start)
        for member in chain.done:  # the members tried before: spans with the times they had
            member.span = chain.backend.start(member.name, member.attributes, chain.span, member.start)
            finish(member.span, member.error, member.end)
        chain.done.clear()
    return chain.span


def _close_member(member: _Member, error: BaseException | None) -> None:
    member.end, member.error = time.time_ns(), error
    chain = member.chain
    chain.last = member.name.rpartition(".")[0]
    if member.span is not None:  # it did work: the span was started then
        finish(member.span, error)
    elif chain.span is not None:
        member.span = chain.backend.start(member.name, member.attributes, chain.span, member.start)
        finish(member.span, error, member.end)
    else:
        chain.done.append(member)


def _close_chain(chain: _Chain, error: BaseException | None) -> None:
    if not chain.name:
        return  # refused before calling any member (no scopes): nothing was tried
    if chain.span is None:
        if error is None:
            return  # answered without work (a member's cache): no span, as for any cache hit
        _materialize(chain)
    if error is None:
        chain.span.set_attribute(SELECTED, chain.last)
    if not chain.merged:
        finish(chain.span, error)


def _reset(token: Any) -> None:
    try:
        _FRAME.reset(token)
    except ValueError:  # a walk abandoned by a cancelled task, closed later in another context
        pass


# -- hooks: credentials ---------------------------------------------------------------------------------
def _method(request: Any) -> str:
    """``get_token`` or ``get_token_info``: the public method the request came from."""
    return "get_token_info" if request.want_info else "get_token"


class _acquisition:  # noqa: N801 - used like a function: ``with _acquisition(...):``
    """While a credential acquires a token with tracing on: its frame is current, and its span (if
    work made one) ends with the outcome. A class, not ``contextlib.contextmanager``: importing
    contextlib would add to ``import azidentity``."""

    __slots__ = ("frame", "token")

    def __init__(self, tracing: _Backend, credential: Any, request: Any, method: str) -> None:
        self.frame = _Acquisition(tracing, credential, request, method, _FRAME.get())
        self.token: Any = None

    def __enter__(self) -> None:
        self.token = _FRAME.set(self.frame)

    def __exit__(self, kind: Any, error: BaseException | None, traceback: Any) -> None:
        frame = self.frame
        if frame.current is not None:
            frame.current.__exit__(None, None, None)
        _reset(self.token)
        if frame.member is None and (frame.span is not None or error is not None):
            finish(_materialize(frame), error)  # a chain's member span is finished by the chain


def traced_acquire(acquire: F) -> F:
    """``SyncCredential._acquire``: a span around the acquisition when tracing is on."""

    @functools.wraps(acquire)
    def traced(self: Any, request: Any, key: Any) -> Any:
        tracing = backend()
        if tracing is None:
            return acquire(self, request, key)
        with _acquisition(tracing, self, request, _method(request)):
            return acquire(self, request, key)

    return traced  # type: ignore[return-value]


def traced_acquire_async(acquire: F) -> F:
    """``AsyncCredential._acquire``: the same, for the coroutine (off: the original coroutine, unwrapped)."""

    @functools.wraps(acquire)
    def traced(self: Any, request: Any, key: Any) -> Any:
        tracing = backend()
        if tracing is None:
            return acquire(self, request, key)
        return _acquire_traced(tracing, self, request, _method(request), acquire(self, request, key))

    return traced  # type: ignore[return-value]


async def _acquire_traced(
    tracing: _Backend, credential: Any, request: Any, method: str, acquiring: Any
) -> Any:
    with _acquisition(tracing, credential, request, method):
        return await acquiring


# -- hooks: chains ----------------------------------------------------------------------------------------
def traced_chain(drive: F) -> F:
    """A chain's ``_answer(flow)`` (sync or async): the walk is watched when tracing is on."""

    @functools.wraps(drive)
    def traced(self: Any, walk: Any) -> Any:
        if getattr(self, "_sticky", False) and getattr(self, "_successful_credential", None) is not None:
            return drive(self, walk)  # the remembered member is called directly: its own span suffices
        tracing = backend()
        if tracing is None:
            return drive(self, walk)
        watched = _watched(tracing, self, walk)
        try:
            result = drive(self, watched)
        except BaseException as error:
            _abandon(watched, error)
            raise
        return _driving(result, watched) if hasattr(result, "__await__") else result

    return traced  # type: ignore[return-value]


async def _driving(driving: Any, watched: Any) -> Any:
    try:
        return await driving
    except BaseException as error:
        _abandon(watched, error)
        raise


def _abandon(watched: Any, error: BaseException) -> None:
    """The chain stopped on an error its walk never saw (a cancelled task, KeyboardInterrupt): tell the
    walk, so the member's and the chain's spans end now, saying so."""
    if watched.gi_frame is not None:  # suspended in a member call
        try:
            watched.throw(error)
        except BaseException:
            pass


def _watched(tracing: _Backend, owner: Any, walk: Any) -> Any:
    """Passes the walk's member calls through, noting when each starts and how it ends."""
    chain = _Chain(tracing, owner, _FRAME.get())
    sent: Any = None
    thrown: BaseException | None = None
    while True:
        try:
            call = walk.throw(thrown) if thrown is not None else walk.send(sent)
        except StopIteration as stop:
            _close_chain(chain, None)
            return stop.value
        except BaseException as error:
            _close_chain(chain, error)
            raise
        chain.describe(call)
        member = _Member(chain, call)
        sent, thrown = None, None
        token = _FRAME.set(member)
        try:
            sent = yield call
        except GeneratorExit:  # the chain gave up on the walk (an async member in a sync chain, a cancel)
            _reset(token)
            for span in (member.span, None if chain.merged else chain.span):
                if span is not None:
                    span.end()  # no outcome: the call didn't end, it was abandoned
            walk.close()
            raise
        except BaseException as error:
            thrown = error
        _reset(token)
        _close_member(member, thrown)


# -- hooks: the driver --------------------------------------------------------------------------------------
def performing(effect: Any) -> None:
    """The driver is about to perform ``effect``: the acquisition's span starts (if it hasn't) and is
    made current; a ``Sleep`` (a retry's backoff, a polling interval) becomes an ``azidentity.wait`` event."""
    frame = _FRAME.get()
    if frame.__class__ is not _Acquisition:
        return
    if frame.current is None:
        span = _materialize(frame)
        frame.current = frame.backend.use(span)
        frame.current.__enter__()
    seconds = getattr(effect, "seconds", None)
    if seconds is not None and effect.__class__.__name__ == "Sleep":
        frame.span.add_event(WAIT_EVENT, {WAIT_SECONDS: float(seconds)})


def process_ran(effect: Any, result: Any) -> None:
    """A developer tool ran: a child span with its name, duration and exit code (never its output)."""
    frame = _FRAME.get()
    if frame.__class__ is not _Acquisition or frame.span is None:
        return
    import os

    end = time.time_ns()
    executable = os.path.basename(str(effect.argv[0])) if effect.argv else "?"
    attributes: dict[str, Any] = {EXECUTABLE: executable}
    if result.not_found:
        attributes[NOT_FOUND] = True
    elif result.timed_out:
        attributes[TIMED_OUT] = True
    else:
        attributes[EXIT_CODE] = int(result.returncode)
    span = frame.backend.start(f"run {executable}", attributes, frame.span, end - int(result.duration * 1e9))
    if result.not_found or result.timed_out or result.returncode != 0:
        from opentelemetry.trace import Status, StatusCode

        what = (
            "not found"
            if result.not_found
            else f"no answer within {effect.timeout:g} s"
            if result.timed_out
            else f"exit code {result.returncode}"
        )
        span.set_status(Status(StatusCode.ERROR, f"{executable}: {what}"))
    span.end(end_time=end)


# -- hooks: pipelines ------------------------------------------------------------------------------------
def http_policy(kwargs: dict[str, Any]) -> Any:
    """azure-core's DistributedTracingPolicy, its spans attributed to azidentity (one per HTTP try)."""
    from azure.core.pipeline.policies import DistributedTracingPolicy

    from ._version import __version__

    config = {"library_name": LIBRARY, "library_version": __version__}
    return DistributedTracingPolicy(**{"instrumentation_config": config, **kwargs})
