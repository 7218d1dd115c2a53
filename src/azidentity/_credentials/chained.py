"""ChainedTokenCredential: try credentials in order; the first token wins.

The walk through the members is written once, as a generator (:meth:`_ChainBase._walk`) that
yields one :class:`_Call` per member and receives the member's result, or has the member's
exception thrown into it. The sync class performs each call directly, the async class awaits
it; both set :data:`~azidentity._credential.IN_CHAIN` while a member runs, so members lower
their log levels and managed identity probes instead of retrying.

A chain continues only past ``CredentialUnavailableError``. When every member was unavailable
it raises ``CredentialUnavailableError`` (so an enclosing chain continues too); when a member
failed it raises ``AuthenticationFailedError`` carrying that member's facts. The message is the
layout of docs/error-layout: one ``\\t<Name>: <message>`` line per attempt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, ClassVar

from .. import _tracing, log
from .._credential import IN_CHAIN

if TYPE_CHECKING:
    from azure.core.credentials import (
        AccessToken,
        AccessTokenInfo,
        SupportsTokenInfo,
        TokenCredential,
        TokenRequestOptions,
    )
    from azure.core.credentials_async import AsyncSupportsTokenInfo, AsyncTokenCredential

DOCTOR_LINE = "To diagnose every credential at once, run: azidentity doctor"
# Attributes an aggregate failure copies from the member error that stopped the chain.
FACT_ATTRIBUTES = (
    "credential",
    "status_code",
    "oauth_error",
    "error_code",
    "error_codes",
    "correlation_id",
    "trace_id",
    "timestamp",
    "mitigation",
    "troubleshooting_anchor",
    "cause",
    "detail",
    "response",
    "reason",
)


def member_name(credential: Any) -> str:
    """The name a chain reports a member under (placeholders carry the name of what failed to build).

    ``__class__``, not ``type()``: a ``Mock(spec=ClientSecretCredential)`` member reports as
    ``ClientSecretCredential``, as azure-identity names it.
    """
    name = getattr(credential, "_credential_name", None)
    return name if isinstance(name, str) and name else credential.__class__.__name__


def member_text(name: str, error: BaseException) -> str:
    """A member's message for its line in the aggregate, without repeating the member's name."""
    from azure.core.exceptions import ClientAuthenticationError

    if isinstance(error, ClientAuthenticationError):
        text = error.message if isinstance(getattr(error, "message", None), str) else str(error)
    else:
        text = f"{type(error).__name__}: {error}"
    text = text.strip()
    if text.startswith(name + ": "):
        text = text[len(name) + 2 :]
    elif text.startswith(name + " "):
        text = text[len(name) + 1 :]
    if text.endswith("\n" + DOCTOR_LINE):  # a nested chain: the outer chain prints that line once
        text = text[: -len(DOCTOR_LINE) - 1]
    return text or type(error).__name__


def aggregate_message(chain: str, history: list[tuple[str, BaseException]]) -> str:
    lines = [f"{chain} failed to acquire a token.", "Attempted credentials:"]
    for name, error in history:
        first, *rest = member_text(name, error).split("\n")
        lines.append(f"\t{name}: {first}")
        lines.extend(f"\t\t{line}" if line.strip() else "" for line in rest)
    lines.append(DOCTOR_LINE)
    return "\n".join(lines)


def _awaitable(value: Any) -> bool:
    return hasattr(value, "__await__")


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


class _Call:
    """One member call the walk asks a facade to perform."""

    __slots__ = ("credential", "name", "want_info", "scopes", "kwargs", "options", "in_chain")

    def __init__(
        self,
        credential: Any,
        name: str,
        want_info: bool,
        scopes: tuple[str, ...],
        kwargs: dict[str, Any],
        options: dict[str, Any] | None,
        in_chain: bool,
    ) -> None:
        self.credential = credential
        self.name = name
        self.want_info = want_info
        self.scopes = scopes
        self.kwargs = kwargs  # get_token keywords
        self.options = options  # get_token_info options
        self.in_chain = in_chain

    def invoke(self) -> Any:
        """Call the member; the result may be awaitable (async members)."""
        cred = self.credential
        has_token, has_info = hasattr(cred, "get_token"), hasattr(cred, "get_token_info")
        if self.want_info:
            options = dict(self.options or {})
            if has_info:
                return cred.get_token_info(*self.scopes, options=options)
            if options.get("pop"):
                from .._errors import CredentialUnavailableError

                raise CredentialUnavailableError(
                    "Proof of possession arguments are not supported for this credential."
                )
            return cred.get_token(*self.scopes, **options)
        if has_token or not has_info:
            return cred.get_token(*self.scopes, **self.kwargs)
        options = {k: v for k, v in self.kwargs.items() if k in ("claims", "tenant_id", "enable_cae") and v}
        return cred.get_token_info(*self.scopes, options=options)


def _convert(result: Any, want_info: bool) -> Any:
    """AccessToken <-> AccessTokenInfo, for members that implement only one of the two methods."""
    from azure.core.credentials import AccessToken, AccessTokenInfo

    if want_info and not isinstance(result, AccessTokenInfo) and isinstance(result, AccessToken):
        return AccessTokenInfo(result.token, int(result.expires_on))
    if not want_info and isinstance(result, AccessTokenInfo):
        return AccessToken(result.token, int(result.expires_on))
    return result


class _ChainBase:
    """The walk, the aggregate error and the bookkeeping; no I/O."""

    # DefaultAzureCredential keeps using the member that succeeded first (as azure-identity does).
    _sticky: ClassVar[bool] = False
    _mitigation_key: ClassVar[str] = "chain-failed"
    credentials: tuple[Any, ...]
    _successful_credential: Any = None
    _announced: Any = None

    def _init_chain(self, credentials: tuple[Any, ...]) -> None:
        if not credentials:
            raise ValueError("at least one credential is required")
        self.credentials = tuple(credentials)
        self._successful_credential = None
        self._announced = None

    @property
    def _name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        names = ", ".join(member_name(c) for c in self.credentials)
        return f"<{type(self).__module__.split('._')[0]}.{self._name} credentials=[{names}]>"

    # -- hooks for DefaultAzureCredential -------------------------------------------------------------
    def _soften(self, credential: Any, name: str, error: Exception) -> Exception:
        """Turn a member failure into unavailability (DefaultAzureCredential does so for developer tools)."""
        return error

    # -- the walk -----------------------------------------------------------------------------------------
    def _call(
        self,
        credential: Any,
        want_info: bool,
        scopes: tuple[str, ...],
        kwargs: dict[str, Any],
        options: TokenRequestOptions | None,
        in_chain: bool = True,
    ) -> _Call:
        return _Call(
            credential,
            member_name(credential),
            want_info,
            scopes,
            kwargs,
            dict(options) if options else None,
            in_chain,
        )

    def _walk(
        self,
        want_info: bool,
        scopes: tuple[str, ...],
        kwargs: dict[str, Any],
        options: TokenRequestOptions | None,
    ) -> Generator[_Call, Any, Any]:
        from .._errors import AuthenticationFailedError, CredentialUnavailableError

        if not scopes:
            # azure-identity's chains pass the request on and report the members' ValueError as a
            # ClientAuthenticationError: callers catching that keep working.
            raise AuthenticationFailedError(
                f'"{"get_token_info" if want_info else "get_token"}" requires at least one scope',
                credential=self._name,
            )
        remembered = self._successful_credential if self._sticky else None
        if remembered is not None:
            # Like azure-identity: no fallback, the member's own error propagates, no chain context.
            result = yield self._call(remembered, want_info, scopes, kwargs, options, in_chain=False)
            return _convert(result, want_info)
        history: list[tuple[str, BaseException]] = []
        for credential in self.credentials:
            name = member_name(credential)
            start = time.perf_counter()
            try:
                result = yield self._call(credential, want_info, scopes, kwargs, options)
            except Exception as raised:
                error = self._soften(credential, name, _foreign_unavailable(raised))
                history.append((name, error))
                elapsed = time.perf_counter() - start
                first = member_text(name, error).split("\n", 1)[0]
                if isinstance(error, CredentialUnavailableError):
                    log.emit(
                        log.EVENT_AUTHENTICATION,
                        logging.DEBUG,
                        "%s: %s is unavailable (%.3f s): %s",
                        self._name,
                        name,
                        elapsed,
                        first,
                    )
                    continue
                log.emit(
                    log.EVENT_AUTHENTICATION,
                    logging.DEBUG,
                    "%s: %s failed (%.3f s): %s",
                    self._name,
                    name,
                    elapsed,
                    first,
                )
                raise self._failed(history, error) from raised
            value = _convert(result, want_info)
            self._succeeded(credential, name, time.perf_counter() - start)
            return value
        raise self._unavailable(history)

    def _succeeded(self, credential: Any, name: str, elapsed: float) -> None:
        self._successful_credential = credential
        level = logging.INFO if self._announced is not credential else logging.DEBUG
        self._announced = credential
        log.emit(log.EVENT_AUTHENTICATION, level, "%s authenticated with %s", self._name, name)

    def _summary(self, history: list[tuple[str, BaseException]]) -> None:
        from .._errors import CredentialUnavailableError

        outcome = ", ".join(
            f"{name}: {'unavailable' if isinstance(e, CredentialUnavailableError) else 'failed'}"
            for name, e in history
        )
        log.emit(
            log.EVENT_AUTHENTICATION, logging.INFO, "%s failed to acquire a token (%s)", self._name, outcome
        )

    def _unavailable(self, history: list[tuple[str, BaseException]]) -> Exception:
        from .._errors import CredentialUnavailableError
        from .._mitigations import lookup

        self._summary(history)
        error = CredentialUnavailableError(aggregate_message(self._name, history))
        row = lookup(self._mitigation_key)
        error.credential = self._name
        if row is not None:
            error.mitigation, error.cause, error.troubleshooting_anchor = (
                row.mitigation,
                row.cause,
                row.anchor,
            )
        error.attempts = list(history)  # type: ignore[attr-defined]
        return error

    def _failed(self, history: list[tuple[str, BaseException]], cause: Exception) -> Exception:
        from .._errors import AuthenticationFailedError

        self._summary(history)
        error = AuthenticationFailedError(aggregate_message(self._name, history))
        for attribute in FACT_ATTRIBUTES:
            if hasattr(cause, attribute):
                setattr(error, attribute, getattr(cause, attribute))
        if getattr(error, "credential", None) is None:
            error.credential = history[-1][0]
        error.attempts = list(history)  # type: ignore[attr-defined]
        return error


def _request_kwargs(
    claims: str | None, tenant_id: str | None, enable_cae: bool, kwargs: dict[str, Any]
) -> dict[str, Any]:
    return {"claims": claims, "tenant_id": tenant_id, "enable_cae": enable_cae, **kwargs}


class ChainedTokenCredential(_ChainBase):
    """A sequence of credentials that is itself a credential.

    ``get_token`` calls each credential in turn and returns the first token received. It moves to
    the next credential only when one raises ``CredentialUnavailableError``; any other error stops
    the chain. The error raised lists every attempt.

    :param credentials: credential instances, tried in order (at least one).
    """

    def __init__(self, *credentials: TokenCredential | SupportsTokenInfo) -> None:
        self._init_chain(credentials)

    @_tracing.traced_drive
    def _drive(self, walk: Generator[_Call, Any, Any]) -> Any:
        send: Any = None
        throw: Exception | None = None
        while True:
            try:
                call = walk.throw(throw) if throw is not None else walk.send(send)
            except StopIteration as stop:
                return stop.value
            send, throw = None, None
            reset = IN_CHAIN.set(True) if call.in_chain else None
            try:
                send = call.invoke()
            except Exception as error:
                send, throw = None, error
            finally:
                if reset is not None:
                    IN_CHAIN.reset(reset)
            if _awaitable(send):
                if hasattr(send, "close"):
                    send.close()
                walk.close()
                raise TypeError(
                    f"{call.name} is an async credential; chain it with azidentity.aio.{self._name}"
                )

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """Request a token from each credential in turn; return the first one received."""
        walk = self._walk(False, scopes, _request_kwargs(claims, tenant_id, enable_cae, kwargs), None)
        return self._drive(walk)  # type: ignore[no-any-return]

    def get_token_info(self, *scopes: str, options: TokenRequestOptions | None = None) -> AccessTokenInfo:
        """Like :meth:`get_token`, returning ``AccessTokenInfo``."""
        return self._drive(self._walk(True, scopes, {}, options))  # type: ignore[no-any-return]

    def close(self) -> None:
        """Close every member (as azure-identity: through each member's ``__exit__``)."""
        self.__exit__()

    def __enter__(self) -> Any:
        for credential in self.credentials:
            enter = getattr(credential, "__enter__", None)
            if callable(enter):
                enter()
        return self

    def __exit__(self, *args: object) -> None:
        for credential in self.credentials:
            exit_ = getattr(credential, "__exit__", None)
            if callable(exit_):
                exit_(*args)
            elif callable(getattr(credential, "close", None)):  # a member without the context protocol
                credential.close()


class _AsyncChainBase(_ChainBase):
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__name__.startswith("Async"):
            cls.__name__ = cls.__qualname__ = cls.__name__[len("Async") :]
            cls.__module__ = "azidentity.aio"


class AsyncChainedTokenCredential(_AsyncChainBase):
    __doc__ = ChainedTokenCredential.__doc__

    def __init__(self, *credentials: AsyncTokenCredential | AsyncSupportsTokenInfo) -> None:
        self._init_chain(credentials)

    @_tracing.traced_drive
    async def _drive(self, walk: Generator[_Call, Any, Any]) -> Any:
        send: Any = None
        throw: Exception | None = None
        while True:
            try:
                call = walk.throw(throw) if throw is not None else walk.send(send)
            except StopIteration as stop:
                return stop.value
            send, throw = None, None
            reset = IN_CHAIN.set(True) if call.in_chain else None
            try:
                send = call.invoke()
                if _awaitable(send):
                    send = await send
            except Exception as error:
                send, throw = None, error
            finally:
                if reset is not None:
                    IN_CHAIN.reset(reset)

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        walk = self._walk(False, scopes, _request_kwargs(claims, tenant_id, enable_cae, kwargs), None)
        return await self._drive(walk)  # type: ignore[no-any-return]

    async def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        return await self._drive(self._walk(True, scopes, {}, options))  # type: ignore[no-any-return]

    async def close(self) -> None:
        """Close every member, concurrently (as azure-identity does)."""
        import asyncio

        closing = [getattr(credential, "close", None) for credential in self.credentials]
        outcomes = [close() for close in closing if callable(close)]
        await asyncio.gather(*(outcome for outcome in outcomes if _awaitable(outcome)))

    async def __aenter__(self) -> Any:
        return self  # as azure-identity: members are not entered; leaving closes them

    async def __aexit__(self, *args: object) -> None:
        await self.close()
