"""The ``azidentity`` entry points: dispatch, usage errors, ``python -m azidentity``, the console script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from azidentity import __version__
from azidentity._cli.main import main

TIMEOUT = 60


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"azidentity {__version__}"


def test_no_command_prints_usage(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "usage: azidentity" in err and "token" in err and "doctor" in err and "emulator" in err


@pytest.mark.parametrize("argv", [["bogus"], ["token", "--bogus"], ["doctor", "--scope"]])
def test_usage_errors_exit_2(capsys, argv):
    assert main(argv) == 2
    assert "usage:" in capsys.readouterr().err


def test_help_exits_0(capsys):
    assert main(["doctor", "--help"]) == 0
    assert "Exit status 0 when DefaultAzureCredential gets a token" in capsys.readouterr().out.replace(
        "\n", " "
    ).replace("  ", " ")


def test_emulator_is_dispatched_with_its_own_arguments(monkeypatch):
    import azidentity.emulator.cli as emulator_cli

    seen = []
    monkeypatch.setattr(emulator_cli, "run_cli", lambda argv: seen.append(argv) or 7)
    assert main(["emulator", "--json", "--host", "imds"]) == 7
    assert seen == [["--json", "--host", "imds"]]


def test_emulator_help_comes_from_the_emulator(capsys):
    assert main(["emulator", "--help"]) == 0
    assert "usage: azidentity emulator" in capsys.readouterr().out


def test_python_dash_m_and_console_script(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "azidentity", "--version"],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert (done.returncode, done.stdout.strip()) == (0, f"azidentity {__version__}")
    script = Path(sys.executable).parent / "azidentity"
    if not script.exists():
        pytest.skip("the azidentity console script is not installed in this environment")
    done = subprocess.run(
        [str(script), "token", "--credential", "nope"],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 2 and "unknown credential 'nope'" in done.stderr


def test_cli_module_import_is_cheap():
    code = (
        "import sys, azidentity._cli.main; "
        "print(any(m.startswith(('azure.core', 'requests', 'aiohttp', 'cryptography')) for m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT)
    assert done.stdout.strip() == "False", done.stderr
