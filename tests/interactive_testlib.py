"""Helpers for the user sign-in tests: a scripted browser, a clock tests move, canary registration, codes."""

from __future__ import annotations

import html
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

SCOPE = "https://storage.azure.com/.default"
VAULT_SCOPE = "https://vault.azure.net/.default"
REDIRECT_URI = "http://localhost:8765/auth"  # a web application's, for AuthorizationCodeCredential


def kwargs_for(emu: Any, **extra: Any) -> dict[str, Any]:
    """Keyword arguments pointing a user credential at the emulator's public client."""
    values = {
        "client_id": emu.apps["public"].client_id,
        "authority": emu.base_url,
        "connection_verify": emu.ca_bundle_path,
    }
    values.update(extra)
    return values


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def follow(emu: Any, url: str) -> requests.Response:
    """Do what a browser does with an authorize URL: load it, then follow the 302 or submit the form post."""
    page = requests.get(url, verify=emu.ca_bundle_path, allow_redirects=False, timeout=10)
    if page.status_code == 302:
        return requests.get(page.headers["Location"], timeout=10)
    match = re.search(r'<form method="POST" name="hiddenform" action="([^"]+)">', page.text)
    assert match, f"not a form post page ({page.status_code}): {page.text[:300]}"
    fields = {
        html.unescape(n): html.unescape(v)
        for n, v in re.findall(r'name="([^"]+)" value="([^"]*)"', page.text)
    }
    return requests.post(html.unescape(match.group(1)), data=fields, timeout=10)


class Browser:
    """An ``_open_browser`` replacement: records the URLs it is given and plays the user's part.

    ``rewrite(url) -> url`` changes the URL first (e.g. to ask for another response mode);
    ``act=False`` opens nothing (the user walks away); ``opens=False`` reports no browser.
    """

    def __init__(self, emu: Any, *, rewrite: Any = None, act: bool = True, opens: bool = True) -> None:
        self.emu = emu
        self.rewrite = rewrite
        self.act = act
        self.opens = opens
        self.urls: list[str] = []
        self.pages: list[requests.Response] = []

    def __call__(self, url: str) -> bool:
        self.urls.append(url)
        if not self.opens:
            return False
        if self.act:
            self.pages.append(follow(self.emu, self.rewrite(url) if self.rewrite else url))
        return True

    @property
    def last_query(self) -> dict[str, str]:
        return query_of(self.urls[-1])


class Clock:
    """Real time plus an offset the test moves; shared by a credential (``_clock``) and an emulator."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def register_refresh_tokens(emu: Any, canary: Any) -> int:
    """Every refresh token the emulator issued is a canary: none may show up in logs, reprs, pickles."""
    grants = emu.runtime.refresh_tokens._grants
    for token in list(grants):
        canary.register_token(token)
    return len(grants)


def get_code(emu: Any, app: str = "public", redirect_uri: str = REDIRECT_URI, canary: Any = None) -> str:
    """What the application's web front end does: send the user to /authorize and read the redirect."""
    params = {
        "client_id": emu.apps[app].client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "scope": f"{SCOPE} offline_access openid profile",
        "state": "s",
        "response_mode": "query",
    }
    page = requests.get(
        f"{emu.base_url}/organizations/oauth2/v2.0/authorize",
        params=params,
        verify=emu.ca_bundle_path,
        allow_redirects=False,
        timeout=10,
    )
    assert page.status_code == 302, page.text
    location = page.headers["Location"]
    assert location.startswith(redirect_uri + "?")
    query = query_of(location)
    assert query["state"] == "s"
    if canary is not None:
        canary.register_secret(query["code"])
    return query["code"]
