"""Property tests for the MSAL cache reader's sans-IO parts: any text, any JSON, any entries.

``parse`` raises only ValueError; choosing an account raises only CacheProblem; the other lookups
never raise; the read flow ends within its retry budget whatever the store answers.
"""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from azidentity._protocol import msal_cache as mc
from azidentity._protocol.effects import Sleep

EXAMPLES = int(os.environ.get("AZIDENTITY_HYPOTHESIS_EXAMPLES", "100"))
SECTIONS = ("AccessToken", "RefreshToken", "Account", "AppMetadata", "IdToken")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(
        ["u.t", "127.0.0.1", "login.microsoftonline.com", "1", "04b07795-8ddb-461a-bbee-02f9e1bf7b46"]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
entry_keys = st.sampled_from(
    [
        "home_account_id",
        "environment",
        "client_id",
        "realm",
        "target",
        "secret",
        "expires_on",
        "refresh_on",
        "family_id",
        "username",
        "last_modification_time",
        "token_type",
    ]
)
entries = st.dictionaries(entry_keys, scalars, max_size=12)
documents = st.dictionaries(
    st.sampled_from(SECTIONS), st.dictionaries(st.text(max_size=6), entries, max_size=5), max_size=5
)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.one_of(st.text(max_size=200), json_values.map(lambda v: json.dumps(v))))
def test_parse_raises_only_value_error(text: str) -> None:
    try:
        mc.parse(text)
    except ValueError:
        pass


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    documents,
    st.one_of(st.none(), st.text(max_size=10), st.just("1")),
    st.one_of(st.none(), st.just("t"), st.text(max_size=5)),
    st.lists(st.text(min_size=1, max_size=10), min_size=1, max_size=3),
)
def test_lookups_never_raise_unexpectedly(
    document: dict[str, Any], username: Any, tenant: Any, scopes: Any
) -> None:
    doc = mc.parse(json.dumps(document))
    environments = mc.environments_for("https://127.0.0.1:4443")
    accounts = mc.shared_accounts(doc, environments)
    try:
        account = mc.choose_account(accounts, username, tenant)
    except mc.CacheProblem as problem:
        assert problem.mitigation_key.startswith("shared-cache-")
        account = None
    home = str(account.get("home_account_id")) if account else "u.t"
    for client in ("mine", mc.AZURE_CLI_CLIENT_ID):
        tokens = mc.refresh_tokens_for(doc, home, environments, client)
        assert all(isinstance(t, str) and t for t in tokens)
    cached = mc.cached_access_token(
        doc, home, environments, scopes, mc.token_realms("organizations", "t"), 1e9
    )
    assert cached is None or (isinstance(cached[0], str) and cached[1] > 1e9 + 300)


snapshots = st.builds(
    mc.Snapshot,
    st.sampled_from(["found", "absent", "problem"]),
    st.lists(st.text(max_size=5), max_size=2),
    text=st.one_of(st.none(), st.text(max_size=30), documents.map(json.dumps)),
    problem=st.one_of(st.none(), st.text(max_size=10)),
    busy=st.booleans(),
)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(snapshots, min_size=1, max_size=12), st.booleans())
def test_the_read_flow_ends_within_its_budget(answers: list[mc.Snapshot], cae: bool) -> None:
    flow = mc.read_caches(mc.cache_names("n", cae), True, 1.0, performer=None)
    effect = next(flow)
    slept = 0.0
    steps = 0
    while True:
        steps += 1
        assert steps < 40
        if isinstance(effect, Sleep):
            slept += effect.seconds
            answer = None
        else:
            answer = answers[steps % len(answers)]
        try:
            effect = flow.send(answer)
        except StopIteration as done:
            outcome = done.value
            break
    assert slept <= 2 * sum(mc.RETRY_DELAYS) + 1e-9  # two caches, one budget each
    assert all(isinstance(p, mc.CacheProblem) for p in outcome.problems)
