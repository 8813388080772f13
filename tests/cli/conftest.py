"""Fixtures for the CLI tests: `testdb`, a database with the core and test packages and an admin."""
from __future__ import annotations

from pathlib import Path

import pytest

from tessera.meta.source import load_package
from tessera.services import Services

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def testdb(db_url):
    svc = Services.open(db_url, poll_seconds=0)
    svc.changes.install_packages([load_package(ROOT / "metadata" / "core"),
                                  load_package(ROOT / "tests" / "fixtures" / "testpkg")], author="test")
    svc.identity.create_user("admin", password="orchid-lantern-42", email="admin@example.com", last_name="Admin",
                             profile="system_administrator")
    svc.engine.dispose()
    return db_url
