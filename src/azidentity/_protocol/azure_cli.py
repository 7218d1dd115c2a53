"""The Azure CLI: ``az account get-access-token`` (argument list, output and error parsing).

Wire facts: ``az account get-access-token --output json --resource <resource> [--tenant <t>]
[--subscription <s>]`` prints ``{"accessToken", "expiresOn": "<local time>", "expires_on": <epoch>,
"subscription", "tenant", "tokenType"}`` (``expires_on`` since CLI 2.54). Not logged in: exit 1,
stderr ``ERROR: Please run 'az login' to setup account.``
"""

from __future__ import annotations

from typing import Any

from .._token import Token, make_token
from .cli_common import Tool, check_ran, encode_claims, read_token, scrub
from .effects import ProcessResult

TOOL = Tool("Azure CLI", "cli", "Azure CLI not found on path")
EXECUTABLE = "az"
ENVIRONMENT = {"AZURE_CORE_NO_COLOR": "true"}


def command(executable: str, resource: str, tenant: str | None, subscription: str | None) -> tuple[str, ...]:
    argv = [executable, "account", "get-access-token", "--output", "json", "--resource", resource]
    if tenant:
        argv += ["--tenant", tenant]
    if subscription:
        argv += ["--subscription", subscription]
    return tuple(argv)


def claims_message(claims: str, tenant: str | None, scope: str) -> str:
    login = f"az login --claims-challenge {encode_claims(claims)}"
    if tenant:
        login += f" --tenant {tenant}"
    login += f" --scope {scope}"
    return (
        "Azure CLI requires multifactor authentication or additional claims. This credential doesn't support "
        f"claims challenges; run this command (Azure CLI 2.76.0 or later), then retry: {login}"
    )


def parse(result: ProcessResult, *, credential: str, timeout: float, now: float) -> Token:
    """The token az printed, or the error that explains why there is none."""
    from .._errors import AuthenticationFailedError, CredentialUnavailableError

    check_ran(result, TOOL, credential=credential, timeout=timeout)
    if result.returncode != 0:
        stderr = result.stderr
        shown = scrub(stderr) or scrub(result.stdout)
        if ("az login" in stderr or "az account set" in stderr) and "AADSTS" not in stderr:
            raise CredentialUnavailableError(shown, credential=credential, mitigation_key="cli-not-logged-in")
        raise AuthenticationFailedError(
            shown or f"az exited with code {result.returncode} and printed nothing",
            credential=credential,
            mitigation_key="cli-failed",
        )
    return read_token(_token, result, TOOL, credential=credential, now=now)


def _token(stdout: str, now: float) -> Token:
    from .cli_common import check_expiry, epoch_seconds, parse_local_time
    from .effects import parse_json

    payload: Any = parse_json(stdout)
    if not isinstance(payload, dict):
        raise ValueError("not a JSON object")
    access_token = payload.get("accessToken")
    if not isinstance(access_token, str) or not access_token:
        raise ValueError("no accessToken")
    if payload.get("expires_on") is not None:
        expires_on = epoch_seconds(payload["expires_on"])
    elif payload.get("expiresOn") is not None:
        expires_on = parse_local_time(payload["expiresOn"])
    else:
        raise ValueError("no expires_on or expiresOn")
    token_type = payload.get("tokenType")
    return make_token(
        access_token,
        check_expiry(expires_on, now),
        now,
        None,
        token_type if isinstance(token_type, str) else "Bearer",
    )
