"""The package surface: lazy imports, exports, the sans-IO rule, async naming."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import azidentity
import azidentity.aio

SRC = pathlib.Path(azidentity.__file__).parent
HEAVY = ("azure.core.pipeline", "requests", "aiohttp", "cryptography")


def test_import_is_light():
    code = (
        "import sys, azidentity; azidentity.ClientSecretCredential; azidentity.aio.ClientSecretCredential;"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import azidentity.aio;" + code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert out.strip() == "[]"


def test_exports_sorted_and_resolvable():
    assert azidentity.__all__ == sorted(azidentity.__all__)
    assert azidentity.aio.__all__ == sorted(azidentity.aio.__all__)
    for name in azidentity.__all__:
        assert getattr(azidentity, name) is not None
    for name in azidentity.aio.__all__:
        assert getattr(azidentity.aio, name) is not None
    assert isinstance(azidentity.__version__, str)


def test_error_hierarchy():
    from azure.core.exceptions import ClientAuthenticationError

    assert issubclass(azidentity.CredentialUnavailableError, ClientAuthenticationError)
    assert issubclass(azidentity.AuthenticationFailedError, ClientAuthenticationError)
    assert issubclass(azidentity.AuthenticationRequiredError, azidentity.CredentialUnavailableError)
    assert not issubclass(azidentity.AuthenticationFailedError, azidentity.CredentialUnavailableError)


FORBIDDEN = {
    "socket",
    "subprocess",
    "asyncio",
    "urllib",
    "http",
    "requests",
    "aiohttp",
    "ssl",
    "azure.core.pipeline",
}


def test_protocol_package_is_sans_io():
    for path in (SRC / "_protocol").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                assert not any(name == f or name.startswith(f + ".") for f in FORBIDDEN), (
                    f"{path.name} imports {name}"
                )


def test_emulator_is_independent_of_the_client():
    for path in (SRC / "emulator").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level == 0 and node.module:
                    assert not node.module.startswith("azidentity") or node.module.startswith(
                        "azidentity.emulator"
                    ), path
                if node.level >= 2:
                    raise AssertionError(f"{path.name} imports from the client package")
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("azidentity") or alias.name.startswith(
                        "azidentity.emulator"
                    )


def test_py_typed_shipped():
    assert (SRC / "py.typed").exists()


def test_troubleshooting_md_is_generated_from_the_table():
    from azidentity._mitigations.render import render

    committed = (SRC.parent.parent / "TROUBLESHOOTING.md").read_text()
    assert committed == render(), "run: make troubleshooting"


def test_every_guide_row_has_a_mitigation():
    from azidentity._mitigations import ROWS, lookup

    for key in (
        "AADSTS7000215",
        "AADSTS7000222",
        "AADSTS700016",
        "AADSTS700027",
        "AADSTS700024",
        "AADSTS50126",
        "AADSTS900023",
        "AADSTS90002",
        "AADSTS70021",
        "AADSTS700213",
        "AADSTS500011",
        "AADSTS50076",
        "AADSTS50079",
        "AADSTS65001",
        "AADSTS53003",
        "AADSTS7000112",
        "dac-mi-timeout",
        "env-incomplete",
        "mi-imds-identity-not-assigned",
        "mi-imds-gateway",
        "mi-no-response",
        "mi-retries-exhausted",
        "mi-app-service-not-enabled",
        "mi-aks-pod-identity",
        "cli-not-found",
        "cli-not-logged-in",
        "azd-not-found",
        "azd-not-logged-in",
        "workload-incomplete",
        "pipelines-service-connection",
        "pipelines-unauthorized",
        "cache-unavailable",
    ):
        row = lookup(key)
        assert row is not None and row.mitigation and row.anchor, key
    assert lookup("AADSTS700016", "ClientCertificateCredential").section == "ClientCertificateCredential"
    assert len(ROWS) >= 50
