"""HTTP request/response value types shared by the server, the handlers and the request log."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


class Headers(Mapping[str, str]):
    """Read-only header map; lookups ignore case because HTTP header names are case-insensitive."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        for name, value in items:
            previous = self._items.get(name.lower())
            # Repeated headers are equivalent to one comma-joined header (RFC 9110 5.3).
            self._items[name.lower()] = (name, f"{previous[1]}, {value}" if previous else value)

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()][1]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({dict(self)!r})"


@dataclass
class RecordedRequest:
    """One request as the emulator saw it (also what fault ``match`` predicates receive)."""

    route: str
    method: str
    path: str
    query: dict[str, str]
    headers: Headers
    form: dict[str, str]
    time: float
    body: bytes = b""
    listener: str = ""
    status: int | None = None
    fault: bool = False

    @property
    def claims(self) -> str | None:
        """The ``claims`` parameter (CAE / claims challenge), if the client sent one."""
        return self.form.get("claims", self.query.get("claims"))

    @property
    def claims_sent(self) -> bool:
        return self.claims is not None

    @property
    def client_request_id(self) -> str | None:
        return self.headers.get("client-request-id")


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    all_headers = {"Content-Type": "application/json; charset=utf-8"}
    all_headers.update(headers or {})
    return Response(status, json.dumps(payload).encode("utf-8"), all_headers)


Handler = Callable[[RecordedRequest, dict[str, str]], Response]


@dataclass(frozen=True)
class Route:
    """``pattern`` is a regex matched against the whole path; named groups become handler params."""

    name: str
    method: str
    pattern: re.Pattern[str]
    handler: Handler

    @classmethod
    def of(cls, name: str, method: str, pattern: str, handler: Handler) -> Route:
        return cls(name, method, re.compile(pattern), handler)


class Router:
    def __init__(self, routes: Iterable[Route] = ()) -> None:
        self.routes: list[Route] = list(routes)

    def add(self, route: Route) -> None:
        self.routes.append(route)

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """(route, params, path_matched_some_route).  Route is None on 404/405."""
        path_matched = False
        for route in self.routes:
            m = route.pattern.fullmatch(path)
            if m is None:
                continue
            path_matched = True
            if route.method == method:
                return route, {k: v for k, v in m.groupdict().items() if v is not None}, True
        return None, {}, path_matched

    def route_name(self, path: str) -> str | None:
        for route in self.routes:
            if route.pattern.fullmatch(path):
                return route.name
        return None
