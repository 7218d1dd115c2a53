"""The shape shared by AzureCliCredential, AzureDeveloperCliCredential and AzurePowerShellCredential.

A developer tool is run once per ``get_token`` as an argument list (never a shell), found on
``PATH`` when the token is requested, in a fixed working directory, with stdin closed and
``process_timeout`` seconds to answer. The flow yields one :class:`RunProcess`; the tool modules in
``_protocol`` build the argument list and read the answer.

Caching: by default nothing is cached, as in azure-identity (the account signed in to the tool can
change between calls): such a credential gets a :class:`_NoCache`, which never holds an entry and
gives every call its own lock, so concurrent calls run the tool concurrently. With
``cache_tokens=True`` it gets the ordinary per-instance :class:`TokenCache`, keyed by tool, tenant,
subscription and scopes, and a burst of ``get_token`` calls runs the tool once.
"""

from __future__ import annotations

import logging
import os
from _thread import allocate_lock
from collections.abc import Hashable, Iterable
from typing import TYPE_CHECKING, ClassVar

from .. import log
from .._authority import resolve_tenant
from .._cache.memory import TokenCache
from .._credential import CredentialBase, TokenRequest, _scope_key
from .._protocol import developer_tool as tool_protocol
from .._protocol.effects import ProcessResult, RunProcess
from .._token import Token

if TYPE_CHECKING:
    import asyncio
    import threading

    from .._cache.memory import CacheEntry
    from .._protocol.effects import Flow


class _NoCache(TokenCache):
    """A cache that never holds a token: every ``get_token`` runs the tool."""

    def lookup(self, key: Hashable) -> CacheEntry | None:
        return None

    def usable(self, key: Hashable) -> CacheEntry | None:
        return None

    def begin_attempt(self, key: Hashable) -> None:
        return None

    def end_attempt(
        self, key: Hashable, error: BaseException | None = None, claims: str | None = None
    ) -> None:
        return None  # callers don't wait for each other (below), so no outcome is shared either

    def store(self, key: Hashable, token: Token) -> CacheEntry:
        # Built the ordinary way, then forgotten.
        entry = super().store(key, token)
        self._entries.pop(key, None)
        return entry

    def sync_lock(self, key: Hashable) -> threading.Lock:
        # Nothing is shared, so nothing to wait for: concurrent callers each run the tool, as
        # with azure-identity.
        return allocate_lock()

    def async_lock(self, key: Hashable) -> asyncio.Lock:
        import asyncio

        return asyncio.Lock()


class DeveloperToolCredential(CredentialBase):
    """Configuration and flow of a credential that runs a developer tool."""

    _tool: ClassVar[tool_protocol.Tool]
    _exactly_one_scope: ClassVar[bool] = True
    _repr_fields: ClassVar[tuple[str, ...]] = ("tenant_id", "process_timeout", "cache_tokens")

    def _init_tool(
        self,
        tenant_id: str,
        additionally_allowed_tenants: Iterable[str] | None,
        process_timeout: float,
        cache_tokens: bool,
    ) -> None:
        if tenant_id:
            tool_protocol.validate_tenant(tenant_id)
        if (
            isinstance(process_timeout, bool)
            or not isinstance(process_timeout, (int, float))
            or not (0 < process_timeout < float("inf"))
        ):
            raise ValueError(f"process_timeout must be a positive number of seconds, got {process_timeout!r}")
        allowed = list(additionally_allowed_tenants or [])
        for tenant in allowed:
            if not isinstance(tenant, str):
                raise TypeError(f"additionally_allowed_tenants must be strings, got {tenant!r}")
        self._tenant_id = tenant_id or ""
        self._additionally_allowed_tenants = allowed
        self._process_timeout = process_timeout
        self._cache_tokens = bool(cache_tokens)
        self._init_base({})

    def _new_cache(self) -> TokenCache:
        return TokenCache(self._clock) if self._cache_tokens else _NoCache(self._clock)

    # -- what each tool provides ---------------------------------------------------------------
    def _executable(self) -> str | None:
        """The tool's path on PATH now (looked up per request: PATH may change), or None."""
        raise NotImplementedError

    def _command(self, executable: str, scopes: tuple[str, ...], tenant: str) -> tuple[str, ...]:
        raise NotImplementedError

    def _environment_additions(self) -> dict[str, str]:
        return {}

    def _claims_message(self, claims: str, tenant: str, scopes: tuple[str, ...]) -> str:
        raise NotImplementedError

    def _claims_arguments(self, claims: str) -> tuple[str, ...] | None:
        """Arguments passing a claims challenge to the tool, or None: the tool can't take one (refused)."""
        return None

    def _parse(self, result: ProcessResult) -> Token:
        raise NotImplementedError

    def _subscription_key(self) -> str | None:
        return None

    def _display_command(self, argv: tuple[str, ...]) -> str:
        return " ".join((os.path.basename(argv[0]), *argv[1:]))

    # -- the flow --------------------------------------------------------------------------------
    def _validate(self, request: TokenRequest) -> None:
        tool_protocol.validate_scopes(request.scopes, self._exactly_one_scope)
        if request.tenant_id:
            tool_protocol.validate_tenant(request.tenant_id)

    def _cache_key(self, request: TokenRequest) -> Hashable:
        return (
            self._tool.key,
            request.tenant_id or self._tenant_id,
            self._subscription_key(),
            _scope_key(request.scopes),
        )

    def _flow(self, request: TokenRequest) -> Flow[Token]:
        from .._errors import CredentialUnavailableError

        tenant = resolve_tenant(
            self._tenant_id, request.tenant_id, self._additionally_allowed_tenants, self._name
        )
        claims_arguments = self._claims_arguments(request.claims) if request.claims else ()
        if claims_arguments is None:
            raise CredentialUnavailableError(
                self._claims_message(request.claims or "", tenant, request.scopes),
                credential=self._name,
                mitigation_key=f"{self._tool.key}-claims",
            )
        executable = self._executable()
        if executable is None:
            raise CredentialUnavailableError(
                self._tool.not_found, credential=self._name, mitigation_key=f"{self._tool.key}-not-found"
            )
        argv = self._command(executable, request.scopes, tenant) + claims_arguments
        environment = dict(os.environ)
        environment.update(self._environment_additions())
        result: ProcessResult = yield RunProcess(argv, float(self._process_timeout), env=environment)
        log.emit(
            log.EVENT_AUTHENTICATION,
            logging.DEBUG,
            "%s ran `%s` in %.3f s: %s",
            self._name,
            self._display_command(argv),
            result.duration,
            "timed out"
            if result.timed_out
            else "not found"
            if result.not_found
            else f"exit code {result.returncode}",
        )
        return self._parse(result)
