"""``azidentity token --trace`` as a subprocess against the emulator, and what tracing costs when off:
no OpenTelemetry import, no span, in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import canary
from cli_testlib import run_token

TIMEOUT = 60
# The subprocesses import the azidentity under test (a checkout on PYTHONPATH, or the installed one).
PYTHONPATH = {"PYTHONPATH": os.environ["PYTHONPATH"]} if os.environ.get("PYTHONPATH") else {}


def run(tmp_path, env, *args):
    return run_token(tmp_path, {**PYTHONPATH, **env}, *args)


def test_trace_prints_the_tree_of_the_call(tmp_path, emulator):
    done = run(tmp_path, emulator.env(), "--trace")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("token acquired by DefaultAzureCredential (via EnvironmentCredential)")
    tree = out[out.index("trace (") :].splitlines()
    assert tree[0] == "trace (3 spans):"
    assert tree[1].startswith("  DefaultAzureCredential.get_token  ") and tree[1].endswith(
        "token (from EnvironmentCredential)"
    )
    assert tree[2].startswith("  └─ EnvironmentCredential.get_token  ") and tree[2].endswith("  token")
    assert tree[3].startswith(f"     └─ POST {emulator.authority}/{emulator.tenant_id}/oauth2/v2.0/token  ")
    assert tree[3].endswith("  200") and " ms  " in tree[3]


def test_trace_shows_where_the_walk_stopped(tmp_path, emulator):
    done = run(tmp_path, {}, "--trace")
    assert done.returncode == 1
    assert "DefaultAzureCredential failed to acquire a token." in done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "trace (11 spans):"
    assert lines[1].startswith("  DefaultAzureCredential.get_token  ") and "unavailable: " in lines[1]
    members = [line.split("─ ", 1)[1].split("  ", 1)[0] for line in lines[2:] if "─ " in line]
    assert members == [
        "EnvironmentCredential.get_token",
        "WorkloadIdentityCredential.get_token",
        "ManagedIdentityCredential.get_token",
        "GET http://127.0.0.1:" + members[3].split(":", 2)[2],  # the IMDS probe, under managed identity
        "SharedTokenCacheCredential.get_token",
        "VisualStudioCodeCredential.get_token",
        "AzureCliCredential.get_token",
        "AzurePowerShellCredential.get_token",
        "AzureDeveloperCliCredential.get_token",
        "BrokerCredential.get_token",
    ]
    assert "unavailable: Azure CLI not found on path" in done.stdout
    assert "  ServiceRequestError" in done.stdout  # the probe found nothing listening


def test_trace_json(tmp_path, emulator):
    done = run(tmp_path, emulator.env("app-service"), "--trace", "--json", "--credential", "mi")
    assert done.returncode == 0, done.stderr
    spans = json.loads(done.stdout)["trace"]
    assert [s["name"] for s in spans] == ["ManagedIdentityCredential.get_token", "GET"]
    top, http = spans
    assert top["parent_id"] is None and http["parent_id"] == top["span_id"]
    assert top["attributes"]["azidentity.outcome"] == "token" and top["status"] == "unset"
    assert top["attributes"]["azidentity.scopes"] == ["https://management.azure.com/.default"]
    assert http["attributes"]["http.response.status_code"] == 200
    assert 0 <= http["start_ms"] and http["duration_ms"] <= top["duration_ms"]


def test_trace_json_of_a_failure(tmp_path, emulator):
    env = emulator.env()
    env["AZURE_CLIENT_SECRET"] = "not-the-secret-value"
    done = run(tmp_path, env, "--trace", "--json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    names = [s["name"] for s in report["trace"]]
    assert names == ["DefaultAzureCredential.get_token", "EnvironmentCredential.get_token", "POST"]
    member = report["trace"][1]
    assert member["status"] == "error" and member["attributes"]["azidentity.error_code"] == "AADSTS7000215"
    (exception,) = member["events"]
    assert exception["name"] == "exception" and "exception.stacktrace" not in exception["attributes"]


def test_trace_without_the_sdk_says_how_to_install_it(tmp_path):
    code = textwrap.dedent(
        """
        import sys
        sys.modules["opentelemetry.sdk"] = None  # as if opentelemetry-sdk were not installed
        from azidentity._cli.main import main
        raise SystemExit(main(["token", "--trace"]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={"HOME": str(tmp_path), **PYTHONPATH},
    )
    canary.check_output("azidentity token --trace", done.stdout + done.stderr)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "azidentity token --trace needs the OpenTelemetry SDK, which is not installed: "
        "pip install 'azidentity[trace]' (or: pip install opentelemetry-sdk)"
    )


# -- tracing off ---------------------------------------------------------------------------------------------
OFF = """
import asyncio, sys
import azidentity, azidentity.aio

app, tenant, authority, ca = sys.argv[1:5]
scope = "https://management.azure.com/.default"
sync = azidentity.ChainedTokenCredential(
    azidentity.EnvironmentCredential(),
    azidentity.ClientSecretCredential(tenant, app, sys.argv[5], authority=authority, connection_verify=ca),
)
sync.get_token(scope)
sync.get_token(scope)


async def main():
    async with azidentity.aio.ClientSecretCredential(
        tenant, app, sys.argv[5], authority=authority, connection_verify=ca
    ) as credential:
        await credential.get_token(scope)


asyncio.run(main())
if sys.argv[6] == "on":
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from azure.core.settings import settings

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    settings.tracing_enabled = True
    sync.get_token("https://vault.azure.net/.default")
    print(sorted(s.name for s in exporter.get_finished_spans()))
else:
    print(sorted(m for m in sys.modules if m.startswith(("opentelemetry", "azure.core.tracing.ext"))))
"""


def _off(emulator, tmp_path, mode):
    app = emulator.apps["secret"]
    done = subprocess.run(
        [sys.executable, "-c", OFF, app.client_id, emulator.tenant_id, emulator.authority]
        + [emulator.ca_bundle_path, app.secret, mode],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", **PYTHONPATH},
    )
    assert done.returncode == 0, done.stderr
    canary.check_output("tracing subprocess", done.stdout + done.stderr)
    return done.stdout.strip()


def test_tracing_off_imports_no_opentelemetry(emulator, tmp_path):
    assert _off(emulator, tmp_path, "off") == "[]"  # sync, async, a chain: tokens, and not one import


def test_the_same_program_with_tracing_on(emulator, tmp_path):
    # The control for the test above: in that process, turning tracing on is all it takes.
    assert _off(emulator, tmp_path, "on") == str(
        sorted(
            [
                "ChainedTokenCredential.get_token",
                "EnvironmentCredential.get_token",
                "ClientSecretCredential.get_token",
                "POST",
            ]
        )
    )
