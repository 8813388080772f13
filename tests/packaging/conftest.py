"""Package archive tests: the CLI's database (`testdb`: core, the test package and an admin) and
the setup test client (`admin`), shared with tests/cli and tests/setup."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "setup"))   # setup_helpers: the signed-in client

from setup_helpers import Browser  # noqa: E402


@pytest.fixture
def testdb(db_url):
    return db_url


@pytest.fixture
def admin(app):
    return Browser(app.test_client()).login("admin", "orchid-lantern-42")
