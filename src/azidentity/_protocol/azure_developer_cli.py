"""The Azure Developer CLI: ``azd auth token`` (argument list, output and error parsing).

Wire facts: ``azd auth token --output json --no-prompt --scope <s> [--scope <s2> ...] [--tenant-id
<t>] [--claims <standard base64 of the claims JSON>]`` prints ``{"token", "expiresOn":
"2024-01-31T22:05:09Z"}``; ``expiresOn`` is UTC (RFC 3339). ``--claims`` exists from azd 1.18.1;
older versions fail with ``unknown flag: --claims`` (azure-identity and Go pass the flag as here).
Errors go to stderr, as text or, with ``--output json``, as JSON lines: ``{"error": "..."}`` (azd
1.23.7+) or ``{"type": "consoleMessage", "data": {"message": "..."}}`` (older). Not logged in:
``ERROR: fetching token: not logged in, run `azd auth login` to login``, exit 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._token import Token, make_token
from .developer_tool import Tool, check_ran, encode_claims, read_token, scrub
from .effects import ProcessResult

TOOL = Tool("Azure Developer CLI", "azd", "Azure Developer CLI not found on path")
EXECUTABLE = "azd"
ENVIRONMENT = {"NO_COLOR": "true"}


def command(executable: str, scopes: Iterable[str], tenant: str | None) -> tuple[str, ...]:
    argv = [executable, "auth", "token", "--output", "json", "--no-prompt"]
    for scope in scopes:
        argv += ["--scope", scope]
    if tenant:
        argv += ["--tenant-id", tenant]
    return tuple(argv)


# azure-identity's words for an azd too old to take --claims.
CLAIMS_UNSUPPORTED = (
    "Claims challenges are not supported by the Azure Developer CLI version you are using. "
    "Please update to version 1.18.1 or later."
)
_UNKNOWN_CLAIMS_FLAG = "unknown flag: --claims"


def claims_arguments(claims: str) -> tuple[str, str]:
    return ("--claims", encode_claims(claims))


def claims_message(claims: str, tenant: str | None) -> str:
    login = f"azd auth login --claims {encode_claims(claims)}"
    if tenant:
        login += f" --tenant-id {tenant}"
    return (
        "Azure Developer CLI requires multifactor authentication or additional claims. Run this command "
        f"(azd 1.18.1 or later), then retry: {login}"
    )


def error_text(text: str) -> str:
    """The human text of azd's output: JSON error lines are unwrapped, other lines kept."""
    lines: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        message = _json_message(stripped) if stripped.startswith("{") else None
        lines.append(message.strip() if message is not None else stripped)
    return "\n".join(line for line in lines if line)


def _json_message(line: str) -> str | None:
    from .effects import parse_json

    try:
        payload: Any = parse_json(line)
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    if isinstance(payload.get("error"), str):
        return str(payload["error"])
    data = payload.get("data")
    if (
        payload.get("type") == "consoleMessage"
        and isinstance(data, dict)
        and isinstance(data.get("message"), str)
    ):
        return str(data["message"])
    return None


def parse(result: ProcessResult, *, credential: str, timeout: float, now: float) -> Token:
    from .._errors import AuthenticationFailedError, CredentialUnavailableError

    check_ran(result, TOOL, credential=credential, timeout=timeout)
    if result.returncode != 0:
        if _UNKNOWN_CLAIMS_FLAG in result.stderr or _UNKNOWN_CLAIMS_FLAG in result.stdout:
            raise CredentialUnavailableError(
                CLAIMS_UNSUPPORTED, credential=credential, mitigation_key="azd-claims-unsupported"
            )
        text = error_text(result.stderr) or error_text(result.stdout)
        shown = scrub(text)
        if "azd auth login" in text and "AADSTS" not in text:
            raise CredentialUnavailableError(shown, credential=credential, mitigation_key="azd-not-logged-in")
        raise AuthenticationFailedError(
            shown or f"azd exited with code {result.returncode} and printed nothing",
            credential=credential,
            mitigation_key="azd-failed",
        )
    return read_token(_token, result, TOOL, credential=credential, now=now)


def _token(stdout: str, now: float) -> Token:
    from .developer_tool import check_expiry, parse_utc_time
    from .effects import parse_json

    payload: Any = parse_json(stdout)
    if not isinstance(payload, dict):
        raise ValueError("not a JSON object")
    token = payload.get("token")
    if not isinstance(token, str) or not token:
        raise ValueError("no token")
    return make_token(token, check_expiry(parse_utc_time(payload.get("expiresOn")), now), now)
