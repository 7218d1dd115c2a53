"""The stdlib transport through an https:// proxy: TLS to the proxy, verified with the target's trust,
credentials only inside that TLS, the target's TLS inside the tunnel (issue 12.3).

The proxy is written here: a TLS listener on 127.0.0.1 that records every byte it received on the
wire (before decryption) and every request head it decrypted, answers CONNECT with a tunnel to the
emulator and forwards absolute-URI requests for plain-HTTP targets.
"""

from __future__ import annotations

import base64
import select
import socket
import ssl
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ServiceRequestError
from azure.core.rest import HttpRequest

import azidentity
from azidentity import AuthenticationFailedError
from azidentity._http.transport import StdlibTransport
from azidentity.emulator.pki import make_ca, make_leaf
from transport_testlib import ConnectProxy, c_rehashed

SCOPE = "https://storage.azure.com/.default"
USER, PASSWORD = "proxy-user", "pr0xy:p@ss"
BASIC = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
TIMEOUT = 5


class TlsProxy:
    def __init__(self, cert: Path, key: Path, *, answer: bytes | None = None) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(cert), str(key))
        self.answer = answer  # a fixed answer to CONNECT instead of a tunnel (e.g. a 407)
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.wire = bytearray()  # what clients sent, as it travelled
        self.heads: list[bytes] = []  # request heads decrypted
        self._lock = threading.Lock()
        self._closing = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, credentials: bool = True) -> str:
        userinfo = (
            f"{urllib.parse.quote(USER)}:{urllib.parse.quote(PASSWORD, safe='')}@" if credentials else ""
        )
        return f"https://{userinfo}127.0.0.1:{self.port}"

    def close(self) -> None:
        self._closing.set()
        self.server.close()

    # -- plumbing ----------------------------------------------------------------------------------------
    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _record(self, source: socket.socket, sink: socket.socket) -> None:
        """client -> TLS terminator, keeping a copy of the ciphertext."""
        try:
            while data := source.recv(65536):
                with self._lock:
                    self.wire += data
                sink.sendall(data)
        except OSError:
            pass
        finally:
            sink.close()

    @staticmethod
    def _pass(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            sink.close()

    def _handle(self, client: socket.socket) -> None:
        client.settimeout(TIMEOUT)
        near, far = socket.socketpair()
        threading.Thread(target=self._record, args=(client, near), daemon=True).start()
        threading.Thread(target=self._pass, args=(near, client), daemon=True).start()
        far.settimeout(TIMEOUT)
        try:
            tls = self.context.wrap_socket(far, server_side=True)
        except (OSError, ssl.SSLError):
            far.close()
            return
        try:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = tls.recv(65536)
                if not chunk:
                    return
                head += chunk
            head, _, rest = head.partition(b"\r\n\r\n")
            self.heads.append(head)
            method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
            if self.answer is not None:
                tls.sendall(self.answer)
            elif method == "CONNECT":
                host, port = target.rsplit(":", 1)
                upstream = socket.create_connection((host, int(port)), timeout=TIMEOUT)
                tls.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self._splice(tls, upstream)
            else:
                self._forward(tls, head, rest, target)
        except OSError:
            pass
        finally:
            tls.close()

    def _splice(self, tls: ssl.SSLSocket, upstream: socket.socket) -> None:
        with upstream:
            while not self._closing.is_set():
                readable = [tls] if tls.pending() else select.select([tls, upstream], [], [], 0.5)[0]
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    (upstream if s is tls else tls).sendall(data)

    def _forward(self, tls: ssl.SSLSocket, head: bytes, rest: bytes, target: str) -> None:
        """A plain-HTTP request in absolute form: sent on (origin form, no proxy headers), answer relayed."""
        url = urllib.parse.urlsplit(target)
        lines = head.split(b"\r\n")
        method = lines[0].split(b" ")[0]
        kept = [
            line for line in lines[1:] if not line.lower().startswith((b"proxy-authorization", b"connection"))
        ]
        length = next(
            (int(line.split(b":")[1]) for line in kept if line.lower().startswith(b"content-length")), 0
        )
        while len(rest) < length:
            rest += tls.recv(65536)
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        request = b"\r\n".join([method + b" " + path.encode() + b" HTTP/1.1", *kept, b"Connection: close"])
        with socket.create_connection((url.hostname, url.port or 80), timeout=TIMEOUT) as upstream:
            upstream.sendall(request + b"\r\n\r\n" + rest)
            answer = b""
            while data := upstream.recv(65536):
                answer += data
        tls.sendall(answer)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory, emulator_session: Any) -> dict[str, Path]:
    """A CA of the proxy's own (trusted next to the emulator's), the proxy's certificate, and a
    certificate from a CA nobody trusts."""
    directory = tmp_path_factory.mktemp("proxy-pki")
    ca = make_ca("test proxy CA")
    leaf = make_leaf("127.0.0.1", ca, server=True)
    stranger = make_leaf("127.0.0.1", make_ca("a CA nobody trusts"), server=True)
    paths = {
        "cert": directory / "proxy.pem",
        "key": directory / "proxy.key",
        "stranger_cert": directory / "stranger.pem",
        "stranger_key": directory / "stranger.key",
        "bundle": directory / "bundle.pem",
    }
    paths["cert"].write_bytes(leaf.cert_pem())
    paths["key"].write_bytes(leaf.key_pem())
    paths["stranger_cert"].write_bytes(stranger.cert_pem())
    paths["stranger_key"].write_bytes(stranger.key_pem())
    paths["bundle"].write_bytes(Path(emulator_session.ca_bundle_path).read_bytes() + ca.cert_pem())
    return paths


