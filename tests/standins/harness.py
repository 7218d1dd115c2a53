"""Test-side helpers: put the az / azd / pwsh stand-ins on a temporary PATH wired to the emulator."""

from __future__ import annotations

import asyncio
import json
import shutil
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import azidentity
import azidentity.aio

HERE = Path(__file__).parent
TOOLS = ("az", "azd", "pwsh")
SCOPE = "https://management.azure.com/.default"
RESOURCE = "https://management.azure.com"


class Tools:
    """The stand-ins of one test: choose their behaviour, read what they were called with."""

    def __init__(self, bin_dir: Path, log: Path, emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bin = bin_dir
        self.log_path = log
        self.emulator = emulator
        self._monkeypatch = monkeypatch

    def mode(self, mode: str, sleep: float | None = None, **extra: str) -> None:
        self._monkeypatch.setenv("STANDIN_MODE", mode)
        if sleep is not None:
            self._monkeypatch.setenv("STANDIN_SLEEP", str(sleep))
        for name, value in extra.items():
            self._monkeypatch.setenv(name, value)

    def remove(self, tool: str) -> None:
        (self.bin / tool).unlink()

    def calls(self, tool: str | None = None) -> list[dict[str, Any]]:
        if not self.log_path.exists():
            return []
        entries = [json.loads(line) for line in self.log_path.read_text().splitlines() if line.strip()]
        return [e for e in entries if tool is None or e["tool"] == tool]

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a token the emulator really issued (signature checked)."""
        claims: dict[str, Any] = self.emulator.verify_token(token)
        return claims


def install(bin_dir: Path) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "_standin.py", bin_dir / "_standin.py")
    for tool in TOOLS:
        text = (HERE / tool).read_text()
        first, _, rest = text.partition("\n")
        assert first.startswith("#!")
        target = bin_dir / tool
        # -I -S: no user site, no PYTHON* variables, no site-packages: the stand-ins use the stdlib only.
        target.write_text(f"#!{sys.executable} -IS\n{rest}")
        target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emulator: Any) -> Iterator[Tools]:
    bin_dir = tmp_path / "bin"
    install(bin_dir)
    app = emulator.apps["secret"]
    monkeypatch.setenv("PATH", str(bin_dir))
    for name in ("STANDIN_MODE", "STANDIN_SLEEP", "STANDIN_FLOOD_MB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STANDIN_LOG", str(tmp_path / "calls.jsonl"))
    monkeypatch.setenv("STANDIN_AUTHORITY", emulator.authority)
    monkeypatch.setenv("STANDIN_TENANT", emulator.tenant_id)
    monkeypatch.setenv("STANDIN_CLIENT_ID", app.client_id)
    monkeypatch.setenv("STANDIN_CLIENT_SECRET", app.secret)
    monkeypatch.setenv("STANDIN_CA", emulator.ca_bundle_path)
    monkeypatch.delenv("AZURE_IDENTITY_DISABLE_MULTITENANTAUTH", raising=False)
    yield Tools(bin_dir, tmp_path / "calls.jsonl", emulator, monkeypatch)


def credential(kind: str, name: str, **kwargs: Any) -> Any:
    module = azidentity if kind == "sync" else azidentity.aio
    return getattr(module, name)(**kwargs)


def get_token(cred: Any, *scopes: str, **kwargs: Any) -> Any:
    """``cred.get_token`` for a sync or an async credential (run to completion on a new loop)."""
    if asyncio.iscoroutinefunction(cred.get_token):

        async def run() -> Any:
            return await cred.get_token(*scopes, **kwargs)

        return asyncio.run(run())
    return cred.get_token(*scopes, **kwargs)


def get_token_info(cred: Any, *scopes: str, options: Any = None) -> Any:
    if asyncio.iscoroutinefunction(cred.get_token_info):

        async def run() -> Any:
            return await cred.get_token_info(*scopes, options=options)

        return asyncio.run(run())
    return cred.get_token_info(*scopes, options=options)
