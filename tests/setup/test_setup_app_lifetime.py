"""The admin app is built once per process and follows new metadata versions without a rebuild
(no per-version Flask-Admin registration, templates compiled once); concurrent first requests
share one build."""
from __future__ import annotations

import threading
import uuid

from setup_helpers import Browser
from tessera.security.actor import SYSTEM

URL = "/setup/permission-set-groups/"


def test_a_new_version_is_served_by_the_same_admin_app(admin, app, services):
    dispatcher = app.extensions["tessera_setup"]
    assert admin.get("/setup/users/new/").status_code == 200
    built = dispatcher.admin_app()
    assert "Deal Desk (group)" not in admin.get("/setup/users/new/").get_data(as_text=True)
    admin.change(URL + "new", {"label": "Deal Desk", "permission_sets": ["tp_see_all_deals"]})
    assert dispatcher.admin_app() is built
    # the Users form's choices come from the new version: assign the new group at once
    page = admin.get("/setup/users/new/").get_data(as_text=True)
    assert "Deal Desk (group)" in page
    r = admin.post("/setup/users/new/", {"username": "desk", "last_name": "Desk", "profile": "tp_rep",
                                         "permission_sets": ["permission_set_group:deal_desk"],
                                         "password": "quartz-meadow-81"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    user = services.identity.find_user("desk")
    assigned = services.records.find_all_by(SYSTEM, "permission_set_assignment", "user", uuid.UUID(user["id"]),
                                            fields=["permission_set", "kind"])
    assert [(a["kind"], a["permission_set"]) for a in assigned] == [("permission_set_group", "deal_desk")]

def test_concurrent_first_requests_build_the_admin_app_once(app, services):
    dispatcher = app.extensions["tessera_setup"]
    browsers = [Browser(app.test_client()).login("admin", "orchid-lantern-42") for _ in range(6)]
    start = threading.Barrier(len(browsers))
    apps, statuses = [], []

    def first_request(browser):
        start.wait()
        apps.append(dispatcher.admin_app())
        statuses.append(browser.get("/setup/objects/").status_code)

    threads = [threading.Thread(target=first_request, args=(b,)) for b in browsers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert statuses == [200] * len(browsers)
    assert len({id(a) for a in apps}) == 1 and apps[0] is dispatcher.admin_app()
