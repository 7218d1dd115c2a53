"""IMDS's own behaviour: the chain's quick probe, and answers that cannot come from IMDS."""

from __future__ import annotations

from ..effects import HttpRequest, HttpResponse
from .sources import API_VERSIONS, IMDS


def probe_request(endpoint: str, resource: str, timeout: float) -> HttpRequest:
    """The chain probe: the IMDS token URL without the Metadata header, one short attempt."""
    return HttpRequest(
        "GET",
        endpoint,
        params={"api-version": API_VERSIONS[IMDS], "resource": resource},
        retry_total=0,
        connection_timeout=timeout,
        read_timeout=timeout,
        bypass_proxy=True,
    )


def not_imds_reason(response: HttpResponse, *, probe: bool = False) -> str | None:
    """Why this answer cannot come from IMDS (which always answers JSON), or None if it may.

    The probe is lenient (only Docker Desktop's 403 and HTML pages disqualify): AKS pod identity's
    NMI answers for IMDS in plain text at times; the token request judges the rest.
    """
    body = response.body.strip()
    content_type = str(response.headers.get("content-type", "")).lower()
    if response.status == 403 and b"unreachable" in body.lower():
        return "a 403 response saying the network is unreachable (Docker Desktop's proxy answers this way)"
    if "html" in content_type or body[:1] == b"<":
        return "an HTML page (typically a proxy or gateway)"
    if body and not probe:
        try:
            response.json()
        except ValueError:
            return "a body that is not JSON"
    return None
