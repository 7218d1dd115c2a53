"""The real Azure CLI (``azure-cli`` from PyPI) signed in to the emulator, with nothing leaving 127.0.0.1.

Facts this relies on (shared/reference/real-azure-cli.md): a fresh ``AZURE_CONFIG_DIR`` per session, a
seeded ``versionCheck.json`` (else az asks a public host for its latest version), instance discovery
off (else MSAL validates the authority against Microsoft's host), ``REQUESTS_CA_BUNDLE`` holding the
emulator's CA, and a cloud whose Entra endpoint is the emulator. A refusing proxy on 127.0.0.1
catches whatever would still try to leave the machine.

One :class:`RealAz` holds several config directories, one per signed-in identity, so that tests pick
an identity by environment (``AZURE_CONFIG_DIR``) instead of switching az's current account.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from azidentity.emulator import Emulator
from azidentity.emulator.config import AZURE_CLI_CLIENT_ID

REPO = Path(__file__).resolve().parents[2]
# Where `make real-az` and .ci/run install azure-cli; AZIDENTITY_REAL_AZ names another az executable.
DEFAULT_AZ = REPO / ".ci" / "az-venv" / "bin" / "az"
# The Azure CLI's public client id: a Microsoft first-party app, present in every tenant (the
# emulator registers it in both of its tenants).
AZ_CLIENT_ID = AZURE_CLI_CLIENT_ID
CLOUD = "Emu"
AZ_TIMEOUT = 60.0


def find_az() -> str | None:
    explicit = os.environ.get("AZIDENTITY_REAL_AZ")
    candidate = Path(explicit) if explicit else DEFAULT_AZ
    return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None


# -- the safety net -----------------------------------------------------------------------------------
class RefusingProxy:
    """An HTTP(S) proxy on 127.0.0.1 that records each request's first line and answers 403."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.attempts: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="refusing-proxy", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(2.0)
                try:
                    first = connection.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
                except OSError:
                    first = "(nothing readable)"
                self.attempts.append(first or "(an empty request)")
                try:
                    connection.sendall(
                        b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self._socket.close()


# -- a fake ARM for `az login`'s subscription list ---------------------------------------------------
@dataclass
class Subscription:
    id: str
    name: str
    tenant_id: str

    def as_arm(self) -> dict[str, Any]:
        return {
            "id": f"/subscriptions/{self.id}",
            "subscriptionId": self.id,
            "tenantId": self.tenant_id,
            "displayName": self.name,
            "state": "Enabled",
            "subscriptionPolicies": {
                "spendingLimit": "Off",
                "quotaId": "Emulator",
                "locationPlacementId": "Public",
            },
            "authorizationSource": "RoleBased",
        }


class FakeArm:
    """HTTPS ``GET /subscriptions``: the subscriptions of the token's tenant, for a valid emulator token."""

    def __init__(self, emulator: Emulator, subscriptions: list[Subscription]) -> None:
        self.requests: list[str] = []
        arm = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                arm.requests.append(self.path)
                auth = self.headers.get("Authorization", "")
                try:
                    claims = emulator.verify_token(auth.removeprefix("Bearer "))
                except Exception:
                    return self._send(401, {"error": {"code": "InvalidAuthenticationToken"}})
                if self.path.split("?", 1)[0].rstrip("/") != "/subscriptions":
                    return self._send(404, {"error": {"code": "NotFound", "message": self.path}})
                mine = [s.as_arm() for s in subscriptions if s.tenant_id == claims.get("tid")]
                return self._send(200, {"value": mine})

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        context = emulator.server_ssl_context()
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}/"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# -- running az -----------------------------------------------------------------------------------------
@dataclass
class Run:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class RealAz:
    """The real az, its emulator, and the config directory of each signed-in identity."""

    az: str
    emulator: Emulator
    root: Path
    proxy: RefusingProxy
    arm: FakeArm
    subscriptions: list[Subscription]
    ca_bundle: str
    version: str
    config_dirs: dict[str, Path] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)

    @property
    def bin_dir(self) -> str:
        """A directory with only ``az`` in it, for PATH."""
        path = self.root / "bin"
        if not path.exists():
            path.mkdir()
            (path / "az").symlink_to(self.az)
        return str(path)

    def env(self, identity: str | None = None) -> dict[str, str]:
        """What az needs besides PATH: every setting that keeps it on the loopback."""
        env = {
            "AZURE_CORE_INSTANCE_DISCOVERY": "false",
            "AZURE_CORE_COLLECT_TELEMETRY": "false",
            "AZURE_CORE_SURVEY_MESSAGE": "false",
            "AZURE_CORE_NO_COLOR": "true",
            "AZURE_CORE_ONLY_SHOW_ERRORS": "false",
            "REQUESTS_CA_BUNDLE": self.ca_bundle,
            "HTTPS_PROXY": self.proxy.url,
            "HTTP_PROXY": self.proxy.url,
            "https_proxy": self.proxy.url,
            "http_proxy": self.proxy.url,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
        if identity is not None:
            env["AZURE_CONFIG_DIR"] = str(self.config_dirs[identity])
        return env

    def _process_env(self, identity: str | None, config_dir: Path | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "PYTHON", "STANDIN_"))}
        env.update(self.env(identity))
        if config_dir is not None:
            env["AZURE_CONFIG_DIR"] = str(config_dir)
        return env

    def start(self, argv: list[str], *, config_dir: Path) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [self.az, *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self._process_env(None, config_dir),
            cwd=str(self.root),
        )

    def finish(self, process: subprocess.Popen[str], argv: list[str], started: float) -> Run:
        try:
            stdout, stderr = process.communicate(timeout=AZ_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
            raise AssertionError(
                f"az {' '.join(argv[:2])} did not finish in {AZ_TIMEOUT} s: {stderr}"
            ) from None
        run = Run(argv, process.returncode, stdout, stderr, time.monotonic() - started)
        self.runs.append(run)
        return run

    def run(self, argv: list[str], *, config_dir: Path, check: bool = True) -> Run:
        started = time.monotonic()
        run = self.finish(self.start(argv, config_dir=config_dir), argv, started)
        if check and run.returncode != 0:
            raise AssertionError(f"az {_shown(argv)} failed ({run.returncode}):\n{run.stderr}")
        return run

    def check_nothing_left(self) -> None:
        if self.proxy.attempts:
            raise AssertionError(
                "az tried to leave 127.0.0.1 through the proxy: "
                + "; ".join(sorted(set(self.proxy.attempts)))
            )


def _shown(argv: list[str]) -> str:
    """argv without the secret."""
    return " ".join("--password=***" if a.startswith("--password=") else a for a in argv)


def seed_config_dir(path: Path, az_python: str) -> str:
    """A fresh config dir whose versionCheck.json says az is current (no version lookup online)."""
    path.mkdir(parents=True)
    probe = subprocess.run(
        [
            az_python,
            "-c",
            "import azure.cli.core as c, azure.cli.telemetry as t; print(c.__version__, t.__version__)",
        ],
        capture_output=True,
        text=True,
        timeout=AZ_TIMEOUT,
        check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
    )
    core, telemetry = probe.stdout.split()
    check = {
        "versions": {
            "azure-cli": {"local": core},
            "core": {"local": core},
            "telemetry": {"local": telemetry},
        },
        "update_time": str(datetime.datetime.now()),
    }
    (path / "versionCheck.json").write_text(json.dumps(check))
    return core


def az_python(az: str) -> str:
    """The interpreter of az's venv (its script's shebang)."""
    first = Path(az).read_text().split("\n", 1)[0]
    return (
        first[2:].strip() if first.startswith("#!") and "python" in first else str(Path(az).parent / "python")
    )


def ca_bundle(emulator: Emulator, directory: Path) -> str:
    import certifi

    path = directory / "ca-bundle.pem"
    path.write_text(Path(certifi.where()).read_text() + "\n" + Path(emulator.ca_bundle_path).read_text())
    return str(path)


def register_cloud(real: RealAz, config_dir: Path) -> None:
    real.run(
        [
            "cloud", "register", "-n", CLOUD, "--skip-endpoint-discovery",
            "--endpoint-active-directory", real.emulator.authority,
            "--endpoint-resource-manager", real.arm.url,
            "--endpoint-management", "https://management.core.windows.net/",
            "--endpoint-active-directory-resource-id", "https://management.core.windows.net/",
            "--endpoint-active-directory-graph-resource-id", "https://graph.windows.net/",
            "--endpoint-microsoft-graph-resource-id", "https://graph.microsoft.com/",
        ],
        config_dir=config_dir,
    )  # fmt: skip
    real.run(["cloud", "set", "-n", CLOUD], config_dir=config_dir)


def copy_config(real: RealAz, source: Path, name: str) -> Path:
    target = real.root / name
    shutil.copytree(source, target)
    real.config_dirs[name] = target
    return target


class DeviceCodeLogin:
    """``az login --use-device-code`` running in the background; its stderr is read as it comes."""

    def __init__(self, real: RealAz, config_dir: Path, tenant: str) -> None:
        self.argv = ["login", "--use-device-code", "--tenant", tenant, "--output", "json"]
        self.started = time.monotonic()
        self.process = real.start(self.argv, config_dir=config_dir)
        self._real = real
        self._stderr: list[str] = []
        self._stdout = ""
        self._code = threading.Event()
        self._threads = [
            threading.Thread(target=self._read_stderr, daemon=True),
            threading.Thread(target=self._read_stdout, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr.append(line)
            if "enter the code" in line:
                self._code.set()
        self._code.set()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        self._stdout = self.process.stdout.read()

    def user_code(self) -> str:
        if not self._code.wait(AZ_TIMEOUT):
            self.process.kill()
        text = "".join(self._stderr)
        if "enter the code" not in text:
            raise AssertionError(f"az login --use-device-code printed no code: {text}")
        return text.split("enter the code", 1)[1].split()[0]

    def finish(self) -> Run:
        try:
            self.process.wait(AZ_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for thread in self._threads:
            thread.join(5.0)
        for pipe in (self.process.stdout, self.process.stderr):  # read to the end by the threads
            if pipe is not None:
                pipe.close()
        run = Run(
            self.argv,
            self.process.returncode,
            self._stdout,
            "".join(self._stderr),
            time.monotonic() - self.started,
        )
        self._real.runs.append(run)
        if run.returncode != 0:
            raise AssertionError(f"az login --use-device-code failed ({run.returncode}):\n{run.stderr}")
        return run


@contextmanager
def signed_in(az: str, root: Path) -> Iterator[RealAz]:
    """The emulator, the proxy and the fake ARM running, and az signed in once per identity:

    ``sp``: the multi-tenant app by secret, home tenant, with its subscription (from the fake ARM);
    ``single``: the single-tenant app, a tenant-level account (no ARM);
    ``user``: alice, by device code approved in the emulator, with her subscription;
    ``wrong-secret``: ``sp`` whose stored secret no longer matches, and no cached token;
    ``logged-out``: the cloud registered, nobody signed in.
    """
    emulator = Emulator().start()
    assert emulator.runtime.app_by_client_id(AZ_CLIENT_ID) is not None, "the emulator lacks az's client"
    proxy = RefusingProxy()
    subscriptions = [
        Subscription(str(uuid.uuid4()), "Emulator Subscription", emulator.tenant_id),
        Subscription(str(uuid.uuid4()), "Other Tenant Subscription", emulator.other_tenant_id),
    ]
    arm = FakeArm(emulator, subscriptions)
    try:
        assert emulator.user_flows is not None
        # MSAL polls once at once, then every `interval` seconds (5 more after a slow_down, which the
        # emulator answers to a poll within `interval` of the code's creation): with 0 the sign-in ends
        # at the first poll after the approval below, a few milliseconds after az shows the code.
        emulator.user_flows.device_code_interval = 0
        base = root / "base"
        version = seed_config_dir(base, az_python(az))
        real = RealAz(az, emulator, root, proxy, arm, subscriptions, ca_bundle(emulator, root), version)
        register_cloud(real, base)
        for name in ("logged-out", "sp", "single", "user"):
            copy_config(real, base, name)
        secret, single = emulator.apps["secret"], emulator.apps["single"]
        home = emulator.tenant_id
        # The three sign-ins run at once: each takes a second or two of az start-up.
        pending = []
        for name, app, extra in (
            ("sp", secret, []),
            ("single", single, ["--skip-subscription-discovery"]),
        ):
            # --password=: a generated secret may start with "-", which az would read as an option.
            argv = [
                "login",
                "--service-principal",
                "-u",
                app.client_id,
                f"--password={app.secret}",
                "--tenant",
                home,
            ]
            argv += [*extra, "--output", "json"]
            pending.append((argv, time.monotonic(), real.start(argv, config_dir=real.config_dirs[name])))
        user = DeviceCodeLogin(real, real.config_dirs["user"], home)
        emulator.approve_device_code(user.user_code(), "alice")
        for argv, started, process in pending:
            run = real.finish(process, argv, started)
            if run.returncode != 0:
                raise AssertionError(f"az {_shown(argv)} failed ({run.returncode}):\n{run.stderr}")
        user.finish()
        break_stored_secret(copy_config(real, real.config_dirs["sp"], "wrong-secret"))
        yield real
        real.check_nothing_left()
    finally:
        arm.close()
        proxy.close()
        emulator.stop()


def break_stored_secret(config_dir: Path) -> None:
    """Replace the service principal's stored secret and forget cached tokens (az would serve them)."""
    entries_path = config_dir / "service_principal_entries.json"
    entries = json.loads(entries_path.read_text())
    for entry in entries:
        entry["client_secret"] = "not-the-secret-" + entry["client_id"][:8]
    entries_path.write_text(json.dumps(entries))
    for cache in config_dir.glob("msal_token_cache.*"):
        cache.unlink()
