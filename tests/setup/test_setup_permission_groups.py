"""Permission set groups in /setup: list, create, edit and delete through the change pipeline (org
layer, a version per save), assigned to users on the Users page."""
from __future__ import annotations

import uuid

from tessera.security.actor import SYSTEM

URL = "/setup/permission-set-groups/"


def active(services):
    return services.changes.active()


def org_group(services, name):
    item = active(services).snapshot["org"]["components"]["permission_set_groups"].get(name)
    return item["doc"] if item else None


def create_desk(admin):
    return admin.change(URL + "new", {"label": "Deal Desk", "description": "Revenue operations",
                                      "permission_sets": ["tp_see_all_deals", "tp_revenue_editor"]})


def test_create_shows_the_plan_then_saves_an_org_version(admin, services):
    assert "No permission set groups yet" in admin.get(URL).get_data(as_text=True)
    n = active(services).number
    review = admin.post(URL + "new", {"label": "Deal Desk", "permission_sets": ["tp_see_all_deals"]})
    html = review.get_data(as_text=True)
    assert review.status_code == 200 and "add permission set group deal_desk" in html and "Confirm and save" in html
    assert active(services).number == n                     # the review changed nothing
    _review, done = create_desk(admin)
    assert done.status_code == 302 and done.headers["Location"].endswith(URL + "deal_desk/")
    version = active(services)
    assert version.number == n + 1 and version.source == "ui" and version.author == "admin"
    # member sets in the page's order (by label), whatever order they were posted in
    assert org_group(services, "deal_desk") == {"name": "deal_desk", "label": "Deal Desk",
                                                "description": "Revenue operations",
                                                "permission_sets": ["tp_revenue_editor", "tp_see_all_deals"]}
    listing = admin.get(URL).get_data(as_text=True)
    assert 'data-group="deal_desk"' in listing and "See All Deals" in listing
    permissions = admin.get("/setup/permissions/").get_data(as_text=True)   # links to the groups page, once
    assert permissions.count('id="manage-groups"') == 1 and f'href="{URL}deal_desk/"' in permissions


def test_bad_groups_are_refused_next_to_their_inputs(admin, services):
    create_desk(admin)
    n = active(services).number
    for data, field, message in [
        ({"label": "Empty"}, "permission_sets", "choose at least one permission set"),
        ({"label": "Odd", "permission_sets": ["no_such_set"]}, "permission_sets", "there is no permission set"),
        ({"label": "Again", "name": "deal_desk", "permission_sets": ["tp_see_all_deals"]}, "name", "already used"),
        ({"label": "", "permission_sets": ["tp_see_all_deals"]}, "label", "enter a label"),
    ]:
        r = admin.post(URL + "new", data)
        html = r.get_data(as_text=True)
        assert r.status_code == 422 and f'data-error-for="{field}"' in html and message in html, data
    assert active(services).number == n


def test_edit_changes_label_and_member_sets(admin, services):
    create_desk(admin)
    page = admin.get(URL + "deal_desk/").get_data(as_text=True)
    assert 'id="ps-tp_see_all_deals" name="permission_sets" value="tp_see_all_deals" checked' in page
    _review, done = admin.change(URL + "deal_desk/", {"label": "Deal Desk Team", "permission_sets": ["tp_see_all_deals"]})
    assert done.status_code == 302
    group = services.runtimes.current().metadata.permission_set_groups["deal_desk"]
    assert group["label"] == "Deal Desk Team" and list(group["permission_sets"]) == ["tp_see_all_deals"]
    assert active(services).message == "Edit permission set group deal_desk"
    r = admin.post(URL + "deal_desk/", {"label": "Deal Desk Team"})
    assert r.status_code == 422 and 'data-error-for="permission_sets"' in r.get_data(as_text=True)
    assert admin.get(URL + "nope/").status_code == 404


def test_assigned_on_the_users_page_grants_the_sets_and_blocks_delete(admin, services):
    create_desk(admin)
    user, _ = services.identity.create_user("desk", password="granite-willow-24", last_name="Desk", profile="tp_rep")
    r = admin.post(f"/setup/users/edit/?id={user['id']}", {
        "last_name": "Desk", "profile": "tp_rep", "active": "y", "permission_sets": ["permission_set_group:deal_desk"]})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    actor = services.identity.actor_for_user_id(uuid.UUID(user["id"]))
    assert actor.permission_set_groups == ("deal_desk",)
    # the group's sets apply: tp_see_all_deals lets them read a deal they do not own
    other = services.records.create(SYSTEM, "deal", {"name": "Someone else's"})
    assert services.records.get(actor, "deal", other["id"])["name"] == "Someone else's"
    page = admin.get(URL + "deal_desk/").get_data(as_text=True)
    assert "Desk" in page and f"/setup/users/edit/?id={user['id']}" in page
    # a group someone holds is not deleted (it would silently stop granting anything)
    n = active(services).number
    r = admin.post(URL + "deal_desk/delete")
    assert r.status_code == 422 and "hold this group" in r.get_data(as_text=True)
    assert active(services).number == n
    admin.post(f"/setup/users/edit/?id={user['id']}", {"last_name": "Desk", "profile": "tp_rep", "active": "y"})
    _review, done = admin.change(URL + "deal_desk/delete", {})
    assert done.status_code == 302 and "deal_desk" not in services.runtimes.current().metadata.permission_set_groups
    assert org_group(services, "deal_desk") is None


def test_groups_page_needs_customize_metadata(make_browser):
    rep = make_browser("plainrep")
    assert rep.get(URL).status_code == 403
