"""Running ``azidentity token`` as a subprocess, for the CLI and tracing tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import azidentity
import canary

TIMEOUT = 60
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(azidentity.__file__)))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_token(tmp_path, env, *args, check_canary=True):
    """``python -m azidentity token ARGS`` with nothing configured but ``env``; output checked by the
    canary."""
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    base = {
        "HOME": str(tmp_path),
        "PATH": str(empty),
        "LANG": "C.UTF-8",
        "AZURE_POD_IDENTITY_AUTHORITY_HOST": f"http://127.0.0.1:{closed_port()}",
        # The subprocess imports the azidentity under test, not whatever the interpreter has installed
        # (an editable install of another checkout made these tests test that checkout's code).
        "PYTHONPATH": PACKAGE_ROOT,
    }
    done = subprocess.run(
        [sys.executable, "-m", "azidentity", "token", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    if check_canary:
        canary.check_output("azidentity token", done.stdout + done.stderr)
    return done
