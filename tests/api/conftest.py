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


@pytest.fixture
def stock_apps(services):
    """The services with all three stock apps (Sales, Marketing, Service) installed."""
    services.changes.install_packages([load_package(ROOT / "apps" / name) for name in ("sales", "marketing", "service")],
                                      author="test", message="stock apps")
    return services
