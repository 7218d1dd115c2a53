"""Faults against the emulator's fault controls: every call ends within its configured bound, retries stay
bounded, the error category is right (inside ChainedTokenCredential: a chain continues past
"unavailable" and stops at "failed"), and no cache ever serves an expired token.

Waits between retries go through the credentials' ``_sleep`` seam (recorded, not slept), so these tests
prove the bounds without waiting for them; the only real waits are the read timeouts (fractions of a
second) that some faults are about.
"""

from __future__ import annotations

import os
import socket
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from azidentity import AuthenticationFailedError, CredentialUnavailableError
from azidentity._http.pipeline import RETRY_AFTER_MAX, RETRY_WAIT_BUDGET

SCOPE = "https://storage.azure.com/.default"
MI_SCOPE = "https://management.azure.com/.default"
MARGIN = 3.0  # seconds of slack on a loaded CI machine
BUSY = {"error": "temporarily_unavailable", "error_description": "try again later"}


class Sleeps(list[float]):
    """The ``_sleep`` seam: records each wait instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def entra(flavor: Any, emu: Any, sleeps: Sleeps, **kwargs: Any) -> Any:
    app = emu.apps["secret"]
    kwargs.setdefault("authority", emu.base_url)
    return flavor.make(
        "ClientSecretCredential",
        emu.tenant_id,
        app.client_id,
        app.secret,
        connection_verify=emu.ca_bundle_path,
        _sleep=sleeps,
        **kwargs,
    )


def managed(
    flavor: Any,
    emu: Any,
    sleeps: Sleeps,
    host: str = "imds",
    env: dict[str, str] | None = None,
    **kwargs: Any,
) -> Any:
    import canary

    canary.SECRETS.discard(emu.arc_token_dir)
    return flavor.make(
        "ManagedIdentityCredential",
        _env={**emu.env(host), **(env or {})},
        _sleep=sleeps,
        _arc_token_dir=emu.arc_token_dir,
        **kwargs,
    )


def timed(flavor: Any, credential: Any, scope: str = SCOPE) -> tuple[Any, float]:
    start = time.monotonic()
    try:
        return flavor.get_token(credential, scope), time.monotonic() - start
    except Exception as error:  # noqa: BLE001 - returned for the caller's assertions
        return error, time.monotonic() - start


def in_chain(flavor: Any, emu: Any, member: Any, scope: str = SCOPE) -> tuple[Any, int]:
    """Run ``member`` first in a chain whose second member would succeed; (outcome, second member's calls)."""
    fallback = entra(flavor, emu, Sleeps())
    calls = []
    original = fallback.get_token

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    fallback.get_token = counted
    chain = flavor.make("ChainedTokenCredential", member, fallback)
    outcome, _ = timed(flavor, chain, scope)
    return outcome, len(calls)


# -- connection refused -------------------------------------------------------------------------------


def test_entra_connection_refused(flavor: Any, emulator: Any) -> None:
    sleeps = Sleeps()
    credential = entra(
        flavor, emulator, sleeps, authority=f"https://127.0.0.1:{closed_port()}", retry_total=3
    )
    error, elapsed = timed(flavor, credential)
    assert isinstance(error, AuthenticationFailedError), error
    assert "no response" in str(error)
    # Three retries (azure-core's first backoff is 0 s), their waits recorded, not slept.
    assert len(sleeps) == 2 and elapsed < MARGIN
    outcome, fallback_calls = in_chain(
        flavor,
        emulator,
        entra(flavor, emulator, Sleeps(), retry_total=0, authority=f"https://127.0.0.1:{closed_port()}"),
    )
    assert isinstance(outcome, AuthenticationFailedError) and fallback_calls == 0  # a failure stops the chain


def test_imds_connection_refused_is_unavailable_in_a_chain(flavor: Any, emulator: Any) -> None:
    dead = {"AZURE_POD_IDENTITY_AUTHORITY_HOST": f"http://127.0.0.1:{closed_port()}"}
    member = managed(flavor, emulator, Sleeps(), env=dead)
    start = time.monotonic()
    outcome, fallback_calls = in_chain(flavor, emulator, member, MI_SCOPE)
    assert not isinstance(outcome, Exception) and fallback_calls == 1  # unavailable: the chain moved on
    assert time.monotonic() - start < 1.0 + MARGIN  # the probe's 1 s bound


# -- resets -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["entra", "imds"])
def test_reset_before_the_response(flavor: Any, emulator: Any, target: str) -> None:
    sleeps = Sleeps()
    route = "token" if target == "entra" else "imds"
    emulator.faults.add(route, reset=True, times=None)
    credential = (
        entra(flavor, emulator, sleeps, retry_total=2)
        if target == "entra"
        else managed(flavor, emulator, sleeps, retry_total=2)
    )
    error, elapsed = timed(flavor, credential, SCOPE if target == "entra" else MI_SCOPE)
    assert isinstance(error, AuthenticationFailedError), error
    # aiohttp resends an idempotent GET once when a reused connection drops: at most twice the attempts.
    assert 3 <= emulator.count(route) <= 6 and elapsed < MARGIN
    assert len(sleeps) == (1 if target == "entra" else 2)  # azure-core's first backoff is 0 s


@pytest.mark.parametrize("target", ["entra", "imds"])
def test_reset_in_the_middle_of_the_body(flavor: Any, emulator: Any, target: str) -> None:
    """The server goes away while the body is on its way: every attempt gets the headers (with the
    whole Content-Length) and 20 bytes of the body, then the connection closes. Deterministic: no
    timer races the body, no port is freed for another process to take."""
    sleeps = Sleeps()
    route = "token" if target == "entra" else "imds"
    emulator.faults.add(route, cut_body=20, times=None)
    credential = (
        entra(flavor, emulator, sleeps, retry_total=1)
        if target == "entra"
        else managed(flavor, emulator, sleeps, retry_total=1)
    )
    error, elapsed = timed(flavor, credential, SCOPE if target == "entra" else MI_SCOPE)
    assert isinstance(error, AuthenticationFailedError), error
    assert elapsed < MARGIN
    assert "no response" in str(error).lower(), str(error)  # never a cut body taken for a whole one
    assert emulator.count(route) >= 2  # retried, and the retry was cut too


def test_the_cut_body_fault_sends_the_headers_and_n_bytes_then_closes(emulator: Any) -> None:
    import ssl

    emulator.faults.add("openid-configuration", cut_body=7)
    context = ssl.create_default_context(cafile=emulator.ca_bundle_path)
    port = int(emulator.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            path = f"/{emulator.tenant_id}/v2.0/.well-known/openid-configuration"
            tls.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            received = b""
            while chunk := tls.recv(65536):  # ends with the server's close, within the 5 s timeout
                received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(
        next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")).split(b":")[
            1
        ]
    )
    assert len(body) == 7 and length > 7


# -- slow headers, slow bodies, hangs (read timeouts) ------------------------------------------------------


@pytest.mark.parametrize(
    "fault", [{"delay": 3}, {"hang": True}, {"slow_body": 2}], ids=["slow-headers", "hang", "slow-body"]
)
def test_entra_read_timeouts_are_bounded(flavor: Any, emulator: Any, fault: dict[str, Any]) -> None:
    sleeps = Sleeps()
    emulator.faults.add("token", times=None, **fault)
    credential = entra(flavor, emulator, sleeps, retry_total=1, read_timeout=0.3)
    error, elapsed = timed(flavor, credential)
    emulator.faults.clear()  # let a hung handler go
    assert isinstance(error, AuthenticationFailedError), error
    assert "no response" in str(error)
    assert elapsed < 2 * 0.3 + MARGIN  # two attempts, each ending at its read timeout
    assert emulator.count("token") == 2


def test_a_slow_body_within_the_read_timeout_completes(flavor: Any, emulator: Any) -> None:
    emulator.faults.add("token", slow_body=0.1, times=1)
    token, elapsed = timed(flavor, entra(flavor, emulator, Sleeps(), read_timeout=2))
    assert emulator.verify_token(token.token) and elapsed < 0.5 + MARGIN


@pytest.mark.parametrize("fault", [{"hang": True}, {"slow_body": 2}], ids=["hang", "slow-body"])
def test_managed_identity_read_timeouts_are_bounded(
    flavor: Any, emulator: Any, fault: dict[str, Any]
) -> None:
    sleeps = Sleeps()
    emulator.faults.add("app-service", times=None, **fault)
    credential = managed(flavor, emulator, sleeps, "app-service", read_timeout=0.3, retry_total=1)
    error, elapsed = timed(flavor, credential, MI_SCOPE)
    emulator.faults.clear()
    assert isinstance(error, AuthenticationFailedError), error
    assert emulator.count("app-service") == 2 and len(sleeps) == 1
    assert elapsed < 2 * 0.3 + MARGIN


def test_imds_probe_hang_is_unavailable_within_the_probe_timeout(flavor: Any, emulator: Any) -> None:
    emulator.faults.add("imds", hang=True, times=None)
    member = managed(flavor, emulator, Sleeps(), probe_timeout=0.5)
    start = time.monotonic()
    outcome, fallback_calls = in_chain(flavor, emulator, member, MI_SCOPE)
    emulator.faults.clear()
    assert not isinstance(outcome, Exception) and fallback_calls == 1
    assert time.monotonic() - start < 0.5 + MARGIN


# -- 5xx storms ----------------------------------------------------------------------------------------


def test_entra_5xx_storm(flavor: Any, emulator: Any) -> None:
    sleeps = Sleeps()
    emulator.faults.add("token", status=503, body=BUSY, times=None)
    error, elapsed = timed(flavor, entra(flavor, emulator, sleeps, retry_total=3))
    assert isinstance(error, AuthenticationFailedError) and "503" in str(error)
    assert emulator.count("token") == 4 and len(sleeps) == 2 and sum(sleeps) <= RETRY_WAIT_BUDGET
    assert elapsed < MARGIN
    emulator.reset()
    emulator.faults.add("token", status=503, body=BUSY, times=None)
    outcome, fallback_calls = in_chain(flavor, emulator, entra(flavor, emulator, Sleeps(), retry_total=0))
    assert isinstance(outcome, AuthenticationFailedError) and fallback_calls == 0


def test_entra_default_retries_stay_within_the_wait_budget(flavor: Any, emulator: Any) -> None:
    """azure-core's defaults (10 retries, backoff to 120 s) would wait ~7 minutes; the budget bounds them."""
    sleeps = Sleeps()
    emulator.faults.add("token", status=503, body=BUSY, times=None)
    error, _ = timed(flavor, entra(flavor, emulator, sleeps, retry_backoff_factor=0.8))
    assert isinstance(error, AuthenticationFailedError)
    assert sum(sleeps) <= RETRY_WAIT_BUDGET and emulator.count("token") <= 11


@pytest.mark.parametrize("host", ["imds", "app-service"])
def test_managed_identity_5xx_storm(flavor: Any, emulator: Any, host: str) -> None:
    sleeps = Sleeps()
    route = {"imds": "imds"}.get(host, host)
    emulator.faults.add(route, status=503, body=BUSY, times=None)
    error, elapsed = timed(flavor, managed(flavor, emulator, sleeps, host), MI_SCOPE)
    assert isinstance(error, AuthenticationFailedError), error
    retries = 5 if host == "imds" else 3
    assert emulator.count(route) == retries + 1 and len(sleeps) == retries and elapsed < MARGIN
    assert sum(sleeps) <= 30  # decisions.md: a failing endpoint ends within 30 s of waiting


# -- 429 with huge or malformed Retry-After ------------------------------------------------------------------


@pytest.mark.parametrize("value", ["999999", "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_entra_huge_retry_after_is_capped(flavor: Any, emulator: Any, value: str) -> None:
    sleeps = Sleeps()
    emulator.faults.add("token", status=429, body=BUSY, headers={"Retry-After": value}, times=None)
    error, elapsed = timed(flavor, entra(flavor, emulator, sleeps, retry_total=10))
    assert isinstance(error, AuthenticationFailedError) and "429" in str(error)
    assert sleeps == [RETRY_AFTER_MAX]  # one capped wait; a second would exceed the retry budget
    assert emulator.count("token") == 2 and elapsed < MARGIN


@pytest.mark.parametrize("value", ["soon", "nan", "Tue, 99 Foo 2025"])
def test_entra_malformed_retry_after_is_ignored(flavor: Any, emulator: Any, value: str) -> None:
    """azure-core raises ValueError for a Retry-After that is neither a number nor a date; here it is
    ignored."""
    sleeps = Sleeps()
    headers = {"Retry-After": value} if value else {}
    emulator.faults.add("token", status=429, body=BUSY, headers=headers, times=2)
    token, elapsed = timed(flavor, entra(flavor, emulator, sleeps, retry_total=3, retry_backoff_factor=0.5))
    assert emulator.verify_token(token.token), token
    assert 1 <= len(sleeps) <= 2 and all(0 <= s <= RETRY_AFTER_MAX for s in sleeps)


@pytest.mark.parametrize("value", ["999999", "soon"])
def test_managed_identity_429_retry_after(flavor: Any, emulator: Any, value: str) -> None:
    sleeps = Sleeps()
    emulator.faults.add("imds", status=429, body=BUSY, headers={"Retry-After": value}, times=None)
    error, elapsed = timed(flavor, managed(flavor, emulator, sleeps), MI_SCOPE)
    assert isinstance(error, AuthenticationFailedError)
    # 999999 s, capped at 60 s, doesn't fit in the 30 s budget: no wait; "soon" is ignored: backoff.
    assert emulator.count("imds") == (1 if value == "999999" else 6) and elapsed < MARGIN
    assert sum(sleeps) <= 30 and all(0 <= s <= 60 for s in sleeps)


@pytest.mark.parametrize("value", ["0", "nan"])
def test_imds_410_with_tiny_retry_after_ends(flavor: Any, emulator: Any, value: str) -> None:
    """IMDS answering 410 ("starting") with Retry-After 0 used to be retried without end and without
    sleeping."""
    sleeps = Sleeps()
    emulator.faults.add("imds", status=410, body=BUSY, headers={"Retry-After": value}, times=None)
    error, elapsed = timed(flavor, managed(flavor, emulator, sleeps), MI_SCOPE)
    assert isinstance(error, AuthenticationFailedError)
    assert 70 <= sum(sleeps) <= 70 + 60 and emulator.count("imds") <= 20 and elapsed < MARGIN


# -- truncated JSON and unusable lifetimes -------------------------------------------------------------------

BAD_BODIES = {
    "truncated": '{"token_type": "Bearer", "expires_in": 3599, "access_tok',
    "expires-0": {"token_type": "Bearer", "expires_in": 0, "access_token": "eyJ0eXAi.e30.c2ln"},
    # expired as it arrives (int(now + 0.5) == now): found by the property tests
    "expires-half-second": {"token_type": "Bearer", "expires_in": 0.5, "access_token": "eyJ0eXAi.e30.c2ln"},
    "expires-negative": {"token_type": "Bearer", "expires_in": -3600, "access_token": "eyJ0eXAi.e30.c2ln"},
    "expires-absurd": {"token_type": "Bearer", "expires_in": 10**30, "access_token": "eyJ0eXAi.e30.c2ln"},
    "expires-huge-int": '{"token_type": "Bearer", "expires_in": '
    + "9" * 400
    + ', "access_token": "eyJ0eXAi.e30.c2ln"}',
    "deeply-nested": "[" * 100_000,
    "nested-object": {"access_token": {"a": [[[[[]]]]]}, "expires_in": 3600},
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_entra_unusable_token_responses(flavor: Any, emulator: Any, case: str) -> None:
    emulator.faults.add("token", status=200, body=BAD_BODIES[case], times=None)
    error, _ = timed(flavor, entra(flavor, emulator, Sleeps()))
    assert isinstance(error, AuthenticationFailedError), error
    text = str(error)
    assert "ClientSecretCredential authentication failed" in text
    assert "expires_in" in text or "unexpected response" in text or "access_token" in text, text
    outcome, fallback_calls = in_chain(flavor, emulator, entra(flavor, emulator, Sleeps()))
    assert isinstance(outcome, AuthenticationFailedError) and fallback_calls == 0


MI_BAD = {
    "truncated": '{"access_token": "eyJ0eXAi.e30.c2ln", "expires_in": "36',
    "expires-0": {"access_token": "eyJ0eXAi.e30.c2ln", "expires_in": "0"},
    "expires-negative": {"access_token": "eyJ0eXAi.e30.c2ln", "expires_on": "1000"},
    "expires-absurd": {"access_token": "eyJ0eXAi.e30.c2ln", "expires_on": str(10**30)},
    "expires-infinite": '{"access_token": "eyJ0eXAi.e30.c2ln", "expires_on": Infinity}',
    "deeply-nested": "[" * 100_000,
}


@pytest.mark.parametrize("case", sorted(MI_BAD))
def test_managed_identity_unusable_token_responses(flavor: Any, emulator: Any, case: str) -> None:
    host = "imds" if sorted(MI_BAD).index(case) % 2 else "app-service"
    emulator.faults.add(host, status=200, body=MI_BAD[case], times=None)
    error, _ = timed(flavor, managed(flavor, emulator, Sleeps(), host), MI_SCOPE)
    assert isinstance(error, AuthenticationFailedError), error
    assert "Unexpected response from the managed identity endpoint" in str(error) or "not IMDS" in str(error)


def test_oversized_body_is_cut_and_reported(flavor: Any, emulator: Any) -> None:
    from azidentity._http.pipeline import MAX_BODY

    emulator.faults.add(
        "token", status=200, body=b'{"access_token": "' + b"x" * (20 * 1024 * 1024) + b'"}', times=None
    )
    error, _ = timed(flavor, entra(flavor, emulator, Sleeps()))
    assert isinstance(error, AuthenticationFailedError)
    assert "larger than 1048576 bytes" in str(error)
    assert len(error.response.content) == MAX_BODY  # 20 MiB were sent; reading stopped after 1 MiB
    emulator.reset()
    emulator.faults.add("imds", status=200, body=b"{" + b" " * (3 * 1024 * 1024) + b"}", times=None)
    error, _ = timed(flavor, managed(flavor, emulator, Sleeps()), MI_SCOPE)
    assert isinstance(error, AuthenticationFailedError) and "larger than 1048576 bytes" in str(error)


def test_a_gzip_bomb_is_cut_too(flavor: Any, emulator: Any) -> None:
    import gzip

    bomb = gzip.compress(b" " * (100 * 1024 * 1024))  # 100 KiB that decompress to 100 MiB
    emulator.faults.add(
        "token",
        status=200,
        body=bomb,
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        times=None,
    )
    # The default sync transport (http.client) asks for no compression and decompresses nothing; the
    # transports that decompress (requests, aiohttp) are the ones a bomb could blow up.
    extra = {}
    if not flavor.is_async:
        from azure.core.pipeline.transport import RequestsTransport

        extra["transport"] = RequestsTransport(connection_verify=emulator.ca_bundle_path)
    error, elapsed = timed(flavor, entra(flavor, emulator, Sleeps(), **extra))
    assert isinstance(error, AuthenticationFailedError) and "larger than 1048576 bytes" in str(error)
    assert elapsed < MARGIN


# -- clock skew and expired tokens ---------------------------------------------------------------------------


class Clock:
    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.mark.parametrize("skew", [-25 * 3600.0, 25 * 3600.0], ids=["client-behind", "client-ahead"])
def test_clock_skew(flavor: Any, emulator: Any, skew: float) -> None:
    """Entra's expires_in is relative: skew doesn't matter. IMDS sends expires_in too and is corrected;
    App Service sends only expires_on: a client 25 h ahead sees an expired token and fails (never serves
    it)."""
    clock = Clock(skew)
    token = flavor.get_token(entra(flavor, emulator, Sleeps(), _clock=clock), SCOPE)
    assert token.expires_on > clock()
    imds = flavor.get_token(managed(flavor, emulator, Sleeps(), _clock=clock), MI_SCOPE)
    assert imds.expires_on > clock() and abs(imds.expires_on - clock() - 86400) < 60
    outcome, _ = timed(flavor, managed(flavor, emulator, Sleeps(), "app-service", _clock=clock), MI_SCOPE)
    if skew > 0:
        assert isinstance(outcome, AuthenticationFailedError) and "usable token lifetime" in str(outcome)
    else:
        assert outcome.expires_on > clock()


@pytest.mark.parametrize("target", ["entra", "imds"])
def test_the_cache_never_serves_an_expired_token(flavor: Any, emulator: Any, target: str) -> None:
    clock = Clock()
    route, scope = ("token", SCOPE) if target == "entra" else ("imds", MI_SCOPE)
    credential = (
        entra(flavor, emulator, Sleeps(), _clock=clock, retry_total=0)
        if target == "entra"
        else managed(flavor, emulator, Sleeps(), _clock=clock, retry_total=0)
    )
    first = flavor.get_token(credential, scope)
    assert flavor.get_token(credential, scope).token == first.token and emulator.count(route) == 1
    emulator.faults.add(route, status=503, body=BUSY, times=None)
    clock.offset = first.expires_on - time.time() - 60  # in the refresh window: the refresh fails...
    assert flavor.get_token(credential, scope).token == first.token  # ...and the valid token is served
    clock.offset = first.expires_on - time.time() + 1  # expired: refreshing fails, nothing is served
    error, _ = timed(flavor, credential, scope)
    assert isinstance(error, AuthenticationFailedError), error
    emulator.faults.clear()
    fresh = flavor.get_token(credential, scope)
    assert fresh.token != first.token and fresh.expires_on > clock()


# -- developer tools that hang or flood, inside a chain ------------------------------------------------------


@pytest.mark.parametrize("behaviour", ["hang", "flood"])
def test_cli_tool_hang_or_flood_in_a_chain(
    flavor: Any, emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, behaviour: str
) -> None:
    """A hang is a timeout (unavailable: the chain moves on); a flood is a tool that ran and failed
    (killed after 1 MiB of output: the chain stops, as for any failing tool outside
    DefaultAzureCredential)."""
    script = tmp_path / "az"
    script.write_text(
        "#!/bin/sh\nexec sleep 60\n" if behaviour == "hang" else "#!/bin/sh\nexec yes aaaaaaaaaaaaaaaa\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    member = flavor.make("AzureCliCredential", process_timeout=1)
    start = time.monotonic()
    outcome, fallback_calls = in_chain(flavor, emulator, member)
    elapsed = time.monotonic() - start
    if behaviour == "hang":
        assert not isinstance(outcome, Exception), outcome
        assert fallback_calls == 1
    else:
        assert isinstance(outcome, AuthenticationFailedError) and fallback_calls == 0, outcome
        assert len(str(outcome)) < 10_000  # the flood is not in the message
    assert elapsed < 1 + MARGIN


def test_cli_tool_timeout_standalone_is_unavailable(
    flavor: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "azd"
    script.write_text("#!/bin/sh\nexec sleep 60\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    error, elapsed = timed(flavor, flavor.make("AzureDeveloperCliCredential", process_timeout=0.5))
    assert isinstance(error, CredentialUnavailableError) and "timed out" in str(error)
    assert elapsed < 0.5 + MARGIN
