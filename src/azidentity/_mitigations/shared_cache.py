"""Mitigation rows: SharedTokenCacheCredential, VisualStudioCodeCredential (MSAL's shared token cache)
and DefaultAzureCredential's broker member."""

from .table import _row

# --- SharedTokenCacheCredential --------------------------------------------------------------
_SIGN_IN_ELSEWHERE = (
    "use a credential that signs in on its own: AzureCliCredential after `az login`, or "
    "InteractiveBrowserCredential"
)
_row(
    "shared-cache-no-accounts",
    "SharedTokenCacheCredential",
    "SharedTokenCacheCredential authentication unavailable. No accounts were found in the cache.",
    "MSAL's shared token cache doesn't exist here or holds no account with a refresh token the Microsoft "
    "developer tools share (a FOCI family token). It is written by Visual Studio and by programs using "
    "azure-identity's TokenCachePersistenceOptions(); on Linux and macOS it is usually empty.",
    f"Sign in with a tool that writes the shared cache, or {_SIGN_IN_ELSEWHERE}. Inside "
    "DefaultAzureCredential this is expected on most machines; exclude_shared_token_cache_credential=True "
    "leaves it out.",
)
_row(
    "shared-cache-multiple-accounts",
    "SharedTokenCacheCredential",
    "Multiple accounts were found in the cache. Use username and tenant id to disambiguate.",
    "Several users are signed in to the shared cache and nothing says which one to use.",
    "Pass username= and/or tenant_id= (DefaultAzureCredential: shared_cache_username= or AZURE_USERNAME, "
    "shared_cache_tenant_id= or AZURE_TENANT_ID) naming one of the cached accounts the message lists.",
)
_row(
    "shared-cache-no-matching-account",
    "SharedTokenCacheCredential",
    "No account matching the specified username/tenant was found in the cache.",
    "The username or tenant given (AZURE_USERNAME and AZURE_TENANT_ID inside DefaultAzureCredential) names "
    "none of the cached accounts. The tenant is compared with each account's home tenant.",
    "Correct the username or tenant (the message lists the cached accounts), or sign that user in with a "
    f"tool that writes the shared cache, or {_SIGN_IN_ELSEWHERE}.",
)
_row(
    "shared-cache-token-failed",
    "SharedTokenCacheCredential",
    "Token acquisition failed for user. To fix, re-authenticate through developer tooling supporting Azure "
    "single sign on",
    "The account has no refresh token this application may redeem, or Microsoft Entra ID rejected them "
    "(expired, revoked, password changed, or a new MFA or consent requirement).",
    f"Sign the user in again with the tool that wrote the cache, or {_SIGN_IN_ELSEWHERE}.",
)
_row(
    "shared-cache-unreadable",
    "SharedTokenCacheCredential",
    "Shared token cache unavailable: the cache can't be read",
    "The cache exists but can't be used: permission denied, not a regular file, larger than 16 MiB, not "
    "MSAL's JSON format (damaged), or another program kept writing it while azidentity retried for 0.75 s.",
    "Read the message for the file and the reason. A damaged cache is rewritten when its tool signs the user "
    "in again (or delete the file named); azidentity only reads it, never writes it.",
)
_row(
    "shared-cache-locked",
    "SharedTokenCacheCredential",
    "Shared token cache unavailable: the keyring holding it is locked",
    "MSAL keeps the encrypted cache in a Secret Service item (usually the login keyring), which is locked. "
    "azidentity never asks to unlock it, because that can show a prompt and wait for a user.",
    "Unlock the keyring (signing in to the desktop session does; or Seahorse / your keyring tool), then try "
    f"again; or {_SIGN_IN_ELSEWHERE}.",
)
_row(
    "shared-cache-secret-store",
    "SharedTokenCacheCredential",
    "Shared token cache unavailable: persistent storage isn't available",
    "The cache is encrypted in the operating system's secret store, which can't be reached: no D-Bus session "
    "or Secret Service (SSH sessions, containers, CI), no answer in time, or on macOS the Keychain refusing "
    'access without a GUI ("User interaction is not allowed. (-25308)").',
    "This doesn't make authentication impossible: run where the desktop session's secret store is available, "
    f"or {_SIGN_IN_ELSEWHERE}.",
)
_row(
    "shared-cache-jeepney-missing",
    "SharedTokenCacheCredential",
    "Shared token cache unavailable: reading the Secret Service needs the jeepney package",
    "On Linux MSAL keeps the cache in the Secret Service, which azidentity reads over D-Bus with jeepney, an "
    "optional dependency that isn't installed.",
    "pip install 'azidentity[cache]' (keyring, SecretStorage and jeepney).",
)
_row(
    "shared-cache-unsupported",
    "SharedTokenCacheCredential",
    "Shared token cache is not supported on this platform.",
    "MSAL keeps its shared cache only on Windows, macOS and Linux.",
    f"{_SIGN_IN_ELSEWHERE[0].upper()}{_SIGN_IN_ELSEWHERE[1:]}.",
)

# --- VisualStudioCodeCredential ----------------------------------------------------------------
_row(
    "vscode-not-signed-in",
    "VisualStudioCodeCredential",
    "VisualStudioCodeCredential requires the user to be signed in to Azure via Visual Studio Code.",
    "VS Code's Azure Resources extension writes "
    "~/.azure/ms-azuretools.vscode-azureresourcegroups/authRecord.json when a user signs in; "
    "there is no such file (neither under ~/.Azure).",
    f'Install the Azure Resources extension and run "Azure: Sign In" in VS Code, or {_SIGN_IN_ELSEWHERE}.',
)
_row(
    "vscode-bad-record",
    "VisualStudioCodeCredential",
    "Failed to load authentication record from Visual Studio Code",
    "authRecord.json is larger than 10 KB, isn't JSON, or a field is missing or wrong "
    "(the message names it); "
    "clientId must be the extension's client id aebc6443-996d-45c2-90f0-388ff96faa56.",
    'Sign out and in again in VS Code ("Azure: Sign Out", "Azure: Sign In"), which rewrites the file, '
    "or delete the file named.",
)
_row(
    "vscode-no-broker",
    "VisualStudioCodeCredential",
    "VisualStudioCodeCredential needs a sign-in broker, and this platform has none",
    "VS Code keeps its tokens to itself; azure-identity gets a token for VS Code's account from the Windows "
    "sign-in broker (WAM, on Windows and WSL). Elsewhere there is no broker, and MSAL's shared token cache "
    "holds no refresh token for the account either.",
    "Use AzureCliCredential after `az login` (or `az login --use-device-code`), "
    "or InteractiveBrowserCredential.",
)

# --- DefaultAzureCredential: the broker member ---------------------------------------------------
_row(
    "broker-unavailable",
    "DefaultAzureCredential",
    "InteractiveBrowserBrokerCredential unavailable. "
    "Brokered authentication is only supported on Windows and WSL platforms.",
    "DefaultAzureCredential's last member signs in silently as the default account of the Windows sign-in "
    "broker (WAM). There is none on this platform, and azidentity has no broker support.",
    "Nothing to fix: the member is unavailable by design here "
    "(exclude_broker_credential=True leaves it out). "
    f"To sign in as a user, {_SIGN_IN_ELSEWHERE}.",
)
