"""``azidentity token``: acquire a token and show whose it is and when it expires."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from . import claims as jwt
from .output import Printer

# --credential accepts the class name (any case) or one of these short names.
ALIASES = {
    "default": "DefaultAzureCredential",
    "dac": "DefaultAzureCredential",
    "env": "EnvironmentCredential",
    "environment": "EnvironmentCredential",
    "workload": "WorkloadIdentityCredential",
    "workload-identity": "WorkloadIdentityCredential",
    "mi": "ManagedIdentityCredential",
    "managed-identity": "ManagedIdentityCredential",
    "cli": "AzureCliCredential",
    "az": "AzureCliCredential",
    "powershell": "AzurePowerShellCredential",
    "pwsh": "AzurePowerShellCredential",
    "azd": "AzureDeveloperCliCredential",
    "developer-cli": "AzureDeveloperCliCredential",
    "pipelines": "AzurePipelinesCredential",
}
NAMES = (
    "DefaultAzureCredential",
    "EnvironmentCredential",
    "WorkloadIdentityCredential",
    "ManagedIdentityCredential",
    "AzureCliCredential",
    "AzurePowerShellCredential",
    "AzureDeveloperCliCredential",
    "AzurePipelinesCredential",
)
# AzurePipelinesCredential from the variables an AzureCLI@2 / AzurePowerShell@5 task sets.
PIPELINES_VARIABLES = {
    "tenant_id": "AZURESUBSCRIPTION_TENANT_ID",
    "client_id": "AZURESUBSCRIPTION_CLIENT_ID",
    "service_connection_id": "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID",
    "system_access_token": "SYSTEM_ACCESSTOKEN",
}


def resolve_name(name: str) -> str:
    wanted = name.strip()
    if wanted.lower() in ALIASES:
        return ALIASES[wanted.lower()]
    for known in NAMES:
        if known.lower() == wanted.lower():
            return known
    raise ValueError(
        f"unknown credential {name!r}; use one of {', '.join(NAMES)} (or {', '.join(sorted(ALIASES))})"
    )


def build(name: str) -> Any:
    """A credential configured from the environment, as the application would create it."""
    import azidentity

    if name == "AzurePipelinesCredential":
        missing = [v for v in PIPELINES_VARIABLES.values() if not os.environ.get(v)]
        if missing:
            raise ValueError(
                f"AzurePipelinesCredential needs these variables, which are not set: {', '.join(missing)}"
            )
        return azidentity.AzurePipelinesCredential(
            **{k: os.environ[v] for k, v in PIPELINES_VARIABLES.items()}
        )
    return getattr(azidentity, name)()


def az_account() -> str | None:
    """Which account the Azure CLI is signed in with (``az account show``; never a token)."""
    from .facts import az_facts

    return az_facts(os.environ).get("account")


def _error_json(error: BaseException) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "type": type(error).__name__,
        "message": getattr(error, "message", None) or str(error),
    }
    for attribute in (
        "credential",
        "status_code",
        "oauth_error",
        "error_code",
        "mitigation",
        "troubleshooting_anchor",
    ):
        value = getattr(error, attribute, None)
        if value is not None:
            facts[attribute] = value
    return facts


def _fail(options: argparse.Namespace, error: BaseException, recorder: Any = None) -> int:
    if options.json:
        failure: dict[str, Any] = {"error": _error_json(error)}
        if recorder is not None:
            failure["trace"] = recorder.as_json()
        print(json.dumps(failure, indent=2))
    else:
        message = getattr(error, "message", None)
        print(message if isinstance(message, str) and message else str(error), file=sys.stderr)
        if recorder is not None:
            recorder.print_tree(Printer())
    return 1


def run(options: argparse.Namespace) -> int:
    from azure.core.exceptions import ClientAuthenticationError

    recorder = None
    if getattr(options, "trace", False):  # --trace: this call's spans, as a tree (needs azidentity[trace])
        from .tracing import start_recording

        recorder = start_recording()
        if recorder is None:
            return 2
    try:
        name = resolve_name(options.credential)
        credential = build(name)
    except (ValueError, TypeError) as error:
        print(f"azidentity token: {error}", file=sys.stderr)
        return 2 if "unknown credential" in str(error) else 1
    try:
        with credential:
            start = time.perf_counter()
            token = credential.get_token(options.scope, tenant_id=options.tenant)
            elapsed = time.perf_counter() - start
            source = getattr(credential, "_successful_credential", None)
    except (ClientAuthenticationError, ValueError) as error:
        return _fail(options, error, recorder)
    used = type(source).__name__ if source is not None else None
    claims = jwt.decode(token.token)
    who = jwt.identity(claims)
    expires_on = int(token.expires_on)
    report: dict[str, Any] = {
        "credential": name,
        "source": used,
        "scope": options.scope,
        "tenant": options.tenant,
        "seconds": round(elapsed, 3),
        "expires_on": expires_on,
        "expires": jwt.iso(expires_on),
        "identity": who,
    }
    if (used or name) == "AzureCliCredential":
        report["az_account"] = az_account()
    if options.show_token:
        report["token"] = token.token
    if recorder is not None and options.json:
        report["trace"] = recorder.as_json()
    if options.json:
        print(json.dumps(report, indent=2))
        return 0
    out = Printer()
    out.line(
        f"{out.paint('token acquired', 'green')} by {name}{f' (via {used})' if used else ''} "
        f"in {elapsed:.2f} s"
    )
    out.fields(
        [
            ("scope", options.scope),
            ("tenant requested", options.tenant),
            ("identity", jwt.describe(who)),
            ("audience", who.get("aud")),
            ("tenant", who.get("tid")),
            ("object id", who.get("oid")),
            ("app id", who.get("appid")),
            ("az account", report.get("az_account")),
            ("expires", f"{jwt.iso(expires_on)} ({jwt.relative(expires_on)})"),
            ("token", token.token if options.show_token else "(hidden; --show-token prints it)"),
        ]
    )
    if recorder is not None:
        recorder.print_tree(out)
    return 0
