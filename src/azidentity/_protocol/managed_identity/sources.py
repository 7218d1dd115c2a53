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

| source | request | api-version |
| --- | --- | --- |
| IMDS | GET {host}/metadata/identity/oauth2/token | 2018-02-01 |
| App Service | GET $IDENTITY_ENDPOINT | 2019-08-01 |
| Azure Arc | GET $IDENTITY_ENDPOINT (+ key-file challenge) | 2020-06-01 |
| Service Fabric | GET $IDENTITY_ENDPOINT (pinned TLS) | 2019-07-01-preview |
| Azure ML | GET $MSI_ENDPOINT | 2017-09-01 |
| Cloud Shell | POST $MSI_ENDPOINT, form resource=... | none |

| source | identity parameters | secret header |
| --- | --- | --- |
| IMDS | client_id, object_id, msi_res_id | Metadata: true |
| App Service | client_id, object_id, mi_res_id | X-IDENTITY-HEADER |
| Azure Arc | client_id, object_id, msi_res_id | Metadata: true |
| Service Fabric | none | Secret |
| Azure ML | clientid, object_id, msi_res_id | secret |
| Cloud Shell | none | Metadata: true |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .service_fabric import normalize_thumbprint

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


def _get(env: Mapping[str, str], name: str) -> str:
    return (env.get(name) or "").strip()


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
            "IDENTITY_ENDPOINT and IDENTITY_HEADER are not set: "
            "managed identity is not enabled for this app.",
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
