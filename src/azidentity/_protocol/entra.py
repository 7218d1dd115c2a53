"""Microsoft Entra ID's v2.0 token endpoint: request builders and the response parser.

Wire facts: ``POST {authority}/{tenant}/oauth2/v2.0/token``, form-encoded. Errors come back
as ``{"error", "error_description": "AADSTS<code>: ...", "error_codes": [...], "trace_id",
"correlation_id", "timestamp"}``; the parser turns them into :class:`AuthenticationFailedError`
with the mitigation of the code.
"""

from __future__ import annotations

import sys

from .._lazy import TYPE_CHECKING
from .._token import Token, make_token
from .._version import __version__
from .effects import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
OBO_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# No real token lives longer than a day or two; anything beyond a year is a broken response.
MAX_LIFETIME = 365 * 24 * 3600
_SKU_HEADERS = {
    "Accept": "application/json",
    "x-client-sku": "azidentity.Python",
    "x-client-ver": __version__,
    "x-client-os": sys.platform,
    "return-client-request-id": "true",
}


# RFC 3986 "pchar": what a path segment may hold as is. A tenant has no '%' (refused), so escaping the
# rest (non-ASCII, '"', '<', '|', ...) can't be mistaken for an escape the caller meant.
_PCHAR = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@")


def url_segment(tenant: str) -> str:
    """``tenant`` as a URL path segment: the same every transport sends (http.client sends bytes as
    given; requests and aiohttp escape them), ASCII only."""
    if all(ord(c) < 128 and ord(c) in _PCHAR for c in tenant):
        return tenant
    return "".join(chr(b) if b in _PCHAR else f"%{b:02X}" for b in tenant.encode("utf-8"))


def token_url(authority: str, tenant: str) -> str:
    return f"{authority}/{url_segment(tenant)}/oauth2/v2.0/token"


def merge_claims(claims: str | None, enable_cae: bool) -> str | None:
    """Add the CP1 client capability to a claims challenge when CAE is enabled.

    ``{"access_token": {"nbf": {...}}}`` + CAE ->
    ``{"access_token": {"nbf": {...}, "xms_cc": {"values": ["CP1"]}}}``
    """
    if not enable_cae:
        return claims
    import json

    from .effects import parse_json

    try:
        merged: dict[str, Any] = parse_json(claims) if claims else {}
    except ValueError as error:
        raise ValueError(f"claims must be a JSON object (a claims challenge), got {claims!r}") from error
    if not isinstance(merged, dict):
        raise ValueError(f"claims must be a JSON object (a claims challenge), got {claims!r}")
    access = merged.setdefault("access_token", {})
    if isinstance(access, dict):
        access["xms_cc"] = {"values": ["CP1"]}
    return json.dumps(merged, separators=(",", ":"))


def token_request(url: str, form: Mapping[str, str], correlation_id: str | None = None) -> HttpRequest:
    import uuid

    headers = dict(_SKU_HEADERS)
    headers["client-request-id"] = correlation_id or str(uuid.uuid4())
    return HttpRequest("POST", url, headers=headers, form=dict(form))


def scope_form(scopes: Iterable[str], claims: str | None, **fields: str) -> dict[str, str]:
    form = dict(fields)
    form["scope"] = " ".join(scopes)
    if claims:
        form["claims"] = claims
    return form


def secret_auth(client_id: str, secret: str) -> dict[str, str]:
    return {"client_id": client_id, "client_secret": secret}


def assertion_auth(client_id: str, assertion: str) -> dict[str, str]:
    return {"client_id": client_id, "client_assertion": assertion, "client_assertion_type": ASSERTION_TYPE}


def parse_token_response(
    response: HttpResponse, *, credential: str, now: float, mitigation_key: str | None = None
) -> tuple[Token, dict[str, Any]]:
    """The token (and the whole payload, for refresh tokens and ids) or a well-formed error."""
    from .._errors import AuthenticationFailedError

    try:
        payload = response.json()
    except ValueError:
        payload = None
    if response.status == 200 and isinstance(payload, dict):
        access_token = payload.get("access_token")
        try:
            expires_in = _number(payload.get("expires_in"))
        except ValueError:
            raise AuthenticationFailedError(
                "the response's expires_in is not a number of seconds",
                credential=credential,
                http_response=response,
                mitigation_key="entra-unexpected",
            ) from None
        if (
            expires_in is not None and not 1 <= expires_in <= MAX_LIFETIME
        ):  # under a second: expired on arrival
            raise AuthenticationFailedError(
                f"the response's expires_in ({expires_in:g}) is not a usable token lifetime",
                credential=credential,
                http_response=response,
                mitigation_key="entra-unexpected",
            )
        if isinstance(access_token, str) and access_token and expires_in is not None:
            refresh_in = None
            try:
                refresh_in = _number(payload.get("refresh_in"))
            except ValueError:
                pass
            token_type = payload.get("token_type") if isinstance(payload.get("token_type"), str) else "Bearer"
            return make_token(access_token, int(now + expires_in), now, refresh_in, str(token_type)), payload
        raise AuthenticationFailedError(
            "the response has no access_token or expires_in",
            credential=credential,
            http_response=response,
            mitigation_key="entra-unexpected",
        )
    if isinstance(payload, dict) and isinstance(payload.get("error"), str):
        detail = ""
        description = payload.get("error_description")
        if isinstance(description, str):
            detail = description.split("\r\n", 1)[0].split("\n", 1)[0][:1000]
        raise AuthenticationFailedError(
            detail, credential=credential, http_response=response, mitigation_key=mitigation_key
        )
    detail = "unexpected response from Microsoft Entra ID"
    if response.truncated:
        detail += f" (its body is larger than {len(response.body)} bytes: no token response is)"
    raise AuthenticationFailedError(
        detail,
        credential=credential,
        http_response=response,
        mitigation_key="entra-unexpected",
    )


def _number(value: Any) -> float | None:
    """Entra sends integers; some endpoints send them as strings."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("boolean")
    try:
        if isinstance(value, (int, float)):
            number = float(value)
        elif isinstance(value, str) and value.strip():
            number = float(value.strip())
        else:
            raise ValueError(f"not a number: {value!r}")
    except OverflowError:  # an integer too large for a float
        raise ValueError("not finite") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("not finite")
    return number
