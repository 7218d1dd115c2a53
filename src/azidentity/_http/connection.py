"""The connection http.client sends over: TCP, TLS, the tunnel through a proxy, TLS inside it.

A :class:`Connection` is an ``http.client.HTTPConnection`` whose socket is a :class:`_Channel`: a
TCP socket, TLS over it (an ``SSLSocket``) and, through an ``https://`` proxy, the target's TLS
nested inside the proxy's (an ``ssl.SSLObject`` fed from the outer stream: http.client can't nest
TLS by itself). An ``https://`` proxy is spoken to over TLS, verified like any server with the same
trust as the target, so its ``Proxy-Authorization`` travels inside TLS; an ``http://`` proxy is
spoken to in the clear, as requests does.

Every blocking socket call (connecting, the TLS handshakes, the proxy's answer, sending, reading)
waits at most ``min(its timeout, time left before the deadline)``, however slowly a server trickles
bytes; past the deadline it raises :class:`DeadlineReached`, which transport.py reports.
"""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any, TypeVar

from .proxy import Route, connect_request, read_connect_answer

_CHUNK = 65536
_T = TypeVar("_T")


class DeadlineReached(TimeoutError):
    """The request's total deadline passed (a ``TimeoutError``: every handler of timeouts applies)."""


class _Channel:
    """A TCP socket, TLS over it (an ``SSLSocket``) and, through an https proxy, the target's TLS inside
    that (an ``SSLObject`` fed from the outer stream), behind the socket interface http.client uses
    (``sendall``, ``makefile("rb")``, ``settimeout``, ``close``).

    Every blocking call waits at most ``timeout`` and never past ``deadline`` (``time.monotonic()``).
    """

    def __init__(self, sock: socket.socket, timeout: float | None, deadline: float | None) -> None:
        self._sock: socket.socket = sock
        self.timeout = timeout
        self.deadline = deadline
        self._applied: float | None = -1.0  # the timeout the socket has now (-1: unknown)
        self._bounded_by_deadline = False
        self._inner: ssl.SSLObject | None = None
        self._incoming: ssl.MemoryBIO | None = None  # the inner TLS's ciphertext, both ways
        self._outgoing: ssl.MemoryBIO | None = None
        self._early = b""  # bytes that arrived right behind the proxy's answer to CONNECT
        # As with a socket's makefile(): close() waits for the readers (an http.client response
        # that will close its connection reads the body after the connection was "closed").
        self._readers = 0
        self._closing = False

    # -- http.client's interface ---------------------------------------------------------------------
    def settimeout(self, timeout: float | None) -> None:
        self.timeout = timeout

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        if mode != "rb":
            raise ValueError(f"only binary reading is supported, not {mode!r}")
        self._readers += 1
        return io.BufferedReader(_Reader(self))

    def sendall(self, data: Any) -> None:
        if self._inner is None:
            self._io(self._sock.sendall, data)
            return
        view = memoryview(data).cast("B")
        while view:
            written = self._tls_step(self._inner.write, view)
            view = view[written:]

    def recv_into(self, buffer: Any, nbytes: int = 0) -> int:
        if self._inner is None:
            return self._recv_outer_into(buffer, nbytes)
        try:
            return int(self._tls_step(self._inner.read, nbytes or len(buffer), buffer))
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return 0  # closed (cleanly or not): http.client sees the end and checks the length

    def close(self) -> None:
        self._closing = True
        if self._readers == 0:
            self._inner = None
            self._sock.close()

    def shutdown(self, how: int) -> None:
        self._sock.shutdown(how)

    def release_reader(self) -> None:
        self._readers -= 1
        if self._closing and self._readers == 0:
            self.close()

    # -- building the layers -------------------------------------------------------------------------------
    def start_tls(self, context: ssl.SSLContext, hostname: str) -> None:
        """TLS over the TCP socket (to the target, or to an https proxy); the handshake is bounded."""
        self._sock = self._io(context.wrap_socket, self._sock, server_hostname=hostname)

    def start_inner_tls(self, context: ssl.SSLContext, hostname: str) -> None:
        """The target's TLS inside the tunnel through an https proxy."""
        self._incoming, self._outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(self._incoming, self._outgoing, server_hostname=hostname)
        self._tls_step(tls.do_handshake)
        self._inner = tls

    def open_tunnel(self, route: Route) -> None:
        """``CONNECT host:port`` through the proxy (inside its TLS when it is an https proxy)."""
        self._io(self._sock.sendall, connect_request(route))
        self._early = read_connect_answer(lambda: self._io(self._sock.recv, _CHUNK))

    # -- bounded I/O ---------------------------------------------------------------------------------------
    def _arm(self) -> None:
        timeout = self.timeout
        self._bounded_by_deadline = False
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise DeadlineReached()
            if timeout is None or left < timeout:
                timeout, self._bounded_by_deadline = left, True
        if timeout != self._applied:
            self._sock.settimeout(timeout)
            self._applied = timeout

    def _io(self, operation: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        self._arm()
        try:
            return operation(*args, **kwargs)
        except TimeoutError:
            if self._bounded_by_deadline:
                raise DeadlineReached() from None
            raise

    def _recv_outer_into(self, buffer: Any, nbytes: int) -> int:
        if self._early:
            size = min(len(self._early), nbytes or len(buffer))
            buffer[:size] = self._early[:size]
            self._early = self._early[size:]
            return size
        return self._io(self._sock.recv_into, buffer, nbytes)

    def _recv_outer(self) -> bytes:
        if self._early:
            data, self._early = self._early, b""
            return data
        return self._io(self._sock.recv, _CHUNK)

    def _tls_step(self, operation: Callable[..., _T], *args: Any) -> _T:
        """Run an ``SSLObject`` operation, moving bytes between it and the outer stream until it completes."""
        incoming = self._incoming
        assert incoming is not None
        eof = False
        while True:
            try:
                result = operation(*args)
            except ssl.SSLWantReadError:
                if eof:
                    raise ssl.SSLEOFError("EOF occurred in violation of protocol") from None
                self._flush_inner()
                data = self._recv_outer()
                if data:
                    incoming.write(data)
                else:
                    incoming.write_eof()
                    eof = True
                continue
            self._flush_inner()
            return result

    def _flush_inner(self) -> None:
        assert self._outgoing is not None
        data = self._outgoing.read()
        if data:
            self._io(self._sock.sendall, data)


class _Reader(io.RawIOBase):
    """``makefile("rb")``'s raw stream: reads through the channel (closing it leaves the channel open)."""

    def __init__(self, channel: _Channel) -> None:
        self._channel: _Channel | None = channel

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._channel is None:
            raise ValueError("I/O operation on closed file")
        return self._channel.recv_into(buffer)

    def close(self) -> None:
        channel, self._channel = self._channel, None
        if channel is not None:
            channel.release_reader()
        super().close()


class Connection(http.client.HTTPConnection):
    """An http.client connection whose socket is a :class:`_Channel`, built by :meth:`connect`."""

    def __init__(
        self,
        route: Route,
        contexts: tuple[ssl.SSLContext | None, ssl.SSLContext | None],
        connect_timeout: float,
        deadline: float | None,
    ) -> None:
        super().__init__(route.host, route.port, timeout=connect_timeout)
        self.route = route
        self._target_context, self._proxy_context = contexts
        self.deadline = deadline

    def connect(self) -> None:
        route, proxy = self.route, self.route.proxy
        address = (proxy.host, proxy.port) if proxy else (route.host, route.port)
        timeout, bounded = self.timeout, False
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise DeadlineReached()
            if timeout is None or left < timeout:
                timeout, bounded = left, True
        try:
            sock = socket.create_connection(address, timeout)
        except TimeoutError:
            if bounded:
                raise DeadlineReached() from None
            raise
        channel = _Channel(sock, self.timeout, self.deadline)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if proxy is not None and proxy.scheme == "https":
                assert self._proxy_context is not None
                channel.start_tls(self._proxy_context, proxy.host)
            if proxy is not None and route.scheme == "https":
                channel.open_tunnel(route)
            if route.scheme == "https":
                assert self._target_context is not None
                if proxy is not None and proxy.scheme == "https":
                    channel.start_inner_tls(self._target_context, route.host)
                else:
                    channel.start_tls(self._target_context, route.host)
        except BaseException:
            channel.close()
            raise
        self.sock = channel

    @property
    def channel(self) -> _Channel | None:
        return self.sock  # type: ignore[return-value]
