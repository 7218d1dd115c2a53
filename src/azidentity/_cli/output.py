"""Terminal output: aligned key/value lines, colour only on a TTY (and never with NO_COLOR)."""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from typing import IO, Any

_CODES = {"green": "32", "yellow": "33", "red": "31", "dim": "2", "bold": "1", "cyan": "36"}


class Printer:
    def __init__(self, stream: IO[str] | None = None, *, color: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        if color is None:
            color = (
                bool(getattr(self.stream, "isatty", lambda: False)())
                and "NO_COLOR" not in os.environ
                and os.environ.get("TERM") != "dumb"
            )
        self.color = color
        self.width = shutil.get_terminal_size((100, 24)).columns if self.color else 0

    def paint(self, text: str, style: str) -> str:
        if not self.color or style not in _CODES:
            return text
        return f"\x1b[{_CODES[style]}m{text}\x1b[0m"

    def line(self, text: str = "") -> None:
        self.stream.write(text + "\n")

    def fields(self, rows: list[tuple[str, Any]], indent: int = 2, key_width: int = 18) -> None:
        """``key  value`` lines with the values aligned; long values wrap on a terminal only."""
        pad = " " * indent
        for key, value in rows:
            if value is None or value == "" or value == []:
                continue
            text = ", ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
            head = f"{pad}{key:<{key_width}}  "
            lines = text.split("\n")
            if self.width and self.width > len(head) + 30:
                wrapped: list[str] = []
                for part in lines:
                    wrapped.extend(textwrap.wrap(part, self.width - len(head)) or [""])
                lines = wrapped
            self.line(head + lines[0])
            for rest in lines[1:]:
                self.line(" " * len(head) + rest)
