"""Service Fabric's endpoint: TLS pinned to ``IDENTITY_SERVER_THUMBPRINT`` (sync and async).

The cluster's token service presents its own self-signed certificate and announces its SHA-1
thumbprint in ``IDENTITY_SERVER_THUMBPRINT``. CA verification is therefore off, and the peer
certificate is checked by our own code right after the TLS handshake, before a single byte of
the request (which carries the ``Secret`` header) is sent. aiohttp refuses SHA-1 fingerprints,
so the check lives in the SSL context's socket/object classes, which both transports use:
requests/urllib3 through ``SSLContext.wrap_socket``, aiohttp/asyncio through ``wrap_bio``.

No proxy is ever used (environment proxy settings are ignored and ``proxies`` dropped), and
redirects are not followed (azure-core's transports never follow them; the flow refuses 3xx).
"""

from __future__ import annotations

import hashlib
import ssl
from typing import Any

MISMATCH = "does not match IDENTITY_SERVER_THUMBPRINT"


class ThumbprintMismatch(ssl.SSLCertVerificationError):
    """The endpoint's certificate is not the one the cluster announced."""


def _check(context: Any, der: bytes | None) -> None:
    expected = getattr(context, "thumbprint", None)
    actual = hashlib.sha1(der).hexdigest() if der else None  # noqa: S324 - SHA-1 is the announced pin
    if not expected or actual != expected:
        raise ThumbprintMismatch(
            f"the Service Fabric endpoint's certificate (SHA-1 {actual or 'none'}) {MISMATCH} ({expected})"
        )


class _PinnedSocket(ssl.SSLSocket):
    def do_handshake(self, block: bool = False) -> None:
        super().do_handshake(block)
        _check(self.context, self.getpeercert(binary_form=True))


class _PinnedObject(ssl.SSLObject):
    def do_handshake(self) -> None:
        super().do_handshake()
        _check(self.context, self.getpeercert(binary_form=True))


class PinnedContext(ssl.SSLContext):
    """A client context that accepts exactly the certificate whose SHA-1 is ``thumbprint``."""

    sslsocket_class = _PinnedSocket
    sslobject_class = _PinnedObject
    thumbprint: str

    @property  # type: ignore[override]
    def verify_mode(self) -> ssl.VerifyMode:
        return super().verify_mode

    @verify_mode.setter
    def verify_mode(self, value: ssl.VerifyMode) -> None:
        # urllib3 assigns verify_mode from its cert_reqs; CA verification can't apply to a
        # self-signed pin, and the pin is checked after every handshake regardless.
        super(PinnedContext, PinnedContext).verify_mode.__set__(self, ssl.CERT_NONE)  # type: ignore[attr-defined]


def pinned_context(thumbprint: str) -> PinnedContext:
    context = PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.thumbprint = thumbprint.lower()
    return context


def sync_transport(thumbprint: str, kwargs: dict[str, Any]) -> Any:
    """An azure-core ``RequestsTransport`` whose HTTPS connections are pinned."""
    from azure.core.pipeline.transport import RequestsTransport
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    context = pinned_context(thumbprint)

    class PinnedAdapter(HTTPAdapter):
        def __init__(self) -> None:
            super().__init__(max_retries=Retry(total=False, redirect=False, raise_on_status=False))

        def build_connection_pool_key_attributes(
            self, request: Any, verify: Any, cert: Any = None
        ) -> tuple[dict[str, Any], dict[str, Any]]:
            host, _ = super().build_connection_pool_key_attributes(request, False, None)
            # assert_fingerprint repeats the check inside urllib3 and marks the connection verified.
            return host, {"ssl_context": context, "cert_reqs": "CERT_NONE", "assert_fingerprint": thumbprint}

        def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
            return

        def send(self, request: Any, *args: Any, **kw: Any) -> Any:
            kw["proxies"] = None
            return super().send(request, *args, **kw)

    class PinnedTransport(RequestsTransport):  # type: ignore[misc]
        def _init_session(self, session: Any) -> None:
            session.trust_env = False
            adapter = PinnedAdapter()
            session.mount("https://", adapter)
            session.mount("http://", adapter)

    options = {k: v for k, v in kwargs.items() if k in ("connection_timeout", "read_timeout")}
    return PinnedTransport(use_env_settings=False, **options)


def async_transport(thumbprint: str, kwargs: dict[str, Any]) -> Any:
    """An azure-core ``AioHttpTransport`` whose HTTPS connections are pinned (session made in the loop)."""
    from azure.core.pipeline.transport import AioHttpTransport

    context = pinned_context(thumbprint)

    class PinnedAioTransport(AioHttpTransport):  # type: ignore[misc]
        async def open(self) -> None:
            transport: Any = self
            if not transport.session and transport._session_owner:
                import aiohttp

                transport.session = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(ssl=context),
                    trust_env=False,
                    cookie_jar=aiohttp.DummyCookieJar(),
                    auto_decompress=False,
                )
            await super().open()

    options = {k: v for k, v in kwargs.items() if k in ("connection_timeout", "read_timeout")}
    return PinnedAioTransport(use_env_settings=False, **options)
