"""Event-filtered log listener, in the spirit of the Go SDK's ``azlog``.

Everything azidentity logs goes to the standard :mod:`logging` module under the
``azidentity`` logger. A listener is a second, simpler channel for programs that want the
messages as events without configuring logging::

    from azidentity import log
    log.set_listener(lambda event, message: print(f"[{event}] {message}"))
    log.set_events(log.EVENT_AUTHENTICATION)          # only credential events

Events: ``Authentication`` (tokens acquired, credentials chosen, failures), ``Request`` and
``Response`` (each HTTP exchange: method, URL without query, status, duration; never bodies or
secret headers), ``Retry`` (retry decisions). With no listener set, events cost one check.
"""

from __future__ import annotations

from ._lazy import TYPE_CHECKING

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable

EVENT_AUTHENTICATION = "Authentication"
EVENT_REQUEST = "Request"
EVENT_RESPONSE = "Response"
EVENT_RETRY = "Retry"
ALL_EVENTS = (EVENT_AUTHENTICATION, EVENT_REQUEST, EVENT_RESPONSE, EVENT_RETRY)

# Levels of the logging module, so that emitting needs no import at module load.
DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40

if TYPE_CHECKING:
    Listener = Callable[[str, str], None]

_logger: logging.Logger | None = None
_listener: Listener | None = None
_events: frozenset[str] | None = None  # None: all events


def set_listener(listener: Listener | None) -> None:
    """Send every enabled event to ``listener(event, message)``; ``None`` removes it."""
    global _listener
    _listener = listener


def set_events(*events: str) -> None:
    """Only deliver these events to the listener; with no arguments, deliver all events."""
    global _events
    unknown = set(events) - set(ALL_EVENTS)
    if unknown:
        raise ValueError(f"Unknown event(s) {sorted(unknown)}; expected some of {list(ALL_EVENTS)}")
    _events = frozenset(events) if events else None


def emit(event: str, level: int, message: str, *args: object) -> None:
    """Log ``message % args`` at ``level`` and hand it to the listener if its event is enabled."""
    global _logger
    if _logger is None:
        import logging

        _logger = logging.getLogger("azidentity")
    if _logger.isEnabledFor(level):
        _logger.log(level, message, *args)
    listener = _listener
    if listener is not None and (_events is None or event in _events):
        try:
            listener(event, message % args if args else message)
        except Exception:  # a broken listener must never break authentication
            _logger.debug("log listener raised", exc_info=True)
