"""The Azure CLI: ``az account get-access-token`` (argument list, output and error parsing).

Wire facts, as the real ``az`` (azure-cli 2.91.0, tests/real_az) prints them:

- ``az account get-access-token --output json --resource <resource> [--tenant <t>] [--subscription <s>]``
  prints ``{"accessToken", "expiresOn": "<local time>", "expires_on": <epoch>, "subscription", "tenant",
  "tokenType"}`` (``expires_on`` since CLI 2.54; no ``subscription`` with ``--tenant``). ``expires_on``
  is az's ``int(time.time()) + expires_in``: the JWT's ``exp`` give or take a second.
- Failures exit 1 with ``ERROR: ...`` on stderr, sometimes after ``WARNING:`` lines (a token for
  another tenant warns even when it succeeds: stderr means nothing when the exit code is 0):
  not logged in: ``ERROR: Please run 'az login' to setup account.``; Entra refused: ``ERROR: AADSTS<n>:
  ...`` then ``Trace ID`` / ``Correlation ID`` / ``Timestamp`` lines and az's own hint; unknown
  subscription: ``ERROR: Subscription '<s>' not found. ...``; an unknown tenant: ``ERROR: The command
  failed with an unexpected error. Here is the traceback:``, one useful line, and a ~50-line Python
  traceback holding Entra's AADSTS90002 answer.

The credential reports what was *requested* (scope, tenant, subscription) in the mitigation, so the
advice names what the program asked for, not a generic resource.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .._token import Token, make_token
from .developer_tool import Tool, check_ran, combined_output, encode_claims, resource_of, scrub
from .effects import ProcessResult

TOOL = Tool("Azure CLI", "cli", "Azure CLI not found on path")
EXECUTABLE = "az"
ENVIRONMENT = {"AZURE_CORE_NO_COLOR": "true"}
SECTION = "AzureCliCredential"

_CODE = re.compile(r"AADSTS(\d{4,9})")
# Entra's sentence, also where az's traceback shows it inside a JSON string (line ends escaped there).
_SENTENCE = re.compile(r"AADSTS\d{4,9}: (?:(?!\\r\\n|\\n|\r|\n|\").)*")
_FACTS = {
    "trace_id": re.compile(r"Trace ID: ([0-9A-Fa-f-]{8,64})"),
    "correlation_id": re.compile(r"Correlation ID: ([0-9A-Fa-f-]{8,64})"),
    "timestamp": re.compile(r"Timestamp: (\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\dZ?)"),
}
_TRACEBACK = "Traceback (most recent call last):"
_UNEXPECTED = "The command failed with an unexpected error"
_SUBSCRIPTION_NOT_FOUND = re.compile(r"Subscription '.*' not found")

# Entra codes with advice of their own for az users; others use the Entra row of their code.
_CODE_KEYS = {
    700016: "AADSTS700016-cli",
    90002: "AADSTS90002-cli",
    500011: "AADSTS500011-cli",
    7000215: "AADSTS7000215-cli",
    50020: "AADSTS50020-cli",
}


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


# -- what was asked, and what az said ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Request:
    """What the credential asked az for: named in the mitigation of a failure."""

    scope: str
    tenant: str | None = None
    subscription: str | None = None

    @property
    def resource(self) -> str:
        return resource_of(self.scope)

    @property
    def where(self) -> str:
        return f"tenant {self.tenant}" if self.tenant else "the tenant az is signed in to"

    def check_command(self) -> str:
        """The command that shows, by hand, what the credential saw."""
        text = f"az account get-access-token --output json --resource {self.resource}"
        if self.tenant:
            text += f" --tenant {self.tenant}"
        if self.subscription:
            text += f' --subscription "{self.subscription}"'
        return text


GENERIC_REQUEST = Request("<resource>/.default")


class Failure(Exception):
    """az ran and refused. Not an error a caller sees: :meth:`error` makes that, naming the request."""

    def __init__(self, key: str, detail: str, codes: tuple[int, ...], facts: dict[str, str]) -> None:
        super().__init__(detail)
        self.key = key
        self.detail = detail
        self.codes = codes
        self.facts = facts

    @property
    def unavailable(self) -> bool:
        return self.key == "cli-not-logged-in"

    def error(self, credential: str, request: Request | None = None) -> Exception:
        from .._errors import AuthenticationFailedError, CredentialUnavailableError
        from .._mitigations import lookup

        request = request or GENERIC_REQUEST
        error_type = CredentialUnavailableError if self.unavailable else AuthenticationFailedError
        return error_type(
            self.detail,
            credential=credential,
            mitigation_key=self.key if lookup(self.key, SECTION) else "cli-failed",
            mitigation=mitigation(
                self.key, request, self.codes
            ),  # the row's advice, naming what was requested
            error_codes=self.codes,
            extra=self.facts,
        )


def mitigation(key: str, request: Request, codes: tuple[int, ...]) -> str:
    """What to do, naming the scope, tenant or subscription that was requested."""
    check = f"`{request.check_command()}`"
    tenant = request.tenant or "<tenant>"
    if key == "cli-not-logged-in":
        login = f"az login --tenant {request.tenant}" if request.tenant else "az login"
        return f"Run `{login}`, then check with {check}."
    if key == "cli-subscription-not-found":
        return (
            f"az knows no subscription '{request.subscription}' for its signed-in account: "
            "`az account list --output table` lists those it knows. Pass one of their IDs (or names) as "
            f"subscription, or `az login` with an account that can use '{request.subscription}'."
        )
    if key == "AADSTS700016-cli":
        return (
            f"The application az is signed in with is not registered in {request.where}. "
            "Request a token for a tenant the application is in, "
            f"have an administrator add it to {tenant}, or `az login` with an identity of that tenant; "
            f"then check with {check}."
        )
    if key == "AADSTS90002-cli":
        return (
            f"Check the tenant ID '{tenant}': it is not a tenant of the cloud az is signed in to (`az cloud "
            "show`). Pass the tenant's ID or its domain name as tenant_id."
        )
    if key == "AADSTS500011-cli":
        return (
            f"Check the scope '{request.scope}': Entra ID has no resource '{request.resource}' in "
            f"{request.where}. "
            "An Azure service's scope is its resource URL followed by /.default, "
            "for example https://management.azure.com/.default."
        )
    if key == "AADSTS7000215-cli":
        return (
            "The client secret az stored when the service principal signed in is wrong or was rotated: "
            "sign in again with `az login --service-principal --username <app id> "
            f"--password <current secret> --tenant {tenant}`, then check with {check}."
        )
    if key == "AADSTS50020-cli":
        return (
            f"The user signed in to az is neither a member nor a guest of {request.where}. "
            "Request a token for the user's own tenant, "
            f"ask an administrator of {tenant} to invite the user, "
            f"or `az login --tenant {tenant}` with an account of that tenant."
        )
    from .._mitigations import lookup

    row = lookup(f"AADSTS{codes[0]}", SECTION) if codes else None
    if row is not None and row.key.startswith("AADSTS"):
        return f"{row.mitigation} Then check with {check}."
    return f"Run {check} yourself to see the problem."


def useful_stderr(stderr: str) -> str:
    """az's error without its noise: no WARNING lines (when there is more), no Python traceback.

    From a traceback only the line az printed before it is kept, plus Entra's sentence from inside it
    (``AADSTS90002: Tenant '...' not found. ...``).
    """
    text = stderr.replace("\r\n", "\n")
    if _TRACEBACK in text:
        head = text.split(_TRACEBACK, 1)[0]
        lines = [line for line in head.split("\n") if line.strip() and _UNEXPECTED not in line]
        sentence = _SENTENCE.search(text)
        if sentence and sentence.group(0) not in head:
            lines.append(sentence.group(0).strip())
    else:
        lines = [line for line in text.split("\n") if line.strip()]
    kept = [line for line in lines if not line.startswith("WARNING:")]
    return "\n".join(kept or lines)


def classify(result: ProcessResult) -> Failure:
    """What a non-zero exit of az means."""
    stderr = result.stderr
    codes = tuple(dict.fromkeys(int(code) for code in _CODE.findall(stderr[: 1 << 16])))
    facts = {name: m.group(1) for name, pattern in _FACTS.items() if (m := pattern.search(stderr[: 1 << 16]))}
    detail = scrub(useful_stderr(stderr[: 1 << 20])) or scrub(result.stdout)
    if not detail:
        detail = f"az exited with code {result.returncode} and printed nothing"
    if ("az login" in stderr or "az account set" in stderr) and "AADSTS" not in stderr:
        return Failure("cli-not-logged-in", detail, (), {})
    if not codes and _SUBSCRIPTION_NOT_FOUND.search(stderr):
        return Failure("cli-subscription-not-found", detail, (), {})
    key = next((_CODE_KEYS[c] for c in codes if c in _CODE_KEYS), None)
    return Failure(key or "cli-failed", detail, codes, facts)


def read(result: ProcessResult, *, credential: str, timeout: float, now: float) -> Token:
    """The token az printed; :class:`Failure` when az refused; the error itself when az never ran."""
    check_ran(result, TOOL, credential=credential, timeout=timeout)
    if result.returncode != 0:
        raise classify(result)
    try:
        return _token(result.stdout, now)
    except ValueError as error:
        shown = scrub(combined_output(result))
        raise Failure(
            "cli-failed", f"Unexpected output from {TOOL.display} ({error}): {shown!r}", (), {}
        ) from None


def parse(
    result: ProcessResult, *, credential: str, timeout: float, now: float, request: Request | None = None
) -> Token:
    """The token az printed, or the error that explains why there is none."""
    try:
        return read(result, credential=credential, timeout=timeout, now=now)
    except Failure as failure:
        raise failure.error(credential, request) from None


def _token(stdout: str, now: float) -> Token:
    from .developer_tool import check_expiry, epoch_seconds, parse_local_time
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
