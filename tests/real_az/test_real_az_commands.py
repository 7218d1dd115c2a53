"""``azidentity doctor`` and ``azidentity token`` against the real az: they show which account az is
signed in with, and never a token."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import canary
from real_az import realaz

TIMEOUT = 120


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def azidentity(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)  # use_az's: az on PATH, signed in; nothing else configured
    env.update(
        {"HOME": str(tmp_path), "AZURE_POD_IDENTITY_AUTHORITY_HOST": f"http://127.0.0.1:{closed_port()}"}
    )
    done = subprocess.run(
        [sys.executable, "-m", "azidentity", *args], env=env, capture_output=True, text=True, timeout=TIMEOUT
    )
    canary.check_output(f"azidentity {args[0]} stdout", done.stdout)
    canary.check_output(f"azidentity {args[0]} stderr", done.stderr)
    assert "eyJ" not in done.stdout + done.stderr  # no JWT, whatever else the canary knows
    return done


def test_doctor_shows_the_user_az_is_signed_in_with(use_az: Any, tmp_path: Path) -> None:
    real = use_az("user")
    alice, home = real.emulator.users["alice"], real.emulator.tenant_id
    account = f"user {alice.username}, subscription Emulator Subscription, tenant {home}"
    done = azidentity(tmp_path, "doctor", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    [cli] = [c for c in report["credentials"] if c["name"] == "AzureCliCredential"]
    assert cli["status"] == "succeeded"
    assert cli["facts"]["account"] == account
    assert (cli["identity"]["user"], cli["identity"]["appid"]) == (alice.username, realaz.AZ_CLIENT_ID)
    assert report["result"]["credential"] == "AzureCliCredential"
    text = azidentity(tmp_path, "doctor").stdout
    assert account in text and "DefaultAzureCredential would use AzureCliCredential" in text


def test_token_shows_the_service_principal_az_is_signed_in_with(use_az: Any, tmp_path: Path) -> None:
    real = use_az("sp")
    app, home = real.emulator.apps["secret"], real.emulator.tenant_id
    account = f"servicePrincipal {app.client_id}, subscription Emulator Subscription, tenant {home}"
    done = azidentity(tmp_path, "token", "--credential", "az", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["az_account"] == account
    assert report["identity"]["appid"] == app.client_id and "token" not in report
    text = azidentity(tmp_path, "token", "--credential", "az").stdout
    assert account in text and "(hidden; --show-token prints it)" in text