@pytest.fixture
def proxy(pki: dict[str, Path]) -> Iterator[TlsProxy]:
    p = TlsProxy(pki["cert"], pki["key"])
    yield p
    p.close()


@pytest.fixture
def no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("NO_PROXY", "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


def credential(emu: Any, verify: Any, **kwargs: Any) -> Any:
    app = emu.apps["secret"]
    return azidentity.ClientSecretCredential(
        emu.tenant_id,
        app.client_id,
        app.secret,
        authority=emu.base_url,
        connection_verify=str(verify),
        **kwargs,
    )


def assert_credentials_only_inside_tls(proxy: TlsProxy) -> None:
    wire = bytes(proxy.wire)
    assert wire[:1] == b"\x16"  # a TLS handshake record: the first bytes were TLS, not "CONNECT"
    for clear in (b"CONNECT", b"Proxy-Authorization", BASIC.encode(), PASSWORD.encode(), b"HTTP/1.1"):
        assert clear not in wire


def test_credentials_reach_an_https_proxy_only_inside_tls(
    emulator: Any,
    proxy: TlsProxy,
    pki: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    no_proxy_variables: None,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url())
    with credential(emulator, pki["bundle"]) as https_proxied:
        assert emulator.verify_token(https_proxied.get_token(SCOPE).token)
    port = emulator.base_url.rsplit(":", 1)[1]
    [head] = proxy.heads
    assert head.split(b"\r\n")[0] == f"CONNECT 127.0.0.1:{port} HTTP/1.1".encode()
    assert f"Proxy-Authorization: Basic {BASIC}".encode() in head.split(b"\r\n")
    assert_credentials_only_inside_tls(proxy)


def test_the_tunnel_is_kept_alive_and_trust_can_be_a_ca_directory(
    emulator: Any, proxy: TlsProxy, pki: dict[str, Path], tmp_path: Path, no_proxy_variables: None
) -> None:
    directory = c_rehashed(tmp_path, pki["bundle"])
    transport = StdlibTransport(connection_verify=str(directory))
    url = f"{emulator.base_url}/{emulator.tenant_id}/v2.0/.well-known/openid-configuration"
    for _ in range(3):
        assert transport.send(HttpRequest("GET", url), proxies={"https": proxy.url()}).status_code == 200
    transport.close()
    assert len(proxy.heads) == 1  # one CONNECT, one tunnel, three requests
    assert_credentials_only_inside_tls(proxy)


def test_a_plain_http_target_through_an_https_proxy(
    emulator: Any, proxy: TlsProxy, pki: dict[str, Path]
) -> None:
    url = f"{emulator.mi_base_url}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=x"
    with StdlibTransport(connection_verify=str(pki["bundle"])) as transport:
        response = transport.send(
            HttpRequest("GET", url, headers={"Metadata": "true"}), proxies={"http": proxy.url()}
        )
    assert response.status_code == 200 and response.json()["access_token"]
    [head] = proxy.heads
    assert head.split(b"\r\n")[0] == f"GET {url} HTTP/1.1".encode()
    assert f"Proxy-Authorization: Basic {BASIC}".encode() in head.split(b"\r\n")
    assert_credentials_only_inside_tls(proxy)


def test_an_untrusted_proxy_never_sees_the_credentials(
    emulator: Any, pki: dict[str, Path], monkeypatch: pytest.MonkeyPatch, no_proxy_variables: None
) -> None:
    stranger = TlsProxy(pki["stranger_cert"], pki["stranger_key"])
    try:
        monkeypatch.setenv("HTTPS_PROXY", stranger.url())
        with credential(emulator, pki["bundle"], retry_total=0) as refused:
            with pytest.raises(AuthenticationFailedError) as info:
                refused.get_token(SCOPE)
    finally:
        stranger.close()
    text = str(info.value)
    assert "CERTIFICATE_VERIFY_FAILED" in text and f"the proxy https://127.0.0.1:{stranger.port}" in text
    assert PASSWORD not in text and USER not in text
    assert stranger.heads == []
    assert b"Proxy-Authorization" not in stranger.wire and BASIC.encode() not in stranger.wire


def test_a_proxy_refusing_the_credentials(pki: dict[str, Path], emulator: Any) -> None:
    refusing = TlsProxy(
        pki["cert"],
        pki["key"],
        answer=b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
    )
    try:
        url = f"{emulator.base_url}/{emulator.tenant_id}/v2.0/.well-known/openid-configuration"
        with StdlibTransport(connection_verify=str(pki["bundle"])) as transport:
            with pytest.raises(ServiceRequestError) as info:
                transport.send(HttpRequest("GET", url), proxies={"https": refusing.url()})
    finally:
        refusing.close()
    text = str(info.value)
    assert "407 Proxy Authentication Required" in text and "user name and password" in text
    assert PASSWORD not in text and USER not in text


def test_an_http_proxy_still_gets_credentials_in_its_clear_connect(
    emulator: Any, monkeypatch: pytest.MonkeyPatch, no_proxy_variables: None
) -> None:
    plain = ConnectProxy()
    try:
        monkeypatch.setenv("HTTPS_PROXY", plain.url.replace("http://", f"http://{USER}:pr0xy%3Ap%40ss@"))
        with credential(emulator, emulator.ca_bundle_path) as http_proxied:
            assert http_proxied.get_token(SCOPE).token
    finally:
        plain.close()
    assert plain.auth == [f"Basic {BASIC}"]


def test_the_total_deadline_holds_inside_the_tunnel(
    emulator: Any, proxy: TlsProxy, pki: dict[str, Path]
) -> None:
    """The target's TLS inside the proxy's: every read still ends by the request's deadline."""
    import time

    from azure.core.exceptions import ServiceResponseTimeoutError

    from azidentity._http.transport import DEADLINE

    emulator.faults.add("openid-configuration", slow_body=2.0)  # each chunk under the 3 s read timeout
    transport = StdlibTransport(connection_verify=str(pki["bundle"]), read_timeout=3)
    url = f"{emulator.base_url}/{emulator.tenant_id}/v2.0/.well-known/openid-configuration"
    start = time.monotonic()
    with pytest.raises(ServiceResponseTimeoutError, match="total deadline was reached"):
        transport.send(HttpRequest("GET", url), proxies={"https": proxy.url()}, **{DEADLINE: start + 1.0})
    elapsed = time.monotonic() - start
    emulator.faults.clear()
    transport.close()
    assert 0.95 <= elapsed < 1.0 + 3.0
