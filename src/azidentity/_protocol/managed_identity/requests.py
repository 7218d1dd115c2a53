"""The token request each host expects."""

from __future__ import annotations

from dataclasses import dataclass

from ..effects import HttpRequest
from .identity import Identity
from .sources import (
    API_VERSIONS,
    APP_SERVICE,
    ARC,
    AZURE_ML,
    CLOUD_SHELL,
    IDENTITY_PARAMETERS,
    IMDS,
    SERVICE_FABRIC,
    Source,
)

SCOPE_SUFFIX = "/.default"


ONE_SCOPE = "This credential requires exactly one scope per token request."


def resource_for(scopes: tuple[str, ...]) -> str:
    """The resource a managed identity endpoint wants: the one scope without ``/.default``."""
    if len(scopes) != 1:
        raise ValueError(ONE_SCOPE)
    scope = scopes[0]
    resource = scope[: -len(SCOPE_SUFFIX)] if scope.endswith(SCOPE_SUFFIX) else scope
    if not resource or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in resource):
        raise ValueError(
            f"{scope!r} is not a valid scope: it must not contain whitespace or control characters"
        )
    return resource


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float = 2.0
    read: float = 5.0


def token_request(
    source: Source, resource: str, identity: Identity | None, timeouts: Timeouts
) -> HttpRequest:
    """The token request for ``source`` (never proxied, no transport retries: the flow retries)."""
    params: dict[str, str] = {}
    headers: dict[str, str] = {"Accept": "application/json"}
    form: dict[str, str] | None = None
    method = "GET"
    version = API_VERSIONS.get(source.kind)
    if version:
        params["api-version"] = version
    if source.kind == CLOUD_SHELL:
        method = "POST"
        form = {"resource": resource}
    else:
        params["resource"] = resource
    names = IDENTITY_PARAMETERS.get(source.kind, {})
    if identity is not None and identity.kind in names:
        params[names[identity.kind]] = identity.value
    elif identity is None and source.kind == AZURE_ML and source.default_client_id:
        params["clientid"] = source.default_client_id
    if source.kind in (IMDS, ARC, CLOUD_SHELL):
        headers["Metadata"] = "true"
    elif source.kind == APP_SERVICE:
        headers["X-IDENTITY-HEADER"] = source.secret or ""
    elif source.kind == SERVICE_FABRIC:
        headers["Secret"] = source.secret or ""
    elif source.kind == AZURE_ML:
        headers["secret"] = source.secret or ""
    return HttpRequest(
        method,
        source.endpoint,
        headers=headers,
        params=params,
        form=form,
        retry_total=0,
        connection_timeout=timeouts.connect,
        read_timeout=timeouts.read,
        bypass_proxy=True,
    )


def with_authorization(request: HttpRequest, key: str) -> HttpRequest:
    """The Arc request again, answering the challenge with the key file's contents."""
    headers = dict(request.headers)
    headers["Authorization"] = f"Basic {key}"
    return HttpRequest(
        request.method,
        request.url,
        headers=headers,
        params=request.params,
        form=request.form,
        retry_total=request.retry_total,
        connection_timeout=request.connection_timeout,
        read_timeout=request.read_timeout,
        bypass_proxy=True,
    )
