"""Async credentials: ``from azidentity.aio import ClientSecretCredential``.

Each class here is the async facade over the same configuration and flow as its sync twin
(see ``azidentity._credential``); nothing is copied. Names resolve lazily.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_CREDENTIALS: dict[str, str] = {
    "AuthorizationCodeCredential": "authorization_code",
    "AzureCliCredential": "azure_cli",
    "AzureDeveloperCliCredential": "azure_developer_cli",
    "AzurePipelinesCredential": "azure_pipelines",
    "AzurePowerShellCredential": "azure_powershell",
    "CertificateCredential": "certificate",
    "ChainedTokenCredential": "chained",
    "ClientAssertionCredential": "client_assertion",
    "ClientCertificateCredential": "certificate",
    "ClientSecretCredential": "client_secret",
    "DefaultAzureCredential": "default",
    "DeviceCodeCredential": "device_code",
    "EnvironmentCredential": "environment",
    "InteractiveBrowserCredential": "interactive_browser",
    "ManagedIdentityCredential": "managed_identity",
    "OnBehalfOfCredential": "on_behalf_of",
    "UsernamePasswordCredential": "username_password",
    "WorkloadIdentityCredential": "workload_identity",
}

__all__ = sorted([*_CREDENTIALS, "get_bearer_token_provider"])


def __getattr__(name: str) -> Any:
    if name == "get_bearer_token_provider":
        from .._bearer import get_async_bearer_token_provider

        value: Any = get_async_bearer_token_provider
    elif name in _CREDENTIALS:
        module = importlib.import_module(f"azidentity._credentials.{_CREDENTIALS[name]}")
        value = getattr(module, "Async" + name)
    else:
        raise AttributeError(f"module 'azidentity.aio' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover
    from .._credentials.certificate import AsyncCertificateCredential as CertificateCredential
    from .._credentials.certificate import AsyncClientCertificateCredential as ClientCertificateCredential
    from .._credentials.chained import AsyncChainedTokenCredential as ChainedTokenCredential
    from .._credentials.client_assertion import AsyncClientAssertionCredential as ClientAssertionCredential
    from .._credentials.client_secret import AsyncClientSecretCredential as ClientSecretCredential
    from .._credentials.default import AsyncDefaultAzureCredential as DefaultAzureCredential
    from .._credentials.environment import AsyncEnvironmentCredential as EnvironmentCredential
    from .._credentials.on_behalf_of import AsyncOnBehalfOfCredential as OnBehalfOfCredential
    from .._credentials.username_password import AsyncUsernamePasswordCredential as UsernamePasswordCredential
