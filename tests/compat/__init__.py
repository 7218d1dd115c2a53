"""The compatibility suite: unit tests written the way azure-identity's users write them (see conftest.py)."""
