"""The one table of failures: cause, mitigation and troubleshooting anchor.

Errors, log lines, ``azidentity doctor`` and TROUBLESHOOTING.md all read this table
(``python -m azidentity._troubleshooting`` renders the document; a test checks that the
committed file matches), so the advice a user sees can never disagree between them.

A row is found by key: an Entra ID error code (``"AADSTS7000215"``) or a condition name
(``"mi-imds-identity-not-assigned"``). Entra codes may be listed under several sections
(700016 is both a secret and a certificate problem); :func:`lookup` prefers the row of the
credential's own section and falls back to the general Entra ID section.
"""

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
    "EnvironmentCredential": ("environmentcredential", "EnvironmentCredential reads its configuration from AZURE_* variables."),
    "ClientSecretCredential": ("clientsecretcredential", "A service principal authenticating with a client secret."),
    "ClientCertificateCredential": (
        "clientcertificatecredential",
        "A service principal authenticating with a certificate (CertificateCredential).",
    ),
    "ClientAssertionCredential": ("clientassertioncredential", "A service principal authenticating with a signed assertion."),
    "OnBehalfOfCredential": ("onbehalfofcredential", "A middle-tier service exchanging a user's token."),
    "UsernamePasswordCredential": ("usernamepasswordcredential", "A user authenticating with a password (deprecated)."),
    "Microsoft Entra ID": (
        "microsoft-entra-id",
        "Errors any credential can receive from Microsoft Entra ID, identified by their AADSTS code.",
    ),
    "ManagedIdentityCredential": (
        "managedidentitycredential",
        "ManagedIdentityCredential asks the hosting Azure service for a token. Which endpoint it uses is "
        "decided from the environment when the credential is created, and logged at INFO.",
    ),
    "Managed identity: Azure Virtual Machines and Scale Sets (IMDS)": ("managed-identity-vm", "The Instance Metadata Service at 169.254.169.254."),
    "Managed identity: Azure App Service and Azure Functions": (
        "managed-identity-app-service",
        "The App Service identity endpoint named by IDENTITY_ENDPOINT and IDENTITY_HEADER.",
    ),
    "Managed identity: Azure Kubernetes Service": ("managed-identity-aks", "Pod identity (through IMDS) and workload identity."),
    "Managed identity: Azure Arc": ("managed-identity-arc", "The Azure Connected Machine agent's endpoint and its key-file challenge."),
    "Managed identity: Azure Service Fabric": ("managed-identity-service-fabric", "The Service Fabric managed identity token service."),
    "Managed identity: Azure Cloud Shell": ("managed-identity-cloud-shell", "Cloud Shell's MSI_ENDPOINT."),
    "Managed identity: Azure Machine Learning": ("managed-identity-azure-ml", "Azure ML compute's MSI_ENDPOINT and MSI_SECRET."),
    "AzureCliCredential": ("azureclicredential", "Tokens from the Azure CLI (`az account get-access-token`)."),
    "AzureDeveloperCliCredential": ("azuredeveloperclicredential", "Tokens from the Azure Developer CLI (`azd auth token`)."),
    "AzurePowerShellCredential": ("azurepowershellcredential", "Tokens from Azure PowerShell (`Get-AzAccessToken`)."),
    "WorkloadIdentityCredential": ("workloadidentitycredential", "Kubernetes workload identity: a projected service-account token exchanged with Entra ID."),
    "AzurePipelinesCredential": ("azurepipelinescredential", "An Azure Pipelines service connection's OIDC token exchanged with Entra ID."),
    "Interactive sign-in": ("interactive-sign-in", "InteractiveBrowserCredential, DeviceCodeCredential and AuthorizationCodeCredential."),
    "Persistent token cache": ("persistent-token-cache", "The encrypted token cache kept between runs."),
    "Network": ("network", "Failures that happen before any service answers."),
}

_ROWS: list[Mitigation] = []


