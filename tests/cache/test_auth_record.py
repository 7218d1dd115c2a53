"""AuthenticationRecord: round trip, azure-identity's JSON both ways, and errors that name the bad part."""

from __future__ import annotations

import json
import pickle

import pytest
from azure.identity import AuthenticationRecord as TheirRecord

from azidentity import AuthenticationRecord

FIELDS = {
    "tenant_id": "tenant",
    "client_id": "client",
    "authority": "login.microsoftonline.com",
    "home_account_id": "uid.utid",
    "username": "user@contoso.com",
}


def record() -> AuthenticationRecord:
    return AuthenticationRecord(**FIELDS)


def test_round_trip_and_json_shape() -> None:
    data = record().serialize()
    assert json.loads(data) == {
        "authority": "login.microsoftonline.com",
        "clientId": "client",
        "homeAccountId": "uid.utid",
        "tenantId": "tenant",
        "username": "user@contoso.com",
        "version": "1.0",
    }
    again = AuthenticationRecord.deserialize(data)
    assert again == record() and hash(again) == hash(record())
    assert {name: getattr(again, name) for name in FIELDS} == FIELDS
    assert AuthenticationRecord.deserialize(data.encode()) == record()
    assert pickle.loads(pickle.dumps(record())) == record()
    assert "user@contoso.com" in repr(record()) and "uid.utid" in repr(record())


def test_compatible_with_azure_identity_both_ways() -> None:
    theirs = TheirRecord.deserialize(record().serialize())
    assert {name: getattr(theirs, name) for name in FIELDS} == FIELDS
    ours = AuthenticationRecord.deserialize(TheirRecord(**FIELDS).serialize())
    assert ours == record()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("not json", "the data is not JSON"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"authority": "a"}', 'Unexpected version "None". This package supports these versions'),
        ('{"version": "2.0"}', 'Unexpected version "2.0"'),
        (
            '{"version": "1.0", "authority": "a", "clientId": "c", "tenantId": "t", "username": "u"}',
            'the "homeAccountId" field is missing',
        ),
        (
            '{"version": "1.0", "authority": "a", "clientId": 7, "homeAccountId": "h", '
            '"tenantId": "t", "username": "u"}',
            'the "clientId" field must be a string, got int',
        ),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_bad_data_is_named(data: str | bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        AuthenticationRecord.deserialize(data)


def test_not_a_string() -> None:
    with pytest.raises(ValueError, match="from dict; expected a JSON string"):
        AuthenticationRecord.deserialize({"version": "1.0"})  # type: ignore[arg-type]
