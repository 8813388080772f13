"""Setup UI test-client fixtures (helpers in setup_helpers.py: a unique module name, since every
test directory has a conftest)."""
from __future__ import annotations

import pytest

from setup_helpers import Browser


@pytest.fixture
def admin(app):
    return Browser(app.test_client()).login("admin", "orchid-lantern-42")


@pytest.fixture
def make_browser(app, services):
    def make(username, *, profile="tp_rep", password="quartz-meadow-81", **fields):
        if services.identity.find_user(username) is None:
            services.identity.create_user(username, password=password, last_name=username.title(),
                                          profile=profile, **fields)
        return Browser(app.test_client()).login(username, password)
    return make
