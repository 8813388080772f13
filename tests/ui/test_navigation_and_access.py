"""/app: sign-in redirects, the launcher and app navigation, 404 and 403 pages, security headers."""
from __future__ import annotations

import uuid

from ui_helpers import BASE, UiClient


def test_unauthenticated_pages_redirect_to_login_with_next(app):
    c = UiClient(app)
    r = c.get("/app/testapp/company?view=big_companies")
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/login?next=")
    from urllib.parse import parse_qs, urlparse
    assert parse_qs(urlparse(r.headers["Location"]).query)["next"] == ["/app/testapp/company?view=big_companies"]
    assert parse_qs(urlparse(c.get("/app/").headers["Location"]).query)["next"] == ["/app/"]
    # the JSON endpoints answer 401, not a redirect
    r = c.get("/app/_api/lookup/company?q=a")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"


def test_sign_in_lands_on_the_app_launcher(admin):
    r = admin.get("/")
    assert r.status_code == 302 and r.headers["Location"] == "/app/"
    html = admin.html("/app/")
    assert "Test App" in html and 'action="/logout"' in html  # sign-out is a POST form


def test_login_next_brings_the_user_back(app, users):
    c = UiClient(app)
    page = c.get("/login?next=/app/testapp/company")
    from ui_helpers import csrf_of
    r = c.c.post("/login", base_url=BASE, headers={"Referer": f"{BASE}/login"}, data={
        "csrf_token": csrf_of(page.get_data(as_text=True)), "username": "rep", "password": "harbor-violet-ledger-5",
        "next": "/app/testapp/company"})
    assert r.headers["Location"] == "/app/testapp/company"


def test_apps_and_tabs_follow_object_rights(login):
    viewer = login("viewer")           # tp_viewer reads company, deal, deal_item only
    html = viewer.html("/app/")
    assert "Test App" in html
    assert "Home" not in html.split('class="row app-grid"')[1]   # core home app: no task/event/note/file rights
    assert viewer.html("/app/home", 403).count("You don") >= 1
    app_page = viewer.html("/app/testapp")
    assert "Companies" in app_page and "Deals" in app_page


def test_hidden_tabs(login, services):
    noapi = login("noapi")             # reads company only
    html = noapi.html("/app/testapp")
    assert "/app/testapp/company" in html
    assert "/app/testapp/deal" not in html


def test_unknown_app_object_and_record_are_404_pages(admin, make_record):
    for url in ("/app/nope", "/app/testapp/nope", f"/app/testapp/company/{uuid.uuid4()}",
                "/app/testapp/company/not-an-id", f"/app/testapp/company/{uuid.uuid4()}/edit"):
        r = admin.get(url)
        assert r.status_code == 404, url
        assert r.mimetype == "text/html" and "Not found" in r.get_data(as_text=True)


def test_no_access_is_a_403_page(login, make_record):
    company = make_record("company", {"name": "Acme"})
    viewer = login("viewer")
    assert "You don" in viewer.html("/app/testapp/memo", 403)          # cannot read memos
    viewer.html("/app/testapp/company/new", 403)                          # cannot create
    viewer.html(f"/app/testapp/company/{company['id']}/edit", 403)        # cannot edit
    r = viewer.post(f"/app/testapp/company/{company['id']}/delete")
    assert r.status_code == 403


def test_records_others_cannot_see_are_404(login, services, users, make_record):
    from ui_helpers import actor_of
    memo = services.records.create(actor_of(services, users["rep"]), "memo", {"name": "Private"})
    rep2 = login("rep2")               # memo: private sharing, no hierarchy access
    rep2.html(f"/app/testapp/memo/{memo['id']}", 404)
    assert "Private" not in rep2.html("/app/testapp/memo")


def test_security_headers(admin):
    r = admin.get("/app/")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Cache-Control"] == "no-store"


def test_csrf_is_required_on_every_post(admin, make_record):
    company = make_record("company", {"name": "Acme"})
    for url in ("/app/testapp/company/new", f"/app/testapp/company/{company['id']}/edit",
                f"/app/testapp/company/{company['id']}/delete", "/app/testapp/company/bulk",
                "/app/testapp/company/views"):
        r = admin.post(url, {"name": "Changed", "_ids": company["id"], "_action": "delete", "_name": "x"}, csrf=False)
        assert r.status_code == 400, url
        assert "security token" in r.get_data(as_text=True)
    r = admin.patch_json(f"/app/_api/records/company/{company['id']}", {"values": {"name": "Changed"}}, csrf=False)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "csrf_failed"
    assert admin.html(f"/app/testapp/company/{company['id']}").count("Acme") >= 1


def test_state_never_changes_over_get(admin, make_record, services):
    company = make_record("company", {"name": "Acme"})
    assert admin.get(f"/app/testapp/company/{company['id']}/delete").status_code == 405
    assert admin.get("/app/testapp/company/bulk").status_code == 404   # no GET route: read as a record id
    assert services.records.get(services.identity.actor_for_user_id(
        uuid.UUID(services.identity.find_user("admin")["id"])), "company", company["id"])["name"] == "Acme"


def test_global_search_groups_by_object(admin, make_record, login, users):
    acme = make_record("company", {"name": "Acme Corp", "owner": users["noapi"]["id"]})
    make_record("deal", {"name": "Acme renewal", "company": acme["id"]})
    make_record("company", {"name": "Globex"})
    html = admin.html("/app/search?q=acme")
    assert 'data-object="company"' in html and 'data-object="deal"' in html
    assert "Acme Corp" in html and "Acme renewal" in html and "Globex" not in html
    assert "acme CORP" not in html and "Acme Corp" in admin.html("/app/search?q=acme%20CORP")  # every word, any case
    # a user who cannot read deals does not find them
    html = login("noapi").html("/app/search?q=acme")
    assert 'data-object="deal"' not in html and "Acme Corp" in html
