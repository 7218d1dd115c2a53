"""Run one test body against the sync and the async credential classes.

``flavor.make("ClientSecretCredential", ...)`` builds ``azidentity.X`` or ``azidentity.aio.X``;
``flavor.get_token(cred, ...)`` calls it and, for async credentials, runs the coroutine on the
flavor's own event loop (one loop per test, so aiohttp sessions stay on the loop that made them).
"""

from __future__ import annotations

import asyncio
from typing import Any

import azidentity
import azidentity.aio


class Flavor:
    def __init__(self, is_async: bool) -> None:
        self.is_async = is_async
        self.name = "async" if is_async else "sync"
        self.loop = asyncio.new_event_loop() if is_async else None
        self._made: list[Any] = []

    def cls(self, name: str) -> Any:
        return getattr(azidentity.aio if self.is_async else azidentity, name)

    def make(self, name: str, *args: Any, **kwargs: Any) -> Any:
        credential = self.cls(name)(*args, **kwargs)
        self._made.append(credential)
        return credential

    def secret_credential(self, emulator: Any, secret: str | None = None, **kwargs: Any) -> Any:
        """The emulator's "secret" app as a ClientSecretCredential (``secret``: a wrong one, say)."""
        app = emulator.apps["secret"]
        return self.make(
            "ClientSecretCredential",
            emulator.tenant_id,
            app.client_id,
            secret or app.secret,
            authority=emulator.authority,
            connection_verify=emulator.ca_bundle_path,
            **kwargs,
        )

    def run(self, value: Any) -> Any:
        """Await ``value`` on this flavor's loop if it is awaitable."""
        if self.loop is not None and asyncio.iscoroutine(value):
            return self.loop.run_until_complete(value)
        return value

    def get_token(self, credential: Any, *scopes: str, **kwargs: Any) -> Any:
        return self.run(credential.get_token(*scopes, **kwargs))

    def get_token_info(self, credential: Any, *scopes: str, options: Any = None) -> Any:
        return self.run(credential.get_token_info(*scopes, options=options))

    def close(self) -> None:
        for credential in self._made:
            self.run(credential.close())
        if self.loop is not None:
            self.loop.run_until_complete(asyncio.sleep(0))
            self.loop.close()
