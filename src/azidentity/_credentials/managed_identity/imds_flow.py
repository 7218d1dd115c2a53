"""IMDS (virtual machines, scale sets, AKS pod identity): the chain's quick probe, the token request, and
what IMDS's answers mean.

Whether IMDS answered before (``_imds_confirmed``) is the credential's state: once it has, the probe is
skipped and a failure to connect is retried, since IMDS is there.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ... import log
from ..._protocol.effects import Flow, TransportError
from ..._protocol.managed_identity import failures
from ..._protocol.managed_identity import imds as mi_imds
from ..._protocol.managed_identity import requests as mi_requests
from ..._protocol.managed_identity import responses as mi_responses
from ..._protocol.managed_identity.retry import connect_failed, send
from ..._token import Token

if TYPE_CHECKING:
    from . import _ManagedIdentity

_GATEWAY = (502, 504)


def imds_flow(credential: _ManagedIdentity, resource: str, in_chain: bool) -> Flow[Token]:
    name = credential._name
    if credential._probe_enabled() and not credential._imds_confirmed:
        yield from probe(credential._source.endpoint, resource, credential._probe_timeout, credential=name)
        credential._imds_confirmed = True
    request = mi_requests.token_request(
        credential._source, resource, credential._identity, credential._timeouts
    )
    policy = credential._policy()
    outcome = yield from send(
        request,
        policy,
        credential._now,
        retry_connect_failures=credential._imds_confirmed,
        budget=credential._new_budget(),
    )
    response = outcome.response
    if response is None:
        # Nothing listening (no probe, no earlier answer): there is no IMDS here. An endpoint
        # that accepted the connection and then hung or reset is there, and failing.
        absent = (
            not credential._imds_confirmed
            and not outcome.reached
            and outcome.error is not None
            and connect_failed(outcome.error)
        )
        raise failures.no_response(
            outcome, credential._source.endpoint, is_unavailable=absent, credential=name
        )
    status = response.status
    if status in _GATEWAY:
        raise failures.failed(
            f"The request failed due to a gateway error ({status}){failures.tries(outcome)}.",
            "mi-imds-gateway",
            response,
            credential=name,
        )
    if status == 404 and b"no azure identity found" in response.body.lower():
        # AKS pod identity's NMI (answering for IMDS, in plain text) before the pod's identity is ready.
        raise failures.failed(
            f"no azure identity found for request clientID{failures.tries(outcome)}.",
            "mi-aks-pod-identity",
            response,
            credential=name,
        )
    reason = mi_imds.not_imds_reason(response)
    if reason is not None:
        raise failures.failed_or_unavailable(
            in_chain,
            f"The endpoint that answered is not IMDS: it returned {reason}.",
            "mi-not-imds",
            response,
            credential=name,
        )
    credential._imds_confirmed = True
    if status == 200:
        return credential._token(response)[0]
    if status == 400:
        text = "The requested identity hasn't been assigned to this resource."
        message = mi_responses.message_of(response)
        if credential._identity is None:
            raise failures.failed_or_unavailable(
                in_chain,
                f"{text} (system-assigned identity: {message or 'no details'})",
                "mi-imds-identity-not-assigned",
                response,
                credential=name,
            )
        raise failures.failed(
            f"{text} (requested {credential._identity}: {message or 'no details'})",
            "mi-imds-identity-not-assigned",
            response,
            credential=name,
        )
    raise failures.status_error(outcome, response, policy.statuses, credential=name)


def probe(endpoint: str, resource: str, timeout: float, *, credential: str) -> Flow[None]:
    """One short request without the Metadata header: does anything that may be IMDS answer?"""
    request = mi_imds.probe_request(endpoint, resource, timeout)
    try:
        response = yield request
    except TransportError as error:
        # Lead with the guide's searchable row text; then say what actually happened, since a
        # refused or reset connection is not a timeout.
        what = "managed identity timed out: " + (
            f"IMDS did not answer within {timeout:g} s" if error.timeout else "IMDS gave no response"
        )
        raise failures.unavailable(
            f"{what} ({error.message})", "dac-mi-timeout", credential=credential
        ) from None
    reason = mi_imds.not_imds_reason(response, probe=True)
    if reason is not None:
        raise failures.unavailable(
            f"The endpoint that answered is not IMDS: it returned {reason}.",
            "mi-not-imds",
            response,
            credential=credential,
        )
    log.emit(
        log.EVENT_AUTHENTICATION,
        logging.DEBUG,
        "%s: IMDS answered the probe (%s)",
        credential,
        response.status,
    )
