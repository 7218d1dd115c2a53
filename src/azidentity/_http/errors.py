"""The error raised for a transport setting that can't work, by whichever module finds it.

Four modules raise it, none its natural home: proxy URLs (proxy.py), CA paths and variables
(trust.py), client certificates (transport.py, async_transport.py). All are checked before anything
is sent, and credentials report them with their name (mitigation ``transport-setting``).
"""

from __future__ import annotations

from azure.core.exceptions import ClientAuthenticationError


class TransportSettingError(ClientAuthenticationError):
    """A transport setting that can't work (``connection_verify`` naming neither a file nor a directory,
    a CA file without certificates, an unusable client certificate, an unsupported proxy scheme).

    A ``ClientAuthenticationError`` because azure-core's retry policy raises those at once: retrying a
    setting that can't work would only make the caller wait. Credentials report it with their name.
    """
