"""Mitigation rows: DefaultAzureCredential, chains and EnvironmentCredential."""

from .table import _row

# --- DefaultAzureCredential / chains ---------------------------------------------------------
_row(
    "dac-failed",
    "DefaultAzureCredential",
    "DefaultAzureCredential failed to acquire a token.",
    "No credential in the chain returned a token.",
    "Read the line of each attempted credential below the message; run `azidentity doctor` for the facts "
    "about this machine. Configure one credential for this environment, or set AZURE_TOKEN_CREDENTIALS to "
    "choose it.",
)
_row(
    "dac-forbidden",
    "DefaultAzureCredential",
    "Error from the client with a status code of 401 or 403",
    "Authentication succeeded, but the Azure service refused the identity that DefaultAzureCredential found.",
    'Enable INFO logging to see which credential provided the token ("DefaultAzureCredential authenticated '
    'with ..."); if it is not the identity you expected, narrow the chain with AZURE_TOKEN_CREDENTIALS. '
    "Otherwise grant that identity the role the service requires.",
)
_row(
    "dac-mi-timeout",
    "DefaultAzureCredential",
    "managed identity timed out",
    "DefaultAzureCredential gives managed identity one short first attempt so that local development is not "
    "slowed down by an absent IMDS. In production the host's endpoint may not be ready yet at that moment.",
    "In production, use ManagedIdentityCredential directly (it waits and retries), or set "
    "AZURE_TOKEN_CREDENTIALS=ManagedIdentityCredential.",
)
_row(
    "dac-invalid-token-credentials",
    "DefaultAzureCredential",
    "Invalid value for AZURE_TOKEN_CREDENTIALS",
    "AZURE_TOKEN_CREDENTIALS holds a value that names no credential group or credential.",
    "Set it to 'dev', 'prod' or the name of one credential of the chain, such as 'AzureCliCredential'.",
)
_row(
    "dac-stopped",
    "DefaultAzureCredential",
    "A credential in the chain failed, and the chain stopped there",
    "A chain moves on only past credentials that are unavailable (not configured here). A credential that is "
    "configured but refused stops the chain: the credentials after it are not tried.",
    "Fix the failing credential using its own message, or leave it out of the chain "
    "(its exclude_* argument, or AZURE_TOKEN_CREDENTIALS naming the credential you want).",
)
_row(
    "chain-failed",
    "DefaultAzureCredential",
    "ChainedTokenCredential failed to acquire a token.",
    "No credential of the chain returned a token.",
    "Read the line of each attempted credential; each names its own cause and fix.",
)

# --- EnvironmentCredential -------------------------------------------------------------------
_row(
    "env-incomplete",
    "EnvironmentCredential",
    "Missing or incomplete environment variable configuration",
    "The AZURE_* variables set do not form a complete configuration.",
    "Set AZURE_TENANT_ID and AZURE_CLIENT_ID plus one of: AZURE_CLIENT_SECRET; AZURE_CLIENT_CERTIFICATE_PATH "
    "(and AZURE_CLIENT_CERTIFICATE_PASSWORD if the file is encrypted); or AZURE_USERNAME and AZURE_PASSWORD.",
)
_row(
    "env-bad-value",
    "EnvironmentCredential",
    "An environment variable holds an unusable value",
    "A variable is set but empty, or names a file that cannot be read.",
    "Fix the variable named in the message, or unset it.",
)
