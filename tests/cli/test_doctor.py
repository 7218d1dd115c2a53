"""``azidentity doctor`` as a subprocess in prepared environments, text and JSON.

Each environment starts empty (no AZURE_* variables, an empty PATH, IMDS at a closed loopback
port) and adds only what the scenario needs.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import stat
import subprocess
import sys

import azidentity
import canary
from azidentity._cli.main import DEFAULT_SCOPE
from azidentity._mitigations import ROWS
from azidentity._protocol import azure_cli

TIMEOUT = 60
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(azidentity.__file__)))
MEMBERS = [
    "EnvironmentCredential",
    "WorkloadIdentityCredential",
    "ManagedIdentityCredential",
    "SharedTokenCacheCredential",
    "VisualStudioCodeCredential",
    "AzureCliCredential",
    "AzurePowerShellCredential",
    "AzureDeveloperCliCredential",
    "InteractiveBrowserCredential",
    "BrokerCredential",
]
AZ_LOGGED_OUT = "#!/bin/sh\necho \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def doctor(tmp_path, env, *args, bin_dir=None):
    """Run ``azidentity doctor`` twice (text and --json); return (exit code, text, report)."""
    if bin_dir is None:
        bin_dir = tmp_path / "empty-bin"
        bin_dir.mkdir(exist_ok=True)
    base = {
        "HOME": str(tmp_path),
        "PATH": str(bin_dir),
        "LANG": "C.UTF-8",
        "AZURE_POD_IDENTITY_AUTHORITY_HOST": f"http://127.0.0.1:{closed_port()}",
        # The subprocess imports the azidentity under test, not whatever the interpreter has installed
        # (an editable install of another checkout made these tests test that checkout's code).
        "PYTHONPATH": PACKAGE_ROOT,
    }
    if os.environ.get("PYTHONPATH"):  # a worktree's sources, not the installed package
        base["PYTHONPATH"] = os.environ["PYTHONPATH"]
    full = {**base, **env}
    text = subprocess.run(
        [sys.executable, "-m", "azidentity", "doctor", *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    as_json = subprocess.run(
        [sys.executable, "-m", "azidentity", "doctor", "--json", *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    for done in (text, as_json):
        canary.check_output("azidentity doctor", done.stdout + done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
    assert text.returncode == as_json.returncode
    for name, value in env.items():  # secret values of the environment never appear
        if any(word in name for word in ("SECRET", "PASSWORD", "HEADER", "ACCESSTOKEN")):
            assert value not in text.stdout and value not in as_json.stdout
    return text.returncode, text.stdout, json.loads(as_json.stdout)


def block(text, name):
    """The lines of one credential's block."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(name + " "))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith("  ")), len(lines))
    return lines[start:end]


def field(lines, key):
    for line in lines:
        if line.startswith(f"  {key} "):
            return line[2 + 18 + 2 :]
    return None


def by_name(report):
    return {c["name"]: c for c in report["credentials"]}


