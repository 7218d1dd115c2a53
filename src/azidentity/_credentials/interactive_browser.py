"""InteractiveBrowserCredential: the authorization code flow with PKCE in the system browser.

The flow (shared by the sync and async classes) builds the authorize URL and yields one
:class:`BrowserAuthorization`; :class:`LocalRedirect` performs it: a tiny HTTP server on
``localhost`` (the first free port of 8400-8999, or ``redirect_uri``'s) on its own thread, the
browser opened at the URL, and a wait bounded by ``timeout`` (``threading.Event`` for sync
callers, an asyncio future for async ones, so the event loop never blocks). The server accepts
the redirect as a form post (``response_mode=form_post``) or a query, only with the sign-in's
``state``, and answers "Authentication complete. You can close this window."
"""

from __future__ import annotations

from .._credential import TokenRequest
from .._lazy import TYPE_CHECKING
from .._protocol import authorize, entra, pkce
from .._protocol.effects import Flow
from .._protocol.user_effects import BrowserAuthorization, RedirectResult
from .interactive import UserCredential, _AsyncUserCredential, _SyncUserCredential

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any, ClassVar

    from .._token import Token

PORTS = tuple(range(8400, 9000))
COMPLETE_PAGE = "Authentication complete. You can close this window."
_FAILED_PAGE = "Authentication failed. Return to the application for details. You can close this window."
_IGNORED_PAGE = "This response doesn't belong to a sign-in in progress; it was ignored."
_MAX_FORM = 64 * 1024


def open_system_browser(url: str) -> bool:
    """Open ``url`` in the user's browser; on WSL, fall back to Windows' (as azure-identity does)."""
    import webbrowser

    try:
        opened = webbrowser.open(url)
    except webbrowser.Error:
        opened = False
    if not opened:
        import platform

        uname = platform.uname()
        if uname.system.lower() == "linux" and "microsoft" in uname.release.lower():
            import subprocess

            try:
                opened = (
                    subprocess.call(
                        ["powershell.exe", "-NoProfile", "-Command", f'Start-Process "{url}"'],
                        timeout=5,
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    == 0
                )
            except (OSError, subprocess.SubprocessError):
                opened = False
    return bool(opened)


class _Listener:
    """The local redirect server: one response with the expected ``state`` is taken."""

    def __init__(self, host: str, port: int, state: str) -> None:
        import os
        import socketserver
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs

        listener = self
        self.state = state
        self.params: dict[str, str] | None = None
        self.done = threading.Event()
        self.notify: Callable[[], None] | None = None
        self._lock = threading.Lock()

        def first_values(text: str) -> dict[str, str]:
            return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}

        class Handler(BaseHTTPRequestHandler):
            timeout = 10  # a client that connects and says nothing must not hold a thread forever

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                path, _, query = self.path.partition("?")
                if path.endswith("/favicon.ico"):
                    self._reply(404, "")
                    return
                self._deliver(first_values(query))

            def do_POST(self) -> None:  # noqa: N802
                try:
                    length = min(int(self.headers.get("Content-Length") or 0), _MAX_FORM)
                except ValueError:
                    length = 0
                body = self.rfile.read(length).decode("utf-8", errors="replace") if length > 0 else ""
                params = first_values(self.path.partition("?")[2])
                params.update(first_values(body))
                self._deliver(params)

            def _deliver(self, params: dict[str, str]) -> None:
                if listener.offer(params):
                    self._reply(200, _FAILED_PAGE if params.get("error") else COMPLETE_PAGE)
                else:
                    self._reply(400, _IGNORED_PAGE)

            def _reply(self, status: int, text: str) -> None:
                page = (
                    (
                        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Sign-in</title></head>'
                        f"<body><p>{text}</p></body></html>"
                    ).encode()
                    if text
                    else b""
                )
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return  # the request line holds the authorization code

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            # A fixed redirect port must be reusable right after the previous sign-in (TIME_WAIT);
            # on Windows the option would let two servers share a port instead.
            allow_reuse_address = os.name != "nt"

            def server_bind(self) -> None:
                socketserver.TCPServer.server_bind(self)  # skip HTTPServer's reverse DNS lookup
                self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

            def handle_error(self, request: Any, client_address: Any) -> None:
                return  # a browser closing its connection early is not our problem

        self._server = Server((host, port), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"azidentity-redirect-{self.port}",
            daemon=True,
        )

    def offer(self, params: dict[str, str]) -> bool:
        if params.get("state") != self.state or not (params.get("code") or params.get("error")):
            return False
        with self._lock:
            if self.params is None:
                self.params = params
                self.done.set()
                notify = self.notify
            else:
                return True
        if notify is not None:
            notify()
        return True

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()