def _row(key: str, section: str, error: str, cause: str, mitigation: str) -> None:
    _ROWS.append(Mitigation(key, section, error, cause, mitigation))


# --- DefaultAzureCredential / chains ---------------------------------------------------------
_row("dac-failed", "DefaultAzureCredential", "DefaultAzureCredential failed to acquire a token.",
     "No credential in the chain returned a token.",
     "Read the line of each attempted credential below the message; run `azidentity doctor` for the facts "
     "about this machine. Configure one credential for this environment, or set AZURE_TOKEN_CREDENTIALS to "
     "choose it.")
_row("dac-forbidden", "DefaultAzureCredential", "Error from the client with a status code of 401 or 403",
     "Authentication succeeded, but the Azure service refused the identity that DefaultAzureCredential found.",
     "Enable INFO logging to see which credential provided the token (\"DefaultAzureCredential authenticated "
     "with ...\"); if it is not the identity you expected, narrow the chain with AZURE_TOKEN_CREDENTIALS. "
     "Otherwise grant that identity the role the service requires.")
_row("dac-mi-timeout", "DefaultAzureCredential", "managed identity timed out",
     "DefaultAzureCredential gives managed identity one short first attempt so that local development is not "
     "slowed down by an absent IMDS. In production the host's endpoint may not be ready yet at that moment.",
     "In production, use ManagedIdentityCredential directly (it waits and retries), or set "
     "AZURE_TOKEN_CREDENTIALS=ManagedIdentityCredential.")
_row("dac-invalid-token-credentials", "DefaultAzureCredential", "Invalid value for AZURE_TOKEN_CREDENTIALS",
     "AZURE_TOKEN_CREDENTIALS holds a value that names no credential group or credential.",
     "Set it to 'dev', 'prod' or the name of one credential of the chain, such as 'AzureCliCredential'.")
_row("dac-stopped", "DefaultAzureCredential", "A credential in the chain failed, and the chain stopped there",
     "A chain moves on only past credentials that are unavailable (not configured here). A credential that is "
     "configured but refused stops the chain: the credentials after it are not tried.",
     "Fix the failing credential using its own message, or leave it out of the chain (its exclude_* argument, or "
     "AZURE_TOKEN_CREDENTIALS naming the credential you want).")
_row("chain-failed", "DefaultAzureCredential", "ChainedTokenCredential failed to acquire a token.",
     "No credential of the chain returned a token.",
     "Read the line of each attempted credential; each names its own cause and fix.")

# --- EnvironmentCredential -------------------------------------------------------------------
_row("env-incomplete", "EnvironmentCredential", "Missing or incomplete environment variable configuration",
     "The AZURE_* variables set do not form a complete configuration.",
     "Set AZURE_TENANT_ID and AZURE_CLIENT_ID plus one of: AZURE_CLIENT_SECRET; AZURE_CLIENT_CERTIFICATE_PATH "
     "(and AZURE_CLIENT_CERTIFICATE_PASSWORD if the file is encrypted); or AZURE_USERNAME and AZURE_PASSWORD.")
_row("env-bad-value", "EnvironmentCredential", "An environment variable holds an unusable value",
     "A variable is set but empty, or names a file that cannot be read.",
     "Fix the variable named in the message, or unset it.")

# --- Entra ID codes: credential sections -------------------------------------------------------
_row("AADSTS7000215", "ClientSecretCredential", "AADSTS7000215",
     "An invalid client secret was provided.",
     "Check that the credential is given the secret's value, not its ID. If unsure, create a new client "
     "secret for the app registration in the Azure portal and use its value.")
_row("AADSTS7000222", "ClientSecretCredential", "AADSTS7000222",
     "The client secret has expired.",
     "Create a new client secret for the app registration in the Azure portal and configure the new value.")
_row("AADSTS700016", "ClientSecretCredential", "AADSTS700016",
     "The application was not found in the tenant.",
     "Check the client ID and tenant ID given to the credential. A multi-tenant application must first be "
     "added to the tenant by one of its administrators.")
