"""EnvironmentCredential: the three configurations against the emulator, and the guide's rows.

Variables are injected with the private ``_env`` mapping, so the process environment is never touched.
"""

from __future__ import annotations

import base64
import json
import logging

import pytest

from azidentity import AuthenticationFailedError, CredentialUnavailableError
from azidentity._credentials.environment import USERNAME_DEPRECATION, parse_bool
from azidentity._errors import EnvironmentConfigurationError
from azidentity._mitigations import ROWS

SCOPE = "https://storage.azure.com/.default"


def sp_env(emu, **extra):
    app = emu.apps["secret"]
    env = {
        "AZURE_TENANT_ID": emu.tenant_id,
        "AZURE_CLIENT_ID": app.client_id,
        "AZURE_CLIENT_SECRET": app.secret,
        "AZURE_AUTHORITY_HOST": emu.base_url,
    }
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def cert_env(emu, path, **extra):
    app = emu.apps["cert"]
    env = {
        "AZURE_TENANT_ID": emu.tenant_id,
        "AZURE_CLIENT_ID": app.client_id,
        "AZURE_CLIENT_CERTIFICATE_PATH": path,
        "AZURE_AUTHORITY_HOST": emu.base_url,
    }
    env.update(extra)
    return env


def make(flavor, emu, env, **kwargs):
    return flavor.make("EnvironmentCredential", _env=env, connection_verify=emu.ca_bundle_path, **kwargs)


def assertion_header(request):
    header = request.form["client_assertion"].split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))


def test_client_secret(flavor, emulator, caplog):
    caplog.set_level(logging.INFO, logger="azidentity")
    credential = make(flavor, emulator, sp_env(emulator))
    assert credential.configuration == "secret"
    assert "EnvironmentCredential will authenticate with ClientSecretCredential" in caplog.text
    token = flavor.get_token(credential, SCOPE)
    claims = emulator.verify_token(token.token)
    assert claims["appid"] == emulator.apps["secret"].client_id and claims["tid"] == emulator.tenant_id
    assert flavor.get_token_info(credential, SCOPE).token == token.token
    assert emulator.count("token") == 1  # cached
    assert "ClientSecretCredential" in repr(credential)


@pytest.mark.parametrize(
    ("kind", "chain_value", "sends_chain"),
    [
        ("pem", None, False),
        ("pem", "true", True),
        ("pem", "false", False),
        ("pem", "0", False),
        ("pem", "1", True),
        ("pem", " TRUE ", True),
        ("encrypted", "no", False),
        ("pfx", "yes", True),
    ],
)
def test_certificate(flavor, emulator, kind, chain_value, sends_chain):
    app = emulator.apps["cert"]
    path = {"pem": app.cert_pem_path, "encrypted": app.cert_pem_encrypted_path, "pfx": app.pfx_password_path}[
        kind
    ]
    extra = {} if kind == "pem" else {"AZURE_CLIENT_CERTIFICATE_PASSWORD": app.cert_password}
    if chain_value is not None:
        extra["AZURE_CLIENT_SEND_CERTIFICATE_CHAIN"] = chain_value
    credential = make(flavor, emulator, cert_env(emulator, path, **extra))
    assert credential.configuration == "certificate"
    token = flavor.get_token(credential, SCOPE)
    assert emulator.verify_token(token.token)["appid"] == app.client_id
    (request,) = [r for r in emulator.requests if r.route == "token"]
    assert ("x5c" in assertion_header(request)) is sends_chain


def test_send_certificate_chain_is_a_real_boolean():
    # azure-identity enables the chain for any non-empty value, "false" included.
    assert [parse_bool("V", v) for v in ("false", "False", "0", "no", "off", "", None)] == [False] * 7
    assert [parse_bool("V", v) for v in ("true", "1", "yes", "on")] == [True] * 4
    with pytest.raises(ValueError, match="V must be a boolean"):
        parse_bool("V", "maybe")


def test_username_password(flavor, emulator):
    user = emulator.users["alice"]
    env = {
        "AZURE_CLIENT_ID": emulator.apps["public"].client_id,
        "AZURE_USERNAME": user.username,
        "AZURE_PASSWORD": user.password,
        "AZURE_TENANT_ID": emulator.tenant_id,
        "AZURE_AUTHORITY_HOST": emulator.base_url,
    }
    with pytest.warns(DeprecationWarning) as record:
        credential = make(flavor, emulator, env)
    assert [str(w.message) for w in record] == [USERNAME_DEPRECATION]  # once, in azure-identity's words
    assert credential.configuration == "username"
    claims = emulator.verify_token(flavor.get_token(credential, SCOPE).token)
    assert claims["oid"] == user.object_id


