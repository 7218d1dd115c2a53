"""Mitigation rows: Developer tools (az, azd, pwsh) and federated credentials."""

from .table import _row

# --- Developer tools --------------------------------------------------------------------------
_row(
    "cli-not-found",
    "AzureCliCredential",
    "Azure CLI not found on path",
    "The Azure CLI isn't installed or isn't on the program's PATH.",
    "Install the Azure CLI (https://aka.ms/azure-cli) and make sure `az` is on the PATH of this program.",
)
# The error's own mitigation names what was requested (the resource, tenant, subscription: see
# _protocol/azure_cli.py); these rows are its general form, for TROUBLESHOOTING.md.
_row(
    "cli-not-logged-in",
    "AzureCliCredential",
    "Please run 'az login' to set up account",
    "No account is logged in to the Azure CLI, or the login expired.",
    "Run `az login` (with `--tenant <tenant>` when a tenant was requested), then check with "
    "`az account get-access-token --output json --resource <resource> [--tenant <tenant>]`, "
    "the resource being the requested scope without /.default.",
)
_row(
    "AADSTS700016-cli",
    "AzureCliCredential",
    "AADSTS700016",
    "The service principal signed in to the Azure CLI belongs to an application that isn't registered in the "
    "requested tenant.",
    "Request a token for a tenant the application is in, have an administrator of the requested tenant add "
    "the application, or `az login` with an identity of that tenant.",
)
_row(
    "AADSTS90002-cli",
    "AzureCliCredential",
    "AADSTS90002",
    "The requested tenant doesn't exist in the cloud the Azure CLI is signed in to; az reports it with a "
    'Python traceback ("Unable to get authority configuration"), of which only the useful line is shown.',
    "Check the tenant ID passed as tenant_id (per call or to the credential), "
    "and `az cloud show` for the cloud.",
)
_row(
    "AADSTS500011-cli",
    "AzureCliCredential",
    "AADSTS500011",
    "The resource of the requested scope doesn't exist in the tenant: usually a wrong scope.",
    "Check the scope: an Azure service's scope is its resource URL followed by /.default, for example "
    "https://management.azure.com/.default.",
)
_row(
    "AADSTS7000215-cli",
    "AzureCliCredential",
    "AADSTS7000215",
    "The client secret the Azure CLI stored when the service principal signed in is wrong or was rotated.",
    "Sign in again: `az login --service-principal --username <app id> --password <current secret> "
    "--tenant <tenant>`.",
)
_row(
    # The general row (first, so other credentials' lookups find it); the Azure CLI's follows.
    "AADSTS50020",
    "Microsoft Entra ID",
    "AADSTS50020",
    "The user account is neither a member nor a guest of the tenant the token was requested for.",
    "Request the token for the user's own tenant, have an administrator of the tenant invite the user as a "
    "guest, or sign in with an account of that tenant.",
)
_row(
    "AADSTS50020-cli",
    "AzureCliCredential",
    "AADSTS50020",
    "The user signed in to the Azure CLI is neither a member nor a guest of the requested tenant.",
    "Request a token for the user's own tenant, ask an administrator of the requested tenant to invite the "
    "user, or `az login --tenant <tenant>` with an account of that tenant.",
)
_row(
    "cli-subscription-not-found",
    "AzureCliCredential",
    "Subscription '<subscription>' not found",
    "The Azure CLI's signed-in account has no subscription with that name or ID.",
    "`az account list --output table` lists the subscriptions az knows: pass one of their IDs (or names) as "
    "subscription, or `az login` with an account that can use the subscription.",
)
_row(
    "cli-claims",
    "AzureCliCredential",
    "Azure CLI requires multifactor authentication or additional claims",
    "The request carries a claims challenge, which only an interactive login can satisfy.",
    "Run the login command shown in the message, then retry.",
)
_row(
    "cli-timeout",
    "AzureCliCredential",
    "Azure CLI timed out",
    "The Azure CLI did not finish within process_timeout.",
    "Raise process_timeout (for example AzureCliCredential(process_timeout=30)); check that `az` runs "
    "without prompting.",
)
_row(
    "cli-subscription",
    "AzureCliCredential",
    "Subscription contains invalid characters",
    "The subscription contains characters that are not allowed on the command line.",
    'Use the subscription\'s ID: az account show --name "<name>" --query id',
)
_row(
    "cli-failed",
    "AzureCliCredential",
    "The Azure CLI failed",
    "`az account get-access-token` exited with an error or printed unreadable output.",
    "Run `az account get-access-token --output json --resource <resource>` yourself to see the problem.",
)
_row(
    "azd-not-found",
    "AzureDeveloperCliCredential",
    "Azure Developer CLI not found on path",
    "The Azure Developer CLI isn't installed or isn't on the program's PATH.",
    "Install the Azure Developer CLI (https://aka.ms/azure-dev/install) and make sure `azd` is on the PATH.",
)
_row(
    "azd-not-logged-in",
    "AzureDeveloperCliCredential",
    'Please run "azd auth login"',
    "No account is logged in to the Azure Developer CLI, or the login expired.",
    "Run `azd auth login`, then check with `azd auth token --output json --scope "
    "https://management.core.windows.net/.default`.",
)
_row(
    "azd-claims",
    "AzureDeveloperCliCredential",
    "Azure Developer CLI requires multifactor authentication or additional claims",
    "The request carries a claims challenge (passed to `azd auth token --claims`) that azd couldn't "
    "satisfy with its current sign-in: only an interactive login can.",
    "Run the `azd auth login --claims ...` command shown in the message, then retry.",
)
_row(
    "azd-claims-unsupported",
    "AzureDeveloperCliCredential",
    "Claims challenges are not supported by the Azure Developer CLI version you are using",
    "The request carries a claims challenge and the installed azd is older than 1.18.1, which added "
    "`azd auth token --claims` (it answered `unknown flag: --claims`).",
    "Update the Azure Developer CLI to version 1.18.1 or later (https://aka.ms/azure-dev/install).",
)
_row(
    "azd-timeout",
    "AzureDeveloperCliCredential",
    "Azure Developer CLI timed out",
    "azd did not finish within process_timeout.",
    "Raise process_timeout; check that azd runs without prompting.",
)
_row(
    "azd-failed",
    "AzureDeveloperCliCredential",
    "The Azure Developer CLI failed",
    "`azd auth token` exited with an error or printed unreadable output.",
    "Run `azd auth token --output json --scope <scope>` yourself to see the problem.",
)
_row(
    "pwsh-not-found",
    "AzurePowerShellCredential",
    "PowerShell is not installed",
    "Neither pwsh nor powershell was found on the program's PATH.",
    "Install PowerShell (https://aka.ms/install-powershell) and make sure `pwsh` is on the PATH.",
)
_row(
    "pwsh-no-module",
    "AzurePowerShellCredential",
    "Az.Accounts module not found",
    "The Az.Accounts PowerShell module (2.2.0 or later) is not installed.",
    "Run `Install-Module -Name Az.Accounts -Scope CurrentUser` in PowerShell.",
)
_row(
    "pwsh-not-logged-in",
    "AzurePowerShellCredential",
    'Please run "Connect-AzAccount" to set up account',
    "No account is logged in to Azure PowerShell.",
    "Run `Connect-AzAccount`, then check with `Get-AzAccessToken -ResourceUrl https://management.core.windows.net`.",
)
_row(
    "pwsh-claims",
    "AzurePowerShellCredential",
    "Azure PowerShell requires multifactor authentication or additional claims",
    "The request carries a claims challenge, which only an interactive login can satisfy.",
    "Run the Connect-AzAccount command shown in the message, then retry.",
)
_row(
    "pwsh-timeout",
    "AzurePowerShellCredential",
    "Azure PowerShell timed out",
    "PowerShell did not finish within process_timeout.",
    "Raise process_timeout.",
)
_row(
    "pwsh-failed",
    "AzurePowerShellCredential",
    "Azure PowerShell failed",
    "Get-AzAccessToken failed or printed unreadable output.",
    "Run `Get-AzAccessToken -ResourceUrl <resource>` in pwsh yourself to see the problem.",
)
_row(
    "pwsh-execution-policy",
    "AzurePowerShellCredential",
    "Execution policy prevented invoking Azure PowerShell",
    "PowerShell's execution policy refused to load the Az.Accounts module "
    '("AuthorizationManager check failed").',
    "Allow signed modules for your user, e.g. `Set-ExecutionPolicy -Scope CurrentUser RemoteSigned`, "
    "or ask your administrator which policy applies.",
)

