"""MSAL's token cache, read (never written): its names, its JSON format, and choosing an account.

Facts (MSAL's unified cache schema, as msal and msal-extensions write it):

* Names: a cache called ``name`` (default ``msal.cache``, azure-identity's
  ``TokenCachePersistenceOptions.name``) is kept as ``<name>.nocae`` and, for CAE tokens,
  ``<name>.cae``.
* Document: a JSON object with sections ``AccessToken``, ``RefreshToken``, ``IdToken``,
  ``Account`` and ``AppMetadata``, each an object of entries keyed by MSAL's cache keys. Entries
  name ``home_account_id`` (``<object id>.<home tenant>``), ``environment`` (the authority's host,
  without port), ``client_id``, ``realm`` (the tenant path segment the token was requested at),
  ``target`` (space-separated scopes), ``secret``; access tokens carry ``expires_on`` and maybe
  ``refresh_on`` (epoch seconds as strings); refresh tokens of a FOCI family carry ``family_id``.
* Accounts with a refresh token of a family (``family_id``) are the ones any family member --
  the Azure CLI's client id among them -- can sign in silently: SharedTokenCacheCredential's set.

The reader (``azidentity._cache.msal``) performs :class:`ReadMsalCache`; :func:`read_caches`
retries a plaintext file caught mid-write (MSAL truncates, then writes, under ``<file>.lockfile``)
with :class:`~azidentity._protocol.effects.Sleep` effects, so waits are bounded and go through
the credential's sleep seam.
"""

from __future__ import annotations

from .._lazy import TYPE_CHECKING
from .effects import Sleep, _Value, parse_json
from .user_effects import Interaction

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

    from .effects import Flow

DEFAULT_NAME = "msal.cache"
# The Secret Service item MSAL (msal-extensions' libsecret persistence, as azure-identity configures
# it) stores a cache in: schema = the cache's file name, this attribute, this label.
SECRET_ATTRIBUTE = ("MsalClientID", "Microsoft.Developer.IdentityService")
SECRET_LABEL = "MSALCache"
KEYCHAIN_SERVICE = "Microsoft.Developer.IdentityService"
KEYCHAIN_DEFAULT_ACCOUNT = "MSALCache"
MAX_CACHE_SIZE = 16 * 1024 * 1024
# Waits between reads of a plaintext cache another process is writing: 0.75 s at most in all.
RETRY_DELAYS = (0.05, 0.1, 0.2, 0.4)

# Microsoft developer tools in FOCI family "1", whose refresh tokens each of them can redeem.
AZURE_CLI_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
VSCODE_CLIENT_ID = "aebc6443-996d-45c2-90f0-388ff96faa56"
KNOWN_FAMILY = {AZURE_CLI_CLIENT_ID: "1", VSCODE_CLIENT_ID: "1"}

# Hosts that are one Entra ID instance (MSAL.NET's known metadata, as azure-identity uses it).
_ALIAS_SETS = (
    frozenset({"login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"}),
    frozenset({"login.chinacloudapi.cn", "login.partner.microsoftonline.cn"}),
    frozenset({"login.microsoftonline.us", "login.usgovcloudapi.net"}),
)
_TENANT_ALIASES = frozenset({"organizations", "common"})


def cache_names(name: str, cae: bool) -> tuple[str, str]:
    """The cache to read for a request first (CAE or not), then the other flavour."""
    nocae, cae_name = f"{name}.nocae", f"{name}.cae"
    return (cae_name, nocae) if cae else (nocae, cae_name)


def host_of(environment: str) -> str:
    """``login.microsoftonline.com`` from a host, a ``host:port`` or a URL; lower case, no port."""
    host = environment.split("://", 1)[-1].split("/", 1)[0].lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if ":" in host else host


def environments_for(authority: str) -> frozenset[str]:
    """The hosts whose cache entries belong to ``authority`` (its aliases included)."""
    host = host_of(authority)
    for aliases in _ALIAS_SETS:
        if host in aliases:
            return aliases
    return frozenset({host})


