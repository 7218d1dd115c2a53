"""Fixtures of the compatibility suite: which library, which transport style, a clean environment.

``library`` runs each test against ``azure.identity`` and ``azidentity``: the suite proves that
code (and tests) written for azure-identity keep working when only the import line changes.
"""

from __future__ import annotations

import importlib
import ipaddress
import os
import socket
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest

from .compat_testlib import Library, Mode, clean_environment
from .known_gaps import Test, gap

HERE = os.path.dirname(os.path.abspath(__file__))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the gaps of known_gaps.py (strict xfails on azidentity's side). COMPAT_IGNORE_GAPS=1 runs
    them as plain tests, to see which gaps a change closed."""
    ignore_gaps = os.environ.get("COMPAT_IGNORE_GAPS") == "1"
    for item in items:
        if os.path.dirname(str(item.path)) != HERE or not isinstance(item, pytest.Function):
            continue
        # azure-identity's side: MSAL's own warnings (third-party code) about flows the tests use on
        # purpose. MSAL deprecates the username/password grant (UsernamePasswordCredential's) with a
        # DeprecationWarning, which azure-identity turns into a failed get_token under -W error; and it
        # warns "Attempted too soon" when a device code is polled before its interval (the tests' fake
        # clock). azidentity doesn't use MSAL, so these never hide a warning of ours.
        item.add_marker(pytest.mark.filterwarnings("ignore::DeprecationWarning:msal"))
        item.add_marker(pytest.mark.filterwarnings("ignore:Attempted too soon:UserWarning:msal"))
        params = dict(item.callspec.params) if hasattr(item, "callspec") else {}
        reason = gap(Test(item.module.__name__.rsplit(".", 1)[-1], item.originalname, params))
        if reason and not ignore_gaps:
            item.add_marker(pytest.mark.xfail(strict=True, reason=reason))


@pytest.fixture(params=["azure.identity", "azidentity"])
def library(request: pytest.FixtureRequest) -> Library:
    name = request.param
    return Library(name, importlib.import_module(name), importlib.import_module(name + ".aio"))


@pytest.fixture(params=["sync", "async-future", "async-mock"])
def mode(request: pytest.FixtureRequest) -> Iterator[Mode]:
    m = Mode(request.param)
    yield m
    m.close()


@pytest.fixture(params=["sync", "async"])
def sync_or_async(request: pytest.FixtureRequest) -> Iterator[Mode]:
    """For credentials that take no transport (developer tools): one sync and one async run."""
    m = Mode("sync" if request.param == "sync" else "async-future")
    yield m
    m.close()


@pytest.fixture(autouse=True)
def _clean_environment() -> Iterator[None]:
    """No AZURE_* / IDENTITY_* / MSI_* variable of the machine running the suite reaches a test."""
    with mock.patch.dict(os.environ, clean_environment(), clear=True):
        yield


_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def _is_loopback(host: Any) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A transport double that a library bypassed must not reach the internet (or IMDS): these tests
    may name real hosts (login.microsoftonline.com), so any resolution or connection elsewhere fails."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_loopback(host):
            raise OSError(f"compat tests talk only to loopback, not {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def checked(real: Any) -> Any:
        def connect(self: socket.socket, address: Any) -> Any:
            if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
                raise OSError(f"compat tests talk only to loopback, not {address[0]!r}")
            return real(self, address)

        return connect

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", checked(real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", checked(real_connect_ex))
