"""Helpers for the persistent cache tests: a private Secret Service, and a worker run as another process.

As a module: :func:`start_secret_service` starts a private D-Bus session bus and an unlocked
GNOME Keyring on it (its files in a temporary directory), for the tests and their subprocesses.

As a script (``python persistence_worker.py COMMAND``, arguments as JSON in the environment
variable ``PERSISTENCE_WORKER_ARGS``, ``XDG_CACHE_HOME`` and ``DBUS_SESSION_BUS_ADDRESS`` inherited):

- ``token``: get a token with a ClientSecretCredential (sync, then async) using the persistent
  cache; print the tokens' SHA-256 (never the tokens).
- ``put``: open a store, print ``ready``, wait for a line on stdin, then ``put`` ``count`` entries.
- ``open``: try to open the store strictly, build a credential strictly, then allow unencrypted
  storage; print what happened (errors' texts and attributes, WARNING log lines).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

WORKER = Path(__file__)


class SecretService:
    """A private D-Bus session bus with an unlocked GNOME Keyring; stop() ends both."""

    def __init__(self, home: Path) -> None:
        dbus_daemon = shutil.which("dbus-daemon")
        keyring_daemon = shutil.which("gnome-keyring-daemon")
        assert dbus_daemon and keyring_daemon
        run = home / "run"
        run.mkdir(mode=0o700)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_RUNTIME_DIR": str(run),
        }
        self._bus = subprocess.Popen(
            [dbus_daemon, "--session", "--nofork", "--nopidfile", "--print-address=1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            env=self.env,
            text=True,
        )
        self._keyring: subprocess.Popen[bytes] | None = None
        try:
            assert self._bus.stdout is not None
            self.address = self._bus.stdout.readline().strip()
            if not self.address:
                raise RuntimeError("dbus-daemon printed no address")
            self.env["DBUS_SESSION_BUS_ADDRESS"] = self.address
            # The login keyring exists before the daemon starts (an empty-password keyring is a plain
            # file), so it is loaded at start-up. Left to --unlock to create, it sometimes never was
            # (about 1 start in 20 on a loaded machine): every key then failed with "Failed to create
            # the collection: Prompt dismissed" for the rest of the session.
            keyrings = home / "data" / "keyrings"
            keyrings.mkdir(parents=True, mode=0o700)
            (keyrings / "login.keyring").write_text(
                "[keyring]\ndisplay-name=login\nctime=0\nmtime=0\nlock-on-idle=false\nlock-after=false\n"
            )
            (keyrings / "default").write_text("login")
            # --unlock reads the login keyring's password from stdin and unlocks it.
            self._keyring = subprocess.Popen(
                [keyring_daemon, "--foreground", "--unlock", "--components=secrets"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=self.env,
            )
            assert self._keyring.stdin is not None
            self._keyring.stdin.write(b"azidentity-tests")
            self._keyring.stdin.close()
            self._wait_until_registered()
        except BaseException:
            self.stop()
            raise

    def _wait_until_registered(self) -> None:
        """Until org.freedesktop.secrets has an owner on the bus and its default collection (the login
        keyring) is there, unlocked: a readiness check, bounded."""
        import secretstorage
        from jeepney.io.blocking import open_dbus_connection
        from secretstorage.collection import get_collection_by_alias
        from secretstorage.exceptions import ItemNotFoundException

        def ready() -> bool:
            if not secretstorage.check_service_availability(connection):
                return False
            try:
                return not get_collection_by_alias(connection, "default").is_locked()
            except ItemNotFoundException:
                return False

        connection = open_dbus_connection(bus=self.address)
        try:
            deadline = time.monotonic() + 15
            while not ready():
                if self._keyring is not None and self._keyring.poll() is not None:
                    raise RuntimeError(f"gnome-keyring-daemon exited with {self._keyring.returncode}")
                if time.monotonic() > deadline:
                    raise RuntimeError("gnome-keyring-daemon has no unlocked default collection")
                time.sleep(0.01)
        finally:
            connection.close()

    def stop(self) -> None:
        for process in (self._keyring, self._bus):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
        if self._bus.stdout is not None:
            self._bus.stdout.close()


def missing_binaries() -> list[str]:
    return [name for name in ("dbus-daemon", "gnome-keyring-daemon") if shutil.which(name) is None]


def run(command: str, args: dict[str, Any], env: dict[str, str], timeout: float = 60) -> dict[str, Any]:
    """Run the worker to completion; its last stdout line is JSON."""
    result = subprocess.run(
        [sys.executable, str(WORKER), command],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**env, "PERSISTENCE_WORKER_ARGS": json.dumps(args)},
    )
    if result.returncode != 0:
        raise AssertionError(
            f"worker {command} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    output: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    output["_stdout"], output["_stderr"] = result.stdout, result.stderr
    return output


def start(command: str, args: dict[str, Any], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "PERSISTENCE_WORKER_ARGS": json.dumps(args)},
    )


# -- the worker ----------------------------------------------------------------------------------------
def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _token(args: dict[str, Any]) -> dict[str, Any]:
    import asyncio

    import azidentity
    import azidentity.aio

    def make(module: Any) -> Any:
        return module.ClientSecretCredential(
            args["tenant_id"],
            args["client_id"],
            args["secret"],
            authority=args["authority"],
            connection_verify=args["ca"],
            cache_persistence_options=azidentity.TokenCachePersistenceOptions(name=args["name"]),
        )

    with make(azidentity) as credential:
        sync = credential.get_token(args["scope"], enable_cae=args.get("cae", False))

    async def get() -> Any:
        async with make(azidentity.aio) as credential:
            return await credential.get_token(args["scope"], enable_cae=args.get("cae", False))

    async_token = asyncio.run(get())
    return {"sync": _sha(sync.token), "async": _sha(async_token.token), "expires_on": sync.expires_on}


def _put(args: dict[str, Any]) -> dict[str, Any]:
    import azidentity
    from azidentity._cache.store import open_store

    store = open_store(azidentity.TokenCachePersistenceOptions(name=args["name"]), cae=False)
    print("ready", flush=True)
    sys.stdin.readline()  # the go signal: every worker writes at once
    for i in range(args["count"]):
        store.put(
            args["section"], f"w{args['worker']}-{i}", {"worker": args["worker"], "i": i, "pad": "x" * 64}
        )
    return {"done": args["count"], "encrypted": store.encrypted}


def _describe(error: BaseException) -> dict[str, Any]:
    return {
        "type": type(error).__name__,
        "text": str(error),
        "mitigation": getattr(error, "mitigation", None),
        "anchor": getattr(error, "troubleshooting_anchor", None),
    }


def _open(args: dict[str, Any]) -> dict[str, Any]:
    import azidentity
    from azidentity._cache.store import open_store

    warnings: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                warnings.append(record.getMessage())

    logging.getLogger("azidentity").addHandler(Collect())
    logging.getLogger("azidentity").setLevel(logging.DEBUG)
    out: dict[str, Any] = {"warnings": warnings}
    strict = azidentity.TokenCachePersistenceOptions(name=args["name"])
    try:
        open_store(strict, cae=False)
        out["strict"] = {"type": None}
    except Exception as error:
        out["strict"] = _describe(error)
    try:
        azidentity.ClientSecretCredential(
            args["tenant_id"], args["client_id"], "not-a-real-secret-value", cache_persistence_options=strict
        )
        out["credential"] = {"type": None}
    except Exception as error:
        out["credential"] = _describe(error)
    relaxed = azidentity.TokenCachePersistenceOptions(name=args["name"], allow_unencrypted_storage=True)
    store = open_store(relaxed, cae=False)
    store.put("probe", "k", {"v": 1})
    out["relaxed"] = {"path": store.path, "encrypted": store.encrypted, "value": store.get("probe", "k")}
    return out


def main() -> None:
    command = sys.argv[1]
    args = json.loads(os.environ["PERSISTENCE_WORKER_ARGS"])
    result = {"token": _token, "put": _put, "open": _open}[command](args)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
