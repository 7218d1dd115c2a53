"""ManagedIdentityCredential: tokens from the hosting Azure service, on every host, sync and async.

The source is detected once, at construction (``_protocol.managed_identity.detect``) and logged
at INFO. One flow serves both facades: requests are built by the sans-IO protocol modules,
retried in the flow with ``Sleep`` effects (``_protocol.managed_identity.retry``), and every failure becomes
an error of the category decisions.md assigns it (unavailable: a chain moves on; failed: it
stops), rendered with the troubleshooting guide's row.

Tokens are cached per process, keyed by source endpoint, identity and resource: a program that
creates a credential per request still asks IMDS once per token lifetime.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
import time
import warnings
from collections.abc import Hashable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from .. import log
from .._authority import resolve_tenant
from .._cache.memory import TokenCache
from .._credential import (
    AsyncCredential,
    CredentialBase,
    SyncCredential,
    TokenRequest,
    _scope_key,
    current_chain,
)
from .._protocol.effects import Flow, HttpResponse, TransportError
from .._protocol.managed_identity import arc
from .._protocol.managed_identity import identity as mi_identity
from .._protocol.managed_identity import imds as mi_imds
from .._protocol.managed_identity import requests as mi_requests
from .._protocol.managed_identity import responses as mi_responses
from .._protocol.managed_identity import sources as mi_sources
from .._protocol.managed_identity.retry import (
    DEFAULT_BUDGET,
    GONE_BUDGET,
    IMDS_STATUSES,
    OTHER_RETRIES,
    OTHER_STATUSES,
    Budget,
    Outcome,
    RetryPolicy,
    connect_failed,
    send,
    wraps,
)
from .._token import Token

if TYPE_CHECKING:
    from .._driver import AsyncIO, SyncIO

# One cache per process for every managed identity credential (decisions.md).
_SHARED_CACHE = TokenCache()
_GATEWAY = (502, 504)
_NAME = "ManagedIdentityCredential"


def _clear_shared_cache() -> None:
    """Forget every managed identity token of this process (for tests)."""
    _SHARED_CACHE.clear()


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


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
        self._identity = self._usable_identity(args, within_dac)
        self._probe_timeout = _positive("probe_timeout", kwargs.pop("probe_timeout", 1.0))
        self._timeouts = mi_requests.Timeouts(
            _positive("connection_timeout", kwargs.pop("connection_timeout", 2.0)),
            _positive("read_timeout", kwargs.pop("read_timeout", 5.0)),
        )
        retry_total = kwargs.pop("retry_total", None)
        if retry_total is not None and (
            isinstance(retry_total, bool) or not isinstance(retry_total, int) or retry_total < 0
        ):
            raise ValueError(f"retry_total must be a non-negative integer, got {retry_total!r}")
        backoff = _positive("retry_backoff_factor", kwargs.pop("retry_backoff_factor", 0.8))
        backoff_max = _positive("retry_backoff_max", kwargs.pop("retry_backoff_max", 60.0))
        self._retry_total: int | None = retry_total
        self._backoff = (backoff, backoff_max)
        # azure-core's RetryPolicy keyword for the total time of an operation, retries included: here the
        # budget for all attempts and waits of one token request (decisions.md: 30 s).
        self._budget = _positive("timeout", kwargs.pop("timeout", DEFAULT_BUDGET))
        for ignored in ("retry_connect", "retry_read", "retry_status", "retry_mode", "retry_on_status_codes"):
            kwargs.pop(ignored, None)
        # Managed identity endpoints are never reached through a proxy (decisions.md).
        kwargs.pop("proxies", None)
        token_dir = kwargs.pop("_arc_token_dir", None)
        self._arc_token_dir: str | None = str(token_dir) if token_dir is not None else None
        self._program_data = env.get("PROGRAMDATA", "")
        # Configuration errors found now but reported by get_token, so that a chain can be built.
        self._config_error: tuple[str, str] | None = None
        if args.blank is not None:
            self._config_error = (
                f"{args.blank} is blank: it names no identity. Pass a user-assigned identity's ID, "
                "or omit it (or pass an empty string) for the system-assigned identity.",
                "mi-blank-identity",
            )
        elif self._source.kind == mi_sources.SERVICE_FABRIC and self._source.problem:
            self._config_error = (self._source.problem, self._source.problem_key or "mi-bad-response")
        if self._source.kind == mi_sources.SERVICE_FABRIC:
            from .._http.service_fabric import ignored_options, warning_text

            is_async = isinstance(self, AsyncCredential)
            unusable = ignored_options(kwargs, is_async=is_async)
            if unusable:
                # As azure-identity's sync credential: one warning naming them, at the caller's line.
                warnings.warn(warning_text(unusable, is_async=is_async), UserWarning, stacklevel=2)
        self._imds_confirmed = False
        # azure-identity hands its keywords to WorkloadIdentityCredential for that source; the other sources
        # have no tenant to choose.
        allowed_tenants = kwargs.pop("additionally_allowed_tenants", None)
        self._workload = (
            self._workload_credential(env, kwargs, allowed_tenants)
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

    # -- configuration ------------------------------------------------------------------------------
    def _usable_identity(
        self, args: mi_identity.IdentityArgs, within_dac: bool
    ) -> mi_identity.Identity | None:
        """The identity this host is asked for; drops (with a WARNING) what azure-identity ignores and raises
        ValueError where it raises one."""
        kind = self._source.kind
        identity = args.identity
        ignored = list(args.dropped)
        if kind == mi_sources.CLOUD_SHELL:
            refusal = None if within_dac else mi_identity.cloud_shell_refusal(args)
            if refusal is not None:
                from .._mitigations import lookup

                row = lookup("mi-cloud-shell-identity")
                raise ValueError(f"{refusal} {row.mitigation if row else ''}".strip())
            if identity is not None:
                # Inside DefaultAzureCredential (AZURE_CLIENT_ID is its managed_identity_client_id):
                # Cloud Shell has only the signed-in user's identity, which azure-identity gets there too.
                log.emit(
                    log.EVENT_AUTHENTICATION,
                    logging.INFO,
                    "%s: Cloud Shell provides only the signed-in user's identity; %s %s is not used",
                    self._name,
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
                self._name,
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
                self._name,
                ", ".join(repr(key) for key in ignored),
            )
        if args.alias is not None and identity is not None:
            log.emit(
                log.EVENT_AUTHENTICATION,
                logging.INFO,
                "%s reads identity_config key %r as %s",
                self._name,
                args.alias,
                identity.kind,
            )
        return identity

    def _workload_credential(
        self, env: Mapping[str, str], kwargs: dict[str, Any], allowed_tenants: Any
    ) -> Any:
        """AKS workload identity: the token exchange is WorkloadIdentityCredential's flow, run by this
        credential's drivers (as azure-identity does when the webhook's variables are set)."""
        from .workload_identity import WorkloadIdentityCredential

        client_id = self._identity.value if self._identity is not None else env.get("AZURE_CLIENT_ID")
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
            _clock=self._clock,
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
        factor, maximum = self._backoff
        if self._source.kind == mi_sources.IMDS:
            if self._retry_total is None:
                return RetryPolicy(
                    statuses=IMDS_STATUSES,
                    backoff_factor=factor,
                    backoff_max=maximum,
                    gone_budget=GONE_BUDGET,
                    budget=self._budget,
                )
            return RetryPolicy(self._retry_total, IMDS_STATUSES, factor, maximum, budget=self._budget)
        retries = OTHER_RETRIES if self._retry_total is None else self._retry_total
        return RetryPolicy(retries, OTHER_STATUSES, factor, maximum, budget=self._budget)

    def _new_budget(self) -> Budget:
        """One token request's time budget, timed with a monotonic clock (waits count as requested)."""
        return Budget(self._budget, time.monotonic)

    # -- errors -----------------------------------------------------------------------------------
    def _failed(self, detail: str, key: str | None, response: HttpResponse | None = None) -> Exception:
        from .._errors import AuthenticationFailedError

        return AuthenticationFailedError(
            detail, credential=self._name, mitigation_key=key, http_response=response
        )

    def _unavailable(self, detail: str, key: str | None, response: HttpResponse | None = None) -> Exception:
        from .._errors import CredentialUnavailableError

        return CredentialUnavailableError(
            detail, credential=self._name, mitigation_key=key, http_response=response
        )

    def _failed_or_unavailable(
        self, unavailable: bool, detail: str, key: str | None, response: HttpResponse | None = None
    ) -> Exception:
        if unavailable:
            return self._unavailable(detail, key, response)
        return self._failed(detail, key, response)

    # -- the flow -----------------------------------------------------------------------------------
    def _flow(self, request: TokenRequest) -> Flow[Token]:
        source = self._source
        in_chain = self._in_chain()
        if self._config_error is not None:
            raise self._failed(*self._config_error)
        if source.kind == mi_sources.NONE:
            raise self._unavailable(
                source.problem or "No managed identity endpoint found.",
                source.problem_key or "mi-incomplete-environment",
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
            raise self._failed_or_unavailable(in_chain, *unsupported)
        if source.kind == mi_sources.IMDS:
            return (yield from self._imds_flow(resource, in_chain))
        if source.kind == mi_sources.ARC:
            return (yield from self._arc_flow(resource))
        return (yield from self._host_flow(resource))

    def _token(self, response: HttpResponse) -> tuple[Token, dict[str, Any]]:
        try:
            return mi_responses.parse_token(response, self._now())
        except mi_responses.BadTokenResponse as problem:
            raise self._failed(
                f"Unexpected response from the managed identity endpoint: {problem}",
                "mi-bad-response",
                response,
            ) from None

    # IMDS ------------------------------------------------------------------------------------------
    def _imds_flow(self, resource: str, in_chain: bool) -> Flow[Token]:
        if self._probe_enabled() and not self._imds_confirmed:
            yield from self._probe(resource)
            self._imds_confirmed = True
        request = mi_requests.token_request(self._source, resource, self._identity, self._timeouts)
        outcome = yield from send(
            request,
            self._policy(),
            self._now,
            retry_connect_failures=self._imds_confirmed,
            budget=self._new_budget(),
        )
        response = outcome.response
        if response is None:
            # Nothing listening (no probe, no earlier answer): there is no IMDS here. An endpoint
            # that accepted the connection and then hung or reset is there, and failing.
            absent = (
                not self._imds_confirmed
                and not outcome.reached
                and outcome.error is not None
                and connect_failed(outcome.error)
            )
            raise self._no_response(outcome, unavailable=absent)
        status = response.status
        if status in _GATEWAY:
            raise self._failed(
                f"The request failed due to a gateway error ({status}){self._tries(outcome)}.",
                "mi-imds-gateway",
                response,
            )
        if status == 404 and b"no azure identity found" in response.body.lower():
            # AKS pod identity's NMI (answering for IMDS, in plain text) before the pod's identity is ready.
            raise self._failed(
                f"no azure identity found for request clientID{self._tries(outcome)}.",
                "mi-aks-pod-identity",
                response,
            )
        reason = mi_imds.not_imds_reason(response)
        if reason is not None:
            raise self._failed_or_unavailable(
                in_chain,
                f"The endpoint that answered is not IMDS: it returned {reason}.",
                "mi-not-imds",
                response,
            )
        self._imds_confirmed = True
        if status == 200:
            return self._token(response)[0]
        if status == 400:
            text = "The requested identity hasn't been assigned to this resource."
            message = mi_responses.message_of(response)
            if self._identity is None:
                raise self._failed_or_unavailable(
                    in_chain,
                    f"{text} (system-assigned identity: {message or 'no details'})",
                    "mi-imds-identity-not-assigned",
                    response,
                )
            raise self._failed(
                f"{text} (requested {self._identity}: {message or 'no details'})",
                "mi-imds-identity-not-assigned",
                response,
            )
        raise self._status_error(outcome, response)

    def _probe(self, resource: str) -> Flow[None]:
        request = mi_imds.probe_request(self._source.endpoint, resource, self._probe_timeout)
        try:
            response = yield request
        except TransportError as error:
            # Lead with the guide's searchable row text; then say what actually happened, since a
            # refused or reset connection is not a timeout.
            what = "managed identity timed out: " + (
                f"IMDS did not answer within {self._probe_timeout:g} s"
                if error.timeout
                else "IMDS gave no response"
            )
            raise self._unavailable(f"{what} ({error.message})", "dac-mi-timeout") from None
        reason = mi_imds.not_imds_reason(response, probe=True)
        if reason is not None:
            raise self._unavailable(
                f"The endpoint that answered is not IMDS: it returned {reason}.", "mi-not-imds", response
            )
        log.emit(
            log.EVENT_AUTHENTICATION,
            logging.DEBUG,
            "%s: IMDS answered the probe (%s)",
            self._name,
            response.status,
        )

    @staticmethod
    def _tries(outcome: Outcome, *, always: bool = False) -> str:
        """How many attempts, in how long; and whether the budget stopped them."""
        if outcome.attempts < 2 and not outcome.budget_spent and not always:
            return ""
        count = f"{outcome.attempts} attempt{'s' if outcome.attempts != 1 else ''}"
        stopped = (
            f"; no further attempt fits in the {outcome.budget:g} s budget (timeout={outcome.budget:g})"
            if outcome.budget_spent
            else ""
        )
        return f" ({count} in {outcome.elapsed:.1f} s{stopped})"

    def _no_response(self, outcome: Outcome, *, unavailable: bool) -> Exception:
        error = outcome.error
        what = error.message if error is not None else f"GET {self._source.endpoint}: no response"
        if error is not None and self._source.kind == mi_sources.SERVICE_FABRIC:
            from .._http.service_fabric import MISMATCH, ThumbprintMismatch

            if wraps(error, ThumbprintMismatch) is not None or MISMATCH in what:
                return self._failed(
                    "The Service Fabric endpoint's certificate does not match IDENTITY_SERVER_THUMBPRINT; "
                    f"the request was not sent. ({what})",
                    "mi-service-fabric-thumbprint",
                )
        if outcome.attempts > 1:
            detail = (
                f"Multiple attempts failed to obtain a token from the managed identity endpoint"
                f"{self._tries(outcome)}: no response. Last error: {what}"
            )
        else:
            detail = (
                "No response received from the managed identity endpoint"
                f"{self._tries(outcome, always=True)}: {what}"
            )
        return self._failed_or_unavailable(unavailable, detail, "mi-no-response")

    def _status_error(self, outcome: Outcome, response: HttpResponse) -> Exception:
        retryable = response.status in self._policy().statuses
        if retryable and outcome.attempts > 1:
            return self._failed(
                f"Multiple attempts failed to obtain a token from the managed identity endpoint"
                f"{self._tries(outcome)}; the last response is shown below.",
                "mi-retries-exhausted",
                response,
            )
        if retryable and outcome.budget_spent:
            return self._failed(
                f"The managed identity endpoint answered {response.status}, "
                "and waiting to retry (backoff or Retry-After) would not fit in the request's budget"
                f"{self._tries(outcome)}; the response is shown below.",
                "mi-retries-exhausted",
                response,
            )
        message = mi_responses.message_of(response)
        return self._failed(
            f"Unexpected response from the managed identity endpoint ({response.status})"
            f"{': ' + message if message else ''}",
            "mi-bad-response",
            response,
        )

    # App Service, Service Fabric, Cloud Shell, Azure ML --------------------------------------------
    def _host_flow(self, resource: str) -> Flow[Token]:
        request = mi_requests.token_request(self._source, resource, self._identity, self._timeouts)
        outcome = yield from send(request, self._policy(), self._now, budget=self._new_budget())
        response = outcome.response
        if response is None:
            raise self._no_response(outcome, unavailable=False)
        if response.status == 200:
            return self._token(response)[0]
        raise self._host_error(outcome, response)

    def _host_error(self, outcome: Outcome, response: HttpResponse) -> Exception:
        status = response.status
        if 300 <= status < 400:
            location = response.headers.get("location") or "no Location header"
            return self._failed(
                f"The managed identity endpoint answered with a redirect ({status} to {location}); "
                "managed identity requests carry a secret and never follow redirects.",
                "mi-redirect",
                response,
            )
        if self._source.kind == mi_sources.APP_SERVICE and 400 <= status < 500:
            message = mi_responses.message_of(response)
            said = f": {message}" if message else ""
            return self._failed(
                f"The App Service identity endpoint refused the request ({status}){said}",
                "mi-app-service-error",
                response,
            )
        return self._status_error(outcome, response)

    # Azure Arc ---------------------------------------------------------------------------------------
    def _arc_flow(self, resource: str) -> Flow[Token]:
        request = mi_requests.token_request(self._source, resource, self._identity, self._timeouts)
        policy = self._policy()
        budget = self._new_budget()  # the challenge and the answer share it
        outcome = yield from send(request, policy, self._now, budget=budget)
        response = outcome.response
        if response is not None and response.status == 401:
            key = self._arc_key(response)
            outcome = yield from send(
                mi_requests.with_authorization(request, key), policy, self._now, budget=budget
            )
            response = outcome.response
            if response is not None and response.status == 401:
                raise self._failed(
                    "The Azure Arc agent refused the key file's contents.", "mi-arc-key-file", response
                )
        if response is None:
            raise self._no_response(outcome, unavailable=False)
        if response.status != 200:
            raise self._host_error(outcome, response)
        token, payload = self._token(response)
        if self._identity is not None and not arc.confirms_identity(payload, self._identity):
            raise self._failed(
                "Azure Arc did not confirm the requested user-assigned managed identity "
                f"({self._identity}) in the token response. "
                "The agent likely does not support user-assigned managed identities "
                "and returned the system-assigned identity.",
                "mi-arc-user-assigned",
                response,
            )
        return token

    def _arc_key(self, challenge: HttpResponse) -> str:
        """Read the key file the challenge names, if it may be read (see
        ``_protocol.managed_identity.arc``)."""
        try:
            path = arc.challenge_path(challenge)
            token_dir = self._arc_token_dir or arc.default_token_dir(
                os.name, sys.platform, {"PROGRAMDATA": self._program_data}
            )
            resolved = arc.check_key_path(path, token_dir)
            try:
                # O_NONBLOCK: opening a FIFO planted under the .key name must not wait for a writer.
                flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
                with open(os.open(resolved, flags), "rb") as file:
                    info = os.fstat(file.fileno())
                    if not stat.S_ISREG(info.st_mode):
                        raise arc.KeyFileProblem(f"The key file is not a regular file: {path}")
                    arc.check_key_size(info.st_size)
                    data = file.read(arc.MAX_KEY_SIZE + 1)
            except OSError as error:
                raise arc.KeyFileProblem(
                    f"Could not read file {path} contents: {error.strerror or error}"
                ) from None
            arc.check_key_size(len(data))
            try:
                key = data.decode("utf-8").strip()
            except UnicodeDecodeError:
                raise arc.KeyFileProblem(f"The key file is not text: {path}") from None
            if not key or any(ord(ch) < 32 for ch in key):
                raise arc.KeyFileProblem(f"The key file does not hold a key: {path}")
            return key
        except arc.KeyFileProblem as problem:
            raise self._failed(
                f"The key file path is invalid: {problem}", "mi-arc-key-file", challenge
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

    def _sync_io(self) -> SyncIO:
        if self._io is None and self._pinned():
            from .._driver import SyncIO
            from .._http.service_fabric import pinned_user_transport, sync_transport, usable_user_transport

            kwargs = dict(self._pipeline_kwargs)
            thumbprint = self._source.thumbprint or ""
            users = usable_user_transport(kwargs, is_async=False)
            kwargs["transport"] = (
                pinned_user_transport(users, thumbprint, self._source.endpoint)
                if users is not None
                else sync_transport(thumbprint, kwargs)
            )
            self._io = SyncIO(kwargs, self._sleep)
        return super()._sync_io()


class AsyncManagedIdentityCredential(_ManagedIdentity, AsyncCredential):
    __doc__ = ManagedIdentityCredential.__doc__

    def _async_io(self) -> AsyncIO:
        if self._io is None and self._pinned():
            from .._driver import AsyncIO
            from .._http.service_fabric import async_transport

            kwargs = dict(self._pipeline_kwargs)
            kwargs["transport"] = async_transport(self._source.thumbprint or "", kwargs)
            self._io = AsyncIO(kwargs, self._sleep)
        return super()._async_io()
