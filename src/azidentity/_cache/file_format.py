"""The bytes of a persistent cache file: a versioned JSON document, encrypted or not.

Document: ``{"format": "azidentity-cache", "version": 1, "sections": {section: {key: value}}}``
where values are JSON objects. Encrypted, the file is ``MAGIC || nonce(12) || ciphertext+tag``
(``encryption.py``). A file that is foreign, of another version, malformed, larger than
``MAX_FILE_SIZE`` (16 MiB) or undecryptable (its key was replaced) is ``Corrupt``, whose message
says why; ``store.py`` moves it aside.

Split from ``store.py`` (which reads, locks and replaces the file) because this part does no I/O:
it only turns bytes into sections and back.
"""

from __future__ import annotations

from .._lazy import TYPE_CHECKING
from .encryption import MAGIC

if TYPE_CHECKING:
    from typing import Any

    from .encryption import Cipher

    Entries = dict[str, dict[str, Any]]
    Sections = dict[str, Entries]

MAX_FILE_SIZE = 16 * 1024 * 1024
_FORMAT = "azidentity-cache"
_VERSION = 1


class Corrupt(Exception):
    pass


def decode(data: bytes, cipher: Cipher | None, aad: bytes) -> Sections:
    """The sections of a file's bytes; ``Corrupt`` saying why when they aren't a cache of this key."""
    import json

    if len(data) > MAX_FILE_SIZE:
        raise Corrupt(f"it is larger than {MAX_FILE_SIZE} bytes")
    if cipher is not None:
        if not data.startswith(MAGIC):
            raise Corrupt("it isn't an encrypted azidentity token cache")
        from cryptography.exceptions import InvalidTag

        try:
            data = cipher.decrypt(data[len(MAGIC) :], aad)
        except InvalidTag:
            raise Corrupt(
                "it can't be decrypted with the key in the secret store (the key was replaced, "
                "or the file was changed)"
            ) from None
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Corrupt("it isn't an azidentity token cache (not JSON)") from None
    if not isinstance(document, dict) or document.get("format") != _FORMAT:
        raise Corrupt("it isn't an azidentity token cache")
    if document.get("version") != _VERSION:
        raise Corrupt(f"it has an unknown format version {document.get('version')!r}")
    sections = document.get("sections")
    if not isinstance(sections, dict) or not all(
        isinstance(entries, dict) and all(isinstance(v, dict) for v in entries.values())
        for entries in sections.values()
    ):
        raise Corrupt("its sections are malformed")
    return sections


def encode(sections: Sections, cipher: Cipher | None, aad: bytes) -> bytes:
    """The file's bytes for ``sections``: compact JSON, encrypted when there is a cipher."""
    import json

    document = {"format": _FORMAT, "version": _VERSION, "sections": sections}
    plaintext = json.dumps(document, separators=(",", ":"), sort_keys=True).encode("utf-8")
    if cipher is None:
        return plaintext
    return MAGIC + cipher.encrypt(plaintext, aad)
