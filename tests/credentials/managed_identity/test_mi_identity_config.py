"""identity_config and client_id as azure-identity 1.27 takes them: what it accepts is accepted (unknown keys
are dropped with a WARNING), and ValueError is raised exactly where it raises one, with its text.

Every request goes to the emulator over loopback sockets; the query it received shows which identity was
asked for.
"""

from __future__ import annotations

import logging

import pytest

from azidentity import AuthenticationFailedError
from managed_identity_testlib import (  # noqa: F401 - fresh_mi_cache is an autouse fixture
    SCOPE,
    fresh_mi_cache,
    make,
    requests_to,
)

ROUTES = {"imds": "imds", "app-service": "app-service", "arc": "arc", "azure-ml": "azure-ml"}
ID_PARAMETERS = (
    "client_id",
    "clientid",
    "object_id",
    "msi_res_id",
    "mi_res_id",
    "resource_id",
    "principal_id",
)
KEYS = "client_id, object_id, resource_id"


def warnings_of(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name.startswith("azidentity")
    ]


def asked_for(emulator, host):
    """The identity parameters of the last token request ``host`` received (the answer, on Arc)."""
    query = requests_to(emulator, ROUTES[host])[-1].query
    return {k: v for k, v in query.items() if k in ID_PARAMETERS}


@pytest.mark.parametrize("host", ["imds", "app-service", "arc"])
def test_unknown_keys_are_dropped_with_a_warning(flavor, emulator, caplog, host):
    with caplog.at_level(logging.WARNING, logger="azidentity"):
        credential = make(flavor, emulator, host, identity_config={"principal": "p", "tenant": "t"})
    flavor.get_token(credential, SCOPE)
    assert asked_for(emulator, host) == {}  # the system-assigned identity, as azure-identity asks for it
    (warning,) = [w for w in warnings_of(caplog) if "identity_config" in w]
    assert "'principal'" in warning and "'tenant'" in warning


def test_unknown_keys_next_to_an_id_key_or_client_id(flavor, emulator, caplog):
    user = emulator.managed_identities.user[0]
    with caplog.at_level(logging.WARNING, logger="azidentity"):
        by_object = make(flavor, emulator, identity_config={"object_id": user.object_id, "extra": "x"})
        by_client = make(flavor, emulator, client_id=user.client_id, identity_config={"extra": "x"})
    flavor.get_token(by_object, SCOPE)
    assert asked_for(emulator, "imds") == {"object_id": user.object_id}
    flavor.get_token(by_client, "https://vault.azure.net/.default")
    assert asked_for(emulator, "imds") == {"client_id": user.client_id}
    assert len([w for w in warnings_of(caplog) if "'extra'" in w]) == 2


@pytest.mark.parametrize(
    ("host", "wire"), [("imds", "msi_res_id"), ("app-service", "mi_res_id"), ("arc", "msi_res_id")]
)
def test_resource_id_is_sent_as_the_hosts_parameter(flavor, emulator, host, wire):
    user = emulator.managed_identities.user[0]
    flavor.get_token(make(flavor, emulator, host, identity_config={"resource_id": user.resource_id}), SCOPE)
    assert asked_for(emulator, host) == {wire: user.resource_id}


@pytest.mark.parametrize(
    "kwargs",
    [{"client_id": ""}, {"identity_config": {}}, {"identity_config": {"client_id": ""}}, {"client_id": None}],
)
def test_empty_ids_mean_the_system_assigned_identity(flavor, emulator, kwargs):
    token = flavor.get_token(make(flavor, emulator, **kwargs), SCOPE)
    assert emulator.verify_token(token.token)["oid"] == emulator.managed_identities.system.object_id
    assert asked_for(emulator, "imds") == {}


def test_a_blank_id_is_refused_when_a_token_is_requested(flavor, emulator):
    credential = make(flavor, emulator, client_id="   ")  # azure-identity sends it; IMDS refuses it
    with pytest.raises(AuthenticationFailedError, match="client_id is blank"):
        flavor.get_token(credential, SCOPE)
    assert emulator.count() == 0


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        (
            {"client_id": "c", "identity_config": {"object_id": "o"}},
            "When 'client_id' is provided as a keyword argument, 'identity_config' must not contain any of "
            f"the following keys: {KEYS}",
        ),
        (
            {"client_id": "c", "identity_config": {"client_id": ""}},
            "When 'client_id' is provided as a keyword argument",
        ),
        (
            {"identity_config": {"object_id": "o", "client_id": "c"}},
            f"identity_config must not contain more than one of the following keys: {KEYS}",
        ),
        (
            {"identity_config": {"resource_id": "", "object_id": "o"}},
            "identity_config must not contain more than one",
        ),
    ],
)
def test_conflicting_ids_raise_value_error_as_azure_identity_does(flavor, kwargs, text):
    with pytest.raises(ValueError) as info:
        flavor.make("ManagedIdentityCredential", _env={}, **kwargs)
    assert str(info.value).startswith(text)


