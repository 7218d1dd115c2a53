"""The token value flows return, and the refresh-point rule shared by every parser."""

from __future__ import annotations

# Tokens living at least this long get a refresh point at half their lifetime, as Entra ID and
# the managed identity endpoints recommend (their refresh_in is lifetime/2).
LONG_LIVED = 7200


class Token:
    __slots__ = ("token", "expires_on", "refresh_on", "token_type")

    def __init__(
        self, token: str, expires_on: int, refresh_on: int | None = None, token_type: str = "Bearer"
    ) -> None:
        self.token = token
        self.expires_on = expires_on
        self.refresh_on = refresh_on
        self.token_type = token_type

    def __repr__(self) -> str:
        return f"Token(expires_on={self.expires_on}, refresh_on={self.refresh_on})"


def make_token(
    access_token: str,
    expires_on: int,
    now: float,
    refresh_in: float | None = None,
    token_type: str = "Bearer",
) -> Token:
    """A token with its refresh point: ``refresh_in`` if the server sent one, else half of a long life."""
    refresh_on: int | None = None
    if refresh_in is not None and refresh_in > 0:
        refresh_on = int(now + refresh_in)
    elif expires_on - now >= LONG_LIVED:
        refresh_on = int(now + (expires_on - now) / 2)
    if refresh_on is not None and refresh_on >= expires_on:
        refresh_on = None
    return Token(access_token, int(expires_on), refresh_on, token_type or "Bearer")
