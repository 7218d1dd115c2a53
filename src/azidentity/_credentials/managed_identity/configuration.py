"""What ManagedIdentityCredential's arguments mean on the detected host: positive numbers of seconds, the
retry policy, errors found at construction, the identity the host is asked for, and on AKS workload
identity the credential that exchanges tokens."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ... import log
from ..._protocol.managed_identity import identity as mi_identity
from ..._protocol.managed_identity import sources as mi_sources
from ..._protocol.managed_identity.retry import (
    GONE_BUDGET,
    IMDS_STATUSES,
    OTHER_RETRIES,
    OTHER_STATUSES,
    RetryPolicy,
)


def positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


def retry_policy(
    kind: str, retry_total: int | None, backoff: tuple[float, float], budget: float
) -> RetryPolicy:
    """How a host of ``kind`` is retried: decisions.md's defaults, or ``retry_total`` retries when given."""
    factor, maximum = backoff
    if kind == mi_sources.IMDS:
        if retry_total is None:
            return RetryPolicy(
                statuses=IMDS_STATUSES,
                backoff_factor=factor,
                backoff_max=maximum,
                gone_budget=GONE_BUDGET,
                budget=budget,
            )
        return RetryPolicy(retry_total, IMDS_STATUSES, factor, maximum, budget=budget)
    retries = OTHER_RETRIES if retry_total is None else retry_total
    return RetryPolicy(retries, OTHER_STATUSES, factor, maximum, budget=budget)


def deferred_error(args: mi_identity.IdentityArgs, source: mi_sources.Source) -> tuple[str, str] | None:
    """(message, mitigation key) of a configuration error found at construction, which get_token
    reports (raising at construction would keep a chain from being built); None if there is none."""
    if args.blank is not None:
        return (
            f"{args.blank} is blank: it names no identity. Pass a user-assigned identity's ID, "
            "or omit it (or pass an empty string) for the system-assigned identity.",
            "mi-blank-identity",
        )
    if source.kind == mi_sources.SERVICE_FABRIC and source.problem:
        return (source.problem, source.problem_key or "mi-bad-response")
    return None


def usable_identity(
    args: mi_identity.IdentityArgs, kind: str, within_dac: bool, *, credential: str
) -> mi_identity.Identity | None:
    """The identity a host of ``kind`` is asked for; drops (with a WARNING) what azure-identity ignores and
    raises ValueError where it raises one. ``credential`` is the name the log lines show."""
    identity = args.identity
    ignored = list(args.dropped)
    if kind == mi_sources.CLOUD_SHELL:
        refusal = None if within_dac else mi_identity.cloud_shell_refusal(args)
        if refusal is not None:
            from ..._mitigations import lookup

            row = lookup("mi-cloud-shell-identity")
            raise ValueError(f"{refusal} {row.mitigation if row else ''}".strip())
        if identity is not None:
            # Inside DefaultAzureCredential (AZURE_CLIENT_ID is its managed_identity_client_id):
            # Cloud Shell has only the signed-in user's identity, which azure-identity gets there too.
            log.emit(
                log.EVENT_AUTHENTICATION,
                logging.INFO,
                "%s: Cloud Shell provides only the signed-in user's identity; %s %s is not used",
                credential,
                identity.kind,
                identity.value,
            )
            if args.alias is not None:
                ignored.append(args.alias)
            identity = None
    elif kind == mi_sources.WORKLOAD and identity is not None and identity.kind != "client_id":
        # azure-identity ignores identity_config there: AZURE_CLIENT_ID names the identity.
        log.emit(
            log.EVENT_AUTHENTICATION,
            logging.WARNING,
            "%s uses workload identity, which selects an identity by client ID only (AZURE_CLIENT_ID or "
            "client_id): identity_config's %s %s is ignored",
            credential,
            identity.kind,
            identity.value,
        )
        identity = None
    if ignored:
        log.emit(
            log.EVENT_AUTHENTICATION,
            logging.WARNING,
            "%s ignores identity_config keys %s: "
            "only one of client_id, object_id or resource_id selects an identity",
            credential,
            ", ".join(repr(key) for key in ignored),
        )
    if args.alias is not None and identity is not None:
        log.emit(
            log.EVENT_AUTHENTICATION,
            logging.INFO,
            "%s reads identity_config key %r as %s",
            credential,
            args.alias,
            identity.kind,
        )
    return identity


def workload_credential(
    identity: mi_identity.Identity | None, env: Mapping[str, str], allowed_tenants: Any, clock: Any
) -> Any:
    """AKS workload identity: the token exchange is WorkloadIdentityCredential's flow, run by the managed
    identity credential's drivers (as azure-identity does when the webhook's variables are set)."""
    from ..workload_identity import WorkloadIdentityCredential

    client_id = identity.value if identity is not None else env.get("AZURE_CLIENT_ID")
    if not client_id:
        raise ValueError(
            # azure-identity's text, then which variable: code matching its message keeps working.
            "Workload identity was selected but no client ID was provided. "
            'Configure the environment with a client ID or pass a value for "client_id" argument '
            "(the variable is AZURE_CLIENT_ID)."
        )
    return WorkloadIdentityCredential(
        tenant_id=env["AZURE_TENANT_ID"],
        client_id=client_id,
        token_file_path=env["AZURE_FEDERATED_TOKEN_FILE"],
        authority=env["AZURE_AUTHORITY_HOST"],
        additionally_allowed_tenants=allowed_tenants,
        _clock=clock,
    )
