"""VisualStudioCodeCredential: the user signed in to VS Code's Azure Resources extension.

The extension writes its sign-in record to
``~/.azure/ms-azuretools.vscode-azureresourcegroups/authRecord.json`` (also found under ``~/.Azure``):
at most 10 KB of JSON with ``authority``, ``clientId`` (the extension's client id,
``aebc6443-996d-45c2-90f0-388ff96faa56``), ``homeAccountId``, ``tenantId`` and ``username``, each
validated with a message naming the bad field. VS Code keeps the tokens themselves to itself;
azure-identity gets a token for the record's account from the Windows sign-in broker (WAM), which
exists only on Windows and WSL, and azidentity has no broker. What azidentity does instead: if
MSAL's shared token cache (``msal.cache``, read as SharedTokenCacheCredential reads it) holds a
refresh token for the record's account that VS Code's client may redeem (its own, or of its FOCI
family, e.g. the Azure CLI's), it is redeemed as VS Code's client at the record's authority.
Otherwise the credential is unavailable, saying so and what to use instead.

The record is read when a token is requested (never at construction), so DefaultAzureCredential
pays nothing for it on machines without VS Code.
"""

from __future__ import annotations

import os

from .._credential import AsyncCredential, SyncCredential, TokenRequest
from .._lazy import TYPE_CHECKING
from .._protocol import msal_cache as mc
from .._protocol.effects import Flow
from .shared_token_cache import MsalCacheCredential

if TYPE_CHECKING:
    from typing import Any, ClassVar

    from .._cache.auth_record import AuthenticationRecord
    from .._token import Token

VSCODE_CLIENT_ID = mc.VSCODE_CLIENT_ID
MAX_AUTH_RECORD_SIZE = 10 * 1024
AUTH_RECORD_PATHS = (
    os.path.join("~", ".azure", "ms-azuretools.vscode-azureresourcegroups", "authRecord.json"),
    os.path.join("~", ".Azure", "ms-azuretools.vscode-azureresourcegroups", "authRecord.json"),
)
_NOT_SIGNED_IN = (
    "requires the user to be signed in to Azure via Visual Studio Code (no authRecord.json in "
    "~/.azure/ms-azuretools.vscode-azureresourcegroups or "
    "~/.Azure/ms-azuretools.vscode-azureresourcegroups). "
    "Please ensure you have the Azure Resources extension installed and have signed in."
)


class RecordProblem(Exception):
    """authRecord.json exists but can't be used; the message names the file and the bad field."""


def validate_record(data: Any) -> list[str]:
    """What is wrong with the record's fields (azure-identity's checks and words); empty when it is fine."""
    from .._authority import validate_tenant_id

    if not isinstance(data, dict):
        return [f"the record must be a JSON object, not {type(data).__name__}"]
    errors = []
    for field in ("tenantId", "clientId", "username", "homeAccountId", "authority"):
        if field not in data:
            errors.append(f"{field} field is missing")
            continue
        value = data[field]
        if not value or not isinstance(value, str):
            errors.append(f"{field} must be a non-empty string")
        elif field == "tenantId":
            try:
                validate_tenant_id(value)
            except ValueError as error:
                errors.append(f"tenantId validation failed: {error}")
        elif field == "clientId" and value != VSCODE_CLIENT_ID:
            errors.append(
                "clientId must match expected VS Code Azure Resources extension client ID: "
                f"{VSCODE_CLIENT_ID}"
            )
        elif field == "authority":
            try:
                from .._authority import normalize_authority

                normalize_authority(value)
            except (TypeError, ValueError) as error:
                errors.append(f"authority is not a usable authority: {error}")
    return errors


def load_record() -> tuple[str, AuthenticationRecord] | None:
    """``(path, record)`` from the first authRecord.json found; None when there is none.

    Raises :class:`RecordProblem` for a file that is too large, unreadable, not JSON or has a bad field.
    """
    from .._cache.msal import FileProblem, read_regular_file
    from .._protocol.effects import parse_json

    for pattern in AUTH_RECORD_PATHS:
        path = os.path.expanduser(pattern)
        try:
            data = read_regular_file(path, MAX_AUTH_RECORD_SIZE)
        except FileProblem as problem:
            if "larger than" in str(problem):
                raise RecordProblem(
                    f"VS Code auth record file {path} is unexpectedly large ({problem}). "
                    "Please check the file for corruption or unexpected content."
                ) from None
            raise RecordProblem(f"can't read {path}: {problem}") from None
        if data is None:
            continue
        try:
            document = parse_json(data)
        except ValueError as error:
            raise RecordProblem(f"{path} isn't JSON: {error}") from None
        errors = validate_record(document)
        if errors:
            raise RecordProblem(f"{path}: Authentication record validation failed: {'; '.join(errors)}")
        from .._cache.auth_record import AuthenticationRecord

        record = AuthenticationRecord(
            document["tenantId"],
            document["clientId"],
            document["authority"],
            document["homeAccountId"],
            document["username"],
        )
        return path, record
    return None