def test_nothing_configured(tmp_path):
    code, text, report = doctor(tmp_path, {})
    assert code == 1 and report["exit_code"] == 1
    assert [c["name"] for c in report["credentials"]] == MEMBERS
    statuses = {c["name"]: c["status"] for c in report["credentials"]}
    assert {s for n, s in statuses.items() if n != "InteractiveBrowserCredential"} == {"unavailable"}
    assert statuses["InteractiveBrowserCredential"] == "excluded"
    assert report["result"]["status"] == "unavailable" and report["result"]["credential"] is None
    assert report["azure_variables"] == ["AZURE_POD_IDENTITY_AUTHORITY_HOST"]
    env_block = block(text, "EnvironmentCredential")
    assert field(env_block, "cause").startswith("Missing or incomplete environment variable configuration")
    assert field(env_block, "mitigation") == ROWS["env-incomplete"].mitigation
    assert field(env_block, "troubleshooting") == "TROUBLESHOOTING.md#environmentcredential"
    mi = by_name(report)["ManagedIdentityCredential"]
    assert mi["facts"]["host"].startswith("Azure VM, scale set or AKS node (IMDS)")
    assert "AZURE_POD_IDENTITY_AUTHORITY_HOST" in mi["facts"]["host"]
    assert mi["mitigation"] == ROWS["dac-mi-timeout"].mitigation
    assert by_name(report)["AzureCliCredential"]["facts"] == {"az": "not found on PATH"}
    assert by_name(report)["AzurePowerShellCredential"]["facts"] == {"pwsh": "not found on PATH"}
    assert by_name(report)["AzureDeveloperCliCredential"]["facts"] == {"azd": "not found on PATH"}
    shared = by_name(report)["SharedTokenCacheCredential"]
    assert shared["cause"].startswith("No accounts were found in the cache.")
    assert shared["mitigation"] == ROWS["shared-cache-no-accounts"].mitigation
    assert shared["facts"] == {
        "MSAL cache": (
            "~/.IdentityService/msal.cache.nocae (not found); ~/.IdentityService/msal.cache.cae (not found)"
        ),
        "accounts": "none with a shared refresh token",
    }
    vscode = by_name(report)["VisualStudioCodeCredential"]
    assert vscode["mitigation"] == ROWS["vscode-not-signed-in"].mitigation
    assert vscode["facts"]["auth record"].startswith(
        "not found (~/.azure/ms-azuretools.vscode-azureresourcegroups"
    )
    broker = by_name(report)["BrokerCredential"]
    assert broker["cause"] == (
        "InteractiveBrowserBrokerCredential unavailable. Brokered authentication is only supported on "
        "Windows and WSL platforms."
    )
    assert broker["mitigation"] == ROWS["broker-unavailable"].mitigation and broker["facts"]["broker"]
    assert "Result: DefaultAzureCredential would fail: no credential can provide a token here" in text
    assert report["result"]["mitigation"] == ROWS["dac-failed"].mitigation
    assert field(text.split("Result: ")[1].split("\n"), "mitigation") == ROWS["dac-failed"].mitigation
    assert "\x1b[" not in text  # no colour when stdout is not a terminal
    assert_aligned(text)


def assert_aligned(text):
    heads = [line for line in text.split("\n") if line.split(" ")[0] in MEMBERS]
    assert len(heads) == len(MEMBERS)
    status_columns = {re.search(r"\s{2}(unavailable|excluded|succeeded|failed)", h).start() for h in heads}  # type: ignore[union-attr]
    assert len(status_columns) == 1
    value_columns = {
        len(line) - len(line[2:].split("  ", 1)[1].lstrip())
        for line in text.split("\n")
        if line.startswith("  ") and "  " in line[2:]
    }
    assert value_columns == {22}


def test_service_principal_via_environment(tmp_path, emulator):
    env = (
        emulator.env()
    )  # AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_AUTHORITY_HOST + CA bundle
    code, text, report = doctor(tmp_path, env)
    app = emulator.apps["secret"]
    assert code == 0
    environment = by_name(report)["EnvironmentCredential"]
    assert environment["status"] == "succeeded" and environment["identity"]["appid"] == app.client_id
    assert environment["facts"]["configuration"] == "a client secret"
    assert "AZURE_CLIENT_SECRET" in environment["facts"]["variables"]
    assert report["result"] == {
        "status": "succeeded",
        "credential": "EnvironmentCredential",
        "identity": environment["identity"],
        "summary": "DefaultAzureCredential would use EnvironmentCredential",
        "mitigation": None,
        "troubleshooting": None,
    }
    assert sorted(report["azure_variables"]) == sorted(
        [
            "AZURE_AUTHORITY_HOST",
            "AZURE_CLIENT_ID",
            "AZURE_CLIENT_SECRET",
            "AZURE_POD_IDENTITY_AUTHORITY_HOST",
            "AZURE_TENANT_ID",
        ]
    )
    # every member was tried even though the first succeeded
    assert by_name(report)["AzureCliCredential"]["status"] == "unavailable"
    lines = block(text, "EnvironmentCredential")
    assert re.match(r"EnvironmentCredential\s+succeeded\s+\d+\.\d\d s$", lines[0])
    assert (
        field(lines, "identity") == f"app {app.client_id} (object id {environment['identity']['oid']}, "
        f"tenant {emulator.tenant_id})"
    )
    assert "Result: DefaultAzureCredential would use EnvironmentCredential" in text
    assert app.secret not in text
    assert_aligned(text)


