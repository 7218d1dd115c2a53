"""Where a request goes, and the ``CONNECT`` dialogue that opens a tunnel through a proxy.

The proxy comes from the ``proxies`` keyword (per request, from ProxyPolicy) or, with
``use_env_settings`` (default), from ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY``. Its URL may
carry ``user:password@``: that becomes the ``Proxy-Authorization`` value and is never shown in a
message (:attr:`Proxy.shown`). Only ``http://`` and ``https://`` proxies are spoken to; another
scheme is a :class:`TransportSettingError`.

HTTPS goes through a ``CONNECT`` tunnel (opened by connection.py, which moves the bytes); plain HTTP
is forwarded by the proxy, which takes the absolute URL. A proxy whose answer to ``CONNECT`` isn't
2xx, isn't HTTP or never ends (more than :data:`MAX_PROXY_ANSWER` bytes) is :class:`ProxyRefused`.
"""

from __future__ import annotations

import base64
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import NamedTuple

from .errors import TransportSettingError

MAX_PROXY_ANSWER = 64 * 1024


# -- which proxy -------------------------------------------------------------------------------------------
def proxy_url_for(url: urllib.parse.SplitResult, proxies: dict[str, str] | None, use_env: bool) -> str | None:
    """The proxy URL for ``url``: from ``proxies`` when given, else (with ``use_env``) from the
    environment's proxy variables unless ``NO_PROXY`` exempts the host; None to connect directly."""
    if proxies:
        return proxies.get(url.scheme) or proxies.get("all") or None
    if not use_env:
        return None
    environment = urllib.request.getproxies_environment()
    proxy = environment.get(url.scheme) or environment.get("all")
    if proxy and urllib.request.proxy_bypass(url.hostname or ""):
        return None
    return proxy or None


# -- the proxy and the route ------------------------------------------------------------------------------
class Proxy(NamedTuple):
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


def parse_proxy(url: str) -> Proxy:
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
    return Proxy(scheme, parsed.hostname, port, authorization, url)


class Route(NamedTuple):
    scheme: str
    host: str
    port: int
    proxy: Proxy | None

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


# -- the CONNECT dialogue ------------------------------------------------------------------------------------
class ProxyRefused(OSError):
    """The proxy answered CONNECT with something other than 2xx, or not at all."""


def connect_request(route: Route) -> bytes:
    """``CONNECT host:port`` for the route's target, with the proxy's credentials when its URL has them."""
    assert route.proxy is not None
    lines = [f"CONNECT {route.netloc} HTTP/1.1", f"Host: {route.netloc}"]
    if route.proxy.authorization:
        lines.append(f"Proxy-Authorization: {route.proxy.authorization}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_connect_answer(receive: Callable[[], bytes]) -> bytes:
    """Read the proxy's answer to CONNECT, chunk by chunk from ``receive`` (empty when the proxy closed),
    and refuse anything but 2xx; returns the bytes that arrived right behind the answer."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        if len(answer) > MAX_PROXY_ANSWER:
            raise ProxyRefused(f"its answer to CONNECT exceeds {MAX_PROXY_ANSWER} bytes")
        chunk = receive()
        if not chunk:
            raise ProxyRefused("it closed the connection without answering CONNECT")
        answer += chunk
    head, _, early = answer.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ProxyRefused(f"its answer to CONNECT isn't HTTP: {status_line[:100]!r}")
    status = int(parts[1])
    if not 200 <= status < 300:
        reason = parts[2][:100] if len(parts) > 2 else ""
        hint = " (check the user name and password in the proxy URL)" if status == 407 else ""
        raise ProxyRefused(f"it answered CONNECT with {status} {reason}".rstrip() + hint)
    return early
