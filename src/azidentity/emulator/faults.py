"""Fault plans: make a route fail, stall, reset, cut its body or answer slowly, a given number of times."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from .wire import RecordedRequest

ANY_ROUTE = "*"


@dataclass
class Fault:
    """One planned fault.  ``hits`` counts how often it fired; ``times=None`` means forever.

    If neither ``status`` nor ``body`` is set, the real handler still answers and the fault only adds
    ``headers``/``delay``/``slow_body``/``cut_body`` to its response.  ``slow_body`` is the pause
    (seconds) before each of the (at most 4) chunks the body is sent in.  ``cut_body=N`` sends the
    headers (with the full ``Content-Length``) and the first ``N`` bytes of the body, then closes the
    connection: a server that went away mid-body, without a timer racing the client.
    """

    route: str
    status: int | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0
    hang: bool = False
    reset: bool = False
    times: int | None = 1
    match: Callable[[RecordedRequest], bool] | None = None
    slow_body: float = 0
    cut_body: int | None = None
    hits: int = 0

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    @property
    def replaces_response(self) -> bool:
        return self.status is not None or self.body is not None


def _encode_body(body: str | bytes | dict[str, object] | None, headers: dict[str, str]) -> bytes | None:
    if body is None:
        return None
    has_type = any(k.lower() == "content-type" for k in headers)
    if isinstance(body, dict):
        data = json.dumps(body).encode("utf-8")
    else:
        data = body.encode("utf-8") if isinstance(body, str) else body
    if not has_type:
        looks_json = data.lstrip()[:1] in (b"{", b"[")
        headers["Content-Type"] = (
            "application/json; charset=utf-8" if looks_json else "text/plain; charset=utf-8"
        )
    return data


class FaultPlan:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._release = threading.Event()

    def add(
        self,
        route: str,
        *,
        status: int | None = None,
        body: str | bytes | dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        delay: float = 0,
        hang: bool = False,
        reset: bool = False,
        times: int | None = 1,
        match: Callable[[RecordedRequest], bool] | None = None,
        slow_body: float = 0,
        cut_body: int | None = None,
    ) -> Fault:
        """Plan a fault for ``route`` (a route name, or ``"*"`` for every route).  Faults fire in order
        added."""
        hdrs = dict(headers or {})
        fault = Fault(
            route=route,
            status=status,
            body=_encode_body(body, hdrs),
            headers=hdrs,
            delay=delay,
            hang=hang,
            reset=reset,
            times=times,
            match=match,
            slow_body=slow_body,
            cut_body=cut_body,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault and let any hung request go (it is closed without a response)."""
        with self._lock:
            self._faults.clear()
            self._release.set()
            self._release = threading.Event()

    def release_all(self) -> None:
        with self._lock:
            self._release.set()

    @property
    def release_event(self) -> threading.Event:
        with self._lock:
            return self._release

    @property
    def faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, request: RecordedRequest) -> Fault | None:
        """The first live fault for this request, counting it as fired."""
        with self._lock:
            for fault in self._faults:
                if fault.exhausted or fault.route not in (request.route, ANY_ROUTE):
                    continue
                if fault.match is not None:
                    try:
                        if not fault.match(request):
                            continue
                    except Exception:  # a broken predicate must not take the server down
                        continue
                fault.hits += 1
                return fault
        return None
