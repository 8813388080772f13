"""Shared fixtures: a fresh, isolated database per test.

SQLite file in tmp_path by default. When TESSERA_TEST_DATABASE_URL is set (PostgreSQL), each test
gets its own schema (`t_<hex>`), selected through the connection's search_path, dropped afterwards.
"""
from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "platform") not in sys.path:
    sys.path.insert(0, str(ROOT / "platform"))

from databases import fresh_database_url  # noqa: E402
from tessera.storage.engine import make_engine  # noqa: E402


@pytest.fixture
def db_url(tmp_path):
    """URL of a fresh, empty database (usable by the CLI and subprocesses too)."""
    yield from fresh_database_url(tmp_path)


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    try:
        yield eng
    finally:
        eng.dispose()


# -- API fixtures: a database with the core package and the test package, an admin, a token ------
import uuid as _uuid  # noqa: E402

from tessera.meta.source import load_package  # noqa: E402
from tessera.services import Services  # noqa: E402
from tessera.web.app import create_app  # noqa: E402

TESTPKG = ROOT / "tests" / "fixtures" / "testpkg"


@pytest.fixture
def services(db_url):
    svc = Services.open(db_url, poll_seconds=0)
    svc.changes.install_packages([load_package(ROOT / "metadata" / "core"), load_package(TESTPKG)],
                                 author="test", message="test setup")
    svc.identity.create_user("admin", password="orchid-lantern-42", first_name="Ada", last_name="Admin",
                               email="ada@example.com", profile="system_administrator")
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

    def put(self, url, json=None, headers=None, **kw):
        return self.raw.put(url, json=json, headers=self._headers(headers), **kw)

    def delete(self, url, headers=None, **kw):
        return self.raw.delete(url, headers=self._headers(headers), **kw)


@pytest.fixture
def app(services):
    return create_app(services=services)


@pytest.fixture
def api(app, services):
    admin = services.identity.find_user("admin")
    _id, token = services.identity.tokens.create(_uuid.UUID(admin["id"]), name="tests")
    return ApiClient(app.test_client(), token)


@pytest.fixture
def client_for(app, services):
    """Make an ApiClient acting as the given user record (a fresh token)."""
    def make(user: dict) -> ApiClient:
        _id, token = services.identity.tokens.create(_uuid.UUID(user["id"]))
        return ApiClient(app.test_client(), token)
    return make
