"""CertificateCredential (alias ClientCertificateCredential): a service principal with a certificate."""

from __future__ import annotations

from typing import Any, ClassVar

from .._credential import AsyncCredential, SyncCredential
from .._protocol import entra
from .._protocol.assertion import build_assertion
from .._protocol.certificate import ClientCertificate, load_certificate
from .._protocol.effects import Flow
from .entra import EntraCredential

# A certificate with its key and a long chain is a few KiB; a file far larger is something else.
MAX_CERTIFICATE_SIZE = 1024 * 1024


def read_certificate_input(certificate_path: str | None, certificate_data: bytes | None) -> tuple[bytes, str]:
    """The certificate bytes and how to name them in errors."""
    if certificate_path and certificate_data:
        raise ValueError('Please specify either "certificate_path" or "certificate_data", not both')
    if certificate_data:
        return bytes(certificate_data), "certificate_data"
    if not certificate_path:
        raise ValueError(
            'CertificateCredential requires a value for either "certificate_path" or "certificate_data"'
        )
    import os
    import stat

    try:
        # Not a FIFO or a device: opening a FIFO waits for a writer, /dev/zero never ends.
        if not stat.S_ISREG(os.stat(certificate_path).st_mode):
            raise ValueError(
                f"The certificate file {certificate_path} cannot be read: it is not a regular file."
            )
        with open(certificate_path, "rb") as f:
            data = f.read(MAX_CERTIFICATE_SIZE + 1)
    except OSError as error:
        raise ValueError(
            f"The certificate file {certificate_path} cannot be read: {error.strerror or error}"
        ) from None
    if len(data) > MAX_CERTIFICATE_SIZE:
        raise ValueError(
            f"The certificate file {certificate_path} is larger than {MAX_CERTIFICATE_SIZE} bytes: "
            "it is not a certificate."
        )
    return data, f"file {certificate_path}"


class _Certificate(EntraCredential):
    _transient: ClassVar[tuple[str, ...]] = ("_cache", "_io", "_certificate")
    _mitigation_key: ClassVar[str | None] = None

    def __init__(
        self, tenant_id: str, client_id: str, certificate_path: str | None = None, **kwargs: Any
    ) -> None:
        data, source = read_certificate_input(certificate_path, kwargs.pop("certificate_data", None))
        password = kwargs.pop("password", None)
        self._certificate_bytes = data
        self._certificate_source = source
        self._password = password
        self._send_certificate_chain = bool(kwargs.pop("send_certificate_chain", False))
        self._certificate: ClientCertificate | None = load_certificate(data, password, source)
        self._init_entra(
            tenant_id,
            client_id,
            authority=kwargs.pop("authority", None),
            additionally_allowed_tenants=kwargs.pop("additionally_allowed_tenants", None),
            kwargs=kwargs,
        )

    def _loaded(self) -> ClientCertificate:
        if getattr(self, "_certificate", None) is None:  # after unpickling
            self._certificate = load_certificate(
                self._certificate_bytes, self._password, self._certificate_source
            )
        assert self._certificate is not None
        return self._certificate

    def _client_auth(self, tenant: str) -> Flow[dict[str, str]]:
        assertion = build_assertion(
            self._loaded(),
            self._client_id,
            self._token_url(tenant),
            self._now(),
            send_chain=self._send_certificate_chain,
            rsa_pkcs1=self._tenant_id.lower() == "adfs",
        )
        return entra.assertion_auth(self._client_id, assertion)
        yield  # pragma: no cover


class CertificateCredential(_Certificate, SyncCredential):
    """Authenticates as a service principal using a certificate (PEM or PKCS#12, RSA key).

    :param str tenant_id: ID of the service principal's tenant.
    :param str client_id: the service principal's client ID.
    :param str certificate_path: path to a PEM file (certificate and private key) or a PKCS#12 file.
    :keyword bytes certificate_data: the certificate's bytes instead of a path.
    :keyword password: the certificate's password, if it is encrypted.
    :keyword bool send_certificate_chain: send the chain in the ``x5c`` header (subject name/issuer
        authentication).
    """


class AsyncCertificateCredential(_Certificate, AsyncCredential):
    __doc__ = CertificateCredential.__doc__


class ClientCertificateCredential(CertificateCredential):
    """The Go SDK's name for :class:`CertificateCredential`."""


class AsyncClientCertificateCredential(AsyncCertificateCredential):
    __doc__ = ClientCertificateCredential.__doc__
