"""Effects a flow yields, and the results the drivers send back.

These are plain values so a flow can be stepped in a test with ``next()``/``send()``.
"""

from __future__ import annotations

# Plain slotted classes, not dataclasses: ``import azidentity`` must stay cheap and the
# dataclasses module pulls in inspect, ast and friends.
from .._lazy import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Generator, Mapping
    from typing import Any, TypeVar

    T = TypeVar("T")


class _Value:
    __slots__: tuple[str, ...] = ()

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={getattr(self, name)!r}" for name in self.__slots__ if name not in ("raw", "body")
        )
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(
            getattr(self, n) == getattr(other, n) for n in self.__slots__ if n != "raw"
        )

    __hash__ = None  # type: ignore[assignment]


class HttpRequest(_Value):
    """One HTTP request. Per-request transport settings of ``None`` keep the pipeline's values;
    ``bypass_proxy`` means the endpoint must be contacted directly (managed identity).

    ``total_timeout``: the whole request (connect, TLS, headers and body) must end within this many
    seconds of the driver starting it, however slowly the server trickles bytes; the driver throws a
    timeout ``TransportError`` otherwise. The drivers turn it into an absolute deadline.
    """

    __slots__ = (
        "method",
        "url",
        "headers",
        "params",
        "form",
        "retry_total",
        "connection_timeout",
        "read_timeout",
        "bypass_proxy",
        "total_timeout",
    )

    def __init__(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        retry_total: int | None = None,
        connection_timeout: float | None = None,
        read_timeout: float | None = None,
        bypass_proxy: bool = False,
        total_timeout: float | None = None,
    ) -> None:
        self.method = method
        self.url = url
        self.headers: Mapping[str, str] = headers if headers is not None else {}
        self.params = params
        self.form = form
        self.retry_total = retry_total
        self.connection_timeout = connection_timeout
        self.read_timeout = read_timeout
        self.bypass_proxy = bypass_proxy
        self.total_timeout = total_timeout

    def replace(self, **changes: Any) -> HttpRequest:
        """A copy with ``changes`` applied (effects are values: never modified in place)."""
        fields = {name: getattr(self, name) for name in self.__slots__}
        fields.update(changes)
        return HttpRequest(**fields)

    @property
    def url_without_query(self) -> str:
        return self.url.split("?", 1)[0]


class Headers(dict[str, str]):
    """Response headers with case-insensitive lookup (keys stored lower-case)."""

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        super().__init__((k.lower(), v) for k, v in (items or {}).items())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


# Responses larger than this are cut: a token response is a few KiB; anything bigger is not one.
# The pipeline stops reading there (``_http.pipeline.BodyLimitPolicy``).
MAX_BODY = 1024 * 1024


class HttpResponse(_Value):
    """One HTTP response; ``raw`` is the azure-core response, exposed as ``error.response``."""

    __slots__ = ("status", "headers", "body", "request", "reason", "raw", "truncated")

    def __init__(
        self,
        status: int,
        headers: Headers,
        body: bytes,
        request: HttpRequest,
        reason: str = "",
        raw: Any = None,
        truncated: bool = False,
    ) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.request = request
        self.reason = reason
        self.raw = raw
        # The server sent more than MAX_BODY bytes: ``body`` is their beginning.
        self.truncated = truncated

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """Parse the body as JSON; raises ValueError for anything else (a cut body included)."""
        if self.truncated:
            raise ValueError(f"the response body is larger than {len(self.body)} bytes and was cut there")
        return parse_json(self.body)


# No response azidentity reads nests deeper than a few levels; deeper documents are refused, so that
# nothing walking a parsed document (redaction, rendering) can run out of stack.
MAX_JSON_DEPTH = 64


