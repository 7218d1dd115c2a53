"""The authorization code flow (RFC 6749 §4.1 with PKCE): the authorize URL, the redirect's
parameters, and the token requests that redeem a code or a refresh token.

Wire facts: ``GET {authority}/{tenant}/oauth2/v2.0/authorize?client_id&response_type=code&
redirect_uri&scope&state&code_challenge&code_challenge_method=S256&prompt&response_mode[&login_hint]
[&claims]``; the redirect carries ``code`` and ``state`` (or ``error``, ``error_description``);
``POST .../token`` with ``grant_type=authorization_code, code, redirect_uri, code_verifier``.
"""

from __future__ import annotations

from .._lazy import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

    from .._errors import AuthenticationFailedError
    from .._token import Token
    from .effects import HttpResponse

# Scopes a public client adds to every user sign-in: a refresh token (offline_access) and an
# id_token naming the account (openid profile), as MSAL does.
OIDC_SCOPES = ("offline_access", "openid", "profile")
# Entra's answers to a refresh token that mean "the user must sign in again" (expired, revoked, or
# now needing MFA or consent): the credential drops the token instead of failing outright.
REFRESH_REJECTED = frozenset({"invalid_grant", "interaction_required"})
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def user_scopes(scopes: Iterable[str]) -> list[str]:
    """The requested scopes plus the OpenID scopes, without duplicates, order kept."""
    result: list[str] = []
    for scope in (*scopes, *OIDC_SCOPES):
        if scope not in result:
            result.append(scope)
    return result


def quote(value: str) -> str:
    """Percent-encode everything but RFC 3986's unreserved characters."""
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in value.encode("utf-8"))


def query_string(params: Mapping[str, str]) -> str:
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in params.items())


def authorize_url(
    authority: str,
    tenant: str,
    client_id: str,
    scopes: Iterable[str],
    *,
    state: str,
    code_challenge: str,
    redirect_uri: str | None = None,
    prompt: str | None = "select_account",
    login_hint: str | None = None,
    claims: str | None = None,
    response_mode: str = "form_post",
) -> str:
    """The URL the browser opens. Without ``redirect_uri`` the caller appends it (the local
    server's port is known only once it listens): see :func:`with_redirect_uri`."""
    params = {
        "client_id": client_id,
        "response_type": "code",
        "scope": " ".join(scopes),
        "state": state,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
        "response_mode": response_mode,
    }
    if prompt:
        params["prompt"] = prompt
    if login_hint:
        params["login_hint"] = login_hint
    if claims:
        params["claims"] = claims
    url = f"{authority}/{tenant}/oauth2/v2.0/authorize?{query_string(params)}"
    return with_redirect_uri(url, redirect_uri) if redirect_uri else url


def with_redirect_uri(url: str, redirect_uri: str) -> str:
    return f"{url}&redirect_uri={quote(redirect_uri)}"


def code_from_redirect(params: Mapping[str, str], expected_state: str, *, credential: str) -> str:
    """The authorization code, or the error the redirect reports."""
    from .._errors import AuthenticationFailedError
    from .._mitigations import lookup

    if params.get("state") != expected_state:
        raise AuthenticationFailedError(
            "the redirect's state parameter doesn't match the sign-in in progress; the response was ignored",
            credential=credential,
            mitigation_key="interactive-state-mismatch",
        )
    error = params.get("error")
    if error:
        description = (params.get("error_description") or "").split("\r\n", 1)[0].split("\n", 1)[0]
        code = description.split(":", 1)[0] if description.startswith("AADSTS") else ""
        raise AuthenticationFailedError(
            f"the sign-in page answered {error}" + (f": {description}" if description else ""),
            credential=credential,
            mitigation_key=code if code and lookup(code) else "interactive-sign-in-failed",
        )
    code_value = params.get("code")
    if not code_value:
        raise AuthenticationFailedError(
            "the redirect carries neither an authorization code nor an error",
            credential=credential,
            mitigation_key="interactive-sign-in-failed",
        )
    return code_value


def auth_code_form(
    client_id: str,
    code: str,
    redirect_uri: str,
    scopes: Iterable[str],
    *,
    code_verifier: str | None = None,
    claims: str | None = None,
    client_secret: str | None = None,
) -> dict[str, str]:
    form = {
        "client_id": client_id,
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "scope": " ".join(scopes),
        "client_info": "1",
    }
    if code_verifier:
        form["code_verifier"] = code_verifier
    if claims:
        form["claims"] = claims
    if client_secret:
        form["client_secret"] = client_secret
    return form


def refresh_form(
    client_id: str,
    refresh_token: str,
    scopes: Iterable[str],
    *,
    claims: str | None = None,
    client_secret: str | None = None,
) -> dict[str, str]:
    form = {
        "client_id": client_id,
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "scope": " ".join(scopes),
        "client_info": "1",
    }
    if claims:
        form["claims"] = claims
    if client_secret:
        form["client_secret"] = client_secret
    return form


def parse_refresh_response(
    response: HttpResponse, *, credential: str, now: float
) -> tuple[Token, dict[str, Any]] | AuthenticationFailedError:
    """The redeemed token and its payload, or Entra's rejection of the refresh token
    (:data:`REFRESH_REJECTED`) returned, not raised; any other error raises."""
    from .._errors import AuthenticationFailedError
    from .entra import parse_token_response

    try:
        return parse_token_response(response, credential=credential, now=now)
    except AuthenticationFailedError as error:
        if error.oauth_error not in REFRESH_REJECTED:
            raise
        return error