# -- the effect and its result ------------------------------------------------------------------------
class ReadMsalCache(Interaction):
    """Read one MSAL cache (``name`` is the full name, e.g. ``msal.cache.nocae``) once.

    ``allow_plaintext``: an unencrypted cache file may be read. ``timeout``: seconds any wait for the
    operating system's secret store may take. Result: :class:`Snapshot`."""

    __slots__ = ("name", "allow_plaintext", "timeout", "performer")

    def __init__(self, name: str, allow_plaintext: bool, timeout: float, performer: Any) -> None:
        self.name = name
        self.allow_plaintext = allow_plaintext
        self.timeout = timeout
        self.performer = performer


class Snapshot(_Value):
    """What one read found.

    ``status``: ``"found"`` (``text`` holds the cache), ``"absent"`` (no cache), or ``"problem"``
    (``problem`` says why it can't be read; ``mitigation_key`` names the guide's row). ``busy``: a
    plaintext file that may be mid-write (MSAL's lock file exists). ``where``: what was looked at,
    for messages and ``azidentity doctor``. Never shows ``text`` in its repr (it holds tokens).
    """

    __slots__ = ("status", "text", "where", "problem", "mitigation_key", "busy", "encrypted")

    def __init__(
        self,
        status: str,
        where: Sequence[str],
        *,
        text: str | None = None,
        problem: str | None = None,
        mitigation_key: str | None = None,
        busy: bool = False,
        encrypted: bool = False,
    ) -> None:
        self.status = status
        self.where = tuple(where)
        self.text = text
        self.problem = problem
        self.mitigation_key = mitigation_key
        self.busy = busy
        self.encrypted = encrypted

    def __repr__(self) -> str:
        return f"Snapshot(status={self.status!r}, where={self.where!r}, problem={self.problem!r})"


class CacheProblem(Exception):
    """A cache that exists but can't be used; ``mitigation_key`` names the guide's row."""

    def __init__(self, message: str, mitigation_key: str) -> None:
        super().__init__(message)
        self.message = message
        self.mitigation_key = mitigation_key


# -- the document -------------------------------------------------------------------------------------
class Document:
    """The parsed cache: sections of entries (malformed entries are left out, never trusted)."""

    def __init__(self, sections: dict[str, list[dict[str, Any]]]) -> None:
        self.sections = sections

    def entries(self, section: str) -> list[dict[str, Any]]:
        return self.sections.get(section, [])

    @classmethod
    def empty(cls) -> Document:
        return cls({})

    def merged(self, other: Document) -> Document:
        names = set(self.sections) | set(other.sections)
        return Document({n: self.entries(n) + other.entries(n) for n in names})


def parse(text: str) -> Document:
    """The cache in ``text``; ValueError naming what is wrong when it isn't MSAL's format."""
    if len(text) > MAX_CACHE_SIZE:
        raise ValueError(f"it is larger than {MAX_CACHE_SIZE} bytes")
    try:
        data = parse_json(text) if text.strip() else {}
    except ValueError as error:
        raise ValueError(f"it isn't JSON ({error})") from None
    if not isinstance(data, dict):
        raise ValueError(f"it is JSON but not MSAL's token cache (a {type(data).__name__}, not an object)")
    sections: dict[str, list[dict[str, Any]]] = {}
    for name in ("AccessToken", "RefreshToken", "Account", "AppMetadata"):
        section = data.get(name)
        if isinstance(section, dict):
            sections[name] = [e for e in section.values() if isinstance(e, dict)]
        elif section is not None:
            raise ValueError(f"its {name} section is a {type(section).__name__}, not an object")
    return Document(sections)


def _text(entry: dict[str, Any], key: str) -> str:
    value = entry.get(key)
    return value if isinstance(value, str) else ""


def _in(entry: dict[str, Any], environments: frozenset[str]) -> bool:
    return host_of(_text(entry, "environment")) in environments


def home_tenant(home_account_id: str) -> str:
    parts = home_account_id.split(".")
    return parts[1] if len(parts) == 2 else ""


