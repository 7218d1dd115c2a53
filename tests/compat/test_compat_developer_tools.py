"""AzureCliCredential, AzureDeveloperCliCredential, AzurePowerShellCredential against fake tools.

A user's test of code that signs in with a developer tool puts a fake ``az`` / ``azd`` / ``pwsh`` on
``PATH`` (``mock.patch.dict(os.environ, {"PATH": ...})``): the credential runs it as a real
subprocess. Each fake records its arguments and prints what the test chose.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from azure.core.exceptions import ClientAuthenticationError

from .compat_testlib import GET_TOKEN_METHODS, SCOPE, Library, Mode, call, write_executable

FAKE_TOOL = """#!{python}
import json, pathlib, sys
here = pathlib.Path(__file__).parent
with open(here / "calls.jsonl", "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
spec = json.loads((here / "spec.json").read_text())
sys.stdout.write(spec["stdout"])
sys.stderr.write(spec["stderr"])
sys.exit(spec["code"])
"""


class FakeTools:
    """A directory on PATH holding the fake tools; ``behave`` chooses what they print."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        for name in ("az", "azd", "pwsh"):
            write_executable(directory, name, FAKE_TOOL.format(python=sys.executable))
        self.behave()

    def behave(self, stdout: str = "", stderr: str = "", code: int = 0) -> None:
        (self.directory / "spec.json").write_text(
            json.dumps({"stdout": stdout, "stderr": stderr, "code": code})
        )

    def calls(self) -> list[list[str]]:
        path = self.directory / "calls.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def tools(tmp_path: Path) -> Any:
    fake = FakeTools(tmp_path)
    with mock.patch.dict(os.environ, {"PATH": str(tmp_path)}):
        yield fake


@dataclass
class Tool:
    name: str  # credential class
    success: Callable[[str, int], str]  # (token, expires_on) -> stdout
    not_logged_in: tuple[str, int]  # (stderr, exit code)
    tenant_args: Callable[[str], list[str]]  # what a tenant adds to the command line (empty: not visible)
    one_scope: bool

    def __str__(self) -> str:
        return self.name


def _az_output(token: str, expires_on: int) -> str:
    local = datetime.datetime.fromtimestamp(expires_on).strftime("%Y-%m-%d %H:%M:%S.%f")
    return json.dumps(
        {
            "accessToken": token,
            "expiresOn": local,
            "expires_on": expires_on,
            "subscription": "subscription-id",
            "tenant": "tenant-id",
            "tokenType": "Bearer",
        }
    )


def _azd_output(token: str, expires_on: int) -> str:
    utc = datetime.datetime.fromtimestamp(expires_on, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps({"token": token, "expiresOn": utc})


TOOLS = [
    Tool(
        "AzureCliCredential",
        _az_output,
        ("ERROR: Please run 'az login' to setup account.\n", 1),
        lambda tenant: ["--tenant", tenant],
        one_scope=True,
    ),
    Tool(
        "AzureDeveloperCliCredential",
        _azd_output,
        ("ERROR: not logged in, run `azd auth login` to login\n", 1),
        lambda tenant: ["--tenant-id", tenant],
        one_scope=False,
    ),
    Tool(
        "AzurePowerShellCredential",
        lambda token, expires_on: f"azsdk%{token}%{expires_on}\n",
        ("Run Connect-AzAccount to login\n", 1),
        lambda tenant: [],  # inside the encoded script
        one_scope=True,
    ),
]

each_tool = pytest.mark.parametrize("tool", TOOLS, ids=str)
methods = pytest.mark.parametrize("method", GET_TOKEN_METHODS)


def make(library: Library, mode: Mode, tool: Tool, **kwargs: Any) -> Any:
    return getattr(mode.module(library), tool.name)(**kwargs)


@each_tool
@methods
def test_token_from_the_tool(
    tool: Tool, library: Library, sync_or_async: Mode, method: str, tools: FakeTools
) -> None:
    mode = sync_or_async
    expires_on = int(time.time()) + 3600
    tools.behave(tool.success("tool-token", expires_on))
    credential = make(library, mode, tool)
    token = call(mode, credential, method, SCOPE)
    assert token.token == "tool-token"
    # azure-identity reads azd's UTC expiry as local time (README: azd token expiry): allow a zone's offset.
    assert abs(token.expires_on - expires_on) <= (
        14 * 3600 if tool.name == "AzureDeveloperCliCredential" else 1
    )
    assert len(tools.calls()) == 1


@each_tool
def test_the_command_line(tool: Tool, library: Library, tools: FakeTools) -> None:
    tools.behave(tool.success("tool-token", int(time.time()) + 3600))
    make(library, Mode("sync"), tool).get_token(SCOPE)
    (argv,) = tools.calls()
    if tool.name == "AzureCliCredential":
        assert argv[:4] == ["account", "get-access-token", "--output", "json"]
        assert argv[argv.index("--resource") + 1] == "https://vault.azure.net"
    elif tool.name == "AzureDeveloperCliCredential":
        assert argv[:4] == ["auth", "token", "--output", "json"]
        assert argv[argv.index("--scope") + 1] == SCOPE
    else:
        assert {"-NoProfile", "-NonInteractive", "-EncodedCommand"} <= set(argv)


@each_tool
@methods
def test_tenant_id_of_the_request(tool: Tool, library: Library, method: str, tools: FakeTools) -> None:
    tools.behave(tool.success("tool-token", int(time.time()) + 3600))
    credential = make(library, Mode("sync"), tool)
    assert call(Mode("sync"), credential, method, SCOPE, tenant_id="other-tenant").token == "tool-token"
    (argv,) = tools.calls()
    extra = tool.tenant_args("other-tenant")
    if extra:
        assert argv[argv.index(extra[0]) : argv.index(extra[0]) + 2] == extra


@each_tool
def test_configured_tenant_and_subscription(tool: Tool, library: Library, tools: FakeTools) -> None:
    tools.behave(tool.success("tool-token", int(time.time()) + 3600))
    kwargs: dict[str, Any] = {"tenant_id": "configured-tenant"}
    if tool.name == "AzureCliCredential":
        kwargs["subscription"] = "my subscription"
    make(library, Mode("sync"), tool, **kwargs).get_token(SCOPE)
    (argv,) = tools.calls()
    extra = tool.tenant_args("configured-tenant")
    if extra:
        assert argv[argv.index(extra[0]) : argv.index(extra[0]) + 2] == extra
    if tool.name == "AzureCliCredential":
        assert argv[argv.index("--subscription") + 1] == "my subscription"


@each_tool
@methods
def test_not_installed_is_unavailable(
    tool: Tool, library: Library, sync_or_async: Mode, method: str, tmp_path: Path
) -> None:
    with mock.patch.dict(os.environ, {"PATH": str(tmp_path / "empty")}):
        credential = make(library, sync_or_async, tool)
        with pytest.raises(library.CredentialUnavailableError):
            call(sync_or_async, credential, method, SCOPE)


@each_tool
@methods
def test_not_logged_in_is_unavailable(
    tool: Tool, library: Library, sync_or_async: Mode, method: str, tools: FakeTools
) -> None:
    stderr, code = tool.not_logged_in
    tools.behave(stderr=stderr, code=code)
    credential = make(library, sync_or_async, tool)
    with pytest.raises(library.CredentialUnavailableError):
        call(sync_or_async, credential, method, SCOPE)


@each_tool
def test_other_failures_raise_client_authentication_error(
    tool: Tool, library: Library, tools: FakeTools
) -> None:
    tools.behave(stderr="ERROR: AADSTS700016: Application not found in the directory.\n", code=1)
    with pytest.raises(ClientAuthenticationError):
        make(library, Mode("sync"), tool).get_token(SCOPE)


@each_tool
@methods
def test_no_scope(tool: Tool, library: Library, method: str, tools: FakeTools) -> None:
    with pytest.raises(ValueError):
        call(Mode("sync"), make(library, Mode("sync"), tool), method)
    assert tools.calls() == []


@each_tool
def test_more_than_one_scope(tool: Tool, library: Library, tools: FakeTools) -> None:
    tools.behave(tool.success("tool-token", int(time.time()) + 3600))
    credential = make(library, Mode("sync"), tool)
    if tool.one_scope:
        with pytest.raises(ValueError):
            credential.get_token(SCOPE, "https://storage.azure.com/.default")
        assert tools.calls() == []
    else:
        assert credential.get_token(SCOPE, "https://storage.azure.com/.default").token == "tool-token"


@each_tool
@pytest.mark.parametrize(
    "scope", ["https://vault.azure.net/.default;rm -rf /", "scope with spaces", "scope'"]
)
def test_invalid_scope_is_refused(tool: Tool, library: Library, tools: FakeTools, scope: str) -> None:
    with pytest.raises(ValueError, match="An invalid scope was provided"):
        make(library, Mode("sync"), tool).get_token(scope)
    assert tools.calls() == []


@each_tool
@pytest.mark.parametrize("tenant", ["tenant id", "tenant;id", "tenant/id", "tenant'id", "tenant_id"])
def test_invalid_tenant_is_refused(tool: Tool, library: Library, tools: FakeTools, tenant: str) -> None:
    with pytest.raises(ValueError, match="Invalid tenant ID"):
        make(library, Mode("sync"), tool, tenant_id=tenant)
    credential = make(library, Mode("sync"), tool)
    with pytest.raises(ValueError, match="Invalid tenant ID"):
        credential.get_token(SCOPE, tenant_id=tenant)
    assert tools.calls() == []


@each_tool
def test_unknown_keyword_is_a_type_error(tool: Tool, library: Library) -> None:
    """The tool credentials have fixed signatures: a pipeline keyword (transport=) is a TypeError."""
    with pytest.raises(TypeError):
        make(library, Mode("sync"), tool, transport=mock.MagicMock())


@pytest.mark.parametrize("tool", [t for t in TOOLS if t.name != "AzureDeveloperCliCredential"], ids=str)
def test_claims_are_refused_with_the_login_command(tool: Tool, library: Library, tools: FakeTools) -> None:
    tools.behave(tool.success("tool-token", int(time.time()) + 3600))
    claims = json.dumps({"access_token": {"acrs": {"essential": True, "value": "p1"}}})
    with pytest.raises(library.CredentialUnavailableError) as raised:
        make(library, Mode("sync"), tool).get_token(SCOPE, claims=claims)
    assert ("az login" if tool.name == "AzureCliCredential" else "Connect-AzAccount") in str(raised.value)


def test_invalid_subscription_is_refused(library: Library) -> None:
    with pytest.raises(ValueError, match="Subscription"):
        library.sync.AzureCliCredential(subscription="sub;scription")


@each_tool
def test_process_timeout_is_a_keyword(tool: Tool, library: Library, tools: FakeTools) -> None:
    tools.behave(tool.success("tool-token", int(time.time()) + 3600))
    assert make(library, Mode("sync"), tool, process_timeout=30).get_token(SCOPE).token == "tool-token"
