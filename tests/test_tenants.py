"""Per-request tenant rules, authority validation and the tenant charset."""

from __future__ import annotations

import pytest

from azidentity import AuthenticationFailedError
from azidentity._authority import normalize_authority, resolve_tenant

SCOPE = "https://vault.azure.net/.default"


def make(flavor, emu, **kwargs):
    return flavor.secret_credential(emu, **kwargs)


def test_other_tenant_refused_with_both_tenants_and_the_option_named(flavor, emulator):
    credential = make(flavor, emulator)
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(credential, SCOPE, tenant_id=emulator.other_tenant_id)
    text = str(info.value)
    assert emulator.other_tenant_id in text and emulator.tenant_id in text
    assert "additionally_allowed_tenants" in text
    assert emulator.count("token") == 0


@pytest.mark.parametrize("allowed", [["*"], ["placeholder"]])
def test_additionally_allowed_tenants(flavor, emulator, allowed):
    allowed = [emulator.other_tenant_id if a == "placeholder" else a for a in allowed]
    credential = make(flavor, emulator, additionally_allowed_tenants=allowed)
    token = flavor.get_token(credential, SCOPE, tenant_id=emulator.other_tenant_id)
    assert emulator.verify_token(token.token)["tid"] == emulator.other_tenant_id
    # separate cache entries per tenant
    token2 = flavor.get_token(credential, SCOPE)
    assert emulator.verify_token(token2.token)["tid"] == emulator.tenant_id


def test_disable_multitenant_auth_pins_the_configured_tenant(flavor, emulator, monkeypatch):
    monkeypatch.setenv("AZURE_IDENTITY_DISABLE_MULTITENANTAUTH", "true")
    credential = make(flavor, emulator)
    token = flavor.get_token(credential, SCOPE, tenant_id=emulator.other_tenant_id)
    assert emulator.verify_token(token.token)["tid"] == emulator.tenant_id


def test_resolve_tenant_order():
    assert resolve_tenant("a", None, [], "C", env={}) == "a"
    assert resolve_tenant("a", "a", [], "C", env={}) == "a"
    assert resolve_tenant("adfs", "b", [], "C", env={}) == "adfs"
    assert resolve_tenant("a", "b", [], "C", env={"AZURE_IDENTITY_DISABLE_MULTITENANTAUTH": "1"}) == "a"
    assert resolve_tenant("", "b", [], "C", env={}) == "b"
    assert resolve_tenant("a", "b", ["*"], "C", env={}) == "b"
    assert resolve_tenant("a", "b", ["b"], "C", env={}) == "b"
    assert resolve_tenant("organizations", "b", [], "C", env={}) == "b"
    with pytest.raises(AuthenticationFailedError):
        resolve_tenant("organizations", "b", ["c"], "C", env={})
    # azure-identity checks no charset for a request's tenant: only what would change the URL is refused.
    for unusual in ("invalid@tenant", "invalid(tenant", "invalid:tenant", "tenänt"):
        assert resolve_tenant("a", unusual, ["*"], "C", env={}) == unusual
    for bad in ("invalid/tenant", "a b", "a?b", "a#b", "a%2F", "a\\b", ".", "..", "a\x00b"):
        with pytest.raises(ValueError, match="Invalid tenant ID"):
            resolve_tenant("a", bad, ["*"], "C", env={})


@pytest.mark.parametrize("strict", [True, False])
def test_tenant_charset(strict):
    from azidentity._authority import validate_tenant_id

    for good in ("contoso.onmicrosoft.com", "72f988bf-86f1-41af-91ab-2d7cd011db47", "organizations", "..."):
        validate_tenant_id(good, strict=strict)
    for unusual in ("tenant_1", "invalid@tenant", "tenänt", "a:b", "a;b"):
        if strict:  # azure-identity's charset, for the credentials where azure-identity checks it
            with pytest.raises(ValueError, match="Invalid tenant ID"):
                validate_tenant_id(unusual, strict=strict)
        else:
            validate_tenant_id(unusual, strict=strict)
    for bad in ("", "a/b", "a\\b", "a?b", "a#b", "a%41", "a b", "a\tb", "a\nb", ".", ".."):
        with pytest.raises(ValueError, match="Invalid tenant ID"):
            validate_tenant_id(bad, strict=strict)


def test_url_segment_escapes_what_a_path_segment_cannot_hold():
    from azidentity._protocol.entra import token_url, url_segment

    assert url_segment("contoso.onmicrosoft.com") == "contoso.onmicrosoft.com"
    assert url_segment("tenant@contoso:1!") == "tenant@contoso:1!"
    assert url_segment("tenänt") == "ten%C3%A4nt"
    assert url_segment('a"b<c>|') == "a%22b%3Cc%3E%7C"
    assert token_url("https://h", "tenänt") == "https://h/ten%C3%A4nt/oauth2/v2.0/token"


def test_lenient_credentials_send_unusual_tenants_over_the_wire(flavor, emulator):
    """ClientAssertionCredential takes any tenant azure-identity takes; the emulator sees it in the path
    (and, knowing no such tenant, refuses it the way Entra ID does)."""
    credential = flavor.make(
        "ClientAssertionCredential",
        "tenänt_1",
        "client",
        lambda: "assertion",
        authority=emulator.base_url,
        connection_verify=emulator.ca_bundle_path,
    )
    with pytest.raises(AuthenticationFailedError):
        flavor.get_token(credential, SCOPE)
    (request,) = [r for r in emulator.requests if r.route == "token"] or emulator.requests
    assert "ten%C3%A4nt_1" in request.path or "tenänt_1" in request.path


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("login.microsoftonline.com", "https://login.microsoftonline.com"),
        ("https://login.chinacloudapi.cn/", "https://login.chinacloudapi.cn"),
        ("  login.microsoftonline.us/  ", "https://login.microsoftonline.us"),
    ],
)
def test_authority_normalization(value, expected):
    assert normalize_authority(value, env={}) == expected


@pytest.mark.parametrize(
    "value",
    [
        "http://login.microsoftonline.com",
        "https://user:pw@login.microsoftonline.com",
        "https://login.microsoftonline.com/#frag",
        "https://login.microsoftonline.com?x=1",
        "ftp://x",
    ],
)
def test_bad_authorities_refused(value):
    with pytest.raises(ValueError, match="invalid authority"):
        normalize_authority(value, env={})


def test_authority_from_environment(emulator, monkeypatch):
    import azidentity

    monkeypatch.setenv("AZURE_AUTHORITY_HOST", emulator.base_url)
    app = emulator.apps["secret"]
    with azidentity.ClientSecretCredential(
        emulator.tenant_id, app.client_id, app.secret, connection_verify=emulator.ca_bundle_path
    ) as credential:
        assert credential.get_token(SCOPE).token
    assert emulator.count("token") == 1


def test_sovereign_hosts():
    from azidentity import AzureAuthorityHosts, KnownAuthorities

    assert KnownAuthorities is AzureAuthorityHosts
    assert AzureAuthorityHosts.AZURE_CHINA == "login.chinacloudapi.cn"
    assert AzureAuthorityHosts.AZURE_GOVERNMENT == "login.microsoftonline.us"
    assert AzureAuthorityHosts.AZURE_PUBLIC_CLOUD == "login.microsoftonline.com"
    with pytest.warns(DeprecationWarning):
        assert AzureAuthorityHosts.AZURE_GERMANY == "login.microsoftonline.de"
