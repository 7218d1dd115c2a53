"""The exceptions azidentity raises, and the one layout they are rendered in.

    ClientAuthenticationError            (azure-core: what Azure SDK clients catch)
    ├── CredentialUnavailableError       the credential could not even try; a chain moves on
    │   └── AuthenticationRequiredError  a user must sign in interactively first
    └── AuthenticationFailedError        it tried and was refused; a chain stops

``ConfigurationError`` (a ``ValueError``) reports arguments or an environment that can't work, in
the same layout. Every error carries its facts as attributes (``credential``, ``status_code``,
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


class Facts:
    """What an error says, as data: who, what happened, the response, the guide's row.

    Errors are made from facts, their text is rendered from them once (:meth:`render`), and the
    facts travel as they are: a chain's error holds its members' errors, DefaultAzureCredential
    turns a developer tool's failure into "unavailable" by sharing the failure's facts, and a
    placeholder for a member that could not be built reports its constructor's facts. Nothing
    ever parses a rendered text back.
    """

    __slots__ = (
        "credential",
        "detail",
        "outcome",
        "response",
        "row",
        "mitigation",
        "status_code",
        "oauth_error",
        "error_code",
        "error_codes",
        "correlation_id",
        "trace_id",
        "timestamp",
        "extra",
    )

    def __init__(
        self,
        credential: str | None,
        detail: str,
        *,
        outcome: str = "failed",
        response: HttpResponse | None = None,
        mitigation_key: str | None = None,
        mitigation: str | None = None,
        error_codes: Iterable[int] = (),
        extra: dict[str, str] | None = None,
    ) -> None:
        self.credential = credential
        self.detail = detail
        self.outcome = outcome
        self.response = response
        self.status_code = response.status if response is not None else None
        self.oauth_error: str | None = None
        self.correlation_id: str | None = None
        self.trace_id: str | None = None
        self.timestamp: str | None = None
        self.error_codes = list(error_codes)
        payload = _json_or_none(response)
        if isinstance(payload, dict):
            if isinstance(payload.get("error"), str):
                self.oauth_error = payload["error"]
            codes = payload.get("error_codes")
            if isinstance(codes, list) and not self.error_codes:
                self.error_codes = [c for c in codes if isinstance(c, int) and not isinstance(c, bool)]
            for name in ("correlation_id", "trace_id", "timestamp"):
                if isinstance(payload.get(name), str):
                    setattr(self, name, payload[name])
        self.extra = dict(extra or {})  # more facts a credential found (a tool's trace id, ...)
        for name in ("correlation_id", "trace_id", "timestamp"):
            if name in self.extra:
                setattr(self, name, self.extra.pop(name))
        self.error_code = f"AADSTS{self.error_codes[0]}" if self.error_codes else None
        section = _SECTION_OF.get(credential or "", credential)
        row: Mitigation | None = lookup(mitigation_key, section) if mitigation_key else None
        if row is None and self.error_code:
            row = lookup(self.error_code, section)
        self.row = row
        # A credential may word the row's advice for what was requested (the scope, the tenant).
        self.mitigation = mitigation or (row.mitigation if row else None)

    @property
    def mitigation_key(self) -> str | None:
        return self.row.key if self.row is not None else None

    @property
    def anchor(self) -> str | None:
        return self.row.anchor if self.row is not None else None

    def render(self, named: bool = True) -> str:
        """The guide's layout; ``named=False`` leaves the credential's name out (a chain names it)."""
        return render(
            self.credential if named else None,
            self.detail,
            self.response,
            self.mitigation,
            self.anchor,
            self.outcome,
            lowercase=not named,
        )


class ChainFacts:
    """A chain's outcome: every member tried with its error, and the error that stopped it (if any).

    The chain's error exposes the facts of the member error that stopped it (``member``), or, when
    every member was unavailable, facts naming the chain and its guide row.
    """

    __slots__ = ("chain", "attempts", "stopped_by", "member")
    member: Facts

    def __init__(
        self,
        chain: str,
        attempts: list[tuple[str, BaseException]],
        stopped_by: BaseException | None,
        mitigation_key: str | None,
    ) -> None:
        self.chain = chain
        self.attempts = attempts
        self.stopped_by = stopped_by
        stopper: Any = getattr(stopped_by, "facts", None)
        if isinstance(stopper, ChainFacts):
            stopper = stopper.member
        if isinstance(stopper, Facts):
            self.member = stopper
        elif stopped_by is not None:  # another library's error: what it said, under the member's name
            self.member = Facts(attempts[-1][0], str(stopped_by))
        else:
            self.member = Facts(chain, "", outcome="unavailable", mitigation_key=mitigation_key)

    def render(self, named: bool = True, doctor: bool = True) -> str:
        head = f"{self.chain} failed to acquire a token." if named else "failed to acquire a token."
        lines = [head, "Attempted credentials:"]
        for name, error in self.attempts:
            first, *rest = _member_text(name, error).split("\n")
            lines.append(f"\t{name}: {first}")
            lines.extend(f"\t\t{line}" if line.strip() else "" for line in rest)
        if doctor:
            lines.append(DOCTOR_LINE)
        return "\n".join(lines)


# The last line of a chain's error; a nested chain's lines leave it to the outermost chain.
DOCTOR_LINE = "To diagnose every credential at once, run: azidentity doctor"


def _member_text(name: str, error: BaseException) -> str:
    """A member's message for its line in a chain's error (the line names the member: the message
    names the credential too only when that is another one)."""
    facts = getattr(error, "facts", None)
    if isinstance(facts, ChainFacts):
        return facts.render(named=facts.chain != name, doctor=False)
    if isinstance(facts, Facts):
        return facts.render(named=facts.credential != name)
    if isinstance(error, ClientAuthenticationError) and isinstance(getattr(error, "message", None), str):
        return error.message.strip() or type(error).__name__  # another library's error, as it reads
    return f"{type(error).__name__}: {error}".strip()


class _FactsError:
    """Our errors: made from :class:`Facts`, which they expose as attributes."""

    facts: Facts | ChainFacts
    credential: str | None
    detail: str
    status_code: int | None
    oauth_error: str | None
    error_code: str | None
    error_codes: list[int]
    correlation_id: str | None
    trace_id: str | None
    timestamp: str | None
    mitigation: str | None
    mitigation_key: str | None
    troubleshooting_anchor: str | None
    cause: str | None
    message: str

    def _expose(self, given: Facts | ChainFacts) -> None:
        self.facts = given
        facts = given.member if isinstance(given, ChainFacts) else given
        if isinstance(given, ChainFacts):
            self.attempts = list(given.attempts)
        self.credential = facts.credential
        self.detail = facts.detail
        self.status_code = facts.status_code
        self.oauth_error = facts.oauth_error
        self.error_code = facts.error_code
        self.error_codes = list(facts.error_codes)
        self.correlation_id = facts.correlation_id
        self.trace_id = facts.trace_id
        self.timestamp = facts.timestamp
        self.mitigation = facts.mitigation
        self.mitigation_key = facts.mitigation_key
        self.troubleshooting_anchor = facts.anchor
        self.cause = facts.row.cause if facts.row is not None else None
        for name, value in facts.extra.items():
            setattr(self, name, value)
        if facts.response is not None:
            # The azure-core response, without letting azure-core append its unredacted body to the text.
            setattr(self, "response", facts.response.raw)  # noqa: B010 - azure-core's attribute
            setattr(self, "reason", facts.response.reason)  # noqa: B010 - azure-core types it Optional[str]

    def __str__(self) -> str:
        # azure-core's HttpResponseError.__str__ appends the raw (unredacted) body and cuts the
        # text at 2 KiB; our message already shows the redacted body in the guide's layout.
        return self.message


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
    *,
    lowercase: bool = False,
) -> str:
    """The guide's layout: a header naming the credential, the response, the mitigation."""
    lines: list[str] = []
    if response is not None:
        head = f"{credential} authentication {outcome}" if credential else f"Authentication {outcome}"
        if lowercase and not credential:
            head = head[0].lower() + head[1:]
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


