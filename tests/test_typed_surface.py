"""The typed public surface: one export table, mirrored for type checkers, and no public name is Any.

``azidentity`` resolves its names lazily, so type checkers see only the ``TYPE_CHECKING`` imports
at the end of each ``__init__``. These tests hold those imports to the export table, and run mypy
on a file that ``reveal_type``s every public name of both namespaces.
"""

from __future__ import annotations

import ast
import importlib
import os
import pathlib
import re
import subprocess
import sys

import pytest

import azidentity
import azidentity.aio

SRC = pathlib.Path(azidentity.__file__).parent


def _type_checking_imports(path: pathlib.Path) -> dict[str, tuple[str, str]]:
    """public name -> (module as written, imported name) from the module's ``if TYPE_CHECKING:`` blocks."""
    imports: dict[str, tuple[str, str]] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.level > 0:
                    module = "." * statement.level + (statement.module or "")
                    for alias in statement.names:
                        imports[alias.asname or alias.name] = (module, alias.name)
    return imports


def test_sync_type_checking_imports_mirror_the_export_table():
    imports = _type_checking_imports(SRC / "__init__.py")
    imports.pop("Any", None)
    assert {name: module for name, (module, _) in imports.items()} == azidentity._EXPORTS
    assert all(imported == name for name, (_, imported) in imports.items())


def test_aio_table_and_type_checking_imports_are_derived_from_the_sync_table():
    credentials = {n for n, m in azidentity._EXPORTS.items() if m.startswith(azidentity.CREDENTIAL_PACKAGE)}
    assert set(azidentity.aio._CREDENTIALS) == credentials
    assert azidentity.aio.__all__ == sorted([*credentials, "get_bearer_token_provider"])
    imports = _type_checking_imports(SRC / "aio" / "__init__.py")
    imports.pop("Any", None)
    assert imports.pop("get_bearer_token_provider") == (".._bearer", "get_async_bearer_token_provider")
    for name in credentials:
        module, imported = imports.pop(name)
        assert module == "." + azidentity._EXPORTS[name] and imported == "Async" + name
    assert not imports


def test_every_public_name_resolves_to_what_type_checkers_are_told():
    for name, module in azidentity._EXPORTS.items():
        assert getattr(azidentity, name) is getattr(importlib.import_module(module, "azidentity"), name)
    for name in azidentity.aio.__all__:
        value = getattr(azidentity.aio, name)
        if name != "get_bearer_token_provider":
            assert value.__name__ == name and value.__module__ == "azidentity.aio"
            assert value is not getattr(azidentity, name)


def test_no_public_name_is_any_to_mypy(tmp_path):
    probe = tmp_path / "reveal_public_names.py"
    lines = ["import azidentity", "import azidentity.aio", ""]
    lines += [f"reveal_type(azidentity.{name})" for name in azidentity.__all__]
    lines += [f"reveal_type(azidentity.aio.{name})" for name in azidentity.aio.__all__]
    probe.write_text("\n".join(lines) + "\n")
    env = {**os.environ, "MYPYPATH": str(SRC.parent)}
    cache = pathlib.Path(os.environ.get("AZIDENTITY_MYPY_CACHE", tmp_path / "mypy-cache"))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(cache),
            "--no-error-summary",
            str(probe),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    revealed = re.findall(r'reveal_public_names\.py:(\d+): note: Revealed type is "(.*)"', result.stdout)
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert not errors, "\n".join(errors)
    assert len(revealed) == len(lines) - 3, result.stdout + result.stderr
    names = lines[3:]
    anys = [names[int(n) - 4] for n, shown in revealed if shown == "Any" or shown.startswith("Any ")]
    assert not anys, f"mypy sees these public names as Any: {anys}"


@pytest.mark.parametrize(
    ("name", "protocol"),
    [
        ("azidentity.ChainedTokenCredential", "TokenCredential"),
        ("azidentity.aio.ChainedTokenCredential", "Async"),
    ],
)
def test_chain_members_are_typed_with_azure_core_protocols(name, protocol):
    import inspect

    cls = eval(name)
    annotation = str(inspect.signature(cls.__init__).parameters["credentials"].annotation)
    assert protocol in annotation and "SupportsTokenInfo" in annotation