_row("AADSTS700027", "ClientCertificateCredential", "AADSTS700027",
     "The client assertion has an invalid signature: Entra ID does not know the certificate that signed it.",
     "Upload the certificate (its public part) to the app registration, or configure the certificate that is "
     "already registered there; compare thumbprints.")
_row("AADSTS700016-cert", "ClientCertificateCredential", "AADSTS700016",
     "The application was not found in the tenant.",
     "Check the client ID and tenant ID given to the credential. A multi-tenant application must first be "
     "added to the tenant by one of its administrators.")
_row("AADSTS50126", "UsernamePasswordCredential", "AADSTS50126",
     "The username or password is invalid.",
     "Check the username and password given to the credential. Prefer a credential that supports "
     "multifactor authentication.")
_row("AADSTS700024", "ClientAssertionCredential", "AADSTS700024",
     "The client assertion is not within its valid time range.",
     "Check the machine's clock, and make the assertion callback return a fresh assertion on every call.")

# --- Entra ID codes: general ------------------------------------------------------------------
_row("AADSTS90002", "Microsoft Entra ID", "AADSTS90002",
     "The tenant was not found.", "Check the tenant ID, and that the authority host is the cloud the tenant lives in.")
_row("AADSTS900023", "Microsoft Entra ID", "AADSTS900023",
     "The tenant identifier is neither a valid GUID nor a valid domain name.",
     "Use the tenant's ID (a GUID) or its primary domain name.")
_row("AADSTS500011", "Microsoft Entra ID", "AADSTS500011",
     "The resource named by the scope was not found in the tenant: usually a wrong scope.",
     "Check the scope: for Azure services it is the resource URL followed by '/.default', for example "
     "'https://storage.azure.com/.default'.")
_row("AADSTS50076", "Microsoft Entra ID", "AADSTS50076",
     "Multifactor authentication is required.",
     "Sign in interactively (InteractiveBrowserCredential, DeviceCodeCredential, or the developer tool's "
     "login command) so that MFA can be completed.")
_row("AADSTS50079", "Microsoft Entra ID", "AADSTS50079",
     "The user must enroll in multifactor authentication.",
     "Sign in interactively once to complete MFA enrollment.")
_row("AADSTS65001", "Microsoft Entra ID", "AADSTS65001",
     "The user or an administrator has not consented to the application.",
     "Grant consent to the application for the requested permissions (admin consent for app permissions).")
_row("AADSTS53003", "Microsoft Entra ID", "AADSTS53003",
     "Access was blocked by a Conditional Access policy.",
     "Ask the tenant administrator which policy applies; sign in from a compliant device or location.")
_row("AADSTS7000112", "Microsoft Entra ID", "AADSTS7000112",
     "The application is disabled.", "Enable the application's service principal in the tenant.")
_row("AADSTS70021", "WorkloadIdentityCredential", "AADSTS70021",
     "No federated identity credential on the app registration matches the assertion's issuer, subject and audience.",
     "Compare the issuer, subject and audience shown in the message with the federated credential on the "
     "app registration or managed identity; they must match exactly (case-sensitive).")
_row("AADSTS700213", "WorkloadIdentityCredential", "AADSTS700213",
     "No federated identity record matches the assertion's subject.",
     "Compare the subject (for Kubernetes: system:serviceaccount:<namespace>:<name>) with the federated credential.")
_row("AADSTS700211", "WorkloadIdentityCredential", "AADSTS700211",
     "No federated identity record matches the assertion's issuer.",
     "Compare the issuer shown in the message with the federated credential's issuer (for AKS: the cluster's "
     "OIDC issuer URL, az aks show --query oidcIssuerProfile.issuerUrl).")
_row("AADSTS700212", "WorkloadIdentityCredential", "AADSTS700212",
     "No federated identity record matches the assertion's audience.",
     "The federated credential's audience is normally api://AzureADTokenExchange; the projected token's audience "
     "must be the same.")
