"""Helpers shared by the managed identity tests (credentials/managed_identity/, protocol/, tracing)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from azidentity._credential import CHAIN, ChainContext
from azidentity._credentials import managed_identity as mi_credential

SCOPE = "https://management.azure.com/.default"
RESOURCE = "https://management.azure.com"


@pytest.fixture(autouse=True)
def fresh_mi_cache(emulator_session: Any) -> Iterator[None]:
    """Managed identity tokens are cached per process: each test starts with none."""
    # conftest.register_info registers every info() value whose key contains "token" as a secret,
    # which catches "arc_token_dir": a directory path, shown (by design) in Arc key-file errors and
    # in the challenge header azure-core logs. The key file's contents are the secret, not its path.
    import canary

    canary.SECRETS.discard(emulator_session.arc_token_dir)
    mi_credential._clear_shared_cache()
    yield
    mi_credential._clear_shared_cache()


class Sleeps(list[float]):
    """An injected ``_sleep``: records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)

    def __bool__(self) -> bool:  # the driver tests ``sleep or time.sleep``: never fall back to waiting
        return True


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_metadata(request: Any) -> bool:
    return str(request.headers.get("Metadata", "")).lower() == "true"


def without_metadata(request: Any) -> bool:
    return not with_metadata(request)


@contextlib.contextmanager
def in_chain(*members: str) -> Iterator[None]:
    """As a chain calls its managed identity member (by default a chain of two: managed identity probes)."""
    names = members or ("ManagedIdentityCredential", "Other")
    token = CHAIN.set(ChainContext("ChainedTokenCredential", names))
    try:
        yield
    finally:
        CHAIN.reset(token)


def make(
    flavor: Any,
    emu: Any,
    host: str | None = "imds",
    *,
    env: dict[str, str] | None = None,
    sleeps: Sleeps | None = None,
    **kwargs: Any,
) -> Any:
    """A ManagedIdentityCredential of ``flavor`` pointed at ``emu``'s ``host``."""
    environment = dict(emu.env(host)) if host else {}
    environment.update(env or {})
    kwargs.setdefault("_arc_token_dir", emu.arc_token_dir)
    return flavor.make(
        "ManagedIdentityCredential",
        _env=environment,
        _sleep=sleeps if sleeps is not None else Sleeps(),
        **kwargs,
    )


def requests_to(emu: Any, route: str) -> list[Any]:
    return [r for r in emu.requests if r.route == route]
