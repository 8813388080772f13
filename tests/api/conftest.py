"""Fixtures of the API tests (the shared ones, `sales` and `stock_apps` among them, are in
tests/conftest.py)."""
