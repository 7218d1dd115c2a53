"""Constants users import: authority hosts and well-known identifiers."""

from __future__ import annotations

import warnings


class _AuthorityHostsMeta(type):
    def __getattr__(cls, name: str) -> str:
        if name == "AZURE_GERMANY":
            warnings.warn(
                "Microsoft Cloud Germany was closed on October 29th, 2021.", DeprecationWarning, stacklevel=2
            )
            return "login.microsoftonline.de"
        raise AttributeError(name)


class AzureAuthorityHosts(metaclass=_AuthorityHostsMeta):
    """Hosts of Microsoft Entra ID in the Azure clouds."""

    AZURE_CHINA = "login.chinacloudapi.cn"
    AZURE_GOVERNMENT = "login.microsoftonline.us"
    AZURE_PUBLIC_CLOUD = "login.microsoftonline.com"


KnownAuthorities = AzureAuthorityHosts

DEVELOPER_SIGN_ON_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"

# Audience of Azure Resource Manager per cloud, used by authenticate() without scopes.
ARM_SCOPES = {
    AzureAuthorityHosts.AZURE_PUBLIC_CLOUD: "https://management.core.windows.net//.default",
    AzureAuthorityHosts.AZURE_CHINA: "https://management.core.chinacloudapi.cn//.default",
    AzureAuthorityHosts.AZURE_GOVERNMENT: "https://management.core.usgovcloudapi.net//.default",
}


class EnvironmentVariables:
    AZURE_CLIENT_ID = "AZURE_CLIENT_ID"
    AZURE_CLIENT_SECRET = "AZURE_CLIENT_SECRET"
    AZURE_TENANT_ID = "AZURE_TENANT_ID"
    AZURE_CLIENT_CERTIFICATE_PATH = "AZURE_CLIENT_CERTIFICATE_PATH"
    AZURE_CLIENT_CERTIFICATE_PASSWORD = "AZURE_CLIENT_CERTIFICATE_PASSWORD"
    AZURE_CLIENT_SEND_CERTIFICATE_CHAIN = "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN"
    AZURE_USERNAME = "AZURE_USERNAME"
    AZURE_PASSWORD = "AZURE_PASSWORD"
    AZURE_AUTHORITY_HOST = "AZURE_AUTHORITY_HOST"
    AZURE_FEDERATED_TOKEN_FILE = "AZURE_FEDERATED_TOKEN_FILE"
    AZURE_TOKEN_CREDENTIALS = "AZURE_TOKEN_CREDENTIALS"
    AZURE_IDENTITY_DISABLE_MULTITENANTAUTH = "AZURE_IDENTITY_DISABLE_MULTITENANTAUTH"
    AZURE_POD_IDENTITY_AUTHORITY_HOST = "AZURE_POD_IDENTITY_AUTHORITY_HOST"
    IDENTITY_ENDPOINT = "IDENTITY_ENDPOINT"
    IDENTITY_HEADER = "IDENTITY_HEADER"
    IDENTITY_SERVER_THUMBPRINT = "IDENTITY_SERVER_THUMBPRINT"
    IMDS_ENDPOINT = "IMDS_ENDPOINT"
    MSI_ENDPOINT = "MSI_ENDPOINT"
    MSI_SECRET = "MSI_SECRET"