def _facts(
    message: str | None,
    outcome: str,
    credential: str | None,
    http_response: HttpResponse | None,
    kwargs: dict[str, Any],
) -> Facts | ChainFacts:
    given = kwargs.pop("facts", None)
    if isinstance(given, (Facts, ChainFacts)):
        return given
    return Facts(
        credential,
        message or "",
        outcome=outcome,
        response=http_response,
        mitigation_key=kwargs.pop("mitigation_key", None),
        mitigation=kwargs.pop("mitigation", None),
        error_codes=kwargs.pop("error_codes", ()),
        extra=kwargs.pop("extra", None),
    )


class CredentialUnavailableError(_FactsError, ClientAuthenticationError):
    """The credential could not attempt authentication: a chain tries the next one.

    Raised as azure-identity's is (``CredentialUnavailableError("message")``), or from facts:
    ``credential=``, ``mitigation_key=``, ``http_response=`` (or ``facts=``, shared with another error).
    """

    def __init__(
        self,
        message: str | None = None,
        response: Any = None,
        *,
        credential: str | None = None,
        http_response: HttpResponse | None = None,
        **kwargs: Any,
    ) -> None:
        plain = credential is None and "mitigation_key" not in kwargs and "facts" not in kwargs
        facts = _facts(message, "unavailable", credential, http_response, kwargs)
        super().__init__(message=(message or "") if plain else facts.render(), **kwargs)
        self._expose(facts)  # azure-core's __init__ reset status_code and reason
        if response is not None and http_response is None:  # azure-core's positional response
            self.response = response
            self.status_code = getattr(response, "status_code", None)


class AuthenticationFailedError(_FactsError, ClientAuthenticationError):
    """The credential attempted authentication and was refused: a chain stops here."""

    def __init__(
        self,
        message: str = "",
        *,
        credential: str | None = None,
        http_response: HttpResponse | None = None,
        **kwargs: Any,
    ) -> None:
        facts = _facts(message, "failed", credential, http_response, kwargs)
        super().__init__(message=facts.render(), **kwargs)
        self._expose(facts)


class ConfigurationError(_FactsError, ValueError):
    """A credential's arguments or environment can't work: a ``ValueError`` (as azure-identity raises),
    in the guide's layout, with the facts DefaultAzureCredential reports for a member it couldn't build."""

    def __init__(
        self,
        detail: str,
        *,
        credential: str,
        mitigation_key: str | None = None,
        mitigation: str | None = None,
    ) -> None:
        facts = Facts(credential, detail, mitigation_key=mitigation_key, mitigation=mitigation)
        self._expose(facts)
        self.message = facts.render()
        super().__init__(self.message)


class EnvironmentConfigurationError(ConfigurationError):
    """EnvironmentCredential's variables are complete but one holds an unusable value: ``variable`` names
    it (never its value)."""

    def __init__(self, variable: str | None, detail: str) -> None:
        self.variable = variable
        super().__init__(detail, credential="EnvironmentCredential", mitigation_key="env-bad-value")


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
