"""Host specifics: Azure Arc's key-file challenge, Service Fabric's pinned TLS, App Service errors."""

from __future__ import annotations

import os
import pathlib
import time

import pytest

import canary
from azidentity import AuthenticationFailedError
from azidentity._mitigations import ROWS
from managed_identity_testlib import (  # noqa: F401 - fresh_mi_cache is an autouse fixture
    SCOPE,
    Sleeps,
    closed_port,
    fresh_mi_cache,
    make,
    requests_to,
)

BUSY = {"error": "temporarily_unavailable", "error_description": "try again later"}


def assert_row(error, key):
    assert error.mitigation == ROWS[key].mitigation, str(error)
    assert f"Mitigation: {ROWS[key].mitigation}" in str(error)


# -- Azure Arc -----------------------------------------------------------------------------------------------


def register_arc_keys(emu):
    for path in pathlib.Path(emu.arc_token_dir).glob("*.key"):
        canary.register_secret(path.read_text())


def test_arc_challenge_flow(flavor, emulator):
    token = flavor.get_token(make(flavor, emulator, "arc"), SCOPE)
    register_arc_keys(emulator)  # the key's contents must never be shown anywhere
    emulator.verify_token(token.token)
    challenge, answer = requests_to(emulator, "arc")
    assert "Authorization" not in challenge.headers
    assert answer.headers["Authorization"].startswith("Basic ")
    assert answer.query == challenge.query and answer.headers.get("Metadata") == "true"


def challenge(emu, path: str, **extra):
    """Make the Arc agent name ``path`` in its challenge (once)."""
    emu.faults.add(
        "arc",
        status=401,
        body={"error": "unauthorized_client"},
        headers={"WWW-Authenticate": f"Basic realm={path}", **extra},
        match=lambda r: "Authorization" not in r.headers,
    )


@pytest.fixture
def arc_files(emulator, tmp_path):
    """Files for key-file attacks: inside the agent's directory, and outside it."""
    tokens = pathlib.Path(emulator.arc_token_dir)
    made: list[pathlib.Path] = []

    def put(path: pathlib.Path, data: bytes | None = b"k" * 64, link_to: pathlib.Path | None = None):
        if link_to is not None:
            path.symlink_to(link_to)
        else:
            path.write_bytes(data or b"")
        made.append(path)
        return path

    yield tokens, tmp_path, put
    for path in made:
        path.unlink(missing_ok=True)


def test_arc_key_file_attacks_are_refused(flavor, emulator, arc_files):
    tokens, elsewhere, put = arc_files
    outside = put(elsewhere / "stolen.key", b"top secret file contents")
    canary.register_secret("top secret file contents")
    cases = {
        str(outside): "not in the agent's token directory",
        f"{tokens}/../{outside.name}": "not in the agent's token directory",
        f"{tokens}/../../../../../../../../etc/passwd.key": "not in the agent's token directory",
        str(put(tokens / "link.key", link_to=outside)): "resolves to",
        str(put(tokens / "notes.txt")): "'.key' extension",
        str(put(tokens / "big.key", b"x" * 4097)): "4096 bytes",
        str(tokens / "missing.key"): "Could not read file",
        str(put(tokens / "empty.key", b"")): "empty",
        "relative.key": "not absolute",
    }
    for path, text in cases.items():
        emulator.reset()
        challenge(emulator, path)
        with pytest.raises(AuthenticationFailedError) as info:
            flavor.get_token(make(flavor, emulator, "arc"), SCOPE)
        message = str(info.value)
        assert text in message, (path, message)
        assert "The key file path is invalid" in message and info.value.status_code == 401
        assert_row(info.value, "mi-arc-key-file")
        assert emulator.count("arc") == 1, path  # nothing was sent back


def test_arc_directory_with_a_symlinked_path_to_itself_is_fine(flavor, emulator, arc_files, tmp_path):
    tokens, _, _ = arc_files
    alias = tmp_path / "alias"
    alias.symlink_to(tokens, target_is_directory=True)
    flavor.get_token(make(flavor, emulator, "arc", _arc_token_dir=str(alias)), SCOPE)
    register_arc_keys(emulator)


