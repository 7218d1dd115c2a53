"""AzurePowerShellCredential: tokens from Azure PowerShell's ``Get-AzAccessToken``."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from typing import ClassVar

from .._credential import AsyncCredential, SyncCredential
from .._protocol import azure_powershell
from .._protocol import developer_tool as tool_protocol
from .._protocol.effects import ProcessResult
from .._token import Token
from .developer_tool import DeveloperToolCredential


class _AzurePowerShell(DeveloperToolCredential):
    _tool: ClassVar[tool_protocol.Tool] = azure_powershell.TOOL

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
        names = azure_powershell.WINDOWS_EXECUTABLES if os.name == "nt" else azure_powershell.EXECUTABLES
        for name in names:
            path = shutil.which(name)
            if path:
                return path
        return None

    def _command(self, executable: str, scopes: tuple[str, ...], tenant: str) -> tuple[str, ...]:
        return azure_powershell.command(executable, tool_protocol.resource_of(scopes[0]), tenant)

    def _display_command(self, argv: tuple[str, ...]) -> str:
        return " ".join((os.path.basename(argv[0]), *argv[1:-1], "<Get-AzAccessToken script>"))

    def _claims_message(self, claims: str, tenant: str, scopes: tuple[str, ...]) -> str:
        return azure_powershell.claims_message(claims, tenant)

    def _parse(self, result: ProcessResult) -> Token:
        return azure_powershell.parse(
            result, credential=self._name, timeout=self._process_timeout, now=self._now()
        )


class AzurePowerShellCredential(_AzurePowerShell, SyncCredential):
    """Authenticates as the identity signed in to Azure PowerShell (``Connect-AzAccount``).

    Runs ``pwsh`` (on Windows, ``powershell`` when pwsh is absent) with a ``Get-AzAccessToken`` script for
    every ``get_token`` call unless ``cache_tokens`` is set. Requires the Az.Accounts module 2.2.0 or later.

    :keyword str tenant_id: tenant to request tokens from; by default, the current Azure PowerShell context's
        tenant (any tenant requested per call is then accepted).
    :keyword list[str] additionally_allowed_tenants: tenants besides ``tenant_id`` for which the credential
        may acquire tokens; "*" allows any tenant.
    :keyword int process_timeout: seconds to wait for PowerShell (default 10).
    :keyword bool cache_tokens: **addition to azure-identity's signature.** Keep the tokens in memory until
        their refresh point, keyed by tool, tenant and scope, so that a burst of ``get_token`` calls starts
        PowerShell once. Off by default: the signed-in account can change between calls.
    """


class AsyncAzurePowerShellCredential(_AzurePowerShell, AsyncCredential):
    __doc__ = AzurePowerShellCredential.__doc__
