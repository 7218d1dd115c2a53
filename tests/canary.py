"""The suite-wide secret canary.

Every secret the suite configures (the emulator's app secrets, user passwords and certificate
keys, plus anything a test registers) and every token that passes through a credential's cache
is recorded. Everything the library shows is captured: every log record at every level (the
azure-core loggers included), the text of every azidentity exception constructed, the
``str``/``repr`` of every credential, every warning, CLI output handed to :func:`check_output`, and
every OpenTelemetry span the tracing tests record (:func:`check_span`: name, status, attributes, events).
At the end of the session the captures are searched; one hit fails the run.

Pickles are searched for tokens only: by design (docs/decisions) a pickled credential carries
its configuration, secret included, but never a token or cache.
"""

from __future__ import annotations

import logging
import pickle
import threading
from typing import Any

SECRETS: set[str] = set()  # configuration secrets: never in logs, messages, reprs
TOKENS: set[str] = set()  # access/refresh tokens: additionally never in pickles
_captured: list[tuple[str, str]] = []
_pickles: list[tuple[str, bytes]] = []
_lock = threading.Lock()
_MIN = 8  # shorter values would match by accident


def register_secret(value: str | bytes | None) -> None:
    if value:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        if len(text) >= _MIN:
            SECRETS.add(text)


def register_token(value: str | None) -> None:
    if value and len(value) >= _MIN:
        TOKENS.add(value)


def configuration_token(value: str) -> None:
    """A token that is a credential's configuration (OBO's user assertion): pickles may carry it."""
    TOKENS.discard(value)
    register_secret(value)


def capture(origin: str, text: str) -> None:
    with _lock:
        _captured.append((origin, text))


def check_output(origin: str, text: str | bytes) -> None:
    """Hand CLI output (stdout/stderr of a subprocess) to the canary."""
    capture(origin, text.decode("utf-8", "replace") if isinstance(text, bytes) else text)


def check_span(span: Any) -> None:
    """Hand an ended OpenTelemetry span (``ReadableSpan``) to the canary: every attribute and event."""
    parts = [span.name, str(span.status.description or "")]
    parts += [f"{key}={value}" for key, value in (span.attributes or {}).items()]
    for event in span.events:
        parts.append(event.name)
        parts += [f"{key}={value}" for key, value in (event.attributes or {}).items()]
    capture(f"span {span.name}", "\n".join(parts))


class _Handler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is itself worth seeing
            text = f"{record.msg!r} % {record.args!r}"
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + str(record.exc_info[1])
        capture(f"log {record.name}:{record.levelname}", text)


def install() -> None:
    """Hook the library: called once at session start."""
    root = logging.getLogger()
    root.addHandler(_Handler(level=logging.DEBUG))
    root.setLevel(logging.DEBUG)

    from azidentity import _credential, _errors
    from azidentity._cache import memory as _cache

    for cls in (_errors.CredentialUnavailableError, _errors.AuthenticationFailedError):
        original = cls.__init__

        def init(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> None:
            __original(self, *args, **kwargs)
            capture(f"exception {type(self).__name__}", str(self))

        cls.__init__ = init  # type: ignore[method-assign]

    original_on_success = _credential.CredentialBase._on_success

    def on_success(self: Any, *args: Any) -> Any:
        # With a token in its cache: the moment a leaky repr or pickle would show it.
        entry = original_on_success(self, *args)
        _record(self)
        return entry

    _credential.CredentialBase._on_success = on_success  # type: ignore[method-assign]

    original_store = _cache.TokenCache.store

    def store(self: Any, key: Any, token: Any) -> Any:
        register_token(token.token)
        return original_store(self, key, token)

    _cache.TokenCache.store = store  # type: ignore[method-assign]


def _record(credential: Any) -> None:
    name = type(credential).__name__
    capture(f"repr {name}", repr(credential))
    capture(f"str {name}", str(credential))
    try:
        _pickles.append((name, pickle.dumps(credential)))
    except Exception as error:  # unpicklable by design (a lambda callback): the message is checked
        capture(f"pickle error {name}", str(error))


def findings() -> list[str]:
    hits = []
    with _lock:
        captured = list(_captured)
    for origin, text in captured:
        for secret in SECRETS | TOKENS:
            if secret in text:
                hits.append(f"{origin}: contains a recorded secret ({secret[:4]}...)")
    for name, data in _pickles:
        for token in TOKENS:
            if token.encode() in data:
                hits.append(f"pickle of {name}: contains a token ({token[:4]}...)")
    return hits


def stats() -> str:
    return (
        f"{len(SECRETS)} secrets, {len(TOKENS)} tokens, {len(_captured)} captured texts, "
        f"{len(_pickles)} pickles"
    )
