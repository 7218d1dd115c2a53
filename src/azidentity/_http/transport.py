"""A small azure-core transport on the standard library's ``http.client``.

Why: importing ``requests`` (with urllib3, charset_normalizer, idna, certifi) costs about
100 ms, a third of what a short-lived program pays for its first token. Token requests are
small form POSTs and GETs with JSON answers, so credentials use this transport by default
for their sync pipelines; a user's ``transport=`` (``RequestsTransport`` included) replaces it.

It honours the azure-core keywords a credential user may pass: ``connection_timeout`` (connect
and TLS handshakes), ``read_timeout`` (each read), ``connection_verify`` (bool, a CA bundle file
or a directory of CA certificates prepared with ``c_rehash`` / ``openssl rehash``),
``connection_cert`` (client certificate), ``proxies`` (per request, from ProxyPolicy) and, with
``use_env_settings`` (default), the ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY`` variables and
``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` (as requests does when ``connection_verify`` is True).

Proxies: HTTPS goes through a ``CONNECT`` tunnel. An ``https://`` proxy is spoken to over TLS,
verified like any server with the same trust as the target, so its ``Proxy-Authorization``
(from ``user:password@`` in the proxy URL) travels inside TLS; the target's own TLS then runs
inside the tunnel (an ``ssl.SSLObject`` over the proxy's TLS: http.client can't nest TLS by itself).
An ``http://`` proxy is spoken to in the clear, as requests does.

Deadline: a request may carry ``azidentity_deadline`` (a ``time.monotonic()`` value). Connecting,
the TLS handshakes, the proxy's answer, sending, the headers and the body then all end by it,
however slowly a server trickles bytes: every blocking socket call waits at most
``min(its timeout, time left)``. Past it the request fails with ``ServiceRequestTimeoutError``
(nothing sent yet) or ``ServiceResponseTimeoutError`` saying the total deadline was reached.

Connections are kept alive and pooled per origin; a pooled connection the server closed
meanwhile is replaced once, transparently, before any response. Bodies are read whole
(credentials never stream) up to 16 MiB.
"""

from __future__ import annotations

import base64
import http.client
import io
import os
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