_row("AADSTS70021-pipelines", "AzurePipelinesCredential", "AADSTS70021",
     "No federated identity credential matches the service connection's OIDC token.",
     "Compare the issuer and subject shown in the message (subject: sc://<organization>/<project>/<service "
     "connection>) with the federated credential of the service connection's identity.")
_row("AADSTS700213-pipelines", "AzurePipelinesCredential", "AADSTS700213",
     "No federated identity record matches the OIDC token's subject.",
     "The subject is sc://<organization>/<project>/<service connection>: check that the service connection was not "
     "renamed or moved since its federated credential was created.")
_row("AADSTS900023-pipelines", "AzurePipelinesCredential",
     "AADSTS900023: Specified tenant identifier is neither a valid DNS name, nor a valid external domain.",
     "The tenant_id given to AzurePipelinesCredential is wrong.",
     "Use the tenant of the service principal or user-assigned managed identity behind the service connection.")
_row("entra-unexpected", "Microsoft Entra ID", "Unexpected response from Microsoft Entra ID",
     "Entra ID (or something answering in its place, such as a proxy) returned a response that is not a token.",
     "Check the authority host and any proxy between this machine and Entra ID; the response is shown above.")

# --- Tenants and configuration ----------------------------------------------------------------
_row("tenant-not-allowed", "Microsoft Entra ID", "The credential is not configured to acquire tokens for the tenant",
     "A token was requested for a tenant other than the credential's own, and that tenant is not allowed.",
     "Add the tenant to additionally_allowed_tenants when creating the credential, or add \"*\" to allow any tenant.")

# --- Network ----------------------------------------------------------------------------------
_row("network", "Network", "The service could not be reached",
     "The request got no HTTP response: the connection was refused, reset or timed out, or TLS failed.",
     "Check network access to the endpoint in the message, proxy settings (HTTPS_PROXY, NO_PROXY) and the "
     "trusted CA certificates (connection_verify, REQUESTS_CA_BUNDLE).")

# --- Managed identity -------------------------------------------------------------------------
_MI_VM = "Managed identity: Azure Virtual Machines and Scale Sets (IMDS)"
_row("mi-imds-identity-not-assigned", _MI_VM, "The requested identity hasn't been assigned to this resource.",
     "IMDS answered 400: the identity asked for is not assigned to this VM.",
     "For a user-assigned identity, check the client, object or resource ID and that the identity is assigned "
     "to the VM; for the system-assigned identity, enable it on the VM.")
_row("mi-imds-gateway", _MI_VM, "The request failed due to a gateway error.",
     "The request to IMDS failed with 502 or 504: a proxy or gateway stood between the program and IMDS.",
     "IMDS does not work through proxies or gateways. Exclude 169.254.169.254 from proxying (NO_PROXY).")
_row("mi-no-response", _MI_VM, "No response received from the managed identity endpoint.",
     "The managed identity endpoint did not answer, or did not answer in time.",
     "Check that the host has a managed identity configured, and that its endpoint is reachable from the "
     "program (for IMDS: curl -H Metadata:true \"http://169.254.169.254/metadata/identity/oauth2/token?"
     "api-version=2018-02-01&resource=https://management.azure.com\").")
_row("mi-retries-exhausted", _MI_VM, "Multiple attempts failed to obtain a token from the managed identity endpoint.",
     "The endpoint kept failing until the credential's retries ran out.",
     "Read the last response shown in the message; check the identity configuration and the endpoint's health. "
     "Raise retry_total or the timeouts if the host is slow to start.")
_row("mi-not-imds", _MI_VM, "The endpoint that answered is not IMDS.",
     "Something other than IMDS answered at its address: for example Docker Desktop's proxy (403 "
     "\"unreachable\"), an HTML page from a proxy, or a non-JSON body.",
     "This machine has no managed identity: use another credential here, or exclude 169.254.169.254 from "
     "proxying if this is an Azure host.")
