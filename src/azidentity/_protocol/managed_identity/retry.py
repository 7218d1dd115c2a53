"""Managed identity retries, done in the flow (``Sleep`` effects) rather than by the transport.

Defaults (decisions.md): IMDS retries 404, 410, 429, 5xx and transport failures at most 5 times
with exponential backoff from 0.8 s (0.8, 1.6, 3.2, 6.4, 12.8); ``Retry-After`` is honoured and
capped at 60 s; the other hosts retry 429, 5xx and transport failures 3 times.

All of it fits in one total budget per token request (:class:`Budget`: ``timeout=``, 30 s by
default): attempts (their connect/read timeouts and whole-request deadline cut to what is left) and
waits. No wait starts unless at least :data:`MIN_ATTEMPT` seconds remain after it for the next
attempt; a ``Retry-After`` that doesn't fit ends the loop rather than being shortened. The one
exception is 410 ("IMDS is starting"): it keeps being retried until at least 70 s of backoff have
passed, within the budget plus those 70 s. Every loop is bounded.
"""

from __future__ import annotations

import email.utils
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ... import log
from ..effects import Flow, HttpRequest, HttpResponse, Sleep, TransportError

IMDS_STATUSES = frozenset({404, 410, 429, *range(500, 600)})
OTHER_STATUSES = frozenset({429, *range(500, 600)})
GONE = 410
GONE_BUDGET = 70.0
IMDS_RETRIES = 5
OTHER_RETRIES = 3
# Seconds one token request may take in all (decisions.md: "a failing endpoint ends within 30 s").
DEFAULT_BUDGET = 30.0
# No wait starts that leaves less than this for the attempt after it.
MIN_ATTEMPT = 0.5


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = IMDS_RETRIES
    statuses: frozenset[int] = IMDS_STATUSES
    backoff_factor: float = 0.8
    backoff_max: float = 60.0
    retry_after_max: float = 60.0
    # 410 is retried, regardless of max_retries, until this much backoff has passed (0: off).
    gone_budget: float = 0.0
    # Seconds for all attempts and waits of one request (a 410 phase adds gone_budget).
    budget: float = DEFAULT_BUDGET

    def limit(self, gone: bool) -> float:
        """The total budget: longer while a starting IMDS answers 410."""
        return self.budget + (self.gone_budget if gone and self.gone_budget > 0 else 0.0)

    def backoff(self, retry: int) -> float:
        """The wait before retry number ``retry`` (1-based): factor * 2**(retry-1), capped."""
        return min(self.backoff_factor * float(1 << min(max(retry - 1, 0), 62)), self.backoff_max)

    def delay(self, retry: int, response: HttpResponse | None, slept: float, now: float) -> float | None:
        """Seconds to wait before retry number ``retry``; None: stop retrying."""
        if self.max_retries <= 0:
            return None
        if response is None:  # a transport failure
            return self.backoff(retry) if retry <= self.max_retries else None
        if response.status not in self.statuses:
            return None
        hint = retry_after(response, now)
        wait = min(hint, self.retry_after_max) if hint is not None else self.backoff(retry)
        if response.status == GONE and self.gone_budget > 0:
            remaining = self.gone_budget - slept
            if remaining <= 0:
                return None
            if retry > self.max_retries:
                # Past the ordinary retries the budget must be spent: a Retry-After of 0 (or of a
                # millisecond) would otherwise keep the loop asking IMDS without end.
                return min(max(wait, self.backoff(retry)), remaining)
            return wait
        return wait if retry <= self.max_retries else None


def retry_after(response: HttpResponse, now: float) -> float | None:
    """The server's requested wait: ``retry-after-ms``, ``x-ms-retry-after-ms`` or ``Retry-After``."""
    return retry_after_from(response.headers, now)


def retry_after_from(headers: Any, now: float) -> float | None:
    """:func:`retry_after` for any case-insensitive header mapping (azure-core's too). Never raises:
    a value that is neither a number nor an HTTP date is ignored."""
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        seconds = _non_negative(headers.get(name), 1000.0)
        if seconds is not None:
            return seconds
    value = headers.get("retry-after")
    if not value:
        return None
    seconds = _non_negative(value, 1.0)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if when is None:
        return None
    return _non_negative(when.timestamp() - now, 1.0)


def _non_negative(value: object, per_second: float) -> float | None:
    """A header's number of seconds (``per_second`` units each), at least 0; None if it isn't one.

    NaN is no number (it would compare false with every bound, and a retry loop budgeted by it would
    never end); an infinite wait stays infinite here and is capped by the policy.
    """
    if value is None or value == "":
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    if math.isnan(number):
        return None
    return max(number / per_second, 0.0)


class Budget:
    """The time one token request has spent: its attempts (timed with ``timer``, a monotonic clock) and
    its waits (counted as requested, so an injected ``_sleep`` counts as if it had waited)."""

    __slots__ = ("seconds", "timer", "attempts_time", "slept")

    def __init__(self, seconds: float, timer: Callable[[], float]) -> None:
        self.seconds = seconds
        self.timer = timer
        self.attempts_time = 0.0
        self.slept = 0.0

    @property
    def spent(self) -> float:
        return self.attempts_time + self.slept


