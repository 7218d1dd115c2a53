"""``azidentity doctor``: the troubleshooting guide as a command.

Builds DefaultAzureCredential exactly as an application in this environment would, then asks every
member for a token without stopping at the first success or failure, and prints one block per
member: its status (succeeded / failed / unavailable, or excluded / available when not tried),
the time it took, the cause in one line, the guide's mitigation and the facts that explain it.
It ends with the credential DefaultAzureCredential would use and that credential's identity.

Exit status: 0 when DefaultAzureCredential would get a token, 1 when it would not.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from .._mitigations import lookup
from . import claims as jwt
from .facts import azure_variables, facts_for, host_variables
from .output import Printer

STATUS_STYLE = {
    "succeeded": "green",
    "failed": "red",
    "unavailable": "yellow",
    "excluded": "dim",
    "available": "cyan",
}


class Outcome:
    """What happened to one member."""

    def __init__(self, name: str, status: str, seconds: float | None = None) -> None:
        self.name = name
        self.status = status
        self.seconds = seconds
        self.cause: str | None = None
        self.mitigation: str | None = None
        self.troubleshooting: str | None = None
        self.error_type: str | None = None
        self.note: str | None = None
        self.facts: dict[str, str] = {}
        self.identity: dict[str, Any] = {}
        self.expires_on: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "seconds": None if self.seconds is None else round(self.seconds, 3),
            "cause": self.cause,
            "mitigation": self.mitigation,
            "troubleshooting": self.troubleshooting,
            "error_type": self.error_type,
            "note": self.note,
            "facts": self.facts,
            "identity": self.identity or None,
            "expires_on": self.expires_on,
        }


def one_line_cause(name: str, error: BaseException) -> str:
    """The error's cause on one line, without the credential's name, the mitigation or the body."""
    detail = getattr(error, "detail", None)
    text = (
        detail
        if isinstance(detail, str) and detail.strip()
        else (getattr(error, "message", None) or str(error))
    )
    text = str(text).strip()
    for prefix in (name + ": ", name + " "):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    first = text.split("\n", 1)[0].strip() or type(error).__name__
    status = getattr(error, "status_code", None)
    code = getattr(error, "error_code", None) or getattr(error, "oauth_error", None)
    extra = ", ".join(
        str(x) for x in (f"HTTP {status}" if status else None, code) if x and str(x) not in first
    )
    return f"{first} ({extra})" if extra else first


def _attempt(dac: Any, entry: Any, scope: str) -> Outcome:
    from azure.core.exceptions import ClientAuthenticationError

    from .._credential import CHAIN
    from .._errors import CredentialUnavailableError

    outcome = Outcome(entry.name, "unavailable")
    reset = CHAIN.set(dac._context)  # as the chain itself calls its members
    start = time.perf_counter()
    try:
        token = entry.credential.get_token(scope)
    except Exception as raised:
        outcome.seconds = time.perf_counter() - start
        error = dac._soften(entry.credential, entry.name, raised)
        outcome.status = "unavailable" if isinstance(error, CredentialUnavailableError) else "failed"
        outcome.error_type = type(raised).__name__
        outcome.cause = one_line_cause(entry.name, error)
        outcome.mitigation = getattr(error, "mitigation", None)
        anchor = getattr(error, "troubleshooting_anchor", None)
        outcome.troubleshooting = f"TROUBLESHOOTING.md#{anchor}" if anchor else None
        if not isinstance(raised, (ClientAuthenticationError, ValueError)):
            outcome.cause = f"unexpected {type(raised).__name__}: {raised}"
        return outcome
    finally:
        CHAIN.reset(reset)
    outcome.seconds = time.perf_counter() - start
    outcome.status = "succeeded"
    outcome.identity = jwt.identity(jwt.decode(token.token))
    outcome.expires_on = int(token.expires_on)
    return outcome


def _member_facts(credential: Any) -> dict[str, str]:
    """Facts a member gathers about itself: SharedTokenCacheCredential and VisualStudioCodeCredential say
    where they looked (MSAL's cache, VS Code's sign-in record) and what they found; the broker why it's
    absent."""
    describe = getattr(credential, "_doctor_facts", None)
    if not callable(describe):
        return {}
    try:
        return {str(k): str(v) for k, v in describe().items()}
    except Exception as error:  # a fact-finding bug must not break the doctor
        return {"facts": f"unknown ({type(error).__name__}: {error})"}


def _build_default() -> tuple[Any, list[str]]:
    """DefaultAzureCredential as this environment makes it; if AZURE_TOKEN_CREDENTIALS is invalid,
    without it."""
    from .._credentials.default import DefaultAzureCredential

    try:
        return DefaultAzureCredential(), []
    except ValueError as error:
        env = {k: v for k, v in os.environ.items() if k != "AZURE_TOKEN_CREDENTIALS"}
        problem = (
            f"{error} DefaultAzureCredential() raises this error; the default chain is diagnosed instead."
        )
        return DefaultAzureCredential(_env=env), [problem]


def diagnose(scope: str) -> dict[str, Any]:
    dac, problems = _build_default()
    outcomes: list[Outcome] = []
    try:
        for entry in dac.plan:
            facts = facts_for(entry.key, credential=entry.credential)
            facts.update(_member_facts(entry.credential))
            if not entry.included:
                outcome = Outcome(entry.name, "excluded")
                outcome.note = entry.reason
            elif entry.key == "interactive_browser":
                outcome = Outcome(entry.name, "available")
                outcome.note = "not tried: it would open a web browser"
            else:
                outcome = _attempt(dac, entry, scope)
            outcome.facts = facts
            outcomes.append(outcome)
    finally:
        dac.close()
    result: dict[str, Any]
    decisive = next((o for o in outcomes if o.status in ("succeeded", "failed", "available")), None)
    if problems:
        result = {
            "status": "failed",
            "credential": None,
            "identity": None,
            "summary": "DefaultAzureCredential() raises: AZURE_TOKEN_CREDENTIALS is invalid",
        }
    elif decisive is None:
        result = {
            "status": "unavailable",
            "credential": None,
            "identity": None,
            "summary": "DefaultAzureCredential would fail: no credential can provide a token here",
        }
    elif decisive.status == "succeeded":
        result = {
            "status": "succeeded",
            "credential": decisive.name,
            "identity": decisive.identity or None,
            "summary": f"DefaultAzureCredential would use {decisive.name}",
        }
    elif decisive.status == "available":
        result = {
            "status": "available",
            "credential": decisive.name,
            "identity": None,
            "summary": f"DefaultAzureCredential would open a browser to sign in ({decisive.name})",
        }
    else:
        works = [o.name for o in outcomes if o.status == "succeeded"]
        later = (
            f"; {', '.join(works)} would work if it came first or {decisive.name} were excluded"
            if works
            else ""
        )
        result = {
            "status": "failed",
            "credential": decisive.name,
            "identity": None,
            "summary": f"DefaultAzureCredential would stop at {decisive.name}, which failed{later}",
        }
    key = {"failed": "dac-stopped", "unavailable": "dac-failed"}.get(result["status"])
    row = lookup("dac-invalid-token-credentials" if problems else key) if key else None
    result["mitigation"] = row.mitigation if row else None
    result["troubleshooting"] = f"TROUBLESHOOTING.md#{row.anchor}" if row else None
    return {
        "scope": scope,
        "azure_variables": azure_variables(os.environ),
        "host_variables": host_variables(os.environ),
        "problems": problems,
        "credentials": [o.as_json() for o in outcomes],
        "result": result,
        "exit_code": 0 if result["status"] == "succeeded" else 1,
    }


def render(report: dict[str, Any], out: Printer) -> None:
    out.line(out.paint("azidentity doctor", "bold") + ": DefaultAzureCredential on this machine")
    out.fields(
        [
            ("scope", report["scope"]),
            ("AZURE_* set", report["azure_variables"] or "none (names only; values are never shown)"),
            ("host variables", report["host_variables"]),
        ]
    )
    for problem in report["problems"]:
        out.line("  " + out.paint("problem", "red") + "  " + problem)
    credentials = report["credentials"]
    width = max(len(c["name"]) for c in credentials)
    for c in credentials:
        out.line()
        seconds = f"{c['seconds']:.2f} s" if c["seconds"] is not None else ""
        status = out.paint(f"{c['status']:<11}", STATUS_STYLE.get(c["status"], ""))
        out.line(f"{out.paint(c['name'].ljust(width), 'bold')}  {status}  {seconds}".rstrip())
        identity = jwt.describe(c["identity"]) if c["identity"] else None
        expires = f"{jwt.iso(c['expires_on'])} ({jwt.relative(c['expires_on'])})" if c["expires_on"] else None
        out.fields(
            [
                ("identity", identity),
                ("expires", expires),
                ("cause", c["cause"]),
                ("note", c["note"]),
                ("mitigation", c["mitigation"]),
                ("troubleshooting", c["troubleshooting"]),
                *c["facts"].items(),
            ]
        )
    result = report["result"]
    out.line()
    style = "green" if result["status"] == "succeeded" else "red"
    out.line(out.paint("Result", style) + ": " + result["summary"])
    if result["identity"]:
        out.fields(
            [("identity", jwt.describe(result["identity"])), ("audience", result["identity"].get("aud"))]
        )
    elif result.get("mitigation"):
        out.fields([("mitigation", result["mitigation"]), ("troubleshooting", result.get("troubleshooting"))])


def run(options: argparse.Namespace) -> int:
    report = diagnose(options.scope)
    if options.json:
        print(json.dumps(report, indent=2))
    else:
        render(report, Printer())
    return int(report["exit_code"])
