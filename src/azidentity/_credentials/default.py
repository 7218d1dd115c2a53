"""DefaultAzureCredential: the chain that does the right thing on a laptop, in a pod, on a VM, in CI.

Members, in azure-identity 1.27's order: EnvironmentCredential, WorkloadIdentityCredential,
ManagedIdentityCredential, SharedTokenCacheCredential, VisualStudioCodeCredential,
AzureCliCredential, AzurePowerShellCredential, AzureDeveloperCliCredential, (off unless
``exclude_interactive_browser_credential=False``) InteractiveBrowserCredential, and the broker
(sync only; always unavailable here: azidentity has no WAM support). ``AZURE_TOKEN_CREDENTIALS``
narrows the chain to ``dev`` (the developer tools, the shared cache and the broker), ``prod``
(environment, workload identity, managed identity) or one credential (the shared cache and the
broker can't be named alone, as in azure-identity); explicit ``exclude_*`` arguments win over it
in both directions.

Construction never fails because of the environment (only because of bad arguments or a bad
``AZURE_TOKEN_CREDENTIALS``): a member whose constructor raises is replaced by a placeholder that
reports the constructor's message as that member's "unavailable" line. Inside the chain,
failures of the developer tools count as unavailable, so the chain moves on. Managed identity
gets one short probe (``managed_identity_probe_timeout``, 1 s) unless it is the only member.
After the first success the credential that succeeded is used directly.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from .. import log
from .._constants import EnvironmentVariables as Ev
from .._credential import CHAIN, AsyncCredential, ChainContext, CredentialBase, SyncCredential, TokenRequest
from .chained import AsyncChainedTokenCredential, ChainedTokenCredential, _Chained
from .environment import AZURE_ADDITIONALLY_ALLOWED_TENANTS, split_tenants

if TYPE_CHECKING:
    from .._errors import Facts
    from .._protocol.effects import Flow

# key, credential name, exclude keyword, AZURE_TOKEN_CREDENTIALS group, module
MEMBERS: tuple[tuple[str, str, str, str | None, str], ...] = (
    ("environment", "EnvironmentCredential", "exclude_environment_credential", "prod", "environment"),
    (
        "workload_identity",
        "WorkloadIdentityCredential",
        "exclude_workload_identity_credential",
        "prod",
        "workload_identity",
    ),
    (
        "managed_identity",
        "ManagedIdentityCredential",
        "exclude_managed_identity_credential",
        "prod",
        "managed_identity",
    ),
    (
        "shared_token_cache",
        "SharedTokenCacheCredential",
        "exclude_shared_token_cache_credential",
        "dev",
        "shared_token_cache",
    ),
    (
        "visual_studio_code",
        "VisualStudioCodeCredential",
        "exclude_visual_studio_code_credential",
        "dev",
        "visual_studio_code",
    ),
    ("cli", "AzureCliCredential", "exclude_cli_credential", "dev", "azure_cli"),
    ("powershell", "AzurePowerShellCredential", "exclude_powershell_credential", "dev", "azure_powershell"),
    (
        "developer_cli",
        "AzureDeveloperCliCredential",
        "exclude_developer_cli_credential",
        "dev",
        "azure_developer_cli",
    ),
    (
        "interactive_browser",
        "InteractiveBrowserCredential",
        "exclude_interactive_browser_credential",
        None,
        "interactive_browser",
    ),
    ("broker", "BrokerCredential", "exclude_broker_credential", "dev", "default"),
)
MEMBER_BY_KEY = {member[0]: member for member in MEMBERS}
OFF_BY_DEFAULT = frozenset({"interactive_browser"})
# Members AZURE_TOKEN_CREDENTIALS can't name alone (as in azure-identity): only "dev" selects them.
NOT_NAMEABLE = frozenset({"shared_token_cache", "broker"})
# azure-identity's async chain has no broker (nor a browser: ours has one, off by default).
SYNC_ONLY = frozenset({"broker"})
# Members whose failures inside DefaultAzureCredential count as unavailable (as in azure-identity).
SOFTENED = frozenset(
    {
        "AzureCliCredential",
        "AzurePowerShellCredential",
        "AzureDeveloperCliCredential",
        "SharedTokenCacheCredential",
        "VisualStudioCodeCredential",
    }
)
# The guide's row for a member whose constructor failed.
_CONSTRUCTION_ROWS = {"environment": "env-bad-value", "workload_identity": "workload-incomplete"}
_UNSET: Any = object()


def valid_token_credentials() -> list[str]:
    return ["dev", "prod", *sorted(name.lower() for key, name, _, _, _ in MEMBERS if key not in NOT_NAMEABLE)]


class PlanEntry:
    """One member of the chain as planned: included or not, why, and what was built."""

    __slots__ = ("key", "name", "included", "reason", "credential", "construction_error")

    def __init__(self, key: str, name: str, included: bool, reason: str) -> None:
        self.key = key
        self.name = name
        self.included = included
        self.reason = reason
        self.credential: Any = None
        self.construction_error: str | None = None

    def __repr__(self) -> str:
        return f"PlanEntry({self.name}, included={self.included}, reason={self.reason!r})"


def plan_members(
    token_credentials: str | None, excludes: Mapping[str, bool | None], is_async: bool = False
) -> list[PlanEntry]:
    """Which members the chain has, given AZURE_TOKEN_CREDENTIALS and the explicit ``exclude_*`` values.

    ``excludes`` maps a member key to the caller's explicit choice (None: not given). Raises
    ValueError for a value of AZURE_TOKEN_CREDENTIALS that names no group or credential.
    """
    value = (token_credentials or "").strip()
    selector = value.lower()
    if selector and selector not in valid_token_credentials():
        raise ValueError(
            f"Invalid value for {Ev.AZURE_TOKEN_CREDENTIALS}: {value}. Valid values are: "
            f"{', '.join(valid_token_credentials())}."
        )
    entries = []
    for key, name, keyword, group, _ in MEMBERS:
        if is_async and key in SYNC_ONLY:
            continue
        if selector in ("dev", "prod"):
            included = group == selector
            reason = f"{Ev.AZURE_TOKEN_CREDENTIALS}={value}"
        elif selector:
            included = name.lower() == selector
            reason = f"{Ev.AZURE_TOKEN_CREDENTIALS}={value}"
        else:
            included = key not in OFF_BY_DEFAULT
            reason = "default" if included else f"off by default ({keyword}=False enables it)"
        explicit = excludes.get(key)
        if explicit is not None:
            included = not explicit
            reason = f"{keyword}={bool(explicit)}"
        entries.append(PlanEntry(key, name, included, reason))
    return entries


class _Unavailable(CredentialBase):
    """Stands in for a member that could not be built here: every request reports why, as unavailable."""

    _stable_keys: ClassVar[bool] = False

    def __init__(self, name: str, facts: Facts) -> None:
        self._credential_name = name
        self._facts = facts
        self._init_base({})

    @property
    def _name(self) -> str:
        return self._credential_name

    def _flow(self, request: TokenRequest) -> Flow[Any]:
        from .._errors import CredentialUnavailableError

        raise CredentialUnavailableError(facts=self._facts)
        yield  # pragma: no cover - a flow is a generator

    def __repr__(self) -> str:
        return f"<unavailable {self._credential_name}: {self._facts.detail}>"


class _SyncUnavailable(_Unavailable, SyncCredential):
    pass


class _AsyncUnavailable(_Unavailable, AsyncCredential):
    pass


def _is_wsl() -> bool:
    release = os.uname().release.lower() if hasattr(os, "uname") else ""
    return "microsoft" in release


class BrokerCredential(_SyncUnavailable):
    """DefaultAzureCredential's broker member (sync chain, last): present, and unavailable with the reason.

    azure-identity signs in silently as the Windows sign-in broker's (WAM's) default account when the
    azure-identity-broker package is installed on Windows or WSL. azidentity has no broker.
    """

    def __init__(self, tenant_id: str | None = None, client_id: str | None = None) -> None:
        import sys

        from .._errors import Facts

        self._tenant_id = tenant_id
        self._client_id = client_id
        if sys.platform == "win32" or _is_wsl():  # pragma: no cover - the tests run on Linux
            detail = (
                "InteractiveBrowserBrokerCredential unavailable. azidentity has no brokered authentication "
                "(WAM); azure-identity provides it with the 'azure-identity-broker' package."
            )
        else:
            detail = (
                "InteractiveBrowserBrokerCredential unavailable. "
                "Brokered authentication is only supported on Windows and WSL platforms."
            )
        name = "BrokerCredential"
        super().__init__(
            name, Facts(name, detail, outcome="unavailable", mitigation_key="broker-unavailable")
        )

    def _doctor_facts(self) -> dict[str, str]:
        return {"broker": "none: WAM exists only on Windows and WSL, and azidentity has no broker support"}


def _construction_facts(name: str, key: str, error: BaseException) -> Facts:
    """What a member that could not be built reports: its constructor's facts (our errors carry them)."""
    from .._errors import Facts

    if isinstance(error, ImportError):
        return Facts(name, f"not available in this installation ({error})", outcome="unavailable")
    facts = getattr(error, "facts", None)
    if isinstance(facts, Facts):
        return facts
    detail = str(error) or type(error).__name__
    return Facts(name, detail, outcome="unavailable", mitigation_key=_CONSTRUCTION_ROWS.get(key))


