"""Fixtures for the tests that run the real Azure CLI (``make real-az`` installs it into .ci/az-venv).

``real_az`` (session): the emulator, a refusing proxy, a fake ARM and az signed in once per identity
(see realaz.py). Without az the tests skip with one line, unless ``CI`` is set: then they fail.
``use_az(identity)`` (per test): the process environment of a program whose PATH has that az,
signed in as ``identity`` ("sp", "single", "user", "wrong-secret", "logged-out").
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import canary
from real_az import realaz

MISSING = "the real Azure CLI is not installed (`make real-az` installs azure-cli into .ci/az-venv)"


@pytest.fixture(scope="session")
def real_az(tmp_path_factory: pytest.TempPathFactory) -> Iterator[realaz.RealAz]:
    az = realaz.find_az()
    if az is None:
        if os.environ.get("CI"):
            pytest.fail(f"{MISSING}, and CI is set: CI must run these tests", pytrace=False)
        pytest.skip(MISSING)
    with realaz.signed_in(az, tmp_path_factory.mktemp("real-az")) as real:
        for app in real.emulator.apps.values():  # the secrets az was given are canaries too
            canary.register_secret(app.secret)
            canary.register_secret(app.expired_secret)
        for user in real.emulator.users.values():
            canary.register_secret(user.password)
        yield real
    # signed_in() has checked the proxy: an attempt to leave 127.0.0.1 fails the session here.


@pytest.fixture
def use_az(real_az: realaz.RealAz, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Any]]:
    """Point this process's environment at the real az signed in as an identity."""

    def use(identity: str, *, path_after: str | None = None) -> realaz.RealAz:
        for name in list(os.environ):
            if name.startswith(("AZURE_", "STANDIN_", "IDENTITY_", "MSI_")):
                monkeypatch.delenv(name)
        for name, value in real_az.env(identity).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("PATH", os.pathsep.join(p for p in (real_az.bin_dir, path_after) if p))
        return real_az

    before = len(real_az.proxy.attempts)
    yield use
    assert real_az.proxy.attempts[before:] == [], "az tried to leave 127.0.0.1"


@pytest.fixture
def az_token_canary() -> Callable[[str], None]:
    """Register a token az handed out, so that the canary fails the run if anything shows it."""
    return canary.register_token
