"""Scrubbing secrets out of anything that may be shown or logged.

Response fields that carry tokens are replaced by ``"REDACTED"``; free text (CLI output,
non-JSON bodies) loses anything shaped like a JWT or a long opaque token.
"""

from __future__ import annotations

import re
from typing import Any

SECRET_FIELDS = frozenset(
    {
        "access_token",
        "refresh_token",
        "id_token",
        "accesstoken",
        "token",
        "oidctoken",
        "client_secret",
        "client_assertion",
        "assertion",
        "password",
        "code",
        "device_code",
    }
)
_JWT = re.compile(r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*")
# An opaque token mixes digits, upper- and lower-case letters; URLs and dotted type names of the
# same length usually don't, and must stay readable in error messages.
_C = r"[A-Za-z0-9_\-~.+/]"
_LONG_OPAQUE = re.compile(
    r"(?<![A-Za-z0-9_\-])" + rf"(?={_C}*\d)(?={_C}*[A-Z])(?={_C}*[a-z])" + _C + r"{64,}={0,2}"
)


# Deeper than this, a document is shown as "..." (recursion must not run out of stack).
_MAX_DEPTH = 64


def redact_json(value: Any, _depth: int = 0) -> Any:
    if isinstance(value, (dict, list)) and _depth >= _MAX_DEPTH:
        return "..."
    if isinstance(value, dict):
        return {
            k: (
                "REDACTED"
                if isinstance(k, str) and k.lower() in SECRET_FIELDS and v
                else redact_json(v, _depth + 1)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_json(v, _depth + 1) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_text(text: str) -> str:
    text = _JWT.sub("REDACTED", text)
    return _LONG_OPAQUE.sub("REDACTED", text)