def test_secret_wins_over_certificate_like_azure_identity(flavor, emulator):
    env = sp_env(emulator, AZURE_CLIENT_CERTIFICATE_PATH="/does/not/matter.pem")
    assert make(flavor, emulator, env).configuration == "secret"


# The guide's row "Missing or incomplete environment variable configuration": which variables are
# set and which are missing, by name.
INCOMPLETE_CASES = [
    (
        {},
        [],
        "none of AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH, "
        "AZURE_USERNAME, AZURE_PASSWORD is set",
    ),
    ({"AZURE_AUTHORITY_HOST": "https://login.example"}, [], "none of AZURE_TENANT_ID"),
    (
        {"AZURE_TENANT_ID": "tenant-value-1", "AZURE_CLIENT_ID": "client-value-1"},
        ["AZURE_TENANT_ID", "AZURE_CLIENT_ID"],
        "Missing: AZURE_CLIENT_SECRET (for a client secret), or AZURE_CLIENT_CERTIFICATE_PATH (for a "
        "certificate), or AZURE_USERNAME and AZURE_PASSWORD (for a username and password).",
    ),
    (
        {"AZURE_CLIENT_ID": "client-value-2", "AZURE_CLIENT_SECRET": "s3cr3t-value"},
        ["AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"],
        "Missing: AZURE_TENANT_ID (for a client secret).",
    ),
    (
        {
            "AZURE_TENANT_ID": "tenant-value-3",
            "AZURE_CLIENT_CERTIFICATE_PATH": "/secret/place.pem",
            "AZURE_CLIENT_CERTIFICATE_PASSWORD": "pw-value-3",
        },
        ["AZURE_TENANT_ID", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_CLIENT_CERTIFICATE_PASSWORD"],
        "Missing: AZURE_CLIENT_ID (for a certificate).",
    ),
    (
        {"AZURE_USERNAME": "u@contoso.com"},
        ["AZURE_USERNAME"],
        "Missing: AZURE_CLIENT_ID and AZURE_PASSWORD (for a username and password).",
    ),
    (
        {"AZURE_CLIENT_SECRET": "s3cr3t-value", "AZURE_PASSWORD": "p4ssw0rd-value"},
        ["AZURE_CLIENT_SECRET", "AZURE_PASSWORD"],
        "Missing: AZURE_TENANT_ID and AZURE_CLIENT_ID (for a client secret), or AZURE_CLIENT_ID and "
        "AZURE_USERNAME (for a username and password).",
    ),
]


@pytest.mark.parametrize(("env", "set_names", "expected"), INCOMPLETE_CASES)
def test_incomplete_configuration_is_unavailable_at_get_token(flavor, env, set_names, expected):
    credential = flavor.make("EnvironmentCredential", _env=env)  # construction succeeds
    assert credential.configuration is None
    with pytest.raises(CredentialUnavailableError) as info:
        flavor.get_token(credential, SCOPE)
    error = info.value
    text = str(error)
    first = text.splitlines()[0]
    assert first.startswith("EnvironmentCredential: Missing or incomplete environment variable configuration")
    assert expected in first
    if set_names:
        assert f"Set: {', '.join(set_names)}." in first
    for value in env.values():
        assert value not in text  # names, never values
    row = ROWS["env-incomplete"]
    assert error.mitigation == row.mitigation and error.troubleshooting_anchor == "environmentcredential"
    assert f"Mitigation: {row.mitigation}" in text
    assert error.credential == "EnvironmentCredential"


def test_incomplete_configuration_logs_a_warning_only_outside_dac(caplog):
    from azidentity import EnvironmentCredential

    caplog.set_level(logging.DEBUG, logger="azidentity")
    EnvironmentCredential(_env={"AZURE_CLIENT_ID": "c"})
    from azidentity._credential import CHAIN, ChainContext

    building = CHAIN.set(ChainContext("DefaultAzureCredential", ("EnvironmentCredential",), default=True))
    try:  # as DefaultAzureCredential builds it
        EnvironmentCredential(_env={"AZURE_CLIENT_ID": "c"})
    finally:
        CHAIN.reset(building)
    levels = [r.levelno for r in caplog.records if "Missing or incomplete" in r.getMessage()]
    assert levels == [logging.WARNING, logging.DEBUG]


BAD_VALUES = [
    ({"AZURE_CLIENT_SECRET": ""}, "AZURE_CLIENT_SECRET", "AZURE_CLIENT_SECRET is set but empty"),
    ({"AZURE_CLIENT_SECRET": "   "}, "AZURE_CLIENT_SECRET", "is set but empty"),
    ({"AZURE_CLIENT_ID": ""}, "AZURE_CLIENT_ID", "AZURE_CLIENT_ID is set but empty"),
    ({"AZURE_TENANT_ID": "not a tenant/../x"}, "AZURE_TENANT_ID", "Invalid tenant ID"),
    ({"AZURE_AUTHORITY_HOST": "http://login.microsoftonline.com"}, "AZURE_AUTHORITY_HOST", "TLS protected"),
]


@pytest.mark.parametrize(("overrides", "variable", "text"), BAD_VALUES)
def test_unusable_value_names_the_variable(emulator, overrides, variable, text):
    from azidentity import EnvironmentCredential

    env = sp_env(emulator, **overrides)
    with pytest.raises(ValueError) as info:
        EnvironmentCredential(_env=env)
    error = info.value
    assert isinstance(error, EnvironmentConfigurationError) and error.variable == variable
    assert str(error).startswith("EnvironmentCredential: ") and text in str(error)
    assert emulator.apps["secret"].secret not in str(error)


@pytest.mark.parametrize(
    ("case", "variable", "text"),
    [
        ("missing", "AZURE_CLIENT_CERTIFICATE_PATH", "cannot be read"),
        ("directory", "AZURE_CLIENT_CERTIFICATE_PATH", "cannot be read"),
        ("garbage", "AZURE_CLIENT_CERTIFICATE_PATH", "neither PEM nor readable PKCS#12"),
        ("wrong-password", "AZURE_CLIENT_CERTIFICATE_PASSWORD", "password"),
        ("no-password", "AZURE_CLIENT_CERTIFICATE_PASSWORD", "encrypted"),
        ("bad-chain-flag", "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", "must be a boolean"),
    ],
)
def test_bad_certificate_names_the_variable_never_a_raw_oserror(emulator, tmp_path, case, variable, text):
    from azidentity import EnvironmentCredential

    app = emulator.apps["cert"]
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"not a certificate")
    path, extra = {
        "missing": (str(tmp_path / "nope.pem"), {}),
        "directory": (str(tmp_path), {}),
        "garbage": (str(garbage), {}),
        "wrong-password": (
            app.cert_pem_encrypted_path,
            {"AZURE_CLIENT_CERTIFICATE_PASSWORD": "wrong-password-1"},
        ),
        "no-password": (app.cert_pem_encrypted_path, {}),
        "bad-chain-flag": (app.cert_pem_path, {"AZURE_CLIENT_SEND_CERTIFICATE_CHAIN": "sometimes"}),
    }[case]
    with pytest.raises(ValueError) as info:
        EnvironmentCredential(_env=cert_env(emulator, path, **extra))
    assert not isinstance(info.value, OSError)
    assert isinstance(info.value, EnvironmentConfigurationError) and info.value.variable == variable
    assert variable in str(info.value) and text in str(info.value)
    assert "wrong-password-1" not in str(info.value)


