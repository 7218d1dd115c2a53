"""Managed identity endpoints, sans-IO.

- ``sources``: which host this is (detected from the environment) and every host's wire facts, as
  tables: API version, the query parameter naming a user-assigned identity, the secret header.
- one module per host with behaviour of its own: ``imds`` (the chain's quick probe, answers that
  can't come from IMDS), ``arc`` (the key-file challenge), ``service_fabric`` (the pinned
  certificate, no identity selection). App Service, Azure ML and Cloud Shell differ only by the
  table rows in ``sources`` (and Cloud Shell's refusal of user-assigned identities in ``identity``).
- ``identity``: ``client_id`` / ``identity_config`` read as azure-identity reads them.
- ``requests`` and ``responses``: the token request each host expects, and reading its answer.
- ``retry``: the retry loop with its total budget (a flow of its own).
"""
