"""get_bearer_token_provider: a zero-argument callable that returns a bearer token string.

Unlike azure-identity (which runs a throwaway azure-core policy against a fake request on
every call), this calls the credential directly: every azidentity credential already caches
and refreshes its tokens.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any


def get_bearer_token_provider(credential: Any, *scopes: str) -> Callable[[], str]:
    """Return a callable that yields a bearer token for ``scopes`` from ``credential``."""
    if not scopes:
        raise ValueError("get_bearer_token_provider requires at least one scope")

    def provider() -> str:
        return str(credential.get_token(*scopes).token)

    return provider


def get_async_bearer_token_provider(credential: Any, *scopes: str) -> Callable[[], Awaitable[str]]:
    """Async twin: a coroutine function returning a bearer token (``azidentity.aio.get_bearer_token_provider``)."""
    if not scopes:
        raise ValueError("get_bearer_token_provider requires at least one scope")

    async def provider() -> str:
        return str((await credential.get_token(*scopes)).token)

    return provider
