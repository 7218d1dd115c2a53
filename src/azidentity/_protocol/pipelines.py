"""Azure Pipelines' OIDC endpoint: the request for a service connection's ID token, and its answer.

Wire facts: ``POST {SYSTEM_OIDCREQUESTURI}?api-version=7.1&serviceConnectionId=<id>`` with
``Authorization: Bearer <System.AccessToken>``, ``X-TFS-FedAuthRedirect: Suppress`` (a 401 instead
of a redirect to a sign-in page) and ``Content-Type: application/json``, no body. The answer is
``{"oidcToken": "<JWT>"}``; failures carry ``x-vss-e2eid`` and ``x-msedge-ref`` headers that Azure
DevOps support asks for.
"""

from __future__ import annotations

from typing import Any

from .effects import HttpRequest, HttpResponse

API_VERSION = "7.1"
REQUEST_URI_VARIABLE = "SYSTEM_OIDCREQUESTURI"
DIAGNOSTIC_HEADERS = ("x-vss-e2eid", "x-msedge-ref")
NO_SERVICE_CONNECTION = "No service connection found with identifier"


def oidc_request(request_uri: str, service_connection_id: str, system_access_token: str) -> HttpRequest:
    return HttpRequest(
        "POST",
        request_uri.rstrip("/"),
        headers={
            "Authorization": f"Bearer {system_access_token}",
            "X-TFS-FedAuthRedirect": "Suppress",
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
        params={"api-version": API_VERSION, "serviceConnectionId": service_connection_id},
    )


def diagnostic_headers(response: HttpResponse) -> str:
    return "".join(
        f"\n{name}: {response.headers.get(name)}" for name in DIAGNOSTIC_HEADERS if response.headers.get(name)
    )


def parse_oidc_response(response: HttpResponse, *, credential: str) -> str:
    """The OIDC token, or an error naming the likely cause and Azure DevOps' diagnostic headers."""
    from .._errors import AuthenticationFailedError

    if response.status == 200:
        try:
            payload: Any = response.json()
        except ValueError:
            payload = None
        token = payload.get("oidcToken") if isinstance(payload, dict) else None
        if isinstance(token, str) and token:
            return token
        raise AuthenticationFailedError(
            "OIDC token not found in the OIDC endpoint's response" + diagnostic_headers(response),
            credential=credential,
            http_response=response,
            mitigation_key="pipelines-oidc-failed",
        )
    reason = f" ({response.reason})" if response.reason else ""
    detail = (
        f"{response.status}{reason} response from the OIDC endpoint. Check the service connection ID and the "
        "pipeline configuration."
    )
    if response.status == 401:
        key = "pipelines-unauthorized"
    elif NO_SERVICE_CONNECTION.lower() in response.text().lower():
        key = "pipelines-service-connection"
        detail = f"{NO_SERVICE_CONNECTION} {_quoted_id(response)}: " + detail
    else:
        key = "pipelines-oidc-failed"
    raise AuthenticationFailedError(
        detail + diagnostic_headers(response),
        credential=credential,
        http_response=response,
        mitigation_key=key,
    )


def _quoted_id(response: HttpResponse) -> str:
    text = response.text()
    start = text.lower().find(NO_SERVICE_CONNECTION.lower()) + len(NO_SERVICE_CONNECTION)
    rest = text[start:].strip().split()
    return rest[0].strip("'\".,") if rest else ""
