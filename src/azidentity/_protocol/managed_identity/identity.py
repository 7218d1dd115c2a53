"""Which identity to ask a host for: ``client_id`` / ``identity_config`` read as azure-identity reads them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .service_fabric import SERVICE_FABRIC_IDENTITY
from .sources import IDENTITY_PARAMETERS, SERVICE_FABRIC, Source

IDENTITY_KINDS = ("client_id", "object_id", "resource_id")


# identity_config keys azure-identity recognises, as its messages list them.
_KEY_LIST = ", ".join(IDENTITY_KINDS)


# Other spellings of the three kinds (older samples used the hosts' wire names): read as the id they name
# when they are the only id given; dropped with a warning next to another id (never a ValueError).
_IDENTITY_ALIASES = {
    **{kind: kind for kind in IDENTITY_KINDS},  # other letter cases of the three ("Client_Id")
    "clientid": "client_id",
    "principal_id": "object_id",
    "msi_res_id": "resource_id",
    "mi_res_id": "resource_id",
}


@dataclass(frozen=True, slots=True, repr=False)
class Identity:
    """A user-assigned identity: ``kind`` is ``client_id``, ``object_id`` or ``resource_id``."""

    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"

    def __repr__(self) -> str:
        return f"{self.kind}={self.value!r}"


@dataclass(frozen=True, slots=True)
class IdentityArgs:
    """What ``client_id`` and ``identity_config`` ask for, read as azure-identity 1.27 reads them."""

    # The user-assigned identity asked for; None: the host's (system-assigned) identity.
    identity: Identity | None = None
    # identity_config keys that select nothing and are dropped (logged at WARNING by the credential).
    dropped: tuple[str, ...] = ()
    # An identity_config key read under another spelling (``msi_res_id`` -> resource_id), or None.
    alias: str | None = None
    # azure-identity's own id keys present in identity_config, whatever their values
    # (Cloud Shell refuses them).
    id_keys: tuple[str, ...] = ()
    # client_id was given (non-empty), as opposed to an id from identity_config.
    client_id_given: bool = False
    # Some client_id or a non-empty identity_config was given (Service Fabric refuses both).
    configured: bool = False
    # An id given as whitespace only: azure-identity sends it and the host refuses it; reported at get_token.
    blank: str | None = None


def _text(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


def identity_from_args(client_id: Any, identity_config: Mapping[str, Any] | None) -> IdentityArgs:
    """Read ``client_id`` / ``identity_config`` as azure-identity does: ValueError only where it raises one.

    Empty values (``None``, ``""``) select nothing, as azure-identity's truthiness checks do; keys other than
    client_id, object_id and resource_id are dropped (its synchronous credential ignores them).
    """
    if identity_config is not None and not isinstance(identity_config, Mapping):
        raise TypeError(
            "identity_config must be a mapping such as {'object_id': '...'}, "
            f"got {type(identity_config).__name__}"
        )
    config = dict(identity_config or {})
    client = _text(client_id)
    id_keys = tuple(key for key in IDENTITY_KINDS if key in config)
    if client and id_keys:
        raise ValueError(
            "When 'client_id' is provided as a keyword argument, "
            f"'identity_config' must not contain any of the following keys: {_KEY_LIST}"
        )
    if len(id_keys) > 1:
        raise ValueError(f"identity_config must not contain more than one of the following keys: {_KEY_LIST}")
    others = [key for key in config if key not in IDENTITY_KINDS]
    chosen: tuple[str, str] | None = None  # (kind, value as given)
    alias = None
    if client:
        chosen = ("client_id", client)
    elif id_keys:
        chosen = (id_keys[0], _text(config[id_keys[0]]))
    else:
        named = [key for key in others if isinstance(key, str) and key.lower() in _IDENTITY_ALIASES]
        if len(named) == 1 and _text(config[named[0]]):
            alias = named[0]
            chosen = (_IDENTITY_ALIASES[alias.lower()], _text(config[alias]))
    dropped = tuple(str(key) for key in others if key != alias)
    identity = blank = None
    if chosen is not None and chosen[1]:
        if chosen[1].strip():
            identity = Identity(chosen[0], chosen[1].strip())
        else:
            blank = "client_id" if client else f"identity_config[{(alias or chosen[0])!r}]"
    return IdentityArgs(
        identity=identity,
        dropped=dropped,
        alias=alias,
        id_keys=id_keys,
        client_id_given=bool(client),
        configured=bool(client) or bool(config),
        blank=blank,
    )


def cloud_shell_refusal(args: IdentityArgs) -> str | None:
    """azure-identity's ValueError text for an identity on Cloud Shell (outside DefaultAzureCredential)."""
    if args.client_id_given:
        return "client_id should not be set for cloud shell managed identity."
    if args.id_keys:
        return f"identity_config must not contain the following keys: {_KEY_LIST}"
    return None


def unsupported_identity(
    source: Source, identity: Identity | None, *, configured: bool = False
) -> tuple[str, str] | None:
    """(message, mitigation key) when ``source`` cannot select ``identity``; None when it can.

    Service Fabric refuses at request time, as azure-identity does, any client_id or non-empty
    identity_config (``configured``); Cloud Shell's refusal is a ValueError at construction
    (:func:`cloud_shell_refusal`).
    """
    if source.kind == SERVICE_FABRIC and (configured or identity is not None):
        return SERVICE_FABRIC_IDENTITY, "mi-service-fabric-identity"
    if identity is not None and identity.kind not in IDENTITY_PARAMETERS.get(source.kind, {}):
        supported = ", ".join(IDENTITY_PARAMETERS.get(source.kind, {})) or "none"
        return (
            f"{source.display} does not support selecting an identity by {identity.kind}; it supports: "
            f"{supported}.",
            "mi-unsupported-identity",
        )
    return None
