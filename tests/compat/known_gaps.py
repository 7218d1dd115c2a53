"""Where azidentity still differs from azure-identity in this suite: one table, strict xfails.

Each rule names who fixes the gap and which tests show it (azidentity's side only: azure-identity's
side of the same tests passes). The marks are strict: once a fix lands, its tests pass, XPASS fails
the run, and the rule must be removed here. ``conftest.py`` applies the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

CORE_A = (
    "core: a (responses must be read only through azure-core's documented surface - a Mock response "
    "fails with \"'Mock' object is not iterable\" - and an async transport whose send returns an awaitable "
    "must work)"
)
CORE_B = (
    "core: b (close() and `with` must reach the user's transport: __enter__/__exit__ once, async "
    "__aenter__/__aexit__ only; chains close their members with __exit__)"
)
CORE_C = "core: c (a chain's error names every member class with its message)"
CORE_CHAIN_SCOPES = (
    "core: a chain asked for no scope raises ValueError where azure-identity's chain raises "
    "ClientAuthenticationError (it reports every member's error, ValueError included, that way)"
)
CORE_TRANSPORT_EXCEPTION = (
    "core: a (a transport double raising an exception that is not azure-core's AzureError: azure-identity "
    "treats it as no response, so managed identity in a chain is unavailable; azidentity reports an "
    "unexpected error and the chain stops)"
)
OWNER_MI = (
    "owner: mi (Service Fabric refuses a transport double; azure-identity's async credential sends "
    "through it)"
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


_READS_A_RESPONSE = (
    _in(
        "test_compat_service_principals",
        "test_token_request_and_cache",
        "test_another_scope_is_another_token",
        "test_claims_are_sent_and_bypass_the_cache",
        "test_enable_cae_asks_for_the_cp1_capability",
        "test_tenant_id_of_the_request",
        "test_error_response",
    ),
    _in(
        "test_compat_managed_identity",
        "test_system_assigned_token_and_cache",
        "test_tenant_id_is_ignored",
        "test_identity_config_on_app_service",
    ),
    lambda t: (
        _in("test_compat_managed_identity", "test_user_assigned_client_id")(t)
        and t.param("host") not in ("Cloud Shell", "Service Fabric")
    ),  # these refuse a client_id: no request
    lambda t: (
        _in("test_compat_managed_identity", "test_error_response")(t) and t.param("host") != "Service Fabric"
    ),
    _in("test_compat_chains", "test_managed_identity_in_a_chain"),
    _in(
        "test_compat_surface",
        "test_any_tenant_id_that_keeps_the_path",
        "test_request_tenant_is_taken_as_given",
        "test_error_has_message_and_response",
        "test_bearer_token_provider_with_a_real_credential",
    ),
    _in(
        "test_compat_users",
        "test_device_code_sign_in",
        "test_device_code_polls_at_the_server_interval",
        "test_device_code_authenticate_then_refresh_silently",
        "test_authenticate_without_scopes_uses_the_management_scope",
        "test_browser_sign_in",
        "test_browser_authenticate",
        "test_username_password_authenticate",
    ),
)

# (reason, applies) in order: the first rule that applies marks the test.
RULES: list[tuple[str, Callable[[Test], bool]]] = [
    (
        OWNER_MI,
        lambda t: (
            _in("test_compat_managed_identity", "test_system_assigned_token_and_cache")(t)
            and t.param("host") == "Service Fabric"
        ),
    ),
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
    (CORE_A, lambda t: any(rule(t) for rule in _READS_A_RESPONSE)),
    (
        CORE_B,
        _in(
            "test_compat_close",
            "test_close_exits_the_transport",
            "test_context_manager_enters_and_exits_the_transport",
            "test_closing_twice_is_harmless",
            "test_exit_passes_the_exception_on",
            "test_chain_close_exits_its_members",
            "test_chain_context_manager_enters_and_exits_its_members",
            "test_chain_of_real_credentials_closes_their_transports",
            "test_async_chain_of_real_credentials_closes_their_transports",
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
