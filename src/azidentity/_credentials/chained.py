"""ChainedTokenCredential: try credentials in order; the first token wins.

A chain is a credential like any other: configuration plus a flow, run by the two drivers. Its
flow (the walk) yields one :class:`~azidentity._protocol.effects.MemberCall` per member; the
driver calls the member (awaits it, in ``azidentity.aio``) with the chain as the current chain
(:func:`~azidentity._credential.current_chain`), and sends back the token or throws the
member's error into the walk. A chain keeps no tokens of its own: its members do.

A chain continues only past ``CredentialUnavailableError``. When every member was unavailable
it raises ``CredentialUnavailableError`` (so an enclosing chain continues too); when a member
failed it raises ``AuthenticationFailedError`` whose facts are that member's. The message is
the layout of docs/error-layout: one ``\\t<Name>: <message>`` line per attempt.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, ClassVar

from .. import log
from .._credential import AsyncCredential, ChainContext, CredentialBase, SyncCredential, TokenRequest
from .._protocol.effects import AsyncMemberError, MemberCall

if TYPE_CHECKING:
    from azure.core.credentials import SupportsTokenInfo, TokenCredential
    from azure.core.credentials_async import AsyncSupportsTokenInfo, AsyncTokenCredential

    from .._protocol.effects import Flow


def member_name(credential: Any) -> str:
    """The name a chain reports a member under (placeholders carry the name of what failed to build).

    ``__class__``, not ``type()``: a ``Mock(spec=ClientSecretCredential)`` member reports as
    ``ClientSecretCredential``, as azure-identity names it.
    """
    name = getattr(credential, "_credential_name", None)
    return name if isinstance(name, str) and name else credential.__class__.__name__


def _foreign_unavailable(error: Exception) -> Exception:
    """azure-identity's CredentialUnavailableError means "move on" too.

    Custom credentials written for azure-identity raise it to be skipped; treat it as ours
    (matched by name and module, so azure-identity need not be installed or imported).
    """
    from .._errors import CredentialUnavailableError

    if isinstance(error, CredentialUnavailableError):
        return error
    for cls in type(error).__mro__:
        if cls.__name__ in (
            "CredentialUnavailableError",
            "AuthenticationRequiredError",
        ) and cls.__module__.startswith("azure.identity"):
            converted = CredentialUnavailableError(str(error))
            converted.__cause__ = error
            return converted
    return error


def _convert(result: Any, want_info: bool) -> Any:
    """AccessToken <-> AccessTokenInfo, for members that implement only one of the two methods."""
    from azure.core.credentials import AccessToken, AccessTokenInfo

    if want_info and not isinstance(result, AccessTokenInfo) and isinstance(result, AccessToken):
        return AccessTokenInfo(result.token, int(result.expires_on))
    if not want_info and isinstance(result, AccessTokenInfo):
        return AccessToken(result.token, int(result.expires_on))
    return result


class _Chained(CredentialBase):
    """The walk, the chain's error and the bookkeeping; no I/O."""

    _caches_tokens: ClassVar[bool] = False
    # DefaultAzureCredential keeps using the member that succeeded first (as azure-identity does).
    _sticky: ClassVar[bool] = False
    _mitigation_key: ClassVar[str] = "chain-failed"
    credentials: tuple[Any, ...]
    _context: ChainContext
    _successful_credential: Any = None
    _announced: Any = None

    def _init_chain(self, credentials: tuple[Any, ...], context: ChainContext | None = None) -> None:
        if not credentials:
            raise ValueError("at least one credential is required")
        self.credentials = self._members = tuple(credentials)
        self._context = context or ChainContext(self._name, tuple(member_name(c) for c in self.credentials))
        self._successful_credential = None
        self._announced = None
        self._init_base({})

    def __repr__(self) -> str:
        names = ", ".join(member_name(c) for c in self.credentials)
        return f"<{type(self).__module__.split('._')[0]}.{self._name} credentials=[{names}]>"

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_successful_credential", None)  # a choice made in this process, not configuration
        state.pop("_announced", None)
        return state

    # -- hook for DefaultAzureCredential -------------------------------------------------------------
    def _soften(self, credential: Any, name: str, error: Exception) -> Exception:
        """Turn a member failure into unavailability (DefaultAzureCredential does so for developer tools)."""
        return error

    # -- the walk -------------------------------------------------------------------------------------
    def _call(self, credential: Any, request: TokenRequest, walking: bool = True) -> MemberCall:
        passthrough: Any = request.passthrough
        if not request.want_info:  # get_token's keywords, as the chain was called with them
            passthrough = {
                "claims": request.claims,
                "tenant_id": request.tenant_id,
                "enable_cae": request.enable_cae,
                **(passthrough or {}),
            }
        return MemberCall(
            credential,
            member_name(credential),
            request.want_info,
            request.scopes,
            passthrough,
            self._context if walking else None,
            self._name,
        )

    def _flow(self, request: TokenRequest) -> Flow[Any]:
        from .._errors import AuthenticationFailedError, CredentialUnavailableError

        if not request.scopes:
            # azure-identity's chains pass the request on and report the members' ValueError as a
            # ClientAuthenticationError: callers catching that keep working.
            method = "get_token_info" if request.want_info else "get_token"
            raise AuthenticationFailedError(f'"{method}" requires at least one scope', credential=self._name)
        remembered = self._successful_credential if self._sticky else None
        if remembered is not None:
            # Like azure-identity: no fallback, the member's own error propagates, no chain context.
            result = yield self._call(remembered, request, walking=False)
            return _convert(result, request.want_info)
        history: list[tuple[str, BaseException]] = []
        for credential in self.credentials:
            name = member_name(credential)
            start = time.perf_counter()
            try:
                result = yield self._call(credential, request)
            except AsyncMemberError:
                raise
            except Exception as raised:
                error = self._soften(credential, name, _foreign_unavailable(raised))
                history.append((name, error))
                unavailable = isinstance(error, CredentialUnavailableError)
                log.emit(
                    log.EVENT_AUTHENTICATION,
                    logging.DEBUG,
                    "%s: %s %s (%.3f s): %s",
                    self._name,
                    name,
                    "is unavailable" if unavailable else "failed",
                    time.perf_counter() - start,
                    str(error).split("\n", 1)[0],
                )
                if unavailable:
                    continue
                raise self._failed(history, error) from raised
            value = _convert(result, request.want_info)
            self._succeeded(credential, name)
            return value
        raise self._failed(history, None)

    def _succeeded(self, credential: Any, name: str) -> None:
        self._successful_credential = credential
        level = logging.INFO if self._announced is not credential else logging.DEBUG
        self._announced = credential
        log.emit(log.EVENT_AUTHENTICATION, level, "%s authenticated with %s", self._name, name)

    def _failed(self, history: list[tuple[str, BaseException]], stopped_by: Exception | None) -> Exception:
        """The chain's error: unavailable when every member was, else failed with the stopping member's
        facts."""
        from .._errors import AuthenticationFailedError, ChainFacts, CredentialUnavailableError

        outcome = ", ".join(
            f"{name}: {'unavailable' if isinstance(e, CredentialUnavailableError) else 'failed'}"
            for name, e in history
        )
        log.emit(
            log.EVENT_AUTHENTICATION, logging.INFO, "%s failed to acquire a token (%s)", self._name, outcome
        )
        facts = ChainFacts(self._name, list(history), stopped_by, self._mitigation_key)
        if stopped_by is None:
            return CredentialUnavailableError(facts=facts)
        return AuthenticationFailedError(facts=facts)


_DOC = """A sequence of credentials that is itself a credential.

    ``get_token`` calls each credential in turn and returns the first token received. It moves to
    the next credential only when one raises ``CredentialUnavailableError``; any other error stops
    the chain. The error raised lists every attempt.

    :param credentials: credential instances, tried in order (at least one).
    """


class ChainedTokenCredential(_Chained, SyncCredential):
    __doc__ = _DOC

    def __init__(self, *credentials: TokenCredential | SupportsTokenInfo) -> None:
        self._init_chain(credentials)


class AsyncChainedTokenCredential(_Chained, AsyncCredential):
    __doc__ = _DOC

    def __init__(self, *credentials: AsyncTokenCredential | AsyncSupportsTokenInfo) -> None:
        self._init_chain(credentials)
