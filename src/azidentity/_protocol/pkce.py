"""Proof Key for Code Exchange (RFC 7636, S256) and the ``state`` of an authorization request."""

from __future__ import annotations

import base64
import hashlib
import secrets


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def new_verifier() -> str:
    """A code verifier: 43 characters from 32 random bytes (the RFC's recommended size)."""
    return _b64url(secrets.token_bytes(32))


def challenge(verifier: str) -> str:
    """The S256 code challenge of ``verifier``: base64url(SHA-256(ASCII(verifier))), unpadded."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def new_state() -> str:
    """An unguessable ``state`` that ties the redirect to this sign-in (CSRF protection)."""
    return _b64url(secrets.token_bytes(16))
