"""Async credentials: ``from azidentity.aio import ClientSecretCredential``.

Each class here is the async facade over the same configuration and flow as its sync twin
(see ``azidentity._credential``); nothing is copied. Names resolve lazily, from the table in
``azidentity/__init__.py``: every credential there has an ``Async<Name>`` twin in its module.
"""

from __future__ import annotations

import importlib

from .. import _EXPORTS, CREDENTIAL_PACKAGE
from .._lazy import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

# public name -> module (absolute) holding ``Async<name>``
_CREDENTIALS: dict[str, str] = {
    name: "azidentity" + module for name, module in _EXPORTS.items() if module.startswith(CREDENTIAL_PACKAGE)
}

# A literal list, so that type checkers see the names as exported (a test checks it against the table).
__all__ = [
    "AuthorizationCodeCredential",
    "AzureCliCredential",
    "AzureDeveloperCliCredential",
    "AzurePipelinesCredential",
    "AzurePowerShellCredential",
    "CertificateCredential",
    "ChainedTokenCredential",
    "ClientAssertionCredential",
    "ClientCertificateCredential",
    "ClientSecretCredential",
    "DefaultAzureCredential",
    "DeviceCodeCredential",
    "EnvironmentCredential",
    "InteractiveBrowserCredential",
    "ManagedIdentityCredential",
    "OnBehalfOfCredential",
    "SharedTokenCacheCredential",
    "UsernamePasswordCredential",
    "VisualStudioCodeCredential",
    "WorkloadIdentityCredential",
    "get_bearer_token_provider",
]


def __getattr__(name: str) -> Any:
    if name == "get_bearer_token_provider":
        from .._bearer import get_async_bearer_token_provider

        value: Any = get_async_bearer_token_provider
    elif name in _CREDENTIALS:
        value = getattr(importlib.import_module(_CREDENTIALS[name]), "Async" + name)
    else:
        raise AttributeError(f"module 'azidentity.aio' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover - the same names, for type checkers and IDEs
    from .._bearer import get_async_bearer_token_provider as get_bearer_token_provider
    from .._credentials.authorization_code import (
        AsyncAuthorizationCodeCredential as AuthorizationCodeCredential,
    )
    from .._credentials.azure_cli import AsyncAzureCliCredential as AzureCliCredential
    from .._credentials.azure_developer_cli import (
        AsyncAzureDeveloperCliCredential as AzureDeveloperCliCredential,
    )
    from .._credentials.azure_pipelines import AsyncAzurePipelinesCredential as AzurePipelinesCredential
    from .._credentials.azure_powershell import AsyncAzurePowerShellCredential as AzurePowerShellCredential
    from .._credentials.certificate import AsyncCertificateCredential as CertificateCredential
    from .._credentials.certificate import AsyncClientCertificateCredential as ClientCertificateCredential
    from .._credentials.chained import AsyncChainedTokenCredential as ChainedTokenCredential
    from .._credentials.client_assertion import AsyncClientAssertionCredential as ClientAssertionCredential
    from .._credentials.client_secret import AsyncClientSecretCredential as ClientSecretCredential
    from .._credentials.default import AsyncDefaultAzureCredential as DefaultAzureCredential
    from .._credentials.device_code import AsyncDeviceCodeCredential as DeviceCodeCredential
    from .._credentials.environment import AsyncEnvironmentCredential as EnvironmentCredential
    from .._credentials.interactive_browser import (
        AsyncInteractiveBrowserCredential as InteractiveBrowserCredential,
    )
    from .._credentials.managed_identity import AsyncManagedIdentityCredential as ManagedIdentityCredential
    from .._credentials.on_behalf_of import AsyncOnBehalfOfCredential as OnBehalfOfCredential
    from .._credentials.shared_token_cache import (
        AsyncSharedTokenCacheCredential as SharedTokenCacheCredential,
    )
    from .._credentials.username_password import AsyncUsernamePasswordCredential as UsernamePasswordCredential
    from .._credentials.visual_studio_code import (
        AsyncVisualStudioCodeCredential as VisualStudioCodeCredential,
    )
    from .._credentials.workload_identity import AsyncWorkloadIdentityCredential as WorkloadIdentityCredential
