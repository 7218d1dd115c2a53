"""Managed identity, sans-IO: which host we are on, what to send it, how to read its answer.

Source detection (azure-identity's order, evaluated once at construction from an environment
mapping):

1. ``IDENTITY_ENDPOINT`` + ``IDENTITY_HEADER`` -> Service Fabric if ``IDENTITY_SERVER_THUMBPRINT``
   is set, else App Service / Functions;
   ``IDENTITY_ENDPOINT`` + ``IMDS_ENDPOINT`` -> Azure Arc;
2. ``MSI_ENDPOINT`` -> Azure ML if ``MSI_SECRET`` is set, else Cloud Shell;
3. ``AZURE_FEDERATED_TOKEN_FILE`` + ``AZURE_TENANT_ID`` + ``AZURE_AUTHORITY_HOST`` -> workload
   identity token exchange;
4. an App Service host (``WEBSITE_SITE_NAME`` / ``WEBSITE_INSTANCE_ID``) without
   ``IDENTITY_ENDPOINT`` -> managed identity is not enabled for the app (no IMDS probing there);
5. else IMDS at ``AZURE_POD_IDENTITY_AUTHORITY_HOST`` or ``http://169.254.169.254``.

Requests per source (resource = the scope without ``/.default``):

| source | request | api-version | identity parameters | secret header |
| --- | --- | --- | --- | --- |
| IMDS | GET {host}/metadata/identity/oauth2/token | 2018-02-01 | client_id, object_id, msi_res_id | Metadata: true |
| App Service | GET $IDENTITY_ENDPOINT | 2019-08-01 | client_id, object_id, mi_res_id | X-IDENTITY-HEADER |
| Azure Arc | GET $IDENTITY_ENDPOINT (+ key-file challenge) | 2020-06-01 | client_id, object_id, msi_res_id | Metadata: true |
| Service Fabric | GET $IDENTITY_ENDPOINT (pinned TLS) | 2019-07-01-preview | none | Secret |
| Azure ML | GET $MSI_ENDPOINT | 2017-09-01 | clientid, object_id, msi_res_id | secret |
| Cloud Shell | POST $MSI_ENDPOINT, form resource=... | none | none | Metadata: true |
"""

from __future__ import annotations

import calendar
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..._token import Token, make_token
from ..effects import HttpRequest, HttpResponse

IMDS = "IMDS"
APP_SERVICE = "App Service"
ARC = "Azure Arc"
SERVICE_FABRIC = "Service Fabric"
CLOUD_SHELL = "Cloud Shell"
AZURE_ML = "Azure ML"
WORKLOAD = "workload identity"
# No usable endpoint: the reason is in Source.problem.
NONE = "none"

IMDS_DEFAULT_HOST = "http://169.254.169.254"
IMDS_PATH = "/metadata/identity/oauth2/token"
API_VERSIONS = {
    IMDS: "2018-02-01",
    APP_SERVICE: "2019-08-01",
    ARC: "2020-06-01",
    SERVICE_FABRIC: "2019-07-01-preview",
    AZURE_ML: "2017-09-01",
}
# The query parameter naming a user-assigned identity, per source and identity kind.
IDENTITY_PARAMETERS: dict[str, dict[str, str]] = {
    IMDS: {"client_id": "client_id", "object_id": "object_id", "resource_id": "msi_res_id"},
    APP_SERVICE: {"client_id": "client_id", "object_id": "object_id", "resource_id": "mi_res_id"},
    ARC: {"client_id": "client_id", "object_id": "object_id", "resource_id": "msi_res_id"},
    # Azure ML's 2017-09-01 API spells the client ID "clientid" (as MSAL and azure-identity send it).
    AZURE_ML: {"client_id": "clientid", "object_id": "object_id", "resource_id": "msi_res_id"},
    CLOUD_SHELL: {},
    SERVICE_FABRIC: {},
}
IDENTITY_KINDS = ("client_id", "object_id", "resource_id")
# identity_config keys azure-identity recognises, as its messages list them.
_KEY_LIST = ", ".join(IDENTITY_KINDS)
# Other spellings of the three kinds (older samples used the hosts' wire names): read as the id they name
# when they are the only id given; dropped with a warning next to another id (never a ValueError).
_IDENTITY_ALIASES = {
    **{kind: kind for kind in IDENTITY_KINDS},  # other letter cases of the three ("Client_Id")
    "clientid": "client_id",
    "principal_id": "object_id",
    "msi_res_id": "resource_id",
    "mi_res_id": "resource_id",
}
MAX_LIFETIME = 365 * 24 * 3600
# expires_on and now + expires_in differing by more than this means the clocks differ (seconds).
CLOCK_SKEW_TOLERANCE = 300
# Times and durations beyond this (about 285 million years) are not times; parsing them as floats overflows.
_MAX_SECONDS = 2**53
SCOPE_SUFFIX = "/.default"
ONE_SCOPE = "This credential requires exactly one scope per token request."


