"""Helpers for the persistent cache tests: a private Secret Service, and a worker run as another process.

As a module: :class:`SecretService` starts a private D-Bus session bus and an unlocked
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


SECRETS = "org.freedesktop.secrets"

# The private session bus activates nothing: no <servicedir>, no <standard_session_servicedirs/>. The
# stock session.conf would find /usr/share/dbus-1/services/org.freedesktop.secrets.service, and any call
# to org.freedesktop.secrets made before our daemon owns the name would start a second, password-less
# gnome-keyring-daemon that races ours for the name (and outlives the bus). Without activation, a call to
# an absent name fails at once with ServiceUnknown.
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class SecretService:
    """A private D-Bus session bus with an unlocked GNOME Keyring; stop() ends both."""

    def __init__(self, home: Path, timeout: float = 15) -> None:
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
        bus_config = home / "session-bus.conf"
        bus_config.write_text(BUS_CONFIG)
        self._log = home / "gnome-keyring-daemon.log"
        self._bus = subprocess.Popen(
            [dbus_daemon, f"--config-file={bus_config}", "--nofork", "--nopidfile", "--print-address=1"],
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
                raise RuntimeError(f"dbus-daemon printed no address (exit status {self._bus.poll()})")
            self.env["DBUS_SESSION_BUS_ADDRESS"] = self.address
            # The login keyring is an empty-password keyring (a plain file: no key to derive, so start-up
            # is about 3 times faster than letting --unlock create an encrypted one) and the default alias
            # names it. It loads locked: --unlock is what unlocks it.
            keyrings = home / "data" / "keyrings"
            keyrings.mkdir(parents=True, mode=0o700)
            (keyrings / "login.keyring").write_text(
                "[keyring]\ndisplay-name=login\nctime=0\nmtime=0\nlock-on-idle=false\nlock-after=false\n"
            )
            (keyrings / "default").write_text("login")
            # --unlock reads the login password from stdin (to EOF) and unlocks the login keyring before
            # the daemon takes its bus name, so once it owns org.freedesktop.secrets it is ready.
            with self._log.open("wb") as log:
                self._keyring = subprocess.Popen(
                    [keyring_daemon, "--foreground", "--unlock", "--components=secrets"],
                    stdin=subprocess.PIPE,
                    stdout=log,
                    stderr=log,
                    env=self.env,
                )
            assert self._keyring.stdin is not None
            self._keyring.stdin.write(b"azidentity-tests")
            self._keyring.stdin.close()
            self._wait_until_ready(timeout)
        except BaseException:
            self.stop()
            raise

    @property
    def keyring_pid(self) -> int | None:
        return self._keyring.pid if self._keyring is not None else None

    def _wait_until_ready(self, timeout: float) -> None:
        """Wait (bounded) for our daemon to own org.freedesktop.secrets, then check once that it is ours
        and its default collection is unlocked; any other state is an error that says what it saw."""
        from jeepney import DBusAddress, MatchRule, Message, Properties, new_method_call
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import Proxy, open_dbus_connection
        from jeepney.wrappers import unwrap_msg

        def call(message: Message) -> Any:
            return unwrap_msg(connection.send_and_get_reply(message, timeout=timeout))

        assert self._keyring is not None
        connection = open_dbus_connection(bus=self.address, auth_timeout=timeout)
        try:
            bus = Proxy(message_bus, connection, timeout=timeout)
            owner_changed = MatchRule(
                type="signal",
                sender=message_bus.bus_name,
                interface=message_bus.interface,
                member="NameOwnerChanged",
                path=message_bus.object_path,
            )
            owner_changed.add_arg_condition(0, SECRETS)
            bus.AddMatch(owner_changed)
            deadline = time.monotonic() + timeout
            with connection.filter(owner_changed) as changes:
                # Subscribed before asking, so a change between the two is never missed.
                while not bus.NameHasOwner(SECRETS)[0]:
                    if self._keyring.poll() is not None:
                        raise RuntimeError(self._not_ready(f"exited with status {self._keyring.returncode}"))
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise RuntimeError(self._not_ready(f"did not take {SECRETS} within {timeout} s"))
                    try:  # woken by the owner change; a short slice keeps an eye on the daemon's exit
                        connection.recv_until_filtered(changes, timeout=min(left, 0.25))
                    except TimeoutError:
                        pass
            owner = bus.GetConnectionUnixProcessID(SECRETS)[0]
            if owner != self._keyring.pid:
                raise RuntimeError(self._not_ready(f"lost {SECRETS} to process {owner}"))
            service = DBusAddress("/org/freedesktop/secrets", SECRETS, "org.freedesktop.Secret.Service")
            path = call(new_method_call(service, "ReadAlias", "s", ("default",)))[0]
            if path == "/":
                raise RuntimeError(self._not_ready("has no default collection"))
            collection = DBusAddress(path, SECRETS, "org.freedesktop.Secret.Collection")
            locked = call(Properties(collection).get("Locked"))[0][1]
            if locked:
                raise RuntimeError(self._not_ready(f"has its default collection {path} locked"))
        finally:
            connection.close()

    def _not_ready(self, state: str) -> str:
        try:
            said = self._log.read_text(errors="replace").strip()[-2000:] or "nothing"
        except OSError as error:
            said = f"(its log is unreadable: {error})"
        return (
            f"gnome-keyring-daemon (pid {self.keyring_pid}, private bus {self.address}) {state}; "
            f"it said: {said}"
        )

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
