"""The async credentials' default transport: azure-core's ``AioHttpTransport``, adjusted.

It takes ``connection_verify`` as the sync transport does (trust.py) and aborts the TLS connections
aiohttp gives up mid-response. aiohttp is imported when the class is first needed, never at import.
"""

from __future__ import annotations

import ssl
from typing import Any

from .errors import TransportSettingError
from .trust import trust_context


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
            context = trust_context(verify, "connection_verify")
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
