"""MSAL's shared token cache written by the real ``msal`` / ``msal-extensions`` (test-only dependencies).

``sign_in`` runs MSAL's own authorization code flow against the emulator (the "browser" follows the
authorize URL's redirect), so the cache is exactly what MSAL writes: accounts, id tokens, access
tokens, refresh tokens with ``family_id`` for FOCI clients, app metadata.

Stores:

- ``plaintext_cache(name)``: msal-extensions' ``FilePersistence`` at ``~/.IdentityService/<name>`` (what
  azure-identity uses where libsecret is unusable and unencrypted storage is allowed), behind
  ``PersistedTokenCache`` and its ``<file>.lockfile``.
- ``secret_service_cache(name)``: :class:`SecretStoragePersistence`, msal-extensions' libsecret
  persistence rebuilt on ``secretstorage`` (PyGObject, which the real one needs, doesn't build here):
  the same item -- libsecret schema ``name`` (stored as the ``xdg:schema`` attribute), attributes,
  label -- and the same change-marker file. ``install_secret_storage_persistence`` puts it where
  azure-identity looks for ``msal_extensions.LibsecretPersistence``, so azure-identity chooses the
  schema, attributes and label itself.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path
from typing import Any

import msal
import msal_extensions
import requests
from msal_extensions.persistence import BasePersistence, FilePersistence, PersistenceNotFound

SCOPE = "https://storage.azure.com/.default"
GRANTED = "https://storage.azure.com/user_impersonation"  # what the emulator grants for SCOPE


def identity_service(home: Path | str | None = None) -> Path:
    return Path(home or os.path.expanduser("~")) / ".IdentityService"


def session(emu: Any) -> requests.Session:
    s = requests.Session()
    s.verify = emu.ca_bundle_path
    s.trust_env = False  # REQUESTS_CA_BUNDLE would win over verify
    return s


def plaintext_cache(name: str = "msal.cache.nocae") -> msal_extensions.PersistedTokenCache:
    return msal_extensions.PersistedTokenCache(FilePersistence(str(identity_service() / name)))


class SecretStoragePersistence(BasePersistence):  # type: ignore[misc]
    """msal-extensions' LibsecretPersistence, on secretstorage instead of PyGObject (same item, same
    marker)."""

    is_encrypted = True

    def __init__(
        self,
        signal_location: str,
        schema_name: str | None = None,
        attributes: dict[str, str] | None = None,
        label: str = "",
        **kwargs: Any,
    ) -> None:
        # A D-Bus connection per call (never one held open: msal-extensions never closes a persistence).
        # libsecret keeps the schema's name in the item's xdg:schema attribute (the schema's flags are NONE).
        self._attributes = {"xdg:schema": schema_name or "", **(attributes or {})}
        self._label = label
        self._file = FilePersistence(signal_location)

    def save(self, content: str) -> None:
        import secretstorage

        with secretstorage.dbus_init() as connection:
            collection = secretstorage.get_default_collection(connection)
            collection.create_item(self._label, self._attributes, content.encode("utf-8"), replace=True)
        self._file.touch()

    def load(self) -> str:
        import secretstorage

        with secretstorage.dbus_init() as connection:
            items = list(secretstorage.search_items(connection, self._attributes))
            if not items:
                raise PersistenceNotFound(message="no item")
            return bytes(items[0].get_secret()).decode("utf-8")

    def time_last_modified(self) -> float:
        return float(self._file.time_last_modified())

    def get_location(self) -> str:
        return str(self._file.get_location())


def secret_service_cache(name: str = "msal.cache.nocae") -> msal_extensions.PersistedTokenCache:
    persistence = SecretStoragePersistence(
        str(identity_service() / name),
        name,
        {"MsalClientID": "Microsoft.Developer.IdentityService"},
        label="MSALCache",
    )
    return msal_extensions.PersistedTokenCache(persistence)


def install_secret_storage_persistence(monkeypatch: Any) -> None:
    """azure-identity then keeps its persistent cache in the Secret Service, with its own arguments."""
    monkeypatch.setattr(msal_extensions, "LibsecretPersistence", SecretStoragePersistence)


def sign_in(
    emu: Any,
    cache: Any,
    *,
    app: str = "azure_cli",
    user: str = "alice",
    scopes: tuple[str, ...] = (SCOPE,),
    tenant: str = "organizations",
) -> dict[str, Any]:
    """MSAL's authorization code flow for ``user`` with ``app``'s client id; returns MSAL's result."""
    client = msal.PublicClientApplication(
        emu.apps[app].client_id,
        authority=f"{emu.base_url}/{tenant}",
        http_client=session(emu),
        instance_discovery=False,
        token_cache=cache,
    )
    flow = client.initiate_auth_code_flow(
        list(scopes),
        redirect_uri="http://localhost:8400",
        login_hint=emu.users[user].username,
        response_mode="form_post",
    )
    # The browser's part: the sign-in page answers with a form that posts code and state to the redirect URI.
    page = session(emu).get(flow["auth_uri"], allow_redirects=False, timeout=10)
    fields = {
        html.unescape(n): html.unescape(v)
        for n, v in re.findall(r'name="([^"]+)" value="([^"]*)"', page.text)
    }
    assert "code" in fields, page.text[:300]
    result = client.acquire_token_by_auth_code_flow(flow, fields)
    assert "access_token" in result, result.get("error_description")
    return dict(result)


def register_tokens(result: dict[str, Any], canary: Any) -> None:
    for key in ("access_token", "refresh_token", "id_token"):
        if isinstance(result.get(key), str):
            canary.register_token(result[key])
