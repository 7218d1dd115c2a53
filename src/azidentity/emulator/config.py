"""Emulator configuration: tenants, app registrations, users and managed identities.

Every identifier and secret is generated at construction time (``EmulatorConfig()``), so nothing that
looks like a real credential is ever committed.  A JSON/TOML file can override any part of the
generated defaults (see :func:`load_config`).
"""

from __future__ import annotations

import json
import secrets
import sys
import uuid
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

# Placeholders resolved when the emulator knows its port: federated credentials in a config file
# cannot know the issuer URL of an emulator that has not started yet.
OIDC_ISSUER_PLACEHOLDER = "{oidc_issuer}"
PIPELINES_ISSUER_PLACEHOLDER = "{pipelines_issuer}"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"


def _uuid() -> str:
    return str(uuid.uuid4())


def _secret() -> str:
    # Entra client secrets are ~40 chars of URL-safe-ish text; the shape does not matter, only entropy.
    return secrets.token_urlsafe(30)


@dataclass
class FederatedCredential:
    """A federated identity credential (FIC) on an app registration."""

    issuer: str
    subject: str
    audiences: list[str] = field(default_factory=lambda: [TOKEN_EXCHANGE_AUDIENCE])
    name: str = "fic"


@dataclass
class AppConfig:
    """An app registration.  Fields after ``roles`` are filled in by the emulator at start."""

    client_id: str = field(default_factory=_uuid)
    tenant_ids: list[str] = field(default_factory=list)
    public: bool = False
    display_name: str = "app"
    secret: str | None = None
    secret_expires_at: float | None = None
    expired_secret: str | None = None
    # Well in the past: the secret exists (so the error is 7000222, not 7000215) but has expired.
    expired_secret_expires_at: float = 1_600_000_000.0
    certificate: bool = False
    federated_credentials: list[FederatedCredential] = field(default_factory=list)
    token_lifetime: int | None = None
    roles: list[str] = field(default_factory=list)
    # FOCI family ("1" for Microsoft's first-party developer tools): the token response says
    # "foci": family_id, and any member of the family can redeem the refresh token.
    family_id: str | None = None
    # Runtime-generated certificate material (only when ``certificate`` is true).
    cert_password: str | None = None
    cert_pem_path: str | None = None
    cert_pem_encrypted_path: str | None = None
    pfx_path: str | None = None
    pfx_password_path: str | None = None
    chain_pem_path: str | None = None
    unregistered_pem_path: str | None = None
    thumbprint_sha1: str | None = None
    thumbprint_sha256: str | None = None
    chain_thumbprint_sha1: str | None = None

    @property
    def tenant_id(self) -> str:
        """The app's home tenant (first registered tenant)."""
        return self.tenant_ids[0]


@dataclass
class UserConfig:
    username: str
    password: str = field(default_factory=_secret)
    object_id: str = field(default_factory=_uuid)
    tenant_id: str = ""
    display_name: str = "User"


@dataclass
class SystemAssignedIdentity:
    object_id: str = field(default_factory=_uuid)
    client_id: str = field(default_factory=_uuid)
    resource_id: str = (
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/emulator"
        "/providers/Microsoft.Compute/virtualMachines/emulator-vm"
    )
    assigned: bool = True


@dataclass
class UserAssignedIdentity:
    name: str = "uami"
    client_id: str = field(default_factory=_uuid)
    object_id: str = field(default_factory=_uuid)
    resource_id: str = ""
    assigned: bool = True

    def __post_init__(self) -> None:
        if not self.resource_id:
            self.resource_id = (
                "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/emulator"
                f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{self.name}"
            )


@dataclass
class ManagedIdentities:
    system: SystemAssignedIdentity = field(default_factory=SystemAssignedIdentity)
    user: list[UserAssignedIdentity] = field(
        default_factory=lambda: [UserAssignedIdentity(name="uami-1"), UserAssignedIdentity(name="uami-2")]
    )


# Well-known public client IDs of Microsoft developer tools, both in FOCI family "1": the Azure CLI
# (also the developer sign-on app of azure-identity's user credentials and shared token cache) and
# VS Code's Azure Resources extension.
AZURE_CLI_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
VSCODE_CLIENT_ID = "aebc6443-996d-45c2-90f0-388ff96faa56"


def _default_apps(tenant_id: str, other_tenant_id: str) -> dict[str, AppConfig]:
    both = [tenant_id, other_tenant_id]
    return {
        "azure_cli": AppConfig(
            client_id=AZURE_CLI_CLIENT_ID,
            tenant_ids=list(both),
            display_name="Microsoft Azure CLI",
            public=True,
            family_id="1",
        ),
        "vscode": AppConfig(
            client_id=VSCODE_CLIENT_ID,
            tenant_ids=list(both),
            display_name="Visual Studio Code",
            public=True,
            family_id="1",
        ),
        "secret": AppConfig(
            tenant_ids=list(both),
            display_name="emulator-secret-app",
            secret=_secret(),
            expired_secret=_secret(),
        ),
        "single": AppConfig(
            tenant_ids=[tenant_id], display_name="emulator-single-tenant-app", secret=_secret()
        ),
        "cert": AppConfig(tenant_ids=list(both), display_name="emulator-cert-app", certificate=True),
        "public": AppConfig(tenant_ids=list(both), display_name="emulator-public-client", public=True),
        "api": AppConfig(tenant_ids=list(both), display_name="emulator-middle-tier-api", secret=_secret()),
        "workload": AppConfig(
            tenant_ids=list(both),
            display_name="emulator-workload-app",
            federated_credentials=[
                FederatedCredential(
                    issuer=OIDC_ISSUER_PLACEHOLDER,
                    subject="system:serviceaccount:default:workload",
                    name="kubernetes",
                )
            ],
        ),
        "pipelines": AppConfig(tenant_ids=list(both), display_name="emulator-pipelines-app"),
    }