_row("mi-bad-response", "ManagedIdentityCredential", "Unexpected response from the managed identity endpoint",
     "The endpoint answered, but not with a token this credential can read.",
     "Check the environment variables that point at the endpoint; the response is shown above.")
_row("mi-unsupported-identity", "ManagedIdentityCredential", "This host does not support the requested kind of user-assigned identity",
     "A client, object or resource ID was given on a host that cannot select identities that way.",
     "Remove the ID to use the host's identity, or use an ID kind that the host supports (see the message).")
_row("mi-app-service-not-enabled", "Managed identity: Azure App Service and Azure Functions",
     "Managed identity is not enabled for this app",
     "The App Service host did not set IDENTITY_ENDPOINT and IDENTITY_HEADER, which it does only when the app "
     "has a managed identity.",
     "Enable a system-assigned identity, or assign a user-assigned identity, on the app (Identity blade), then "
     "restart it and check that IDENTITY_ENDPOINT is set.")
_row("mi-app-service-error", "Managed identity: Azure App Service and Azure Functions", "The App Service identity endpoint refused the request",
     "The endpoint rejected the secret header or the requested identity.",
     "Check that the requested identity is assigned to the app; restart the app if IDENTITY_HEADER was rotated.")
_row("mi-aks-pod-identity", "Managed identity: Azure Kubernetes Service", "no azure identity found for request clientID",
     "The application asked for a token before an identity was assigned to its pod.",
     "Check the pod's labels. If they are right, the identity was not ready yet: configure NMI to send "
     "Retry-After so that the credential waits.")
_row("mi-arc-key-file", "Managed identity: Azure Arc", "The Azure Arc key file challenge is invalid",
     "The agent named a key file outside its token directory, without the .key extension, larger than 4096 "
     "bytes, or unreadable.",
     "Run the program as a user in the himds group (Linux) or as an administrator (Windows); check the Azure "
     "Connected Machine agent's health with azcmagent show.")
_row("mi-arc-user-assigned", "Managed identity: Azure Arc", "Azure Arc did not confirm the requested user-assigned managed identity",
     "The agent returned a token without echoing the requested identity: it likely issued the system-assigned identity.",
     "Upgrade the Azure Connected Machine agent, or request the system-assigned identity.")
_row("mi-service-fabric-identity", "Managed identity: Azure Service Fabric", "Service Fabric does not accept a user-assigned identity argument",
     "The identity is chosen by the cluster's application configuration, not by the caller.",
     "Remove client_id and identity_config; configure the identity on the Service Fabric application.")
_row("mi-service-fabric-thumbprint", "Managed identity: Azure Service Fabric", "The Service Fabric endpoint's certificate does not match IDENTITY_SERVER_THUMBPRINT",
     "The TLS certificate presented by the endpoint is not the one the cluster announced.",
     "Check IDENTITY_SERVER_THUMBPRINT; a mismatch can mean traffic is being intercepted.")
_row("mi-cloud-shell-identity", "Managed identity: Azure Cloud Shell", "Cloud Shell does not support user-assigned identities",
     "Cloud Shell only provides the signed-in user's identity.", "Remove client_id and identity_config.")
_row("mi-azure-ml-identity", "Managed identity: Azure Machine Learning", "Azure ML supports user-assigned identities by client ID only",
     "Azure ML compute selects identities by client ID.", "Use client_id (or identity_config={'client_id': ...}).")
_row("mi-incomplete-environment", "ManagedIdentityCredential", "No managed identity endpoint found",
     "IDENTITY_ENDPOINT is set without IDENTITY_HEADER (App Service, Service Fabric) or IMDS_ENDPOINT (Azure Arc), "
     "so the host cannot be determined.",
     "On an Azure host, enable managed identity for the resource and restart it; elsewhere, unset "
     "IDENTITY_ENDPOINT or use another credential.")
