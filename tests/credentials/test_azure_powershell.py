"""AzurePowerShellCredential specifics: the Az.Accounts module and the execution policy."""

from __future__ import annotations

from typing import Any

import pytest

from azidentity import AuthenticationFailedError, CredentialUnavailableError
from azidentity._mitigations import ROWS
from azidentity.emulator import pytest_plugin
from standins import harness
from standins.harness import SCOPE, Tools

# Fixtures (the emulator's are also registered by tests/conftest.py).
emulator = pytest_plugin.emulator
tools = harness.tools


def test_module_not_installed(tools: Tools, flavor: Any) -> None:
    tools.mode("no_module")
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(flavor.make("AzurePowerShellCredential"), SCOPE)
    assert "Az.Accounts module not found" in str(info.value)
    assert info.value.mitigation == ROWS["pwsh-no-module"].mitigation


def test_execution_policy(tools: Tools, flavor: Any) -> None:
    tools.mode("exec_policy")
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(flavor.make("AzurePowerShellCredential"), SCOPE)
    assert "AuthorizationManager check failed" in str(info.value)
    assert info.value.mitigation == ROWS["pwsh-execution-policy"].mitigation


def test_resource_and_tenant_reach_the_script(tools: Tools, flavor: Any) -> None:
    tenant = tools.emulator.other_tenant_id
    cred = flavor.make("AzurePowerShellCredential", tenant_id=tenant)
    token = flavor.get_token(cred, "https://vault.azure.net/.default")
    assert tools.verify(token.token)["aud"] == "https://vault.azure.net"
    [call] = tools.calls("pwsh")
    assert call["script"] == {"resource": "https://vault.azure.net", "tenant": tenant, "recognized": True}
