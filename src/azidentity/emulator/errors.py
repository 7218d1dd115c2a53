"""Entra ID error responses, in exactly the shape (and with the wording) the real service uses.

Where the brief left the code open, the choice is documented next to the constructor.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field

from .wire import RecordedRequest, Response, json_response

CERT_DOCS = (
    "https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials"
)
WIF_DOCS = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation"


@dataclass
class EntraError(Exception):
    status: int
    error: str
    code: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"AADSTS{self.code}: {self.message}"


def entra_timestamp(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def error_response(err: EntraError, request: RecordedRequest, base_url: str, now: float) -> Response:
    trace_id = str(uuid.uuid4())
    # Entra echoes the caller's client-request-id as the correlation id, which is how support traces calls.
    correlation_id = request.client_request_id or str(uuid.uuid4())
    stamp = entra_timestamp(now)
    description = (
        f"AADSTS{err.code}: {err.message}\r\nTrace ID: {trace_id}\r\n"
        f"Correlation ID: {correlation_id}\r\nTimestamp: {stamp}"
    )
    body = {
        "error": err.error,
        "error_description": description,
        "error_codes": [err.code],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"{base_url}/error?code={err.code}",
    }
    headers = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache", "x-ms-request-id": trace_id}
    if request.client_request_id:
        headers["client-request-id"] = request.client_request_id
    headers.update(err.headers)
    return json_response(err.status, body, headers)


# --- catalogue ------------------------------------------------------------------------------------


def missing_parameter(name: str) -> EntraError:
    return EntraError(
        400, "invalid_request", 900144, f"The request body must contain the following parameter: '{name}'."
    )


def tenant_not_found(tenant: str, error: str = "invalid_request") -> EntraError:
    return EntraError(
        400,
        error,
        90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
        "signing into the correct cloud. Check with your subscription administrator, this may happen "
        "if there are no active subscriptions for the tenant.",
    )


def tenant_malformed(tenant: str, error: str = "invalid_request") -> EntraError:
    return EntraError(
        400,
        error,
        900023,
        f"Specified tenant identifier '{tenant}' is neither a valid DNS name, nor a valid external domain.",
    )


def no_tenant(grant: str) -> EntraError:
    return EntraError(
        400,
        "invalid_request",
        50059,
        "No tenant-identifying information found in either the request or implied by any provided "
        f"credentials. (grant_type '{grant}' needs a tenant-specific authority)",
    )


def app_not_found(client_id: str, tenant: str) -> EntraError:
    return EntraError(
        400,
        "unauthorized_client",
        700016,
        f"Application with identifier '{client_id}' was not found in the directory '{tenant}'. This "
        "can happen if the application has not been installed by the administrator of the tenant or "
        "consented to by any user in the tenant. You may have sent your authentication request to the "
        "wrong tenant.",
    )


def unsupported_grant(grant: str) -> EntraError:
    return EntraError(
        400, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant}'."
    )


def invalid_secret(client_id: str) -> EntraError:
    return EntraError(
        401,
        "invalid_client",
        7000215,
        "Invalid client secret provided. Ensure the secret being sent in the request is the client "
        f"secret value, not the client secret ID, for a secret added to app '{client_id}'.",
    )


def expired_secret(client_id: str) -> EntraError:
    return EntraError(
        401,
        "invalid_client",
        7000222,
        f"The provided client secret keys for app '{client_id}' are expired. Visit the Azure portal to "
        "create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate "
        "credentials for added security: https://aka.ms/certCreds.",
    )


def credential_required() -> EntraError:
    return EntraError(
        401,
        "invalid_client",
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    )


def public_client_with_credential() -> EntraError:
    return EntraError(
        401,
        "invalid_client",
        700025,
        "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
    )


def bad_assertion_type(value: str) -> EntraError:
    # Real Entra answers 400 invalid_request here; the code (AADSTS90014-family) is not contractual.
    return EntraError(
        400,
        "invalid_request",
        7000216,
        f"'client_assertion_type' must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', "
        f"not '{value}'.",
    )


def malformed_jwt() -> EntraError:
    return EntraError(400, "invalid_request", 50027, "JWT token is invalid or malformed.")


def assertion_signature(
    client_id: str, thumbprint: str, reason: str = "The key was not found."
) -> EntraError:
    return EntraError(
        401,
        "invalid_client",
        700027,
        f"Client assertion failed signature validation. [Reason - {reason}, Thumbprint of key used "
        f"by client: '{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS "
        f"Graph to see configured keys for app Id '{client_id}'. Review the documentation at "
        "https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to "
        "learn how to retrieve keys.]",
    )


def assertion_time(now: float, nbf: float | None, exp: float | None) -> EntraError:
    nbf_text = entra_timestamp(nbf) if nbf is not None else "(none)"
    exp_text = entra_timestamp(exp) if exp is not None else "(none)"
    return EntraError(
        400,
        "invalid_client",
        700024,
        f"Client assertion is not within its valid time range. Current time: {entra_timestamp(now)}, "
        f"assertion valid from {nbf_text}, expiry time of assertion {exp_text}. Review the "
        f"documentation at {CERT_DOCS} .",
    )


def assertion_audience(aud: object, expected: str) -> EntraError:
    # Chosen code: AADSTS700021 (400 invalid_client), the code family Entra uses for client-assertion claim
    # mismatches; the wording is Entra's "audience claim does not match Realm issuer".
    return EntraError(
        400,
        "invalid_client",
        700021,
        f"Client assertion audience claim does not match Realm issuer. Audience '{aud}', expected "
        f"'{expected}'. Review the documentation at {CERT_DOCS} .",
    )


def assertion_subject(iss: object, sub: object, client_id: str) -> EntraError:
    # Chosen code: AADSTS700023 (400 invalid_client) for iss/sub != client_id.
    return EntraError(
        400,
        "invalid_client",
        700023,
        f"Client assertion application identifier doesn't match 'client_id' parameter. iss '{iss}', "
        f"sub '{sub}', client_id '{client_id}'. Review the documentation at {CERT_DOCS} .",
    )


def no_federated_record(iss: object, sub: object, aud: object) -> EntraError:
    return EntraError(
        400,
        "invalid_request",
        70021,
        "No matching federated identity record found for presented assertion. Assertion Issuer: "
        f"'{iss}'. Assertion Subject: '{sub}'. Assertion Audience: '{aud}'. {WIF_DOCS}",
    )


def federated_subject(sub: object) -> EntraError:
    return EntraError(
        400,
        "invalid_request",
        700213,
        f"No matching federated identity record found for presented assertion subject '{sub}'. Please "
        "note that the matching is done using a case-sensitive comparison. Check your federated "
        "identity credential Subject, Audience and Issuer against the presented assertion. "
        f"{WIF_DOCS}",
    )


def federated_audience(aud: object) -> EntraError:
    return EntraError(
        400,
        "invalid_request",
        700212,
        f"No matching federated identity record found for presented assertion audience '{aud}'. {WIF_DOCS}",
    )


def bad_credentials() -> EntraError:
    return EntraError(
        400, "invalid_grant", 50126, "Error validating credentials due to invalid username or password."
    )


def unknown_resource(resource: str, tenant: str) -> EntraError:
    return EntraError(
        400,
        "invalid_resource",
        500011,
        f"The resource principal named {resource} was not found in the tenant named {tenant}. This "
        "can happen if the application has not been installed by the administrator of the tenant or "
        "consented to by any user in the tenant. You might have sent your authentication request to "
        "the wrong tenant.",
    )


def invalid_scope(scope: str) -> EntraError:
    return EntraError(
        400,
        "invalid_scope",
        70011,
        "The provided request must include a 'scope' input parameter. The provided value for the input "
        f"parameter 'scope' is not valid. The scope {scope} is not valid.",
    )


def default_scope_required(scope: str) -> EntraError:
    return EntraError(
        400,
        "invalid_scope",
        1002012,
        f"The provided value for scope {scope} is not valid. Client credential flows must have a scope "
        "value with /.default suffixed to the resource identifier (application ID URI).",
    )


def multiple_resources() -> EntraError:
    return EntraError(
        400,
        "invalid_request",
        28000,
        "Provided value for the input parameter scope is not valid because it contains more than one "
        "resource. Scope openid offline_access profile is not valid.",
    )


def invalid_grant_token() -> EntraError:
    return EntraError(400, "invalid_grant", 70000, "Provided grant is invalid or malformed.")


def user_not_in_tenant(
    username: str, home_tenant: str, tenant: str, client_id: str, app_name: str
) -> EntraError:
    """A user's refresh token redeemed at a tenant where the user is neither member nor guest.

    Entra answers AADSTS50020 (invalid_grant, as for the other refresh-token refusals); the Azure CLI
    shows it for ``az account get-access-token --tenant`` with a tenant its user isn't in.
    """
    return EntraError(
        400,
        "invalid_grant",
        50020,
        f"User account '{username}' from identity provider 'https://sts.windows.net/{home_tenant}/' does not "
        f"exist in tenant '{tenant}' and cannot access the application '{client_id}'({app_name}) in that "
        "tenant. The account needs to be added as an external user in the tenant first. Sign out and sign "
        "in again with a different Azure Active Directory user account.",
    )


def invalid_claims() -> EntraError:
    return EntraError(400, "invalid_request", 90100, "claims parameter is empty or not valid.")


def obo_signature() -> EntraError:
    return EntraError(
        400,
        "invalid_grant",
        50013,
        "Assertion failed signature validation. [Reason - The key was not found.]",
    )


def obo_audience(aud: object, client_id: str) -> EntraError:
    return EntraError(
        400,
        "invalid_grant",
        50013,
        f"Assertion audience does not match the Client app presenting the assertion. The audience in "
        f"the assertion was '{aud}' and the expected audience is '{client_id}' or one of the "
        "Application Id URIs of this application.",
    )


def obo_not_user() -> EntraError:
    return EntraError(
        400,
        "invalid_grant",
        50013,
        "Assertion is not a user token; on-behalf-of requires a token issued to a user.",
    )


def obo_expired(now: float, exp: float) -> EntraError:
    return EntraError(
        400,
        "invalid_grant",
        500133,
        "Assertion is not within its valid time range. Ensure that the access token is not expired "
        "before using it for user assertion, or request a new token. Current time: "
        f"{entra_timestamp(now)}, expiry time of assertion {entra_timestamp(exp)}.",
    )
