"""Reading an access token's claims for display (no signature check: this is diagnostics, not auth)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

# Claims shown by `token` and `doctor`; none of them is a secret.
SHOWN = (
    "aud",
    "tid",
    "oid",
    "appid",
    "azp",
    "upn",
    "unique_name",
    "preferred_username",
    "idtyp",
    "iss",
    "exp",
)


def decode(token: str) -> dict[str, Any] | None:
    """The JWT payload's claims, or None when the token is not a readable JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, UnicodeError):
        return None
    return claims if isinstance(claims, dict) else None


def identity(claims: dict[str, Any] | None) -> dict[str, Any]:
    """Who the token identifies, from the claims that say so."""
    if not claims:
        return {}
    shown = {k: claims[k] for k in SHOWN if k in claims and isinstance(claims[k], (str, int, float))}
    user = claims.get("upn") or claims.get("preferred_username") or claims.get("unique_name")
    kind = claims.get("idtyp")
    if not isinstance(kind, str):
        kind = "user" if user else "app"
    result: dict[str, Any] = {"kind": kind}
    if user:
        result["user"] = user
    for name in ("appid", "azp", "oid", "tid", "aud", "exp"):
        if name in shown:
            result[name] = shown[name]
    if "appid" not in result and "azp" in result:
        result["appid"] = result.pop("azp")
    result.pop("azp", None)
    return result


def describe(who: dict[str, Any]) -> str:
    """One line: ``user alice@contoso.com (object id ..., tenant ...)`` or ``app <appid> (...)``."""
    if not who:
        return "unknown (the token is not a JWT)"
    head = f"user {who['user']}" if who.get("user") else f"{who.get('kind', 'app')} {who.get('appid', '?')}"
    details = []
    if who.get("oid"):
        details.append(f"object id {who['oid']}")
    if who.get("tid"):
        details.append(f"tenant {who['tid']}")
    return head + (f" ({', '.join(details)})" if details else "")


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def relative(epoch: float, now: float | None = None) -> str:
    seconds = int(epoch - (time.time() if now is None else now))
    if seconds < 0:
        return "expired"
    if seconds < 120:
        return f"in {seconds} s"
    if seconds < 7200:
        return f"in {seconds // 60} min"
    return f"in {seconds // 3600} h {seconds % 3600 // 60} min"