def describe_account(account: dict[str, Any]) -> str:
    return (
        f"(username: {_text(account, 'username')}, tenant: {home_tenant(_text(account, 'home_account_id'))})"
    )


def family_of(document: Document, client_id: str, environments: frozenset[str]) -> str | None:
    """The FOCI family ``client_id`` belongs to (MSAL's app metadata, or a known family member)."""
    for meta in document.entries("AppMetadata"):
        if _text(meta, "client_id").lower() == client_id.lower() and _in(meta, environments):
            family = _text(meta, "family_id")
            if family:
                return family
    return KNOWN_FAMILY.get(client_id.lower())


def _refresh_tokens(document: Document, environments: frozenset[str]) -> list[dict[str, Any]]:
    return [
        rt
        for rt in document.entries("RefreshToken")
        if _in(rt, environments) and _text(rt, "secret") and _text(rt, "home_account_id")
    ]


def shared_accounts(document: Document, environments: frozenset[str]) -> list[dict[str, Any]]:
    """Accounts that have a family refresh token (what SharedTokenCacheCredential can sign in), once each."""
    family_accounts = {
        _text(rt, "home_account_id")
        for rt in _refresh_tokens(document, environments)
        if _text(rt, "family_id")
    }
    accounts: dict[str, dict[str, Any]] = {}
    for account in document.entries("Account"):
        home = _text(account, "home_account_id")
        if home in family_accounts and _in(account, environments) and home not in accounts:
            accounts[home] = account
    return list(accounts.values())


def choose_account(
    accounts: Sequence[dict[str, Any]], username: str | None, tenant_id: str | None
) -> dict[str, Any]:
    """The one account matching ``username`` and/or ``tenant_id`` (its home tenant).

    Raises :class:`CacheProblem` in azure-identity's words when there is none, or several.
    """
    if not accounts:
        raise CacheProblem("No accounts were found in the cache.", "shared-cache-no-accounts")
    matching = [
        a
        for a in accounts
        if (not username or _text(a, "username").lower() == username.lower())
        and (not tenant_id or home_tenant(_text(a, "home_account_id")).lower() == tenant_id.lower())
    ]
    if len(matching) == 1:
        return matching[0]
    cached = ", ".join(describe_account(a) for a in accounts)
    specified = (f" username: {username}" if username else "") + (
        f" tenant: {tenant_id}" if tenant_id else ""
    )
    if not (username or tenant_id):
        raise CacheProblem(
            "Multiple accounts were found in the cache. Use username and tenant id to disambiguate. "
            f"Cached accounts: {cached}.",
            "shared-cache-multiple-accounts",
        )
    if matching:
        raise CacheProblem(
            f"Multiple accounts matching the specified{specified} were found in the cache. "
            f"Cached accounts: {cached}.",
            "shared-cache-multiple-accounts",
        )
    raise CacheProblem(
        f"No account matching the specified{specified} was found in the cache. Cached accounts: {cached}.",
        "shared-cache-no-matching-account",
    )


def refresh_tokens_for(
    document: Document, home_account_id: str, environments: frozenset[str], client_id: str
) -> list[str]:
    """Refresh tokens ``client_id`` may redeem for the account: its own first, then its family's;
    the most recently written first within each."""
    family = family_of(document, client_id, environments)
    own: list[tuple[str, str]] = []
    shared: list[tuple[str, str]] = []
    for rt in _refresh_tokens(document, environments):
        if _text(rt, "home_account_id") != home_account_id:
            continue
        stamp = _text(rt, "last_modification_time").rjust(20, "0")
        if _text(rt, "client_id").lower() == client_id.lower():
            own.append((stamp, _text(rt, "secret")))
        elif family and _text(rt, "family_id") == family:
            shared.append((stamp, _text(rt, "secret")))
    result: list[str] = []
    for group in (own, shared):
        for _, secret in sorted(group, reverse=True):
            if secret not in result:
                result.append(secret)
    return result


