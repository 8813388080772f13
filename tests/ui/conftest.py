"""End-user UI (/app) tests with Flask's test client: the core package + tests/fixtures/testpkg
(company, deal, deal_item, memo; profiles tp_rep, tp_viewer, tp_no_api) and an admin. Helpers are
in ui_helpers.py (never import from a conftest: every test folder has one)."""
from __future__ import annotations

import pytest

from tessera.security.actor import SYSTEM
from ui_helpers import UiClient


USER_PASSWORD = "harbor-violet-ledger-5"   # strong enough for the password policy


@pytest.fixture
def users(services):
    """Users of each test profile: (user record) by name; each has the password USER_PASSWORD."""
    out = {}
    for name, profile, role in [("rep", "tp_rep", "tp_worker"), ("rep2", "tp_rep", "tp_worker"),
                                ("viewer", "tp_viewer", None), ("noapi", "tp_no_api", None)]:
        fields = {"profile": profile, "last_name": name.title()}
        if role:
            fields["role"] = role
        out[name], _ = services.identity.create_user(name, password=USER_PASSWORD, **fields)
    return out


@pytest.fixture
def login(app, users):
    def make(username="admin", password=None):
        return UiClient(app).login(username, password or ("orchid-lantern-42" if username == "admin" else USER_PASSWORD))
    return make


@pytest.fixture
def admin(login):
    return login("admin")


@pytest.fixture
def make_record(services):
    def make(object_name, data, actor=SYSTEM):
        return services.records.create(actor, object_name, data)
    return make
