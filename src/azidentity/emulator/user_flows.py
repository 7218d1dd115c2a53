"""Signing users in: the authorization endpoint (authorization code + PKCE), the device
authorization endpoint with its verification page, and the two grants that redeem them.

* ``GET|POST /{tenant}/oauth2/v2.0/authorize``: a test user signs in and consents at once (the
  ``login_hint`` user, else :attr:`UserFlowService.default_user`); the browser is sent back to
  ``redirect_uri`` with ``code`` and ``state``: a 302 with a query (``response_mode=query``, the
  default) or an auto-submitting form (``form_post``). Problems found before the redirect URI is
  trusted are shown as an error page (as Entra does); later ones go back to the client as
  ``error`` / ``error_description``.
* ``POST /{tenant}/oauth2/v2.0/devicecode``: ``device_code, user_code, verification_uri,
  expires_in, interval, message``. The user (a test) approves or declines at
  ``verification_uri`` (``POST /devicelogin`` with ``user_code``, ``username``, ``action``) or
  with :meth:`UserFlowService.approve` / :meth:`UserFlowService.decline`.
* Grants ``authorization_code`` (the code is bound to its client, redirect URI and PKCE
  challenge; single use; 10 minutes) and ``urn:ietf:params:oauth:grant-type:device_code``
  (``authorization_pending``, ``slow_down`` when polled faster than the interval, which then grows
  by 5 s, ``expired_token``, ``authorization_declined``: all against the emulator's clock). Both
  answer like the password grant: access token, refresh token, ``id_token`` for ``openid`` and
  ``client_info`` when the request has ``client_info=1``.

Where Entra's error codes are not contractual, the choice is noted next to the error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import threading
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from . import errors
from .config import UserConfig
from .errors import EntraError, error_response
from .grants import GrantHandler
from .state import Runtime
from .token_request import TokenRequest, parse_scope, resolve_tenant, user_identity
from .wire import RecordedRequest, Response, Route, json_response

TENANT = r"(?P<tenant>[^/]+)"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ23456789"  # no vowels (no words), no look-alikes
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


@dataclass
class AuthorizationCode:
    client_id: str
    redirect_uri: str
    code_challenge: str | None
    code_challenge_method: str | None
    user: UserConfig
    expires_at: float
    redeemed: bool = False
    # OpenID Connect Core §3.1.2.1: a nonce sent to /authorize comes back in the id_token.
    nonce: str | None = None


@dataclass
class DeviceAuthorization:
    device_code: str
    user_code: str
    client_id: str
    tenant_id: str | None  # None: requested at /common or /organizations
    scope: str
    expires_at: float
    interval: float
    last_poll: float
    status: str = "pending"  # pending, approved, declined, redeemed
    user: UserConfig | None = None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def pkce_matches(verifier: str, challenge: str, method: str | None) -> bool:
    if method == "S256":
        computed = _b64url(hashlib.sha256(verifier.encode("ascii", errors="replace")).digest())
    else:
        computed = verifier
    return hmac.compare_digest(computed.encode(), challenge.encode())


def _page(status: int, title: str, body: str, headers: dict[str, str] | None = None) -> Response:
    text = (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    all_headers = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store, no-cache"}
    all_headers.update(headers or {})
    return Response(status, text.encode("utf-8"), all_headers)


def _valid_redirect_uri(uri: str) -> bool:
    """Public clients may use http only on loopback (any port); anything else must be https."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return False
    if parts.fragment or not parts.hostname:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and parts.hostname.lower() in _LOOPBACK


