"""Render TROUBLESHOOTING.md from the mitigation table: ``python -m azidentity._mitigations.render``.

The committed file is this function's output; a test regenerates it and compares, so the
document, the errors and ``azidentity doctor`` always say the same thing.
"""

from __future__ import annotations

import sys

from . import _ROWS, SECTIONS

HEADER = (
    """\
# Troubleshooting azidentity

Every error azidentity raises names the credential that failed, what happened, and a
**Mitigation**; its last line points at a section of this file. Errors also carry these facts
as attributes (`error.credential`, `error.status_code`, `error.oauth_error`,
`error.error_code`, `error.mitigation`, `error.troubleshooting_anchor`), so programs need not
parse the text.

First steps for any failure:

- Run `azidentity doctor`: it tries every credential of DefaultAzureCredential on this machine
  and prints, for each, what happened, why, and what to do (`--json` for programs).
- Run `azidentity token --scope https://management.azure.com/.default` to see which identity a
  token is issued to (`aud`, `tid`, `oid`/`appid`, expiry), without printing the token.
- Turn on logging: `logging.getLogger("azidentity").setLevel(logging.DEBUG)` with a handler, or
  `azidentity.log.set_listener(print)`. Logs never contain secrets or tokens, also with
  `logging_enable=True`.

Two kinds of failure:

| exception | meaning | in a chain |
| --- | --- | --- |
"""
    # A Markdown table row can't be wrapped: this one is split in the source only.
    "| `CredentialUnavailableError` | the credential could not try (not configured, tool missing, "
    "endpoint absent) | the next credential is tried |\n"
    """\
| `AuthenticationFailedError` | it tried and was refused | the chain stops and raises |

A 401 or 403 from an Azure *service* (not from a credential) means authentication worked but
the identity lacks a role assignment: grant it the role the service requires.

This file is generated from `src/azidentity/_mitigations/` (one module per group of sections) by
`python -m azidentity._mitigations.render > TROUBLESHOOTING.md`; edit the table, not this file.
"""
)


def render() -> str:
    out = [HEADER]
    out.append("## Contents\n")
    for title, (anchor, _) in SECTIONS.items():
        out.append(f"- [{title}](#{anchor})")
    out.append("")
    for title, (anchor, intro) in SECTIONS.items():
        rows = [row for row in _ROWS if row.section == title]
        out.append(f'<a id="{anchor}"></a>\n\n## {title}\n\n{intro}\n')
        if not rows:
            continue
        out.append("| Error | Cause | Mitigation |\n| --- | --- | --- |")
        for row in rows:
            cells = [_cell(row.error), _cell(row.cause), _cell(row.mitigation)]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


if __name__ == "__main__":
    sys.stdout.write(render())