@dataclass(slots=True)
class Outcome:
    """The last attempt's result: a response, or the transport error that replaced it."""

    response: HttpResponse | None
    error: TransportError | None
    attempts: int
    slept: float
    # Some attempt got an HTTP answer (the endpoint exists even if the last attempt got none).
    answered: bool
    delays: tuple[float, ...] = ()
    # Some attempt got a connection (an answer, or a failure after connecting: a read timeout, a reset
    # mid-body): something listens there, even if later attempts were refused.
    reached: bool = False
    # Seconds spent in all (attempts and waits), and whether retrying stopped because the next wait and
    # attempt would not have fit in the budget of ``budget`` seconds.
    elapsed: float = 0.0
    budget_spent: bool = False
    budget: float = DEFAULT_BUDGET


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error and everything it wraps (causes, contexts, and the wrappers' own fields)."""
    seen: set[int] = set()
    stack: list[object] = [error]
    while stack and len(seen) < 50:
        item = stack.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        stack.extend([item.__cause__, item.__context__, *item.args])
        for name in ("inner_exception", "reason", "os_error", "certificate_error"):
            stack.append(getattr(item, name, None))


# Exception classes (requests/urllib3, aiohttp, azure-core) raised when no connection was made.
_CONNECT_ERRORS = frozenset(
    {
        "NewConnectionError",
        "ConnectTimeoutError",
        "ConnectTimeout",
        "ClientConnectorError",
        "ConnectionTimeoutError",
        "ServiceRequestTimeoutError",
    }
)


def connect_failed(error: TransportError) -> bool:
    """True when no connection was made (refused, unreachable, connect timeout): nothing is listening."""
    for item in _chain(error):
        if isinstance(item, ConnectionRefusedError) or type(item).__name__ in _CONNECT_ERRORS:
            return True
    return False


def certificate_rejected(error: TransportError) -> bool:
    """A TLS certificate was refused (a pin mismatch, an untrusted CA): retrying cannot help."""
    for item in _chain(error):
        if any(
            cls.__name__ in ("SSLCertVerificationError", "CertificateError") for cls in type(item).__mro__
        ):
            return True
    return False


def wraps(error: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The exception of type ``kind`` that ``error`` wraps, if any."""
    for item in _chain(error):
        if isinstance(item, kind):
            return item
    return None


def _within(request: HttpRequest, remaining: float) -> HttpRequest:
    """``request`` with its timeouts, and a whole-request deadline, cut to the ``remaining`` seconds."""
    remaining = max(remaining, 0.0)

    def cut(value: float | None) -> float:
        return remaining if value is None else min(value, remaining)

    return request.replace(
        connection_timeout=cut(request.connection_timeout),
        read_timeout=cut(request.read_timeout),
        total_timeout=cut(request.total_timeout),
    )


def send(
    request: HttpRequest,
    policy: RetryPolicy,
    now: Callable[[], float],
    *,
    retry_connect_failures: bool = True,
    budget: Budget | None = None,
) -> Flow[Outcome]:
    """Send ``request`` until it succeeds, cannot be retried, the policy says stop, or the budget is spent.

    ``now`` is the wall clock (for Retry-After dates). ``budget`` may be shared by several calls (Arc's
    challenge and answer); by default a new one of ``policy.budget`` seconds, timed with ``now``.
    With ``retry_connect_failures=False`` a failure to connect ends the loop at once unless the
    endpoint answered an earlier attempt (IMDS that isn't there should say so fast).
    """
    if budget is None:
        budget = Budget(policy.budget, now)
    attempts = 0
    start_slept = budget.slept
    answered = False
    reached = False
    gone = False
    delays: list[float] = []

    def outcome(response: HttpResponse | None, error: TransportError | None, spent: bool = False) -> Outcome:
        return Outcome(
            response,
            error,
            attempts,
            budget.slept - start_slept,
            answered,
            tuple(delays),
            reached,
            budget.spent,
            spent,
            policy.limit(gone),
        )

    while True:
        attempts += 1
        response: HttpResponse | None = None
        error: TransportError | None = None
        started = budget.timer()
        try:
            response = yield _within(request, policy.limit(gone) - budget.spent)
            answered = True
        except TransportError as failure:
            error = failure
        finally:
            budget.attempts_time += max(budget.timer() - started, 0.0)
        reached = reached or answered or (error is not None and not connect_failed(error))
        if response is not None and 200 <= response.status < 300:
            return outcome(response, None)
        if error is not None and (
            certificate_rejected(error)
            or (not retry_connect_failures and not reached and connect_failed(error))
        ):
            return outcome(None, error)
        if response is not None:
            gone = response.status == GONE
        wait = policy.delay(attempts, response, budget.slept - start_slept, now())
        if wait is None:
            return outcome(response, error)
        limit = policy.limit(gone)
        if budget.spent + wait + MIN_ATTEMPT > limit:
            log.emit(
                log.EVENT_RETRY,
                logging.DEBUG,
                "ManagedIdentityCredential: %s %s -> %s; not retrying: "
                "waiting %.1f s more would not leave time for another attempt within the %.0f s budget",
                request.method,
                request.url_without_query,
                response.status if response is not None else (error.message if error else "no response"),
                wait,
                limit,
            )
            return outcome(response, error, spent=True)
        log.emit(
            log.EVENT_RETRY,
            logging.DEBUG,
            "ManagedIdentityCredential: %s %s -> %s; retrying in %.1f s",
            request.method,
            request.url_without_query,
            response.status if response is not None else (error.message if error else "no response"),
            wait,
        )
        delays.append(wait)
        if wait > 0:
            yield Sleep(wait)
        budget.slept += wait
