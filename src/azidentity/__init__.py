"""azidentity: Microsoft Entra ID credentials for Python, with the troubleshooting guide built in.

Public names resolve lazily (PEP 562): ``import azidentity`` loads neither azure-core's
pipeline, requests, aiohttp nor cryptography; each loads when a credential first needs it.

``_EXPORTS`` is the one table of public names. ``azidentity.aio`` derives its table from it (every
credential class has an ``Async`` twin in the same module), and the ``TYPE_CHECKING`` imports
at the end mirror it for type checkers: ``tests/test_typed_surface.py`` checks both, and runs
mypy to prove that no public name is ``Any``.
"""

from __future__ import annotations

import importlib

from ._lazy import TYPE_CHECKING
from ._version import __version__ as __version__

if TYPE_CHECKING:
    from typing import Any

# public name -> the module that defines it (relative to this package)
_EXPORTS: dict[str, str] = {
    "AuthenticationFailedError": "._errors",
    "AuthenticationRecord": "._cache.auth_record",
    "AuthenticationRequiredError": "._errors",
    "AuthorizationCodeCredential": "._credentials.authorization_code",
    "AzureAuthorityHosts": "._constants",
    "AzureCliCredential": "._credentials.azure_cli",
    "AzureDeveloperCliCredential": "._credentials.azure_developer_cli",
    "AzurePipelinesCredential": "._credentials.azure_pipelines",
    "AzurePowerShellCredential": "._credentials.azure_powershell",
    "CertificateCredential": "._credentials.certificate",
    "ChainedTokenCredential": "._credentials.chained",
    "ClientAssertionCredential": "._credentials.client_assertion",
    "ClientCertificateCredential": "._credentials.certificate",
    "ClientSecretCredential": "._credentials.client_secret",
    "CredentialUnavailableError": "._errors",
    "DefaultAzureCredential": "._credentials.default",
    "DeviceCodeCredential": "._credentials.device_code",
    "EnvironmentCredential": "._credentials.environment",
    "InteractiveBrowserCredential": "._credentials.interactive_browser",
    "KnownAuthorities": "._constants",
    "ManagedIdentityCredential": "._credentials.managed_identity",
    "OnBehalfOfCredential": "._credentials.on_behalf_of",
    "SharedTokenCacheCredential": "._credentials.shared_token_cache",
    "TokenCachePersistenceOptions": "._cache.options",
    "UsernamePasswordCredential": "._credentials.username_password",
    "VisualStudioCodeCredential": "._credentials.visual_studio_code",
    "WorkloadIdentityCredential": "._credentials.workload_identity",
    "get_bearer_token_provider": "._bearer",
}
# The modules whose credential classes have async twins (``Async<Name>``), exported by azidentity.aio.
CREDENTIAL_PACKAGE = "._credentials."

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'azidentity' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover - the same names, for type checkers and IDEs
    from ._bearer import get_bearer_token_provider as get_bearer_token_provider
    from ._cache.auth_record import AuthenticationRecord as AuthenticationRecord
    from ._cache.options import TokenCachePersistenceOptions as TokenCachePersistenceOptions
    from ._constants import AzureAuthorityHosts as AzureAuthorityHosts
    from ._constants import KnownAuthorities as KnownAuthorities
    from ._credentials.authorization_code import AuthorizationCodeCredential as AuthorizationCodeCredential
    from ._credentials.azure_cli import AzureCliCredential as AzureCliCredential
    from ._credentials.azure_developer_cli import AzureDeveloperCliCredential as AzureDeveloperCliCredential
    from ._credentials.azure_pipelines import AzurePipelinesCredential as AzurePipelinesCredential
    from ._credentials.azure_powershell import AzurePowerShellCredential as AzurePowerShellCredential
    from ._credentials.certificate import CertificateCredential as CertificateCredential
    from ._credentials.certificate import ClientCertificateCredential as ClientCertificateCredential
    from ._credentials.chained import ChainedTokenCredential as ChainedTokenCredential
    from ._credentials.client_assertion import ClientAssertionCredential as ClientAssertionCredential
    from ._credentials.client_secret import ClientSecretCredential as ClientSecretCredential
    from ._credentials.default import DefaultAzureCredential as DefaultAzureCredential
    from ._credentials.device_code import DeviceCodeCredential as DeviceCodeCredential
    from ._credentials.environment import EnvironmentCredential as EnvironmentCredential
    from ._credentials.interactive_browser import InteractiveBrowserCredential as InteractiveBrowserCredential
    from ._credentials.managed_identity import ManagedIdentityCredential as ManagedIdentityCredential
    from ._credentials.on_behalf_of import OnBehalfOfCredential as OnBehalfOfCredential
    from ._credentials.shared_token_cache import SharedTokenCacheCredential as SharedTokenCacheCredential
    from ._credentials.username_password import UsernamePasswordCredential as UsernamePasswordCredential
    from ._credentials.visual_studio_code import VisualStudioCodeCredential as VisualStudioCodeCredential
    from ._credentials.workload_identity import WorkloadIdentityCredential as WorkloadIdentityCredential
    from ._errors import AuthenticationFailedError as AuthenticationFailedError
    from ._errors import AuthenticationRequiredError as AuthenticationRequiredError
    from ._errors import CredentialUnavailableError as CredentialUnavailableError