def parse_json(data: str | bytes) -> Any:
    """``json.loads`` that raises only ValueError: for bad UTF-8, bad JSON and JSON nested deeper than
    MAX_JSON_DEPTH (``json`` itself raises RecursionError far deeper, which no parser may let escape)."""
    import json

    try:
        value = json.loads(data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if depth >= MAX_JSON_DEPTH:
                    raise ValueError(f"the JSON is nested more than {MAX_JSON_DEPTH} levels deep")
                stack.append((child, depth + 1))
    return value


class TransportError(Exception):
    """No HTTP response: connection refused or reset, DNS failure, TLS failure, timeout.

    The driver throws it into the flow so that each flow decides what it means
    (managed identity: "unavailable"; Entra ID: "failed").
    """

    def __init__(self, request: HttpRequest, message: str, *, timeout: bool = False) -> None:
        super().__init__(message)
        self.request = request
        self.message = message
        self.timeout = timeout


class Sleep(_Value):
    """Wait before the next attempt (retries). Tests inject a clock instead of waiting."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


class RunProcess(_Value):
    """Run a program as an argument list: never through a shell."""

    __slots__ = ("argv", "timeout", "env", "cwd")

    def __init__(
        self,
        argv: tuple[str, ...],
        timeout: float,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> None:
        self.argv = tuple(argv)
        self.timeout = timeout
        self.env = env
        self.cwd = cwd


class MemberCall(_Value):
    """A chain asks one of its members for a token: ``get_token`` or ``get_token_info`` as the chain was
    asked (or the one the member has). The drivers perform it with the chain's ``context`` as the
    current chain (None: the call is not made as part of a walk), awaiting an async member; the
    member's exception is thrown into the flow."""

    __slots__ = ("credential", "name", "want_info", "scopes", "kwargs", "options", "context", "chain")

    def __init__(
        self,
        credential: Any,
        name: str,
        want_info: bool,
        scopes: tuple[str, ...],
        passthrough: Mapping[str, Any] | None,
        context: Any,
        chain: str,
    ) -> None:
        self.credential = credential
        self.name = name
        self.want_info = want_info
        self.scopes = scopes
        self.kwargs = {} if want_info else dict(passthrough or {})  # get_token keywords
        self.options = dict(passthrough or {}) if want_info else None  # get_token_info options
        self.context = context
        self.chain = chain

    def invoke(self) -> Any:
        """Call the member; the result may be awaitable (an async member)."""
        member = self.credential
        has_token, has_info = hasattr(member, "get_token"), hasattr(member, "get_token_info")
        if self.want_info:
            options = dict(self.options or {})
            if has_info:
                return member.get_token_info(*self.scopes, options=options)
            if options.get("pop"):
                from .._errors import CredentialUnavailableError

                raise CredentialUnavailableError(
                    "Proof of possession arguments are not supported for this credential."
                )
            return member.get_token(*self.scopes, **options)
        if has_token or not has_info:
            return member.get_token(*self.scopes, **self.kwargs)
        options = {k: v for k, v in self.kwargs.items() if k in ("claims", "tenant_id", "enable_cae") and v}
        return member.get_token_info(*self.scopes, options=options)

    def refuse_async(self, result: Any) -> None:
        """A sync chain was handed an async member's coroutine: close it and say what to do instead."""
        close = getattr(result, "close", None)
        if callable(close):
            close()
        raise AsyncMemberError(
            f"{self.name} is an async credential; chain it with azidentity.aio.{self.chain}"
        )


class AsyncMemberError(TypeError):
    """An async credential in a sync chain: a programming error, raised to the caller as it is."""


class ProcessResult(_Value):
    """What a process did; ``not_found``: the executable could not be started."""

    __slots__ = ("returncode", "stdout", "stderr", "duration", "timed_out", "not_found")

    def __init__(
        self,
        returncode: int,
        stdout: str,
        stderr: str,
        duration: float,
        timed_out: bool = False,
        not_found: bool = False,
    ) -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.duration = duration
        self.timed_out = timed_out
        self.not_found = not_found


if TYPE_CHECKING:
    from typing import TypeAlias

    from .user_effects import Interaction

    Effect: TypeAlias = "HttpRequest | Sleep | RunProcess | Interaction | MemberCall"
    Flow: TypeAlias = "Generator[Effect, Any, T]"
else:

    class _AnnotationOnly:
        """``Flow[...]`` appears only in (string) annotations; no typing import at run time."""

        def __getitem__(self, item: object) -> _AnnotationOnly:
            return self

    Effect = (HttpRequest, Sleep, RunProcess, MemberCall)
    Flow = _AnnotationOnly()
