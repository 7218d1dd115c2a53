"""DeviceCodeCredential: the user signs in on another device with a code (RFC 8628).

The credential asks Entra ID for a device code, shows the user where to enter it
(``prompt_callback``, or the server's message on stdout), then polls the token endpoint at the
server's interval until the user signs in, declines, the code expires, or ``timeout`` passes.
Waiting is done by yielding :class:`Sleep`, so the async credential never blocks its loop and
tests inject ``_sleep``.
"""

from __future__ import annotations

from .._constants import DEVELOPER_SIGN_ON_CLIENT_ID
from .._credential import TokenRequest
from .._lazy import TYPE_CHECKING
from .._protocol import authorize, device_code, entra
from .._protocol.effects import Flow, Sleep
from .interactive import UserCredential, _AsyncUserCredential, _SyncUserCredential

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime
    from typing import Any

    from .._token import Token


class _DeviceCode(UserCredential):
    def __init__(
        self,
        client_id: str = DEVELOPER_SIGN_ON_CLIENT_ID,
        *,
        timeout: float | None = None,
        prompt_callback: Callable[[str, str, datetime], None] | None = None,
        **kwargs: Any,
    ) -> None:
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0
        ):
            raise ValueError(f"timeout must be a positive number of seconds or None, got {timeout!r}")
        if prompt_callback is not None and not callable(prompt_callback):
            raise TypeError(
                "prompt_callback must be a callable (verification_uri, user_code, expires_on) -> None"
            )
        self._timeout = timeout
        self._prompt_callback = prompt_callback
        self._init_user(kwargs, client_id)

    def _prompt(self, code: device_code.DeviceCode) -> None:
        if self._prompt_callback is None:
            print(code.message, flush=True)
            return
        from datetime import datetime, timezone

        from .._errors import AuthenticationFailedError

        try:
            outcome = self._prompt_callback(
                code.verification_uri, code.user_code, datetime.fromtimestamp(code.expires_on, timezone.utc)
            )
        except Exception as error:
            raise AuthenticationFailedError(
                f"prompt_callback raised {type(error).__name__}: {error}", credential=self._name
            ) from error
        if hasattr(outcome, "__await__"):
            close = getattr(outcome, "close", None)
            if close is not None:
                close()  # never awaited: close it rather than leave a "never awaited" warning
            raise TypeError(
                "prompt_callback must be a plain function (verification_uri, user_code, expires_on) -> None, "
                "not a coroutine function: the user would never see the prompt"
            )

    def _sign_in(self, request: TokenRequest, tenant: str) -> Flow[tuple[Token, dict[str, Any]]]:
        from .._errors import AuthenticationFailedError

        scopes = authorize.user_scopes(request.scopes)
        response = yield device_code.device_code_request(
            self._authority, entra.url_segment(tenant), self._client_id, scopes
        )
        start = self._now()
        code = device_code.parse_device_code_response(response, credential=self._name, now=start)
        self._prompt(code)
        deadline, by_timeout = code.expires_on, False
        if self._timeout is not None and start + self._timeout < deadline:
            deadline, by_timeout = start + self._timeout, True
        interval = code.interval
        form = device_code.poll_form(
            self._client_id, code.device_code, scopes, entra.merge_claims(request.claims, request.enable_cae)
        )
        url = self._token_url(tenant)
        while True:
            remaining = deadline - self._now()
            if remaining <= 0:
                if by_timeout:
                    raise AuthenticationFailedError(
                        f"Timed out after waiting {self._timeout} seconds for the user to authenticate",
                        credential=self._name,
                        mitigation_key="interactive-timeout",
                    )
                raise AuthenticationFailedError(
                    "the device code expired before the user signed in",
                    credential=self._name,
                    mitigation_key="device-code-expired",
                )
            yield Sleep(min(interval, remaining))
            response = yield entra.token_request(url, form)
            error = device_code.poll_error(response)
            if error == device_code.PENDING:
                continue
            if error == device_code.SLOW_DOWN:
                interval += device_code.SLOW_DOWN_STEP
                continue
            if error in (device_code.EXPIRED, device_code.DECLINED):
                expired = error == device_code.EXPIRED
                raise AuthenticationFailedError(
                    "the device code expired before the user signed in"
                    if expired
                    else "the user declined to sign in",
                    credential=self._name,
                    http_response=response,
                    mitigation_key="device-code-expired" if expired else "device-code-declined",
                )
            return entra.parse_token_response(response, credential=self._name, now=self._now())


class DeviceCodeCredential(_DeviceCode, _SyncUserCredential):
    """Signs a user in with a code they enter in a browser on any device (the device code flow).

    Suits machines without a browser (SSH sessions, containers). The credential shows where to
    sign in and which code to enter, then waits.

    :param str client_id: the application users sign in to; default: the Azure development
        application (register your own for production).
    :keyword float timeout: seconds to wait for the user; default: until the code expires
        (15 minutes at Entra ID).
    :keyword prompt_callback: called with ``(verification_uri, user_code, expires_on)``
        (``expires_on``: a UTC datetime) to show the user the instructions; default: print the
        server's message to stdout.
    :keyword str tenant_id: default "organizations"; with ``authentication_record``, the record's.
    :keyword str authority: the Entra ID host, e.g. "login.microsoftonline.com" (the default).
    :keyword AuthenticationRecord authentication_record: the account to use, from ``authenticate()``.
    :keyword bool disable_automatic_authentication: raise :class:`AuthenticationRequiredError`
        instead of prompting when the user must sign in. Default False.
    :keyword cache_persistence_options: keep tokens in the persistent cache so later processes
        need no sign-in. :class:`TokenCachePersistenceOptions`.
    :keyword list[str] additionally_allowed_tenants: tenants besides ``tenant_id`` that
        ``get_token`` may request; "*" allows any.
    """


class AsyncDeviceCodeCredential(_DeviceCode, _AsyncUserCredential):
    __doc__ = DeviceCodeCredential.__doc__
