"""Authorities, tenants and the per-request tenant rules (no I/O)."""

from __future__ import annotations

import os
import re

from . import log
from ._constants import AzureAuthorityHosts, EnvironmentVariables
from ._lazy import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

# azure-identity's tenant charset, which it enforces in some credentials (ClientSecret, Certificate,
# OnBehalfOf, AzurePipelines, the user credentials, the developer tools) and not in others.
_TENANT_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-")
# What would change the URL a tenant is put into, whatever the credential: a path separator (servers
# such as IIS read '\\' as '/'), the start of a query or fragment, a percent-escape that a server
# decodes. Whitespace, control characters and the dot segments "." and ".." are refused as well.
_PATH_CHANGERS = {"/": "'/'", "\\": "'\\'", "?": "'?'", "#": "'#'", "%": "'%'"}
_HOST = re.compile(r"[A-Za-z0-9_.\-]+|\[[0-9A-Fa-f:.]+\]")
TENANT_HELP = (
    "Invalid tenant ID provided. You can locate your tenant ID by following the instructions here: "
    "https://learn.microsoft.com/partner-center/find-ids-and-domain-names"
)


def validate_tenant_id(tenant_id: str, *, strict: bool = True) -> None:
    """Refuse a tenant ID that would change the request's URL; with ``strict``, also one outside
    azure-identity's charset (letters, digits, '-' and '.'), as azure-identity does for that credential.

    Non-strict credentials take any other string, as azure-identity's do (the URL builders
    percent-encode what needs it).
    """
    if not isinstance(tenant_id, str) or not tenant_id:
        raise ValueError(f"{TENANT_HELP} (got {tenant_id!r})")
    problem = _path_problem(tenant_id)
    if problem:
        raise ValueError(f"{TENANT_HELP} (got {tenant_id!r}: {problem})")
    if strict and not _TENANT_CHARS.issuperset(tenant_id):
        raise ValueError(f"{TENANT_HELP} (got {tenant_id!r})")


def _path_problem(tenant_id: str) -> str | None:
    if tenant_id in (".", ".."):
        return "a tenant ID can't be a dot segment, which would climb out of the tenant in the URL"
    for character, shown in _PATH_CHANGERS.items():
        if character in tenant_id:
            return f"a tenant ID can't contain {shown}, which would change the request's URL"
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in tenant_id):
        return "a tenant ID can't contain whitespace or control characters"
    return None


def normalize_authority(authority: str | None, env: Mapping[str, str] | None = None) -> str:
    """``authority`` kwarg, else AZURE_AUTHORITY_HOST, else the public cloud; always https.

    Returns a base URL without trailing slash, e.g. ``https://login.microsoftonline.com``.
    """
    env = os.environ if env is None else env
    value = (
        authority
        or env.get(EnvironmentVariables.AZURE_AUTHORITY_HOST)
        or AzureAuthorityHosts.AZURE_PUBLIC_CLOUD
    )
    if not isinstance(value, str):
        raise TypeError(
            f"authority must be a string such as 'login.microsoftonline.com', got {type(value).__name__}"
        )
    value = value.strip().rstrip("/")
    if "://" not in value:
        value = "https://" + value
    scheme, _, rest = value.partition("://")
    host, port = _host_and_port(rest.split("/", 1)[0])
    bad = None
    if scheme.lower() != "https":
        bad = "The value must be a TLS protected (https) URL."
    elif "@" in rest.split("/", 1)[0]:
        bad = "The value must be a host name, without user information."
    elif "#" in rest or "?" in rest:
        bad = "The value must not contain a query or fragment."
    elif any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in rest):
        bad = "The value must not contain whitespace or control characters."
    elif "\\" in rest:
        bad = "The value must not contain backslashes."
    elif not host or host.strip(".") == "" or not _HOST.fullmatch(host):
        bad = "The value must name a host (letters, digits, '-' and '.', or an IPv6 address in brackets)."
    elif port and not (len(port) <= 5 and port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        bad = "The value's port must be a number from 1 to 65535."
    if bad:
        raise ValueError(f"'{value}' is an invalid authority. {bad}")
    return "https://" + rest


def _host_and_port(netloc: str) -> tuple[str, str]:
    """``("host", "port")`` of ``host[:port]`` or ``[v6]:port``; a port that is no port stays as written."""
    if netloc.startswith("["):
        host, bracket, after = netloc.partition("]")
        if not bracket:
            return "", ""
        return host + "]", after[1:] if after.startswith(":") else after
    host, colon, port = netloc.rpartition(":")
    return (host, port) if colon else (netloc, "")


def authority_host(authority: str) -> str:
    return authority.split("://", 1)[-1].split("/", 1)[0].lower()


def resolve_tenant(
    default_tenant: str,
    requested: str | None,
    additionally_allowed_tenants: Iterable[str],
    credential: str,
    env: Mapping[str, str] | None = None,
) -> str:
    """Which tenant a request goes to, in azure-identity's documented order."""
    if not requested or requested == default_tenant:
        return default_tenant
    env = os.environ if env is None else env
    if default_tenant == "adfs" or env.get(EnvironmentVariables.AZURE_IDENTITY_DISABLE_MULTITENANTAUTH):
        log.emit(
            log.EVENT_AUTHENTICATION,
            log.INFO,
            "%s ignores the requested tenant %s and uses its configured tenant %s "
            "(AZURE_IDENTITY_DISABLE_MULTITENANTAUTH is set or the tenant is adfs)",
            credential,
            requested,
            default_tenant,
        )
        return default_tenant
    validate_tenant_id(requested, strict=False)  # azure-identity checks no charset for a request's tenant
    if not default_tenant:
        return requested
    allowed = list(additionally_allowed_tenants)
    if "*" in allowed or requested in allowed:
        log.emit(
            log.EVENT_AUTHENTICATION,
            log.INFO,
            "%s acquires a token for tenant %s (allowed by additionally_allowed_tenants)",
            credential,
            requested,
        )
        return requested
    if not allowed and default_tenant == "organizations":
        return requested
    from ._errors import AuthenticationFailedError

    raise AuthenticationFailedError(
        f"The current credential is not configured to acquire tokens for tenant {requested}. "
        f"It is configured for tenant {default_tenant}. To enable acquiring tokens for this tenant add it to "
        f'the additionally_allowed_tenants when creating the credential, or add "*" to '
        f"additionally_allowed_tenants to allow acquiring tokens for any tenant.",
        credential=credential,
        mitigation_key="tenant-not-allowed",
    )
