"""Command line: ``azidentity emulator`` / ``python -m azidentity.emulator``."""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import threading
from types import FrameType

from .config import EmulatorConfig, load_config
from .describe import HOSTS
from .emulator import Emulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="azidentity emulator",
        description="Run a local Entra ID + managed identity emulator on 127.0.0.1 until interrupted.",
    )
    parser.add_argument(
        "--port", type=int, default=None, help="HTTPS (authority) port; default: any free port"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one line of JSON (emulator info + env) as the first line of stdout",
    )
    parser.add_argument(
        "--host",
        choices=HOSTS,
        default=None,
        help="print the environment this Azure host would set (default: service principal)",
    )
    parser.add_argument("--config", metavar="FILE", default=None, help="JSON or TOML config overrides")
    return parser


def run_cli(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help / usage errors; report it as a return code
        return int(exc.code or 0)
    try:
        config = load_config(args.config) if args.config else EmulatorConfig()
    except (OSError, ValueError) as exc:
        print(f"azidentity emulator: cannot load config: {exc}", file=sys.stderr)
        return 2
    if args.port is not None:
        config.port = args.port

    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, _on_signal)
    try:
        with Emulator(config) as emu:
            env = emu.env(args.host)
            if args.json:
                # Exactly one line, flushed: wrappers read it from a pipe before the process exits.
                sys.stdout.write(json.dumps({**emu.info(), "env": env}) + "\n")
            else:
                sys.stdout.write(f"Entra ID emulator: {emu.base_url}\n")
                sys.stdout.write(f"Managed identity endpoints: {emu.mi_base_url}\n")
                sys.stdout.write(f"CA bundle: {emu.ca_bundle_path}\n\n")
                for name, value in env.items():
                    sys.stdout.write(f"export {name}={shlex.quote(value)}\n")
                sys.stdout.write("\nPress Ctrl+C to stop.\n")
            sys.stdout.flush()
            # Wait in short slices so signal handlers run promptly on every platform.
            while not stop.wait(0.2):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
