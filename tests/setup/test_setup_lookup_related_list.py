"""Creating a lookup in Setup offers its related list on the parent's page layouts (checked by
default): a package layout gets an org patch (its upgrades still arrive), the org's own layout
is edited in place, nothing is added twice, and unticking it adds nothing."""
from __future__ import annotations

import html as html_lib


def _org_layout(services, name):
    item = services.changes.active().snapshot["org"]["components"].get("layouts", {}).get(name)
    return item["doc"] if item else None


def _related(services, layout):
    return [(r.get("object"), r.get("field")) for r in
            services.runtimes.current().metadata.layouts[layout].get("related_lists") or ()]


def test_the_new_lookup_form_offers_the_related_list(admin):
    page = admin.get("/setup/objects/memo/fields/new?type=lookup").get_data(as_text=True)
    assert 'id="related-list-offer"' in page and 'name="add_related_list" value="1" checked' in page
    assert 'id="related-list-offer"' not in admin.get("/setup/objects/memo/fields/new?type=text").get_data(as_text=True)


def test_a_new_lookup_adds_its_related_list_to_the_parents_layout_as_a_patch(admin, services):
    review, done = admin.change("/setup/objects/memo/fields/new?type=lookup",
                                {"label": "About Company", "to": "company", "add_related_list": "1"})
    assert done.status_code == 302
    page = html_lib.unescape(review.get_data(as_text=True))
    assert "layout</span> <strong>company</strong>" in page and "related_lists: + memo" in page   # the review says so
    assert ("memo", "about_company") in _related(services, "company")
    assert ("deal", "company") in _related(services, "company")                  # the package's list stays
    patch = _org_layout(services, "company")
    assert patch["patches"] == "company" and patch["add_related_lists"] == [{"object": "memo", "field": "about_company"}]
    assert "related list on company" in services.changes.active().message
    # the record page shows it
    from tessera.security.actor import SYSTEM
    company = services.records.create(SYSTEM, "company", {"name": "Parent"})
    services.records.create(SYSTEM, "memo", {"name": "A memo", "about_company": company["id"]})
    html = admin.get(f"/app/testapp/company/{company['id']}").get_data(as_text=True)
    assert "A memo" in html


def test_unticked_the_offer_adds_nothing(admin, services):
    _review, done = admin.change("/setup/objects/memo/fields/new?type=lookup", {"label": "Other Company", "to": "company"})
    assert done.status_code == 302
    assert ("memo", "other_company") not in _related(services, "company")
    assert _org_layout(services, "company") is None


def test_a_second_lookup_on_the_same_field_name_is_not_listed_twice(admin, services):
    admin.change("/setup/objects/memo/fields/new?type=lookup", {"label": "Firm", "to": "company", "add_related_list": "1"})
    admin.change("/setup/objects/memo/fields/new?type=lookup", {"label": "Firm Two", "to": "company",
                                                                "relationship_label": "Firm memos", "add_related_list": "1"})
    patch = _org_layout(services, "company")
    assert patch["add_related_lists"] == [{"object": "memo", "field": "firm"},
                                          {"object": "memo", "field": "firm_two", "label": "Firm memos"}]


def test_a_bad_lookup_is_refused_and_adds_no_related_list(admin, services):
    r = admin.post("/setup/objects/memo/fields/new?type=lookup", {"label": "Nowhere", "add_related_list": "1"})
    assert r.status_code == 422 and "choose the related object" in r.get_data(as_text=True)
    assert _org_layout(services, "company") is None
