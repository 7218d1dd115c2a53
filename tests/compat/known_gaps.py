"""Where azidentity still differs from azure-identity in this suite: one table, strict xfails.

Each rule names who fixes the gap and which tests show it (azidentity's side only: azure-identity's
side of the same tests passes). The marks are strict: once a fix lands, its tests pass, XPASS fails
the run, and the rule must be removed here. ``conftest.py`` applies the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

CORE_B = (
    "core: b (close() and `with` as azure-identity: a chain's close() and __exit__ call each member's "
    "__exit__ - azidentity calls close(), which a MagicMock member doesn't count as __exit__ - and "
    "credential.__exit__(*exc_info) hands the exception details on to the transport's __exit__ - azidentity "
    "hands on none)"
)
CORE_C = (
    "core: c (a chain's error names every member class with its message: azure-identity takes the name from "
    "member.__class__, so a Mock(spec=ClientSecretCredential) member is 'ClientSecretCredential'; azidentity "
    "uses type(member) and prints 'Mock')"
)
CORE_CHAIN_SCOPES = (
    "core: a chain asked for no scope raises ValueError where azure-identity's chain raises "
    "ClientAuthenticationError (it reports every member's error, ValueError included, that way)"
)
CORE_TRANSPORT_EXCEPTION = (
    "core: a transport double raising an exception that is not azure-core's AzureError: azure-identity "
    "treats it as no response, so managed identity in a chain is unavailable and the chain moves on; "
    "azidentity reports an unexpected error and the chain stops"
)


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


# (reason, applies) in order: the first rule that applies marks the test.
RULES: list[tuple[str, Callable[[Test], bool]]] = [
    (CORE_C, _in("test_compat_chains", "test_error_names_every_credential_and_its_message")),
    (
        CORE_TRANSPORT_EXCEPTION,
        _in("test_compat_chains", "test_managed_identity_with_a_failing_transport_lets_the_chain_move_on"),
    ),
    (
        CORE_CHAIN_SCOPES,
        lambda t: (
            _in("test_compat_service_principals", "test_no_scopes")(t)
            and t.param("case") == "DefaultAzureCredential"
        ),
    ),
    (
        CORE_B,
        _in(
            "test_compat_close",
            "test_exit_passes_the_exception_on",
            "test_chain_close_exits_its_members",
            "test_chain_context_manager_enters_and_exits_its_members",
        ),
    ),
]


def gap(test: Test) -> str | None:
    """The reason ``test`` is expected to fail on azidentity today, or None."""
    if not test.ours:
        return None
    for reason, applies in RULES:
        if applies(test):
            return reason
    return None