# --- Federated ---------------------------------------------------------------------------------
_row(
    "workload-incomplete",
    "WorkloadIdentityCredential",
    "no client ID/tenant ID/token file specified",
    "The configuration is incomplete.",
    "On AKS these values come from the Azure Workload Identity webhook: check that the pod's service account "
    "is annotated with azure.workload.identity/client-id and the pod labelled azure.workload.identity/use: "
    '"true". Elsewhere pass tenant_id, client_id and token_file_path.',
)
_row(
    "workload-token-file",
    "WorkloadIdentityCredential",
    "The federated token file cannot be read",
    "The file named by AZURE_FEDERATED_TOKEN_FILE (or token_file_path) is missing, unreadable or empty.",
    "Check the projected service-account token volume of the pod.",
)
_row(
    "pipelines-service-connection",
    "AzurePipelinesCredential",
    "No service connection found with identifier",
    "The service_connection_id is wrong.",
    "Use the resourceId of the Azure service connection; it is also in the query string of the service "
    "connection's page in Azure DevOps.",
)
_row(
    "pipelines-unauthorized",
    "AzurePipelinesCredential",
    "401 (Unauthorized) response from OIDC endpoint",
    "The system_access_token is wrong.",
    "Pass the predefined variable System.AccessToken (map it into the step's environment, e.g. "
    "SYSTEM_ACCESSTOKEN: $(System.AccessToken)).",
)
_row(
    "pipelines-oidc-failed",
    "AzurePipelinesCredential",
    "Unexpected response from the OIDC endpoint",
    "Azure Pipelines' OIDC endpoint did not return an OIDC token for the service connection.",
    "Check the service_connection_id and that the pipeline may use the service connection; "
    "give the x-vss-e2eid and x-msedge-ref values shown in the message to Azure DevOps support "
    "if the problem persists.",
)
_row(
    "pipelines-not-in-pipeline",
    "AzurePipelinesCredential",
    "Missing value for the SYSTEM_OIDCREQUESTURI environment variable",
    "The program does not run in an Azure Pipelines job.",
    "Use AzurePipelinesCredential only inside a pipeline job.",
)