class _Default(_Chained):
    """Construction of the chain; the sync and async classes differ only in the member classes."""

    _sticky: ClassVar[bool] = True
    _mitigation_key: ClassVar[str] = "dac-failed"
    _is_async: ClassVar[bool] = False
    _plan: list[PlanEntry]

    def _init_default(self, kwargs: dict[str, Any]) -> None:
        if "tenant_id" in kwargs:
            raise TypeError("'tenant_id' is not supported in DefaultAzureCredential.")
        env: Mapping[str, str] | None = kwargs.pop("_env", None)
        if env is None:
            env = os.environ
        authority = kwargs.pop("authority", None)
        process_timeout = kwargs.pop("process_timeout", 10)
        require_envvar = bool(kwargs.pop("require_envvar", False))
        probe_timeout = kwargs.pop("managed_identity_probe_timeout", 1.0)
        mi_client_id = kwargs.pop("managed_identity_client_id", _UNSET)
        if mi_client_id is _UNSET:
            mi_client_id = env.get(Ev.AZURE_CLIENT_ID) or None
        workload_client_id = kwargs.pop("workload_identity_client_id", None) or mi_client_id
        workload_tenant_id = (
            kwargs.pop("workload_identity_tenant_id", None) or env.get(Ev.AZURE_TENANT_ID) or None
        )
        browser_tenant_id = (
            kwargs.pop("interactive_browser_tenant_id", None) or env.get(Ev.AZURE_TENANT_ID) or None
        )
        browser_client_id = kwargs.pop("interactive_browser_client_id", None)
        shared_cache_username = (
            kwargs.pop("shared_cache_username", None) or env.get(Ev.AZURE_USERNAME) or None
        )
        shared_cache_tenant_id = (
            kwargs.pop("shared_cache_tenant_id", None) or env.get(Ev.AZURE_TENANT_ID) or None
        )
        vscode_tenant_id = kwargs.pop("visual_studio_code_tenant_id", None) or None
        broker_tenant_id = kwargs.pop("broker_tenant_id", None) or env.get(Ev.AZURE_TENANT_ID) or None
        broker_client_id = kwargs.pop("broker_client_id", None) or None
        allowed = kwargs.pop("additionally_allowed_tenants", None)
        explicit_allowed = allowed is not None
        if allowed is None:
            allowed = split_tenants(env.get(AZURE_ADDITIONALLY_ALLOWED_TENANTS))
        excludes = {key: kwargs.pop(keyword, None) for key, _, keyword, _, _ in MEMBERS}
        token_credentials = env.get(Ev.AZURE_TOKEN_CREDENTIALS, "")
        if require_envvar and not token_credentials.strip():
            raise ValueError(
                "AZURE_TOKEN_CREDENTIALS environment variable is required but is not set or is empty. "
                "Set it to 'dev', 'prod', or a specific credential name."
            )
        plan = plan_members(token_credentials, excludes, self._is_async)
        pipeline = kwargs  # what remains: azure-core pipeline keywords and test seams

        def arguments(key: str) -> dict[str, Any]:
            if key == "environment":
                args: dict[str, Any] = {"authority": authority, **pipeline}
                if explicit_allowed:
                    args["additionally_allowed_tenants"] = allowed
                return args
            if key == "workload_identity":
                args = {
                    "tenant_id": workload_tenant_id,
                    "client_id": workload_client_id,
                    "token_file_path": env.get(Ev.AZURE_FEDERATED_TOKEN_FILE) or None,
                    "additionally_allowed_tenants": allowed,
                    **pipeline,
                }
                if authority:
                    args["authority"] = authority
                return args
            if key == "managed_identity":
                return {"client_id": mi_client_id, "probe_timeout": probe_timeout, **pipeline}
            if key == "shared_token_cache":
                args = {
                    "username": shared_cache_username,
                    "tenant_id": shared_cache_tenant_id,
                    "additionally_allowed_tenants": allowed,
                    **pipeline,
                }
                if authority:
                    args["authority"] = authority
                return args
            if key == "visual_studio_code":
                # azure-identity passes only the tenant; the pipeline keywords reach our token requests.
                args = {"tenant_id": vscode_tenant_id, "additionally_allowed_tenants": allowed, **pipeline}
                args.pop("cache_persistence_options", None)
                return args
            if key == "broker":
                return {"tenant_id": broker_tenant_id, "client_id": broker_client_id}
            if key == "interactive_browser":
                args = {"tenant_id": browser_tenant_id, "additionally_allowed_tenants": allowed, **pipeline}
                if browser_client_id:
                    args["client_id"] = browser_client_id
                if authority:
                    args["authority"] = authority
                return args
            return {"process_timeout": process_timeout}

        # Members read this while they are built (DefaultAzureCredential's members behave as
        # azure-identity's), and while the chain calls them.
        context = ChainContext(
            self._name,
            tuple(entry.name for entry in plan if entry.included),
            default=True,
            env=None if env is os.environ else env,
        )
        members: list[Any] = []
        notes: list[str] = []
        building = CHAIN.set(context)
        try:
            for entry in plan:
                if not entry.included:
                    continue
                key, name, _, _, module = MEMBER_BY_KEY[entry.key]
                try:
                    member = self._construct(module, name, arguments(key))
                except ImportError as error:
                    if key in OFF_BY_DEFAULT:  # optional member not built into this installation
                        entry.included, entry.reason = False, f"not available in this installation ({error})"
                        continue
                    member = self._placeholder(entry, key, error)
                    notes.append(f"{name}: {entry.construction_error}")
                except Exception as error:
                    from azure.core.exceptions import ClientAuthenticationError

                    if not isinstance(error, (ValueError, OSError, ClientAuthenticationError)):
                        raise
                    member = self._placeholder(entry, key, error)
                    notes.append(f"{name}: {entry.construction_error}")
                entry.credential = member
                members.append(member)
        finally:
            CHAIN.reset(building)
        if notes:
            level = (
                logging.WARNING
                if any(n.startswith("EnvironmentCredential:") for n in notes)
                else logging.DEBUG
            )
            log.emit(
                log.EVENT_AUTHENTICATION,
                level,
                "DefaultAzureCredential could not create some credentials; "
                "they will report unavailable:\n\t%s",
                "\n\t".join(notes),
            )
        if not members:
            raise ValueError(
                "DefaultAzureCredential has no credential to try: every credential is excluded "
                f"(check the exclude_* arguments and {Ev.AZURE_TOKEN_CREDENTIALS})."
            )
        self._plan = plan
        context.members = tuple(entry.name for entry in plan if entry.included)
        self._init_chain(tuple(members), context)

    def _construct(self, module: str, name: str, arguments: dict[str, Any]) -> Any:
        import importlib

        if name == "BrokerCredential":
            return BrokerCredential(**arguments)

        mod = importlib.import_module(f"azidentity._credentials.{module}")
        cls = getattr(mod, ("Async" if self._is_async else "") + name)
        return cls(**arguments)

    def _placeholder(self, entry: PlanEntry, key: str, error: BaseException) -> Any:
        facts = _construction_facts(entry.name, key, error)
        entry.construction_error = facts.detail
        return (_AsyncUnavailable if self._is_async else _SyncUnavailable)(entry.name, facts)

    def _soften(self, credential: Any, name: str, error: Exception) -> Exception:
        """A developer tool that failed is unavailable inside DefaultAzureCredential (as in azure-identity):
        the same facts, as the error that lets the chain move on."""
        from azure.core.exceptions import ClientAuthenticationError

        from .._errors import CredentialUnavailableError

        if name not in SOFTENED or isinstance(error, CredentialUnavailableError):
            return error
        facts = getattr(error, "facts", None)
        if facts is not None:
            softened = CredentialUnavailableError(facts=facts)
        elif isinstance(error, ClientAuthenticationError):
            softened = CredentialUnavailableError(str(error))
        else:
            return error
        softened.__cause__ = error
        return softened

    @property
    def plan(self) -> list[PlanEntry]:
        """The chain as planned (for ``azidentity doctor``): every member, included or not, and why."""
        return list(self._plan)


