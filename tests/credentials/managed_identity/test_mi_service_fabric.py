"""Service Fabric and pipeline options, as azure-identity 1.27's sync credential handles them (issue 11.4):
a user's azure-core ``RequestsTransport`` is used, with azidentity's thumbprint pinning kept; what can't be
honoured is named in one ``UserWarning`` instead of refusing.

Against the emulator's Service Fabric endpoint (HTTPS on 127.0.0.1 with its own self-signed certificate).
"""

from __future__ import annotations

import warnings

import pytest

from azidentity import AuthenticationFailedError
from managed_identity_testlib import (  # noqa: F401 - fresh_mi_cache is an autouse fixture
    SCOPE,
    fresh_mi_cache,
    make,
)


def counting_requests_transport():
    from azure.core.pipeline.transport import RequestsTransport

    class Counting(RequestsTransport):
        sent = 0
        entered = 0
        exited = 0

        def send(self, request, **kwargs):
            type(self).sent += 1
            return super().send(request, **kwargs)

        def __enter__(self):
            type(self).entered += 1
            return super().__enter__()

        def __exit__(self, *args):
            type(self).exited += 1
            return super().__exit__(*args)

    return Counting()


def no_warnings(build):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return build()


def test_sync_uses_the_users_requests_transport_and_keeps_pinning(emulator):
    transport = counting_requests_transport()
    credential = no_warnings(lambda: make_sync(emulator, transport=transport))
    token = credential.get_token(SCOPE)
    emulator.verify_token(token.token)
    assert type(transport).sent == 1 and emulator.count("service-fabric") == 1
    credential.close()
    assert type(transport).exited == 1  # closing the credential reaches the user's transport


def test_sync_users_requests_transport_still_refuses_another_certificate(emulator):
    env = {**emulator.env("service-fabric"), "IDENTITY_SERVER_THUMBPRINT": "ab" * 20}
    transport = counting_requests_transport()
    import azidentity

    credential = azidentity.ManagedIdentityCredential(_env=env, transport=transport)
    with pytest.raises(AuthenticationFailedError) as info:
        credential.get_token(SCOPE)
    assert "does not match IDENTITY_SERVER_THUMBPRINT" in str(info.value)
    assert emulator.count("service-fabric") == 0  # the Secret header never left
    # Other origins through the same session are not pinned: only the endpoint's origin is.
    response = transport.session.get(
        f"{emulator.base_url}/common/discovery/instance", verify=emulator.ca_bundle_path
    )
    assert response.status_code < 500


def make_sync(emulator, **kwargs):
    import azidentity

    return azidentity.ManagedIdentityCredential(_env=emulator.env("service-fabric"), **kwargs)


class NotARequestsTransport:
    """A transport azure-core would accept but whose connections can't be pinned here."""

    def send(self, request, **kwargs):  # pragma: no cover - never called
        raise AssertionError("Service Fabric requests must not go through this transport")


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"transport": NotARequestsTransport()}, "transport"),
        (
            {"transport": NotARequestsTransport(), "connection_cert": "client.pem"},
            "transport, connection_cert",
        ),
    ],
)
def test_options_that_cant_be_honoured_are_named_in_one_user_warning(flavor, emulator, extra, named):
    with pytest.warns(UserWarning) as record:
        credential = make(flavor, emulator, "service-fabric", **extra)
    (warning,) = [w for w in record if issubclass(w.category, UserWarning)]
    text = str(warning.message)
    assert "Service Fabric" in text and text.rstrip(".").endswith(named)
    assert "azidentity" not in warning.filename.replace("\\", "/").split("/src/")[-1]  # the caller's line
    emulator.verify_token(flavor.get_token(credential, SCOPE).token)  # through azidentity's pinned transport


def test_async_ignores_a_users_transport_with_a_warning(emulator):
    import asyncio

    from azure.core.pipeline.transport import AioHttpTransport

    import azidentity.aio

    async def go():
        with pytest.warns(UserWarning, match="transport"):
            credential = azidentity.aio.ManagedIdentityCredential(
                _env=emulator.env("service-fabric"), transport=AioHttpTransport()
            )
        async with credential:
            return await credential.get_token(SCOPE)

    emulator.verify_token(asyncio.run(go()).token)


def test_no_warning_without_pipeline_options(flavor, emulator):
    credential = no_warnings(lambda: make(flavor, emulator, "service-fabric"))
    emulator.verify_token(flavor.get_token(credential, SCOPE).token)