def test_wire_name_keys_select_the_identity_they_name(flavor, emulator, caplog):
    """``msi_res_id`` / ``mi_res_id`` / ``clientid`` (older samples' spellings): read as the id they name
    when no other id is given (azure-identity's async credential sends them as they are; its sync one
    drops them); next to another id they are dropped with a warning, never a ValueError."""
    user = emulator.managed_identities.user[0]
    flavor.get_token(
        make(flavor, emulator, "app-service", identity_config={"msi_res_id": user.resource_id}), SCOPE
    )
    assert asked_for(emulator, "app-service") == {"mi_res_id": user.resource_id}
    with caplog.at_level(logging.WARNING, logger="azidentity"):
        credential = make(
            flavor,
            emulator,
            client_id=user.client_id,
            identity_config={"msi_res_id": "/other", "mi_res_id": "/x"},
        )
    flavor.get_token(credential, SCOPE)
    assert asked_for(emulator, "imds") == {"client_id": user.client_id}
    (warning,) = [w for w in warnings_of(caplog) if "identity_config" in w]
    assert "'msi_res_id'" in warning and "'mi_res_id'" in warning


# -- Cloud Shell ---------------------------------------------------------------------------------------------


def test_cloud_shell_refuses_a_client_id_outside_default_azure_credential(flavor, emulator):
    with pytest.raises(ValueError) as info:
        make(flavor, emulator, "cloud-shell", client_id="c")
    assert str(info.value).startswith("client_id should not be set for cloud shell managed identity.")
    with pytest.raises(ValueError) as info:
        make(flavor, emulator, "cloud-shell", identity_config={"object_id": "o"})
    assert str(info.value).startswith(f"identity_config must not contain the following keys: {KEYS}")
    with pytest.raises(ValueError, match="identity_config must not contain the following keys"):
        make(
            flavor, emulator, "cloud-shell", identity_config={"resource_id": ""}
        )  # the key, whatever its value
    assert emulator.count() == 0


def test_cloud_shell_inside_default_azure_credential_ignores_the_client_id(flavor, emulator):
    """DefaultAzureCredential passes AZURE_CLIENT_ID as managed_identity_client_id; on Cloud Shell
    azure-identity neither raises nor selects another identity there: the signed-in user's token comes
    back."""
    env = {**emulator.env("cloud-shell"), "AZURE_CLIENT_ID": "00000000-0000-0000-0000-0000000000c1"}
    credential = flavor.make(
        "DefaultAzureCredential",
        _env=env,
        exclude_environment_credential=True,
        exclude_workload_identity_credential=True,
        exclude_cli_credential=True,
        exclude_powershell_credential=True,
        exclude_developer_cli_credential=True,
    )
    token = flavor.get_token(credential, SCOPE)
    assert emulator.verify_token(token.token)["oid"] == emulator.managed_identities.system.object_id
    (request,) = requests_to(emulator, "cloud-shell")
    assert "client_id" not in request.form and "client_id" not in request.query


def test_cloud_shell_drops_unknown_keys(flavor, emulator, caplog):
    with caplog.at_level(logging.WARNING, logger="azidentity"):
        credential = make(flavor, emulator, "cloud-shell", identity_config={"msi_res_id": "/r"})
    assert flavor.get_token(credential, SCOPE).token
    assert any("'msi_res_id'" in w for w in warnings_of(caplog))


# -- Service Fabric, workload identity -----------------------------------------------------------------------


def test_service_fabric_refuses_any_identity_config_at_get_token(flavor, emulator):
    """azure-identity raises ClientAuthenticationError for any client_id or non-empty identity_config
    there."""
    credential = make(flavor, emulator, "service-fabric", identity_config={"unknown": "x"})
    with pytest.raises(AuthenticationFailedError, match="Service Fabric managed identity environment"):
        flavor.get_token(credential, SCOPE)
    assert emulator.count() == 0


def test_workload_identity_ignores_object_and_resource_ids_with_a_warning(flavor, emulator, caplog):
    """azure-identity ignores identity_config there (AZURE_CLIENT_ID names the identity): so do we, aloud."""
    env = emulator.env("workload-identity")
    with caplog.at_level(logging.WARNING, logger="azidentity"):
        credential = flavor.make(
            "ManagedIdentityCredential",
            _env=env,
            identity_config={"object_id": "o"},
            connection_verify=emulator.ca_bundle_path,
        )
    claims = emulator.verify_token(flavor.get_token(credential, SCOPE).token)
    assert claims["appid"] == emulator.apps["workload"].client_id
    assert any("object_id" in w and "workload identity" in w for w in warnings_of(caplog))
    without_client = {k: v for k, v in env.items() if k != "AZURE_CLIENT_ID"}
    with pytest.raises(ValueError) as info:
        flavor.make("ManagedIdentityCredential", _env=without_client, identity_config={"object_id": "o"})
    assert str(info.value).startswith(
        "Workload identity was selected but no client ID was provided. Configure the environment with a "
        'client ID or pass a value for "client_id" argument'
    )