_row("mi-redirect", "ManagedIdentityCredential", "The managed identity endpoint answered with a redirect",
     "Managed identity endpoints never redirect; the request carries the host's secret, so it is not sent anywhere "
     "else.",
     "Check IDENTITY_ENDPOINT / MSI_ENDPOINT: they must name the host's token endpoint itself.")

# --- Developer tools --------------------------------------------------------------------------
_row("cli-not-found", "AzureCliCredential", "Azure CLI not found on path",
     "The Azure CLI isn't installed or isn't on the program's PATH.",
     "Install the Azure CLI (https://aka.ms/azure-cli) and make sure `az` is on the PATH of this program.")
_row("cli-not-logged-in", "AzureCliCredential", "Please run 'az login' to set up account",
     "No account is logged in to the Azure CLI, or the login expired.",
     "Run `az login`, then check with `az account get-access-token --output json --resource "
     "https://management.core.windows.net`.")
_row("cli-claims", "AzureCliCredential", "Azure CLI requires multifactor authentication or additional claims",
     "The request carries a claims challenge, which only an interactive login can satisfy.",
     "Run the login command shown in the message, then retry.")
_row("cli-timeout", "AzureCliCredential", "Azure CLI timed out",
     "The Azure CLI did not finish within process_timeout.",
     "Raise process_timeout (for example AzureCliCredential(process_timeout=30)); check that `az` runs "
     "without prompting.")
_row("cli-subscription", "AzureCliCredential", "Subscription contains invalid characters",
     "The subscription contains characters that are not allowed on the command line.",
     "Use the subscription's ID: az account show --name \"<name>\" --query id")
_row("cli-failed", "AzureCliCredential", "The Azure CLI failed",
     "`az account get-access-token` exited with an error or printed unreadable output.",
     "Run `az account get-access-token --output json --resource <resource>` yourself to see the problem.")
_row("azd-not-found", "AzureDeveloperCliCredential", "Azure Developer CLI not found on path",
     "The Azure Developer CLI isn't installed or isn't on the program's PATH.",
     "Install the Azure Developer CLI (https://aka.ms/azure-dev/install) and make sure `azd` is on the PATH.")
_row("azd-not-logged-in", "AzureDeveloperCliCredential", "Please run \"azd auth login\"",
     "No account is logged in to the Azure Developer CLI, or the login expired.",
     "Run `azd auth login`, then check with `azd auth token --output json --scope "
     "https://management.core.windows.net/.default`.")
_row("azd-claims", "AzureDeveloperCliCredential", "Azure Developer CLI requires multifactor authentication or additional claims",
     "The request carries a claims challenge, which only an interactive login can satisfy.",
     "Run the login command shown in the message, then retry (azd 1.18.1 or later).")
_row("azd-timeout", "AzureDeveloperCliCredential", "Azure Developer CLI timed out",
     "azd did not finish within process_timeout.", "Raise process_timeout; check that azd runs without prompting.")
_row("azd-failed", "AzureDeveloperCliCredential", "The Azure Developer CLI failed",
     "`azd auth token` exited with an error or printed unreadable output.",
     "Run `azd auth token --output json --scope <scope>` yourself to see the problem.")
_row("pwsh-not-found", "AzurePowerShellCredential", "PowerShell is not installed",
     "Neither pwsh nor powershell was found on the program's PATH.",
     "Install PowerShell (https://aka.ms/install-powershell) and make sure `pwsh` is on the PATH.")
_row("pwsh-no-module", "AzurePowerShellCredential", "Az.Accounts module not found",
     "The Az.Accounts PowerShell module (2.2.0 or later) is not installed.",
     "Run `Install-Module -Name Az.Accounts -Scope CurrentUser` in PowerShell.")
_row("pwsh-not-logged-in", "AzurePowerShellCredential", "Please run \"Connect-AzAccount\" to set up account",
     "No account is logged in to Azure PowerShell.",
     "Run `Connect-AzAccount`, then check with `Get-AzAccessToken -ResourceUrl https://management.core.windows.net`.")