def cached_access_token(
    document: Document,
    home_account_id: str,
    environments: frozenset[str],
    scopes: Iterable[str],
    realms: Iterable[str],
    now: float,
) -> tuple[str, int, int | None, str] | None:
    """``(token, expires_on, refresh_on, token_type)`` of a cached access token for the account whose
    scopes include ``scopes``, requested at one of ``realms``, valid for more than 5 more minutes
    (MSAL's and azure-identity's margin); else None."""
    wanted = {s.lower() for s in scopes}
    realm_set = {r.lower() for r in realms}
    best: tuple[str, int, int | None, str] | None = None
    for at in document.entries("AccessToken"):
        if _text(at, "home_account_id") != home_account_id or not _in(at, environments):
            continue
        if _text(at, "realm").lower() not in realm_set or not _text(at, "secret"):
            continue
        if not wanted <= {t.lower() for t in _text(at, "target").split()}:
            continue
        expires_on, refresh_on = _epoch(at.get("expires_on")), _epoch(at.get("refresh_on"))
        if expires_on is None or expires_on - 300 <= now:
            continue
        if best is None or expires_on > best[1]:
            best = (_text(at, "secret"), expires_on, refresh_on, _text(at, "token_type") or "Bearer")
    return best


def token_realms(request_tenant: str, account_tenant: str) -> tuple[str, ...]:
    """The realms a cached access token may have been requested at, for a request to ``request_tenant``."""
    if request_tenant.lower() in _TENANT_ALIASES:
        return (*_TENANT_ALIASES, account_tenant) if account_tenant else tuple(_TENANT_ALIASES)
    return (request_tenant,)


def _epoch(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 12:
        number = int(value.strip())
    else:
        return None
    return number if 0 < number < 2**40 else None


# -- reading with retries -----------------------------------------------------------------------------
class ReadOutcome:
    """The caches read for one request: the merged document, where they were, and what went wrong."""

    def __init__(self) -> None:
        self.document = Document.empty()
        self.primary = Document.empty()  # the requested flavour only: access tokens come from here
        self.where: list[str] = []
        self.problems: list[CacheProblem] = []
        self.found = False


def read_caches(
    names: Sequence[str], allow_plaintext: bool, timeout: float, performer: Any
) -> Flow[ReadOutcome]:
    """Read each cache of ``names`` (the first is the request's flavour), retrying plaintext files
    caught mid-write. Problems are collected, not raised: the caller decides whether they matter."""
    outcome = ReadOutcome()
    for index, name in enumerate(names):
        effect = ReadMsalCache(name, allow_plaintext, timeout, performer)
        snapshot: Snapshot = yield effect
        previous = None
        document: Document | None = None
        error = ""
        for delay in (*RETRY_DELAYS, None):
            if snapshot.status != "found":
                break
            try:
                document = parse(snapshot.text or "")
            except ValueError as problem:
                error = str(problem)
            else:
                if not snapshot.busy or (snapshot.text or "").strip():
                    break
                document = None  # an empty file while its lock is held: the writer truncated it
                error = "it is empty while another program holds its lock file"
            # Retry while another program may be writing: its lock file exists, or the content moved.
            if delay is None or (not snapshot.busy and snapshot.text == previous):
                break
            previous = snapshot.text
            yield Sleep(delay)
            snapshot = yield effect
        outcome.where.extend(snapshot.where)
        if snapshot.status == "problem":
            outcome.problems.append(
                CacheProblem(
                    snapshot.problem or "unreadable", snapshot.mitigation_key or "shared-cache-unreadable"
                )
            )
            continue
        if snapshot.status == "absent":
            continue
        if document is None:
            state = " (another program held its lock file the whole time)" if snapshot.busy else ""
            also = f"; and {snapshot.problem}" if snapshot.problem else ""
            outcome.problems.append(
                CacheProblem(
                    f"the cache {snapshot.where[0] if snapshot.where else name} can't be read: "
                    f"{error}{state}{also}",
                    "shared-cache-unreadable",
                )
            )
            continue
        outcome.found = True
        outcome.document = outcome.document.merged(document)
        if index == 0:
            outcome.primary = document
    return outcome
