"""Mitigation rows: Interactive sign-in and the persistent token cache."""

from .table import _row

# --- Interactive and cache ----------------------------------------------------------------------
_row(
    "auth-required",
    "Interactive sign-in",
    "Interactive authentication is required",
    "The credential has no cached token or refresh token for the account and may not prompt.",
    "Call authenticate() to sign the user in, or allow automatic authentication.",
)
_row(
    "interactive-timeout",
    "Interactive sign-in",
    "Timed out waiting for the user to authenticate",
    "The user did not complete sign-in in time.",
    "Raise timeout, or complete sign-in sooner.",
)
_row(
    "interactive-no-server",
    "Interactive sign-in",
    "Couldn't start an HTTP server",
    "InteractiveBrowserCredential receives the sign-in's answer on a server it runs on localhost, "
    "and it could not listen: every port of 8400-8999 is taken, or the port of the redirect_uri given is.",
    "Free the port named in the message, or pass a redirect_uri whose port is free and is registered on the "
    "application. Where no browser can run, use DeviceCodeCredential.",
)
_row(
    "interactive-no-browser",
    "Interactive sign-in",
    "Failed to open a browser",
    "No web browser could be started: common over SSH, in containers and on servers without a desktop.",
    "Use DeviceCodeCredential, which lets the user sign in on another device, or set the BROWSER environment "
    "variable to a browser command.",
)
_row(
    "interactive-state-mismatch",
    "Interactive sign-in",
    "The redirect's state parameter doesn't match the sign-in",
    "A response reached the credential that does not belong to the sign-in in progress "
    "(an old browser tab, or another program).",
    "Sign in again, in the browser window this sign-in opened.",
)
_row(
    "interactive-sign-in-failed",
    "Interactive sign-in",
    "The sign-in page answered with an error",
    "Microsoft Entra ID ended the sign-in with an error: the user cancelled, consent was refused, or the "
    "application's registration does not allow this sign-in (for example an unregistered redirect URI).",
    "Read the error and its AADSTS code in the message; "
    "check the application's redirect URIs and that the user may sign in to it.",
)
_row(
    "device-code-expired",
    "Interactive sign-in",
    "The device code expired before the user signed in",
    "Nobody entered the code and signed in before it expired (15 minutes at Entra ID).",
    "Request a new code (call get_token or authenticate again) and sign in promptly at the address shown.",
)
_row(
    "device-code-declined",
    "Interactive sign-in",
    "The user declined to sign in",
    "The user refused the sign-in on the device code verification page.",
    "Call authenticate again if the user meant to sign in.",
)
_row(
    "auth-code-exhausted",
    "Interactive sign-in",
    "No authorization code, cached access token, or refresh token available.",
    "AuthorizationCodeCredential redeemed its authorization code (codes are single-use) and holds no refresh "
    "token it could still redeem.",
    "Obtain a new authorization code and create a new AuthorizationCodeCredential; "
    "include offline_access in the authorization request so that a refresh token is issued.",
)
_row(
    "cache-unavailable",
    "Persistent token cache",
    "persistent storage isn't available",
    "The operating system's secret store (Secret Service on Linux, Keychain on macOS, Credential Locker on "
    "Windows) could not be reached to keep the cache's encryption key: common in containers, SSH sessions "
    "and CI.",
    "This doesn't make authentication impossible: the program must sign in again next time. Run a Secret "
    "Service (e.g. gnome-keyring) in the session, or pass TokenCachePersistenceOptions("
    "allow_unencrypted_storage=True) to accept a plaintext file readable only by you.",
)
_row(
    "cache-keyring-missing",
    "Persistent token cache",
    "persistent storage isn't available: keyring isn't installed",
    "The cache keeps its encryption key in the operating system's secret store through the keyring package, "
    "an optional dependency that isn't installed.",
    "pip install 'azidentity[cache]' (keyring, and SecretStorage on Linux), or pass "
    "TokenCachePersistenceOptions(allow_unencrypted_storage=True) "
    "to accept a plaintext file readable only by you.",
)
_row(
    "cache-directory",
    "Persistent token cache",
    "persistent storage isn't available: can't use the cache directory",
    "The cache directory ($XDG_CACHE_HOME/azidentity, else ~/.cache/azidentity; "
    "%LOCALAPPDATA%\\azidentity on Windows) can't be created or written, or belongs to another user.",
    "Point XDG_CACHE_HOME (LOCALAPPDATA on Windows) at a directory you own and can write.",
)
