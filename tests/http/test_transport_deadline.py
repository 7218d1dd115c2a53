"""The stdlib transport's total deadline (``azidentity_deadline``, a ``time.monotonic()`` value): connecting,
TLS, headers and body together end by it, even against a server that trickles a byte just under every
read timeout (per-read timeouts alone would let it hold a request for as long as it likes)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from azure.core.exceptions import ServiceRequestTimeoutError, ServiceResponseTimeoutError
from azure.core.pipeline import Pipeline
from azure.core.rest import HttpRequest

from azidentity._http.transport import DEADLINE, StdlibTransport
from azidentity.emulator.pki import make_ca, make_leaf

MARGIN = 3.0  # seconds of slack on a loaded machine
# Each read's own bound, far above the trickle's pace: every read completes in time, so only the total
# deadline can end the request (and a stalled machine can't turn the test into a read timeout).
READ_TIMEOUT = 20.0
TRICKLE = 0.05
SERVER_GIVES_UP = 15.0  # the trickling server stops by itself after this: a test without the deadline ends
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class Server:
    """A loopback server answering each connection with ``behaviour(connection)``; plain TCP or TLS."""

    def __init__(self, behaviour: Callable[[socket.socket], None], tls: ssl.SSLContext | None = None) -> None:
        self.behaviour, self.tls = behaviour, tls
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self, path: str = "/token") -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        connection.settimeout(SERVER_GIVES_UP)
        try:
            if self.tls is not None:
                connection = self.tls.wrap_socket(connection, server_side=True)
            self.behaviour(connection)
        except OSError:
            pass
        finally:
            connection.close()

    def close(self) -> None:
        self.stop.set()
        self.listener.close()


def read_request(connection: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            raise ConnectionResetError
        data += chunk


def trickle(data: bytes, stop: threading.Event, head: bytes = b"") -> Callable[[socket.socket], None]:
    """Read the request, send ``head`` at once, then ``data`` one byte per TRICKLE seconds."""

    def behaviour(connection: socket.socket) -> None:
        read_request(connection)
        if head:
            connection.sendall(head)
        for i in range(len(data)):
            if stop.wait(TRICKLE):
                return
            connection.sendall(data[i : i + 1])

    return behaviour


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, str]:
    directory: Path = tmp_path_factory.mktemp("deadline-pki")
    ca = make_ca("deadline test CA")
    leaf = make_leaf("127.0.0.1", ca, server=True)
    (directory / "server.pem").write_bytes(leaf.cert_pem() + leaf.key_pem())
    (directory / "ca.pem").write_bytes(ca.cert_pem())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(directory / "server.pem"))
    return context, str(directory / "ca.pem")


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    made: list[Server] = []
    yield made
    for server in made:
        server.close()


def send(
    server: Server, ca: str | None, budget: float, **kwargs: object
) -> tuple[BaseException | None, float]:
    transport = StdlibTransport(
        connection_timeout=10, read_timeout=READ_TIMEOUT, connection_verify=ca or True, use_env_settings=False
    )
    start = time.monotonic()
    try:
        transport.send(HttpRequest("GET", server.url()), **{DEADLINE: start + budget}, **kwargs)
        return None, time.monotonic() - start
    except Exception as error:  # noqa: BLE001 - returned for assertions
        return error, time.monotonic() - start
    finally:
        transport.close()


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("phase", ["headers", "body"])
def test_a_trickling_server_is_cut_off_at_the_deadline(
    servers: list[Server], tls: tuple[ssl.SSLContext, str], scheme: str, phase: str
) -> None:
    stop = threading.Event()
    if phase == "headers":
        behaviour = trickle(HEAD, stop)
    else:
        body = b'{"access_token": "' + b"x" * 200 + b'"}'
        behaviour = trickle(body, stop, f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode())

    server = Server(behaviour, tls[0] if scheme == "https" else None)
    servers.append(server)
    error, elapsed = send(server, tls[1] if scheme == "https" else None, budget=1.0)
    stop.set()
    assert isinstance(error, ServiceResponseTimeoutError), error
    assert "total deadline was reached" in str(error)
    assert 1.0 - 0.05 <= elapsed < 1.0 + MARGIN


def test_a_tls_handshake_that_never_ends_is_cut_off_before_the_request(servers: list[Server]) -> None:
    stop = threading.Event()
    server = Server(lambda connection: stop.wait(SERVER_GIVES_UP) and None)  # reads nothing, answers nothing
    servers.append(server)
    transport = StdlibTransport(connection_timeout=10, read_timeout=10, use_env_settings=False)
    start = time.monotonic()
    with pytest.raises(ServiceRequestTimeoutError, match="total deadline was reached while connecting"):
        transport.send(HttpRequest("GET", server.url().replace("http:", "https:")), **{DEADLINE: start + 0.5})
    elapsed = time.monotonic() - start
    stop.set()
    assert 0.45 <= elapsed < 0.5 + MARGIN


def test_a_deadline_already_past_sends_nothing(servers: list[Server]) -> None:
    server = Server(lambda connection: connection.sendall(HEAD))
    servers.append(server)
    transport = StdlibTransport(use_env_settings=False)
    with pytest.raises(ServiceRequestTimeoutError, match="total deadline"):
        transport.send(HttpRequest("GET", server.url()), **{DEADLINE: time.monotonic() - 1})
    assert server.accepted == 0


def test_the_deadline_travels_as_a_per_request_pipeline_option(servers: list[Server]) -> None:
    stop = threading.Event()
    server = Server(trickle(HEAD, stop))
    servers.append(server)
    pipeline = Pipeline(
        transport=StdlibTransport(read_timeout=READ_TIMEOUT, use_env_settings=False), policies=[]
    )
    start = time.monotonic()
    with pytest.raises(ServiceResponseTimeoutError, match="total deadline"):
        pipeline.run(HttpRequest("GET", server.url()), **{DEADLINE: start + 0.8})
    stop.set()
    assert time.monotonic() - start < 0.8 + MARGIN


def test_a_kept_alive_connection_keeps_no_deadline_of_an_earlier_request(servers: list[Server]) -> None:
    answered = threading.Event()

    def keep_alive(connection: socket.socket) -> None:
        for _ in range(2):
            read_request(connection)
            connection.sendall(HEAD)
        answered.set()

    server = Server(keep_alive)
    servers.append(server)
    transport = StdlibTransport(use_env_settings=False)
    first = transport.send(HttpRequest("GET", server.url()), **{DEADLINE: time.monotonic() + 0.2})
    assert first.status_code == 200
    channel = next(c for idle in transport._pool.values() for c in idle).channel
    assert channel is not None and channel.deadline is None
    assert transport.send(HttpRequest("GET", server.url())).status_code == 200  # no deadline now
    assert answered.wait(5) and server.accepted == 1  # the same connection served both
    transport.close()


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_response_that_closes_its_connection_is_read_whole(
    servers: list[Server], tls: tuple[ssl.SSLContext, str], scheme: str
) -> None:
    """http.client "closes" a Connection: close connection before the body is read: the channel keeps
    the socket open until the response's reader is done, as a socket's makefile() does."""
    body = b'{"access_token": "' + b"y" * 100_000 + b'"}'

    def answer_and_close(connection: socket.socket) -> None:
        read_request(connection)
        head = f"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {len(body)}\r\n\r\n"
        connection.sendall(head.encode() + body)

    server = Server(answer_and_close, tls[0] if scheme == "https" else None)
    servers.append(server)
    transport = StdlibTransport(
        connection_verify=tls[1] if scheme == "https" else True, use_env_settings=False
    )
    response = transport.send(HttpRequest("GET", server.url()), **{DEADLINE: time.monotonic() + 10})
    assert response.status_code == 200 and response.body() == body
    assert transport._pool == {}  # not kept: the server said close
