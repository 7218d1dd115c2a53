"""ManagedIdentityCredential: tokens from the hosting Azure service, on every host, sync and async.

The source is detected once, at construction (``_protocol.managed_identity.detect``) and logged
at INFO. One flow serves both facades: requests are built by the sans-IO protocol modules,
retried in the flow with ``Sleep`` effects (``_protocol.managed_identity.retry``), and every failure becomes
an error of the category decisions.md assigns it (unavailable: a chain moves on; failed: it
stops), rendered with the troubleshooting guide's row.

Tokens are cached per process, keyed by source endpoint, identity and resource: a program that
creates a credential per request still asks IMDS once per token lifetime.

This module holds construction, the cache keys, the choice of flow and the two facades; the flows
are ``imds_flow`` (with the chain's probe) and ``host_flow`` (App Service, Functions, Service
Fabric, Cloud Shell, Azure ML, and Azure Arc's challenge); ``configuration`` reads the arguments;
``_protocol.managed_identity.failures`` turns what went wrong into the error and the guide's row.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Hashable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ... import log
from ..._authority import resolve_tenant
from ..._cache.memory import TokenCache
from ..._credential import (
    AsyncCredential,
    CredentialBase,
    SyncCredential,
    TokenRequest,
    _scope_key,
    current_chain,
)
from ..._protocol.effects import Flow, HttpResponse
from ..._protocol.managed_identity import failures
from ..._protocol.managed_identity import identity as mi_identity
from ..._protocol.managed_identity import requests as mi_requests
from ..._protocol.managed_identity import responses as mi_responses
from ..._protocol.managed_identity import sources as mi_sources
from ..._protocol.managed_identity.retry import DEFAULT_BUDGET, Budget, RetryPolicy
from ..._token import Token
from .configuration import deferred_error, positive, retry_policy, usable_identity, workload_credential
from .host_flow import arc_flow, host_flow
from .imds_flow import imds_flow

if TYPE_CHECKING:
    from ..._driver import AsyncIO, SyncIO

# One cache per process for every managed identity credential (decisions.md).
_SHARED_CACHE = TokenCache()


def _clear_shared_cache() -> None:
    """Forget every managed identity token of this process (for tests)."""
    _SHARED_CACHE.clear()


class _ManagedIdentity(CredentialBase):
    _repr_fields: ClassVar[tuple[str, ...]] = ("source", "identity")

    def __init__(
        self, *, client_id: str | None = None, identity_config: Mapping[str, str] | None = None, **kwargs: Any
    ) -> None:
        # DefaultAzureCredential builds its members as the current chain: they behave as azure-identity's do
        # there (Cloud Shell ignores AZURE_CLIENT_ID; no token exchange when workload identity is excluded).
        chain = current_chain()
        within_dac = chain is not None and chain.default
        given_env: Mapping[str, str] | None = kwargs.pop("_env", None)  # test seam
        if given_env is None and chain is not None:
            given_env = chain.env
        env: Mapping[str, str] = os.environ if given_env is None else given_env
        args = mi_identity.identity_from_args(client_id, identity_config)
        exclude_workload = (
            chain is not None and within_dac and "WorkloadIdentityCredential" not in chain.members
        )
        self._source = mi_sources.detect(env, exclude_workload_identity=exclude_workload)
        self._identity_args = args
        self._identity = usable_identity(args, self._source.kind, within_dac, credential=self._name)
        self._probe_timeout = positive("probe_timeout", kwargs.pop("probe_timeout", 1.0))
        self._timeouts = mi_requests.Timeouts(
            positive("connection_timeout", kwargs.pop("connection_timeout", 2.0)),
            positive("read_timeout", kwargs.pop("read_timeout", 5.0)),
        )
        retry_total = kwargs.pop("retry_total", None)
        if retry_total is not None and (
            isinstance(retry_total, bool) or not isinstance(retry_total, int) or retry_total < 0
        ):
            raise ValueError(f"retry_total must be a non-negative integer, got {retry_total!r}")
        backoff = positive("retry_backoff_factor", kwargs.pop("retry_backoff_factor", 0.8))
        backoff_max = positive("retry_backoff_max", kwargs.pop("retry_backoff_max", 60.0))
        self._retry_total: int | None = retry_total
        self._backoff = (backoff, backoff_max)
        # azure-core's RetryPolicy keyword for the total time of an operation, retries included: here the
        # budget for all attempts and waits of one token request (decisions.md: 30 s).
        self._budget = positive("timeout", kwargs.pop("timeout", DEFAULT_BUDGET))
        for ignored in ("retry_connect", "retry_read", "retry_status", "retry_mode", "retry_on_status_codes"):
            kwargs.pop(ignored, None)
        # Managed identity endpoints are never reached through a proxy (decisions.md).
        kwargs.pop("proxies", None)
        token_dir = kwargs.pop("_arc_token_dir", None)
        self._arc_token_dir: str | None = str(token_dir) if token_dir is not None else None
        self._program_data = env.get("PROGRAMDATA", "")
        # Configuration errors found now but reported by get_token, so that a chain can be built.
        self._config_error = deferred_error(args, self._source)
        if self._source.kind == mi_sources.SERVICE_FABRIC:
            from ..._http.service_fabric import ignored_options, warning_text

            is_async = isinstance(self, AsyncCredential)
            unusable = ignored_options(kwargs, is_async=is_async)
            if unusable:
                # As azure-identity's sync credential: one warning naming them, at the caller's line.
                warnings.warn(warning_text(unusable, is_async=is_async), UserWarning, stacklevel=2)
        self._imds_confirmed = False
        # azure-identity hands its keywords to WorkloadIdentityCredential for that source; the other sources
        # have no tenant to choose. (_init_base, below, is what sets self._clock.)
        allowed_tenants = kwargs.pop("additionally_allowed_tenants", None)
        self._workload = (
            workload_credential(self._identity, env, allowed_tenants, kwargs.get("_clock"))
            if self._source.kind == mi_sources.WORKLOAD
            else None
        )
        # Beyond azure-identity: with persistence, processes on one host share one token instead of
        # each asking the endpoint (the key already names the source, endpoint and identity).
        self._cache_persistence_options = kwargs.pop("cache_persistence_options", None)
        self._init_base(kwargs)
        if self._source.kind == mi_sources.NONE:
            log.emit(
                log.EVENT_AUTHENTICATION,
                logging.INFO,
                "%s found no managed identity endpoint: %s",
                self._name,
                self._source.problem,
            )
        else:
            log.emit(
                log.EVENT_AUTHENTICATION,
                logging.INFO,
                "%s will use %s%s",
                self._name,
                self._source.display,
                f" with {self._identity}" if self._identity else "",
            )

    def _new_cache(self) -> TokenCache:
        # A credential given its own clock (tests) gets its own cache; all others share one.
        if self._cache_persistence_options is not None:
            return super()._new_cache()
        return TokenCache(self._clock) if self._clock is not None else _SHARED_CACHE

    def _cache_key(self, request: TokenRequest) -> Hashable:
        workload = self._workload
        if workload is not None:
            # An Entra token: its tenant, client and CAE capability (a CAE token must never be served to a
            # caller that didn't ask for one, nor the reverse) tell tokens apart.
            return (
                "managed-identity",
                mi_sources.WORKLOAD,
                workload._authority,
                request.tenant_id or workload._tenant_id,
                workload._client_id,
                self._source.endpoint,
                _scope_key(request.scopes),
                request.enable_cae,
            )
        identity = (self._identity.kind, self._identity.value.lower()) if self._identity else None
        return (
            "managed-identity",
            self._source.kind,
            self._source.endpoint,
            identity,
            mi_requests.resource_for(request.scopes),
        )

    def _validate(self, request: TokenRequest) -> None:
        if self._workload is not None:
            self._workload._validate(request)  # WorkloadIdentityCredential's rules: several scopes are fine
            return
        mi_requests.resource_for(request.scopes)

    def _in_chain(self) -> bool:
        return current_chain() is not None

    def _probe_enabled(self) -> bool:
        """One quick probe of IMDS first when other members follow in the chain: they are tried at once if
        nothing answers. Alone (standalone, or the chain's only member) the full request is made."""
        chain = current_chain()
        return chain is not None and len(chain.members) > 1

    def _policy(self) -> RetryPolicy:
        return retry_policy(self._source.kind, self._retry_total, self._backoff, self._budget)

    def _new_budget(self) -> Budget:
        """One token request's time budget, timed with a monotonic clock (waits count as requested)."""
        return Budget(self._budget, time.monotonic)

    # -- the flow -----------------------------------------------------------------------------------
    def _flow(self, request: TokenRequest) -> Flow[Token]:
        source = self._source
        in_chain = self._in_chain()
        if self._config_error is not None:
            raise failures.failed(*self._config_error, credential=self._name)
        if source.kind == mi_sources.NONE:
            raise failures.unavailable(
                source.problem or "No managed identity endpoint found.",
                source.problem_key or "mi-incomplete-environment",
                credential=self._name,
            )
        workload = self._workload
        if workload is not None:
            # As azure-identity, which delegates to WorkloadIdentityCredential: a tenant other than the
            # configured one is refused unless additionally allowed (the error names this credential).
            resolve_tenant(
                workload._tenant_id, request.tenant_id, workload._additionally_allowed_tenants, self._name
            )
            token: Token = yield from workload._flow(request)
            return token
        resource = mi_requests.resource_for(request.scopes)
        unsupported = mi_identity.unsupported_identity(
            source, self._identity, configured=self._identity_args.configured
        )
        if unsupported is not None:
            raise failures.failed_or_unavailable(in_chain, *unsupported, credential=self._name)
        if source.kind == mi_sources.IMDS:
            return (yield from imds_flow(self, resource, in_chain))
        if source.kind == mi_sources.ARC:
            return (yield from arc_flow(self, resource))
        return (yield from host_flow(self, resource))

    def _token(self, response: HttpResponse) -> tuple[Token, dict[str, Any]]:
        try:
            return mi_responses.parse_token(response, self._now())
        except mi_responses.BadTokenResponse as problem:
            raise failures.failed(
                f"Unexpected response from the managed identity endpoint: {problem}",
                "mi-bad-response",
                response,
                credential=self._name,
            ) from None

    def _pinned(self) -> bool:
        """Service Fabric: requests go through azidentity's own pinned transport."""
        return (
            self._source.kind == mi_sources.SERVICE_FABRIC
            and self._config_error is None
            and bool(self._source.thumbprint)
        )


class ManagedIdentityCredential(_ManagedIdentity, SyncCredential):
    """Authenticates with an Azure managed identity in any hosting environment which supports managed
    identities.

    The host is detected from the environment when the credential is created and logged at INFO:
    IMDS (virtual machines, scale sets, AKS pod identity), App Service and Functions, Azure Arc,
    Service Fabric, Cloud Shell and Azure ML. Tokens are cached per process.

    :keyword str client_id: a user-assigned identity's client ID (or, with pod identity, the client ID
        of an app registration).
    :keyword identity_config: a mapping naming a user-assigned identity by one of ``client_id``,
        ``object_id`` or ``resource_id``, e.g. ``{"object_id": "..."}``; ``resource_id`` is sent under
        each host's own parameter name. Other keys are ignored (logged at WARNING). Cloud Shell and
        Service Fabric don't allow a user-assigned identity.
    :paramtype identity_config: Mapping[str, str]
    :keyword float connection_timeout: seconds to wait for a connection (default 2).
    :keyword float read_timeout: seconds to wait for the answer (default 5).
    :keyword int retry_total: retries of a failing request (default: 5 on IMDS, which also retries
        410 for 70 s; 3 elsewhere; 0 disables retrying).
    :keyword float timeout: seconds one token request may take in all, retries, timeouts and
        ``Retry-After`` waits included (azure-core's meaning of ``timeout``; default 30). A starting
        IMDS answering 410 gets 70 s more.
    :keyword float probe_timeout: (azidentity addition) connect and read timeout of the one-shot
        IMDS probe made when the credential runs inside a chain (default 1).
    """

    def _new_sync_io(self) -> SyncIO:
        if not self._pinned():
            return super()._new_sync_io()
        from ..._driver import SyncIO
        from ..._http.service_fabric import pinned_user_transport, sync_transport, usable_user_transport

        kwargs = dict(self._pipeline_kwargs)
        thumbprint = self._source.thumbprint or ""
        users = usable_user_transport(kwargs, is_async=False)
        kwargs["transport"] = (
            pinned_user_transport(users, thumbprint, self._source.endpoint)
            if users is not None
            else sync_transport(thumbprint, kwargs)
        )
        return SyncIO(kwargs, self._sleep)


class AsyncManagedIdentityCredential(_ManagedIdentity, AsyncCredential):
    __doc__ = ManagedIdentityCredential.__doc__

    def _new_async_io(self) -> AsyncIO:
        if not self._pinned():
            return super()._new_async_io()
        from ..._driver import AsyncIO
        from ..._http.service_fabric import async_transport

        kwargs = dict(self._pipeline_kwargs)
        kwargs["transport"] = async_transport(self._source.thumbprint or "", kwargs)
        return AsyncIO(kwargs, self._sleep)
