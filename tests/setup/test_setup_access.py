"""Who may open /setup: signed out → sign-in page; without the permission → 403; CSRF on every form."""
from __future__ import annotations

import copy

from tessera.meta.source import empty_org

from setup_helpers import BASE


def test_signed_out_is_sent_to_sign_in_with_next(app):
    client = app.test_client()
    r = client.get("/setup/objects/account/?x=1", base_url=BASE)
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/login?next=/setup/objects/account/")
    assert client.get("/setup", base_url=BASE).status_code == 302   # /setup → /setup/ → sign in


def test_users_without_customize_metadata_get_403(make_browser):
    rep = make_browser("rep")   # tp_rep: no customize_metadata, no manage_users
    for url in ("/setup/", "/setup/objects/", "/setup/objects/company/", "/setup/layouts/", "/setup/permissions/",
                "/setup/versions/", "/setup/users/", "/setup/roles/", "/setup/sharing/"):
        r = rep.get(url)
        assert r.status_code == 403, url
        assert "You don&#39;t have access" in r.get_data(as_text=True) or "have access" in r.get_data(as_text=True)
    r = rep.post("/setup/objects/new", {"label": "Hack"})
    assert r.status_code == 403


def test_manage_users_alone_opens_users_but_not_metadata(services, make_browser):
    active = services.changes.active()
    org = copy.deepcopy(active.snapshot["org"]) or empty_org()
    org["components"]["profiles"]["user_admin"] = {"source": "profiles/user_admin.yaml", "doc": {
        "name": "user_admin", "label": "User Admin", "system_permissions": ["manage_users"],
        "objects": {"user": ["create", "read", "edit"], "permission_set_assignment": ["create", "read", "edit", "delete"]}}}
    services.changes.apply_org(org, author="test", message="user admin profile")
    helper = make_browser("helpdesk", profile="user_admin")
    assert helper.get("/setup/users/").status_code == 200
    assert helper.get("/setup/").status_code == 200
    assert helper.get("/setup/objects/").status_code == 403
    home = helper.get("/setup/").get_data(as_text=True)
    assert "Object Manager" not in home and "Users" in home


def test_every_setup_form_needs_the_csrf_token(admin, services):
    before = services.changes.active().number
    r = admin.post("/setup/objects/new", {"label": "Invoice"}, csrf=False)
    assert r.status_code == 400 and "expired" in r.get_data(as_text=True)
    r = admin.post("/setup/objects/new", {"label": "Invoice", "csrf_token": "forged"}, csrf=False)
    assert r.status_code == 400
    r = admin.post("/setup/versions/1/rollback", {}, csrf=False)
    assert r.status_code == 400
    assert services.changes.active().number == before


def test_cross_site_post_is_refused(admin, services):
    before = services.changes.active().number
    r = admin.client.post("/setup/objects/new", base_url=BASE, headers={"Referer": "https://evil.example/"},
                          data={"label": "Invoice", "csrf_token": admin.token})
    assert r.status_code == 400
    assert services.changes.active().number == before


def test_pages_render_for_the_admin(admin):
    for url in ("/setup/", "/setup/objects/", "/setup/objects/company/", "/setup/objects/company/details",
                "/setup/objects/company/fields/new", "/setup/objects/company/fields/new?type=rollup",
                "/setup/objects/company/fields/industry/", "/setup/objects/deal/rules", "/setup/layouts/",
                "/setup/layouts/company/", "/setup/list-views/", "/setup/list-views/big_companies/",
                "/setup/apps/", "/setup/apps/testapp/", "/setup/permissions/", "/setup/permissions/profile/tp_rep/",
                "/setup/permissions/profile/tp_rep/fields/company", "/setup/roles/", "/setup/sharing/",
                "/setup/sharing/rules/new", "/setup/users/", "/setup/users/new/", "/setup/versions/",
                "/setup/permission-set-groups/",
                "/setup/versions/diff"):
        r = admin.get(url)
        assert r.status_code == 200, (url, r.get_data(as_text=True)[:2000])


def test_unknown_pages_are_404(admin):
    assert admin.get("/setup/objects/nope/").status_code == 404
    assert admin.get("/setup/layouts/nope/").status_code == 404
    assert admin.get("/setup/permissions/profile/nope/").status_code == 404
