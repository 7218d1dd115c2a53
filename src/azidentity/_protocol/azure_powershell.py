"""Azure PowerShell: a ``Get-AzAccessToken`` script run by ``pwsh`` (script, argument list, parsing).

The script goes to PowerShell as ``-EncodedCommand`` (base64 of UTF-16LE), so nothing in it passes
through a shell or PowerShell's own argument parsing. It imports Az.Accounts 2.2.0 or later
(printing ``NO_AZ_ACCOUNT_MODULE`` when that fails), asks for a SecureString token where
Az.Accounts 2.17 to 4.x would otherwise warn, converts it back, and prints one line:
``azsdk%<token>%<expiry as Unix seconds>``. Not logged in: Get-AzAccessToken fails with "Run
Connect-AzAccount to login." on stderr.
"""

from __future__ import annotations

import base64

from .._token import Token, make_token
from .developer_tool import Tool, check_ran, encode_claims, read_token, scrub
from .effects import ProcessResult

TOOL = Tool("Azure PowerShell", "pwsh", "PowerShell is not installed")
EXECUTABLES = ("pwsh",)
WINDOWS_EXECUTABLES = ("pwsh", "powershell")
NO_MODULE = "NO_AZ_ACCOUNT_MODULE"
PREFIX = "azsdk%"
NOT_LOGGED_IN = "Run Connect-AzAccount to login"
EXECUTION_POLICY = "AuthorizationManager check failed"

_SCRIPT = """\
$ErrorActionPreference = 'Stop'
[version]$minimumVersion = '2.2.0'
$m = Import-Module Az.Accounts -MinimumVersion $minimumVersion -PassThru -ErrorAction SilentlyContinue
if (! $m) {{
    Write-Output '{no_module}'
    exit
}}
$params = @{{
    'ResourceUrl' = '{resource}'
    'WarningAction' = 'Ignore'
}}
$tenantId = '{tenant}'
if ($tenantId.Length -gt 0) {{
    $params['TenantId'] = $tenantId
}}
if ($m.Version -ge [version]'2.17.0' -and $m.Version -lt [version]'5.0.0') {{
    $params['AsSecureString'] = $true
}}
$token = Get-AzAccessToken @params
$value = $token.Token
if ($value -is [System.Security.SecureString]) {{
    $ssPtr = [System.Runtime.InteropServices.Marshal]::SecureStringToBSTR($value)
    try {{
        $value = [System.Runtime.InteropServices.Marshal]::PtrToStringBSTR($ssPtr)
    }}
    finally {{
        [System.Runtime.InteropServices.Marshal]::ZeroFreeBSTR($ssPtr)
    }}
}}
Write-Output "{prefix}$($value)%$($token.ExpiresOn.ToUnixTimeSeconds())"
"""


def script(resource: str, tenant: str | None) -> str:
    """The script; ``resource`` and ``tenant`` were validated (no quotes can reach it)."""
    return _SCRIPT.format(no_module=NO_MODULE, resource=resource, tenant=tenant or "", prefix=PREFIX)


def encode_script(text: str) -> str:
    return base64.b64encode(text.encode("utf-16-le")).decode("ascii")


def command(executable: str, resource: str, tenant: str | None) -> tuple[str, ...]:
    return (
        executable,
        "-NoProfile",
        "-NonInteractive",
        "-OutputFormat",
        "Text",
        "-EncodedCommand",
        encode_script(script(resource, tenant)),
    )


def claims_message(claims: str, tenant: str | None) -> str:
    login = "Connect-AzAccount"
    if tenant:
        login += f" -TenantId '{tenant}'"
    login += f" -ClaimsChallenge '{encode_claims(claims)}'"
    return (
        "Azure PowerShell requires multifactor authentication or additional claims. Run this command "
        f"(Az.Accounts 5.2.0 or later), then retry: {login}"
    )


def parse(result: ProcessResult, *, credential: str, timeout: float, now: float) -> Token:
    from .._errors import AuthenticationFailedError, CredentialUnavailableError

    check_ran(result, TOOL, credential=credential, timeout=timeout)
    if NO_MODULE in result.stdout:
        raise CredentialUnavailableError(
            "Az.Accounts module not found: Az.Accounts 2.2.0 or later is not installed",
            credential=credential,
            mitigation_key="pwsh-no-module",
        )
    stderr = result.stderr
    if NOT_LOGGED_IN in stderr:
        raise CredentialUnavailableError(
            _error_lines(stderr), credential=credential, mitigation_key="pwsh-not-logged-in"
        )
    if EXECUTION_POLICY in stderr:
        raise AuthenticationFailedError(
            _error_lines(stderr), credential=credential, mitigation_key="pwsh-execution-policy"
        )
    if result.returncode != 0:
        raise AuthenticationFailedError(
            _error_lines(stderr)
            or scrub(result.stdout)
            or f"PowerShell exited with code {result.returncode} and printed nothing",
            credential=credential,
            mitigation_key="pwsh-failed",
        )
    return read_token(_token, result, TOOL, credential=credential, now=now, source="Get-AzAccessToken")


def _error_lines(stderr: str) -> str:
    """PowerShell's error record, without its source-excerpt decoration (``Line |``, ``~~~``)."""
    kept: list[str] = []
    for line in stderr.splitlines():
        text = line.strip()
        if text.startswith("|"):
            text = text.lstrip("|").strip()
        elif text.startswith("Line |") or (text[:1].isdigit() and "|" in text):
            continue
        if not text or set(text) <= set("~ "):
            continue
        kept.append(text)
    return scrub("\n".join(kept))


def _token(stdout: str, now: float) -> Token:
    from .developer_tool import check_expiry, epoch_seconds

    for word in stdout.split():
        if word.startswith(PREFIX):
            parts = word[len(PREFIX) :].split("%")
            if len(parts) != 2 or not parts[0]:
                raise ValueError("the azsdk% line is not azsdk%<token>%<expiry>")
            return make_token(parts[0], check_expiry(epoch_seconds(parts[1]), now), now)
    raise ValueError("no line starting with azsdk%")
