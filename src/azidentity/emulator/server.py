"""HTTP(S) listeners: threading server, per-connection TLS, routing, faults and the request log.

Design points:
* TLS is negotiated in the connection's own thread, so a slow or failing handshake never blocks accept().
* Every live connection is tracked by file descriptor so ``stop()`` can shut down idle keep-alive
  connections and release hung handlers, and return promptly.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .faults import Fault, FaultPlan
from .wire import Headers, RecordedRequest, Response, Router, json_response

MAX_BODY = 4 * 1024 * 1024
HANDSHAKE_TIMEOUT = 5.0
IDLE_TIMEOUT = 60.0
MAX_HANG = 600.0


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[RecordedRequest] = []

    def append(self, request: RecordedRequest) -> None:
        with self._lock:
            self._items.append(request)

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def count(self, route: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self._items if route is None or r.route == route)


@dataclass
class Shared:
    """State common to all listeners of one emulator."""

    log: RequestLog
    faults: FaultPlan
    clock: Callable[[], float]
    stopping: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)


def _first_values(qs: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(qs, keep_blank_values=True).items()}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; we always send Content-Length
    timeout = IDLE_TIMEOUT
    server: _Server

    def setup(self) -> None:
        srv = self.server
        self._fd = self.request.fileno()
        srv.track(self._fd)
        # Headers and body leave in separate writes; without TCP_NODELAY, Nagle's algorithm and
        # the client's delayed ACK hold the body back ~40 ms per response on a kept-alive connection.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if srv.ssl_context is not None:
            try:
                self.request.settimeout(HANDSHAKE_TIMEOUT)
                self.request = srv.ssl_context.wrap_socket(self.request, server_side=True)
            except Exception:
                srv.untrack(self._fd)
                raise
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.untrack(self._fd)
            try:
                self.connection.close()
            except OSError:
                pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # the request log is the log; stderr noise would drown test output

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        srv = self.server
        parsed = urlsplit(self.path)
        body = self._read_body()
        headers = Headers(self.headers.items())
        form: dict[str, str] = {}
        if body and "json" not in headers.get("Content-Type", ""):
            try:
                form = _first_values(body.decode("utf-8"))
            except UnicodeDecodeError:
                form = {}
        route, params, path_known = srv.router.match(self.command, parsed.path)
        name = route.name if route else (srv.router.route_name(parsed.path) or "not-found")
        request = RecordedRequest(
            route=name,
            method=self.command,
            path=parsed.path,
            query=_first_values(parsed.query),
            headers=headers,
            form=form,
            time=srv.shared.clock(),
            body=body,
            listener=srv.name,
        )
        srv.shared.log.append(request)
        fault = srv.shared.faults.take(request)
        if fault is not None:
            request.fault = True
            if fault.reset:
                self._reset()
                return
            if fault.hang:
                self._hang()
                return
            if fault.delay and self._wait(fault.delay):
                return
        if fault is not None and fault.replaces_response:
            response = Response(fault.status or 200, fault.body or b"", dict(fault.headers))
        elif route is None:
            status = 405 if path_known else 404
            message = "method not allowed" if path_known else f"no emulator route for {parsed.path}"
            response = json_response(
                status,
                {
                    "error": "not_found" if status == 404 else "method_not_allowed",
                    "error_description": message,
                },
            )
        else:
            response = self._call(route.handler, request, params)
            if fault is not None:
                response.headers.update(fault.headers)
        request.status = response.status
        self._send(response, fault)

    def _call(
        self,
        handler: Callable[[RecordedRequest, dict[str, str]], Response],
        request: RecordedRequest,
        params: dict[str, str],
    ) -> Response:
        try:
            return handler(request, params)
        except Exception as exc:  # surface emulator bugs as 500s and keep them for test diagnostics
            self.server.shared.errors.append(traceback.format_exc())
            return json_response(500, {"error": "emulator_internal_error", "error_description": repr(exc)})

    def _wait(self, seconds: float) -> bool:
        """Sleep unless the emulator stops first; True means 'stopping, abandon this request'."""
        if self.server.shared.stopping.wait(seconds):
            self.close_connection = True
            return True
        return False

    def _hang(self) -> None:
        release = self.server.shared.faults.release_event
        release.wait(MAX_HANG)
        self.close_connection = True

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def _close_now(self) -> None:
        """End the connection at once (FIN), as a server process that went away would."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, response: Response, fault: Fault | None) -> None:
        self.send_response(response.status)
        headers = dict(response.headers)
        if response.body and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json; charset=utf-8"
        for k, v in headers.items():
            if k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command == "HEAD" or not response.body:
            return
        if fault is not None and fault.cut_body is not None:
            # The announced length stays whole; the connection closes after the first cut_body bytes.
            self.wfile.write(response.body[: max(0, fault.cut_body)])
            self.wfile.flush()
            self._close_now()
            return
        if fault is not None and fault.slow_body > 0:
            size = max(1, -(-len(response.body) // 4))
            for start in range(0, len(response.body), size):
                if self._wait(fault.slow_body):
                    return
                self.wfile.write(response.body[start : start + size])
                self.wfile.flush()
        else:
            self.wfile.write(response.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default joins every handler thread on close; hung/keep-alive threads would block stop().
    block_on_close = False
    # socketserver's default listen backlog is 5: a burst of concurrent clients overflows it, and the
    # kernel drops their SYNs, which clients retransmit only after 1 s.
    request_queue_size = 128

    def __init__(
        self, name: str, port: int, router: Router, shared: Shared, ssl_context: ssl.SSLContext | None
    ) -> None:
        self.name = name
        self.router = router
        self.shared = shared
        self.ssl_context = ssl_context
        self._conn_lock = threading.Lock()
        self._conns: set[int] = set()
        super().__init__(("127.0.0.1", port), _Handler)

    def track(self, fd: int) -> None:
        with self._conn_lock:
            self._conns.add(fd)

    def untrack(self, fd: int) -> None:
        with self._conn_lock:
            self._conns.discard(fd)

    def shutdown_connections(self) -> None:
        with self._conn_lock:
            for fd in list(self._conns):
                try:
                    # A dup'd descriptor refers to the same socket; shutdown() wakes blocked readers.
                    dup = socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM)
                    try:
                        dup.shutdown(socket.SHUT_RDWR)
                    finally:
                        dup.close()
                except OSError:
                    pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # client disconnects and failed TLS handshakes are normal here


class Listener:
    """One listening socket (bound at construction so the port is known before serving)."""

    def __init__(
        self,
        name: str,
        router: Router,
        shared: Shared,
        *,
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.name = name
        self.router = router
        self._server = _Server(name, port, router, shared, ssl_context)
        self._thread: threading.Thread | None = None
        scheme = "https" if ssl_context is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"azidentity-emulator-{self.name}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(1.0)
            self._thread = None
        self._server.server_close()
        self._server.shutdown_connections()


def server_ssl_context(cert_path: str, key_path: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_path, key_path)
    return ctx
