"""AzureDeveloperCliCredential: tokens from ``azd auth token``."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from .._credential import AsyncCredential, SyncCredential, TokenRequest
from .._protocol import azure_developer_cli
from .._protocol import developer_tool as tool_protocol
from .._protocol.effects import ProcessResult
from .._token import Token
from .developer_tool import DeveloperToolCredential

if TYPE_CHECKING:
    from .._protocol.effects import Flow


class _AzureDeveloperCli(DeveloperToolCredential):
    _tool: ClassVar[tool_protocol.Tool] = azure_developer_cli.TOOL
    _exactly_one_scope: ClassVar[bool] = False

    def __init__(
        self,
        *,
        tenant_id: str = "",
        additionally_allowed_tenants: Iterable[str] | None = None,
        process_timeout: float = tool_protocol.DEFAULT_PROCESS_TIMEOUT,
        cache_tokens: bool = False,
    ) -> None:
        self._init_tool(tenant_id, additionally_allowed_tenants, process_timeout, cache_tokens)

    def _executable(self) -> str | None:
        return shutil.which(azure_developer_cli.EXECUTABLE)

    def _command(self, executable: str, scopes: tuple[str, ...], tenant: str) -> tuple[str, ...]:
        return azure_developer_cli.command(executable, scopes, tenant)

    def _environment_additions(self) -> dict[str, str]:
        return dict(azure_developer_cli.ENVIRONMENT)

    def _claims_message(self, claims: str, tenant: str, scopes: tuple[str, ...]) -> str:
        return azure_developer_cli.claims_message(claims, tenant)

    def _claims_arguments(self, claims: str) -> tuple[str, ...]:
        # As azure-identity and Go do: azd 1.18.1+ takes the challenge itself.
        return azure_developer_cli.claims_arguments(claims)

    def _flow(self, request: TokenRequest) -> Flow[Token]:
        if not request.claims:
            return (yield from super()._flow(request))
        from .._errors import AuthenticationFailedError, CredentialUnavailableError

        try:
            return (yield from super()._flow(request))
        except (CredentialUnavailableError, AuthenticationFailedError) as error:
            # azd couldn't satisfy the challenge with its sign-in (it asks for a login, or Entra asked
            # for MFA): name the login that can, as Go does.
            detail = str(getattr(error, "detail", "") or "")
            if "azd auth login" not in detail and "AADSTS" not in detail:
                raise
            tenant = request.tenant_id or self._tenant_id
            raise type(error)(
                f"{detail}\n{azure_developer_cli.claims_message(request.claims, tenant)}",
                credential=self._name,
                mitigation_key="azd-claims",
            ) from error

    def _parse(self, result: ProcessResult) -> Token:
        return azure_developer_cli.parse(
            result, credential=self._name, timeout=self._process_timeout, now=self._now()
        )


class AzureDeveloperCliCredential(_AzureDeveloperCli, SyncCredential):
    """Authenticates as the identity signed in to the Azure Developer CLI (``azd auth login``).

    Runs ``azd auth token`` for every ``get_token`` call unless ``cache_tokens`` is set. Accepts several
    scopes per request. A claims challenge (``claims=``) is passed to azd as ``--claims`` (azd 1.18.1 or
    later; an older azd makes the credential unavailable, saying so).

    :keyword str tenant_id: tenant to request tokens from; by default, azd's current tenant (any tenant
        requested per call is then accepted).
    :keyword list[str] additionally_allowed_tenants: tenants besides ``tenant_id`` for which the credential
        may acquire tokens; "*" allows any tenant.
    :keyword int process_timeout: seconds to wait for azd (default 10).
    :keyword bool cache_tokens: **addition to azure-identity's signature.** Keep azd's tokens in memory until
        their refresh point, keyed by tool, tenant and scopes, so that a burst of ``get_token`` calls runs
        ``azd`` once. Off by default: the account signed in to azd can change between calls.
    """


class AsyncAzureDeveloperCliCredential(_AzureDeveloperCli, AsyncCredential):
    __doc__ = AzureDeveloperCliCredential.__doc__