def test_additionally_allowed_tenants_from_the_environment(flavor, emulator):
    other = emulator.other_tenant_id
    allowed = make(flavor, emulator, sp_env(emulator, AZURE_ADDITIONALLY_ALLOWED_TENANTS=f" x ; {other};"))
    assert allowed._credential._additionally_allowed_tenants == ["x", other]
    claims = emulator.verify_token(flavor.get_token(allowed, SCOPE, tenant_id=other).token)
    assert claims["tid"] == other
    # The keyword wins over the variable.
    refused = make(
        flavor,
        emulator,
        sp_env(emulator, AZURE_ADDITIONALLY_ALLOWED_TENANTS=other),
        additionally_allowed_tenants=[],
    )
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(refused, SCOPE, tenant_id=other)
    assert (
        info.value.troubleshooting_anchor == "microsoft-entra-id"
        and "additionally_allowed_tenants" in str(info.value)
    )


def test_authority_and_pipeline_keywords_reach_the_inner_credential(flavor, emulator):
    env = sp_env(emulator, AZURE_AUTHORITY_HOST="https://login.invalid")
    credential = make(flavor, emulator, env, authority=emulator.base_url, headers={"x-probe": "env"})
    flavor.get_token(credential, SCOPE)
    (request,) = [r for r in emulator.requests if r.route == "token"]
    assert {k.lower(): v for k, v in request.headers.items()}["x-probe"] == "env"


def test_entra_failure_is_the_inner_credentials_error(flavor, emulator):
    credential = make(flavor, emulator, sp_env(emulator, AZURE_CLIENT_SECRET="not-the-right-secret"))
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(credential, SCOPE)
    assert info.value.error_code == "AADSTS7000215" and info.value.credential == "ClientSecretCredential"
