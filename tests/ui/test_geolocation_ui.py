"""Geolocation fields in the end-user UI (issue 14 §1): the form's two inputs, the record page's
"48.856600, 2.352200", and a list view filtered by distance. Both databases."""
from __future__ import annotations

import pytest


def extend(services, obj, fields, extra=None):
    components = {"objects": {obj: {"source": f"objects/{obj}.yaml", "doc": {"extends": obj, "fields": fields}}}}
    components.update(extra or {})
    org = {"manifest": None, "components": components}
    return services.changes.apply_org(org, author="test", message="geolocations")


@pytest.fixture
def located(services):
    extend(services, "deal", {"site": {"type": "geolocation", "scale": 4}}, {
        "layouts": {"deal": {"source": "layouts/deal.yaml", "doc": {
            "name": "deal", "object": "deal", "sections": [{"label": "Main", "fields": ["name", "site"]}]}}}})
    return services


def test_the_form_takes_two_inputs_and_the_page_shows_the_point(located, admin):
    form = admin.html("/app/testapp/deal/new")
    assert 'name="site.latitude"' in form and 'name="site.longitude"' in form and 'step="0.0001"' in form
    refused = admin.post("/app/testapp/deal/new", {"name": "Half", "site.latitude": "48.85", "site.longitude": ""})
    assert refused.status_code == 422 and "longitude is required" in refused.get_data(as_text=True)
    refused = admin.post("/app/testapp/deal/new", {"name": "Far", "site.latitude": "95", "site.longitude": "2"})
    assert refused.status_code == 422 and "latitude must be between -90 and 90" in refused.get_data(as_text=True)
    saved = admin.post("/app/testapp/deal/new", {"name": "Paris", "site.latitude": "48.8566", "site.longitude": "2.3522"})
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    page = admin.html(saved.headers["Location"])
    assert "48.8566, 2.3522" in page
    edit = admin.html(saved.headers["Location"] + "/edit")
    assert 'value="48.8566"' in edit and 'value="2.3522"' in edit


def test_a_list_view_filters_by_distance(services, admin, api):
    extend(services, "deal", {"site": {"type": "geolocation"}}, {
        "list_views": {"deals_near_paris": {"source": "list_views/deals_near_paris.yaml", "doc": {
            "name": "deals_near_paris", "object": "deal", "label": "Near Paris", "columns": ["name", "site"],
            "filter": "DISTANCE(site, GEOLOCATION(48.85, 2.35), 'km') < 100"}}}})
    api.post("/api/v1/records/deal", json={"name": "Versailles", "site": "48.8049, 2.1204"})
    api.post("/api/v1/records/deal", json={"name": "Lyon", "site": "45.764, 4.8357"})
    page = admin.html("/app/testapp/deal?view=deals_near_paris")
    assert "Versailles" in page and "Lyon" not in page
    assert "48.804900, 2.120400" in page


def test_bulk_edit_sets_a_point_on_every_chosen_record(located, admin, api):
    ids = [api.post("/api/v1/records/deal", json={"name": n, "site": "1, 2"}).json["id"] for n in ("A", "B")]
    admin.post("/app/testapp/deal/bulk", [("_action", "update"), ("_field", "site"), ("_v.site.latitude", "48.8566"),
                                          ("_v.site.longitude", "2.3522"), *[("_ids", i) for i in ids]])
    assert [api.get(f"/api/v1/records/deal/{i}").json["site"] for i in ids] == [
        {"latitude": 48.8566, "longitude": 2.3522}] * 2
    admin.post("/app/testapp/deal/bulk", [("_action", "update"), ("_field", "site"), ("_v.site.latitude", "48.8566"),
                                          ("_v.site.longitude", ""), ("_ids", ids[0])])
    assert api.get(f"/api/v1/records/deal/{ids[0]}").json["site"] == {"latitude": 48.8566, "longitude": 2.3522}
