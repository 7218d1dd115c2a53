"""Who signed in: the account named by a token response's ``client_info`` and ``id_token``.

``client_info`` (sent when the request has ``client_info=1``) is base64url JSON ``{"uid", "utid"}``:
the user's object id and home tenant; the account's home account id is ``uid.utid``. The
``id_token`` (requested with the ``openid profile`` scopes) names the user (``preferred_username``,
ADFS: ``upn``), the tenant (``tid``), the application (``aud``) and the issuer, whose host is the
authority the record keeps. The id_token comes straight from the token endpoint over TLS, so it is
read, not verified (OpenID Connect Core §3.1.3.7 allows this for the code flow).
"""

from __future__ import annotations

import base64

from .._lazy import TYPE_CHECKING
from .effects import parse_json

if TYPE_CHECKING:
    from typing import Any


class Account:
    """An account: what an AuthenticationRecord holds, and the key of its refresh token."""

    __slots__ = ("home_account_id", "username", "tenant_id", "authority", "client_id")

    def __init__(
        self, home_account_id: str, username: str, tenant_id: str, authority: str, client_id: str
    ) -> None:
        self.home_account_id = home_account_id
        self.username = username
        self.tenant_id = tenant_id
        self.authority = authority  # a host, e.g. "login.microsoftonline.com"
        self.client_id = client_id

    @property
    def key(self) -> str:
        """The key of the account's refresh token: one per account, authority and application."""
        return f"{self.home_account_id}-{self.authority}-{self.client_id}".lower()

    def to_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_dict(cls, data: Any) -> Account | None:
        if not isinstance(data, dict) or not all(isinstance(data.get(n), str) for n in cls.__slots__):
            return None
        return cls(*(data[n] for n in cls.__slots__))

    def __repr__(self) -> str:
        return f"Account(username={self.username!r}, home_account_id={self.home_account_id!r})"


def _b64url_json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    return parse_json(base64.urlsafe_b64decode(padded.encode("ascii")))


def decode_client_info(raw: Any) -> tuple[str, str] | None:
    """``(uid, utid)`` from a client_info value, or None when it is absent or malformed."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        info = _b64url_json(raw)
    except (ValueError, UnicodeError):
        return None
    if isinstance(info, dict) and isinstance(info.get("uid"), str) and isinstance(info.get("utid"), str):
        return info["uid"], info["utid"]
    return None


def id_token_claims(raw: Any) -> dict[str, Any] | None:
    """The claims of an id_token (a JWT), or None when it is absent or malformed."""
    if not isinstance(raw, str) or raw.count(".") != 2:
        return None
    try:
        claims = _b64url_json(raw.split(".")[1])
    except (ValueError, UnicodeError):
        return None
    return claims if isinstance(claims, dict) else None


def _host(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0].lower()


def account_from_response(payload: dict[str, Any], *, authority: str, client_id: str) -> Account | None:
    """The account a token response is for, or None when the response doesn't say.

    ``authority`` (the configured authority URL) and ``client_id`` fill in what the id_token
    does not state.
    """
    client_info = decode_client_info(payload.get("client_info"))
    claims = id_token_claims(payload.get("id_token")) or {}
    issuer = claims.get("iss") if isinstance(claims.get("iss"), str) else ""
    if client_info is not None:
        home_account_id = f"{client_info[0]}.{client_info[1]}"
    elif isinstance(claims.get("sub"), str) and claims["sub"]:
        home_account_id = claims["sub"]  # as MSAL does when the STS sends no client_info
    else:
        return None
    tenant_id = claims.get("tid")
    if not isinstance(tenant_id, str) or not tenant_id:
        path = issuer.split("://", 1)[-1].split("/")[1:] if issuer else []
        tenant_id = path[0] if path and path[0] else (client_info[1] if client_info else "")
    username = claims.get("preferred_username") or claims.get("upn") or ""
    audience = claims.get("aud")
    return Account(
        home_account_id=home_account_id,
        username=str(username),
        tenant_id=str(tenant_id),
        authority=_host(issuer) if issuer else _host(authority),
        client_id=audience if isinstance(audience, str) and audience else client_id,
    )
