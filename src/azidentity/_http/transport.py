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
This module sends requests and reads responses; where a request goes and the ``CONNECT`` dialogue
are proxy.py's, the connection (TCP, TLS, the tunnel, TLS nested in it) is connection.py's, and
what is trusted is trust.py's.

Deadline: a request may carry ``azidentity_deadline`` (a ``time.monotonic()`` value). Connecting,
the TLS handshakes, the proxy's answer, sending, the headers and the body then all end by it,
however slowly a server trickles bytes (connection.py bounds every blocking socket call). Past it
the request fails with ``ServiceRequestTimeoutError`` (nothing sent yet) or
``ServiceResponseTimeoutError`` saying the total deadline was reached.

Connections are kept alive and pooled per origin; a pooled connection the server closed
meanwhile is replaced once, transparently, before any response. Bodies are read whole
(credentials never stream) up to 16 MiB.
"""

from __future__ import annotations

import http.client
import os
import ssl
import threading
import urllib.parse
from typing import Any

from azure.core.exceptions import (
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest._http_response_impl import HttpResponseImpl
from azure.core.utils import CaseInsensitiveDict

from .connection import Connection, DeadlineReached
from .errors import TransportSettingError
from .proxy import ProxyRefused, Route, parse_proxy, proxy_url_for
from .trust import trust_context, trust_source

MAX_BODY = 16 * 1024 * 1024
# The per-request keyword carrying the request's total deadline (a time.monotonic() value).
DEADLINE = "azidentity_deadline"
_DEFAULT_TIMEOUT = 300.0


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
        self._pool: dict[tuple[Any, ...], list[Connection]] = {}
        self._contexts: dict[tuple[Any, ...], ssl.SSLContext] = {}
        self._lock = threading.Lock()
        self._pid = os.getpid()

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
        proxy_url = proxy_url_for(url, kwargs.pop("proxies", None), self._use_env)
        proxy = parse_proxy(proxy_url) if proxy_url else None
        route = Route(url.scheme, url.hostname, url.port or (443 if url.scheme == "https" else 80), proxy)
        trust, source = trust_source(verify, self._use_env)
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
            except DeadlineReached as error:
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
            except DeadlineReached as error:
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
        connection: Connection,
        raw: http.client.HTTPResponse,
        read_timeout: float,
    ) -> _Response:
        try:
            body = raw.read(MAX_BODY + 1)
        except DeadlineReached as error:
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
        route: Route,
        contexts: tuple[ssl.SSLContext | None, ssl.SSLContext | None],
        connect_timeout: float,
        read_timeout: float,
        deadline: float | None,
    ) -> tuple[Connection, bool]:
        if self._pid != os.getpid():
            self._after_fork()
        with self._lock:
            idle = self._pool.get(key)
            if idle:
                connection = idle.pop()
                channel = connection.channel
                if channel is not None:
                    channel.timeout, channel.deadline = read_timeout, deadline
                return connection, True
        connection = Connection(route, contexts, connect_timeout, deadline)
        via = f" through the proxy {route.proxy.shown}" if route.proxy else ""
        try:
            connection.connect()
        except DeadlineReached as error:
            connection.close()
            raise ServiceRequestTimeoutError(
                f"the total deadline was reached while connecting to {route.netloc}{via}"
            ) from error
        except TimeoutError as error:
            connection.close()
            raise ServiceRequestTimeoutError(
                f"could not connect to {route.netloc}{via} within {connect_timeout} s"
            ) from error
        except ProxyRefused as error:
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

    def _after_fork(self) -> None:
        """In a forked child: the pooled connections are the parent's (one TLS session can't be spoken
        by two processes), and a thread of the parent may have held the lock at fork time."""
        self._lock = threading.Lock()
        pool, self._pool, self._pid = self._pool, {}, os.getpid()
        for connection in (c for idle in pool.values() for c in idle):
            connection.close()  # this process's copy of the socket only: nothing is sent

    def _contexts_for(
        self, route: Route, trust: Any, source: str, cert: Any
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
            context = trust_context(trust, source)
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