_row("pwsh-claims", "AzurePowerShellCredential", "Azure PowerShell requires multifactor authentication or additional claims",
     "The request carries a claims challenge, which only an interactive login can satisfy.",
     "Run the Connect-AzAccount command shown in the message, then retry.")
_row("pwsh-timeout", "AzurePowerShellCredential", "Azure PowerShell timed out",
     "PowerShell did not finish within process_timeout.", "Raise process_timeout.")
_row("pwsh-failed", "AzurePowerShellCredential", "Azure PowerShell failed",
     "Get-AzAccessToken failed or printed unreadable output.",
     "Run `Get-AzAccessToken -ResourceUrl <resource>` in pwsh yourself to see the problem.")
_row("pwsh-execution-policy", "AzurePowerShellCredential", "Execution policy prevented invoking Azure PowerShell",
     "PowerShell's execution policy refused to load the Az.Accounts module (\"AuthorizationManager check failed\").",
     "Allow signed modules for your user, e.g. `Set-ExecutionPolicy -Scope CurrentUser RemoteSigned`, or ask your "
     "administrator which policy applies.")

# --- Federated ---------------------------------------------------------------------------------
_row("workload-incomplete", "WorkloadIdentityCredential", "no client ID/tenant ID/token file specified",
     "The configuration is incomplete.",
     "On AKS these values come from the Azure Workload Identity webhook: check that the pod's service account "
     "is annotated with azure.workload.identity/client-id and the pod labelled azure.workload.identity/use: "
     "\"true\". Elsewhere pass tenant_id, client_id and token_file_path.")
_row("workload-token-file", "WorkloadIdentityCredential", "The federated token file cannot be read",
     "The file named by AZURE_FEDERATED_TOKEN_FILE (or token_file_path) is missing, unreadable or empty.",
     "Check the projected service-account token volume of the pod.")
_row("pipelines-service-connection", "AzurePipelinesCredential", "No service connection found with identifier",
     "The service_connection_id is wrong.",
     "Use the resourceId of the Azure service connection; it is also in the query string of the service "
     "connection's page in Azure DevOps.")
_row("pipelines-unauthorized", "AzurePipelinesCredential", "401 (Unauthorized) response from OIDC endpoint",
     "The system_access_token is wrong.",
     "Pass the predefined variable System.AccessToken (map it into the step's environment, e.g. "
     "SYSTEM_ACCESSTOKEN: $(System.AccessToken)).")
_row("pipelines-oidc-failed", "AzurePipelinesCredential", "Unexpected response from the OIDC endpoint",
     "Azure Pipelines' OIDC endpoint did not return an OIDC token for the service connection.",
     "Check the service_connection_id and that the pipeline may use the service connection; give the x-vss-e2eid "
     "and x-msedge-ref values shown in the message to Azure DevOps support if the problem persists.")
_row("pipelines-not-in-pipeline", "AzurePipelinesCredential", "Missing value for the SYSTEM_OIDCREQUESTURI environment variable",
     "The program does not run in an Azure Pipelines job.", "Use AzurePipelinesCredential only inside a pipeline job.")

# --- Interactive and cache ----------------------------------------------------------------------
_row("auth-required", "Interactive sign-in", "Interactive authentication is required",
     "The credential has no cached token or refresh token for the account and may not prompt.",
     "Call authenticate() to sign the user in, or allow automatic authentication.")
_row("interactive-timeout", "Interactive sign-in", "Timed out waiting for the user to authenticate",
     "The user did not complete sign-in in time.", "Raise timeout, or complete sign-in sooner.")
_row("interactive-no-server", "Interactive sign-in", "Couldn't start an HTTP server",
     "InteractiveBrowserCredential receives the sign-in's answer on a server it runs on localhost, and it could "
     "not listen: every port of 8400-8999 is taken, or the port of the redirect_uri given is.",
     "Free the port named in the message, or pass a redirect_uri whose port is free and is registered on the "
     "application. Where no browser can run, use DeviceCodeCredential.")
