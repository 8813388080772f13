"""Fixtures for the CLI tests: `testdb`, a database with the core and test packages and an admin
(admin@example.com), copied from a template seeded once per test process (tests/conftest.py)."""
from __future__ import annotations

import pytest


@pytest.fixture
def testdb(db_url):
    return db_url
