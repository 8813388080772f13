"""Setup → Users under the identity rules (issue 11): the record service refuses self-demotion,
the password policy applies, Unlock clears sign-in throttling (POST with CSRF, audited)."""
from __future__ import annotations

import re

from tessera.security import audit

STRONG = "quartz-meadow-81"


def test_setup_refuses_self_deactivation_and_self_demotion_through_the_service(admin, services):
    services.identity.create_user("second", password=STRONG, last_name="S", profile="system_administrator")
    me = services.identity.find_user("admin")
    admin.post("/setup/users/action/", {"action": "deactivate", "rowid": [me["id"]]})
    assert "you cannot deactivate yourself" in admin.get("/setup/users/").get_data(as_text=True)
    r = admin.post(f"/setup/users/edit/?id={me['id']}", {"last_name": "Admin", "profile": "tp_rep", "active": "y"})
    assert "you cannot change your own profile" in r.get_data(as_text=True)
    assert services.identity.find_user("admin")["profile"] == "system_administrator"
    assert services.identity.find_user("admin")["active"] is True


def test_setup_applies_the_password_policy(admin, services):
    r = admin.post("/setup/users/new/", {"username": "newbie", "last_name": "Bie", "profile": "tp_rep",
                                         "password": "password1"})
    assert r.status_code == 200 and "too weak" in r.get_data(as_text=True)
    assert services.identity.find_user("newbie") is None
    r = admin.post("/setup/users/new/", {"username": "newbie", "last_name": "Bie", "profile": "tp_rep",
                                         "password": "Newbie-violet-9"})
    assert "must not contain the username" in r.get_data(as_text=True)
    r = admin.post("/setup/users/new/", {"username": "newbie", "last_name": "Bie", "profile": "tp_rep", "password": STRONG})
    assert r.status_code == 302
    user = services.identity.find_user("newbie")
    r = admin.post(f"/setup/users/password/?id={user['id']}", {"password": "12345678"})
    assert r.status_code == 422 and "too weak" in r.get_data(as_text=True)
    assert services.identity.check_password("newbie", STRONG) is not None


def test_setup_refuses_bidi_override_usernames(admin, services):
    r = admin.post("/setup/users/new/", {"username": "evil\u202egnp.exe", "last_name": "E", "profile": "tp_rep",
                                         "password": STRONG})
    assert r.status_code == 200 and "invisible formatting characters" in r.get_data(as_text=True)
    assert services.identity.find_user("evil\u202egnp.exe") is None


def _sign_in(app, username, password, address):
    client = app.test_client()
    env = {"REMOTE_ADDR": address}
    page = client.get("/login", base_url="https://localhost", environ_base=env).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", base_url="https://localhost", environ_base=env,
                       headers={"Referer": "https://localhost/login"},
                       data={"csrf_token": token, "username": username, "password": password}).status_code


def test_setup_unlock_action_clears_throttling_with_csrf(admin, app, services):
    services.identity.create_user("locky", password=STRONG, last_name="L", profile="tp_rep")
    for _ in range(5):
        _sign_in(app, "locky", "wrong", "10.9.9.9")
    assert _sign_in(app, "locky", STRONG, "10.9.9.9") == 429
    user = services.identity.find_user("locky")
    # without the CSRF token: refused, still throttled
    assert admin.post("/setup/users/action/", {"action": "unlock", "rowid": [user["id"]]}, csrf=False).status_code == 400
    assert _sign_in(app, "locky", STRONG, "10.9.9.9") == 429
    r = admin.post("/setup/users/action/", {"action": "unlock", "rowid": [user["id"]]})
    assert r.status_code == 302
    assert _sign_in(app, "locky", STRONG, "10.9.9.9") == 302
    entries = [e for e in audit.entries(services.engine) if e["action"] == "user.unlock"]
    assert entries and entries[0]["subject"] == "locky"


def test_the_users_list_is_drawn_like_the_other_setup_lists(admin, services):
    services.identity.create_user("listed", password=STRONG, last_name="Listed", profile="tp_rep")
    html = admin.get("/setup/users/").get_data(as_text=True)
    assert '<div class="card ts-card ts-users-card">' in html and 'class="table ts-table mb-0 model-list"' in html
    row = re.search(r'<tr data-user="listed">(.*?)</tr>', html, re.S).group(1)
    assert 'class="action-checkbox"' in row and "/setup/users/edit/" in row        # select, edit…
    assert "table-bordered" not in html and "table-striped" not in html            # not Flask-Admin's grid
    # the bulk actions still work on the restyled table
    me = services.identity.find_user("listed")
    admin.post("/setup/users/action/", {"action": "deactivate", "rowid": [me["id"]]})
    assert services.identity.find_user("listed")["active"] is False
