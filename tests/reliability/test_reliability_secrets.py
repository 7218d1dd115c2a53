"""No secret leaks: every credential's str/repr, logs with ``logging_enable=True`` (azure-core's loggers
included), error messages and CLI output, checked here and fed to the suite-wide canary (tests/canary.py).

Each test registers the secrets it configures with the canary, so a leak anywhere in the run (not only
in what a test asserts) fails the session at its end.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import azidentity
import azidentity.aio
import canary

SCOPE = "https://storage.azure.com/.default"
MI_SCOPE = "https://management.azure.com/.default"
# Building every credential builds the deprecated ones: UsernamePasswordCredential, and
# EnvironmentCredential configured with a username and password.
DELIBERATE_DEPRECATIONS = "UsernamePasswordCredential is deprecated|username and password authentication"
TIMEOUT = 60
# Recognisable fake secrets (never valid anywhere): the canary searches for them everywhere.
FAKE = {
    "client_secret": "fake-client-secret-7c1d0e9a4b",
    "password": "fake-user-password-0a9b8c7d",
    "cert_password": "fake-cert-password-31f5",
    "assertion": "fake.client.assertion-5e6f7a8b9c",
    "user_assertion": "fake.user.assertion-1a2b3c4d5e",
    "system_token": "fake-system-access-token-99f1",
    "identity_header": "fake-identity-header-42aa",
    "msi_secret": "fake-msi-secret-17bc",
    "authorization_code": "fake-authorization-code-8d2e",
    "federated": "fake.federated.token-6c7d8e",
}


@pytest.fixture(autouse=True)
def _register_fakes() -> None:
    for value in FAKE.values():
        canary.register_secret(value)


def assertion() -> str:
    """A module-level callback (picklable), returning a fake assertion."""
    return FAKE["assertion"]


def _every_credential(tmp_path: Path, cert: Any) -> list[tuple[str, Any]]:
    """(name, factory(module)) for every public credential, built with the fake secrets."""
    token_file = tmp_path / "federated-token"
    token_file.write_text(FAKE["federated"])
    pem = Path(cert.cert_pem_encrypted_path).read_bytes()
    env_secret = {
        "AZURE_TENANT_ID": "tenant",
        "AZURE_CLIENT_ID": "client",
        "AZURE_CLIENT_SECRET": FAKE["client_secret"],
    }
    factories: list[tuple[str, Any]] = [
        (
            "ClientSecretCredential",
            lambda m: m.ClientSecretCredential("tenant", "client", FAKE["client_secret"]),
        ),
        (
            "CertificateCredential",
            lambda m: m.CertificateCredential(
                "tenant", "client", cert.cert_pem_encrypted_path, password=cert.cert_password
            ),
        ),
        (
            "ClientCertificateCredential",
            lambda m: m.ClientCertificateCredential(
                "tenant", "client", certificate_data=pem, password=cert.cert_password
            ),
        ),
        ("ClientAssertionCredential", lambda m: m.ClientAssertionCredential("tenant", "client", assertion)),
        (
            "OnBehalfOfCredential",
            lambda m: m.OnBehalfOfCredential(
                "tenant", "client", client_secret=FAKE["client_secret"], user_assertion=FAKE["user_assertion"]
            ),
        ),
        (
            "UsernamePasswordCredential",
            lambda m: m.UsernamePasswordCredential("client", "user@contoso.com", FAKE["password"]),
        ),
        (
            "AzurePipelinesCredential",
            lambda m: m.AzurePipelinesCredential(
                tenant_id="tenant",
                client_id="client",
                service_connection_id="sc",
                system_access_token=FAKE["system_token"],
            ),
        ),
        (
            "WorkloadIdentityCredential",
            lambda m: m.WorkloadIdentityCredential(
                tenant_id="tenant", client_id="client", token_file_path=str(token_file)
            ),
        ),
        (
            "ManagedIdentityCredential[app-service]",
            lambda m: m.ManagedIdentityCredential(
                _env={"IDENTITY_ENDPOINT": "http://127.0.0.1:1/t", "IDENTITY_HEADER": FAKE["identity_header"]}
            ),
        ),
        (
            "ManagedIdentityCredential[azure-ml]",
            lambda m: m.ManagedIdentityCredential(
                _env={"MSI_ENDPOINT": "http://127.0.0.1:1/t", "MSI_SECRET": FAKE["msi_secret"]}
            ),
        ),
        (
            "ManagedIdentityCredential[service-fabric]",
            lambda m: m.ManagedIdentityCredential(
                _env={
                    "IDENTITY_ENDPOINT": "https://127.0.0.1:1/t",
                    "IDENTITY_HEADER": FAKE["identity_header"],
                    "IDENTITY_SERVER_THUMBPRINT": "ab" * 20,
                }
            ),
        ),
        ("EnvironmentCredential", lambda m: m.EnvironmentCredential(_env=env_secret)),
        (
            "EnvironmentCredential[username]",
            lambda m: m.EnvironmentCredential(
                _env={
                    "AZURE_CLIENT_ID": "client",
                    "AZURE_USERNAME": "user@contoso.com",
                    "AZURE_PASSWORD": FAKE["password"],
                }
            ),
        ),
        ("DefaultAzureCredential", lambda m: m.DefaultAzureCredential(_env=env_secret)),
        (
            "ChainedTokenCredential",
            lambda m: m.ChainedTokenCredential(
                m.ClientSecretCredential("tenant", "client", FAKE["client_secret"])
            ),
        ),
        ("AzureCliCredential", lambda m: m.AzureCliCredential()),
        ("AzureDeveloperCliCredential", lambda m: m.AzureDeveloperCliCredential()),
        ("AzurePowerShellCredential", lambda m: m.AzurePowerShellCredential()),
    ]
    # The user sign-in credentials (built by another engineer) when they exist.
    if hasattr(azidentity, "AuthorizationCodeCredential"):
        factories.append(
            (
                "AuthorizationCodeCredential",
                lambda m: m.AuthorizationCodeCredential(
                    "tenant",
                    "client",
                    FAKE["authorization_code"],
                    "http://localhost:8400",
                    client_secret=FAKE["client_secret"],
                ),
            )
        )
    if hasattr(azidentity, "DeviceCodeCredential"):
        factories.append(("DeviceCodeCredential", lambda m: m.DeviceCodeCredential(client_id="client")))
    if hasattr(azidentity, "InteractiveBrowserCredential"):
        factories.append(
            ("InteractiveBrowserCredential", lambda m: m.InteractiveBrowserCredential(client_id="client"))
        )
    return factories


def test_every_credential_str_and_repr(emulator: Any, tmp_path: Path) -> None:
    cert = emulator.apps["cert"]
    canary.register_secret(cert.cert_password)
    built = 0
    with pytest.warns(DeprecationWarning, match=DELIBERATE_DEPRECATIONS):
        for name, factory in _every_credential(tmp_path, cert):
            for module in (azidentity, azidentity.aio):
                try:
                    credential = factory(module)
                except (ImportError, AttributeError):
                    continue
                shown = f"{credential!s}\n{credential!r}"
                canary.capture(f"repr {name}", shown)
                for secret in (*FAKE.values(), cert.cert_password):
                    assert secret not in shown, (name, shown)
                built += 1
    assert built >= 34  # every credential above, sync and async


# -- logging_enable=True: every HTTP credential, azure-core's loggers included ----------------------------


def _http_credentials(emu: Any, module: Any, tmp_path: Path) -> list[tuple[str, Any, str]]:
    secret_app, cert_app = emu.apps["secret"], emu.apps["cert"]
    common = {"authority": emu.base_url, "connection_verify": emu.ca_bundle_path, "logging_enable": True}
    token_file = tmp_path / "sa-token"
    token_file.write_text(emu.issue_service_account_token())
    canary.register_secret(token_file.read_text())
    user = emu.users["alice"]
    items: list[tuple[str, Any, str]] = [
        (
            "ClientSecretCredential",
            module.ClientSecretCredential(emu.tenant_id, secret_app.client_id, secret_app.secret, **common),
            SCOPE,
        ),
        (
            "CertificateCredential",
            module.CertificateCredential(
                emu.tenant_id,
                cert_app.client_id,
                cert_app.cert_pem_encrypted_path,
                password=cert_app.cert_password,
                send_certificate_chain=True,
                **common,
            ),
            SCOPE,
        ),
        (
            "UsernamePasswordCredential",
            module.UsernamePasswordCredential(
                emu.apps["public"].client_id, user.username, user.password, tenant_id=emu.tenant_id, **common
            ),
            SCOPE,
        ),
        (
            "WorkloadIdentityCredential",
            module.WorkloadIdentityCredential(
                tenant_id=emu.tenant_id,
                client_id=emu.apps["workload"].client_id,
                token_file_path=str(token_file),
                **common,
            ),
            SCOPE,
        ),
        (
            "EnvironmentCredential",
            module.EnvironmentCredential(
                _env={**emu.env(), "AZURE_AUTHORITY_HOST": emu.base_url},
                connection_verify=emu.ca_bundle_path,
                logging_enable=True,
            ),
            SCOPE,
        ),
        (
            "AzurePipelinesCredential",
            module.AzurePipelinesCredential(
                tenant_id=emu.tenant_id,
                client_id=emu.apps["pipelines"].client_id,
                service_connection_id=emu.pipelines_service_connection_id,
                system_access_token=emu.pipelines_system_access_token,
                **common,
            ),
            SCOPE,
        ),
    ]
    for host in ("imds", "app-service", "arc", "cloud-shell", "azure-ml", "service-fabric"):
        env = emu.env(host)
        items.append(
            (
                f"ManagedIdentityCredential[{host}]",
                module.ManagedIdentityCredential(
                    _env=env,
                    _arc_token_dir=emu.arc_token_dir,
                    logging_enable=True,
                    **({} if host == "service-fabric" else {"connection_verify": emu.ca_bundle_path}),
                ),
                MI_SCOPE,
            )
        )
    return items


@pytest.mark.parametrize("wrong", [False, True], ids=["success", "failure"])
def test_logging_enable_never_logs_a_secret(
    flavor: Any,
    emulator: Any,
    tmp_path: Path,
    monkeypatch: Any,
    caplog: pytest.LogCaptureFixture,
    wrong: bool,
) -> None:
    import canary as suite_canary

    suite_canary.SECRETS.discard(emulator.arc_token_dir)  # a location, shown by design (see the MI tests)
    monkeypatch.setenv("SYSTEM_OIDCREQUESTURI", emulator.pipelines_oidc_url)
    caplog.set_level(logging.DEBUG)
    module = azidentity.aio if flavor.is_async else azidentity
    with pytest.warns(DeprecationWarning, match=DELIBERATE_DEPRECATIONS):
        credentials = _http_credentials(emulator, module, tmp_path)
    if wrong:  # every token request fails, with the body an echoing server would send
        emulator.faults.add(
            "*",
            status=401,
            times=None,
            body={
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.",
                "access_token": "eyJhbGciOiJub25lIn0.eyJlY2hvIjoidG9rZW4ifQ.c2lnbmF0dXJlLWVjaG8",
                "client_secret": emulator.apps["secret"].secret,
                "client_assertion": "eyJhbGciOiJub25lIn0.e30.c2ln",
            },
        )
        canary.register_token("eyJhbGciOiJub25lIn0.eyJlY2hvIjoidG9rZW4ifQ.c2lnbmF0dXJlLWVjaG8")
    tokens: list[str] = []
    for name, credential, scope in credentials:
        flavor._made.append(credential)
        try:
            tokens.append(flavor.get_token(credential, scope).token)
        except azidentity.CredentialUnavailableError as error:
            raise AssertionError(f"{name}: {error}") from None
        except azidentity.AuthenticationFailedError as error:
            assert wrong, f"{name}: {error}"
            canary.capture(f"exception {name}", str(error))
            assert "REDACTED" in str(error) or "RESPONSE 401" in str(error), str(error)
    if not wrong:
        assert len(tokens) == len(credentials)
    text = "\n".join(f"{r.name}: {r.getMessage()}" for r in caplog.records)
    assert "azure.core.pipeline.policies.http_logging_policy" in text  # azure-core's own logger spoke
    secrets = {emulator.apps[a].secret for a in ("secret",)} | {
        emulator.apps["cert"].cert_password,
        emulator.users["alice"].password,
        emulator.pipelines_system_access_token,
        emulator.config.identity_header,
        emulator.config.azure_ml_secret,
        emulator.config.service_fabric_secret,
    }
    for secret in secrets | set(tokens):
        assert secret and secret not in text
    assert "eyJhbGciOiJub25lIn0.eyJlY2hvIjoidG9rZW4ifQ" not in text


# -- CLI output -------------------------------------------------------------------------------------------


def _cli_env(tmp_path: Path) -> dict[str, str]:
    src = str(Path(azidentity.__file__).resolve().parents[1])
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PYTHONPATH": src,
        "AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:9",
    }


@pytest.mark.parametrize(
    "args",
    [("token", "--verbose"), ("token", "--json", "--verbose"), ("doctor", "--verbose"), ("doctor", "--json")],
)
def test_cli_output_with_logging(emulator: Any, tmp_path: Path, args: tuple[str, ...]) -> None:
    env = {**_cli_env(tmp_path), **emulator.env()}
    done = subprocess.run(
        [sys.executable, "-m", "azidentity", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    canary.check_output(f"azidentity {' '.join(args)}", done.stdout + done.stderr)
    assert emulator.apps["secret"].secret not in done.stdout + done.stderr
    if args[0] == "token":
        assert done.returncode == 0, done.stderr[-2000:]
        assert "eyJ" not in done.stdout  # the token itself is shown only with --show-token


def test_cli_errors_show_no_secret(emulator: Any, tmp_path: Path) -> None:
    env = {**_cli_env(tmp_path), **emulator.env(), "AZURE_CLIENT_SECRET": FAKE["client_secret"]}
    done = subprocess.run(
        [sys.executable, "-m", "azidentity", "token", "--verbose"],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    canary.check_output("azidentity token (wrong secret)", done.stdout + done.stderr)
    assert done.returncode != 0 and "7000215" in done.stdout + done.stderr
    assert FAKE["client_secret"] not in done.stdout + done.stderr


def test_emulator_human_output_shows_only_the_exported_environment(tmp_path: Path) -> None:
    """``azidentity emulator`` without --json prints ``export`` lines for the chosen host, on purpose; nothing
    else it prints holds a secret, and no secret but those exported ones appears at all."""
    import json
    import signal

    config = tmp_path / "emulator.json"
    secrets = {
        "apps": {
            "secret": {
                "secret": "fake-emulator-app-secret-0001",
                "expired_secret": "fake-expired-secret-0002",
            },
            "single": {"secret": "fake-single-app-secret-0003"},
            "api": {"secret": "fake-api-app-secret-0004"},
        },
        "users": {
            "alice": {"password": "fake-alice-password-0005"},
            "bob": {"password": "fake-bob-password-0006"},
        },
        "identity_header": "fake-emulator-identity-header-0007",
        "azure_ml_secret": "fake-emulator-ml-secret-0008",
        "service_fabric_secret": "fake-emulator-sf-secret-0009",
        "pipelines_system_access_token": "fake-emulator-pipelines-token-0010",
    }
    config.write_text(json.dumps(secrets))
    every = [
        "fake-emulator-app-secret-0001",
        "fake-expired-secret-0002",
        "fake-single-app-secret-0003",
        "fake-api-app-secret-0004",
        "fake-alice-password-0005",
        "fake-bob-password-0006",
        "fake-emulator-identity-header-0007",
        "fake-emulator-ml-secret-0008",
        "fake-emulator-sf-secret-0009",
        "fake-emulator-pipelines-token-0010",
    ]
    for host, exported in (
        (None, "AZURE_CLIENT_SECRET"),
        ("app-service", "IDENTITY_HEADER"),
        ("azure-ml", "MSI_SECRET"),
    ):
        args = ["--config", str(config), *(["--host", host] if host else [])]
        env = {**os.environ, "PYTHONPATH": str(Path(azidentity.__file__).resolve().parents[1])}
        proc = subprocess.Popen(
            [sys.executable, "-m", "azidentity.emulator", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        try:
            lines = []
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                if "Press Ctrl+C" in line:
                    break
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                out, err = proc.communicate(timeout=TIMEOUT)
            finally:
                if proc.poll() is None:
                    proc.kill()
        text = "".join(lines) + out + err
        shown = [line for line in text.splitlines() if line.startswith(f"export {exported}=")]
        assert len(shown) == 1, text
        rest = "\n".join(line for line in text.splitlines() if line not in shown)
        for secret in every:
            canary.register_secret(secret)
            assert secret not in rest, (host, secret)
        canary.check_output(f"azidentity emulator {' '.join(args)} (minus its {exported} line)", rest)
