"""SharedTokenCacheCredential and VisualStudioCodeCredential on a machine where nobody signed in."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest

from .compat_testlib import GET_TOKEN_METHODS, SCOPE, Library, Mode, call

methods = pytest.mark.parametrize("method", GET_TOKEN_METHODS)


@pytest.fixture
def empty_home(tmp_path: Path) -> Iterator[Path]:
    """A home directory without any tool's sign-in (no MSAL cache, no VS Code record)."""
    home = tmp_path / "home"
    home.mkdir()
    with mock.patch.dict(os.environ, {"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}):
        yield home


def test_shared_token_cache_is_supported_here(library: Library) -> None:
    assert library.sync.SharedTokenCacheCredential.supported() is True


@methods
def test_shared_token_cache_without_accounts_is_unavailable(
    library: Library, sync_or_async: Mode, method: str, empty_home: Path
) -> None:
    credential = sync_or_async.module(library).SharedTokenCacheCredential()
    with pytest.raises(library.CredentialUnavailableError):
        call(sync_or_async, credential, method, SCOPE)
    sync_or_async.close_credential(credential)


@methods
def test_visual_studio_code_without_a_sign_in_is_unavailable(
    library: Library, sync_or_async: Mode, method: str, empty_home: Path
) -> None:
    credential = sync_or_async.module(library).VisualStudioCodeCredential()
    with pytest.raises(library.CredentialUnavailableError):
        call(sync_or_async, credential, method, SCOPE)
    sync_or_async.close_credential(credential)


@pytest.mark.parametrize("name", ["SharedTokenCacheCredential", "VisualStudioCodeCredential"])
def test_a_chain_moves_on(library: Library, name: str, empty_home: Path) -> None:
    fallback = mock.MagicMock()
    chain = library.sync.ChainedTokenCredential(getattr(library.sync, name)(), fallback)
    chain.get_token(SCOPE)
    assert fallback.get_token.call_count == 1
