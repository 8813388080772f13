"""API fixtures: a database with the core package and the test package, an admin, a token."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tessera.meta.source import load_package
from tessera.services import Services
from tessera.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
TESTPKG = ROOT / "tests" / "fixtures" / "testpkg"


@pytest.fixture
def services(db_url):
    svc = Services.open(db_url, poll_seconds=0)
    svc.changes.install_packages([load_package(ROOT / "metadata" / "core"), load_package(TESTPKG)],
                                 author="test", message="test setup")
    svc.identity.create_user("admin", password="admin-password-1", first_name="Ada", last_name="Admin", email="ada@example.com")
    yield svc
    svc.engine.dispose()


class ApiClient:
    """Flask test client that sends the bearer token and JSON by default."""

    def __init__(self, flask_client, token):
        self.raw = flask_client
        self.token = token

    def _headers(self, headers):
        out = {"Authorization": f"Bearer {self.token}"}
        out.update(headers or {})
        return out

    def get(self, url, headers=None, **kw):
        return self.raw.get(url, headers=self._headers(headers), **kw)

    def post(self, url, json=None, headers=None, **kw):
        return self.raw.post(url, json=json, headers=self._headers(headers), **kw)

    def patch(self, url, json=None, headers=None, **kw):
        return self.raw.patch(url, json=json, headers=self._headers(headers), **kw)

    def delete(self, url, headers=None, **kw):
        return self.raw.delete(url, headers=self._headers(headers), **kw)


@pytest.fixture
def app(services):
    return create_app(services=services)


@pytest.fixture
def api(app, services):
    admin = services.identity.find_user("admin")
    _id, token = services.identity.tokens.create(uuid.UUID(admin["id"]), name="tests")
    return ApiClient(app.test_client(), token)
