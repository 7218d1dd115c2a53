"""What the transports trust: ``connection_verify`` and the CA variables, as an ``ssl.SSLContext``.

``connection_verify`` is True (the system store), False (no verification), a CA bundle file or a
directory of CA certificates prepared with ``c_rehash`` / ``openssl rehash``. With
``use_env_settings`` (default) and ``connection_verify=True``, ``REQUESTS_CA_BUNDLE`` /
``CURL_CA_BUNDLE`` name the bundle, as requests reads them. A path that can't work is a
:class:`TransportSettingError` naming the keyword (or variable) and the path, raised before anything
is sent. Shared by the sync transport (transport.py) and the async one (async_transport.py).
"""

from __future__ import annotations

import os
import ssl
from typing import Any

from .errors import TransportSettingError


def trust_source(verify: Any, use_env: bool) -> tuple[Any, str]:
    """What to trust and where that came from (for messages): requests' order when verify is True."""
    if verify is True and use_env:
        for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            value = os.environ.get(variable)
            if value:
                return value, variable
    return verify, "connection_verify"


def trust_context(verify: Any, source: str) -> ssl.SSLContext:
    """An SSLContext verifying servers per ``verify``: True (the system store), False (no verification),
    a CA bundle file or a directory of CA certificates (``c_rehash`` / ``openssl rehash``)."""
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if verify is True or verify is None:
        return ssl.create_default_context()
    if not isinstance(verify, (str, os.PathLike)):
        raise TransportSettingError(
            f"{source} must be True, False or the path of a CA bundle file or CA directory, "
            f"not {type(verify).__name__}"
        )
    path = os.fspath(verify)
    if os.path.isdir(path):
        # OpenSSL reads the directory lazily, by subject hash: files named like 3513523f.0.
        return ssl.create_default_context(capath=path)
    if not os.path.isfile(path):
        what = "doesn't exist" if not os.path.lexists(path) else "is neither a file nor a directory"
        raise TransportSettingError(
            f"{source}={path!r} {what}: give the path of a CA bundle file (PEM) or of a directory of CA "
            "certificates prepared with c_rehash (openssl rehash)"
        )
    try:
        return ssl.create_default_context(cafile=path)
    except (ssl.SSLError, OSError, ValueError) as error:
        raise TransportSettingError(
            f"{source}={path!r} holds no CA certificate that could be loaded ({error}): give a PEM file of "
            "CA certificates"
        ) from None
