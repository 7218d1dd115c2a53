"""Reading a host's answer: the token, its expiry in whichever form the host writes it, error texts."""

from __future__ import annotations

import calendar
import math
import re
import time
from typing import Any

from ..._token import Token, make_token
from ..effects import HttpResponse

MAX_LIFETIME = 365 * 24 * 3600


# expires_on and now + expires_in differing by more than this means the clocks differ (seconds).
CLOCK_SKEW_TOLERANCE = 300


# Times and durations beyond this (about 285 million years) are not times; parsing them as floats overflows.
_MAX_SECONDS = 2**53


def payload_of(response: HttpResponse) -> dict[str, Any] | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def message_of(response: HttpResponse) -> str:
    """The endpoint's own error text, from whichever shape its error body has."""
    payload = payload_of(response)
    if payload is None:
        return ""
    for key in ("error_description", "message", "Message"):
        if isinstance(payload.get(key), str):
            return str(payload[key])
    error = payload.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    return str(error) if isinstance(error, str) else ""


_DATE = re.compile(
    r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s+(\d{1,2}):(\d{2}):(\d{2})(?:\s*([AaPp][Mm]))?\s*"
    r"(?:([+-])(\d{2}):?(\d{2})|Z|UTC|GMT)?\s*$"
)


def parse_expires_on(value: Any) -> int:
    """``expires_on`` as epoch seconds: a number, a numeric string, or
    ``"M/D/YYYY H:MM:SS [AM|PM] +00:00"``."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not a time: {_short(repr(value))}")
    if isinstance(value, (int, float)):
        return _finite_int(value, value)
    if not isinstance(value, str):
        raise ValueError(f"not a time: {_short(repr(value))}")
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return _finite_int(float(text) if "." in text else int(text), value)
    match = _DATE.match(text)
    if match is None:
        raise ValueError(f"'{_short(value)}' doesn't match the expected format")
    month, day, year, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    meridiem = (match.group(7) or "").upper()
    if meridiem:
        if not 1 <= hour <= 12:
            raise ValueError(f"'{_short(value)}' has an invalid hour")
        hour = hour % 12 + (12 if meridiem == "PM" else 0)
    try:
        parsed = time.strptime(
            f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}", "%Y-%m-%d %H:%M:%S"
        )
    except ValueError as error:
        raise ValueError(f"'{_short(value)}' is not a valid date") from error
    epoch = calendar.timegm(parsed)
    if match.group(8):
        offset = int(match.group(9)) * 3600 + int(match.group(10)) * 60
        epoch -= offset if match.group(8) == "+" else -offset
    return epoch


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 64 else text[:64] + "..."


def _finite_int(number: float, value: Any) -> int:
    """``int(number)``, or ValueError for NaN, infinities and numbers beyond any plausible time."""
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError(f"not a time: {_short(repr(value))}")
    if abs(number) > _MAX_SECONDS:
        raise ValueError(f"'{_short(value)}' is out of range")
    return int(number)


def _seconds(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        _finite_int(value, value)
        return float(value)
    if isinstance(value, float) or (isinstance(value, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*", value)):
        number = float(value)
        _finite_int(number, value)
        return number
    raise ValueError(f"not a number of seconds: {_short(repr(value))}")


class BadTokenResponse(ValueError):
    """A 200 response that does not hold a usable token; the text says what is missing."""


def parse_token(response: HttpResponse, now: float) -> tuple[Token, dict[str, Any]]:
    """The token of a 200 response; :class:`BadTokenResponse` says what is wrong otherwise."""
    payload = payload_of(response)
    if payload is None:
        if response.truncated:
            raise BadTokenResponse(
                f"the response body is larger than {len(response.body)} bytes: no token response is"
            )
        raise BadTokenResponse("the response is not a JSON object")
    access_token = payload.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise BadTokenResponse("the response has no access_token")
    expires_on: int | None = None
    try:
        if payload.get("expires_on") not in (None, ""):
            expires_on = parse_expires_on(payload["expires_on"])
        else:
            expires_in = _seconds(payload.get("expires_in"))
            if expires_in is not None:
                expires_on = int(now + expires_in)
    except ValueError as error:
        raise BadTokenResponse(f"the response's expiry is unreadable: {error}") from None
    # IMDS, Arc and Cloud Shell send a relative expires_in besides expires_on. When the two disagree by
    # more than a few minutes, this machine's clock and the endpoint's differ: the relative one is right.
    try:
        expires_in = _seconds(payload.get("expires_in")) if expires_on is not None else None
    except ValueError:
        expires_in = None
    if (
        expires_on is not None
        and expires_in is not None
        and expires_in > 0
        and abs(expires_on - (now + expires_in)) > CLOCK_SKEW_TOLERANCE
    ):
        expires_on = int(now + expires_in)
    if expires_on is None:
        raise BadTokenResponse("the response has neither expires_on nor expires_in")
    if not now < expires_on <= now + MAX_LIFETIME:
        raise BadTokenResponse(
            f"the response's expiry ({expires_on}) is not a usable token lifetime from now ({int(now)})"
        )
    try:
        refresh_in = _seconds(payload.get("refresh_in"))
    except ValueError:
        refresh_in = None
    token_type = payload.get("token_type")
    token = make_token(
        access_token,
        expires_on,
        now,
        refresh_in,
        token_type if isinstance(token_type, str) and token_type else "Bearer",
    )
    return token, payload
