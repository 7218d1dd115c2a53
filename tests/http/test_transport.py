"""The stdlib transport: proxies (CONNECT), NO_PROXY, kept-alive connections, timeouts, user transports."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
from azure.core.exceptions import ServiceRequestError, ServiceResponseTimeoutError
from azure.core.rest import HttpRequest

import azidentity
import azidentity.aio
from azidentity._http.errors import TransportSettingError
from azidentity._http.transport import StdlibTransport
from transport_testlib import ConnectProxy, c_rehashed

SCOPE = "https://storage.azure.com/.default"


@pytest.fixture
def proxy():
    p = ConnectProxy()
    yield p
    p.close()


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


def test_https_through_a_proxy_from_the_environment(emulator, proxy, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", proxy.url.replace("http://", "http://user:pa%40ss@"))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with make(emulator) as credential:
        assert credential.get_token(SCOPE).token
    port = emulator.base_url.rsplit(":", 1)[1]
    assert proxy.connects == [f"127.0.0.1:{port}"]
    assert proxy.auth == ["Basic dXNlcjpwYUBzcw=="]  # user:pa@ss


def test_proxies_keyword(emulator, proxy, monkeypatch):
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    monkeypatch.delenv("https_proxy", raising=False)
    with make(emulator, proxies={"https": proxy.url}) as credential:
        assert credential.get_token(SCOPE).token
    assert len(proxy.connects) == 1


def test_no_proxy_and_use_env_settings_bypass_the_proxy(emulator, proxy, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with make(emulator) as credential:
        assert credential.get_token(SCOPE).token
    monkeypatch.delenv("NO_PROXY")
    monkeypatch.delenv("no_proxy", raising=False)
    with make(emulator, use_env_settings=False) as credential:
        assert credential.get_token(SCOPE).token
    assert proxy.connects == []


def test_connections_are_kept_alive_and_stale_ones_replaced(emulator):
    transport = StdlibTransport(connection_verify=emulator.ca_bundle_path)
    url = f"{emulator.base_url}/{emulator.tenant_id}/v2.0/.well-known/openid-configuration"
    assert transport.send(HttpRequest("GET", url)).status_code == 200
    assert transport.send(HttpRequest("GET", url)).status_code == 200
    (pooled,) = [c for idle in transport._pool.values() for c in idle]
    pooled.sock.shutdown(socket.SHUT_RDWR)  # as if the server had closed the idle connection
    assert transport.send(HttpRequest("GET", url)).status_code == 200
    transport.close()


def test_read_timeout_and_refused_connection(emulator):
    emulator.faults.add("openid-configuration", hang=True)
    transport = StdlibTransport(connection_verify=emulator.ca_bundle_path, read_timeout=0.5)
    url = f"{emulator.base_url}/{emulator.tenant_id}/v2.0/.well-known/openid-configuration"
    start = time.monotonic()
    with transport:
        with pytest.raises(ServiceResponseTimeoutError):
            transport.send(HttpRequest("GET", url))
        assert time.monotonic() - start < 3
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
        with pytest.raises(ServiceRequestError):
            transport.send(HttpRequest("GET", f"http://127.0.0.1:{port}/"))


def test_untrusted_certificate_is_refused_and_verify_false_accepts(emulator):
    url = f"{emulator.base_url}/{emulator.tenant_id}/v2.0/.well-known/openid-configuration"
    with StdlibTransport(connection_verify=True) as transport:
        with pytest.raises(ServiceRequestError, match="CERTIFICATE_VERIFY_FAILED"):
            transport.send(HttpRequest("GET", url))
    with StdlibTransport(connection_verify=False) as transport:
        assert transport.send(HttpRequest("GET", url)).status_code == 200


def test_a_user_transport_replaces_it(emulator):
    from azure.core.pipeline.transport import RequestsTransport

    with make(emulator, transport=RequestsTransport(connection_verify=emulator.ca_bundle_path)) as credential:
        assert credential.get_token(SCOPE).token


# -- trust: connection_verify as a file, a CA directory, or neither; REQUESTS_CA_BUNDLE (issue 12.6) -------


@pytest.fixture
def no_ca_variables(monkeypatch):
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


@pytest.mark.parametrize("flavor_name", ["sync", "async"])
def test_connection_verify_accepts_a_ca_directory(emulator, tmp_path, no_ca_variables, flavor_name):
    directory = c_rehashed(tmp_path, Path(emulator.ca_bundle_path))
    app = emulator.apps["secret"]
    args = (emulator.tenant_id, app.client_id, app.secret)
    kwargs = {"authority": emulator.base_url, "connection_verify": str(directory)}
    if flavor_name == "sync":
        with azidentity.ClientSecretCredential(*args, **kwargs) as credential:
            token = credential.get_token(SCOPE)
    else:
        import asyncio

        async def get():
            async with azidentity.aio.ClientSecretCredential(*args, **kwargs) as credential:
                return await credential.get_token(SCOPE)

        token = asyncio.run(get())
    assert emulator.verify_token(token.token)


def unusable_paths(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    empty = tmp_path / "not-a-ca.pem"
    empty.write_text("no certificates here\n")
    return {
        "missing": (tmp_path / "nowhere.pem", "doesn't exist"),
        "fifo": (fifo, "is neither a file nor a directory"),
        "no-certificates": (empty, "holds no CA certificate"),
    }


@pytest.mark.parametrize("case", ["missing", "fifo", "no-certificates"])
@pytest.mark.parametrize("flavor_name", ["sync", "async"])
def test_an_unusable_connection_verify_is_named_at_once(
    emulator, tmp_path, no_ca_variables, case, flavor_name
):
    path, what = unusable_paths(tmp_path)[case]
    app = emulator.apps["secret"]
    sleeps = Sleeps()
    args = (emulator.tenant_id, app.client_id, app.secret)
    kwargs = {"authority": emulator.base_url, "connection_verify": str(path), "_sleep": sleeps}
    before = emulator.count("token")
    if flavor_name == "sync":
        with azidentity.ClientSecretCredential(*args, **kwargs) as credential:
            with pytest.raises(azidentity.AuthenticationFailedError) as info:
                credential.get_token(SCOPE)
    else:
        import asyncio

        async def get():
            async with azidentity.aio.ClientSecretCredential(*args, **kwargs) as credential:
                return await credential.get_token(SCOPE)

        with pytest.raises(azidentity.AuthenticationFailedError) as info:
            asyncio.run(get())
    text = str(info.value)
    assert text.startswith("ClientSecretCredential")
    assert f"connection_verify={str(path)!r} {what}" in text
    assert "unexpected error" not in text and "no response from" not in text  # a setting, not the network
    assert info.value.mitigation_key == "transport-setting"
    assert sleeps == [] and emulator.count("token") == before  # not retried: retrying can't help


def test_requests_ca_bundle_is_honoured_unless_use_env_settings_is_off(
    emulator, tmp_path, monkeypatch, no_ca_variables
):
    url = f"{emulator.base_url}/{emulator.tenant_id}/v2.0/.well-known/openid-configuration"
    for trust in (emulator.ca_bundle_path, str(c_rehashed(tmp_path, Path(emulator.ca_bundle_path)))):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", trust)
        with StdlibTransport() as transport:
            assert transport.send(HttpRequest("GET", url)).status_code == 200
        with StdlibTransport(use_env_settings=False) as transport:
            with pytest.raises(ServiceRequestError, match="CERTIFICATE_VERIFY_FAILED"):
                transport.send(HttpRequest("GET", url))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "gone.pem"))
    with StdlibTransport() as transport:
        with pytest.raises(TransportSettingError, match="REQUESTS_CA_BUNDLE=.*gone.pem.* doesn't exist"):
            transport.send(HttpRequest("GET", url))
    # connection_verify given explicitly wins over the variable, as in requests
    with StdlibTransport(connection_verify=emulator.ca_bundle_path) as transport:
        assert transport.send(HttpRequest("GET", url)).status_code == 200


def open_transports_to(port: int) -> list:
    """asyncio's socket transports connected to 127.0.0.1:port and not closing."""
    import asyncio.selector_events
    import gc

    return [
        t
        for t in gc.get_objects()
        if isinstance(t, asyncio.selector_events._SelectorSocketTransport)
        and not t.is_closing()
        and (t.get_extra_info("peername") or ("", 0))[1] == port
    ]


@pytest.mark.parametrize("fault", [{"slow_body": 2}, {"delay": 2}], ids=["slow-body", "slow-headers"])
async def test_closing_an_async_credential_closes_a_connection_given_up_mid_response(emulator, fault):
    """A connection given up at a read timeout is closed with a TLS shutdown that waits for the server's
    close_notify (asyncio waits up to 30 s; this server is busy trickling). Closing the credential aborts
    it: a loop ending at once (asyncio.run) used to leave the socket to the garbage collector."""
    emulator.faults.add("token", times=None, **fault)
    app = emulator.apps["secret"]
    credential = azidentity.aio.ClientSecretCredential(
        emulator.tenant_id,
        app.client_id,
        app.secret,
        authority=emulator.base_url,
        connection_verify=emulator.ca_bundle_path,
        read_timeout=0.3,
        retry_total=0,
    )
    port = int(emulator.base_url.rsplit(":", 1)[1])
    earlier = {id(t) for t in open_transports_to(port)}  # another test's leak isn't this one's
    with pytest.raises(azidentity.AuthenticationFailedError, match="no response"):
        await credential.get_token(SCOPE)
    await credential.close()
    assert [t for t in open_transports_to(port) if id(t) not in earlier] == []
    emulator.faults.clear()
