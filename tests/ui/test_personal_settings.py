"""Personal settings (/app/settings): time zone and locale used for every date shown, password
change (current password, policy, other sessions end), own API tokens (create once-shown, revoke)."""
from __future__ import annotations

import re
import time
import uuid

import pytest

from tessera.meta.source import empty_org
from tessera.security.actor import SYSTEM
from ui_helpers import BASE, UiClient

PASSWORD = "harbor-violet-ledger-5"
NEW_PASSWORD = "quartz-meadow-lantern-88"


@pytest.fixture
def dated_layout(services):
    org = empty_org()
    org["components"]["layouts"]["company"] = {"source": "org/layouts/company.yaml", "doc": {
        "name": "company", "object": "company", "label": "Company",
        "sections": [{"label": "Main", "columns": 2, "fields": ["name", "founded", "last_contacted", "opens_at"]}]}}
    services.changes.apply_org(org, author="test", message="dates on the company layout")


def test_the_settings_page_is_in_the_user_menu(login):
    rep = login("rep")
    assert 'href="/app/settings"' in rep.html("/app/")
    html = rep.html("/app/settings")
    assert "Time zone and locale" in html and "Change password" in html and "API tokens" in html
    assert '<option value="UTC" selected>' in html and '<option value="en_US" selected>' in html


def test_time_zone_and_locale_change_every_date_shown(login, services, users, dated_layout):
    rec = services.records.create(SYSTEM, "company", {"name": "Dated", "founded": "2001-02-03",
                                                     "last_contacted": "2024-05-06T07:08:09Z", "opens_at": "15:30",
                                                     "owner": users["rep"]["id"]})
    rep = login("rep")
    page = rep.html(f"/app/testapp/company/{rec['id']}")
    assert "May 6, 2024, 7:08 AM" in page and "Feb 3, 2001" in page and "3:30 PM" in page
    r = rep.post("/app/settings/preferences", {"time_zone": "Europe/Paris", "locale": "fr_FR"})
    assert r.status_code == 302
    stored = services.records.get(SYSTEM, "user", users["rep"]["id"])
    assert (stored["time_zone"], stored["locale"]) == ("Europe/Paris", "fr_FR")
    page = rep.html(f"/app/testapp/company/{rec['id']}")
    assert "6 mai 2024, 09:08" in page and "3 févr. 2001" in page and "15:30" in page
    html = rep.html("/app/settings")
    assert '<option value="Europe/Paris" selected>' in html and '<option value="fr_FR" selected>' in html
    # another user is untouched
    assert "May 6, 2024, 7:08 AM" in login("admin").html(f"/app/testapp/company/{rec['id']}")


@pytest.mark.parametrize("values, field", [
    ({"time_zone": "Mars/Olympus", "locale": "en_US"}, "time_zone"),
    ({"time_zone": "UTC", "locale": "xx_XX"}, "locale"),
    ({"time_zone": "", "locale": ""}, "time_zone"),
])
def test_bad_preferences_are_refused_and_nothing_is_stored(login, services, users, values, field):
    rep = login("rep")
    r = rep.post("/app/settings/preferences", values)
    assert r.status_code == 422 and f'id="err-{field}"' in r.get_data(as_text=True)
    stored = services.records.get(SYSTEM, "user", users["rep"]["id"])
    assert (stored["time_zone"], stored["locale"]) == ("UTC", "en_US")


def test_password_change_needs_the_current_password_and_the_policy(app, login, services):
    rep = login("rep")
    other_browser = login("rep")
    cases = [({"current_password": "wrong-password-1", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
              "current_password", "is not your current password"),
             ({"current_password": PASSWORD, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD + "x"},
              "password_again", "differ"),
             ({"current_password": PASSWORD, "password": "short", "password_again": "short"}, "password", "at least"),
             ({"current_password": PASSWORD, "password": PASSWORD, "password_again": PASSWORD}, "password", "must differ")]
    for data, field, message in cases:
        r = rep.post("/app/settings/password", data)
        html = r.get_data(as_text=True)
        assert r.status_code == 422 and f'id="err-{field}"' in html and message in html, (field, html[:500])
    assert services.identity.check_password("rep", PASSWORD) is not None       # nothing changed

    r = rep.post("/app/settings/password", {"current_password": PASSWORD, "password": NEW_PASSWORD,
                                            "password_again": NEW_PASSWORD})
    assert r.status_code == 302
    assert services.identity.check_password("rep", NEW_PASSWORD) is not None
    assert services.identity.check_password("rep", PASSWORD) is None
    assert rep.get("/app/settings").status_code == 200                          # this browser stays in
    assert other_browser.get("/app/settings").status_code == 302                 # the others are out
    UiClient(app).login("rep", NEW_PASSWORD)


def test_own_api_tokens_create_use_and_revoke(app, login, services, users):
    rep = login("rep")
    r = rep.post("/app/settings/tokens", {"name": "nightly export", "expires": "30"})
    html = r.get_data(as_text=True)
    assert r.status_code == 201 and 'id="new-token"' in html
    token = re.search(r"(tsr_[A-Za-z0-9_-]+)", html).group(1)
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/records/company", base_url=BASE, headers=bearer).status_code == 200
    page = rep.html("/app/settings")
    assert "nightly export" in page and token not in page                       # shown once only
    token_id = token.split("_")[1]
    # someone else's token cannot be revoked from here
    other_id, _other = services.identity.tokens.create(uuid.UUID(users["rep2"]["id"]), name="theirs")
    assert rep.post(f"/app/settings/tokens/{other_id}/revoke").status_code == 404
    assert rep.post("/app/settings/tokens/nope/revoke").status_code == 404
    assert rep.post(f"/app/settings/tokens/{token_id}/revoke").status_code == 302
    time.sleep(2.1)   # verified tokens are cached for CACHE_SECONDS
    assert api.get("/api/v1/records/company", base_url=BASE, headers=bearer).status_code == 401
    assert "revoked" in rep.html("/app/settings")
    assert [t.revoked_at is None for t in services.identity.tokens.list()
            if t.id == other_id] == [True]


@pytest.mark.parametrize("data, field", [({"name": "", "expires": "30"}, "token_name"),
                                         ({"name": "x" * 81, "expires": "30"}, "token_name"),
                                         ({"name": "ok", "expires": "forever"}, "token_expires")])
def test_bad_token_requests_are_refused(login, services, users, data, field):
    rep = login("rep")
    r = rep.post("/app/settings/tokens", data)
    assert r.status_code == 422 and f'id="err-{field}"' in r.get_data(as_text=True)
    assert services.identity.tokens.list(uuid.UUID(users["rep"]["id"])) == []


def test_users_without_api_access_cannot_create_tokens(login, services, users):
    noapi = login("noapi")
    assert 'id="token-form"' not in noapi.html("/app/settings")
    assert noapi.post("/app/settings/tokens", {"name": "x", "expires": "30"}).status_code == 403
    assert services.identity.tokens.list(uuid.UUID(users["noapi"]["id"])) == []
