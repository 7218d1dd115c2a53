"""Azure Arc's key-file challenge: parse it and decide whether the named file may be read.

The agent answers the first request with ``401`` and ``WWW-Authenticate: Basic realm=<path>``;
the client proves it may read the agent's token directory by sending the file's contents back
(``Authorization: Basic <contents>``). Anyone able to answer on the endpoint's port could name
any file, so the path is accepted only if, with symlinks resolved, it lies directly in the
agent's token directory, ends in ``.key`` and holds at most 4096 bytes. Only ``os.path`` is used
here; the credential module reads the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..effects import HttpResponse
from .identity import Identity

LINUX_TOKEN_DIR = "/var/opt/azcmagent/tokens"
MAX_KEY_SIZE = 4096


class KeyFileProblem(ValueError):
    """The challenge or the file it names cannot be used; the text says why."""


def default_token_dir(os_name: str, platform: str, env: Mapping[str, str]) -> str:
    """The agent's token directory on this platform."""
    if os_name == "nt":
        program_data = (env.get("PROGRAMDATA") or "").strip()
        if not program_data:
            raise KeyFileProblem("PROGRAMDATA environment variable is not set or is empty.")
        return os.path.join(program_data, "AzureConnectedMachineAgent", "Tokens")
    if platform.startswith("linux"):
        return LINUX_TOKEN_DIR
    raise KeyFileProblem(f"Azure Arc managed identity is not supported on this platform ({platform}).")


def challenge_path(response: HttpResponse) -> str:
    """The key file named by a 401's ``WWW-Authenticate: Basic realm=<path>``."""
    header = response.headers.get("www-authenticate")
    if not header:
        raise KeyFileProblem("Did not receive a value from WWW-Authenticate header")
    scheme, _, rest = str(header).strip().partition(" ")
    name, sep, value = rest.strip().partition("=")
    if scheme.lower() != "basic" or name.strip().lower() != "realm" or not sep:
        raise KeyFileProblem(f"Did not receive a correct value from WWW-Authenticate header: {header}")
    path = value.strip()
    if len(path) >= 2 and path[0] == path[-1] == '"':
        path = path[1:-1]
    if not path:
        raise KeyFileProblem("The file path must not be empty.")
    return path


def check_key_path(path: str, token_dir: str) -> str:
    """The resolved path of the key file, if it may be read; :class:`KeyFileProblem` otherwise."""
    if "\x00" in path:
        raise KeyFileProblem("The file path contains a NUL character.")
    if not os.path.isabs(path):
        raise KeyFileProblem(f"The file path is not absolute: {path}")
    if not path.lower().endswith(".key"):
        raise KeyFileProblem(f"The file path must have a '.key' extension: {path}")
    resolved = os.path.realpath(path)
    directory = os.path.realpath(token_dir)
    if os.path.normcase(os.path.dirname(resolved)) != os.path.normcase(directory):
        where = f" (it resolves to {resolved})" if resolved != os.path.normpath(path) else ""
        raise KeyFileProblem(
            f"Unexpected file path from the Azure Arc agent: {path}{where} is not in the agent's token "
            f"directory {token_dir}"
        )
    if not resolved.lower().endswith(".key"):
        raise KeyFileProblem(f"The file path must have a '.key' extension: {path} resolves to {resolved}")
    return resolved


def check_key_size(size: int) -> None:
    if size > MAX_KEY_SIZE:
        raise KeyFileProblem(
            f"The file size must be less than or equal to {MAX_KEY_SIZE} bytes (it has {size})."
        )
    if size == 0:
        raise KeyFileProblem("The key file is empty.")


# Response fields in which Arc echoes the identity it issued the token for.
_ECHO_FIELDS = {
    "client_id": ("client_id",),
    "object_id": ("object_id",),
    "resource_id": ("msi_res_id", "mi_res_id", "resource_id"),
}


def confirms_identity(payload: dict[str, Any], identity: Identity) -> bool:
    """Whether the token response names the requested user-assigned identity."""
    lowered = {str(k).lower(): v for k, v in payload.items()}
    for name in _ECHO_FIELDS[identity.kind]:
        value = lowered.get(name)
        if isinstance(value, str) and value.strip().lower() == identity.value.lower():
            return True
    return False
