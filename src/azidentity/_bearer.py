"""get_bearer_token_provider: a zero-argument callable that returns a bearer token string.

azure-identity builds an azure-core ``BearerTokenCredentialPolicy`` and runs it against a fake
request on every call. This keeps the observable behaviour without the fake request: the
credential is asked through ``get_token_info`` when it has one (else ``get_token``), as that
policy does, and the token is kept until the policy would refresh it (its ``refresh_on`` has
passed, or less than 5 minutes remain), so a credential is called exactly as often as under
azure-identity, whether it is ours or a user's test double.
"""

from __future__ import annotations

import time

from ._lazy import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from typing import Any

    from azure.core.credentials import AccessToken, AccessTokenInfo, SupportsTokenInfo, TokenCredential
    from azure.core.credentials_async import AsyncSupportsTokenInfo, AsyncTokenCredential

# azure-core's policy refreshes a token this many seconds before it expires (when it has no refresh_on).
REFRESH_WINDOW = 300


def _fresh(token: AccessToken | AccessTokenInfo | None) -> bool:
    if token is None:
        return False
    now = time.time()
    refresh_on: int | None = getattr(token, "refresh_on", None)
    if refresh_on:
        return now < min(refresh_on, token.expires_on)
    return token.expires_on - now >= REFRESH_WINDOW


def _check(scopes: tuple[str, ...]) -> None:
    if not scopes:
        raise ValueError("get_bearer_token_provider requires at least one scope")


def get_bearer_token_provider(
    credential: TokenCredential | SupportsTokenInfo, *scopes: str
) -> Callable[[], str]:
    """Return a callable that yields a bearer token for ``scopes`` from ``credential``.

    :param credential: any credential with ``get_token_info`` or ``get_token``.
    :param scopes: the scopes the token is for (at least one).
    """
    _check(scopes)
    held: list[Any] = [None]

    def provider() -> str:
        if not _fresh(held[0]):
            if hasattr(credential, "get_token_info"):
                held[0] = credential.get_token_info(*scopes, options={})
            else:
                held[0] = credential.get_token(*scopes)
        return str(held[0].token)

    return provider


def get_async_bearer_token_provider(
    credential: AsyncTokenCredential | AsyncSupportsTokenInfo, *scopes: str
) -> Callable[[], Awaitable[str]]:
    """The async twin (``azidentity.aio.get_bearer_token_provider``): a coroutine function."""
    _check(scopes)
    held: list[Any] = [None]

    async def provider() -> str:
        if not _fresh(held[0]):
            if hasattr(credential, "get_token_info"):
                held[0] = await credential.get_token_info(*scopes, options={})
            else:
                held[0] = await credential.get_token(*scopes)
        return str(held[0].token)

    return provider
