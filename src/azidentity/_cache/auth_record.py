"""AuthenticationRecord: the non-secret identity of a signed-in account.

A program keeps the record (``serialize()``) after a user signs in, and gives it to the next
credential (``authentication_record=``) so that credential finds the account's refresh token in
the persistent cache instead of prompting. The JSON is azure-identity's, so records move freely
between azure-identity and azidentity:

    {"authority": "login.microsoftonline.com", "clientId": "...", "homeAccountId": "<uid>.<utid>",
     "tenantId": "...", "username": "user@contoso.com", "version": "1.0"}
"""

from __future__ import annotations

from .._lazy import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

SUPPORTED_VERSIONS = {"1.0"}
_FIELDS = (  # (JSON key, attribute)
    ("authority", "authority"),
    ("clientId", "client_id"),
    ("homeAccountId", "home_account_id"),
    ("tenantId", "tenant_id"),
    ("username", "username"),
)


class AuthenticationRecord:
    """Non-secret account information for an authenticated user.

    Obtain one from ``authenticate()`` of :class:`InteractiveBrowserCredential` or
    :class:`DeviceCodeCredential` rather than constructing it.

    :param str tenant_id: the tenant the account authenticates in.
    :param str client_id: the application the user signed in to.
    :param str authority: the authority host, for example "login.microsoftonline.com".
    :param str home_account_id: the account's unique identifier (``<object id>.<home tenant id>``).
    :param str username: the user principal name, for example "user@contoso.com".
    """

    # A plain ``__dict__`` with azure-identity's attribute names (in its order): programs that store
    # records their own way (``vars(record)``, ``copy``, pickles) see the same object in both libraries.
    def __init__(
        self, tenant_id: str, client_id: str, authority: str, home_account_id: str, username: str
    ) -> None:
        self._authority = authority
        self._client_id = client_id
        self._home_account_id = home_account_id
        self._tenant_id = tenant_id
        self._username = username

    @property
    def authority(self) -> str:
        """The authority host used to authenticate the account."""
        return self._authority

    @property
    def client_id(self) -> str:
        """The client ID of the application which performed the original authentication."""
        return self._client_id

    @property
    def home_account_id(self) -> str:
        """A unique identifier of the account."""
        return self._home_account_id

    @property
    def tenant_id(self) -> str:
        """The tenant the account should authenticate in."""
        return self._tenant_id

    @property
    def username(self) -> str:
        """The user principal or service principal name of the account."""
        return self._username

    def serialize(self) -> str:
        """The record as JSON (azure-identity's format, version "1.0")."""
        import json

        record = {key: getattr(self, attribute) for key, attribute in _FIELDS}
        record["version"] = "1.0"
        return json.dumps(record)

    @classmethod
    def deserialize(cls, data: str | bytes) -> AuthenticationRecord:
        """Parse a record made by :meth:`serialize` (here or in azure-identity).

        :raises ValueError: the data is not a version 1.0 record; the message names the bad part.
        """
        if isinstance(data, (bytes, bytearray)):
            try:
                data = bytes(data).decode("utf-8")
            except UnicodeDecodeError as error:
                raise ValueError(
                    f"Can't deserialize an AuthenticationRecord: the data is not UTF-8 text ({error})"
                ) from None
        if not isinstance(data, str):
            raise ValueError(
                f"Can't deserialize an AuthenticationRecord from {type(data).__name__}; "
                "expected a JSON string"
            )
        from .._protocol.effects import parse_json

        try:
            deserialized: Any = parse_json(data)  # ValueError only, also for absurdly nested input
        except ValueError as error:
            raise ValueError(
                f"Can't deserialize an AuthenticationRecord: the data is not JSON ({error})"
            ) from None
        if not isinstance(deserialized, dict):
            raise ValueError(
                "Can't deserialize an AuthenticationRecord: expected a JSON object, "
                f"got {type(deserialized).__name__}"
            )
        version = deserialized.get("version")
        if (
            not isinstance(version, str) or version not in SUPPORTED_VERSIONS
        ):  # an unhashable version must not TypeError
            raise ValueError(
                f'Unexpected version "{version}". This package supports these versions: {SUPPORTED_VERSIONS}'
            )
        values: dict[str, str] = {}
        for key, attribute in _FIELDS:
            if key not in deserialized:
                raise ValueError(f'Can\'t deserialize an AuthenticationRecord: the "{key}" field is missing')
            value = deserialized[key]
            if not isinstance(value, str):
                raise ValueError(
                    f'Can\'t deserialize an AuthenticationRecord: the "{key}" field must be a string, '
                    f"got {type(value).__name__}"
                )
            values[attribute] = value
        return cls(**values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AuthenticationRecord):
            return NotImplemented
        return all(getattr(self, a) == getattr(other, a) for _, a in _FIELDS)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, a) for _, a in _FIELDS))

    def __repr__(self) -> str:
        return (
            f"AuthenticationRecord(username={self._username!r}, tenant_id={self._tenant_id!r}, "
            f"client_id={self._client_id!r}, authority={self._authority!r}, "
            f"home_account_id={self._home_account_id!r})"
        )

    def __setstate__(self, state: dict[str, str]) -> None:
        # Pickles are azure-identity's shape (the ``__dict__``); earlier azidentity pickles held the
        # public names, and still load.
        for _, attribute in _FIELDS:
            key = "_" + attribute
            setattr(self, key, state[key] if key in state else state[attribute])