_DOC = """The default credential for applications that run in Azure or on a developer's machine.

    It tries, in order: EnvironmentCredential, WorkloadIdentityCredential, ManagedIdentityCredential,
    SharedTokenCacheCredential, VisualStudioCodeCredential, AzureCliCredential,
    AzurePowerShellCredential, AzureDeveloperCliCredential, InteractiveBrowserCredential (when
    enabled) and the broker (sync only, unavailable: azidentity has no WAM support); the first that
    returns a token is used from then on.

    :keyword str authority: Entra ID authority (EnvironmentCredential, WorkloadIdentityCredential,
        SharedTokenCacheCredential and InteractiveBrowserCredential; managed identity and the
        developer tools ignore it).
    :keyword bool exclude_environment_credential: and ``exclude_workload_identity_credential``,
        ``exclude_managed_identity_credential``, ``exclude_shared_token_cache_credential``,
        ``exclude_visual_studio_code_credential``, ``exclude_cli_credential``,
        ``exclude_powershell_credential``, ``exclude_developer_cli_credential``,
        ``exclude_broker_credential``: leave a member out (default False);
        ``exclude_interactive_browser_credential`` defaults to True.
    :keyword str shared_cache_username: the account SharedTokenCacheCredential chooses; defaults to
        AZURE_USERNAME.
    :keyword str shared_cache_tenant_id: the home tenant of that account; defaults to AZURE_TENANT_ID.
    :keyword str visual_studio_code_tenant_id: tenant for VisualStudioCodeCredential; defaults to the
        tenant of VS Code's sign-in record.
    :keyword str broker_tenant_id: accepted for azure-identity's broker member (defaults to
        AZURE_TENANT_ID); azidentity has no broker.
    :keyword str broker_client_id: accepted for azure-identity's broker member.
    :keyword str managed_identity_client_id: a user-assigned managed identity; defaults to AZURE_CLIENT_ID.
        ``None`` forces the system-assigned identity.
    :keyword str workload_identity_client_id: defaults to ``managed_identity_client_id``.
    :keyword str workload_identity_tenant_id: defaults to AZURE_TENANT_ID.
    :keyword str interactive_browser_tenant_id: defaults to AZURE_TENANT_ID.
    :keyword str interactive_browser_client_id: the application users sign in to.
    :keyword list[str] additionally_allowed_tenants: for the members that take it (default:
        AZURE_ADDITIONALLY_ALLOWED_TENANTS, ';'-separated).
    :keyword float process_timeout: seconds the developer tools may take (default 10).
    :keyword float managed_identity_probe_timeout: (azidentity addition) timeout of the one-shot managed
        identity probe (default 1 s).
    :keyword bool require_envvar: require AZURE_TOKEN_CREDENTIALS to be set.

    AZURE_TOKEN_CREDENTIALS: ``dev``, ``prod`` or one credential's name (case-insensitive).
    Other keyword arguments (azure-core pipeline options) go to the members that send HTTP requests.
    """


class DefaultAzureCredential(_Default, ChainedTokenCredential):
    __doc__ = _DOC

    def __init__(self, **kwargs: Any) -> None:
        self._init_default(kwargs)


class AsyncDefaultAzureCredential(_Default, AsyncChainedTokenCredential):
    __doc__ = _DOC
    _is_async: ClassVar[bool] = True

    def __init__(self, **kwargs: Any) -> None:
        self._init_default(kwargs)
