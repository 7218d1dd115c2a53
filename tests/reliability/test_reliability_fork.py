"""A forked child (multiprocessing, a pre-forking server) uses credentials and transports the parent
made: nothing the parent's threads held at fork time may block it, and it never writes into the
parent's kept-alive TLS connections (both processes would then speak on one TLS session).

Each test runs its fork in a subprocess: a fork of the pytest process would copy its threads' locks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")

FORK_WHILE_BUILDING = r"""
import os, signal, sys, threading
from azidentity import ClientSecretCredential
from azidentity import _driver

credential = ClientSecretCredential(
    os.environ["T_TENANT"], os.environ["T_CLIENT"], os.environ["T_SECRET"],
    authority=os.environ["T_AUTHORITY"], connection_verify=os.environ["T_CA"],
)
holding, release = threading.Event(), threading.Event()


def hold():  # a thread of the parent in the middle of building a pipeline
    with _driver.BUILDING:
        holding.set()
        release.wait()


thread = threading.Thread(target=hold)
thread.start()
holding.wait()
pid = os.fork()
if pid == 0:
    signal.alarm(30)  # a lock still held would block forever: die instead of lingering
    try:
        credential.get_token("https://management.azure.com/.default")
    except BaseException as error:
        print(f"child: {type(error).__name__}: {error}", file=sys.stderr)
        os._exit(1)
    os._exit(0)
release.set()
thread.join()
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""

FORK_WHILE_FETCHING = r"""
import os, signal, sys, threading
from azidentity import ClientSecretCredential

SCOPE = "https://management.azure.com/.default"
credential = ClientSecretCredential(
    os.environ["T_TENANT"], os.environ["T_CLIENT"], os.environ["T_SECRET"],
    authority=os.environ["T_AUTHORITY"], connection_verify=os.environ["T_CA"],
    retry_total=0, read_timeout=60,
)
# A thread of the parent fetching SCOPE's token (the emulator holds its request): it holds the key's
# single-flight lock when the process forks.
threading.Thread(target=lambda: credential.get_token(SCOPE), daemon=True).start()
sys.stdin.readline()  # the test saw that request arrive
pid = os.fork()
if pid == 0:
    signal.alarm(20)  # a lock still held would block forever: die instead of lingering
    try:
        credential.get_token(SCOPE)
    except BaseException as error:
        print(f"child: {type(error).__name__}: {error}", file=sys.stderr)
        os._exit(1)
    os._exit(0)
_, status = os.waitpid(pid, 0)
os._exit(os.waitstatus_to_exitcode(status))
"""

FORK_WITH_POOLED_CONNECTION = r"""
import os, signal, sys
from azure.core.rest import HttpRequest
from azidentity._http.transport import StdlibTransport

url = os.environ["T_URL"]
transport = StdlibTransport()
assert transport.send(HttpRequest("GET", url)).status_code == 200  # its connection stays pooled
pid = os.fork()
if pid == 0:
    signal.alarm(30)
    try:
        assert transport.send(HttpRequest("GET", url)).status_code == 200
    except BaseException as error:
        print(f"child: {type(error).__name__}: {error}", file=sys.stderr)
        os._exit(1)
    os._exit(0)
_, status = os.waitpid(pid, 0)
assert transport.send(HttpRequest("GET", url)).status_code == 200
transport.close()
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _run(script: str, **env: str) -> None:
    environ = {**os.environ, **{f"T_{k.upper()}": v for k, v in env.items()}}
    out = subprocess.run(
        [sys.executable, "-c", script], env=environ, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr


def test_child_builds_its_pipeline_though_a_parent_thread_was_building_one(emulator: Any) -> None:
    app = emulator.apps["secret"]
    _run(
        FORK_WHILE_BUILDING,
        tenant=emulator.tenant_id,
        client=app.client_id,
        secret=app.secret,
        authority=emulator.base_url,
        ca=emulator.ca_bundle_path,
    )
    assert emulator.count("token") == 1  # the child's


def test_child_fetches_a_token_a_parent_thread_was_fetching(emulator: Any) -> None:
    """The single-flight lock of a key a parent thread was fetching at fork time is the parent's:
    the child makes its own request instead of waiting for a thread it doesn't have."""
    app = emulator.apps["secret"]
    arrived = threading.Event()
    emulator.faults.add("token", hang=True, match=lambda request: arrived.set() or True)
    env = {
        "T_TENANT": emulator.tenant_id,
        "T_CLIENT": app.client_id,
        "T_SECRET": app.secret,
        "T_AUTHORITY": emulator.base_url,
        "T_CA": emulator.ca_bundle_path,
    }
    process = subprocess.Popen(
        [sys.executable, "-c", FORK_WHILE_FETCHING],
        env={**os.environ, **env},
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert arrived.wait(timeout=30), "the parent's request never arrived"
        _, stderr = process.communicate("fork\n", timeout=60)
    finally:
        emulator.faults.clear()  # lets the held request go
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == 0, stderr
    assert emulator.count("token") == 2  # the parent's (held) and the child's


class _KeepAlive(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections: list[Any] = []

    def setup(self) -> None:
        super().setup()
        self.connections.append(self.client_address)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


def test_child_opens_its_own_connections() -> None:
    """The child's request goes over a connection of its own: three requests, two connections (the
    parent's, reused by the parent after the child is done, and the child's)."""
    _KeepAlive.connections = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KeepAlive)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        _run(FORK_WITH_POOLED_CONNECTION, url=f"http://127.0.0.1:{server.server_address[1]}/")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    assert len(_KeepAlive.connections) == 2, _KeepAlive.connections
