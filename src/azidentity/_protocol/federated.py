"""Federated assertions (Kubernetes service-account tokens, Azure Pipelines OIDC tokens).

When Entra ID finds no federated identity credential matching an assertion, the user needs the
assertion's issuer, subject and audience to compare with the app registration. Those claims are not
secret; the assertion itself is, so only they are ever shown.
"""

from __future__ import annotations

import base64
from typing import Any

# AADSTS70021: no matching federated identity record; 700211: issuer; 700212: audience;
# 700213: subject.
MISMATCH_CODES = frozenset({"AADSTS70021", "AADSTS700211", "AADSTS700212", "AADSTS700213"})


def unverified_claims(assertion: str) -> dict[str, Any]:
    """The JWT's payload, not verified (Entra ID verifies it; we only describe it). ``{}`` if unreadable."""
    parts = assertion.strip().split(".")
    if len(parts) != 3:
        return {}
    from .effects import parse_json

    try:
        payload = parse_json(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def describe(assertion: str, source: str) -> str:
    """``The assertion from <source> has issuer '...', subject '...', audience '...'``."""
    claims = unverified_claims(assertion)
    if not claims:
        return f"The assertion from {source} is not a readable JWT."
    aud = claims.get("aud")
    audience = ", ".join(str(a) for a in aud) if isinstance(aud, list) else str(aud)
    return (
        f"The assertion from {source} has issuer (iss) '{claims.get('iss')}', subject (sub) "
        f"'{claims.get('sub')}', audience (aud) '{audience}'; the federated identity credential must match "
        "all three exactly."
    )