@pytest.mark.parametrize("header", [None, "Bearer realm=x", "Basic realm="])
def test_arc_bad_challenge_header(flavor, emulator, header):
    emulator.faults.add(
        "arc",
        status=401,
        body={"error": "unauthorized_client"},
        headers={"WWW-Authenticate": header} if header else {},
    )
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(make(flavor, emulator, "arc"), SCOPE)
    assert "WWW-Authenticate" in str(info.value) or "empty" in str(info.value)
    assert_row(info.value, "mi-arc-key-file")


def test_arc_rejects_the_key(flavor, emulator):
    emulator.faults.add(
        "arc", status=401, body={"error": "unauthorized_client"}, match=lambda r: "Authorization" in r.headers
    )
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(make(flavor, emulator, "arc"), SCOPE)
    register_arc_keys(emulator)
    assert "refused the key" in str(info.value)
    assert emulator.count("arc") == 2


@pytest.mark.parametrize("kind", ["client_id", "object_id", "resource_id"])
def test_arc_must_echo_the_user_assigned_identity(flavor, emulator, kind):
    identity = emulator.managed_identities.user[0]
    body = {
        "access_token": "opaque-arc-token",
        "expires_on": str(int(time.time()) + 3600),
        "client_id": emulator.managed_identities.system.client_id,
    }
    emulator.faults.add("arc", status=200, body=body, match=lambda r: "Authorization" in r.headers)
    kwargs = (
        {"client_id": identity.client_id}
        if kind == "client_id"
        else {"identity_config": {kind: getattr(identity, kind)}}
    )
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(make(flavor, emulator, "arc", **kwargs), SCOPE)
    register_arc_keys(emulator)
    assert "Azure Arc did not confirm the requested user-assigned managed identity" in str(info.value)
    assert "opaque-arc-token" not in str(info.value)
    assert_row(info.value, "mi-arc-user-assigned")


def test_arc_retries_server_errors(flavor, emulator):
    sleeps = Sleeps()
    emulator.faults.add("arc", status=503, body=BUSY, times=2)
    emulator.verify_token(flavor.get_token(make(flavor, emulator, "arc", sleeps=sleeps), SCOPE).token)
    register_arc_keys(emulator)
    assert sleeps == [0.8, 1.6]


def test_arc_default_token_directory_is_the_agents(emulator):
    import azidentity

    credential = azidentity.ManagedIdentityCredential(_env=emulator.env("arc"))
    if os.name != "nt":
        with credential, pytest.raises(AuthenticationFailedError) as info:
            credential.get_token(SCOPE)
        assert "/var/opt/azcmagent/tokens" in str(info.value) or "not supported" in str(info.value)


# -- Service Fabric ------------------------------------------------------------------------------------------


def sf_env(emu, **overrides):
    env = dict(emu.env("service-fabric"))
    env.update(overrides)
    return env


def test_service_fabric_thumbprint_mismatch(flavor, emulator):
    sleeps = Sleeps()
    credential = make(
        flavor, emulator, None, env=sf_env(emulator, IDENTITY_SERVER_THUMBPRINT="ab" * 20), sleeps=sleeps
    )
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(credential, SCOPE)
    assert "does not match IDENTITY_SERVER_THUMBPRINT" in str(info.value)
    assert_row(info.value, "mi-service-fabric-thumbprint")
    assert emulator.count("service-fabric") == 0  # the secret never left: the handshake was refused
    assert sleeps == []  # a certificate refusal is not retried


