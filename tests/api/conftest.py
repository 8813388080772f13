"""Fixtures of the API tests (the shared ones are in tests/conftest.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tessera.meta.source import load_package

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sales(services):
    """The services with the stock Sales app installed on top of the test package."""
    services.changes.install_packages([load_package(ROOT / "apps" / "sales")], author="test", message="sales")
    return services
