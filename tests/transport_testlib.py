"""Helpers for the transport tests in http/: a CONNECT proxy on 127.0.0.1 and a c_rehash'd CA directory."""

from __future__ import annotations

import select
import socket
import threading
from pathlib import Path

import pytest


class ConnectProxy:
    """A minimal HTTPS forward proxy on 127.0.0.1: answers CONNECT and splices bytes."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.connects: list[str] = []
        self.auth: list[str] = []
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        client.settimeout(5)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                return
            head += chunk
        lines = head.decode().split("\r\n")
        target = lines[0].split()[1]
        self.connects.append(target)
        self.auth += [
            line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("proxy-authorization")
        ]
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)), timeout=5)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        sockets = [client, upstream]
        while not self._stop.is_set():
            readable, _, _ = select.select(sockets, [], [], 0.5)
            for s in readable:
                data = s.recv(65536)
                if not data:
                    client.close()
                    upstream.close()
                    return
                (upstream if s is client else client).sendall(data)

    def close(self) -> None:
        self._stop.set()
        self.server.close()


def c_rehashed(directory: Path, bundle: Path) -> Path:
    """A CA directory as c_rehash makes it: one certificate per file, named by subject hash."""
    import shutil
    import subprocess

    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to name the files by subject hash")
    target = directory / "cas"
    target.mkdir()
    blocks = bundle.read_text().split("-----END CERTIFICATE-----")
    for number, block in enumerate(b for b in blocks if "BEGIN CERTIFICATE" in b):
        pem = target / f"ca{number}.pem"
        pem.write_text(block.strip() + "\n-----END CERTIFICATE-----\n")
    subprocess.run([openssl, "rehash", str(target)], check=True, timeout=30)
    return target
