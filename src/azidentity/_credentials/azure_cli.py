"""AzureCliCredential: tokens from ``az account get-access-token``."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from .._constants import EnvironmentVariables
from .._credential import AsyncCredential, SyncCredential, TokenRequest
from .._protocol import azure_cli
from .._protocol import developer_tool as tool_protocol
from .._protocol.effects import ProcessResult
from .._token import Token
from .developer_tool import DeveloperToolCredential

if TYPE_CHECKING:
    from .._protocol.effects import Flow


class _AzureCli(DeveloperToolCredential):
    _tool: ClassVar[tool_protocol.Tool] = azure_cli.TOOL
    _repr_fields: ClassVar[tuple[str, ...]] = ("tenant_id", "subscription", "process_timeout", "cache_tokens")

    def __init__(
        self,
        *,
        tenant_id: str = "",
        subscription: str | None = None,
        additionally_allowed_tenants: Iterable[str] | None = None,
        process_timeout: float = tool_protocol.DEFAULT_PROCESS_TIMEOUT,
        cache_tokens: bool = False,
    ) -> None:
        if subscription:
            problem = tool_protocol.subscription_error(subscription)
            if problem:
                from .._errors import ConfigurationError

                raise ConfigurationError(problem, credential=self._name, mitigation_key="cli-subscription")
        self._subscription = subscription or None
        self._init_tool(tenant_id, additionally_allowed_tenants, process_timeout, cache_tokens)

    def _executable(self) -> str | None:
        return shutil.which(azure_cli.EXECUTABLE)

    def _command(self, executable: str, scopes: tuple[str, ...], tenant: str) -> tuple[str, ...]:
        return azure_cli.command(executable, tool_protocol.resource_of(scopes[0]), tenant, self._subscription)

    def _environment_additions(self) -> dict[str, str]:
        return dict(azure_cli.ENVIRONMENT)

    def _claims_message(self, claims: str, tenant: str, scopes: tuple[str, ...]) -> str:
        return azure_cli.claims_message(claims, tenant, scopes[0])

    def _subscription_key(self) -> str | None:
        return self._subscription

    def _parse(self, result: ProcessResult) -> Token:
        # A refusal by az leaves as azure_cli.Failure, made into the caller's error by _flow, which
        # knows what was requested.
        return azure_cli.read(result, credential=self._name, timeout=self._process_timeout, now=self._now())

    def _flow(self, request: TokenRequest) -> Flow[Token]:
        try:
            return (yield from super()._flow(request))
        except azure_cli.Failure as failure:
            raise failure.error(self._name, self._requested(request)) from None

    def _requested(self, request: TokenRequest) -> azure_cli.Request:
        """What az was asked for (the tenant as the flow resolved it: a per-call tenant unless
        AZURE_IDENTITY_DISABLE_MULTITENANTAUTH pins the configured one)."""
        tenant = request.tenant_id or self._tenant_id
        if os.environ.get(EnvironmentVariables.AZURE_IDENTITY_DISABLE_MULTITENANTAUTH):
            tenant = self._tenant_id
        return azure_cli.Request(request.scopes[0], tenant or None, self._subscription)


class AzureCliCredential(_AzureCli, SyncCredential):
    """Authenticates as the identity signed in to the Azure CLI (``az login``).

    Runs ``az account get-access-token`` for every ``get_token`` call unless ``cache_tokens`` is set.

    :keyword str tenant_id: tenant to request tokens from; by default, the CLI's current tenant (any tenant
        requested per call is then accepted).
    :keyword str subscription: name or ID of a subscription whose tenant is used (``--subscription``).
    :keyword list[str] additionally_allowed_tenants: tenants besides ``tenant_id`` for which the credential
        may acquire tokens; "*" allows any tenant.
    :keyword int process_timeout: seconds to wait for the Azure CLI (default 10).
    :keyword bool cache_tokens: **addition to azure-identity's signature.** Keep the CLI's tokens in memory
        until their refresh point, keyed by tool, tenant, subscription and scope, so that a burst of
        ``get_token`` calls runs ``az`` once. Off by default: the account signed in to the CLI can change
        between calls, and a cached token would keep the old account's identity until it is refreshed.
    """


class AsyncAzureCliCredential(_AzureCli, AsyncCredential):
    __doc__ = AzureCliCredential.__doc__
