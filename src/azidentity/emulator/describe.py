"""What the emulator tells the outside world: ``info()`` (the ``--json`` document) and ``env(host)``."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .emulator import Emulator

HOSTS = (
    "imds",
    "app-service",
    "functions",
    "arc",
    "service-fabric",
    "cloud-shell",
    "azure-ml",
    "workload-identity",
    "pipelines",
)

_APP_FIELDS = (
    "client_id",
    "tenant_ids",
    "public",
    "display_name",
    "family_id",
    "secret",
    "expired_secret",
    "cert_password",
    "cert_pem_path",
    "cert_pem_encrypted_path",
    "pfx_path",
    "pfx_password_path",
    "chain_pem_path",
    "unregistered_pem_path",
    "thumbprint_sha1",
    "thumbprint_sha256",
    "chain_thumbprint_sha1",
)


def describe(emu: Emulator) -> dict[str, Any]:
    rt = emu.runtime
    apps: dict[str, Any] = {}
    for name, app in emu.apps.items():
        entry = {k: getattr(app, k) for k in _APP_FIELDS if getattr(app, k) not in (None, False)}
        entry["tenant_id"] = app.tenant_id
        if app.federated_credentials:
            entry["federated_credentials"] = [
                {"issuer": rt.resolve_issuer(f.issuer), "subject": f.subject, "audiences": f.audiences}
                for f in app.federated_credentials
            ]
        apps[name] = entry
    return {
        "base_url": emu.base_url,
        "authority": emu.base_url,
        "ca_bundle": emu.ca_bundle_path,
        "mi_base_url": emu.mi_base_url,
        "service_fabric_url": emu.service_fabric_url,
        "service_fabric_thumbprint": emu.service_fabric_thumbprint,
        "tenant_id": emu.tenant_id,
        "other_tenant_id": emu.other_tenant_id,
        "tenants": [{"tenant_id": tid, "domain": domain} for tid, domain in emu.config.tenants.items()],
        "apps": apps,
        "users": {name: asdict(user) for name, user in emu.users.items()},
        "managed_identities": asdict(emu.managed_identities),
        "oidc_issuer": emu.oidc_issuer_url,
        "pipelines": {
            "oidc_request_uri": emu.pipelines_oidc_url,
            "system_access_token": emu.pipelines_system_access_token,
            "service_connection_id": emu.pipelines_service_connection_id,
            "issuer": emu.pipelines_issuer_url,
        },
        # Key names contain "secret" so secret scanners (the test suite's canary) recognise the values.
        "secrets": {
            "identity_header_secret": emu.config.identity_header,
            "service_fabric_secret": emu.config.service_fabric_secret,
            "azure_ml_secret": emu.config.azure_ml_secret,
        },
        "arc_token_dir": emu.arc_token_dir,
        "workdir": emu.workdir,
    }


def environment(emu: Emulator, host: str | None = None) -> dict[str, str]:
    config = emu.config
    tls = {"SSL_CERT_FILE": emu.ca_bundle_path, "REQUESTS_CA_BUNDLE": emu.ca_bundle_path}
    if host is None:
        app = emu.apps["secret"]
        return {
            "AZURE_TENANT_ID": emu.tenant_id,
            "AZURE_CLIENT_ID": app.client_id,
            "AZURE_CLIENT_SECRET": app.secret or "",
            "AZURE_AUTHORITY_HOST": emu.base_url,
            **tls,
        }
    mi = emu.mi_base_url
    app_service = {"IDENTITY_ENDPOINT": f"{mi}/msi/token", "IDENTITY_HEADER": config.identity_header}
    if host == "imds":
        # azure-identity's override for the IMDS address (it appends /metadata/identity/oauth2/token).
        return {"AZURE_POD_IDENTITY_AUTHORITY_HOST": mi, **tls}
    if host == "app-service":
        return {**app_service, **tls}
    if host == "functions":
        return {
            **app_service,
            "FUNCTIONS_WORKER_RUNTIME": "python",
            "WEBSITE_SITE_NAME": "azidentity-emulator",
            **tls,
        }
    if host == "arc":
        return {"IDENTITY_ENDPOINT": f"{mi}/arc/metadata/identity/oauth2/token", "IMDS_ENDPOINT": mi, **tls}
    if host == "service-fabric":
        return {
            "IDENTITY_ENDPOINT": f"{emu.service_fabric_url}/sf/token",
            "IDENTITY_HEADER": config.service_fabric_secret,
            "IDENTITY_SERVER_THUMBPRINT": emu.service_fabric_thumbprint,
            **tls,
        }
    if host == "cloud-shell":
        return {"MSI_ENDPOINT": f"{mi}/cloudshell/token", **tls}
    if host == "azure-ml":
        return {
            "MSI_ENDPOINT": f"{mi}/ml/token",
            "MSI_SECRET": config.azure_ml_secret,
            "DEFAULT_IDENTITY_CLIENT_ID": config.managed_identities.system.client_id,
            **tls,
        }
    if host == "workload-identity":
        token_file = Path(emu.workdir) / "federated-token"
        token_file.write_text(emu.issue_service_account_token(), encoding="ascii")
        os.chmod(token_file, 0o600)
        return {
            "AZURE_TENANT_ID": emu.tenant_id,
            "AZURE_CLIENT_ID": emu.apps["workload"].client_id,
            "AZURE_AUTHORITY_HOST": emu.base_url,
            "AZURE_FEDERATED_TOKEN_FILE": str(token_file),
            **tls,
        }
    if host == "pipelines":
        return {
            "SYSTEM_OIDCREQUESTURI": emu.pipelines_oidc_url,
            "SYSTEM_ACCESSTOKEN": emu.pipelines_system_access_token,
            "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID": emu.pipelines_service_connection_id,
            "AZURESUBSCRIPTION_CLIENT_ID": emu.apps["pipelines"].client_id,
            "AZURESUBSCRIPTION_TENANT_ID": emu.tenant_id,
            "AZURE_AUTHORITY_HOST": emu.base_url,
            **tls,
        }
    raise ValueError(f"unknown host {host!r}; expected one of {', '.join(HOSTS)}")
