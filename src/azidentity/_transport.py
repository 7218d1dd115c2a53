"""A small azure-core transport on the standard library's ``http.client``.

Why: importing ``requests`` (with urllib3, charset_normalizer, idna, certifi) costs about
100 ms, a third of what a short-lived program pays for its first token. Token requests are
small form POSTs and GETs with JSON answers, so credentials use this transport by default
for their sync pipelines; a user's ``transport=`` (``RequestsTransport`` included) replaces it.

It honours the azure-core keywords a credential user may pass: ``connection_timeout`` (connect),
``read_timeout`` (each read), ``connection_verify`` (bool or CA bundle path),
``connection_cert`` (client certificate), ``proxies`` (per request, from ProxyPolicy) and, with
``use_env_settings`` (default), the ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY`` variables.
HTTPS through a proxy uses CONNECT. Connections are kept alive and pooled per origin; a pooled
connection the server closed meanwhile is replaced once, transparently, before any response.
Bodies are read whole (credentials never stream) up to 16 MiB.
"""

from __future__ import annotations

import base64
import http.client
import ssl
import threading
import urllib.parse
import urllib.request
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

MAX_BODY = 16 * 1024 * 1024
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


def _timeout_error(message: str, during_request: bool) -> Exception:
    return ServiceRequestTimeoutError(message) if during_request else ServiceResponseTimeoutError(message)


class StdlibTransport(HttpTransport):  # type: ignore[type-arg]
    """azure-core ``HttpTransport`` over ``http.client``: keep-alive, TLS, proxies, timeouts."""

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
        self._pool: dict[tuple[Any, ...], list[http.client.HTTPConnection]] = {}
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
        url = urllib.parse.urlsplit(request.url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ServiceRequestError(f"unsupported URL {url.scheme}://{url.hostname}")
        proxy = self._proxy_for(url, kwargs.pop("proxies", None))
        key = (
            url.scheme,
            url.hostname,
            url.port,
            proxy,
            verify if url.scheme == "https" else None,
            str(cert),
        )
        body = request.content
        if isinstance(body, dict):  # azure.core.rest keeps form data as a dict (data=...)
            body = urllib.parse.urlencode(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        headers = dict(request.headers)
        target = url.path or "/"
        if url.query:
            target += "?" + url.query
        if proxy and url.scheme == "http":
            target = request.url  # a plain-HTTP proxy takes the absolute URL
        for attempt in (0, 1):
            connection, reused = self._connection(
                key, url, proxy, verify, cert, connect_timeout, read_timeout
            )
            try:
                connection.request(request.method, target, body=body, headers=headers)
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
        connection: http.client.HTTPConnection,
        raw: http.client.HTTPResponse,
        read_timeout: float,
    ) -> _Response:
        try:
            body = raw.read(MAX_BODY + 1)
        except TimeoutError as error:
            connection.close()
            raise _timeout_error(
                f"the response body did not arrive within {read_timeout} s", False
            ) from error
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            raise ServiceResponseError(f"the response body was cut off: {error}") from error
        if (
            len(body) <= MAX_BODY and raw.length
        ):  # Content-Length promised more: the server went away mid-body
            connection.close()
            raise ServiceResponseError(
                f"the response body was cut off: {len(body)} bytes arrived, {raw.length} more were announced"
            )
        headers = CaseInsensitiveDict(raw.getheaders())
        if len(body) > MAX_BODY or raw.will_close or not raw.isclosed():
            connection.close()  # too big to drain, or not reusable
        else:
            with self._lock:
                self._pool.setdefault(key, []).append(connection)
        return _Response(request, raw.status, raw.reason, headers, body)

    def _connection(
        self,
        key: tuple[Any, ...],
        url: urllib.parse.SplitResult,
        proxy: str | None,
        verify: Any,
        cert: Any,
        connect_timeout: float,
        read_timeout: float,
    ) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            idle = self._pool.get(key)
            if idle:
                connection = idle.pop()
                if connection.sock is not None:
                    connection.sock.settimeout(read_timeout)
                return connection, True
        connection = self._new_connection(url, proxy, verify, cert, connect_timeout)
        try:
            connection.connect()
        except TimeoutError as error:
            connection.close()
            raise ServiceRequestTimeoutError(
                f"could not connect to {url.hostname} within {connect_timeout} s"
            ) from error
        except OSError as error:
            connection.close()
            raise ServiceRequestError(f"could not connect to {url.netloc}: {error}") from error
        if connection.sock is not None:
            connection.sock.settimeout(read_timeout)
        return connection, False

    def _new_connection(
        self, url: urllib.parse.SplitResult, proxy: str | None, verify: Any, cert: Any, timeout: float
    ) -> http.client.HTTPConnection:
        port = url.port or (443 if url.scheme == "https" else 80)
        if proxy is None:
            if url.scheme == "https":
                return http.client.HTTPSConnection(
                    url.hostname or "", port, timeout=timeout, context=self._ssl_context(verify, cert)
                )
            return http.client.HTTPConnection(url.hostname or "", port, timeout=timeout)
        parsed = urllib.parse.urlsplit(proxy if "://" in proxy else "http://" + proxy)
        proxy_port = parsed.port or 80
        if url.scheme == "http":
            return http.client.HTTPConnection(parsed.hostname or "", proxy_port, timeout=timeout)
        connection = http.client.HTTPSConnection(
            parsed.hostname or "", proxy_port, timeout=timeout, context=self._ssl_context(verify, cert)
        )
        tunnel_headers = {}
        if parsed.username:
            userinfo = (
                f"{urllib.parse.unquote(parsed.username)}:{urllib.parse.unquote(parsed.password or '')}"
            )
            tunnel_headers["Proxy-Authorization"] = "Basic " + base64.b64encode(userinfo.encode()).decode()
        connection.set_tunnel(url.hostname or "", port, headers=tunnel_headers)
        return connection

    def _ssl_context(self, verify: Any, cert: Any) -> ssl.SSLContext:
        key = (verify, str(cert))
        context = self._contexts.get(key)
        if context is None:
            if verify is False:
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            elif isinstance(verify, str):
                context = ssl.create_default_context(cafile=verify)
            else:
                context = ssl.create_default_context()
            if cert:
                certfile, keyfile = (cert[0], cert[1]) if isinstance(cert, (tuple, list)) else (cert, None)
                context.load_cert_chain(certfile, keyfile)
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
