"""Entra ID + managed identity emulator: a local, HTTPS, standards-faithful stand-in for the services
azidentity talks to.  Independent of the client library by design (it imports nothing from it).

    from azidentity.emulator import Emulator
    with Emulator() as emu:
        ...  # authority=emu.base_url, CA bundle emu.ca_bundle_path, emu.apps["secret"].secret, ...
"""

from __future__ import annotations

from .cli import run_cli
from .config import (
    AppConfig,
    EmulatorConfig,
    FederatedCredential,
    ManagedIdentities,
    SystemAssignedIdentity,
    UserAssignedIdentity,
    UserConfig,
    config_from_dict,
    load_config,
)
from .describe import HOSTS
from .emulator import Emulator
from .faults import Fault, FaultPlan
from .wire import Headers, RecordedRequest

__all__ = [
    "HOSTS",
    "AppConfig",
    "Emulator",
    "EmulatorConfig",
    "Fault",
    "FaultPlan",
    "FederatedCredential",
    "Headers",
    "ManagedIdentities",
    "RecordedRequest",
    "SystemAssignedIdentity",
    "UserAssignedIdentity",
    "UserConfig",
    "config_from_dict",
    "load_config",
    "run_cli",
]
