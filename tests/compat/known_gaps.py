"""Where azidentity still differs from azure-identity in this suite: one table, strict xfails.

Each rule names who fixes the gap and which tests show it (azidentity's side only: azure-identity's
side of the same tests passes). The marks are strict: once a fix lands, its tests pass, XPASS fails
the run, and the rule must be removed here. ``conftest.py`` applies the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Test:
    """What a rule sees of one collected test."""

    module: str
    name: str
    params: dict[str, Any]

    @property
    def ours(self) -> bool:
        return self.params.get("library") == "azidentity"

    def param(self, name: str) -> str:
        return str(self.params.get(name, ""))


def _in(module: str, *names: str) -> Callable[[Test], bool]:
    return lambda t: t.module == module and (not names or t.name in names)


# (reason, applies) in order: the first rule that applies marks the test. Empty: azidentity passes every
# test azure-identity passes (deliberate differences skip azure-identity's side, each naming its README row).
# A reason says who fixes the gap ("core: ...", "owner: <helper>: ...") and what differs, e.g.
#     ("core: b (a chain's close() calls member.__exit__)",
#      _in("test_compat_close", "test_chain_close_exits_its_members")),
RULES: list[tuple[str, Callable[[Test], bool]]] = []


def gap(test: Test) -> str | None:
    """The reason ``test`` is expected to fail on azidentity today, or None."""
    if not test.ours:
        return None
    for reason, applies in RULES:
        if applies(test):
            return reason
    return None
