"""ClientAssertionCredential: a service principal authenticated by an assertion from a callback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from .._credential import AsyncCredential, SyncCredential
from .._protocol import entra
from .._protocol.effects import Flow
from .entra import EntraCredential


class _ClientAssertion(EntraCredential):
    _strict_tenant: ClassVar[bool] = (
        False  # azure-identity takes any tenant string here (and in workload identity)
    )

    def __init__(self, tenant_id: str, client_id: str, func: Callable[[], str], **kwargs: Any) -> None:
        if not callable(func):
            raise TypeError("func must be a callable that returns a client assertion (a JWT string)")
        self._func = func
        self._init_entra(
            tenant_id,
            client_id,
            authority=kwargs.pop("authority", None),
            additionally_allowed_tenants=kwargs.pop("additionally_allowed_tenants", None),
            kwargs=kwargs,
        )

    def _assertion(self) -> str:
        from .._errors import CredentialUnavailableError

        try:
            assertion = self._func()
        except Exception as error:
            raise CredentialUnavailableError(
                f"the assertion callback raised {type(error).__name__}: {error}", credential=self._name
            ) from error
        if not isinstance(assertion, str) or not assertion:
            raise CredentialUnavailableError(
                f"the assertion callback returned {type(assertion).__name__}, not a non-empty string",
                credential=self._name,
            )
        return assertion

    def _client_auth(self, tenant: str) -> Flow[dict[str, str]]:
        return entra.assertion_auth(self._client_id, self._assertion())
        yield  # pragma: no cover

    def __getstate__(self) -> dict[str, Any]:
        import pickle

        try:
            pickle.dumps(self._func)
        except Exception as error:
            raise TypeError(
                f"{self._name} cannot be pickled: its assertion callback {self._func!r} is not picklable "
                f"({error}). Use a module-level function."
            ) from None
        return super().__getstate__()


class ClientAssertionCredential(_ClientAssertion, SyncCredential):
    """Authenticates a service principal with a JWT assertion returned by ``func``.

    :param str tenant_id: ID of the principal's tenant.
    :param str client_id: the principal's client ID.
    :param func: a callable returning a valid assertion each time it is called.
    """


class AsyncClientAssertionCredential(_ClientAssertion, AsyncCredential):
    __doc__ = ClientAssertionCredential.__doc__
