"""OnBehalfOfCredential: a middle-tier service exchanging a user's token (OAuth 2.0 on-behalf-of)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from .._credential import AsyncCredential, SyncCredential, TokenRequest
from .._protocol import entra
from .._protocol.assertion import build_assertion
from .._protocol.certificate import ClientCertificate, load_certificate
from .._protocol.effects import Flow
from .entra import EntraCredential


class _OnBehalfOf(EntraCredential):
    _transient: ClassVar[tuple[str, ...]] = ("_cache", "_io", "_certificate")

    def __init__(
        self,
        tenant_id: str,
        client_id: str,
        *,
        client_secret: str | None = None,
        client_certificate: bytes | None = None,
        client_assertion_func: Callable[[], str] | None = None,
        user_assertion: str,
        password: bytes | str | None = None,
        send_certificate_chain: bool = False,
        **kwargs: Any,
    ) -> None:
        # azure-identity's checks, in its order, with its exception types and texts: users' tests match them.
        if not user_assertion:
            raise TypeError('"user_assertion" must not be empty.')
        certificate: ClientCertificate | None = None
        if client_assertion_func:
            if client_certificate or client_secret:
                raise ValueError(
                    "It is invalid to specify more than one of the following: "
                    '"client_assertion_func", "client_certificate" or "client_secret".'
                )
            client_certificate = client_secret = None
        elif client_certificate:
            if client_secret:
                raise ValueError('Specifying both "client_certificate" and "client_secret" is not valid.')
            try:
                certificate = load_certificate(client_certificate, password, "client_certificate")
            except ValueError as error:  # the cause (wrong password, no key, ...) stays in the chain
                raise ValueError(
                    '"client_certificate" is not a valid certificate in PEM or PKCS12 format'
                ) from error
            client_secret = client_assertion_func = None
        elif client_secret:
            client_certificate = client_assertion_func = None
        else:
            raise TypeError(
                'Either "client_certificate", "client_secret", or "client_assertion_func" must be provided'
            )
        self._client_secret = client_secret
        self._client_certificate = client_certificate
        self._client_assertion_func = client_assertion_func
        self._password = password
        self._user_assertion = user_assertion
        self._send_certificate_chain = bool(send_certificate_chain)
        self._certificate: ClientCertificate | None = certificate
        self._init_entra(
            tenant_id,
            client_id,
            authority=kwargs.pop("authority", None),
            additionally_allowed_tenants=kwargs.pop("additionally_allowed_tenants", None),
            kwargs=kwargs,
        )

    def _client_auth(self, tenant: str) -> Flow[dict[str, str]]:
        if self._client_secret is not None:
            return entra.secret_auth(self._client_id, self._client_secret)
        if self._client_assertion_func is not None:
            return entra.assertion_auth(self._client_id, self._client_assertion_func())
        if self._certificate is None:  # after unpickling
            assert self._client_certificate is not None
            self._certificate = load_certificate(
                self._client_certificate, self._password, "client_certificate"
            )
        assertion = build_assertion(
            self._certificate,
            self._client_id,
            self._token_url(tenant),
            self._now(),
            send_chain=self._send_certificate_chain,
        )
        return entra.assertion_auth(self._client_id, assertion)
        yield  # pragma: no cover

    def _grant(self, request: TokenRequest) -> dict[str, str]:
        return {
            "grant_type": entra.OBO_GRANT,
            "requested_token_use": "on_behalf_of",
            "assertion": self._user_assertion,
            "client_info": "1",
        }


class OnBehalfOfCredential(_OnBehalfOf, SyncCredential):
    """Authenticates a service principal on behalf of a user (the on-behalf-of flow).

    :param str tenant_id: ID of the service principal's tenant.
    :param str client_id: the service principal's client ID.
    :keyword str client_secret: a client secret (or ``client_certificate`` / ``client_assertion_func``).
    :keyword bytes client_certificate: a certificate's bytes (PEM or PKCS#12).
    :keyword client_assertion_func: a callable returning a client assertion.
    :keyword str user_assertion: the access token the user presented to this service.
    """


class AsyncOnBehalfOfCredential(_OnBehalfOf, AsyncCredential):
    __doc__ = OnBehalfOfCredential.__doc__
