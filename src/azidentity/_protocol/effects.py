"""Effects a flow yields, and the results the drivers send back.

These are plain values so a flow can be stepped in a test with ``next()``/``send()``.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] | None = None
    form: Mapping[str, str] | None = None
    # Per-request transport settings. ``None`` keeps the pipeline's own value.
    retry_total: int | None = None
    connection_timeout: float | None = None
    read_timeout: float | None = None
    # The endpoint must be contacted directly, never through a proxy (managed identity).
    bypass_proxy: bool = False

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


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Headers
    body: bytes
    request: HttpRequest
    reason: str = ""
    # The azure-core response object, exposed to users as ``error.response``.
    raw: Any = field(default=None, compare=False, repr=False)

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """Parse the body as JSON; raises ValueError for anything else."""
        return json.loads(self.body.decode("utf-8"))


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


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait before the next attempt (retries). Tests inject a clock instead of waiting."""

    seconds: float


@dataclass(frozen=True, slots=True)
class RunProcess:
    """Run a program as an argument list: never through a shell."""

    argv: tuple[str, ...]
    timeout: float
    env: Mapping[str, str] | None = None
    cwd: str | None = None


@dataclass(frozen=True, slots=True)
class ProcessResult:
    returncode: int
    stdout: str
    stderr: str
    duration: float
    timed_out: bool = False
    # The executable could not be started (not found, not executable).
    not_found: bool = False


Effect = HttpRequest | Sleep | RunProcess
Flow = Generator[Effect, Any, T]
