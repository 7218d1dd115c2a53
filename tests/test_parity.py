"""Drop-in parity with azure-identity (installed as a test-only dependency).

For every public name of ``azure.identity`` and ``azure.identity.aio`` this compares azidentity's
counterpart: the name exists; constructor and public method parameters have the same names, kinds
(positional / keyword-only), order and defaults; async methods are coroutines; every keyword
azure-identity *documents* for a ``**kwargs`` constructor is consumed by ours (not passed on to
azure-core, where it would be silently ignored); the exception hierarchy matches.

Every difference found must be explained by data in this file: ``DIFFERENCES`` (deliberate, each a
row of README's "Differences from azure-identity" table) or ``KNOWN_BUGS`` (reported, expected to be
fixed: the test xfails while the bug is there and fails once it is gone, so the entry gets removed).
A new, unexplained difference fails the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import azure.identity
import azure.identity.aio
import pytest
from azure.core.credentials import AccessToken, SupportsTokenInfo, TokenCredential
from azure.core.credentials_async import AsyncSupportsTokenInfo, AsyncTokenCredential
from azure.core.exceptions import ClientAuthenticationError

import azidentity
import azidentity.aio
from azidentity.emulator import Emulator

PAIRS = (("azure.identity", "azidentity"), ("azure.identity.aio", "azidentity.aio"))
README = Path(__file__).resolve().parent.parent / "README.md"
README_SECTION = "## Differences from azure-identity"


@dataclass(frozen=True)
class Difference:
    """A deliberate difference. ``row`` is the first cell of its README table row; ``keys`` are the
    differences it explains, as reported by :func:`differences` (``*`` matches any class name)."""

    row: str
    reason: str
    keys: tuple[str, ...] = ()


DIFFERENCES = (
    Difference(
        "AuthenticationFailedError",
        "An extra exception: a credential tried and was refused (a chain stops). It subclasses "
        "ClientAuthenticationError, which azure-identity raises in that case, so existing handlers work.",
        ("added azidentity.AuthenticationFailedError",),
    ),
    Difference(
        "ClientCertificateCredential",
        "An alias subclass of CertificateCredential under the name other Azure SDKs use.",
        ("added azidentity.ClientCertificateCredential", "added azidentity.aio.ClientCertificateCredential"),
    ),
    Difference(
        "Async DeviceCodeCredential, InteractiveBrowserCredential, UsernamePasswordCredential",
        "azure-identity has these only in sync form; the same flow drives both here, so async comes free.",
        (
            "added azidentity.aio.DeviceCodeCredential",
            "added azidentity.aio.InteractiveBrowserCredential",
            "added azidentity.aio.UsernamePasswordCredential",
        ),
    ),
    Difference(
        "cache_tokens on the CLI credentials",
        "Opt-in caching of az / azd / pwsh tokens until their refresh point (off by default, as in "
        "azure-identity: the signed-in account can change between calls).",
        (
            "AzureCliCredential.__init__ added cache_tokens",
            "AzurePowerShellCredential.__init__ added cache_tokens",
            "AzureDeveloperCliCredential.__init__ added cache_tokens",
        ),
    ),
    Difference(
        "enable_cae in get_token's signature",
        "azure-identity reads enable_cae from **kwargs; azidentity names it (same default, False).",
        ("*.get_token added enable_cae",),
    ),
    Difference(
        "send_certificate_chain on async OnBehalfOfCredential",
        "azure-identity declares it on the sync class only; azidentity declares and honours it on both.",
        ("OnBehalfOfCredential.__init__ added send_certificate_chain",),
    ),
    Difference(
        "Facts on the exceptions",
        "CredentialUnavailableError and AuthenticationRequiredError take keyword-only credential, "
        "mitigation_key and http_response and expose credential, status_code, oauth_error, error_code, "
        "mitigation, troubleshooting_anchor ... as attributes.",
        (
            "CredentialUnavailableError.__init__ added credential",
            "CredentialUnavailableError.__init__ added mitigation_key",
            "CredentialUnavailableError.__init__ added http_response",
        ),
    ),
    # Behaviour, not signatures: listed so the README table and this file stay one list.
    Difference(
        "probe_timeout of ManagedIdentityCredential",
        "A keyword (and managed_identity_probe_timeout on DefaultAzureCredential) for the one-shot "
        "IMDS probe, default 1 s; azure-identity's is fixed.",
    ),
    Difference(
        "IMDS probe inside chains",
        "Managed identity probes IMDS when other members follow it in the chain; alone (or its chain's "
        "only member) it sends the full request at once. azure-identity probes in any chain.",
    ),
    Difference(
        "IMDS probe with AZURE_POD_IDENTITY_AUTHORITY_HOST",
        "azidentity probes IMDS inside DefaultAzureCredential even when the IMDS address is overridden; "
        "azure-identity skips the probe then (and waits for the full request).",
    ),
    Difference(
        "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN",
        "Parsed as a boolean (true/1/yes/on, false/0/no/off); azure-identity treats any non-empty "
        'value, "false" included, as true.',
    ),
    Difference(
        "azd token expiry",
        "azd prints expiresOn in UTC (a trailing Z); azidentity reads it as UTC, azure-identity as "
        "local time (wrong by the UTC offset).",
    ),
    Difference(
        "Persistent token cache",
        "TokenCachePersistenceOptions has the same signature, but azidentity's credentials write their "
        "own AES-GCM file (key in the OS secret store), not MSAL's msal.cache; they read MSAL's cache of "
        "the same name when theirs has no entry, and never write MSAL's caches.",
    ),
    Difference(
        "SharedTokenCacheCredential",
        "Read-only (a rotated refresh token stays in memory); a locked keyring is reported, not unlocked; "
        "bounded waits; both CAE flavours searched for accounts; environments compared without port.",
    ),
    Difference(
        "VisualStudioCodeCredential",
        "No broker: the account's refresh token from MSAL's shared cache when there is one, else "
        "unavailable.",
    ),
    Difference(
        "BrokerCredential in DefaultAzureCredential",
        "Present at azure-identity's position and always unavailable: no WAM support.",
    ),
    Difference(
        "Managed identity token cache",
        "Per process (keyed by endpoint, identity and scope), not per credential instance.",
    ),
    Difference(
        "Mixing the libraries' chains",
        "azure-identity's ChainedTokenCredential continues only past its own CredentialUnavailableError, "
        "so an azidentity credential that is unavailable stops it: do not put azidentity credentials "
        "in azure-identity's chains.",
    ),
    Difference(
        "connection_verify naming a CA directory",
        "A c_rehash'ed CA directory works for sync and async credentials; azure-identity's async "
        "transport opens it as a file and fails.",
    ),
    Difference(
        "Tenant IDs",
        "A tenant that would change the request's URL ('/', '\\', '?', '#', '%', whitespace, '.' or '..') "
        "is refused everywhere; azure-identity sends it into the URL in ClientAssertion-, "
        "AuthorizationCode- and WorkloadIdentityCredential and a request's tenant_id "
        "(tests/compat/test_compat_surface.py).",
    ),
    Difference(
        "Assertion callback errors",
        "An exception from the assertion callback becomes a CredentialUnavailableError chained to it (a "
        "chain moves on); azure-identity lets it through unchanged (a chain stops).",
    ),
    Difference(
        "Async AzurePipelinesCredential",
        "The OIDC request goes through the async pipeline (and transport=); azure-identity's async class "
        "uses a synchronous pipeline, blocking the loop and unusable with an async transport.",
    ),
    Difference(
        "AuthorizationCodeCredential's refresh token",
        "Redeemed for any scope; azure-identity redeems it only for the scopes of the code's redemption.",
    ),
    Difference(
        "Error text",
        "Messages follow the troubleshooting guide's layout (credential, request, response, "
        "mitigation, TROUBLESHOOTING.md anchor); code that parses azure-identity's text may need changes.",
    ),
)

INTEROP_BUG = "interop: ChainedTokenCredential stops on azure.identity.CredentialUnavailableError"
# Reported to the lead, with the fix; remove an entry once it is fixed (its test then XPASSes strictly).
KNOWN_BUGS: dict[str, str] = {}  # none open: entries xfail until their fix lands


def _explained(diff: str) -> bool:
    for difference in DIFFERENCES:
        for key in difference.keys:
            pattern = re.escape(key).replace(r"\*", r"[A-Za-z]+")
            if re.fullmatch(pattern, diff):
                return True
    return False


# --- collecting differences ---------------------------------------------------------------------------

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_CONTEXT = ("__enter__", "__exit__", "__aenter__", "__aexit__")


def _public_names(module: Any) -> set[str]:
    return {name for name in module.__all__ if not name.startswith("_")}


def _resolve(module: Any, name: str) -> Any:
    try:
        return getattr(module, name)
    except (AttributeError, ImportError):
        return None


def _signature(function: Any) -> inspect.Signature:
    signature = inspect.signature(function)
    # The suite's secret canary (tests/canary.py) wraps exception constructors; compare the original.
    original = signature.parameters.get("__original")
    return _signature(original.default) if original is not None else signature


def _compare_parameters(qual: str, theirs: Any, ours: Any) -> list[str]:
    diffs = []
    tp = {n: p for n, p in _signature(theirs).parameters.items() if n != "self"}
    op = {n: p for n, p in _signature(ours).parameters.items() if n != "self"}
    t_var = {p.kind for p in tp.values()} & {inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD}
    o_var = {p.kind for p in op.values()} & {inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD}
    for kind in t_var - o_var:
        diffs.append(f"{qual} lacks {kind.description}")
    tp = {n: p for n, p in tp.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    op = {n: p for n, p in op.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    for name, t in tp.items():
        o = op.get(name)
        if o is None:
            if t.kind == t.KEYWORD_ONLY and inspect.Parameter.VAR_KEYWORD in o_var:
                diffs.append(f"{qual} keyword via **kwargs {name}")
            else:
                diffs.append(f"{qual} missing {name}")
            continue
        if (t.kind in _POSITIONAL) != (o.kind in _POSITIONAL):
            diffs.append(f"{qual} kind {name}: {t.kind.description} vs {o.kind.description}")
        if t.default != o.default:
            diffs.append(f"{qual} default {name}: {t.default!r} vs {o.default!r}")
    for name, o in op.items():
        if name not in tp:
            required = o.default is inspect.Parameter.empty
            diffs.append(f"{qual} added {'required ' if required else ''}{name}")
    t_order = [n for n, p in tp.items() if p.kind in _POSITIONAL and n in op]
    o_order = [n for n, p in op.items() if p.kind in _POSITIONAL and n in tp]
    if t_order != o_order:
        diffs.append(f"{qual} positional order {t_order} vs {o_order}")
    return diffs


def _own_members(cls: type) -> list[str]:
    """Public members azure-identity itself defines (not those inherited from azure-core or builtins)."""
    names = []
    for name in dir(cls):
        if name.startswith("_") and name not in _CONTEXT:
            continue
        origin = next((k for k in cls.__mro__ if name in vars(k)), None)
        if origin is not None and origin.__module__.startswith("azure.identity"):
            names.append(name)
    return names


def _has_constructor(cls: type) -> bool:
    """A class azure-identity gives a constructor (its own, or a base's: aio SharedTokenCacheCredential
    inherits SharedTokenCacheBase's); constant holders have none."""
    return any("__init__" in vars(k) for k in cls.__mro__ if k.__module__.startswith("azure.identity"))


def differences(theirs_module: str, ours_module: str, name: str) -> list[str]:
    theirs = _resolve(importlib.import_module(theirs_module), name)
    ours = _resolve(importlib.import_module(ours_module), name)
    if ours is None:
        return [f"missing {name}"]
    if not inspect.isclass(theirs):
        return _compare_parameters(name, theirs, ours) if callable(theirs) else []
    if not inspect.isclass(ours):
        return [f"{name} is not a class"]
    diffs = []
    if _has_constructor(theirs) or issubclass(theirs, BaseException):
        diffs += _compare_parameters(f"{name}.__init__", theirs.__init__, ours.__init__)
    else:  # constant holders: AzureAuthorityHosts, KnownAuthorities
        t_values = {k: getattr(theirs, k) for k in dir(theirs) if not k.startswith("_")}
        o_values = {k: getattr(ours, k) for k in dir(ours) if not k.startswith("_")}
        if t_values != o_values:
            diffs.append(f"{name} values {t_values} vs {o_values}")
    for member in _own_members(theirs):
        qual = f"{name}.{member}"
        if not hasattr(ours, member):
            diffs.append(f"{qual} missing")
            continue
        t_static, o_static = inspect.getattr_static(theirs, member), inspect.getattr_static(ours, member)
        if isinstance(t_static, property) != isinstance(o_static, property):
            diffs.append(f"{qual} property vs method")
            continue
        t_member, o_member = getattr(theirs, member), getattr(ours, member)
        if not callable(t_member) or isinstance(t_static, property):
            continue
        if inspect.iscoroutinefunction(t_member) != inspect.iscoroutinefunction(o_member):
            diffs.append(
                f"{qual} coroutine: {inspect.iscoroutinefunction(t_member)} vs "
                f"{inspect.iscoroutinefunction(o_member)}"
            )
        if member not in _CONTEXT:
            diffs += _compare_parameters(qual, t_member, o_member)
    return diffs


def _cases() -> Iterator[Any]:
    for theirs_module, ours_module in PAIRS:
        for name in sorted(_public_names(importlib.import_module(theirs_module))):
            yield pytest.param(theirs_module, ours_module, name, id=f"{ours_module}.{name}")


def _check(found: list[str]) -> None:
    unexplained = [d for d in found if not _explained(d) and d not in KNOWN_BUGS]
    assert not unexplained, (
        "Differences from azure-identity that are neither in DIFFERENCES (and README) nor in KNOWN_BUGS:\n  "
        + "\n  ".join(unexplained)
    )
    bugs = [d for d in found if d in KNOWN_BUGS]
    if bugs:
        pytest.xfail("known bugs (reported): " + "; ".join(bugs))


@pytest.mark.parametrize(("theirs_module", "ours_module", "name"), list(_cases()))
def test_same_public_api(theirs_module: str, ours_module: str, name: str) -> None:
    _check(differences(theirs_module, ours_module, name))


@pytest.mark.parametrize(("theirs_module", "ours_module"), PAIRS)
def test_no_unexplained_additions(theirs_module: str, ours_module: str) -> None:
    added = _public_names(importlib.import_module(ours_module)) - _public_names(
        importlib.import_module(theirs_module)
    )
    _check([f"added {ours_module}.{name}" for name in sorted(added)])


def test_known_bugs_are_still_observed() -> None:
    """A KNOWN_BUGS entry nobody observes any more must be removed (its fix landed)."""
    observed = {
        d
        for t, o in PAIRS
        for name in _public_names(importlib.import_module(t))
        for d in differences(t, o, name)
    }
    if not _chain_continues_past_azure_identity_unavailable():
        observed.add(INTEROP_BUG)
    stale = sorted(set(KNOWN_BUGS) - observed)
    assert not stale, f"fixed, remove from KNOWN_BUGS: {stale}"


def test_every_difference_is_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    assert README_SECTION in text, f"README.md has no {README_SECTION!r} section"
    section = text.split(README_SECTION, 1)[1].split("\n## ", 1)[0]
    missing = [d.row for d in DIFFERENCES if f"| {d.row} |" not in section]
    assert not missing, f"rows missing from README's table: {missing}"


# --- documented keywords ----------------------------------------------------------------------------

KEYWORD_DOC = re.compile(r":keyword\s+(?:[^:]*?\s)?(\w+)\s*:")
GUID = str(uuid.uuid4())


def _documented_keywords() -> Iterator[Any]:
    for theirs_module, ours_module in PAIRS:
        module = importlib.import_module(theirs_module)
        for name in sorted(_public_names(module)):
            cls = getattr(module, name)
            if _explained(f"missing {name}"):  # not built: nothing to compare
                continue
            if not inspect.isclass(cls) or issubclass(cls, BaseException) or not _has_constructor(cls):
                continue
            explicit = set(inspect.signature(cls.__init__).parameters)
            for keyword in dict.fromkeys(KEYWORD_DOC.findall(inspect.getdoc(cls) or "")):
                if keyword not in explicit:
                    yield pytest.param(ours_module, name, keyword, id=f"{ours_module}.{name}-{keyword}")


@pytest.fixture(scope="module")
def certificates(emulator_session: Emulator) -> dict[str, Any]:
    app = emulator_session.apps["cert"]
    assert app.cert_pem_path and app.cert_pem_encrypted_path
    return {
        "plain": Path(app.cert_pem_path).read_bytes(),
        "encrypted": Path(app.cert_pem_encrypted_path).read_bytes(),
        "password": app.cert_password,
    }


def _arguments(name: str, keyword: str, certs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    values: dict[str, Any] = {
        "authority": "https://login.microsoftonline.com",
        "tenant_id": GUID,
        "client_id": GUID,
        "subscription": "sub",
        "process_timeout": 5,
        "additionally_allowed_tenants": ["*"],
        "disable_instance_discovery": True,
        "cache_persistence_options": azidentity.TokenCachePersistenceOptions(name="azidentity-parity"),
        "certificate_data": certs["plain"],
        "password": certs["password"],
        "send_certificate_chain": True,
        "enable_support_logging": True,
        "timeout": 5,
        "prompt_callback": lambda *a: None,
        "disable_automatic_authentication": True,
        "login_hint": "user@example.test",
        "redirect_uri": "http://localhost:8400",
        "identity_config": {"object_id": GUID},
        "token_file_path": "/nonexistent/token",
        "enable_azure_proxy": True,
        "service_connection_id": "sc",
        "system_access_token": "t",
        "client_secret": "s",
        "client_certificate": certs["plain"],
        "client_assertion_func": lambda: "assertion",
        "user_assertion": "a",
        "require_envvar": False,
        "shared_cache_username": "user@example.test",
        "authentication_record": azidentity.AuthenticationRecord(
            GUID, GUID, "login.microsoftonline.com", f"{GUID}.{GUID}", "user@example.test"
        ),
    }
    base: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {
        "CertificateCredential": ((GUID, GUID), {"certificate_data": certs["plain"]}),
        "ClientSecretCredential": ((GUID, GUID, "s"), {}),
        "ClientAssertionCredential": ((GUID, GUID, lambda: "assertion"), {}),
        "UsernamePasswordCredential": ((GUID, "user@example.test", "p"), {}),
        "OnBehalfOfCredential": ((GUID, GUID), {"client_secret": "s", "user_assertion": "a"}),
        "AzurePipelinesCredential": (
            (),
            {"tenant_id": GUID, "client_id": GUID, "service_connection_id": "sc", "system_access_token": "t"},
        ),
        "WorkloadIdentityCredential": (
            (),
            {"tenant_id": GUID, "client_id": GUID, "token_file_path": "/nonexistent/token"},
        ),
        "AuthorizationCodeCredential": ((GUID, GUID, "code", "http://localhost:8400"), {}),
    }
    args, kwargs = base.get(name, ((), {}))
    kwargs = dict(kwargs)
    if keyword == "password":  # a password goes with an encrypted key
        kwargs["certificate_data" if name == "CertificateCredential" else "client_certificate"] = certs[
            "encrypted"
        ]
    if name == "OnBehalfOfCredential" and keyword in (
        "client_certificate",
        "client_assertion_func",
        "password",
        "send_certificate_chain",
    ):
        kwargs.pop("client_secret")
        if keyword == "send_certificate_chain":
            kwargs["client_certificate"] = certs["plain"]
    kwargs[keyword] = values.get(keyword, True if keyword.startswith("exclude_") else GUID)
    if keyword == "password":
        kwargs[keyword] = certs["password"]
    return args, kwargs


def _leftover_keywords(obj: Any, seen: set[int] | None = None, depth: int = 0) -> set[str]:
    """Keywords a credential (or a member or inner credential of it) passes on to azure-core."""
    seen = seen if seen is not None else set()
    if id(obj) in seen or depth > 4 or not hasattr(obj, "__dict__"):
        return set()
    seen.add(id(obj))
    found = set(vars(obj).get("_pipeline_kwargs") or {})
    for value in vars(obj).values():
        for item in value if isinstance(value, (list, tuple)) else (value,):
            if type(item).__module__.startswith("azidentity"):
                found |= _leftover_keywords(item, seen, depth + 1)
    return found


@pytest.mark.parametrize(("ours_module", "name", "keyword"), list(_documented_keywords()))
def test_documented_keywords_are_consumed(
    ours_module: str, name: str, keyword: str, certificates: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A keyword azure-identity documents must be handled by our constructor, not handed to azure-core."""
    cls = _resolve(importlib.import_module(ours_module), name)
    if cls is None:
        pytest.skip(f"{name} is missing (test_same_public_api reports it)")
    for variable in list(os.environ):
        if variable.startswith(("AZURE_", "IDENTITY_", "MSI_", "IMDS_")):
            monkeypatch.delenv(variable)
    # Persistence options must be accepted, but the test must not open the machine's secret store.
    from azidentity._cache.memory import TokenCache
    from azidentity._credential import CredentialBase

    monkeypatch.setattr(CredentialBase, "_new_cache", lambda self: TokenCache(self._clock))
    args, kwargs = _arguments(name, keyword, certificates)
    deprecated = name == "UsernamePasswordCredential"
    with (
        pytest.warns(DeprecationWarning, match="UsernamePasswordCredential is deprecated")
        if deprecated
        else contextlib.nullcontext()
    ):
        credential = cls(*args, **kwargs)
    try:
        leftovers = _leftover_keywords(credential)
        assert keyword not in leftovers, (
            f"{name} does not handle {keyword!r}: it reaches azure-core's pipeline"
        )
    finally:
        closing = credential.close() if hasattr(credential, "close") else None
        if inspect.isawaitable(closing):
            asyncio.run(closing)


# --- exceptions, protocols, interoperation -----------------------------------------------------------


@pytest.mark.parametrize("name", ["CredentialUnavailableError", "AuthenticationRequiredError"])
def test_exception_hierarchy(name: str) -> None:
    theirs, ours = getattr(azure.identity, name), getattr(azidentity, name)
    ours_mro = {(c.__module__.split(".")[0] == "azidentity", c.__name__) for c in ours.__mro__} | set(
        ours.__mro__
    )
    for base in theirs.__mro__:
        if base.__module__.startswith("azure.identity"):
            assert (True, base.__name__) in ours_mro, (
                f"azidentity.{name} should derive from azidentity.{base.__name__}"
            )
        else:
            assert base in ours.__mro__, (
                f"azidentity.{name} should derive from {base.__module__}.{base.__name__}"
            )


def test_authentication_failed_error_is_what_azure_identity_raises() -> None:
    assert issubclass(azidentity.AuthenticationFailedError, ClientAuthenticationError)
    assert not issubclass(azidentity.AuthenticationFailedError, azidentity.CredentialUnavailableError)


def test_credentials_satisfy_azure_core_protocols() -> None:
    sync = azidentity.ClientSecretCredential(GUID, GUID, "s")
    asynchronous = azidentity.aio.ClientSecretCredential(GUID, GUID, "s")
    assert isinstance(sync, TokenCredential) and isinstance(sync, SupportsTokenInfo)
    assert isinstance(asynchronous, AsyncTokenCredential) and isinstance(asynchronous, AsyncSupportsTokenInfo)
    asyncio.run(asynchronous.close())
    sync.close()


def test_authentication_record_round_trips_between_the_libraries() -> None:
    fields = ("tenant_id", "client_id", "authority", "home_account_id", "username")
    values = (GUID, GUID, "login.microsoftonline.com", f"{GUID}.{GUID}", "user@example.test")
    ours = azidentity.AuthenticationRecord(*values)
    theirs = azure.identity.AuthenticationRecord.deserialize(ours.serialize())
    assert tuple(getattr(theirs, f) for f in fields) == values
    back = azidentity.AuthenticationRecord.deserialize(
        azure.identity.AuthenticationRecord(*values).serialize()
    )
    assert tuple(getattr(back, f) for f in fields) == values


class _Fine:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("token", 2**31)


class _SkipMe:
    """A custom credential written for azure-identity: it asks a chain to skip it."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        raise azure.identity.CredentialUnavailableError("skip me")


def _chain_continues_past_azure_identity_unavailable() -> bool:
    chain = azidentity.ChainedTokenCredential(_SkipMe(), _Fine())
    try:
        return chain.get_token("https://example.test/.default").token == "token"
    except ClientAuthenticationError:
        return False


def test_chain_continues_past_azure_identity_unavailable() -> None:
    assert _chain_continues_past_azure_identity_unavailable()


class _OurUnavailable:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        raise azidentity.CredentialUnavailableError("skip me")


def test_azure_identity_chain_stops_on_our_unavailable() -> None:
    """The README's "Mixing the libraries' chains" row: azure-identity's behaviour, which we cannot change."""
    chain = azure.identity.ChainedTokenCredential(_OurUnavailable(), _Fine())
    with pytest.raises(ClientAuthenticationError):
        chain.get_token("https://example.test/.default")