@dataclass(frozen=True, slots=True, repr=False)
class Identity:
    """A user-assigned identity: ``kind`` is ``client_id``, ``object_id`` or ``resource_id``."""

    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"

    def __repr__(self) -> str:
        return f"{self.kind}={self.value!r}"


@dataclass(frozen=True, slots=True, repr=False)
class Source:
    kind: str
    endpoint: str = ""
    secret: str | None = field(default=None, repr=False)
    thumbprint: str | None = None
    # Azure ML: the compute's own identity (sent as clientid when no identity is requested).
    default_client_id: str | None = None
    # kind NONE (and configuration errors of a detected source): what is wrong, and its row.
    problem: str | None = None
    problem_key: str | None = None

    def __repr__(self) -> str:
        return f"'{self.display}{' at ' + self.endpoint if self.endpoint and self.kind != WORKLOAD else ''}'"

    @property
    def display(self) -> str:
        if self.kind in (IMDS, WORKLOAD, NONE):
            return self.kind
        return f"{self.kind} managed identity"


# -- construction ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IdentityArgs:
    """What ``client_id`` and ``identity_config`` ask for, read as azure-identity 1.27 reads them."""

    # The user-assigned identity asked for; None: the host's (system-assigned) identity.
    identity: Identity | None = None
    # identity_config keys that select nothing and are dropped (logged at WARNING by the credential).
    dropped: tuple[str, ...] = ()
    # An identity_config key read under another spelling (``msi_res_id`` -> resource_id), or None.
    alias: str | None = None
    # azure-identity's own id keys present in identity_config, whatever their values (Cloud Shell refuses them).
    id_keys: tuple[str, ...] = ()
    # client_id was given (non-empty), as opposed to an id from identity_config.
    client_id_given: bool = False
    # Some client_id or a non-empty identity_config was given (Service Fabric refuses both).
    configured: bool = False
    # An id given as whitespace only: azure-identity sends it and the host refuses it; reported at get_token.
    blank: str | None = None