class _VisualStudioCode(MsalCacheCredential):
    _repr_fields: ClassVar[tuple[str, ...]] = ("tenant_id",)

    def __init__(self, **kwargs: Any) -> None:
        tenant_id = kwargs.pop("tenant_id", None) or None
        # Its tokens come from MSAL's shared cache, never from (or into) a persistent cache of ours.
        kwargs.pop("cache_persistence_options", None)
        self._configured_tenant = tenant_id
        self._init_msal_cache(None, kwargs)
        # The tenant and authority come from the record when a token is requested; these are placeholders.
        self._init_entra(
            tenant_id or "organizations",
            VSCODE_CLIENT_ID,
            additionally_allowed_tenants=kwargs.pop("additionally_allowed_tenants", None),
            kwargs=kwargs,
        )

    def _unavailable_text(self, detail: str, key: str) -> Exception:
        from .._errors import CredentialUnavailableError

        return CredentialUnavailableError(detail, credential=self._name, mitigation_key=key)

    def _load(self) -> tuple[str, AuthenticationRecord]:
        try:
            found = load_record()
        except RecordProblem as problem:
            raise self._unavailable_text(
                f"Failed to load authentication record from Visual Studio Code: {problem}. Please ensure you "
                "have the Azure Resources extension installed and signed in.",
                "vscode-bad-record",
            ) from None
        if found is None:
            raise self._unavailable_text(_NOT_SIGNED_IN, "vscode-not-signed-in")
        return found

    def _flow(self, request: TokenRequest) -> Flow[Token]:
        from .._authority import authority_host, normalize_authority, resolve_tenant

        path, record = self._load()
        self._authority = normalize_authority(
            "https://" + authority_host(normalize_authority(record.authority))
        )
        configured = self._configured_tenant or record.tenant_id
        tenant = resolve_tenant(configured, request.tenant_id, self._additionally_allowed_tenants, self._name)
        outcome = yield from self._read(request)
        environments = mc.environments_for(self._authority)
        refresh_tokens = mc.refresh_tokens_for(
            outcome.document, record.home_account_id, environments, self._client_id
        )
        if not refresh_tokens and not self._rotated.get(record.home_account_id):
            where = "; ".join(outcome.where)
            problems = "".join(f" {p.message.rstrip('.')}." for p in outcome.problems)
            raise self._unavailable_text(
                "needs a sign-in broker to get tokens for the account Visual Studio Code signed in "
                f"({record.username}, per {path}), "
                "and this platform has none (the broker, WAM, exists on Windows and WSL). "
                "MSAL's shared token cache holds no refresh token for that account either "
                f"(looked at: {where}).{problems} Use AzureCliCredential after 'az login', or "
                "InteractiveBrowserCredential.",
                "vscode-no-broker",
            )
        return (
            yield from self._redeem(request, tenant, record.home_account_id, record.username, refresh_tokens)
        )

    def _doctor_facts(self) -> dict[str, str]:
        facts: dict[str, str] = {}
        try:
            found = load_record()
        except RecordProblem as problem:
            return {"auth record": f"unusable: {problem}"}
        if found is None:
            return {"auth record": "not found (" + " or ".join(AUTH_RECORD_PATHS) + ")"}
        path, record = found
        facts["auth record"] = f"{path}: {record.username}, tenant {record.tenant_id}"
        facts["broker"] = "none on this platform (WAM exists only on Windows and WSL)"
        from .shared_token_cache import describe_cache

        facts["MSAL cache"] = describe_cache(mc.DEFAULT_NAME, True, record.authority)["MSAL cache"]
        return facts


class VisualStudioCodeCredential(_VisualStudioCode, SyncCredential):
    """Authenticates as the Azure user signed in to Visual Studio Code via the 'Azure Resources' extension.

    azure-identity needs the Windows sign-in broker (WAM, package azure-identity-broker) for this;
    azidentity has no broker, and uses the account's refresh token from MSAL's shared token cache when
    one is there. Otherwise it is unavailable and says what to use instead.

    :keyword str tenant_id: a Microsoft Entra tenant ID. Defaults to the tenant in the authentication
        record file the Azure Resources extension writes.
    :keyword list[str] additionally_allowed_tenants: tenants besides ``tenant_id`` for which the
        credential may acquire tokens; "*" allows any tenant.
    """


class AsyncVisualStudioCodeCredential(_VisualStudioCode, AsyncCredential):
    __doc__ = VisualStudioCodeCredential.__doc__