_row("interactive-no-browser", "Interactive sign-in", "Failed to open a browser",
     "No web browser could be started: common over SSH, in containers and on servers without a desktop.",
     "Use DeviceCodeCredential, which lets the user sign in on another device, or set the BROWSER environment "
     "variable to a browser command.")
_row("interactive-state-mismatch", "Interactive sign-in", "The redirect's state parameter doesn't match the sign-in",
     "A response reached the credential that does not belong to the sign-in in progress (an old browser tab, or "
     "another program).", "Sign in again, in the browser window this sign-in opened.")
_row("interactive-sign-in-failed", "Interactive sign-in", "The sign-in page answered with an error",
     "Microsoft Entra ID ended the sign-in with an error: the user cancelled, consent was refused, or the "
     "application's registration does not allow this sign-in (for example an unregistered redirect URI).",
     "Read the error and its AADSTS code in the message; check the application's redirect URIs and that the user "
     "may sign in to it.")
_row("device-code-expired", "Interactive sign-in", "The device code expired before the user signed in",
     "Nobody entered the code and signed in before it expired (15 minutes at Entra ID).",
     "Request a new code (call get_token or authenticate again) and sign in promptly at the address shown.")
_row("device-code-declined", "Interactive sign-in", "The user declined to sign in",
     "The user refused the sign-in on the device code verification page.",
     "Call authenticate again if the user meant to sign in.")
_row("auth-code-exhausted", "Interactive sign-in",
     "No authorization code, cached access token, or refresh token available.",
     "AuthorizationCodeCredential redeemed its authorization code (codes are single-use) and holds no refresh "
     "token it could still redeem.",
     "Obtain a new authorization code and create a new AuthorizationCodeCredential; include offline_access in the "
     "authorization request so that a refresh token is issued.")
_row("cache-unavailable", "Persistent token cache", "persistent storage isn't available",
     "The operating system's secret store (Secret Service on Linux, Keychain on macOS, Credential Locker on "
     "Windows) could not be reached to keep the cache's encryption key: common in containers, SSH sessions "
     "and CI.",
     "This doesn't make authentication impossible: the program must sign in again next time. Run a Secret "
     "Service (e.g. gnome-keyring) in the session, or pass TokenCachePersistenceOptions("
     "allow_unencrypted_storage=True) to accept a plaintext file readable only by you.")
_row("cache-keyring-missing", "Persistent token cache", "persistent storage isn't available: keyring isn't installed",
     "The cache keeps its encryption key in the operating system's secret store through the keyring package, "
     "an optional dependency that isn't installed.",
     "pip install 'azidentity[cache]' (keyring, and SecretStorage on Linux), or pass "
     "TokenCachePersistenceOptions(allow_unencrypted_storage=True) to accept a plaintext file readable only by you.")
_row("cache-directory", "Persistent token cache", "persistent storage isn't available: can't use the cache directory",
     "The cache directory ($XDG_CACHE_HOME/azidentity, else ~/.cache/azidentity; %LOCALAPPDATA%\\azidentity on "
     "Windows) can't be created or written, or belongs to another user.",
     "Point XDG_CACHE_HOME (LOCALAPPDATA on Windows) at a directory you own and can write.")

ROWS: dict[str, Mitigation] = {row.key: row for row in _ROWS}
_BY_CODE: dict[str, list[Mitigation]] = {}
for _m in _ROWS:
    if _m.key.startswith("AADSTS"):
        _BY_CODE.setdefault(_m.error.split(":")[0], []).append(_m)


def lookup(key: str, section: str | None = None) -> Mitigation | None:
    """The row for a condition name or an Entra code, preferring ``section``'s own row."""
    rows = _BY_CODE.get(key)
    if rows:
        for row in rows:
            if row.section == section:
                return row
        return rows[0]
    return ROWS.get(key)