def test_service_fabric_thumbprint_formats(flavor, emulator):
    spaced = ":".join(emulator.service_fabric_thumbprint[i : i + 2] for i in range(0, 40, 2)).upper()
    credential = make(flavor, emulator, None, env=sf_env(emulator, IDENTITY_SERVER_THUMBPRINT=spaced))
    emulator.verify_token(flavor.get_token(credential, SCOPE).token)


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        ({"IDENTITY_SERVER_THUMBPRINT": "not-a-thumbprint"}, "SHA-1 certificate thumbprint"),
        ({"IDENTITY_ENDPOINT": "http://127.0.0.1:9/sf/token"}, "must use HTTPS"),
    ],
)
def test_service_fabric_configuration_errors(flavor, emulator, overrides, text):
    credential = make(flavor, emulator, None, env=sf_env(emulator, **overrides))
    with pytest.raises(AuthenticationFailedError, match=text):
        flavor.get_token(credential, SCOPE)
    assert emulator.count() == 0


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_service_fabric_refuses_redirects(flavor, emulator, status):
    target = f"http://127.0.0.1:{closed_port()}/steal"
    emulator.faults.add("service-fabric", status=status, body={"moved": True}, headers={"Location": target})
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(make(flavor, emulator, "service-fabric"), SCOPE)
    assert "redirect" in str(info.value) and target in str(info.value)
    assert_row(info.value, "mi-redirect")
    assert emulator.count() == 1


def test_service_fabric_error_response(flavor, emulator):
    credential = make(flavor, emulator, None, env=sf_env(emulator, IDENTITY_HEADER="wrong-secret-value"))
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(credential, SCOPE)
    assert "The Secret header value does not match" in str(info.value) and info.value.status_code == 401


# -- App Service, Cloud Shell, Azure ML ---------------------------------------------------------------------


def test_app_service_wrong_header(flavor, emulator):
    credential = make(
        flavor, emulator, None, env={**emulator.env("app-service"), "IDENTITY_HEADER": "rotated-value"}
    )
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(credential, SCOPE)
    assert "The App Service identity endpoint refused the request (401)" in str(info.value)
    assert_row(info.value, "mi-app-service-error")


def test_app_service_unknown_identity(flavor, emulator):
    credential = make(flavor, emulator, "app-service", identity_config={"object_id": "not-assigned"})
    with pytest.raises(AuthenticationFailedError, match="Unable to load requested managed identity"):
        flavor.get_token(credential, SCOPE)


def test_app_service_retries_exhausted(flavor, emulator):
    sleeps = Sleeps()
    emulator.faults.add("app-service", status=500, body=BUSY, times=None)
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(make(flavor, emulator, "app-service", sleeps=sleeps), SCOPE)
    assert "Multiple attempts failed" in str(info.value)
    assert sleeps == [0.8, 1.6, 3.2] and emulator.count("app-service") == 4


def test_app_service_hang_ends_within_read_timeout(flavor, emulator):
    emulator.faults.add("app-service", hang=True, times=None)
    credential = make(flavor, emulator, "app-service", read_timeout=0.3, retry_total=0)
    start = time.monotonic()
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(credential, SCOPE)
    assert time.monotonic() - start < 0.3 + 2.5
    assert "No response received from the managed identity endpoint" in str(info.value)
    assert_row(info.value, "mi-no-response")


def test_cloud_shell_and_azure_ml_no_response(flavor):
    port = closed_port()
    for env in (
        {"MSI_ENDPOINT": f"http://127.0.0.1:{port}/x"},
        {"MSI_ENDPOINT": f"http://127.0.0.1:{port}/x", "MSI_SECRET": "s3cret-value"},
    ):
        credential = flavor.make("ManagedIdentityCredential", _env=env, _sleep=Sleeps())
        with pytest.raises(AuthenticationFailedError) as info:
            flavor.get_token(credential, SCOPE)
        assert_row(info.value, "mi-no-response")


def test_azure_ml_wrong_secret(flavor, emulator):
    env = {**emulator.env("azure-ml"), "MSI_SECRET": "wrong-secret-value"}
    with pytest.raises(AuthenticationFailedError) as info:
        flavor.get_token(make(flavor, emulator, None, env=env), SCOPE)
    assert info.value.status_code == 401 and "secret" in str(info.value)
