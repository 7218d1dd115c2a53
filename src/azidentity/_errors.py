"""The exceptions azidentity raises, and the one layout they are rendered in.

    ClientAuthenticationError            (azure-core: what Azure SDK clients catch)
    ├── CredentialUnavailableError       the credential could not even try; a chain moves on
    │   └── AuthenticationRequiredError  a user must sign in interactively first
    └── AuthenticationFailedError        it tried and was refused; a chain stops

Every error carries its facts as attributes (``credential``, ``status_code``,
``oauth_error``, ``error_code``, ``mitigation`` ...) so programs need not parse the text,
and the text follows the troubleshooting guide's layout (docs: error-layout). The name
``error`` is deliberately not used: azure-core's base class gives it another meaning.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import ClientAuthenticationError

from ._mitigations import Mitigation, lookup
from ._redact import redact_json, redact_text

if TYPE_CHECKING:
    from ._protocol.effects import HttpResponse

RULE = "-" * 80
TROUBLESHOOTING_DOC = "TROUBLESHOOTING.md"
_BODY_LIMIT = 4096
# Redaction looks this far past the shown part, so that a token starting inside it is redacted whole.
_TOKEN_MARGIN = 16384
_SECTION_OF = {"CertificateCredential": "ClientCertificateCredential"}


class _Facts:
    """Attributes shared by our errors; filled by :func:`_init_facts`."""

    credential: str | None
    status_code: int | None
    oauth_error: str | None
    error_code: str | None
    error_codes: list[int]
    correlation_id: str | None
    trace_id: str | None
    timestamp: str | None
    mitigation: str | None
    troubleshooting_anchor: str | None
    cause: str | None
    detail: str
    message: str

    def __str__(self) -> str:
        # azure-core's HttpResponseError.__str__ appends the raw (unredacted) body and cuts the
        # text at 2 KiB; our message already shows the redacted body in the guide's layout.
        return self.message


def _init_facts(
    err: Any,
    credential: str | None,
    detail: str,
    http_response: HttpResponse | None,
    mitigation_key: str | None,
    outcome: str = "failed",
) -> str:
    err.credential = credential
    err.detail = detail
    err.status_code = http_response.status if http_response is not None else None
    err.oauth_error = err.error_code = err.correlation_id = err.trace_id = err.timestamp = None
    err.error_codes = []
    payload = _json_or_none(http_response)
    if isinstance(payload, dict):
        if isinstance(payload.get("error"), str):
            err.oauth_error = payload["error"]
        codes = payload.get("error_codes")
        if isinstance(codes, list):
            err.error_codes = [c for c in codes if isinstance(c, int)]
        if err.error_codes:
            err.error_code = f"AADSTS{err.error_codes[0]}"
        for name in ("correlation_id", "trace_id", "timestamp"):
            if isinstance(payload.get(name), str):
                setattr(err, name, payload[name])
    row: Mitigation | None = None
    section = _SECTION_OF.get(credential or "", credential)
    if mitigation_key:
        row = lookup(mitigation_key, section)
    if row is None and err.error_code:
        row = lookup(err.error_code, section)
    err.mitigation = row.mitigation if row else None
    err.cause = row.cause if row else None
    err.troubleshooting_anchor = row.anchor if row else None
    return render(credential, detail, http_response, err.mitigation, err.troubleshooting_anchor, outcome)


def _attach(err: Any, http_response: HttpResponse | None) -> None:
    """Expose the azure-core response without letting azure-core append its unredacted body."""
    if http_response is not None:
        err.response = http_response.raw
        err.status_code = http_response.status
        err.reason = http_response.reason


def _json_or_none(response: HttpResponse | None) -> Any:
    if response is None or not response.body:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def render(
    credential: str | None,
    detail: str,
    response: HttpResponse | None,
    mitigation: str | None,
    anchor: str | None,
    outcome: str = "failed",
) -> str:
    """The guide's layout: a header naming the credential, the response, the mitigation."""
    lines: list[str] = []
    if response is not None:
        head = f"{credential} authentication {outcome}" if credential else f"Authentication {outcome}"
        lines.append(head + (f": {detail}" if detail else ""))
        lines.append(f"{response.request.method} {response.request.url_without_query}")
        lines.append(RULE)
        lines.append(f"RESPONSE {response.status} {response.reason}".rstrip())
        lines.append(RULE)
        lines.append(format_body(response))
        lines.append(RULE)
    else:
        lines.append(f"{credential}: {detail}" if credential else detail)
    if mitigation:
        lines.append(f"Mitigation: {mitigation}")
    if anchor:
        lines.append(f"Troubleshooting: {TROUBLESHOOTING_DOC}#{anchor}")
    return "\n".join(lines)


def format_body(response: HttpResponse) -> str:
    if not response.body:
        return "Response contained no body"
    try:
        payload = response.json()
    except ValueError:
        text = redact_text(response.text()[: _BODY_LIMIT + _TOKEN_MARGIN])
        if getattr(response, "truncated", False):
            return (
                text[:_BODY_LIMIT]
                + f"\n... (the body is larger than {len(response.body)} bytes; only that much was read)"
            )
        if len(text) > _BODY_LIMIT or len(response.body) > _BODY_LIMIT + _TOKEN_MARGIN:
            text = text[:_BODY_LIMIT] + f"\n... ({len(response.body)} bytes in all)"
        return text
    text = json.dumps(redact_json(payload), indent=2, ensure_ascii=False)
    return text if len(text) <= _BODY_LIMIT else text[:_BODY_LIMIT] + f"\n... ({len(text)} characters in all)"


class CredentialUnavailableError(_Facts, ClientAuthenticationError):
    """The credential could not attempt authentication: a chain tries the next one."""

    def __init__(
        self,
        message: str | None = None,
        response: Any = None,
        *,
        credential: str | None = None,
        mitigation_key: str | None = None,
        http_response: HttpResponse | None = None,
        **kwargs: Any,
    ) -> None:
        text = message or ""
        if credential is not None or mitigation_key is not None:
            text = _init_facts(self, credential, text, http_response, mitigation_key, "unavailable")
        else:
            _init_facts(self, None, text, http_response, None)
        super().__init__(message=text, **kwargs)
        _attach(self, http_response)
        if response is not None and http_response is None:  # azure-core's positional response
            self.response = response
            self.status_code = getattr(response, "status_code", None)


class AuthenticationFailedError(_Facts, ClientAuthenticationError):
    """The credential attempted authentication and was refused: a chain stops here."""

    def __init__(
        self,
        message: str = "",
        *,
        credential: str | None = None,
        mitigation_key: str | None = None,
        http_response: HttpResponse | None = None,
        **kwargs: Any,
    ) -> None:
        text = _init_facts(self, credential, message, http_response, mitigation_key)
        super().__init__(message=text, **kwargs)
        _attach(self, http_response)


class AuthenticationRequiredError(CredentialUnavailableError):
    """Interactive authentication is required to get a token. Carries the request's scopes and claims."""

    def __init__(
        self,
        scopes: Iterable[str],
        message: str | None = None,
        claims: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._scopes: Sequence[str] = tuple(scopes)
        self._claims = claims
        if message is None:
            message = "Interactive authentication is required to get a token. Call 'authenticate' to begin."
        kwargs.setdefault("mitigation_key", "auth-required")
        super().__init__(message, **kwargs)

    @property
    def scopes(self) -> Sequence[str]:
        return self._scopes

    @property
    def claims(self) -> str | None:
        return self._claims
