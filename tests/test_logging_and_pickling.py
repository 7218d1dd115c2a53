"""Logging (standard logging + the event listener), redaction, pickling and the bearer provider."""

from __future__ import annotations

import logging
import pickle

import pytest

import azidentity
from azidentity import log

SCOPE = "https://storage.azure.com/.default"


def make(emu, **kwargs):
    app = emu.apps["secret"]
    return azidentity.ClientSecretCredential(
        emu.tenant_id,
        app.client_id,
        app.secret,
        authority=emu.base_url,
        connection_verify=emu.ca_bundle_path,
        **kwargs,
    )


@pytest.fixture
def events():
    received: list[tuple[str, str]] = []
    log.set_listener(lambda event, message: received.append((event, message)))
    yield received
    log.set_listener(None)
    log.set_events()


def test_info_for_each_token_fetched_and_nothing_on_hits(emulator, events, caplog):
    caplog.set_level(logging.DEBUG, logger="azidentity")
    with make(emulator) as credential:
        token = credential.get_token(SCOPE).token
        credential.get_token(SCOPE)
    acquired = [
        r for r in caplog.records if r.levelno == logging.INFO and "acquired a token" in r.getMessage()
    ]
    assert len(acquired) == 1
    assert "ClientSecretCredential" in acquired[0].getMessage() and SCOPE in acquired[0].getMessage()
    kinds = {e for e, _ in events}
    assert {"Authentication", "Request", "Response"} <= kinds
    assert all(token not in m and emulator.apps["secret"].secret not in m for _, m in events)


def test_set_events_filters(emulator, events):
    log.set_events(log.EVENT_AUTHENTICATION)
    with make(emulator) as credential:
        credential.get_token(SCOPE)
    assert events and {e for e, _ in events} == {"Authentication"}
    with pytest.raises(ValueError, match="Unknown event"):
        log.set_events("Nope")


def test_retry_events(emulator, events):
    emulator.faults.add("token", status=503, body={"error": "temporarily_unavailable"}, times=1)
    with make(emulator, retry_backoff_factor=0) as credential:
        credential.get_token(SCOPE)
    assert any(e == "Retry" for e, _ in events)
    assert emulator.count("token") == 2


def test_logging_enable_never_logs_secrets_or_tokens(emulator, caplog):
    caplog.set_level(logging.DEBUG)
    app = emulator.apps["secret"]
    with make(emulator, logging_enable=True) as credential:
        token = credential.get_token(SCOPE).token
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "/oauth2/v2.0/token" in text  # requests were logged...
    assert app.secret not in text and token not in text  # ...without the body or the token


def test_a_broken_listener_never_breaks_authentication(emulator):
    def listener(event, message):
        raise RuntimeError("listener bug")

    log.set_listener(listener)
    try:
        with make(emulator) as credential:
            assert credential.get_token(SCOPE).token
    finally:
        log.set_listener(None)


def test_pickle_carries_configuration_but_no_token(emulator):
    with make(emulator) as credential:
        token = credential.get_token(SCOPE).token
        data = pickle.dumps(credential)
    assert token.encode() not in data
    with pickle.loads(data) as clone:
        assert repr(clone) == repr(credential)
        assert clone.get_token(SCOPE).token != token  # a fresh cache: it fetched its own token
    assert emulator.count("token") == 2


def test_pickle_certificate_credential(emulator):
    app = emulator.apps["cert"]
    credential = azidentity.CertificateCredential(
        emulator.tenant_id,
        app.client_id,
        app.cert_pem_encrypted_path,
        password=app.cert_password,
        authority=emulator.base_url,
        connection_verify=emulator.ca_bundle_path,
    )
    with pickle.loads(pickle.dumps(credential)) as clone:
        assert emulator.verify_token(clone.get_token(SCOPE).token)["appid"] == app.client_id


def test_unpicklable_callback_is_named():
    credential = azidentity.ClientAssertionCredential("t", "c", lambda: "x")
    with pytest.raises(TypeError, match="assertion callback .* is not picklable"):
        pickle.dumps(credential)


def test_repr_never_shows_secrets(emulator):
    app = emulator.apps["secret"]
    credential = make(emulator)
    assert app.secret not in repr(credential) and app.secret not in str(credential)
    assert app.client_id in repr(credential)


def test_bearer_token_provider_sync(emulator):
    with make(emulator) as credential:
        provider = azidentity.get_bearer_token_provider(credential, SCOPE)
        assert emulator.verify_token(provider())["aud"] == "https://storage.azure.com"
        provider()
    assert emulator.count("token") == 1


async def test_bearer_token_provider_async(emulator):
    import azidentity.aio

    app = emulator.apps["secret"]
    async with azidentity.aio.ClientSecretCredential(
        emulator.tenant_id,
        app.client_id,
        app.secret,
        authority=emulator.base_url,
        connection_verify=emulator.ca_bundle_path,
    ) as credential:
        provider = azidentity.aio.get_bearer_token_provider(credential, SCOPE)
        assert emulator.verify_token(await provider())["aud"] == "https://storage.azure.com"