class LocalRedirect:
    """Performs :class:`BrowserAuthorization` for the sync and async drivers."""

    def __init__(self, open_browser: Callable[[str], bool] | None = None) -> None:
        self._open_browser = open_browser or open_system_browser

    def _listen(self, effect: BrowserAuthorization) -> tuple[_Listener | None, str]:
        last: OSError | None = None
        for port in effect.ports:
            try:
                listener = _Listener(effect.host, port, effect.state)
            except OSError as error:
                last = error
                continue
            return listener, f"http://{effect.host}:{listener.port}{effect.path}"
        where = f"{effect.host}:{effect.ports[0]}" + (f"-{effect.ports[-1]}" if len(effect.ports) > 1 else "")
        return None, f"{where} ({last})" if last else where

    def _open(self, url: str) -> tuple[bool, str]:
        try:
            return bool(self._open_browser(url)), ""
        except Exception as error:  # a broken browser launcher is "no browser", not a crash
            return False, f"{type(error).__name__}: {error}"

    def perform_sync(self, effect: BrowserAuthorization) -> RedirectResult:
        listener, redirect_uri = self._listen(effect)
        if listener is None:
            return RedirectResult("", failure="server", detail=redirect_uri)
        listener.start()
        try:
            opened, detail = self._open(authorize.with_redirect_uri(effect.authorize_url, redirect_uri))
            if not opened:
                return RedirectResult(redirect_uri, failure="browser", detail=detail)
            if not listener.done.wait(effect.timeout):
                return RedirectResult(redirect_uri, failure="timeout")
            return RedirectResult(redirect_uri, listener.params)
        finally:
            listener.close()

    async def perform_async(self, effect: BrowserAuthorization) -> RedirectResult:
        import asyncio

        listener, redirect_uri = self._listen(effect)
        if listener is None:
            return RedirectResult("", failure="server", detail=redirect_uri)
        loop = asyncio.get_running_loop()
        arrived: asyncio.Future[None] = loop.create_future()

        def resolve() -> None:
            if not arrived.done():
                arrived.set_result(None)

        def notify() -> None:  # called on the server's thread
            try:
                loop.call_soon_threadsafe(resolve)
            except RuntimeError:  # the loop has closed: nobody is waiting any more
                pass

        listener.notify = notify
        listener.start()
        try:
            url = authorize.with_redirect_uri(effect.authorize_url, redirect_uri)
            # In a thread: a browser launcher may block, and must not stall the event loop.
            opened, detail = await loop.run_in_executor(None, self._open, url)
            if not opened:
                return RedirectResult(redirect_uri, failure="browser", detail=detail)
            if listener.params is None:
                try:
                    await asyncio.wait_for(arrived, effect.timeout)
                except asyncio.TimeoutError:
                    return RedirectResult(redirect_uri, failure="timeout")
            return RedirectResult(redirect_uri, listener.params)
        finally:
            await loop.run_in_executor(None, listener.close)


def _redirect_target(redirect_uri: str | None) -> tuple[str, tuple[int, ...], str]:
    if not redirect_uri:
        return "localhost", PORTS, ""
    from urllib.parse import urlparse

    parsed = urlparse(redirect_uri)
    try:
        port = parsed.port
    except ValueError:
        port = None
    if not (parsed.hostname and port):
        raise ValueError('"redirect_uri" must be a URL with port number, for example "http://localhost:8400"')
    return parsed.hostname, (port,), parsed.path if parsed.path not in ("", "/") else ""