def test_app_service_host(tmp_path, emulator):
    env = emulator.env("app-service")
    code, text, report = doctor(tmp_path, env)
    assert code == 0
    mi = by_name(report)["ManagedIdentityCredential"]
    assert mi["status"] == "succeeded" and mi["identity"]["tid"] == emulator.tenant_id
    assert mi["facts"]["host"] == "App Service managed identity"
    assert mi["facts"]["endpoint"] == env["IDENTITY_ENDPOINT"]
    assert mi["facts"]["host variables"] == "IDENTITY_ENDPOINT, IDENTITY_HEADER"
    assert report["result"]["credential"] == "ManagedIdentityCredential"
    assert env["IDENTITY_HEADER"] not in text
    assert "Result: DefaultAzureCredential would use ManagedIdentityCredential" in text


def test_a_failure_stops_the_chain_even_if_a_later_member_works(tmp_path, emulator):
    # AZURE_CLIENT_ID names a user-assigned managed identity: EnvironmentCredential's app does not exist.
    uami = emulator.managed_identities.user[0].client_id
    env = {**emulator.env(), **emulator.env("app-service"), "AZURE_CLIENT_ID": uami}
    code, text, report = doctor(tmp_path, env)
    assert code == 1
    environment = by_name(report)["EnvironmentCredential"]
    assert environment["status"] == "failed" and environment["error_type"] == "AuthenticationFailedError"
    assert environment["cause"].startswith("AADSTS700016: ")
    assert environment["cause"].endswith("(HTTP 400)")
    assert environment["mitigation"] == ROWS["AADSTS700016"].mitigation
    mi = by_name(report)["ManagedIdentityCredential"]
    assert mi["status"] == "succeeded" and mi["identity"]["appid"] == uami
    assert mi["facts"]["identity requested"].startswith("user-assigned, the client ID in AZURE_CLIENT_ID")
    assert (
        report["result"]["status"] == "failed" and report["result"]["credential"] == "EnvironmentCredential"
    )
    assert report["result"]["summary"] == (
        "DefaultAzureCredential would stop at EnvironmentCredential, which failed; ManagedIdentityCredential "
        "would work if it came first or EnvironmentCredential were excluded"
    )
    assert report["result"]["mitigation"] == ROWS["dac-stopped"].mitigation


