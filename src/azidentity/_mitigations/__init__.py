"""The one table of failures: cause, mitigation and troubleshooting anchor.

Errors, log lines, ``azidentity doctor`` and TROUBLESHOOTING.md all read this table
(``python -m azidentity._mitigations.render`` renders the document; a test checks that the
committed file matches), so the advice a user sees can never disagree between them.

A row is found by key: an Entra ID error code (``"AADSTS7000215"``) or a condition name
(``"mi-imds-identity-not-assigned"``). Entra codes may be listed under several sections
(700016 is both a secret and a certificate problem); :func:`lookup` prefers the row of the
credential's own section and falls back to the general Entra ID section.
"""

from __future__ import annotations

# Row modules are imported in this order: it is the order of TROUBLESHOOTING.md's rows.
from . import chains, entra, managed_identity, shared_cache, tools, user  # noqa: F401  (they add rows)
from .table import _ROWS, SECTIONS, Mitigation

__all__ = ["ROWS", "SECTIONS", "Mitigation", "_ROWS", "lookup"]

ROWS: dict[str, Mitigation] = {row.key: row for row in _ROWS}
_BY_CODE: dict[str, list[Mitigation]] = {}
for _m in _ROWS:
    if _m.key.startswith("AADSTS"):
        _BY_CODE.setdefault(_m.error.split(":")[0], []).append(_m)


def lookup(key: str, section: str | None = None) -> Mitigation | None:
    """The row for a condition name or an Entra code, preferring ``section``'s own row."""
    rows = _BY_CODE.get(key)
    if rows:
        for row in rows:
            if row.section == section:
                return row
        return rows[0]
    return ROWS.get(key)
