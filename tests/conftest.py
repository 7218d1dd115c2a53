from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

import canary

pytest_plugins = ["azidentity.emulator.pytest_plugin"]


def _serialize_ast_parse() -> None:
    """Work around CPython gh-106905 on 3.11.0-3.11.7 (the 3.11.7 here): ``ast.parse`` keeps its
    recursion depth in interpreter-global state, so two threads parsing at once (a garbage collection
    inside one lets the other run) fail with ``SystemError: AST constructor recursion depth mismatch``.
    Threads parse more than it seems: Python 3.11's traceback formatting parses the failing line, and
    pytest's log capture formats records with tracebacks from any thread; hypothesis and assertion
    rewriting parse in the main thread. Fixed in CPython 3.11.8 and 3.12.1; one lock here until then.
    """
    import sys

    if not (3, 11) <= sys.version_info[:3] < (3, 11, 8):
        return
    import ast
    import threading

    parse, lock = ast.parse, threading.RLock()

    def serialized(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return parse(*args, **kwargs)

    ast.parse = serialized  # type: ignore[assignment]


_serialize_ast_parse()


def _hypothesis_profiles() -> None:
    """The suite replays the same examples on every run (a property test that fails once must fail
    every time, and not because of what a random seed drew today); ``make fuzz`` sets
    AZIDENTITY_HYPOTHESIS_EXAMPLES and searches with fresh randomness."""
    import os

    from hypothesis import settings

    settings.register_profile("suite", derandomize=True, database=None)
    settings.register_profile("fuzz", derandomize=False)
    settings.load_profile("fuzz" if os.environ.get("AZIDENTITY_HYPOTHESIS_EXAMPLES") else "suite")


_hypothesis_profiles()


def pytest_sessionstart(session: pytest.Session) -> None:
    canary.install()


def pytest_warning_recorded(warning_message: warnings.WarningMessage, **kwargs: Any) -> None:
    canary.capture("warning", str(warning_message.message))


@pytest.fixture(scope="session", autouse=True)
def _register_emulator_secrets(emulator_session: Any) -> None:
    """The emulator's own secrets are canaries: they must never show up in what the library prints."""
    register_info(emulator_session.info())


def register_info(info: Any) -> None:
    if isinstance(info, dict):
        for key, value in info.items():
            if key.lower().endswith(("_dir", "_url", "_path")) and not key.lower().endswith(
                ("key_path", "pem_path")
            ):
                continue  # locations, not secrets (the Arc token directory appears in errors by design)
            if isinstance(value, str) and any(
                word in key.lower() for word in ("secret", "password", "token")
            ):
                canary.register_secret(value)
            elif (
                isinstance(key, str)
                and key.lower().endswith(("key_path", "pem_path"))
                and isinstance(value, str)
            ):
                _register_key_file(value)
            else:
                register_info(value)
    elif isinstance(info, list):
        for item in info:
            register_info(item)


def _register_key_file(path: str) -> None:
    try:
        text = Path(path).read_text()
    except OSError:
        return
    # The base64 lines of a private key block are the secret part.
    inside = False
    for line in text.splitlines():
        if "PRIVATE KEY-----" in line:
            inside = "BEGIN" in line
            continue
        if inside and len(line) >= 32 and ":" not in line:
            canary.register_secret(line)


@pytest.fixture(autouse=True)
def _isolated_managed_identity_cache() -> Any:
    """Managed identity tokens are cached per process by design; tests must not share them."""
    from azidentity._credentials import managed_identity

    managed_identity._clear_shared_cache()
    yield
    managed_identity._clear_shared_cache()


@pytest.fixture
def secret_canary() -> Any:
    return canary


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    hits = canary.findings()
    if hits:
        print("\nSECRET CANARY: secrets found in captured output:\n  " + "\n  ".join(sorted(set(hits))[:50]))
        session.exitstatus = 1
    else:
        print(f"\nsecret canary: clean ({canary.stats()})")


@pytest.fixture(params=["sync", "async"])
def flavor(request: pytest.FixtureRequest) -> Any:
    from flavor import Flavor

    f = Flavor(request.param == "async")
    yield f
    f.close()
