"""The Emulator: wires configuration, PKI, endpoint services and listeners together."""

from __future__ import annotations

import copy
import os
import secrets
import shutil
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from . import jwt, tokens
from .config import TOKEN_EXCHANGE_AUDIENCE, AppConfig, EmulatorConfig, ManagedIdentities, UserConfig
from .describe import describe, environment
from .entra import EntraService
from .faults import FaultPlan
from .federation import DEFAULT_SUBJECT, FederationService
from .keyvault import CHALLENGE_PARAMETERS, KeyVaultService, Vault
from .managed_identity import ManagedIdentityService
from .pki import (
    ServerPki,
    build_server_pki,
    prefetch_keys,
    refill_in_background,
    signing_material,
    write_client_cert_files,
)
from .server import Listener, RequestLog, Shared, server_ssl_context
from .state import RegisteredCert, Runtime, SigningKey
from .user_flows import UserFlowService
from .wire import RecordedRequest, Router


class Emulator:
    """Entra ID + managed identity emulator on 127.0.0.1.  Use as a context manager or start()/stop()."""

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        clock: Callable[[], float] | None = None,
        workdir: str | None = None,
    ) -> None:
        # Copy: start() fills in runtime fields (cert paths), which must not leak into a shared config.
        self.config = copy.deepcopy(config) if config is not None else EmulatorConfig()
        self.clock: Callable[[], float] = clock or time.time
        self.faults = FaultPlan()
        self._log = RequestLog()
        self._shared = Shared(self._log, self.faults, self.clock)
        self._workdir_arg = workdir
        self._owns_workdir = False
        self._listeners: list[Listener] = []
        self._rt: Runtime | None = None
        self._pki: ServerPki | None = None
        self.workdir = ""
        self.base_url = self.mi_base_url = self.service_fabric_url = ""
        self.ca_bundle_path = self.arc_token_dir = ""
        self.entra: EntraService | None = None
        self.managed_identity: ManagedIdentityService | None = None
        self.federation: FederationService | None = None
        self.user_flows: UserFlowService | None = None
        self.keyvault: KeyVaultService | None = None
        self._vaults: dict[str, Vault] = {}
        self._vault_lock = threading.Lock()

    # --- lifecycle --------------------------------------------------------------------------------

    def start(self) -> Emulator:
        if self._rt is not None:
            return self
        if self._workdir_arg:
            os.makedirs(self._workdir_arg, exist_ok=True)
            self.workdir = self._workdir_arg
        else:
            self.workdir = tempfile.mkdtemp(prefix="azidentity-emulator-")
            self._owns_workdir = True
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        work = Path(self.workdir)
        # 4 TLS keys + 3 token-signing keys + 3 per certificate app.
        key_count = 7 + 3 * sum(1 for a in self.config.apps.values() if a.certificate)
        prefetch_keys(key_count)
        self._pki = pki = build_server_pki(work)
        self.ca_bundle_path = pki.ca_bundle_path
        rt = Runtime(
            config=self.config,
            clock=self.clock,
            entra_key=SigningKey(signing_material("entra token signing")),
            oidc_key=SigningKey(signing_material("oidc issuer signing")),
            pipelines_key=SigningKey(signing_material("pipelines issuer signing")),
        )
        for name, app in self.config.apps.items():
            if app.certificate:
                self._make_app_certs(rt, work, name, app, pki)
        self.arc_token_dir = str(work / "arc-tokens")
        os.makedirs(self.arc_token_dir, mode=0o700, exist_ok=True)
        rt.arc_token_dir = self.arc_token_dir
        self.entra = EntraService(rt)
        self.managed_identity = ManagedIdentityService(rt)
        self.federation = FederationService(rt)
        self.user_flows = UserFlowService(rt)
        for grant_type, handler in self.user_flows.grants().items():
            self.entra.register_grant(grant_type, handler)
        self.keyvault = KeyVaultService(rt)
        main_ctx = server_ssl_context(pki.server_cert_path, pki.server_key_path)
        sf_ctx = server_ssl_context(pki.service_fabric_cert_path, pki.service_fabric_key_path)
        main_routes = self.entra.routes() + self.federation.routes() + self.user_flows.routes()
        main = Listener(
            "main", Router(main_routes), self._shared, port=self.config.port, ssl_context=main_ctx
        )
        self._listeners.append(main)
        mi = Listener(
            "managed-identity", Router(self.managed_identity.routes()), self._shared, port=self.config.mi_port
        )
        self._listeners.append(mi)
        sf = Listener(
            "service-fabric",
            Router(self.managed_identity.service_fabric_routes()),
            self._shared,
            port=self.config.service_fabric_port,
            ssl_context=sf_ctx,
        )
        self._listeners.append(sf)
        self.base_url, self.mi_base_url, self.service_fabric_url = main.url, mi.url, sf.url
        rt.base_url, rt.mi_base_url = main.url, mi.url
        self._rt = rt
        for listener in self._listeners:
            listener.start()
        refill_in_background(key_count)

    def _make_app_certs(self, rt: Runtime, work: Path, name: str, app: AppConfig, pki: ServerPki) -> None:
        app.cert_password = app.cert_password or secrets.token_urlsafe(12)
        files = write_client_cert_files(work, f"app-{name}", pki.intermediate, app.cert_password)
        app.cert_pem_path, app.cert_pem_encrypted_path = files.pem_path, files.pem_encrypted_path
        app.pfx_path, app.pfx_password_path = files.pfx_path, files.pfx_password_path
        app.chain_pem_path, app.unregistered_pem_path = files.chain_pem_path, files.unregistered_pem_path
        app.thumbprint_sha1 = files.leaf.thumbprint_sha1
        app.thumbprint_sha256 = files.leaf.thumbprint_sha256
        app.chain_thumbprint_sha1 = files.chain_leaf.thumbprint_sha1
        rt.app_certs[app.client_id] = [
            RegisteredCert(jwt.x5t(c.cert), jwt.x5t_s256(c.cert), c.key.public_key())
            for c in (files.leaf, files.chain_leaf)
        ]

    def stop(self) -> None:
        self._shared.stopping.set()
        self.faults.clear()  # releases hung handlers, so stop() does not wait for them
        # In parallel: each listener's serve loop needs up to one poll interval to notice shutdown.
        stoppers = [threading.Thread(target=listener.stop, daemon=True) for listener in self._listeners]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join(2.0)
        self._listeners.clear()
        self._vaults.clear()
        self._rt = None
        if self._owns_workdir and self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self._owns_workdir = False
        self._shared = Shared(self._log, self.faults, self.clock)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def runtime(self) -> Runtime:
        if self._rt is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return self._rt

    # --- identities ---------------------------------------------------------------------------------

    @property
    def tenant_id(self) -> str:
        return self.config.tenant_id

    @property
    def other_tenant_id(self) -> str:
        return self.config.other_tenant_id

    @property
    def apps(self) -> dict[str, AppConfig]:
        return self.config.apps

    @property
    def users(self) -> dict[str, UserConfig]:
        return self.config.users

    @property
    def managed_identities(self) -> ManagedIdentities:
        return self.config.managed_identities

    @property
    def authority(self) -> str:
        return self.base_url

    @property
    def service_fabric_thumbprint(self) -> str:
        if self._pki is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return self._pki.service_fabric.thumbprint_sha1

    def server_ssl_context(self) -> ssl.SSLContext:
        """A TLS server context with the emulator's 127.0.0.1 certificate, for a test's own HTTPS server
        (a fake ARM, ...) that clients trust through :attr:`ca_bundle_path`, as they trust the emulator."""
        if self._pki is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return server_ssl_context(self._pki.server_cert_path, self._pki.server_key_path)

    @property
    def oidc_issuer_url(self) -> str:
        return self.runtime.oidc_issuer_url

    @property
    def pipelines_issuer_url(self) -> str:
        return self.runtime.pipelines_issuer_url

    @property
    def pipelines_oidc_url(self) -> str:
        return f"{self.base_url}/pipelines/oidctoken"

    @property
    def pipelines_system_access_token(self) -> str:
        return self.config.pipelines_system_access_token

    @property
    def pipelines_service_connection_id(self) -> str:
        return self.config.pipelines_service_connection_id

    # --- Key Vault-like secrets endpoints --------------------------------------------------------------

    def vault(
        self, name: str = "vault", *, tenant_id: str | None = None, challenge: str | None = None
    ) -> Vault:
        """The vault called ``name``, started on its own HTTPS port on first use.

        ``tenant_id`` (default: the home tenant) is the tenant its 401 challenge names and whose tokens
        it accepts; ``challenge`` is ``"resource"`` (default) or ``"scope"``, the challenge parameter
        naming Key Vault. Given for an existing vault, they change it.
        """
        if challenge is not None and challenge not in CHALLENGE_PARAMETERS:
            raise ValueError(f"challenge must be one of {CHALLENGE_PARAMETERS}, not {challenge!r}")
        self.runtime  # noqa: B018 - raises if not started
        with self._vault_lock:
            existing = self._vaults.get(name)
            if existing is not None:
                if tenant_id is not None:
                    existing.tenant_id = tenant_id
                if challenge is not None:
                    existing.challenge = challenge
                return existing
            assert self.keyvault is not None and self._pki is not None
            vault = Vault(name, tenant_id or self.tenant_id, challenge or "resource")
            ctx = server_ssl_context(self._pki.server_cert_path, self._pki.server_key_path)
            listener = Listener(
                f"keyvault-{name}", Router(self.keyvault.routes(vault)), self._shared, ssl_context=ctx
            )
            vault.url = listener.url
            self._listeners.append(listener)
            self._vaults[name] = vault
            listener.start()
            return vault

    @property
    def keyvault_url(self) -> str:
        """URL of the default vault (its challenge names ``keyvault_tenant``)."""
        return self.vault().url

    @property
    def keyvault_tenant(self) -> str:
        return self.vault().tenant_id

    @keyvault_tenant.setter
    def keyvault_tenant(self, tenant_id: str) -> None:
        self.vault(tenant_id=tenant_id)

    @property
    def keyvault_other_tenant_url(self) -> str:
        """URL of a vault whose challenge names the *other* tenant (a cross-tenant request)."""
        return self.vault("other-tenant-vault", tenant_id=self.other_tenant_id).url

    # --- tokens ------------------------------------------------------------------------------------

    def verify_token(self, token: str) -> dict[str, Any]:
        """Verify an emulator-issued token (RS256 signature with the Entra key, and exp); return claims."""
        return tokens.verify(self.runtime, token)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.runtime.entra_key.jwk()]}

    def issue_service_account_token(
        self, subject: str = DEFAULT_SUBJECT, audience: str = TOKEN_EXCHANGE_AUDIENCE, lifetime: int = 3600
    ) -> str:
        assert self.federation is not None
        self.runtime  # noqa: B018 - raises if not started
        return self.federation.service_account_token(subject, audience, lifetime)

    # --- signing users in ----------------------------------------------------------------------------

    def _user_flows(self) -> UserFlowService:
        self.runtime  # noqa: B018 - raises if not started
        assert self.user_flows is not None
        return self.user_flows

    def approve_device_code(self, user_code: str, username: str | None = None) -> None:
        """Sign in at the device code verification page as ``username`` (a key of ``users`` or a
        username; default: the user /authorize signs in, ``user_flows.default_user``)."""
        self._user_flows().approve(user_code, username)

    def decline_device_code(self, user_code: str) -> None:
        """Decline the sign-in at the device code verification page."""
        self._user_flows().decline(user_code)

    @property
    def pending_device_codes(self) -> list[str]:
        """User codes that wait for approval (what a user would type at ``/devicelogin``)."""
        return self._user_flows().pending_user_codes()

    # --- request log & faults ----------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._log.snapshot()

    def count(self, route: str | None = None) -> int:
        return self._log.count(route)

    @property
    def errors(self) -> list[str]:
        """Tracebacks of exceptions raised by handlers (each was answered with a 500)."""
        return list(self._shared.errors)

    def reset(self) -> None:
        self._log.clear()
        self.faults.clear()
        self._shared.errors.clear()
        for vault in list(self._vaults.values()):
            vault.clear()

    # --- describing the emulator -------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """Everything a client needs to know, as JSON-able data (what ``--json`` prints)."""
        return describe(self)

    def env(self, host: str | None = None) -> dict[str, str]:
        """Environment variables pointing a program at the emulator, as ``host`` would set them."""
        return environment(self, host)