def test_az_logged_out(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    az = bin_dir / "az"
    az.write_text(AZ_LOGGED_OUT)
    az.chmod(az.stat().st_mode | stat.S_IXUSR)
    code, text, report = doctor(tmp_path, {}, bin_dir=bin_dir)
    assert code == 1
    cli = by_name(report)["AzureCliCredential"]
    assert cli["status"] == "unavailable"
    assert "Please run 'az login' to setup account." in cli["cause"]
    # az's mitigation names the resource that was requested (the doctor's default scope)
    mitigation = azure_cli.mitigation("cli-not-logged-in", azure_cli.Request(DEFAULT_SCOPE), ())
    assert cli["mitigation"] == mitigation
    assert cli["facts"] == {"az": str(az), "account": "none: ERROR: Please run 'az login' to setup account."}
    lines = block(text, "AzureCliCredential")
    assert field(lines, "az") == str(az)
    assert field(lines, "mitigation") == mitigation
    assert report["result"]["status"] == "unavailable"


def test_workload_identity_with_a_missing_token_file(tmp_path, emulator):
    missing = str(tmp_path / "var/run/secrets/azure/tokens/azure-identity-token")
    env = {
        "AZURE_TENANT_ID": emulator.tenant_id,
        "AZURE_CLIENT_ID": emulator.apps["workload"].client_id,
        "AZURE_FEDERATED_TOKEN_FILE": missing,
        "AZURE_AUTHORITY_HOST": emulator.base_url,
        "SSL_CERT_FILE": emulator.ca_bundle_path,
        "REQUESTS_CA_BUNDLE": emulator.ca_bundle_path,
    }
    code, text, report = doctor(tmp_path, env)
    assert code == 1
    workload = by_name(report)["WorkloadIdentityCredential"]
    assert workload["status"] in ("unavailable", "failed")
    assert workload["facts"]["token file"] == "missing (no such file)"
    assert (
        workload["facts"]["variables"]
        == "AZURE_TENANT_ID set, AZURE_CLIENT_ID set, AZURE_FEDERATED_TOKEN_FILE set"
    )
    assert field(block(text, "WorkloadIdentityCredential"), "token file") == "missing (no such file)"
    environment = by_name(report)["EnvironmentCredential"]
    assert environment["status"] == "unavailable" and environment["facts"]["configuration"] == "incomplete"
    assert "Set: AZURE_TENANT_ID, AZURE_CLIENT_ID" in environment["cause"]
    mi = by_name(report)["ManagedIdentityCredential"]
    assert mi["facts"]["host"] == "Kubernetes with workload identity (token exchange)"


def test_token_credentials_variable(tmp_path):
    code, text, report = doctor(tmp_path, {"AZURE_TOKEN_CREDENTIALS": "dev"})
    assert code == 1
    statuses = {c["name"]: (c["status"], c["note"]) for c in report["credentials"]}
    assert statuses["EnvironmentCredential"] == ("excluded", "AZURE_TOKEN_CREDENTIALS=dev")
    assert statuses["AzureCliCredential"][0] == "unavailable"
    bad_code, bad_text, bad = doctor(tmp_path, {"AZURE_TOKEN_CREDENTIALS": "nonsense"})
    assert bad_code == 1 and bad["result"]["status"] == "failed"
    assert bad["problems"][0].startswith("Invalid value for AZURE_TOKEN_CREDENTIALS: nonsense.")
    assert "problem" in bad_text and len(bad["credentials"]) == len(MEMBERS)


def test_colour_only_on_a_terminal(monkeypatch):
    from azidentity._cli.doctor import render
    from azidentity._cli.output import Printer

    report = {
        "scope": "s",
        "azure_variables": [],
        "host_variables": [],
        "problems": [],
        "credentials": [
            {
                "name": "EnvironmentCredential",
                "status": "unavailable",
                "seconds": 0.0,
                "cause": "c",
                "mitigation": "m",
                "troubleshooting": None,
                "note": None,
                "facts": {},
                "identity": None,
                "expires_on": None,
            }
        ],
        "result": {"status": "unavailable", "credential": None, "identity": None, "summary": "nope"},
    }

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    tty = Tty()
    render(report, Printer(tty))
    assert "\x1b[33munavailable" in tty.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    plain = Tty()
    render(report, Printer(plain))
    assert "\x1b[" not in plain.getvalue()
    assert os.environ["NO_COLOR"] == "1"


def test_shared_cache_and_vs_code_say_where_they_looked_and_what_they_found(tmp_path, emulator, monkeypatch):
    from msal_testlib import plaintext_cache, register_tokens, sign_in

    monkeypatch.setenv("HOME", str(tmp_path))
    register_tokens(sign_in(emulator, plaintext_cache(), user="bob"), canary)
    record = tmp_path / ".azure" / "ms-azuretools.vscode-azureresourcegroups" / "authRecord.json"
    record.parent.mkdir(parents=True)
    record.write_text('{"clientId": "not VS Code"}')
    env = {
        "AZURE_AUTHORITY_HOST": emulator.base_url,
        "SSL_CERT_FILE": emulator.ca_bundle_path,
        "REQUESTS_CA_BUNDLE": emulator.ca_bundle_path,
    }
    code, text, report = doctor(tmp_path, env)
    assert code == 0
    shared = by_name(report)["SharedTokenCacheCredential"]
    assert shared["status"] == "succeeded" and shared["identity"]["user"] == "bob@other.emulator.test"
    assert shared["facts"] == {
        "MSAL cache": "~/.IdentityService/msal.cache.nocae (unencrypted cache); "
        "~/.IdentityService/msal.cache.cae (not found)",
        "accounts": f"(username: bob@other.emulator.test, tenant: {emulator.other_tenant_id})",
    }
    vscode = by_name(report)["VisualStudioCodeCredential"]
    assert vscode["status"] == "unavailable" and "clientId must match expected VS Code" in vscode["cause"]
    assert vscode["mitigation"] == ROWS["vscode-bad-record"].mitigation
    assert vscode["facts"]["auth record"].startswith(f"unusable: {record}: Authentication record validation")
    assert report["result"]["credential"] == "SharedTokenCacheCredential"
    assert field(block(text, "SharedTokenCacheCredential"), "accounts").startswith("(username: bob@")
    assert_aligned(text)