class _InteractiveBrowser(UserCredential):
    _transient: ClassVar[tuple[str, ...]] = (*UserCredential._transient, "_open_browser")

    def __init__(self, **kwargs: Any) -> None:
        self._redirect_uri = kwargs.pop("redirect_uri", None)
        self._host, self._ports, self._path = _redirect_target(self._redirect_uri)
        self._login_hint: str | None = kwargs.pop("login_hint", None)
        timeout = kwargs.pop("timeout", 300)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self._timeout = timeout
        self._open_browser: Callable[[str], bool] | None = kwargs.pop("_open_browser", None)
        self._init_user(kwargs)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._open_browser = None

    def _sign_in(self, request: TokenRequest, tenant: str) -> Flow[tuple[Token, dict[str, Any]]]:
        from .._credential import current_chain
        from .._errors import AuthenticationFailedError, CredentialUnavailableError

        verifier, state = pkce.new_verifier(), pkce.new_state()
        scopes = authorize.user_scopes(request.scopes)
        claims = entra.merge_claims(request.claims, request.enable_cae)
        url = authorize.authorize_url(
            self._authority,
            entra.url_segment(tenant),
            self._client_id,
            scopes,
            state=state,
            code_challenge=pkce.challenge(verifier),
            login_hint=self._login_hint,
            claims=claims,
        )
        effect: Any = BrowserAuthorization(
            url, self._host, self._ports, self._path, state, self._timeout, LocalRedirect(self._open_browser)
        )
        result: RedirectResult = yield effect
        if result.failure == "server":
            raise CredentialUnavailableError(
                f"Couldn't start an HTTP server on {result.detail}",
                credential=self._name,
                mitigation_key="interactive-no-server",
            )
        if result.failure == "browser":
            raise CredentialUnavailableError(
                "Failed to open a browser" + (f" ({result.detail})" if result.detail else ""),
                credential=self._name,
                mitigation_key="interactive-no-browser",
            )
        if result.failure == "timeout":
            error_type = (
                CredentialUnavailableError if current_chain() is not None else AuthenticationFailedError
            )
            raise error_type(
                f"Timed out after waiting {self._timeout} seconds for the user to authenticate",
                credential=self._name,
                mitigation_key="interactive-timeout",
            )
        params: Mapping[str, str] = result.params
        code = authorize.code_from_redirect(params, state, credential=self._name)
        form = authorize.auth_code_form(
            self._client_id, code, result.redirect_uri, scopes, code_verifier=verifier, claims=claims
        )
        response = yield entra.token_request(self._token_url(tenant), form)
        return entra.parse_token_response(response, credential=self._name, now=self._now())


class InteractiveBrowserCredential(_InteractiveBrowser, _SyncUserCredential):
    """Signs a user in through the system browser (authorization code flow with PKCE).

    The browser opens Microsoft Entra ID's sign-in page; the answer comes back to a server this
    credential runs on ``localhost`` for the duration of the sign-in.

    :keyword str client_id: the application users sign in to; default: the Azure development
        application (register your own for production).
    :keyword str tenant_id: the tenant users sign in to; default "organizations" (any work or
        school account). With ``authentication_record``, default: the record's tenant.
    :keyword str authority: the Entra ID host, e.g. "login.microsoftonline.com" (the default).
    :keyword str login_hint: a username to pre-fill on the sign-in page.
    :keyword str redirect_uri: e.g. "http://localhost:8400": the application's registered redirect
        URI, with a port; default: ``http://localhost`` at the first free port of 8400-8999.
    :keyword AuthenticationRecord authentication_record: the account to use, from ``authenticate()``.
    :keyword bool disable_automatic_authentication: raise :class:`AuthenticationRequiredError`
        instead of opening a browser when the user must sign in. Default False.
    :keyword cache_persistence_options: keep tokens in the persistent cache so later processes
        need no sign-in. :class:`TokenCachePersistenceOptions`.
    :keyword float timeout: seconds to wait for the user to complete sign-in; default 300.
    :keyword list[str] additionally_allowed_tenants: tenants besides ``tenant_id`` that
        ``get_token`` may request; "*" allows any.
    :raises ValueError: a ``redirect_uri`` without a port.
    """


class AsyncInteractiveBrowserCredential(_InteractiveBrowser, _AsyncUserCredential):
    __doc__ = InteractiveBrowserCredential.__doc__
