"""The device authorization grant (RFC 8628) against Entra ID.

Wire facts: ``POST {authority}/{tenant}/oauth2/v2.0/devicecode`` (``client_id``, ``scope``) answers
``device_code, user_code, verification_uri, expires_in, interval, message``; the client then polls
``POST .../token`` with ``grant_type=urn:ietf:params:oauth:grant-type:device_code``, ``device_code``
and ``client_id`` every ``interval`` seconds. A poll answers a token, or 400 with ``error`` one of
``authorization_pending`` (keep polling), ``slow_down`` (add 5 s to the interval, for good),
``expired_token``, ``authorization_declined``, or another OAuth error.
"""

from __future__ import annotations

from .._lazy import TYPE_CHECKING
from .effects import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from collections.abc import Iterable

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5
SLOW_DOWN_STEP = 5
# Polls keep going on these; everything else ends the flow.
PENDING = "authorization_pending"
SLOW_DOWN = "slow_down"
EXPIRED = "expired_token"
DECLINED = "authorization_declined"


def device_code_url(authority: str, tenant: str) -> str:
    return f"{authority}/{tenant}/oauth2/v2.0/devicecode"


def device_code_request(authority: str, tenant: str, client_id: str, scopes: Iterable[str]) -> HttpRequest:
    """Begin the flow (a claims challenge, if any, goes with the polls, as MSAL sends it)."""
    from .entra import token_request

    return token_request(
        device_code_url(authority, tenant), {"client_id": client_id, "scope": " ".join(scopes)}
    )


class DeviceCode:
    """What the device authorization endpoint answered (``device_code`` is a secret: not in repr)."""

    __slots__ = ("device_code", "user_code", "verification_uri", "expires_on", "interval", "message")

    def __init__(
        self,
        device_code: str,
        user_code: str,
        verification_uri: str,
        expires_on: float,
        interval: float,
        message: str,
    ) -> None:
        self.device_code = device_code
        self.user_code = user_code
        self.verification_uri = verification_uri
        self.expires_on = expires_on
        self.interval = interval
        self.message = message

    def __repr__(self) -> str:
        return (
            f"DeviceCode(user_code={self.user_code!r}, verification_uri={self.verification_uri!r}, "
            f"expires_on={self.expires_on}, interval={self.interval})"
        )


def parse_device_code_response(response: HttpResponse, *, credential: str, now: float) -> DeviceCode:
    from .._errors import AuthenticationFailedError
    from .entra import _number

    try:
        payload = response.json()
    except ValueError:
        payload = None
    if response.status == 200 and isinstance(payload, dict):
        fields = {name: payload.get(name) for name in ("device_code", "user_code", "verification_uri")}
        missing = [name for name, value in fields.items() if not isinstance(value, str) or not value]
        try:
            expires_in = _number(payload.get("expires_in"))
            interval = _number(payload.get("interval"))
        except ValueError:
            missing.append("expires_in/interval")
            expires_in = interval = None
        if expires_in is None or expires_in <= 0:
            missing.append("expires_in")
        if not missing and expires_in is not None:
            message = payload.get("message")
            if not isinstance(message, str) or not message:
                message = (
                    f"To sign in, use a web browser to open the page {fields['verification_uri']} and enter "
                    f"the code {fields['user_code']} to authenticate."
                )
            return DeviceCode(
                str(fields["device_code"]),
                str(fields["user_code"]),
                str(fields["verification_uri"]),
                now + expires_in,
                interval if interval is not None and interval > 0 else DEFAULT_INTERVAL,
                message,
            )
        raise AuthenticationFailedError(
            "Couldn't begin authentication: the device code response lacks "
            f"{', '.join(dict.fromkeys(missing))}",
            credential=credential,
            http_response=response,
            mitigation_key="entra-unexpected",
        )
    detail = "unexpected response from Microsoft Entra ID"
    if isinstance(payload, dict) and isinstance(payload.get("error"), str):
        description = payload.get("error_description")
        detail = (
            description.split("\r\n", 1)[0].split("\n", 1)[0]
            if isinstance(description, str)
            else payload["error"]
        )
    raise AuthenticationFailedError(
        f"Couldn't begin authentication: {detail}",
        credential=credential,
        http_response=response,
        mitigation_key=None if isinstance(payload, dict) and payload.get("error") else "entra-unexpected",
    )


def poll_form(
    client_id: str, device_code: str, scopes: Iterable[str], claims: str | None = None
) -> dict[str, str]:
    form = {
        "grant_type": GRANT_TYPE,
        "client_id": client_id,
        "device_code": device_code,
        "scope": " ".join(scopes),
        "client_info": "1",
    }
    if claims:
        form["claims"] = claims
    return form


def poll_error(response: HttpResponse) -> str | None:
    """The OAuth ``error`` of a poll that did not return a token (None for a success or a non-OAuth
    answer)."""
    if response.status == 200:
        return None
    try:
        payload = response.json()
    except ValueError:
        return None
    error = payload.get("error") if isinstance(payload, dict) else None
    return error if isinstance(error, str) else None
