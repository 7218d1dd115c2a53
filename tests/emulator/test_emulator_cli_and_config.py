"""CLI (`python -m azidentity.emulator`) and configuration files."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import pytest
import requests
from emulator_testlib import TIMEOUT

import azidentity.emulator
from azidentity.emulator import EmulatorConfig, config_from_dict, load_config, run_cli


def _spawn(*args: str) -> subprocess.Popen[str]:
    # Make the package importable in the child however the parent found it (installed or via PYTHONPATH).
    src = str(Path(azidentity.emulator.__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen(
        [sys.executable, "-m", "azidentity.emulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _read_line(stream: IO[str], timeout: float = 15) -> str:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    return lines.get(timeout=timeout)


def _terminate(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_cli_json_first_line() -> None:
    with _spawn("--json", "--host", "app-service") as proc:  # closes its pipes
        try:
            info = json.loads(_read_line(proc.stdout))  # type: ignore[arg-type]
            for key in (
                "base_url",
                "authority",
                "ca_bundle",
                "mi_base_url",
                "tenant_id",
                "other_tenant_id",
                "apps",
                "users",
                "managed_identities",
                "oidc_issuer",
                "env",
            ):
                assert key in info
            assert info["env"]["IDENTITY_ENDPOINT"] == f"{info['mi_base_url']}/msi/token"
            assert info["apps"]["secret"]["secret"] and info["apps"]["cert"]["cert_pem_path"]
            r = requests.get(
                f"{info['base_url']}/{info['tenant_id']}/v2.0/.well-known/openid-configuration",
                verify=info["ca_bundle"],
                timeout=TIMEOUT,
            )
            assert r.status_code == 200
        finally:
            assert _terminate(proc) == 0


def test_cli_human_output() -> None:
    with _spawn() as proc:  # closes its pipes
        try:
            first = _read_line(proc.stdout)  # type: ignore[arg-type]
            assert first.startswith("Entra ID emulator: https://127.0.0.1:")
            lines = [_read_line(proc.stdout) for _ in range(8)]  # type: ignore[arg-type]
            assert any(line.startswith("export AZURE_CLIENT_SECRET=") for line in lines)
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=TIMEOUT) == 0


def test_cli_usage_error_returns_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["--host", "mainframe"]) == 2
    assert run_cli(["--config", "/nonexistent/emulator.json"]) == 2


def test_config_files(tmp_path: Path) -> None:
    data = {
        "token_lifetime": 7200,
        "arc_echo_identity": False,
        "apps": {"secret": {"token_lifetime": 60}, "extra": {"secret": "generated-elsewhere"}},
        "users": {"carol": {"password": "pw-from-file"}},
        "managed_identities": {"system": {"assigned": False}, "user": [{"name": "a"}]},
    }
    json_file = tmp_path / "emu.json"
    json_file.write_text(json.dumps(data))
    config = load_config(json_file)
    assert config.token_lifetime == 7200 and config.apps["secret"].token_lifetime == 60
    assert config.apps["extra"].tenant_ids == [config.tenant_id]
    assert config.users["carol"].username == f"carol@{config.tenant_domain}"
    assert not config.managed_identities.system.assigned and config.managed_identities.user[0].name == "a"
    toml_file = tmp_path / "emu.toml"
    toml_file.write_text(
        'tenant_id = "11111111-1111-1111-1111-111111111111"\n[apps.single]\ntoken_lifetime = 99\n'
    )
    config = load_config(toml_file)
    assert config.apps["single"].tenant_ids == ["11111111-1111-1111-1111-111111111111"]
    assert config.apps["single"].token_lifetime == 99
    with pytest.raises(ValueError):
        config_from_dict({"no_such_option": 1})
    with pytest.raises(ValueError):
        config_from_dict({"apps": {"secret": {"colour": "blue"}}})


def test_default_configs_are_unique() -> None:
    a, b = EmulatorConfig(), EmulatorConfig()
    assert a.tenant_id != b.tenant_id and a.apps["secret"].secret != b.apps["secret"].secret
    assert a.users["alice"].password != b.users["alice"].password
