"""Effects of user sign-in that are neither HTTP requests, processes nor sleeps.

An :class:`Interaction` names its ``performer``: an object outside this sans-IO package (the
credential supplies it) with ``perform_sync(effect)`` and ``async perform_async(effect)``. The
drivers hand any Interaction to its performer, so new kinds of user interaction need no driver
change, and a test stepping a flow sees a plain value and sends back a plain result.
"""

from __future__ import annotations

from .._lazy import TYPE_CHECKING
from .effects import _Value

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


class Interaction(_Value):
    """Base of effects performed by their ``performer``."""

    __slots__: tuple[str, ...] = ("performer",)
    performer: Any


class BrowserAuthorization(Interaction):
    """Listen on ``host`` at the first free port of ``ports``, open the system browser at
    ``authorize_url`` + ``&redirect_uri=http://{host}:{port}{path}``, and wait at most ``timeout``
    seconds for the redirect whose ``state`` matches. Result: :class:`RedirectResult`."""

    __slots__ = ("authorize_url", "host", "ports", "path", "state", "timeout", "performer")

    def __init__(
        self,
        authorize_url: str,
        host: str,
        ports: tuple[int, ...],
        path: str,
        state: str,
        timeout: float,
        performer: Any,
    ) -> None:
        self.authorize_url = authorize_url
        self.host = host
        self.ports = tuple(ports)
        self.path = path
        self.state = state
        self.timeout = timeout
        self.performer = performer

    def __repr__(self) -> str:  # the URL carries the state and PKCE challenge: not secret, but noisy
        return (
            f"BrowserAuthorization(host={self.host!r}, ports={self.ports[0]}..{self.ports[-1]}, "
            f"timeout={self.timeout})"
        )


class RedirectResult(_Value):
    """What came back to the local server.

    ``failure`` is None (``params`` holds the redirect's parameters), ``"server"`` (no port could
    be bound), ``"browser"`` (no browser could be opened) or ``"timeout"``; ``detail`` explains it.
    """

    __slots__ = ("redirect_uri", "params", "failure", "detail")

    def __init__(
        self,
        redirect_uri: str,
        params: Mapping[str, str] | None = None,
        failure: str | None = None,
        detail: str = "",
    ) -> None:
        self.redirect_uri = redirect_uri
        self.params: Mapping[str, str] = params or {}
        self.failure = failure
        self.detail = detail

    def __repr__(self) -> str:  # params hold the authorization code
        return f"RedirectResult(redirect_uri={self.redirect_uri!r}, failure={self.failure!r})"
