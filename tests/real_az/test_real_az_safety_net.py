"""The safety net works: az sends what would leave the machine to the refusing proxy on 127.0.0.1.

`az --version` asks a public host for the latest version whatever the settings (so does any
command when versionCheck.json is missing). Run with a private proxy (not the session's, whose record
must stay empty), the request reaches only 127.0.0.1, is refused there, and is recorded: so an empty
record means nothing tried.
"""

from __future__ import annotations

import os
import subprocess
from typing import Any

from real_az import realaz


def test_an_attempt_to_leave_is_caught_and_recorded(real_az: realaz.RealAz) -> None:
    proxy = realaz.RefusingProxy()
    try:
        env = real_az._process_env("logged-out", None)
        env.update({name: proxy.url for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")})
        subprocess.run(
            [real_az.az, "--version"],
            env=env,
            cwd=os.fspath(real_az.root),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=realaz.AZ_TIMEOUT,
        )
    finally:
        proxy.close()
    assert proxy.attempts, "az --version asked no one: the proxy settings did not reach it"
    assert all(attempt.startswith(("CONNECT ", "GET http")) for attempt in proxy.attempts), proxy.attempts
    assert not any("127.0.0.1" in attempt for attempt in proxy.attempts)


def test_the_session_recorded_nothing_so_far(real_az: realaz.RealAz, use_az: Any) -> None:
    use_az("sp")
    assert real_az.proxy.attempts == []