from azure.core.exceptions import (
    ClientAuthenticationError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest._http_response_impl import HttpResponseImpl
from azure.core.utils import CaseInsensitiveDict

MAX_BODY = 16 * 1024 * 1024
# The per-request keyword carrying the request's total deadline (a time.monotonic() value).
DEADLINE = "azidentity_deadline"
_DEFAULT_TIMEOUT = 300.0
_CHUNK = 65536
_MAX_PROXY_ANSWER = 64 * 1024
_T = TypeVar("_T")


class TransportSettingError(ClientAuthenticationError):
    """A transport setting that can't work (``connection_verify`` naming neither a file nor a directory,
    a CA file without certificates, an unusable client certificate, an unsupported proxy scheme).

    A ``ClientAuthenticationError`` because azure-core's retry policy raises those at once: retrying a
    setting that can't work would only make the caller wait. Credentials report it with their name.
    """


class _DeadlineReached(TimeoutError):
    """The request's total deadline passed (a ``TimeoutError``: every handler of timeouts applies)."""


class _ProxyRefused(OSError):
    """The proxy answered CONNECT with something other than 2xx, or not at all."""


class _Response(HttpResponseImpl):
    """A fully read response; ``read()`` returns the body without touching the network."""

    def __init__(
        self, request: Any, status: int, reason: str, headers: CaseInsensitiveDict, body: bytes
    ) -> None:
        super().__init__(
            request=request,
            internal_response=None,
            status_code=status,
            reason=reason,
            content_type=headers.get("content-type"),
            headers=headers,
            stream_download_generator=None,
            block_size=4096,
        )
        self._content = body
        self._is_closed = True

    def close(self) -> None:
        self._is_closed = True


def _discard(connection: http.client.HTTPConnection, raw: http.client.HTTPResponse) -> None:
    """Close a response and its connection (the socket closes once the response's reader is closed)."""
    raw.close()
    connection.close()


def _timeout_error(message: str, during_request: bool) -> Exception:
    return ServiceRequestTimeoutError(message) if during_request else ServiceResponseTimeoutError(message)


# -- where a request goes -------------------------------------------------------------------------------
class _Proxy(NamedTuple):
    scheme: str  # "http" or "https"
    host: str
    port: int
    authorization: str | None  # the Proxy-Authorization value, from user:password@ in the URL
    url: str  # as configured (credentials included): part of the pool key, never shown

    @property
    def shown(self) -> str:
        """The proxy as messages may show it: no user name, no password."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def _parse_proxy(url: str) -> _Proxy:
    parsed = urllib.parse.urlsplit(url if "://" in url else "http://" + url)
    scheme = parsed.scheme.lower()
    if scheme not in ("http", "https") or not parsed.hostname:
        where = f"{scheme}://{parsed.hostname or ''}"
        raise TransportSettingError(
            f"the proxy {where} can't be used: azidentity's default transport speaks to http:// and "
            "https:// proxies only (check HTTPS_PROXY / HTTP_PROXY or the proxies keyword; for a SOCKS "
            "proxy pass transport=RequestsTransport() and install requests[socks])"
        )
    try:
        port = parsed.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise TransportSettingError(
            f"the proxy {scheme}://{parsed.hostname} has an invalid port (check HTTPS_PROXY / HTTP_PROXY "
            "or the proxies keyword)"
        ) from None
    authorization = None
    if parsed.username is not None:
        user = urllib.parse.unquote(parsed.username)
        password = urllib.parse.unquote(parsed.password or "")
        authorization = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return _Proxy(scheme, parsed.hostname, port, authorization, url)


class _Route(NamedTuple):
    scheme: str
    host: str
    port: int
    proxy: _Proxy | None

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


# -- the socket http.client talks to ---------------------------------------------------------------------
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

    def open_tunnel(self, route: _Route) -> None:
        """``CONNECT host:port`` through the proxy (inside its TLS when it is an https proxy)."""
        assert route.proxy is not None
        lines = [f"CONNECT {route.netloc} HTTP/1.1", f"Host: {route.netloc}"]
        if route.proxy.authorization:
            lines.append(f"Proxy-Authorization: {route.proxy.authorization}")
        self._io(self._sock.sendall, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        answer = b""
        while b"\r\n\r\n" not in answer:
            if len(answer) > _MAX_PROXY_ANSWER:
                raise _ProxyRefused(f"its answer to CONNECT exceeds {_MAX_PROXY_ANSWER} bytes")
            chunk = self._io(self._sock.recv, _CHUNK)
            if not chunk:
                raise _ProxyRefused("it closed the connection without answering CONNECT")
            answer += chunk
        head, _, self._early = answer.partition(b"\r\n\r\n")
        status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise _ProxyRefused(f"its answer to CONNECT isn't HTTP: {status_line[:100]!r}")
        status = int(parts[1])
        if not 200 <= status < 300:
            reason = parts[2][:100] if len(parts) > 2 else ""
            hint = " (check the user name and password in the proxy URL)" if status == 407 else ""
            raise _ProxyRefused(f"it answered CONNECT with {status} {reason}".rstrip() + hint)

    # -- bounded I/O ---------------------------------------------------------------------------------------
    def _arm(self) -> None:
        timeout = self.timeout
        self._bounded_by_deadline = False
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise _DeadlineReached()
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
                raise _DeadlineReached() from None
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


class _Connection(http.client.HTTPConnection):
    """An http.client connection whose socket is a :class:`_Channel`, built by :meth:`connect`."""

    def __init__(
        self,
        route: _Route,
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
                raise _DeadlineReached()
            if timeout is None or left < timeout:
                timeout, bounded = left, True
        try:
            sock = socket.create_connection(address, timeout)
        except TimeoutError:
            if bounded:
                raise _DeadlineReached() from None
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


# -- trust ------------------------------------------------------------------------------------------------
def _trust_source(verify: Any, use_env: bool) -> tuple[Any, str]:
    """What to trust and where that came from (for messages): requests' order when verify is True."""
    if verify is True and use_env:
        for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            value = os.environ.get(variable)
            if value:
                return value, variable
    return verify, "connection_verify"


def _trust_context(verify: Any, source: str) -> ssl.SSLContext:
    """An SSLContext verifying servers per ``verify``: True (the system store), False (no verification),
    a CA bundle file or a directory of CA certificates (``c_rehash`` / ``openssl rehash``)."""
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if verify is True or verify is None:
        return ssl.create_default_context()
    if not isinstance(verify, (str, os.PathLike)):
        raise TransportSettingError(
            f"{source} must be True, False or the path of a CA bundle file or CA directory, "
            f"not {type(verify).__name__}"
        )
    path = os.fspath(verify)
    if os.path.isdir(path):
        # OpenSSL reads the directory lazily, by subject hash: files named like 3513523f.0.
        return ssl.create_default_context(capath=path)
    if not os.path.isfile(path):
        what = "doesn't exist" if not os.path.lexists(path) else "is neither a file nor a directory"
        raise TransportSettingError(
            f"{source}={path!r} {what}: give the path of a CA bundle file (PEM) or of a directory of CA "
            "certificates prepared with c_rehash (openssl rehash)"
        )
    try:
        return ssl.create_default_context(cafile=path)
    except (ssl.SSLError, OSError, ValueError) as error:
        raise TransportSettingError(
            f"{source}={path!r} holds no CA certificate that could be loaded ({error}): give a PEM file of "
            "CA certificates"
        ) from None


class StdlibTransport(HttpTransport):  # type: ignore[type-arg]
    """azure-core ``HttpTransport`` over ``http.client``: keep-alive, TLS, proxies, timeouts, deadlines."""

    def __init__(
        self,
        *,
        connection_timeout: float = _DEFAULT_TIMEOUT,
        read_timeout: float = _DEFAULT_TIMEOUT,
        connection_verify: bool | str = True,
        connection_cert: Any = None,
        use_env_settings: bool = True,
        **kwargs: Any,
    ) -> None:
        self._connection_timeout = connection_timeout
        self._read_timeout = read_timeout
        self._verify = connection_verify
        self._cert = connection_cert
        self._use_env = use_env_settings
        self._pool: dict[tuple[Any, ...], list[_Connection]] = {}
        self._contexts: dict[tuple[Any, ...], ssl.SSLContext] = {}
        self._lock = threading.Lock()

    # -- HttpTransport -------------------------------------------------------------------------------
    def open(self) -> None:
        pass

    def close(self) -> None:
        with self._lock:
            connections = [c for idle in self._pool.values() for c in idle]
            self._pool.clear()
        for connection in connections:
            connection.close()

    def __enter__(self) -> StdlibTransport:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def send(self, request: Any, **kwargs: Any) -> Any:
        connect_timeout = kwargs.pop("connection_timeout", self._connection_timeout)
        read_timeout = kwargs.pop("read_timeout", self._read_timeout)
        verify = kwargs.pop("connection_verify", self._verify)
        cert = kwargs.pop("connection_cert", self._cert)
        deadline = kwargs.pop(DEADLINE, None)
        url = urllib.parse.urlsplit(request.url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ServiceRequestError(f"unsupported URL {url.scheme}://{url.hostname}")
        proxy_url = self._proxy_for(url, kwargs.pop("proxies", None))
        proxy = _parse_proxy(proxy_url) if proxy_url else None
        route = _Route(url.scheme, url.hostname, url.port or (443 if url.scheme == "https" else 80), proxy)
        trust, source = _trust_source(verify, self._use_env)
        contexts = self._contexts_for(route, trust, source, cert)
        key = (route, trust if (url.scheme == "https" or proxy_url) else None, source, str(cert))
        body = request.content
        if isinstance(body, dict):  # azure.core.rest keeps form data as a dict (data=...)
            body = urllib.parse.urlencode(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        headers = dict(request.headers)
        target = url.path or "/"
        if url.query:
            target += "?" + url.query
        if proxy is not None and url.scheme == "http":
            target = request.url  # a proxy forwarding plain HTTP takes the absolute URL
            if proxy.authorization:
                headers["Proxy-Authorization"] = proxy.authorization  # inside TLS to an https proxy
        for attempt in (0, 1):
            connection, reused = self._connection(
                key, route, contexts, connect_timeout, read_timeout, deadline
            )
            try:
                connection.request(request.method, target, body=body, headers=headers)
            except _DeadlineReached as error:
                connection.close()
                raise _timeout_error(
                    f"the total deadline was reached while sending the request to {url.hostname}", True
                ) from error
            except TimeoutError as error:
                connection.close()
                raise _timeout_error(f"timed out sending to {url.hostname}: {error}", True) from error
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                if reused and attempt == 0:
                    continue  # the server closed an idle kept-alive connection: retry on a fresh one
                raise ServiceRequestError(f"could not send the request to {url.hostname}: {error}") from error
            try:
                raw = connection.getresponse()
            except _DeadlineReached as error:
                connection.close()
                raise _timeout_error(
                    f"the total deadline was reached while waiting for the response from {url.hostname}",
                    False,
                ) from error
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as error:
                connection.close()
                if reused and attempt == 0:
                    continue  # the kept-alive connection was closed by the server while idle
                raise ServiceResponseError(
                    f"{url.hostname} closed the connection without answering: {error}"
                ) from error
            except TimeoutError as error:
                connection.close()
                raise _timeout_error(
                    f"no response from {url.hostname} within {read_timeout} s", False
                ) from error
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                raise ServiceResponseError(
                    f"failed to read the response from {url.hostname}: {error}"
                ) from error
            return self._finish(request, key, connection, raw, read_timeout)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- helpers -------------------------------------------------------------------------------------
    def _finish(
        self,
        request: Any,
        key: tuple[Any, ...],
        connection: _Connection,
        raw: http.client.HTTPResponse,
        read_timeout: float,
    ) -> _Response:
        try:
            body = raw.read(MAX_BODY + 1)
        except _DeadlineReached as error:
            _discard(connection, raw)
            raise _timeout_error(
                "the total deadline was reached while the response body was arriving", False
            ) from error
        except TimeoutError as error:
            _discard(connection, raw)
            raise _timeout_error(
                f"the response body did not arrive within {read_timeout} s", False
            ) from error
        except (OSError, http.client.HTTPException) as error:
            _discard(connection, raw)
            raise ServiceResponseError(f"the response body was cut off: {error}") from error
        if (
            len(body) <= MAX_BODY and raw.length
        ):  # Content-Length promised more: the server went away mid-body
            _discard(connection, raw)
            raise ServiceResponseError(
                f"the response body was cut off: {len(body)} bytes arrived, {raw.length} more were announced"
            )
        headers = CaseInsensitiveDict(raw.getheaders())
        if len(body) > MAX_BODY or raw.will_close or not raw.isclosed():
            _discard(connection, raw)  # too big to drain, or not reusable
        else:
            channel = connection.channel
            if channel is not None:
                channel.deadline = None  # this request's deadline doesn't bind the next one
            with self._lock:
                self._pool.setdefault(key, []).append(connection)
        return _Response(request, raw.status, raw.reason, headers, body)

    def _connection(
        self,
        key: tuple[Any, ...],
        route: _Route,
        contexts: tuple[ssl.SSLContext | None, ssl.SSLContext | None],
        connect_timeout: float,
        read_timeout: float,
        deadline: float | None,
    ) -> tuple[_Connection, bool]:
        with self._lock:
            idle = self._pool.get(key)
            if idle:
                connection = idle.pop()
                channel = connection.channel
                if channel is not None:
                    channel.timeout, channel.deadline = read_timeout, deadline
                return connection, True
        connection = _Connection(route, contexts, connect_timeout, deadline)
        via = f" through the proxy {route.proxy.shown}" if route.proxy else ""
        try:
            connection.connect()
        except _DeadlineReached as error:
            connection.close()
            raise ServiceRequestTimeoutError(
                f"the total deadline was reached while connecting to {route.netloc}{via}"
            ) from error
        except TimeoutError as error:
            connection.close()
            raise ServiceRequestTimeoutError(
                f"could not connect to {route.netloc}{via} within {connect_timeout} s"
            ) from error
        except _ProxyRefused as error:
            connection.close()
            raise ServiceRequestError(
                f"could not connect to {route.netloc} through the proxy "
                f"{route.proxy.shown if route.proxy else ''}: {error}"
            ) from error
        except OSError as error:
            connection.close()
            raise ServiceRequestError(f"could not connect to {route.netloc}{via}: {error}") from error
        channel = connection.channel
        if channel is not None:
            channel.timeout = read_timeout
        return connection, False

    def _contexts_for(
        self, route: _Route, trust: Any, source: str, cert: Any
    ) -> tuple[ssl.SSLContext | None, ssl.SSLContext | None]:
        """(the target's TLS context, the https proxy's); None where no TLS is spoken."""
        target = self._context(trust, source, cert) if route.scheme == "https" else None
        # The proxy is verified with the target's trust; the client certificate is for the target only.
        proxy = (
            self._context(trust, source, None)
            if route.proxy is not None and route.proxy.scheme == "https"
            else None
        )
        return target, proxy

    def _context(self, trust: Any, source: str, cert: Any) -> ssl.SSLContext:
        key = (trust, source, str(cert))
        context = self._contexts.get(key)
        if context is None:
            context = _trust_context(trust, source)
            if cert:
                certfile, keyfile = (cert[0], cert[1]) if isinstance(cert, (tuple, list)) else (cert, None)
                try:
                    context.load_cert_chain(certfile, keyfile)
                except (ssl.SSLError, OSError, ValueError) as error:
                    raise TransportSettingError(
                        f"connection_cert {certfile!r} can't be used as a client certificate ({error})"
                    ) from None
            self._contexts[key] = context
        return context

    def _proxy_for(self, url: urllib.parse.SplitResult, proxies: dict[str, str] | None) -> str | None:
        if proxies:
            return proxies.get(url.scheme) or proxies.get("all") or None
        if not self._use_env:
            return None
        environment = urllib.request.getproxies_environment()
        proxy = environment.get(url.scheme) or environment.get("all")
        if proxy and urllib.request.proxy_bypass(url.hostname or ""):
            return None
        return proxy or None


# -- async --------------------------------------------------------------------------------------------------
def default_async_transport(**kwargs: Any) -> Any:
    """azure-core's ``AioHttpTransport``, taking ``connection_verify`` as the sync transport does.

    azure-core hands any path to ``ssl.create_default_context(cafile=...)``, so a CA directory raised
    ``IsADirectoryError`` and a missing file ``FileNotFoundError`` from deep inside aiohttp's request.
    Here a directory is a ``capath`` and a path that can't work is a :class:`TransportSettingError`
    naming the keyword and the path.
    """
    return _async_transport_class()(**kwargs)


_ASYNC_CLASS: list[type] = []


def _async_transport_class() -> type:
    if _ASYNC_CLASS:
        return _ASYNC_CLASS[0]
    from azure.core.pipeline.transport import AioHttpTransport

    class AzidentityAioHttpTransport(AioHttpTransport):  # type: ignore[misc]
        def _build_ssl_config(self, cert: Any, verify: Any) -> Any:
            if verify in (True, False, None):
                return super()._build_ssl_config(cert, verify)
            context = _trust_context(verify, "connection_verify")
            if cert:
                try:
                    context.load_cert_chain(*cert)
                except (ssl.SSLError, OSError, ValueError, TypeError) as error:
                    raise TransportSettingError(
                        f"connection_cert can't be used as a client certificate ({error})"
                    ) from None
            return context

        async def open(self) -> None:
            creates_session = self.session is None
            await super().open()
            if creates_session and self._session_owner:
                _abort_closed_tls_connections(self.session.connector)

    _ASYNC_CLASS.append(AzidentityAioHttpTransport)
    return AzidentityAioHttpTransport


def _abort_closed_tls_connections(connector: Any) -> None:
    """Make aiohttp abort the TLS connections it closes, at the latest when the session closes.

    A connection given up mid-response (a read timeout, a cancelled request) is closed with a TLS
    shutdown that waits for the server's close_notify, for up to 30 s (asyncio's default), and the
    session no longer tracks it: a loop ending at once (``asyncio.run``) left its socket to the garbage
    collector (``ResourceWarning: unclosed transport``). aiohttp has the remedy (abort each such
    connection within 2 s, and all at close) but turns it on only for Python 3.13.0; private names, so
    an aiohttp without them is left as it is.
    """
    cleanup = getattr(connector, "_cleanup_closed", None)
    if hasattr(connector, "_cleanup_closed_disabled") and callable(cleanup):
        connector._cleanup_closed_disabled = False
        cleanup()  # schedules itself every 2 s
