"""What the developer-tool credentials share: argument validation, output scrubbing, expiry parsing.

Sans-IO: nothing here starts a process. A credential's flow builds an argument list with these
helpers, yields a :class:`~.effects.RunProcess` and hands the :class:`~.effects.ProcessResult` back
to the parsers of its tool module (``azure_cli``, ``azure_developer_cli``, ``azure_powershell``).

Everything that reaches a command line is checked against a small character set first, and a value
that starts with ``-`` is refused too: arguments are passed as a list (never through a shell), but
a tool's own option parser would still read ``--tenant -x`` as an option.
"""

from __future__ import annotations

import base64
import calendar
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .._lazy import TYPE_CHECKING
from .._redact import redact_text
from .effects import ProcessResult

if TYPE_CHECKING:
    from .._token import Token

# Characters allowed in a scope: enough for every resource URL and scope, nothing a shell or an
# option parser could take for something else.
_SCOPE = re.compile(r"[A-Za-z0-9_.\-:/]+")
_TENANT = re.compile(r"[A-Za-z0-9.\-]+")
_SUBSCRIPTION = re.compile(r"[A-Za-z0-9_ .\-]+")
DEFAULT_SUFFIX = "/.default"
# Output of a tool that is shown to the user is cut at this many characters.
SHOWN_OUTPUT = 2000
_TOKEN_MARGIN = 16384
DEFAULT_PROCESS_TIMEOUT = 10
EXACTLY_ONE_SCOPE = "This credential requires exactly one scope per token request."


def _fullmatch_safe(pattern: re.Pattern[str], value: object) -> bool:
    return isinstance(value, str) and bool(pattern.fullmatch(value)) and not value.startswith("-")


def validate_scope(scope: str) -> None:
    if not _fullmatch_safe(_SCOPE, scope):
        raise ValueError(
            f"An invalid scope was provided: {scope!r}. Only alphanumeric characters, '.', '-', '_', ':', "
            "and '/' are allowed, and a scope may not start with '-'."
        )


def validate_scopes(scopes: Iterable[str], exactly_one: bool) -> None:
    scopes = tuple(scopes)
    if exactly_one and len(scopes) != 1:
        raise ValueError(f"{EXACTLY_ONE_SCOPE} Got {len(scopes)}: {', '.join(repr(s) for s in scopes)}")
    for scope in scopes:
        validate_scope(scope)


def validate_tenant(tenant_id: str) -> None:
    """The Entra tenant charset (letters, digits, '-', '.'), not starting with '-'."""
    from .._authority import TENANT_HELP

    if not _fullmatch_safe(_TENANT, tenant_id):
        raise ValueError(f"{TENANT_HELP} (got {tenant_id!r})")


def subscription_error(subscription: object) -> str | None:
    """None when ``subscription`` is safe on a command line, else the text of the error."""
    if _fullmatch_safe(_SUBSCRIPTION, subscription):
        return None
    return (
        f"Subscription {subscription!r} contains invalid characters. If this is the name of a subscription, "
        "use its ID instead. Only alphanumeric characters, ' ', '.', '-' and '_' are allowed, and it may not "
        "start with '-'."
    )


def resource_of(scope: str) -> str:
    """The v1 resource the tools take: the scope without a trailing ``/.default``."""
    return scope[: -len(DEFAULT_SUFFIX)] if scope.endswith(DEFAULT_SUFFIX) else scope


def encode_claims(claims: str) -> str:
    """Claims challenges are passed to the tools' login commands base64-encoded (standard alphabet)."""
    return base64.b64encode(claims.encode("utf-8")).decode("ascii")


def scrub(text: str, limit: int = SHOWN_OUTPUT) -> str:
    """Tool output fit to be shown: token-shaped text removed, whitespace trimmed, length capped.

    A flood of output is cut before redaction (regexes over megabytes cost time), with a margin
    larger than any token so that a token starting inside the shown part is redacted whole.
    """
    total = len(text)
    text = redact_text(text[: limit + _TOKEN_MARGIN].replace("\r\n", "\n")).strip()
    if len(text) > limit or total > limit + _TOKEN_MARGIN:
        text = text[:limit] + f"... ({total} characters in all)"
    return text


def format_seconds(seconds: float) -> str:
    return f"{seconds:g}"


# -- expiry ------------------------------------------------------------------------------------------
_LOCAL = re.compile(r"(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?")
_UTC = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:80] + "..."


