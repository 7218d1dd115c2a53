"""Facts about this machine that explain a credential's outcome. Names of variables, never values.

Each ``*_facts`` function returns an ordered ``{label: text}`` for one DefaultAzureCredential
member. Nothing here prints a secret: variable values are never shown, except endpoint URLs of
managed identity hosts (which are not secret); tool output is redacted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any

from .._constants import EnvironmentVariables as Ev

ACCOUNT_TIMEOUT = 5.0
# Variables that say which host this is, besides AZURE_*.
HOST_VARIABLES = (
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "WEBSITE_SITE_NAME",
    "WEBSITE_INSTANCE_ID",
    "FUNCTIONS_WORKER_RUNTIME",
    "KUBERNETES_SERVICE_HOST",
    "SYSTEM_OIDCREQUESTURI",
    "ACC_CLOUD",
    "AZUREPS_HOST_ENVIRONMENT",
)


def azure_variables(env: Mapping[str, str]) -> list[str]:
    """Names of the AZURE_* variables that are set."""
    return sorted(name for name in env if name.startswith("AZURE_"))


def host_variables(env: Mapping[str, str]) -> list[str]:
    return [name for name in HOST_VARIABLES if name in env]


def _file_state(path: str | None) -> str:
    if not path:
        return "not set"
    try:
        with open(path, "rb") as f:
            size = len(f.read(1 << 20))
    except FileNotFoundError:
        return "missing (no such file)"
    except IsADirectoryError:
        return "not readable (it is a directory)"
    except PermissionError:
        return "not readable (permission denied)"
    except OSError as error:
        return f"not readable ({error.strerror or error})"
    return f"readable ({size} bytes)" if size else "empty"


def environment_facts(env: Mapping[str, str]) -> dict[str, str]:
    from .._credentials.environment import CONFIGURATIONS, VARIABLES, choose_configuration

    facts = {"variables": ", ".join(v for v in VARIABLES if v in env) or "none set"}
    chosen = choose_configuration(env)
    facts["configuration"] = (
        CONFIGURATIONS[chosen][0] if chosen else "incomplete" if facts["variables"] != "none set" else "none"
    )
    if chosen == "certificate":
        facts["certificate file"] = _file_state(env.get(Ev.AZURE_CLIENT_CERTIFICATE_PATH))
    return facts


def workload_facts(env: Mapping[str, str]) -> dict[str, str]:
    names = (Ev.AZURE_TENANT_ID, Ev.AZURE_CLIENT_ID, Ev.AZURE_FEDERATED_TOKEN_FILE)
    return {
        "variables": ", ".join(f"{n} {'set' if env.get(n) else 'not set'}" for n in names),
        "token file": _file_state(env.get(Ev.AZURE_FEDERATED_TOKEN_FILE)),
    }


def managed_identity_facts(env: Mapping[str, str], credential: Any = None) -> dict[str, str]:
    """Which managed identity host the environment looks like, and its endpoint."""
    facts: dict[str, str] = {}
    try:
        from .._protocol.managed_identity import sources as mi_sources

        source = getattr(credential, "_source", None)  # what the chain's member detected
        if not isinstance(source, mi_sources.Source):
            source = mi_sources.detect(env)
    except Exception as error:  # pragma: no cover - a detection bug must not break the doctor
        return {"host": f"unknown ({type(error).__name__}: {error})"}
    if source.kind == mi_sources.IMDS:
        facts["host"] = "Azure VM, scale set or AKS node (IMDS) - or no managed identity at all"
        if env.get(Ev.AZURE_POD_IDENTITY_AUTHORITY_HOST):
            facts["host"] += "; IMDS address overridden by AZURE_POD_IDENTITY_AUTHORITY_HOST"
    elif source.kind == mi_sources.NONE:
        facts["host"] = source.problem or "no managed identity endpoint"
    elif source.kind == mi_sources.WORKLOAD:
        facts["host"] = "Kubernetes with workload identity (token exchange)"
    else:
        facts["host"] = source.display
    if source.endpoint and source.kind != mi_sources.WORKLOAD:
        facts["endpoint"] = source.endpoint
    if source.kind != mi_sources.WORKLOAD:
        facts["identity requested"] = (
            "user-assigned, the client ID in AZURE_CLIENT_ID (DefaultAzureCredential's default)"
            if env.get(Ev.AZURE_CLIENT_ID)
            else "system-assigned (AZURE_CLIENT_ID is not set)"
        )
    present = host_variables(env)
    if present:
        facts["host variables"] = ", ".join(present)
    if env.get("KUBERNETES_SERVICE_HOST") and source.kind == mi_sources.IMDS:
        facts["host"] += " (running in a Kubernetes pod)"
    return facts


def _redact(text: str) -> str:
    from .._redact import redact_text

    return redact_text(text)


def az_facts(env: Mapping[str, str]) -> dict[str, str]:
    path = shutil.which("az", path=env.get("PATH"))
    if path is None:
        return {"az": "not found on PATH"}
    facts = {"az": path}
    try:
        done = subprocess.run(
            [path, "account", "show", "--output", "json"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=ACCOUNT_TIMEOUT,
            env={**env, "AZURE_CORE_NO_COLOR": "true"},
            check=False,
        )
    except subprocess.TimeoutExpired:
        facts["account"] = f"unknown (`az account show` took longer than {ACCOUNT_TIMEOUT:g} s)"
        return facts
    except OSError as error:
        facts["account"] = f"unknown (cannot run az: {error.strerror or error})"
        return facts
    if done.returncode != 0:
        first = next(
            (line.strip() for line in done.stderr.splitlines() if line.strip()),
            f"exit code {done.returncode}",
        )
        facts["account"] = f"none: {_redact(first)}"
        return facts
    try:
        account = json.loads(done.stdout)
        user = account.get("user") or {}
        facts["account"] = (
            f"{user.get('type', 'user')} {user.get('name', '?')}, subscription {account.get('name', '?')}, "
            f"tenant {account.get('tenantId', '?')}"
        )
    except (ValueError, AttributeError):
        facts["account"] = "unknown (unreadable `az account show` output)"
    return facts


def tool_facts(tool: str, names: tuple[str, ...], env: Mapping[str, str]) -> dict[str, str]:
    for name in names:
        path = shutil.which(name, path=env.get("PATH"))
        if path:
            return {tool: path}
    return {tool: "not found on PATH"}


def facts_for(key: str, env: Mapping[str, str] | None = None, credential: Any = None) -> dict[str, str]:
    """The facts for one member (``credential``: the chain's member, when it was built)."""
    env = os.environ if env is None else env
    if key == "environment":
        return environment_facts(env)
    if key == "workload_identity":
        return workload_facts(env)
    if key == "managed_identity":
        return managed_identity_facts(env, credential)
    if key == "cli":
        return az_facts(env)
    if key == "powershell":
        return tool_facts("pwsh", ("pwsh", "powershell") if os.name == "nt" else ("pwsh",), env)
    if key == "developer_cli":
        return tool_facts("azd", ("azd",), env)
    return {}
