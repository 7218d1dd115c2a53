"""pytest fixtures: ``emulator_session`` (one per run), ``emulator`` (that one, reset), ``fresh_emulator``.

Enable with ``pytest_plugins = ["azidentity.emulator.pytest_plugin"]`` in a root conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .emulator import Emulator


@pytest.fixture(scope="session")
def emulator_session() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def emulator(emulator_session: Emulator) -> Emulator:
    """The session emulator with its request log and faults cleared (config is shared: do not mutate it)."""
    emulator_session.reset()
    return emulator_session


@pytest.fixture
def fresh_emulator() -> Iterator[Emulator]:
    """A private emulator for tests that change configuration."""
    with Emulator() as emu:
        yield emu
