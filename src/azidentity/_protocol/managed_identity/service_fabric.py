"""Service Fabric's own rules: a pinned server certificate, no identity selection."""

from __future__ import annotations

import re


def normalize_thumbprint(value: str) -> str | None:
    """``IDENTITY_SERVER_THUMBPRINT`` as 40 lower-case hex digits, or None if it is not a SHA-1 thumbprint."""
    cleaned = re.sub(r"[\s:]", "", value).lower()
    return cleaned if re.fullmatch(r"[0-9a-f]{40}", cleaned) else None


SERVICE_FABRIC_IDENTITY = (
    "Specifying a client_id or identity_config is not supported by the Service Fabric managed identity "
    "environment. The managed identity configuration is determined by the Service Fabric cluster "
    "resource configuration. See https://aka.ms/servicefabricmi for more information."
)
