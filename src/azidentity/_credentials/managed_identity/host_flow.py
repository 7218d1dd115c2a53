"""The hosts that hand the process a secret or an endpoint of their own: App Service and Functions,
Service Fabric, Cloud Shell and Azure ML (one request), and Azure Arc (the same request, answered by a
key-file challenge first)."""

from __future__ import annotations

import os
import stat
import sys
from typing import TYPE_CHECKING

from ..._protocol.effects import Flow, HttpResponse
from ..._protocol.managed_identity import arc, failures
from ..._protocol.managed_identity import requests as mi_requests
from ..._protocol.managed_identity import sources as mi_sources
from ..._protocol.managed_identity.retry import Outcome, send, wraps
from ..._token import Token

if TYPE_CHECKING:
    from . import _ManagedIdentity


# App Service, Service Fabric, Cloud Shell, Azure ML --------------------------------------------
def host_flow(credential: _ManagedIdentity, resource: str) -> Flow[Token]:
    source = credential._source
    request = mi_requests.token_request(source, resource, credential._identity, credential._timeouts)
    policy = credential._policy()
    outcome = yield from send(request, policy, credential._now, budget=credential._new_budget())
    response = outcome.response
    if response is None:
        raise _no_response(credential, outcome)
    if response.status == 200:
        return credential._token(response)[0]
    raise failures.host_error(source.kind, outcome, response, policy.statuses, credential=credential._name)


def _no_response(credential: _ManagedIdentity, outcome: Outcome) -> Exception:
    """No answer: on Service Fabric, a certificate other than the pinned one is named as such (the pin
    lives in the transport, ``_http/service_fabric.py``)."""
    error = outcome.error
    if error is not None and credential._source.kind == mi_sources.SERVICE_FABRIC:
        from ..._http.service_fabric import MISMATCH, ThumbprintMismatch

        what = error.message
        if wraps(error, ThumbprintMismatch) is not None or MISMATCH in what:
            return failures.failed(
                "The Service Fabric endpoint's certificate does not match IDENTITY_SERVER_THUMBPRINT; "
                f"the request was not sent. ({what})",
                "mi-service-fabric-thumbprint",
                credential=credential._name,
            )
    return failures.no_response(
        outcome, credential._source.endpoint, is_unavailable=False, credential=credential._name
    )


# Azure Arc ---------------------------------------------------------------------------------------
def arc_flow(credential: _ManagedIdentity, resource: str) -> Flow[Token]:
    name = credential._name
    identity = credential._identity
    request = mi_requests.token_request(credential._source, resource, identity, credential._timeouts)
    policy = credential._policy()
    budget = credential._new_budget()  # the challenge and the answer share it
    outcome = yield from send(request, policy, credential._now, budget=budget)
    response = outcome.response
    if response is not None and response.status == 401:
        key = arc_key(response, credential._arc_token_dir, credential._program_data, credential=name)
        outcome = yield from send(
            mi_requests.with_authorization(request, key), policy, credential._now, budget=budget
        )
        response = outcome.response
        if response is not None and response.status == 401:
            raise failures.failed(
                "The Azure Arc agent refused the key file's contents.",
                "mi-arc-key-file",
                response,
                credential=name,
            )
    if response is None:
        raise _no_response(credential, outcome)
    if response.status != 200:
        raise failures.host_error(
            credential._source.kind, outcome, response, policy.statuses, credential=name
        )
    token, payload = credential._token(response)
    if identity is not None and not arc.confirms_identity(payload, identity):
        raise failures.failed(
            "Azure Arc did not confirm the requested user-assigned managed identity "
            f"({identity}) in the token response. "
            "The agent likely does not support user-assigned managed identities "
            "and returned the system-assigned identity.",
            "mi-arc-user-assigned",
            response,
            credential=name,
        )
    return token


def arc_key(challenge: HttpResponse, token_dir: str | None, program_data: str, *, credential: str) -> str:
    """Read the key file the challenge names, if it may be read (see ``_protocol.managed_identity.arc``).
    ``token_dir`` replaces the agent's token directory (a test seam); ``program_data`` is PROGRAMDATA."""
    try:
        path = arc.challenge_path(challenge)
        directory = token_dir or arc.default_token_dir(os.name, sys.platform, {"PROGRAMDATA": program_data})
        resolved = arc.check_key_path(path, directory)
        try:
            # O_NONBLOCK: opening a FIFO planted under the .key name must not wait for a writer.
            flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
            with open(os.open(resolved, flags), "rb") as file:
                info = os.fstat(file.fileno())
                if not stat.S_ISREG(info.st_mode):
                    raise arc.KeyFileProblem(f"The key file is not a regular file: {path}")
                arc.check_key_size(info.st_size)
                data = file.read(arc.MAX_KEY_SIZE + 1)
        except OSError as error:
            raise arc.KeyFileProblem(
                f"Could not read file {path} contents: {error.strerror or error}"
            ) from None
        arc.check_key_size(len(data))
        try:
            key = data.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise arc.KeyFileProblem(f"The key file is not text: {path}") from None
        if not key or any(ord(ch) < 32 for ch in key):
            raise arc.KeyFileProblem(f"The key file does not hold a key: {path}")
        return key
    except arc.KeyFileProblem as problem:
        raise failures.failed(
            f"The key file path is invalid: {problem}", "mi-arc-key-file", challenge, credential=credential
        ) from None
