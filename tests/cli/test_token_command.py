"""``azidentity token`` as a subprocess against the emulator."""

from __future__ import annotations

import json

import pytest

from cli_testlib import run_token

ARM = "https://management.azure.com/.default"


def test_default_credential_text(tmp_path, emulator):
    done = run_token(tmp_path, emulator.env())
    assert done.returncode == 0, done.stderr
    out = done.stdout
    app = emulator.apps["secret"]
    assert out.startswith("token acquired by DefaultAzureCredential (via EnvironmentCredential)")
    assert f"app {app.client_id}" in out and f"tenant              {emulator.tenant_id}" in out
    assert "audience            https://management.azure.com\n" in out
    assert "expires             20" in out and ("(in 59 min)" in out or "(in 60 min)" in out)
    assert "(hidden; --show-token prints it)" in out
    assert "eyJ" not in out and app.secret not in out


def test_json_and_show_token(tmp_path, emulator):
    done = run_token(tmp_path, emulator.env(), "--json", "--scope", "https://storage.azure.com/.default")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["credential"] == "DefaultAzureCredential" and report["source"] == "EnvironmentCredential"
    assert report["identity"]["aud"] == "https://storage.azure.com"
    assert report["identity"]["appid"] == emulator.apps["secret"].client_id
    assert report["identity"]["kind"] == "app"
    assert "token" not in report
    # Exempt from the canary: showing the token is its purpose.
    shown = run_token(tmp_path, emulator.env(), "--json", "--show-token", check_canary=False)
    token = json.loads(shown.stdout)["token"]
    assert emulator.verify_token(token)["exp"] == json.loads(shown.stdout)["expires_on"]


@pytest.mark.parametrize("name", ["ManagedIdentityCredential", "mi", "managedidentitycredential"])
def test_named_credential(tmp_path, emulator, name):
    done = run_token(tmp_path, emulator.env("app-service"), "--credential", name, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["credential"] == "ManagedIdentityCredential" and report["source"] is None
    assert report["identity"]["tid"] == emulator.tenant_id


def test_tenant(tmp_path, emulator):
    other = emulator.other_tenant_id
    env = {**emulator.env(), "AZURE_ADDITIONALLY_ALLOWED_TENANTS": other}
    done = run_token(tmp_path, env, "--tenant", other, "--json", "--credential", "EnvironmentCredential")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["identity"]["tid"] == other


def test_failure_prints_the_rendered_error(tmp_path, emulator):
    env = {**emulator.env(), "AZURE_CLIENT_SECRET": "not-the-secret-value"}
    done = run_token(tmp_path, env)
    assert done.returncode == 1 and done.stdout == ""
    err = done.stderr
    assert err.startswith("DefaultAzureCredential failed to acquire a token.\nAttempted credentials:\n")
    assert "\tEnvironmentCredential: ClientSecretCredential authentication failed" in err
    assert "AADSTS7000215" in err and "Mitigation:" in err
    assert "Traceback" not in err
    as_json = run_token(tmp_path, env, "--json")
    assert as_json.returncode == 1
    error = json.loads(as_json.stdout)["error"]
    assert error["type"] == "AuthenticationFailedError" and error["error_code"] == "AADSTS7000215"
    assert error["status_code"] == 401 and error["credential"] == "ClientSecretCredential"


def test_nothing_configured(tmp_path):
    done = run_token(tmp_path, {})
    assert done.returncode == 1
    assert done.stderr.startswith("DefaultAzureCredential failed to acquire a token.")
    assert done.stderr.rstrip().endswith("To diagnose every credential at once, run: azidentity doctor")


def test_usage_errors(tmp_path):
    done = run_token(tmp_path, {}, "--credential", "NoSuchCredential")
    assert done.returncode == 2 and "unknown credential 'NoSuchCredential'" in done.stderr
    pipelines = run_token(tmp_path, {}, "--credential", "pipelines")
    assert pipelines.returncode == 1 and "SYSTEM_ACCESSTOKEN" in pipelines.stderr


def test_pipelines_credential_from_the_task_variables(tmp_path, emulator):
    done = run_token(
        tmp_path, emulator.env("pipelines"), "--credential", "AzurePipelinesCredential", "--json"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["identity"]["appid"] == emulator.apps["pipelines"].client_id
