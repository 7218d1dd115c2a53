"""Managed identity failures, as the errors decisions.md assigns them, with the guide's rows.

Unavailable (CredentialUnavailableError): a chain moves on to its next member. Failed
(AuthenticationFailedError): it stops. The functions here read what the retry loop reports
(:class:`~.retry.Outcome`) and the endpoint's answer; where the category depends on what only the
flow knows (in a chain, IMDS seen before), the flow passes it in. ``credential`` is the name the
error shows.
"""

from __future__ import annotations

from ..._lazy import TYPE_CHECKING
from ..effects import HttpResponse
from . import responses as mi_responses
from .retry import Outcome
from .sources import APP_SERVICE

if TYPE_CHECKING:
    from ..._errors import AuthenticationFailedError, CredentialUnavailableError

    Failure = AuthenticationFailedError | CredentialUnavailableError


def failed(
    detail: str, key: str | None, response: HttpResponse | None = None, *, credential: str
) -> AuthenticationFailedError:
    from ..._errors import AuthenticationFailedError

    return AuthenticationFailedError(
        detail, credential=credential, mitigation_key=key, http_response=response
    )


def unavailable(
    detail: str, key: str | None, response: HttpResponse | None = None, *, credential: str
) -> CredentialUnavailableError:
    from ..._errors import CredentialUnavailableError

    return CredentialUnavailableError(
        detail, credential=credential, mitigation_key=key, http_response=response
    )


def failed_or_unavailable(
    is_unavailable: bool,
    detail: str,
    key: str | None,
    response: HttpResponse | None = None,
    *,
    credential: str,
) -> Failure:
    if is_unavailable:
        return unavailable(detail, key, response, credential=credential)
    return failed(detail, key, response, credential=credential)


def tries(outcome: Outcome, *, always: bool = False) -> str:
    """How many attempts, in how long; and whether the budget stopped them."""
    if outcome.attempts < 2 and not outcome.budget_spent and not always:
        return ""
    count = f"{outcome.attempts} attempt{'s' if outcome.attempts != 1 else ''}"
    stopped = (
        f"; no further attempt fits in the {outcome.budget:g} s budget (timeout={outcome.budget:g})"
        if outcome.budget_spent
        else ""
    )
    return f" ({count} in {outcome.elapsed:.1f} s{stopped})"


def no_response(outcome: Outcome, endpoint: str, *, is_unavailable: bool, credential: str) -> Failure:
    """No attempt got an answer from ``endpoint``: the last transport error, and how often it was tried."""
    error = outcome.error
    what = error.message if error is not None else f"GET {endpoint}: no response"
    if outcome.attempts > 1:
        detail = (
            f"Multiple attempts failed to obtain a token from the managed identity endpoint"
            f"{tries(outcome)}: no response. Last error: {what}"
        )
    else:
        detail = (
            f"No response received from the managed identity endpoint{tries(outcome, always=True)}: {what}"
        )
    return failed_or_unavailable(is_unavailable, detail, "mi-no-response", credential=credential)


def status_error(
    outcome: Outcome, response: HttpResponse, statuses: frozenset[int], *, credential: str
) -> Failure:
    """An answer other than a token: retries exhausted (``statuses`` are the retried ones), or unexpected."""
    retryable = response.status in statuses
    if retryable and outcome.attempts > 1:
        return failed(
            f"Multiple attempts failed to obtain a token from the managed identity endpoint"
            f"{tries(outcome)}; the last response is shown below.",
            "mi-retries-exhausted",
            response,
            credential=credential,
        )
    if retryable and outcome.budget_spent:
        return failed(
            f"The managed identity endpoint answered {response.status}, "
            "and waiting to retry (backoff or Retry-After) would not fit in the request's budget"
            f"{tries(outcome)}; the response is shown below.",
            "mi-retries-exhausted",
            response,
            credential=credential,
        )
    message = mi_responses.message_of(response)
    return failed(
        f"Unexpected response from the managed identity endpoint ({response.status})"
        f"{': ' + message if message else ''}",
        "mi-bad-response",
        response,
        credential=credential,
    )


def host_error(
    kind: str, outcome: Outcome, response: HttpResponse, statuses: frozenset[int], *, credential: str
) -> Failure:
    """:func:`status_error` for the hosts other than IMDS (``kind`` is the source's), which may also
    redirect (never followed) or, on App Service, refuse the request with a message of their own."""
    status = response.status
    if 300 <= status < 400:
        location = response.headers.get("location") or "no Location header"
        return failed(
            f"The managed identity endpoint answered with a redirect ({status} to {location}); "
            "managed identity requests carry a secret and never follow redirects.",
            "mi-redirect",
            response,
            credential=credential,
        )
    if kind == APP_SERVICE and 400 <= status < 500:
        message = mi_responses.message_of(response)
        said = f": {message}" if message else ""
        return failed(
            f"The App Service identity endpoint refused the request ({status}){said}",
            "mi-app-service-error",
            response,
            credential=credential,
        )
    return status_error(outcome, response, statuses, credential=credential)
