"""Shared code of the az / azd / pwsh stand-ins (runs in the stand-in process, stdlib only).

A stand-in behaves as the real tool does in the case a test selects with environment variables:

STANDIN_MODE    ok (default) | logged_out | fail | garbage | flood | flood_hang | no_module | exec_policy
                | legacy_expiry | legacy_expiry_no_fraction | aadsts_login
                | old_azd (azd without --claims) | claims_mfa (azd: a claims request needs an MFA login)
STANDIN_SLEEP   seconds to sleep first (any mode)
STANDIN_LOG     file to which each invocation appends one JSON line (argv, cwd, stdin, env)
STANDIN_AUTHORITY, STANDIN_TENANT, STANDIN_CLIENT_ID, STANDIN_CLIENT_SECRET, STANDIN_CA
                the emulator and the app whose token the "signed-in account" gets
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

MODE = os.environ.get("STANDIN_MODE", "ok")


def record(tool: str, argv: list[str], **extra: object) -> None:
    path = os.environ.get("STANDIN_LOG")
    if not path:
        return
    try:
        stdin = os.path.realpath(f"/proc/self/fd/{sys.stdin.fileno()}") if sys.stdin else None
    except (OSError, ValueError):
        stdin = None
    entry = {
        "tool": tool,
        "argv": argv,
        "cwd": os.getcwd(),
        "stdin": stdin,
        "time": time.time(),
        "env": {k: os.environ.get(k) for k in ("AZURE_CORE_NO_COLOR", "NO_COLOR")},
        **extra,
    }
    with open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")


def pause() -> None:
    seconds = float(os.environ.get("STANDIN_SLEEP", "0") or 0)
    if seconds:
        time.sleep(seconds)


def flood(hang: bool = False) -> None:
    """Write to stdout without end, or STANDIN_FLOOD_MB MiB and then exit 0 (or, with ``hang``, sleep)."""
    chunk = ("x" * 1023 + "\n") * 64
    limit = os.environ.get("STANDIN_FLOOD_MB")
    count = int(float(limit) * 16) if limit else None
    out = sys.stdout
    while count is None or count > 0:
        out.write(chunk)
        if count is not None:
            count -= 1
    out.flush()
    if hang:
        time.sleep(60)
    sys.exit(0)


class EntraError(Exception):
    def __init__(self, payload: dict[str, object]) -> None:
        super().__init__(payload.get("error_description") or payload.get("error"))
        self.payload = payload


def fetch_token(scopes: list[str], tenant: str | None, claims: str | None = None) -> tuple[str, int]:
    """A real token from the emulator for the signed-in "account" (client credentials of an app)."""
    authority = os.environ["STANDIN_AUTHORITY"].rstrip("/")
    tenant = tenant or os.environ["STANDIN_TENANT"]
    fields = {
        "grant_type": "client_credentials",
        "client_id": os.environ["STANDIN_CLIENT_ID"],
        "client_secret": os.environ["STANDIN_CLIENT_SECRET"],
        "scope": " ".join(scopes),
    }
    if claims is not None:
        fields["claims"] = claims
    form = urllib.parse.urlencode(fields).encode()
    context = ssl.create_default_context(cafile=os.environ["STANDIN_CA"])
    request = urllib.request.Request(f"{authority}/{tenant}/oauth2/v2.0/token", data=form, method="POST")
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            payload = json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise EntraError(json.loads(error.read() or b"{}")) from None
    return payload["access_token"], _expiry(payload["access_token"])


def _expiry(token: str) -> int:
    """The token's own ``exp``, as the real tools report it (MSAL keeps the issuer's expiry). Computing
    it from this process's clock plus ``expires_in`` is off by a second when a second boundary falls
    between the emulator's issuing and this line (seen under load)."""
    import base64

    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return int(claims["exp"])


def discovery_error(tenant: str) -> tuple[str, int, str] | None:
    """MSAL's tenant discovery, as az does it first: (url, status, body) when the emulator refuses it."""
    authority = os.environ["STANDIN_AUTHORITY"].rstrip("/")
    url = f"{authority}/{tenant}/v2.0/.well-known/openid-configuration"
    context = ssl.create_default_context(cafile=os.environ["STANDIN_CA"])
    try:
        with urllib.request.urlopen(url, context=context, timeout=10):
            return None
    except urllib.error.HTTPError as error:
        return url, error.code, error.read().decode("utf-8", "replace")


def fail(message: str, code: int = 1) -> None:
    sys.stderr.write(message)
    sys.stderr.flush()
    sys.exit(code)
