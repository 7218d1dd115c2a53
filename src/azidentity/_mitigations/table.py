"""The table's types: a row, the sections rows belong to, and the list rows are added to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Mitigation:
    key: str
    section: str
    error: str
    cause: str
    mitigation: str

    @property
    def anchor(self) -> str:
        return SECTIONS[self.section][0]


# section title -> (anchor, introduction)
SECTIONS: dict[str, tuple[str, str]] = {
    "DefaultAzureCredential": (
        "defaultazurecredential",
        "DefaultAzureCredential tries a chain of credentials in order and uses the first that returns a "
        "token. Run `azidentity doctor` to see, for every member, what happened and why.",
    ),
    "EnvironmentCredential": (
        "environmentcredential",
        "EnvironmentCredential reads its configuration from AZURE_* variables.",
    ),
    "ClientSecretCredential": (
        "clientsecretcredential",
        "A service principal authenticating with a client secret.",
    ),
    "ClientCertificateCredential": (
        "clientcertificatecredential",
        "A service principal authenticating with a certificate (CertificateCredential).",
    ),
    "ClientAssertionCredential": (
        "clientassertioncredential",
        "A service principal authenticating with a signed assertion.",
    ),
    "OnBehalfOfCredential": ("onbehalfofcredential", "A middle-tier service exchanging a user's token."),
    "UsernamePasswordCredential": (
        "usernamepasswordcredential",
        "A user authenticating with a password (deprecated).",
    ),
    "Microsoft Entra ID": (
        "microsoft-entra-id",
        "Errors any credential can receive from Microsoft Entra ID, identified by their AADSTS code.",
    ),
    "ManagedIdentityCredential": (
        "managedidentitycredential",
        "ManagedIdentityCredential asks the hosting Azure service for a token. Which endpoint it uses is "
        "decided from the environment when the credential is created, and logged at INFO.",
    ),
    "Managed identity: Azure Virtual Machines and Scale Sets (IMDS)": (
        "managed-identity-vm",
        "The Instance Metadata Service at 169.254.169.254.",
    ),
    "Managed identity: Azure App Service and Azure Functions": (
        "managed-identity-app-service",
        "The App Service identity endpoint named by IDENTITY_ENDPOINT and IDENTITY_HEADER.",
    ),
    "Managed identity: Azure Kubernetes Service": (
        "managed-identity-aks",
        "Pod identity (through IMDS) and workload identity.",
    ),
    "Managed identity: Azure Arc": (
        "managed-identity-arc",
        "The Azure Connected Machine agent's endpoint and its key-file challenge.",
    ),
    "Managed identity: Azure Service Fabric": (
        "managed-identity-service-fabric",
        "The Service Fabric managed identity token service.",
    ),
    "Managed identity: Azure Cloud Shell": ("managed-identity-cloud-shell", "Cloud Shell's MSI_ENDPOINT."),
    "Managed identity: Azure Machine Learning": (
        "managed-identity-azure-ml",
        "Azure ML compute's MSI_ENDPOINT and MSI_SECRET.",
    ),
    "SharedTokenCacheCredential": (
        "sharedtokencachecredential",
        "Users signed in by other Microsoft tools, from MSAL's shared token cache (read, never written). "
        "User credentials with TokenCachePersistenceOptions read it too, to keep azure-identity's users "
        "signed in.",
    ),
    "VisualStudioCodeCredential": (
        "visualstudiocodecredential",
        "The user signed in to VS Code's Azure Resources extension.",
    ),
    "AzureCliCredential": (
        "azureclicredential",
        "Tokens from the Azure CLI (`az account get-access-token`).",
    ),
    "AzureDeveloperCliCredential": (
        "azuredeveloperclicredential",
        "Tokens from the Azure Developer CLI (`azd auth token`).",
    ),
    "AzurePowerShellCredential": (
        "azurepowershellcredential",
        "Tokens from Azure PowerShell (`Get-AzAccessToken`).",
    ),
    "WorkloadIdentityCredential": (
        "workloadidentitycredential",
        "Kubernetes workload identity: a projected service-account token exchanged with Entra ID.",
    ),
    "AzurePipelinesCredential": (
        "azurepipelinescredential",
        "An Azure Pipelines service connection's OIDC token exchanged with Entra ID.",
    ),
    "Interactive sign-in": (
        "interactive-sign-in",
        "InteractiveBrowserCredential, DeviceCodeCredential and AuthorizationCodeCredential.",
    ),
    "Persistent token cache": ("persistent-token-cache", "The encrypted token cache kept between runs."),
    "Network": ("network", "Failures that happen before any service answers."),
}

_ROWS: list[Mitigation] = []


def _row(key: str, section: str, error: str, cause: str, mitigation: str) -> None:
    _ROWS.append(Mitigation(key, section, error, cause, mitigation))
