"""``python -m azidentity.emulator [--port N] [--json] [--host HOST] [--config FILE]``."""

from __future__ import annotations

import sys

from .cli import run_cli

if __name__ == "__main__":
    raise SystemExit(run_cli(sys.argv[1:]))
