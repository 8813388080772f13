"""Security fixtures: users of each test profile/role, each with an API client."""
from __future__ import annotations

import pytest

from tessera.security.actor import SYSTEM


class People:
    def __init__(self, services, client_for):
        self.services = services
        self.client_for = client_for
        self.clients: dict = {}          # username -> its ApiClient (tests/conftest.py)
        self.ids: dict[str, str] = {}

    def add(self, username, *, profile="tp_rep", role=None, permission_sets=(), groups=()):
        svc = self.services
        user, _ = svc.identity.create_user(username, password="quartz-meadow-81", last_name=username.title(),
                                           email=f"{username}@example.com", profile=profile, role=role)
        for ps in permission_sets:
            svc.records.create(SYSTEM, "permission_set_assignment", {"user": user["id"], "permission_set": ps})
        for name in groups:
            group = svc.records.find_by(SYSTEM, "group", "name", name) or svc.records.create(SYSTEM, "group", {"name": name})
            svc.records.create(SYSTEM, "group_member", {"group": group["id"], "user": user["id"]})
        self.clients[username] = self.client_for(user)
        self.ids[username] = user["id"]
        return self.clients[username]

    def __getitem__(self, username):
        return self.clients[username]


@pytest.fixture
def people(services, client_for):
    p = People(services, client_for)
    p.add("admin_user", profile="system_administrator", role="tp_boss")
    p.add("boss", role="tp_boss")
    p.add("lead", role="tp_lead")
    p.add("worker", role="tp_worker")
    p.add("worker2", role="tp_worker")
    p.add("auditor", profile="tp_viewer", role="tp_auditor")
    p.add("reviewer", role=None, groups=["reviewers"])
    p.add("viewer", profile="tp_viewer")
    p.add("nobody", profile=None)
    p.add("noapi", profile="tp_no_api")
    p.add("revenue", permission_sets=["tp_revenue_editor"], role="tp_auditor")
    p.add("dealwatcher", permission_sets=["tp_see_all_deals"])
    return p
