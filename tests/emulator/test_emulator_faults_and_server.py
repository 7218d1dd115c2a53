"""Fault plans, the request log, keep-alive and prompt shutdown."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time

import pytest
import requests
from emulator_testlib import TIMEOUT, secret_token

from azidentity.emulator import Emulator


def test_status_fault_fires_times_then_recovers(emulator: Emulator) -> None:
    fault = emulator.faults.add(
        "token", status=503, body={"error": "temporarily_unavailable"}, headers={"Retry-After": "0"}, times=2
    )
    for _ in range(2):
        r = secret_token(emulator)
        assert r.status_code == 503 and r.json() == {"error": "temporarily_unavailable"}
        assert r.headers["Retry-After"] == "0" and r.headers["Content-Type"].startswith("application/json")
    assert secret_token(emulator).status_code == 200
    assert fault.hits == 2 and fault.exhausted
    assert [r.status for r in emulator.requests] == [503, 503, 200]
    assert [r.fault for r in emulator.requests] == [True, True, False]


def test_fault_forever_and_match(emulator: Emulator) -> None:
    emulator.faults.add("token", status=500, times=None, match=lambda r: "vault" in r.form.get("scope", ""))
    for _ in range(3):
        assert secret_token(emulator, scope="https://vault.azure.net/.default").status_code == 500
    assert secret_token(emulator).status_code == 200
    emulator.faults.clear()
    assert secret_token(emulator, scope="https://vault.azure.net/.default").status_code == 200


def test_fault_headers_only_decorate_real_response(emulator: Emulator) -> None:
    emulator.faults.add("token", headers={"x-extra": "1"})
    r = secret_token(emulator)
    assert r.status_code == 200 and r.headers["x-extra"] == "1" and "access_token" in r.json()


def test_wildcard_route(emulator: Emulator) -> None:
    emulator.faults.add("*", status=418)
    assert requests.get(f"{emulator.mi_base_url}/msi/token", timeout=TIMEOUT).status_code == 418


def test_hang_times_out_client_and_stop_is_quick() -> None:
    emu = Emulator().start()
    try:
        emu.faults.add("token", hang=True)
        with pytest.raises(requests.exceptions.ReadTimeout):
            secret_token_with_timeout(emu, 0.3)
        # an idle keep-alive connection as well
        conn = http.client.HTTPSConnection(
            emu.base_url.removeprefix("https://"),
            timeout=TIMEOUT,
            context=ssl.create_default_context(cafile=emu.ca_bundle_path),
        )
        conn.request("GET", "/common/v2.0/.well-known/openid-configuration")
        assert conn.getresponse().read()
    finally:
        started = time.monotonic()
        emu.stop()
        assert time.monotonic() - started < 1.5
    conn.close()


def secret_token_with_timeout(emu: Emulator, timeout: float) -> requests.Response:
    app = emu.apps["secret"]
    return requests.post(
        f"{emu.base_url}/{emu.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app.client_id,
            "client_secret": app.secret,
            "scope": "https://storage.azure.com/.default",
        },
        verify=emu.ca_bundle_path,
        timeout=timeout,
    )


def test_hang_released_by_reset(emulator: Emulator) -> None:
    emulator.faults.add("imds", hang=True)
    outcome: list[BaseException | int] = []

    def call() -> None:
        try:
            outcome.append(
                requests.get(
                    f"{emulator.mi_base_url}/metadata/identity/oauth2/token", timeout=TIMEOUT
                ).status_code
            )
        except requests.exceptions.RequestException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    deadline = time.monotonic() + TIMEOUT
    while emulator.count("imds") == 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # wait for the request to arrive (an event, not time passing)
    emulator.reset()  # releases the hung handler: the connection closes without a response
    thread.join(TIMEOUT)
    assert outcome and isinstance(outcome[0], requests.exceptions.ConnectionError)


def test_reset_fault(emulator: Emulator) -> None:
    emulator.faults.add("token", reset=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        secret_token(emulator)
    assert secret_token(emulator).status_code == 200
    emulator.faults.add("imds", reset=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{emulator.mi_base_url}/metadata/identity/oauth2/token", timeout=TIMEOUT)


def test_delay_and_slow_body(emulator: Emulator) -> None:
    emulator.faults.add("token", delay=0.2)
    started = time.monotonic()
    assert secret_token(emulator).status_code == 200
    assert time.monotonic() - started >= 0.2
    emulator.faults.add("token", slow_body=0.5)
    with pytest.raises(requests.exceptions.ConnectionError):  # read timeout while streaming the body
        r = secret_token_with_timeout(emulator, 0.2)
        r.json()


def test_request_log_fields(emulator: Emulator) -> None:
    secret_token(emulator, headers={"Client-Request-Id": "rid"})
    requests.get(
        f"{emulator.mi_base_url}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=x",
        headers={"Metadata": "true"},
        timeout=TIMEOUT,
    )
    token_req, imds_req = emulator.requests
    assert token_req.route == "token" and token_req.method == "POST"
    assert token_req.path == f"/{emulator.tenant_id}/oauth2/v2.0/token"
    assert token_req.form["grant_type"] == "client_credentials"
    assert token_req.headers["client-request-id"] == "rid" and token_req.headers["CLIENT-REQUEST-ID"] == "rid"
    assert isinstance(token_req.time, float) and token_req.status == 200
    assert (
        imds_req.query == {"api-version": "2018-02-01", "resource": "x"}
        and imds_req.listener == "managed-identity"
    )
    assert emulator.count() == 2 and emulator.count("token") == 1 and emulator.count("imds") == 1
    emulator.reset()
    assert emulator.count() == 0 and emulator.requests == []


def test_unknown_path_and_method(emulator: Emulator) -> None:
    r = requests.get(f"{emulator.base_url}/nothing/here", verify=emulator.ca_bundle_path, timeout=TIMEOUT)
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = requests.get(
        f"{emulator.base_url}/{emulator.tenant_id}/oauth2/v2.0/token",
        verify=emulator.ca_bundle_path,
        timeout=TIMEOUT,
    )
    assert r.status_code == 405
    assert emulator.requests[-1].route == "token"
    assert emulator.errors == []


def test_keep_alive_connection_reuse(emulator: Emulator) -> None:
    ctx = ssl.create_default_context(cafile=emulator.ca_bundle_path)
    conn = http.client.HTTPSConnection(
        emulator.base_url.removeprefix("https://"), timeout=TIMEOUT, context=ctx
    )
    try:
        for _ in range(3):
            conn.request("GET", f"/{emulator.tenant_id}/discovery/v2.0/keys")
            response = conn.getresponse()
            assert response.status == 200 and int(response.headers["Content-Length"]) == len(response.read())
        sock = conn.sock
        assert sock is not None
    finally:
        conn.close()
    assert emulator.count("jwks") == 3


def test_tls_certificate_covers_localhost(emulator: Emulator) -> None:
    port = int(emulator.base_url.rsplit(":", 1)[1])
    ctx = ssl.create_default_context(cafile=emulator.ca_bundle_path)
    for name in ("localhost", "127.0.0.1"):
        with (
            socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
            ctx.wrap_socket(raw, server_hostname=name) as tls,
        ):
            assert tls.version() is not None


def test_workdir_lifecycle(tmp_path: object) -> None:
    import os
    from pathlib import Path

    emu = Emulator().start()
    workdir = emu.workdir
    assert os.path.exists(emu.ca_bundle_path) and os.path.isdir(emu.arc_token_dir)
    emu.stop()
    assert not os.path.exists(workdir)
    keep = Path(str(tmp_path)) / "keep"
    with Emulator(workdir=str(keep)) as emu2:
        assert emu2.ca_bundle_path.startswith(str(keep))
    assert keep.exists()  # caller-owned directories are left alone