class UserFlowService:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._lock = threading.Lock()
        self._codes: dict[str, AuthorizationCode] = {}
        self._devices: dict[str, DeviceAuthorization] = {}
        # Who signs in at /authorize when the request has no login_hint (a key of config.users or a username).
        self.default_user = "alice"
        self.code_lifetime = 600
        self.device_code_lifetime = 900
        self.device_code_interval = 5

    def routes(self) -> list[Route]:
        return [
            Route.of("authorize", "GET", rf"/{TENANT}/oauth2/v2\.0/authorize", self.authorize),
            Route.of("authorize", "POST", rf"/{TENANT}/oauth2/v2\.0/authorize", self.authorize),
            Route.of("devicecode", "POST", rf"/{TENANT}/oauth2/v2\.0/devicecode", self.devicecode),
            Route.of("devicelogin", "GET", r"/devicelogin", self.devicelogin_page),
            Route.of("devicelogin", "POST", r"/devicelogin", self.devicelogin),
        ]

    def grants(self) -> dict[str, GrantHandler]:
        return {
            "authorization_code": self.authorization_code_grant,
            DEVICE_CODE_GRANT: self.device_code_grant,
        }

    @property
    def verification_uri(self) -> str:
        return f"{self.rt.base_url}/devicelogin"

    # --- users ---------------------------------------------------------------------------------

    def find_user(self, name: str) -> UserConfig | None:
        users = self.rt.config.users
        if name in users:
            return users[name]
        return next((u for u in users.values() if u.username.lower() == name.lower()), None)

    def _user(self, name: str | None) -> UserConfig:
        chosen = name or self.default_user
        user = self.find_user(chosen)
        if user is None:
            raise ValueError(f"no emulator user {chosen!r}; users: {sorted(self.rt.config.users)}")
        return user

    def _tenant_name(self, tenant_id: str) -> str:
        return self.rt.config.tenants.get(tenant_id, tenant_id)

    # --- /authorize ------------------------------------------------------------------------------

    def authorize(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        query = dict(request.query)
        if request.method == "POST":
            query.update(request.form)
        try:
            tenant_id = resolve_tenant(self.rt, params["tenant"])
            client_id = query.get("client_id")
            if not client_id:
                raise errors.missing_parameter("client_id")
            app = self.rt.app_by_client_id(client_id)
            if app is None:
                raise errors.app_not_found(
                    client_id, self._tenant_name(tenant_id) if tenant_id else params["tenant"]
                )
            redirect_uri = query.get("redirect_uri") or ""
            if not _valid_redirect_uri(redirect_uri):
                raise EntraError(
                    400,
                    "invalid_request",
                    50011,
                    f"The redirect URI '{redirect_uri}' specified in the request does not match the "
                    f"redirect URIs configured for the application '{client_id}'.",
                )
            mode = query.get("response_mode") or "query"
            if mode not in ("query", "form_post"):
                raise EntraError(
                    400,
                    "invalid_request",
                    900144,  # chosen: the emulator supports these two modes
                    f"The response_mode '{mode}' is not supported; use 'query' or 'form_post'.",
                )
        except EntraError as err:
            return _page(400, "Sign in failed", f"<p>{html.escape(str(err))}</p>")
        state = query.get("state")
        try:
            code = self._issue_code(query, tenant_id, app.client_id, app.tenant_ids, redirect_uri)
        except EntraError as err:
            return self._redirect(
                redirect_uri, mode, {"error": err.error, "error_description": str(err), "state": state}
            )
        return self._redirect(redirect_uri, mode, {"code": code, "state": state})

    def _issue_code(
        self,
        query: dict[str, str],
        tenant_id: str | None,
        client_id: str,
        app_tenants: list[str],
        redirect_uri: str,
    ) -> str:
        if query.get("response_type") != "code":
            # chosen: AADSTS70005 (unsupported_response_type); Entra's wording varies by response type
            raise EntraError(
                400,
                "unsupported_response_type",
                70005,
                "The provided value for the input parameter 'response_type' is not allowed for this "
                "request. Expected value is 'code'.",
            )
        scope = query.get("scope")
        if not scope:
            raise errors.missing_parameter("scope")
        parse_scope(self.rt, scope)
        challenge = query.get("code_challenge") or None
        method = query.get("code_challenge_method") or ("plain" if challenge else None)
        if challenge and method not in ("S256", "plain"):
            raise EntraError(
                400,
                "invalid_request",
                501491,
                f"Invalid code_challenge_method '{method}'; expected 'S256' or 'plain'.",
            )
        hint = query.get("login_hint")
        user = self.find_user(hint or self.default_user)
        if user is None or (tenant_id is not None and user.tenant_id != tenant_id):
            where = self._tenant_name(tenant_id) if tenant_id else "the"
            raise EntraError(
                400,
                "invalid_request",
                50034,
                f"The user account {hint or self.default_user} does not exist in {where} directory. "
                "To sign into this application, the account must be added to the directory.",
            )
        if user.tenant_id not in app_tenants:
            raise errors.app_not_found(client_id, self._tenant_name(user.tenant_id))
        code = "1.AEMUcode" + secrets.token_urlsafe(48)
        with self._lock:
            self._codes[code] = AuthorizationCode(
                client_id,
                redirect_uri,
                challenge,
                method,
                user,
                self.rt.clock() + self.code_lifetime,
                nonce=query.get("nonce") or None,
            )
        return code

    def _redirect(self, redirect_uri: str, mode: str, fields: dict[str, str | None]) -> Response:
        values = {k: v for k, v in fields.items() if v is not None}
        if mode == "form_post":
            inputs = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}"/>'
                for k, v in values.items()
            )
            body = (
                f'<form method="POST" name="hiddenform" action="{html.escape(redirect_uri)}">{inputs}'
                "<noscript><p>Script is disabled. Click Submit to continue.</p>"
                '<input type="submit" value="Submit"/></noscript></form>'
                "<script>document.forms[0].submit()</script>"
            )
            return _page(200, "Working...", body)
        separator = "&" if "?" in redirect_uri else "?"
        return Response(
            302,
            b"",
            {
                "Location": f"{redirect_uri}{separator}{urlencode(values)}",
                "Cache-Control": "no-store, no-cache",
            },
        )

    # --- authorization_code grant ------------------------------------------------------------------

    def authorization_code_grant(self, tr: TokenRequest) -> Response:
        code = tr.param("code")
        app = tr.app()
        redirect_uri = tr.param("redirect_uri")
        with self._lock:
            grant = self._codes.get(code)
            if grant is None or grant.client_id != app.client_id:
                raise errors.invalid_grant_token()
            if grant.redeemed:
                raise EntraError(
                    400,
                    "invalid_grant",
                    54005,
                    "OAuth2 Authorization code was already redeemed, please retry with a new valid code "
                    "or use an existing refresh token.",
                )
            grant.redeemed = True  # single use, whatever happens next
        if grant.expires_at <= self.rt.clock():
            raise EntraError(
                400,
                "invalid_grant",
                70008,
                "The provided authorization code or refresh token has expired due to inactivity. Send a "
                "new interactive authorization request for this user and resource.",
            )
        if redirect_uri != grant.redirect_uri:
            raise EntraError(
                400,
                "invalid_grant",
                500112,
                f"The reply address '{redirect_uri}' does not match the reply address "
                f"'{grant.redirect_uri}' provided when requesting Authorization code.",
            )
        if grant.code_challenge:
            verifier = tr.param("code_verifier")
            if not pkce_matches(verifier, grant.code_challenge, grant.code_challenge_method):
                raise EntraError(
                    400,
                    "invalid_grant",
                    501481,
                    "The Code_Verifier does not match the code_challenge supplied in the authorization "
                    "request.",
                )
        user = grant.user
        if tr.tenant_id is not None and tr.tenant_id != user.tenant_id:
            raise errors.invalid_grant_token()
        auth = tr.authenticate(app, user.tenant_id)
        return tr.respond_for_user(
            app, user_identity(user), tr.resource(user.tenant_id), auth, nonce=grant.nonce
        )

    # --- device code -------------------------------------------------------------------------------

    def devicecode(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        rt = self.rt
        try:
            tenant_id = resolve_tenant(rt, params["tenant"])
            client_id = request.form.get("client_id")
            if not client_id:
                raise errors.missing_parameter("client_id")
            app = rt.app_by_client_id(client_id)
            if app is None:
                raise errors.app_not_found(
                    client_id, self._tenant_name(tenant_id) if tenant_id else params["tenant"]
                )
            scope = request.form.get("scope")
            if not scope:
                raise errors.missing_parameter("scope")
            parse_scope(rt, scope)
        except EntraError as err:
            return error_response(err, request, rt.base_url, rt.clock())
        now = rt.clock()
        user_code = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(9))
        device = DeviceAuthorization(
            device_code="DAQABAAEAAAEMU" + secrets.token_urlsafe(48),
            user_code=user_code,
            client_id=app.client_id,
            tenant_id=tenant_id,
            scope=scope,
            expires_at=now + self.device_code_lifetime,
            interval=self.device_code_interval,
            last_poll=now,
        )
        with self._lock:
            self._devices[device.device_code] = device
        return json_response(
            200,
            {
                "user_code": user_code,
                "device_code": device.device_code,
                "verification_uri": self.verification_uri,
                "expires_in": self.device_code_lifetime,
                "interval": self.device_code_interval,
                "message": f"To sign in, use a web browser to open the page {self.verification_uri} "
                f"and enter the code {user_code} to authenticate.",
            },
            {"Cache-Control": "no-store, no-cache"},
        )

    def device_code_grant(self, tr: TokenRequest) -> Response:
        device_code = tr.param("device_code")
        app = tr.app()
        now = self.rt.clock()
        with self._lock:
            device = self._devices.get(device_code)
            if device is None or device.client_id != app.client_id or device.status == "redeemed":
                raise errors.invalid_grant_token()
            if now >= device.expires_at:
                raise EntraError(
                    400,
                    "expired_token",
                    70020,
                    "The provided value for the input parameter 'device_code' is not valid. This device "
                    "code has expired.",
                )
            if device.status == "declined":
                # chosen: AADSTS65004, Entra's code for a user declining consent
                raise EntraError(
                    400, "authorization_declined", 65004, "User declined to consent to access the app."
                )
            if device.status == "pending":
                too_fast = now - device.last_poll < device.interval
                device.last_poll = now
                if too_fast:
                    device.interval += 5  # RFC 8628 §3.5: for this and all subsequent requests
                    raise EntraError(
                        400,
                        "slow_down",
                        70016,  # chosen: the device-flow code family
                        "OAuth 2.0 device flow error. The client is polling too frequently; wait at "
                        f"least {device.interval:g} seconds between requests.",
                    )
                raise EntraError(
                    400,
                    "authorization_pending",
                    70016,
                    "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                )
            device.status = "redeemed"
            user = device.user
        assert user is not None
        if tr.tenant_id is not None and tr.tenant_id != user.tenant_id:
            raise errors.invalid_grant_token()
        auth = tr.authenticate(app, user.tenant_id)
        resource = parse_scope(self.rt, tr.form.get("scope") or device.scope)
        return tr.respond_for_user(app, user_identity(user), resource, auth)

    def _pending(self, user_code: str) -> DeviceAuthorization:
        wanted = user_code.strip().upper()
        device = next((d for d in self._devices.values() if d.user_code == wanted), None)
        if device is None:
            raise ValueError(f"no device code with user code {user_code!r}")
        if self.rt.clock() >= device.expires_at:
            raise ValueError(f"the code {user_code!r} has expired")
        if device.status != "pending":
            raise ValueError(f"the code {user_code!r} was already {device.status}")
        return device

    def approve(self, user_code: str, username: str | None = None) -> None:
        """The user signs in at the verification page with ``user_code`` (default user: ``default_user``)."""
        user = self._user(username)
        with self._lock:
            device = self._pending(user_code)
            if device.tenant_id is not None and user.tenant_id != device.tenant_id:
                raise ValueError(f"user {user.username} is not in tenant {device.tenant_id}")
            device.status, device.user = "approved", user

    def decline(self, user_code: str) -> None:
        with self._lock:
            self._pending(user_code).status = "declined"

    def pending_user_codes(self) -> list[str]:
        now = self.rt.clock()
        with self._lock:
            return [
                d.user_code for d in self._devices.values() if d.status == "pending" and now < d.expires_at
            ]

    def devicelogin_page(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        form = (
            '<form method="POST" action="/devicelogin"><label>Code <input name="user_code"/></label>'
            '<label>User <input name="username"/></label>'
            '<button name="action" value="approve">Sign in</button>'
            '<button name="action" value="decline">Decline</button></form>'
        )
        return _page(200, "Enter code", form)

    def devicelogin(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        """The verification page's form: ``user_code``, ``username`` (optional), ``action``."""
        form = request.form
        action = form.get("action") or "approve"
        try:
            if action == "approve":
                self.approve(form.get("user_code", ""), form.get("username") or None)
                text = "You have signed in on your device. You may now close this window."
            elif action == "decline":
                self.decline(form.get("user_code", ""))
                text = "You declined to sign in. You may now close this window."
            else:
                raise ValueError(f"unknown action {action!r}; expected 'approve' or 'decline'")
        except ValueError as error:
            return _page(400, "Sign in failed", f"<p>{html.escape(str(error))}</p>")
        return _page(200, "Device sign-in", f"<p>{html.escape(text)}</p>")
