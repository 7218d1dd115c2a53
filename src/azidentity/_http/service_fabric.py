"""Service Fabric's endpoint: TLS pinned to ``IDENTITY_SERVER_THUMBPRINT`` (sync and async).

The cluster's token service presents its own self-signed certificate and announces its SHA-1
thumbprint in ``IDENTITY_SERVER_THUMBPRINT``. CA verification is therefore off, and the peer
certificate is checked by our own code right after the TLS handshake, before a single byte of
the request (which carries the ``Secret`` header) is sent. aiohttp refuses SHA-1 fingerprints,
so the check lives in the SSL context's socket/object classes, which both transports use:
requests/urllib3 through ``SSLContext.wrap_socket``, aiohttp/asyncio through ``wrap_bio``.

No proxy is ever used (environment proxy settings are ignored and ``proxies`` dropped), and
redirects are not followed (azure-core's transports never follow them; the flow refuses 3xx).

Pipeline options, as azure-identity 1.27's sync credential handles them: a user's azure-core
``RequestsTransport`` is used (its session gets the pinning adapter for the endpoint's origin,
mounted again whenever the transport reopens its session); a transport that can't be pinned
(another sync transport; any async one) and a client certificate are not used, and are named in
one ``UserWarning`` when the credential is built, instead of refusing.
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


# Keywords this host can't honour, named in the UserWarning (the transport is judged separately).
_UNUSED_OPTIONS = ("connection_cert",)


def _is_requests_transport(transport: Any) -> bool:
    """azure-core's RequestsTransport (or a subclass), recognised without importing requests."""
    return any(
        cls.__name__ == "RequestsTransport" and cls.__module__.startswith("azure.core.")
        for cls in type(transport).__mro__
    )


def usable_user_transport(kwargs: dict[str, Any], *, is_async: bool) -> Any:
    """The user's transport if its connections can be pinned (sync RequestsTransport), else None."""
    transport = kwargs.get("transport")
    if transport is not None and not is_async and _is_requests_transport(transport):
        return transport
    return None


def ignored_options(kwargs: dict[str, Any], *, is_async: bool) -> list[str]:
    """The pipeline keywords given that Service Fabric requests can't honour, in a stable order."""
    ignored = []
    if kwargs.get("transport") is not None and usable_user_transport(kwargs, is_async=is_async) is None:
        ignored.append("transport")
    ignored += [name for name in _UNUSED_OPTIONS if kwargs.get(name) is not None]
    return ignored


def warning_text(ignored: list[str], *, is_async: bool) -> str:
    kind = "an azure-core RequestsTransport" if not is_async else "no transport of yours"
    return (
        "The following arguments are ignored for Service Fabric managed identity, "
        f"whose connections are pinned to IDENTITY_SERVER_THUMBPRINT (it can pin {kind}): "
        f"{', '.join(ignored)}."
    )


def _adapter_class() -> Any:
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    class PinnedAdapter(HTTPAdapter):
        def __init__(self, context: PinnedContext) -> None:
            self.context = context
            super().__init__(max_retries=Retry(total=False, redirect=False, raise_on_status=False))

        def build_connection_pool_key_attributes(
            self, request: Any, verify: Any, cert: Any = None
        ) -> tuple[dict[str, Any], dict[str, Any]]:
            host, _ = super().build_connection_pool_key_attributes(request, False, None)
            # assert_fingerprint repeats the check inside urllib3 and marks the connection verified.
            return host, {
                "ssl_context": self.context,
                "cert_reqs": "CERT_NONE",
                "assert_fingerprint": self.context.thumbprint,
            }

        def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
            return

        def send(self, request: Any, *args: Any, **kw: Any) -> Any:
            kw["proxies"] = None
            return super().send(request, *args, **kw)

    return PinnedAdapter


def sync_transport(thumbprint: str, kwargs: dict[str, Any]) -> Any:
    """An azure-core ``RequestsTransport`` whose HTTPS connections are pinned."""
    from azure.core.pipeline.transport import RequestsTransport

    adapter = _adapter_class()(pinned_context(thumbprint))

    class PinnedTransport(RequestsTransport):  # type: ignore[misc]
        def _init_session(self, session: Any) -> None:
            session.trust_env = False
            session.mount("https://", adapter)
            session.mount("http://", adapter)

    options = {k: v for k, v in kwargs.items() if k in ("connection_timeout", "read_timeout")}
    return PinnedTransport(use_env_settings=False, **options)


def pinned_user_transport(transport: Any, thumbprint: str, endpoint: str) -> Any:
    """The user's ``RequestsTransport``, its session pinned for ``endpoint``'s origin.

    A thin transport in front of it: entering, exiting and closing reach the user's transport (as
    azure-identity's do); before each request the pinning adapter is (re)mounted on whatever session the
    user's transport holds, so a session it reopened after ``close()`` is never used unpinned.
    """
    import urllib.parse

    from azure.core.pipeline.transport import HttpTransport

    url = urllib.parse.urlsplit(endpoint)
    origin = f"{url.scheme}://{url.netloc}/"
    adapter = _adapter_class()(pinned_context(thumbprint))

    class PinnedUserTransport(HttpTransport):  # type: ignore[type-arg]
        def __init__(self) -> None:
            self.inner = transport

        def _pin(self) -> None:
            self.inner.open()
            session = self.inner.session
            if session.adapters.get(origin) is not adapter:
                session.mount(origin, adapter)

        def open(self) -> None:
            self._pin()

        def close(self) -> None:
            self.inner.close()

        def __enter__(self) -> PinnedUserTransport:
            self.inner.__enter__()
            return self

        def __exit__(self, *args: Any) -> None:
            self.inner.__exit__(*args)

        def send(self, request: Any, **kwargs: Any) -> Any:
            self._pin()
            kwargs.pop("proxies", None)
            return self.inner.send(request, **kwargs)

    return PinnedUserTransport()


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
