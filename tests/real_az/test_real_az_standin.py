"""The az stand-in (tests/standins/az) prints what the real az prints.

The stand-in serves the tests the real CLI can't (timeouts, a missing az, floods of output): if its
idea of az's output drifted from the real one, both sides of those tests would agree and prove
nothing. Each case runs both, signed in as the same service principal, and compares stdout's JSON
keys and stderr byte for byte once identifiers, times and paths are replaced by placeholders.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from real_az import realaz
from standins import harness

ARM = "https://management.azure.com"
UNKNOWN_TENANT = "00000000-1111-2222-3333-444444444444"
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ")
_URL = re.compile(r"https://127\.0\.0\.1:\d+")
_FRAME = re.compile(r'  File "[^"]*", line \d+, in \S+\n(?:    .*\n)+')


@dataclass(frozen=True)
class Case:
    name: str
    identity: str  # az's config dir; the stand-in signs in as the same app
    args: tuple[str, ...] = ()
    mode: str = "ok"


CASES = [
    Case("token", "sp"),
    Case("token for another tenant", "sp", ("--tenant", "{other}")),
    Case("not logged in", "logged-out", mode="logged_out"),
    Case("app not in that tenant", "single", ("--tenant", "{other}")),
    Case("unknown tenant", "sp", ("--tenant", UNKNOWN_TENANT)),
    Case("unknown resource", "sp", ("--resource-override", "https://unknown-resource.example")),
    Case("unknown subscription", "sp", ("--subscription", "No Such Subscription")),
    Case("wrong stored secret", "wrong-secret"),
]
APPS = {"sp": "secret", "logged-out": "secret", "single": "single", "wrong-secret": "secret"}


def normalize(stderr: bytes) -> str:
    text = stderr.decode("utf-8")
    text = _FRAME.sub("  <frame>\n", text)  # frames differ in paths and in how many lines az shows
    text = _URL.sub("<emulator>", _TIME.sub("<time>", _GUID.sub("<id>", text)))
    return re.sub(r"(  <frame>\n)+", "  <frames>\n", text)


def argv_of(case: Case, real: realaz.RealAz) -> list[str]:
    args = [a.format(other=real.emulator.other_tenant_id) for a in case.args]
    resource = ARM
    if args[:1] == ["--resource-override"]:
        resource, args = args[1], args[2:]
    return ["account", "get-access-token", "--output", "json", "--resource", resource, *args]


def run_real(case: Case, real: realaz.RealAz) -> subprocess.CompletedProcess[bytes]:
    env = real._process_env(case.identity, None)
    return subprocess.run(
        [real.az, *argv_of(case, real)], env=env, capture_output=True, timeout=realaz.AZ_TIMEOUT
    )


def run_standin(case: Case, real: realaz.RealAz, stand_in: Path) -> subprocess.CompletedProcess[bytes]:
    app = real.emulator.apps[APPS[case.identity]]
    secret = "not-the-secret" if case.identity == "wrong-secret" else str(app.secret)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "STANDIN_MODE": case.mode,
        "STANDIN_AUTHORITY": real.emulator.authority,
        "STANDIN_TENANT": real.emulator.tenant_id,
        "STANDIN_CLIENT_ID": app.client_id,
        "STANDIN_CLIENT_SECRET": secret,
        "STANDIN_CA": real.emulator.ca_bundle_path,
    }
    return subprocess.run([str(stand_in), *argv_of(case, real)], env=env, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def outputs(real_az: realaz.RealAz, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Both outputs of every case; the real az runs several cases at once (each takes ~1 s)."""
    bin_dir = tmp_path_factory.mktemp("stand-ins")
    harness.install(bin_dir)
    with ThreadPoolExecutor(4) as pool:
        real = {c.name: pool.submit(run_real, c, real_az) for c in CASES}
        stand_in = {c.name: pool.submit(run_standin, c, real_az, bin_dir / "az") for c in CASES}
        return {c.name: (real[c.name].result(), stand_in[c.name].result()) for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_stand_in_prints_what_az_prints(case: Case, outputs: dict[str, Any]) -> None:
    real, stand_in = outputs[case.name]
    assert stand_in.returncode == real.returncode, (real.stderr, stand_in.stderr)
    assert normalize(stand_in.stderr) == normalize(real.stderr)
    if real.returncode == 0:
        real_json, stand_in_json = json.loads(real.stdout), json.loads(stand_in.stdout)
        assert sorted(stand_in_json) == sorted(real_json)
        assert stand_in_json["tokenType"] == real_json["tokenType"] == "Bearer"
        assert real_json["expiresOn"].count(":") == stand_in_json["expiresOn"].count(":") == 2
    else:
        assert real.stdout == stand_in.stdout == b""