def epoch_seconds(value: object) -> int:
    """An ``expires_on`` epoch sent as a number or a string of digits."""
    if isinstance(value, bool):
        raise ValueError(f"not an epoch time: {_short(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise ValueError(f"not an epoch time: {_short(value)}")


# Beyond this (about 285 million years) an epoch is no time: arithmetic with it overflows floats.
_MAX_EPOCH = 2**53


def check_expiry(expires_on: int, now: float) -> int:
    """``expires_on`` if the token is still valid and its expiry a time; ValueError otherwise.

    A tool's token that has already expired is useless (and would be handed to the caller as is:
    nothing is cached for tools by default).
    """
    if expires_on <= now:
        raise ValueError(f"the token expired at {expires_on}, before now ({int(now)})")
    if expires_on > _MAX_EPOCH:
        raise ValueError(f"the token's expiry ({_short(expires_on)}) is not a time")
    return expires_on


def _fields(match: re.Match[str]) -> tuple[int, int, int, int, int, int]:
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    # Let time functions reject impossible dates (month 13, second 61, ...).
    time.strptime(
        f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}", "%Y-%m-%d %H:%M:%S"
    )
    return year, month, day, hour, minute, second


def parse_local_time(value: object) -> int:
    """``"2024-01-31 17:05:09.123456"`` (or without the fraction) in this machine's local time zone.

    This is what ``az account get-access-token`` prints as ``expiresOn``.
    """
    match = _LOCAL.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"not a local time like '2024-01-31 17:05:09.123456': {_short(value)}")
    year, month, day, hour, minute, second = _fields(match)
    # mktime with tm_isdst=-1 lets the C library decide whether daylight saving time applies.
    return int(time.mktime((year, month, day, hour, minute, second, 0, 0, -1)))


def parse_utc_time(value: object) -> int:
    """An RFC 3339 time with a zone (``"2024-01-31T22:05:09Z"``, ``"...+01:00"``): what azd prints.

    Read as the instant it names, whatever this machine's time zone (azure-identity reads azd's UTC
    time as local time and is off by the zone's offset).
    """
    match = _UTC.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"not an RFC 3339 time like '2024-01-31T22:05:09Z': {_short(value)}")
    year, month, day, hour, minute, second = _fields(match)
    epoch = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    zone = match.group(8)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        epoch -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return epoch


# -- outcome of a tool run -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Tool:
    """What differs between the tools in the messages and mitigation rows."""

    display: str  # "Azure CLI"
    key: str  # mitigation key prefix: "cli", "azd", "pwsh"
    not_found: str  # the guide's text: "Azure CLI not found on path"


def timed_out_message(tool: Tool, timeout: float) -> str:
    return (
        f"{tool.display} timed out after {format_seconds(timeout)} seconds. If it is slow rather than stuck, "
        f"raise process_timeout (for example process_timeout={max(30, int(timeout) * 3)})."
    )


def is_not_found(result: ProcessResult) -> bool:
    """The executable could not be started: missing, not executable, or the shell's "not found"."""
    if result.not_found or result.returncode == 127:
        return True
    # cmd.exe's words when a program is missing (Windows)
    return "' is not recognized" in result.stderr


def combined_output(result: ProcessResult) -> str:
    return "\n".join(part for part in (result.stderr.strip(), result.stdout.strip()) if part)


def check_ran(result: ProcessResult, tool: Tool, *, credential: str, timeout: float) -> None:
    """The failures every tool shares: it timed out, or it is not installed (both "unavailable")."""
    from .._errors import CredentialUnavailableError

    if result.timed_out:
        raise CredentialUnavailableError(
            timed_out_message(tool, timeout), credential=credential, mitigation_key=f"{tool.key}-timeout"
        )
    if is_not_found(result):
        raise CredentialUnavailableError(
            tool.not_found, credential=credential, mitigation_key=f"{tool.key}-not-found"
        )


def read_token(
    parse_stdout: Callable[[str, float], Token],
    result: ProcessResult,
    tool: Tool,
    *,
    credential: str,
    now: float,
    source: str | None = None,
) -> Token:
    """The token a tool printed, or a failure that shows its (scrubbed) output."""
    from .._errors import AuthenticationFailedError

    try:
        return parse_stdout(result.stdout, now)
    except ValueError as error:
        raise AuthenticationFailedError(
            f"Unexpected output from {source or tool.display} ({error}): {scrub(combined_output(result))!r}",
            credential=credential,
            mitigation_key=f"{tool.key}-failed",
        ) from None