def _text(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


def identity_from_args(client_id: Any, identity_config: Mapping[str, Any] | None) -> IdentityArgs:
    """Read ``client_id`` / ``identity_config`` as azure-identity does: ValueError only where it raises one.

    Empty values (``None``, ``""``) select nothing, as azure-identity's truthiness checks do; keys other than
    client_id, object_id and resource_id are dropped (its synchronous credential ignores them).
    """
    if identity_config is not None and not isinstance(identity_config, Mapping):
        raise TypeError(
            f"identity_config must be a mapping such as {{'object_id': '...'}}, got {type(identity_config).__name__}"
        )
    config = dict(identity_config or {})
    client = _text(client_id)
    id_keys = tuple(key for key in IDENTITY_KINDS if key in config)
    if client and id_keys:
        raise ValueError(
            "When 'client_id' is provided as a keyword argument, 'identity_config' must not contain any of the "
            f"following keys: {_KEY_LIST}"
        )
    if len(id_keys) > 1:
        raise ValueError(f"identity_config must not contain more than one of the following keys: {_KEY_LIST}")
    others = [key for key in config if key not in IDENTITY_KINDS]
    chosen: tuple[str, str] | None = None  # (kind, value as given)
    alias = None
    if client:
        chosen = ("client_id", client)
    elif id_keys:
        chosen = (id_keys[0], _text(config[id_keys[0]]))
    else:
        named = [key for key in others if isinstance(key, str) and key.lower() in _IDENTITY_ALIASES]
        if len(named) == 1 and _text(config[named[0]]):
            alias = named[0]
            chosen = (_IDENTITY_ALIASES[alias.lower()], _text(config[alias]))
    dropped = tuple(str(key) for key in others if key != alias)
    identity = blank = None
    if chosen is not None and chosen[1]:
        if chosen[1].strip():
            identity = Identity(chosen[0], chosen[1].strip())
        else:
            blank = "client_id" if client else f"identity_config[{(alias or chosen[0])!r}]"
    return IdentityArgs(
        identity=identity,
        dropped=dropped,
        alias=alias,
        id_keys=id_keys,
        client_id_given=bool(client),
        configured=bool(client) or bool(config),
        blank=blank,
    )


def cloud_shell_refusal(args: IdentityArgs) -> str | None:
    """azure-identity's ValueError text for an identity on Cloud Shell (outside DefaultAzureCredential)."""
    if args.client_id_given:
        return "client_id should not be set for cloud shell managed identity."
    if args.id_keys:
        return f"identity_config must not contain the following keys: {_KEY_LIST}"
    return None


def _get(env: Mapping[str, str], name: str) -> str:
    return (env.get(name) or "").strip()


def normalize_thumbprint(value: str) -> str | None:
    """``IDENTITY_SERVER_THUMBPRINT`` as 40 lower-case hex digits, or None if it is not a SHA-1 thumbprint."""
    cleaned = re.sub(r"[\s:]", "", value).lower()
    return cleaned if re.fullmatch(r"[0-9a-f]{40}", cleaned) else None


def detect(env: Mapping[str, str], *, exclude_workload_identity: bool = False) -> Source:
    identity_endpoint = _get(env, "IDENTITY_ENDPOINT")
    if identity_endpoint:
        header = _get(env, "IDENTITY_HEADER")
        if header:
            thumbprint_setting = _get(env, "IDENTITY_SERVER_THUMBPRINT")
            if thumbprint_setting:
                return _service_fabric(identity_endpoint, header, thumbprint_setting)
            return Source(APP_SERVICE, identity_endpoint, secret=header)
        if _get(env, "IMDS_ENDPOINT"):
            return Source(ARC, identity_endpoint)
        on_app_service = bool(_get(env, "WEBSITE_SITE_NAME") or _get(env, "WEBSITE_INSTANCE_ID"))
        return Source(
            NONE,
            problem="IDENTITY_ENDPOINT is set, but neither IDENTITY_HEADER (App Service, Service Fabric) nor "
            "IMDS_ENDPOINT (Azure Arc): the host's managed identity configuration is incomplete.",
            problem_key="mi-app-service-not-enabled" if on_app_service else "mi-incomplete-environment",
        )
    msi_endpoint = _get(env, "MSI_ENDPOINT")
    if msi_endpoint:
        secret = _get(env, "MSI_SECRET")
        if secret:
            return Source(
                AZURE_ML,
                msi_endpoint,
                secret=secret,
                default_client_id=_get(env, "DEFAULT_IDENTITY_CLIENT_ID") or None,
            )
        return Source(CLOUD_SHELL, msi_endpoint)
    if not exclude_workload_identity and all(
        _get(env, name) for name in ("AZURE_FEDERATED_TOKEN_FILE", "AZURE_TENANT_ID", "AZURE_AUTHORITY_HOST")
    ):
        # HOOK (workload identity): the token exchange is WorkloadIdentityCredential's job; the
        # credential answers "unavailable" for this source until it is wired in.
        return Source(WORKLOAD, _get(env, "AZURE_FEDERATED_TOKEN_FILE"))
    if _get(env, "WEBSITE_SITE_NAME") or _get(env, "WEBSITE_INSTANCE_ID"):
        site = _get(env, "WEBSITE_SITE_NAME")
        return Source(
            NONE,
            problem=f"This is an App Service or Functions host{f' (site {site})' if site else ''}, but "
            "IDENTITY_ENDPOINT and IDENTITY_HEADER are not set: managed identity is not enabled for this app.",
            problem_key="mi-app-service-not-enabled",
        )
    host = _get(env, "AZURE_POD_IDENTITY_AUTHORITY_HOST") or IMDS_DEFAULT_HOST
    return Source(IMDS, host.rstrip("/") + IMDS_PATH)


def _service_fabric(endpoint: str, secret: str, thumbprint_setting: str) -> Source:
    thumbprint = normalize_thumbprint(thumbprint_setting)
    problem = key = None
    if not endpoint.lower().startswith("https://"):
        problem, key = "Service Fabric managed identity endpoint must use HTTPS.", "mi-bad-response"
    elif thumbprint is None:
        problem = "IDENTITY_SERVER_THUMBPRINT must be a SHA-1 certificate thumbprint (40 hexadecimal digits)."
        key = "mi-service-fabric-thumbprint"
    return Source(
        SERVICE_FABRIC, endpoint, secret=secret, thumbprint=thumbprint, problem=problem, problem_key=key
    )


SERVICE_FABRIC_IDENTITY = (
    "Specifying a client_id or identity_config is not supported by the Service Fabric managed identity "
    "environment. The managed identity configuration is determined by the Service Fabric cluster "
    "resource configuration. See https://aka.ms/servicefabricmi for more information."
)


def unsupported_identity(
    source: Source, identity: Identity | None, *, configured: bool = False
) -> tuple[str, str] | None:
    """(message, mitigation key) when ``source`` cannot select ``identity``; None when it can.

    Service Fabric refuses at request time, as azure-identity does, any client_id or non-empty
    identity_config (``configured``); Cloud Shell's refusal is a ValueError at construction
    (:func:`cloud_shell_refusal`).
    """
    if source.kind == SERVICE_FABRIC and (configured or identity is not None):
        return SERVICE_FABRIC_IDENTITY, "mi-service-fabric-identity"
    if identity is not None and identity.kind not in IDENTITY_PARAMETERS.get(source.kind, {}):
        supported = ", ".join(IDENTITY_PARAMETERS.get(source.kind, {})) or "none"
        return (
            f"{source.display} does not support selecting an identity by {identity.kind}; it supports: "
            f"{supported}.",
            "mi-unsupported-identity",
        )
    return None


# -- requests -------------------------------------------------------------------------------------


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


# -- responses ------------------------------------------------------------------------------------


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


def payload_of(response: HttpResponse) -> dict[str, Any] | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def message_of(response: HttpResponse) -> str:
    """The endpoint's own error text, from whichever shape its error body has."""
    payload = payload_of(response)
    if payload is None:
        return ""
    for key in ("error_description", "message", "Message"):
        if isinstance(payload.get(key), str):
            return str(payload[key])
    error = payload.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    return str(error) if isinstance(error, str) else ""


_DATE = re.compile(
    r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s+(\d{1,2}):(\d{2}):(\d{2})(?:\s*([AaPp][Mm]))?\s*"
    r"(?:([+-])(\d{2}):?(\d{2})|Z|UTC|GMT)?\s*$"
)


def parse_expires_on(value: Any) -> int:
    """``expires_on`` as epoch seconds: a number, a numeric string, or ``"M/D/YYYY H:MM:SS [AM|PM] +00:00"``."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not a time: {_short(repr(value))}")
    if isinstance(value, (int, float)):
        return _finite_int(value, value)
    if not isinstance(value, str):
        raise ValueError(f"not a time: {_short(repr(value))}")
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return _finite_int(float(text) if "." in text else int(text), value)
    match = _DATE.match(text)
    if match is None:
        raise ValueError(f"'{_short(value)}' doesn't match the expected format")
    month, day, year, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    meridiem = (match.group(7) or "").upper()
    if meridiem:
        if not 1 <= hour <= 12:
            raise ValueError(f"'{_short(value)}' has an invalid hour")
        hour = hour % 12 + (12 if meridiem == "PM" else 0)
    try:
        parsed = time.strptime(
            f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}", "%Y-%m-%d %H:%M:%S"
        )
    except ValueError as error:
        raise ValueError(f"'{_short(value)}' is not a valid date") from error
    epoch = calendar.timegm(parsed)
    if match.group(8):
        offset = int(match.group(9)) * 3600 + int(match.group(10)) * 60
        epoch -= offset if match.group(8) == "+" else -offset
    return epoch


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 64 else text[:64] + "..."


def _finite_int(number: float, value: Any) -> int:
    """``int(number)``, or ValueError for NaN, infinities and numbers beyond any plausible time."""
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError(f"not a time: {_short(repr(value))}")
    if abs(number) > _MAX_SECONDS:
        raise ValueError(f"'{_short(value)}' is out of range")
    return int(number)


def _seconds(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        _finite_int(value, value)
        return float(value)
    if isinstance(value, float) or (isinstance(value, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*", value)):
        number = float(value)
        _finite_int(number, value)
        return number
    raise ValueError(f"not a number of seconds: {_short(repr(value))}")


class BadTokenResponse(ValueError):
    """A 200 response that does not hold a usable token; the text says what is missing."""


def parse_token(response: HttpResponse, now: float) -> tuple[Token, dict[str, Any]]:
    """The token of a 200 response; :class:`BadTokenResponse` says what is wrong otherwise."""
    payload = payload_of(response)
    if payload is None:
        if response.truncated:
            raise BadTokenResponse(
                f"the response body is larger than {len(response.body)} bytes: no token response is"
            )
        raise BadTokenResponse("the response is not a JSON object")
    access_token = payload.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise BadTokenResponse("the response has no access_token")
    expires_on: int | None = None
    try:
        if payload.get("expires_on") not in (None, ""):
            expires_on = parse_expires_on(payload["expires_on"])
        else:
            expires_in = _seconds(payload.get("expires_in"))
            if expires_in is not None:
                expires_on = int(now + expires_in)
    except ValueError as error:
        raise BadTokenResponse(f"the response's expiry is unreadable: {error}") from None
    # IMDS, Arc and Cloud Shell send a relative expires_in besides expires_on. When the two disagree by
    # more than a few minutes, this machine's clock and the endpoint's differ: the relative one is right.
    try:
        expires_in = _seconds(payload.get("expires_in")) if expires_on is not None else None
    except ValueError:
        expires_in = None
    if (
        expires_on is not None
        and expires_in is not None
        and expires_in > 0
        and abs(expires_on - (now + expires_in)) > CLOCK_SKEW_TOLERANCE
    ):
        expires_on = int(now + expires_in)
    if expires_on is None:
        raise BadTokenResponse("the response has neither expires_on nor expires_in")
    if not now < expires_on <= now + MAX_LIFETIME:
        raise BadTokenResponse(
            f"the response's expiry ({expires_on}) is not a usable token lifetime from now ({int(now)})"
        )
    try:
        refresh_in = _seconds(payload.get("refresh_in"))
    except ValueError:
        refresh_in = None
    token_type = payload.get("token_type")
    token = make_token(
        access_token,
        expires_on,
        now,
        refresh_in,
        token_type if isinstance(token_type, str) and token_type else "Bearer",
    )
    return token, payload