@dataclass
class EmulatorConfig:
    """Everything the emulator knows.  ``EmulatorConfig()`` is a complete, freshly generated default."""

    tenant_id: str = field(default_factory=_uuid)
    other_tenant_id: str = field(default_factory=_uuid)
    tenant_domain: str = "emulator.test"
    other_tenant_domain: str = "other.emulator.test"
    apps: dict[str, AppConfig] = field(default_factory=dict)
    users: dict[str, UserConfig] = field(default_factory=dict)
    managed_identities: ManagedIdentities = field(default_factory=ManagedIdentities)
    token_lifetime: int = 3600
    mi_token_lifetime: int = 86400
    refresh_token_lifetime: int = 90 * 86400
    identity_header: str = field(default_factory=_secret)
    service_fabric_secret: str = field(default_factory=_secret)
    azure_ml_secret: str = field(default_factory=_secret)
    # Real Arc echoes the requested user-assigned identity; turning this off lets tests exercise a
    # client's "the endpoint did not confirm which identity it used" check.
    arc_echo_identity: bool = True
    pipelines_org: str = "emulator-org"
    pipelines_project: str = "emulator-project"
    pipelines_connection_name: str = "emulator-connection"
    pipelines_service_connection_id: str = field(default_factory=_uuid)
    pipelines_system_access_token: str = field(default_factory=_secret)
    port: int = 0
    mi_port: int = 0
    service_fabric_port: int = 0

    def __post_init__(self) -> None:
        if not self.apps:
            self.apps = _default_apps(self.tenant_id, self.other_tenant_id)
            self.apps["pipelines"].federated_credentials.append(
                FederatedCredential(
                    issuer=PIPELINES_ISSUER_PLACEHOLDER, subject=self.pipelines_subject, name="pipelines"
                )
            )
        if not self.users:
            self.users = {
                "alice": UserConfig(
                    username=f"alice@{self.tenant_domain}",
                    tenant_id=self.tenant_id,
                    display_name="Alice Emulator",
                ),
                "bob": UserConfig(
                    username=f"bob@{self.other_tenant_domain}",
                    tenant_id=self.other_tenant_id,
                    display_name="Bob Emulator",
                ),
            }

    @property
    def pipelines_subject(self) -> str:
        return f"sc://{self.pipelines_org}/{self.pipelines_project}/{self.pipelines_connection_name}"

    @property
    def tenants(self) -> dict[str, str]:
        """tenant id -> verified domain."""
        return {self.tenant_id: self.tenant_domain, self.other_tenant_id: self.other_tenant_domain}

    @classmethod
    def default(cls) -> EmulatorConfig:
        return cls()


_SCALAR_FIELDS = {
    f.name for f in fields(EmulatorConfig) if f.name not in ("apps", "users", "managed_identities")
}


def _apply(obj: object, values: dict[str, Any], where: str) -> None:
    known = {f.name for f in fields(obj)}  # type: ignore[arg-type]
    for key, value in values.items():
        if key not in known:
            raise ValueError(f"unknown key {where}.{key}")
        if key == "federated_credentials":
            value = [FederatedCredential(**v) for v in value]
        setattr(obj, key, value)


def config_from_dict(data: dict[str, Any]) -> EmulatorConfig:
    """Build a config: generated defaults, overridden by ``data`` (same shape as the dataclasses).

    Tenant ids are applied first so that default apps and users land in the configured tenants.
    Apps/users named in ``data`` are merged into the defaults (new names create new entries);
    ``managed_identities.user`` replaces the default list.
    """
    unknown = set(data) - _SCALAR_FIELDS - {"apps", "users", "managed_identities"}
    if unknown:
        raise ValueError(f"unknown config keys: {sorted(unknown)}")
    identity_keys = ("tenant_id", "other_tenant_id", "tenant_domain", "other_tenant_domain")
    base = {k: v for k, v in data.items() if k in identity_keys}
    config = EmulatorConfig(**base)
    _apply(config, {k: v for k, v in data.items() if k in _SCALAR_FIELDS and k not in base}, "config")
    for name, values in dict(data.get("apps", {})).items():
        app = config.apps.get(name)
        if app is None:
            app = config.apps[name] = AppConfig(tenant_ids=[config.tenant_id], display_name=name)
        _apply(app, dict(values), f"apps.{name}")
    for name, values in dict(data.get("users", {})).items():
        user = config.users.get(name)
        if user is None:
            user = config.users[name] = UserConfig(
                username=f"{name}@{config.tenant_domain}", tenant_id=config.tenant_id
            )
        _apply(user, dict(values), f"users.{name}")
    mi = dict(data.get("managed_identities", {}))
    if "system" in mi:
        _apply(config.managed_identities.system, dict(mi.pop("system")), "managed_identities.system")
    if "user" in mi:
        config.managed_identities.user = [UserAssignedIdentity(**dict(v)) for v in mi.pop("user")]
    if mi:
        raise ValueError(f"unknown keys managed_identities.{sorted(mi)}")
    return config


def load_config(path: str | Path) -> EmulatorConfig:
    """Load a JSON (``.json``) or TOML (anything else) override file."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    data: dict[str, Any]
    if p.suffix.lower() == ".json":
        data = json.loads(text)
    else:
        if sys.version_info >= (3, 11):
            import tomllib

            data = tomllib.loads(text)
        else:  # pragma: no cover - tomllib is 3.11+, and we add no dependency for 3.10
            raise ValueError("TOML config files need Python 3.11+; use JSON")
    return config_from_dict(data)
