"""``azidentity``: ``token`` (does my authentication work?), ``doctor`` (why not?), ``emulator``.

Exit status: 0 success, 1 authentication did not work, 2 usage error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys

DEFAULT_SCOPE = "https://management.azure.com/.default"


def _parser() -> argparse.ArgumentParser:
    from .._version import __version__

    parser = argparse.ArgumentParser(
        prog="azidentity",
        description="Microsoft Entra ID credentials: get a token, diagnose this machine, run the emulator.",
    )
    parser.add_argument("--version", action="version", version=f"azidentity {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    token = commands.add_parser(
        "token",
        help="acquire a token and show whose it is",
        description="Acquire a token with DefaultAzureCredential (or the named credential) "
        "and print the identity and expiry. The token itself is printed only with --show-token.",
    )
    token.add_argument("--scope", default=DEFAULT_SCOPE, help=f"scope to request (default: {DEFAULT_SCOPE})")
    token.add_argument(
        "--credential",
        metavar="NAME",
        default="DefaultAzureCredential",
        help="credential to use, e.g. AzureCliCredential, ManagedIdentityCredential, "
        "EnvironmentCredential (default: DefaultAzureCredential); short names like cli, mi, env work",
    )
    token.add_argument("--tenant", metavar="TENANT", default=None, help="tenant to request the token from")
    token.add_argument("--json", action="store_true", help="print JSON for programs")
    token.add_argument("--show-token", action="store_true", help="also print the access token (a secret!)")
    token.add_argument(
        "--trace", action="store_true", help="print the call's spans as a tree (azidentity[trace])"
    )
    token.add_argument("-v", "--verbose", action="store_true", help="log azidentity's activity to stderr")

    doctor = commands.add_parser(
        "doctor",
        help="diagnose every DefaultAzureCredential member on this machine",
        description="Try every DefaultAzureCredential member without stopping and report, for each, "
        "what happened, why, and what to do. "
        "Exit status 0 when DefaultAzureCredential gets a token, 1 when it does not.",
    )
    doctor.add_argument("--scope", default=DEFAULT_SCOPE, help=f"scope to request (default: {DEFAULT_SCOPE})")
    doctor.add_argument("--json", action="store_true", help="print JSON for programs")
    doctor.add_argument("-v", "--verbose", action="store_true", help="log azidentity's activity to stderr")

    commands.add_parser(
        "emulator",
        help="run the Entra ID + managed identity emulator (see: azidentity emulator -h)",
        add_help=False,
    )
    return parser


def _configure_logging(verbose: bool) -> None:
    if verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        for name in ("azidentity", "azure"):
            logger = logging.getLogger(name)
            logger.addHandler(handler)
            logger.setLevel(logging.DEBUG if name == "azidentity" else logging.WARNING)
        return
    # The commands report errors themselves; keep Python's last-resort handler from printing them twice.
    for name in ("azidentity", "azure"):
        logging.getLogger(name).addHandler(logging.NullHandler())


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "emulator":
        from ..emulator.cli import run_cli

        return run_cli(args[1:])
    parser = _parser()
    try:
        options = parser.parse_args(args)
    except SystemExit as exit_:  # --help, --version, usage errors
        return exit_.code if isinstance(exit_.code, int) else 2
    if options.command is None:
        parser.print_help(sys.stderr)
        return 2
    _configure_logging(options.verbose)
    try:
        if options.command == "token":
            from .token import run as run_token

            return run_token(options)
        from .doctor import run as run_doctor

        return run_doctor(options)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
