"""A failing managed identity endpoint ends within its total budget (issue 12.7, decisions.md revised):
retries, read timeouts and Retry-After waits all fit in ``timeout`` (default 30 s); no attempt or wait
starts that cannot end before it; 410 from a starting IMDS keeps its >= 70 s; a server trickling bytes
can't hold a request past it either. The error says how long it took and how many attempts it made.

The retry decisions are stepped sans-IO with a fake timer (each attempt "takes" its read timeout); the
credential is tested over loopback sockets (the emulator, or a trickling server below) with the injected
``_sleep`` seam, so no test waits for backoff to pass.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
import threading
import time

import pytest

from azidentity import AuthenticationFailedError
from azidentity._protocol.effects import Headers, HttpRequest, HttpResponse, Sleep, TransportError
from azidentity._protocol.managed_identity.retry import GONE_BUDGET, IMDS_STATUSES, Budget, RetryPolicy, send
from managed_identity_testlib import (  # noqa: F401 - fresh_mi_cache is an autouse fixture
    SCOPE,
    Sleeps,
    fresh_mi_cache,
    make,
    with_metadata,
)

NOW = 1_700_000_000.0
REQ = HttpRequest(
    "GET", "http://127.0.0.1:1/metadata/identity/oauth2/token", connection_timeout=2.0, read_timeout=5.0
)
BUSY = {"error": "temporarily_unavailable", "error_description": "try again later"}


def response(status: int, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(status, Headers(headers or {}), b"{}", REQ, "")


class FakeTimer:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def step(policy, answer, *, takes=None):
    """Run send() to its end. ``answer(request)`` gives each attempt's result; ``takes(request)`` how long
    it lasts (default: a timeout lasts its read timeout, an answer 10 ms). Returns the outcome, the
    requests sent, the sleeps and the fake time spent."""
    timer = FakeTimer()
    budget = Budget(policy.budget, timer)
    flow = send(REQ, policy, lambda: NOW, budget=budget)
    requests, sleeps = [], []
    effect = next(flow)
    try:
        while True:
            if isinstance(effect, Sleep):
                sleeps.append(effect.seconds)
                timer.now += effect.seconds
                effect = flow.send(None)
                continue
            requests.append(effect)
            result = answer(effect)
            if takes is not None:
                timer.now += takes(effect)
            elif isinstance(result, TransportError) and result.timeout:
                timer.now += effect.read_timeout
            else:
                timer.now += 0.01
            effect = flow.throw(result) if isinstance(result, Exception) else flow.send(result)
    except StopIteration as stop:
        return stop.value, requests, sleeps, timer.now


def hangs(request: HttpRequest) -> TransportError:
    return TransportError(request, "no response within the read timeout", timeout=True)


def imds_policy(**kw) -> RetryPolicy:
    return RetryPolicy(statuses=IMDS_STATUSES, gone_budget=GONE_BUDGET, **kw)


# -- the retry loop, stepped ---------------------------------------------------------------------------------


def test_a_hanging_imds_ends_within_the_default_30_seconds():
    """Before: 6 attempts x 5 s read timeout + 24.8 s of backoff = 54.8 s."""
    outcome, requests, sleeps, spent = step(imds_policy(), hangs)
    assert spent <= 30.0
    assert outcome.elapsed == pytest.approx(spent) and outcome.attempts == len(requests)
    assert outcome.budget_spent and outcome.error is not None
    # Every attempt's timeouts (and its whole-request deadline) fit in what was left of the budget.
    used = 0.0
    for index, request in enumerate(requests):
        remaining = 30.0 - used
        assert request.read_timeout <= remaining and request.connection_timeout <= remaining
        assert request.total_timeout == pytest.approx(remaining)
        used += request.read_timeout + (sleeps[index] if index < len(sleeps) else 0)
    assert requests[0].read_timeout == 5.0 and len(requests) == 4  # 25.6 s; a 6.4 s wait would not fit
    # When less than a read timeout is left, the attempt's timeouts are cut to it.
    _, requests, sleeps, spent = step(imds_policy(budget=8.0), hangs)
    assert [r.read_timeout for r in requests] == [5.0, pytest.approx(2.2)] and spent == pytest.approx(8.0)


def test_no_wait_starts_that_leaves_no_time_for_an_attempt():
    outcome, requests, sleeps, spent = step(imds_policy(), hangs)
    assert all(r.read_timeout >= 0.5 for r in requests)  # no pointless sliver of an attempt
    assert 30.0 - spent < 0.5 + 12.8  # it stopped because the next backoff did not fit


def test_retry_after_waits_stay_inside_the_budget():
    outcome, requests, sleeps, _ = step(imds_policy(), lambda r: response(429, {"Retry-After": "20"}))
    assert sleeps == [20] and len(requests) == 2 and outcome.budget_spent
    outcome, requests, sleeps, _ = step(imds_policy(), lambda r: response(503, {"Retry-After": "86400"}))
    assert sleeps == [] and len(requests) == 1 and outcome.budget_spent  # 60 s (capped) doesn't fit


def test_the_budget_is_settable():
    _, requests, sleeps, spent = step(imds_policy(budget=10.0), hangs)
    assert spent <= 10.0 and requests[0].read_timeout == 5.0
    _, requests, sleeps, spent = step(imds_policy(budget=120.0), hangs)
    assert len(requests) == 6 and sleeps == [0.8, 1.6, 3.2, 6.4, 12.8]  # retry_total bounds it first


def test_a_fast_storm_is_unchanged():
    outcome, requests, sleeps, spent = step(imds_policy(), lambda r: response(503))
    assert len(requests) == 6 and sleeps == [0.8, 1.6, 3.2, 6.4, 12.8] and not outcome.budget_spent


def test_410_from_a_starting_imds_keeps_its_70_seconds():
    outcome, requests, sleeps, spent = step(imds_policy(), lambda r: response(410), takes=lambda r: 1.0)
    assert sum(sleeps) >= 70 and spent <= 70 + 30
    assert outcome.response.status == 410


def test_410_hanging_attempts_stay_bounded_too():
    answers = iter([response(410)] * 4)
    outcome, requests, sleeps, spent = step(imds_policy(), lambda r: next(answers, None) or hangs(r))
    assert spent <= GONE_BUDGET + 30


# -- the credential, over sockets ----------------------------------------------------------------------------


def test_a_hanging_imds_is_bounded_by_the_budget(flavor, emulator):
    """Scaled down 10x (budget 3 s, read timeout 0.5 s, backoff from 0.08 s): before, 6 attempts took
    3 s of read timeouts plus 2.5 s of backoff."""
    sleeps = Sleeps()
    emulator.faults.add("imds", hang=True, match=with_metadata, times=None)
    credential = make(flavor, emulator, sleeps=sleeps, timeout=3, read_timeout=0.5, retry_backoff_factor=0.08)
    start = time.monotonic()
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(credential, SCOPE)
    spent = time.monotonic() - start + sum(sleeps)
    assert spent <= 3 + 1.0, spent  # the margin is for a busy machine; before the fix: 5.6 s
    text = str(info.value)
    attempts = emulator.count("imds")
    assert attempts < 6 and f"{attempts} attempts in " in text
    assert "3 s budget" in text and "timeout=" in text


def test_retry_after_at_the_credential(flavor, emulator):
    sleeps = Sleeps()
    emulator.faults.add("imds", status=429, body=BUSY, headers={"Retry-After": "20"}, times=None)
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(make(flavor, emulator, sleeps=sleeps), SCOPE)
    assert sleeps == [20] and emulator.count("imds") == 2
    assert "2 attempts in 20." in str(info.value) and "30 s budget" in str(info.value)


def test_a_retry_after_longer_than_the_budget_ends_at_once(flavor, emulator):
    sleeps = Sleeps()
    emulator.faults.add("app-service", status=503, body=BUSY, headers={"Retry-After": "86400"}, times=None)
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(make(flavor, emulator, "app-service", sleeps=sleeps), SCOPE)
    assert sleeps == [] and emulator.count("app-service") == 1
    text = str(info.value)
    assert "answered 503" in text and "1 attempt in " in text and "30 s budget (timeout=30)" in text
    assert info.value.status_code == 503


def test_timeout_must_be_positive(flavor):
    with pytest.raises(ValueError, match="timeout"):
        flavor.make("ManagedIdentityCredential", _env={}, timeout=0)


# -- a server that trickles ---------------------------------------------------------------------------------


class TricklingServer:
    """HTTP on 127.0.0.1: answers 200 with a long body, one byte every ``interval`` seconds (each byte well
    within the read timeout), until the client goes away or ``limit`` seconds have passed."""

    def __init__(self, interval: float = 0.1, limit: float = 15.0) -> None:
        self.interval, self.limit = interval, limit
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        deadline = time.monotonic() + self.limit
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
                )
                while not self.stop.is_set() and time.monotonic() < deadline:
                    conn.sendall(b" ")
                    time.sleep(self.interval)
            except OSError:
                return  # the client gave up

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        self.thread.join(2)


@pytest.fixture
def trickling():
    server = TricklingServer()
    yield server
    server.close()


def _transport_honours_deadlines() -> bool:
    from azidentity._http import transport as _transport

    return "azidentity_deadline" in inspect.getsource(_transport)


def test_async_trickling_server_cannot_hold_a_request_past_the_budget(emulator, trickling):
    import azidentity.aio

    async def go():
        credential = azidentity.aio.ManagedIdentityCredential(
            _env={"AZURE_POD_IDENTITY_AUTHORITY_HOST": f"http://127.0.0.1:{trickling.port}"},
            _sleep=Sleeps(),
            timeout=1.5,
            read_timeout=0.5,
            retry_total=0,
        )
        async with credential:
            start = time.monotonic()
            with pytest.raises(AuthenticationFailedError) as info:
                await asyncio.wait_for(credential.get_token(SCOPE), 10)  # the test's own bound
            return time.monotonic() - start, info.value

    elapsed, error = asyncio.run(go())
    assert elapsed < 1.5 + 1.0, elapsed
    assert "within 1.5 s" in str(error) or "1.5 s budget" in str(error)


@pytest.mark.skipif(
    not _transport_honours_deadlines(),
    reason="the default sync transport does not honour azidentity_deadline yet",
)
def test_sync_trickling_server_cannot_hold_a_request_past_the_budget(emulator, trickling):
    import azidentity

    credential = azidentity.ManagedIdentityCredential(
        _env={"AZURE_POD_IDENTITY_AUTHORITY_HOST": f"http://127.0.0.1:{trickling.port}"},
        _sleep=Sleeps(),
        timeout=1.5,
        read_timeout=0.5,
        retry_total=0,
    )
    outcome: list[object] = []

    def call() -> None:
        start = time.monotonic()
        try:
            credential.get_token(SCOPE)
        except Exception as error:
            outcome.append((time.monotonic() - start, error))

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(10)  # the test's own bound
    trickling.close()
    assert outcome, "the request outlived its budget"
    elapsed, error = outcome[0]
    assert isinstance(error, AuthenticationFailedError) and elapsed < 1.5 + 1.0, (elapsed, error)


# -- the deadline reaches azidentity's transport only --------------------------------------------------------


def test_the_deadline_keyword_reaches_only_azidentitys_own_transport(emulator, monkeypatch):
    import azidentity
    from azidentity._http import transport as _transport

    seen: list[dict] = []
    original = _transport.StdlibTransport.send

    def spy(self, request, **kwargs):
        seen.append(dict(kwargs))
        return original(self, request, **kwargs)

    monkeypatch.setattr(_transport.StdlibTransport, "send", spy)
    before = time.monotonic()
    with azidentity.ManagedIdentityCredential(_env=emulator.env("imds"), timeout=7) as credential:
        token = credential.get_token(SCOPE)
    emulator.verify_token(token.token)
    (options,) = seen
    assert before < options["azidentity_deadline"] <= time.monotonic() + 7

    from azure.core.pipeline.transport import RequestsTransport

    class Recording(RequestsTransport):
        def send(self, request, **kwargs):
            seen.append(dict(kwargs))
            return super().send(request, **kwargs)

    with azidentity.ManagedIdentityCredential(
        _env=emulator.env("app-service"), transport=Recording()
    ) as credential:
        emulator.verify_token(credential.get_token(SCOPE).token)
    assert "azidentity_deadline" not in seen[-1]
