"""Shared fixtures: a fresh, isolated database per test.

SQLite file in tmp_path by default. When TESSERA_TEST_DATABASE_URL is set (PostgreSQL), each test
gets its own schema (`t_<hex>`), selected through the connection's search_path, dropped afterwards.
A test that asks for a seeded fixture (`services`, `sales`, `stock_apps`, the CLI's `testdb`) gets
a copy of a template database seeded once per test process instead (tests/databases.py).
"""
from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "platform") not in sys.path:
    sys.path.insert(0, str(ROOT / "platform"))

from databases import Templates, fresh_database_url  # noqa: E402
from tessera.storage.engine import make_engine  # noqa: E402

TESTPKG = ROOT / "tests" / "fixtures" / "testpkg"


def _install(url, packages, message):
    from tessera.meta.source import load_package
    from tessera.services import Services
    svc = Services.open(url, poll_seconds=0)
    try:
        svc.changes.install_packages([load_package(path) for path in packages], author="test", message=message)
        return svc
    except BaseException:
        svc.engine.dispose()
        raise


def seed_test_org(url, *, apps=()):
    """The core package, the test package and an admin (orchid-lantern-42), then the named stock apps."""
    svc = _install(url, [ROOT / "metadata" / "core", TESTPKG], "test setup")
    try:
        svc.identity.create_user("admin", password="orchid-lantern-42", first_name="Ada", last_name="Admin",
                                 email="ada@example.com", profile="system_administrator")
        if apps:
            svc.changes.install_packages([load_package(ROOT / "apps" / name) for name in apps],
                                         author="test", message="stock apps" if len(apps) > 1 else apps[0])
    finally:
        svc.engine.dispose()


def seed_cli_org(url):
    """The CLI tests' org: the core and test packages and an admin (admin@example.com)."""
    svc = _install(url, [ROOT / "metadata" / "core", TESTPKG], "")
    try:
        svc.identity.create_user("admin", password="orchid-lantern-42", email="admin@example.com",
                                 last_name="Admin", profile="system_administrator")
    finally:
        svc.engine.dispose()


# fixture name -> how its template is seeded; the first one a test asks for (directly or through
# another fixture) decides its database.
SEEDS = {
    "stock_apps": lambda url: seed_test_org(url, apps=("sales", "marketing", "service")),
    "sales": lambda url: seed_test_org(url, apps=("sales",)),
    "services": seed_test_org,
    "testdb": seed_cli_org,
}


# Many tests send hundreds of API requests a minute as one user from one address (the
# authorization matrix: thousands), far past the production defaults (web/rate_limits.py). The
# suite runs with limits that never answer 429 — the limiter still counts every request, on both
# databases — unless the environment sets its own; tests/web/test_rate_limits.py sets small ones.
SUITE_RATE_LIMITS = {"TESSERA_RATE_LIMIT_API": "100000/minute", "TESSERA_RATE_LIMIT_LOGIN": "10000/minute"}


@pytest.fixture(scope="session", autouse=True)
def suite_rate_limits():
    import os
    added = [name for name in SUITE_RATE_LIMITS if name not in os.environ]
    for name in added:
        os.environ[name] = SUITE_RATE_LIMITS[name]
    yield
    for name in added:
        os.environ.pop(name, None)


@pytest.fixture(scope="session")
def database_templates(tmp_path_factory):
    templates = Templates(tmp_path_factory.mktemp("templates"))
    yield templates
    templates.close()


@pytest.fixture
def db_url(request, tmp_path):
    """URL of a fresh database (usable by the CLI and subprocesses too): empty, or a copy of a
    seeded template when the test uses a seeded fixture."""
    for fixture, seed in SEEDS.items():
        if fixture in request.fixturenames:
            templates = request.getfixturevalue("database_templates")
            yield from templates.copy(fixture, seed, tmp_path)
            return
    yield from fresh_database_url(tmp_path)


@pytest.fixture
def sandbox_org(database_templates, tmp_path):
    """URL of a second copy of the seeded test org (`services`): another org, e.g. a sandbox."""
    (tmp_path / "sandbox").mkdir()
    yield from database_templates.copy("services", SEEDS["services"], tmp_path / "sandbox")


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

@pytest.fixture
def services(db_url):
    """Services over a copy of the seeded test org (see seed_test_org)."""
    svc = Services.open(db_url, poll_seconds=0)
    yield svc
    svc.engine.dispose()


@pytest.fixture
def sales(services):
    """The services with the stock Sales app installed on top of the test package (seeded)."""
    return services


@pytest.fixture
def stock_apps(services):
    """The services with all three stock apps (Sales, Marketing, Service) installed (seeded)."""
    return services


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
