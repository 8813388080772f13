"""The geolocation field type (issue 14 §1): two numeric columns, {"latitude", "longitude"} in the
API, "lat, lng" text in CSV and forms, DISTANCE/LATITUDE/LONGITUDE in filters, formulas (the way to
sort by distance) and validation rules; both-or-neither and ranges checked by the record service
and by a CHECK constraint. Both databases."""
from __future__ import annotations

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

PARIS = {"latitude": 48.8566, "longitude": 2.3522}
LONDON = {"latitude": 51.5074, "longitude": -0.1278}
NEW_YORK = {"latitude": 40.7128, "longitude": -74.006}


def extend(services, obj: str, fields: dict, rules=None, **kw):
    doc = {"extends": obj, "fields": fields}
    if rules:
        doc["validation_rules"] = rules
    org = {"manifest": None, "components": {"objects": {obj: {"source": f"objects/{obj}.yaml", "doc": doc}}}}
    return services.changes.apply_org(org, author="test", message="geolocations", **kw)


@pytest.fixture
def located(services):
    extend(services, "deal", {
        "site": {"type": "geolocation"},
        "km_from_paris": {"type": "formula", "returns": "number",
                          "expression": "DISTANCE(site, GEOLOCATION(48.8566, 2.3522), 'km')"}})
    return services


def create(api, **values):
    return api.post("/api/v1/records/deal", json={"name": "D", **values})


def test_object_in_object_out_stored_in_two_columns(located, api, services):
    made = create(api, site=PARIS)
    assert made.status_code == 201, made.json
    assert made.json["site"] == PARIS
    assert made.json["km_from_paris"] == pytest.approx(0, abs=1e-6)
    fetched = api.get(f"/api/v1/records/deal/{made.json['id']}").json
    assert fetched["site"] == PARIS
    rt = services.records.runtime()
    table = rt.objects["deal"].table
    assert {"site__lat", "site__lng"} <= set(table.c.keys()) and "site" not in table.c
    with services.engine.connect() as conn:
        lat, lng = conn.execute(select(table.c.site__lat, table.c.site__lng)
                                .where(table.c.id == services_id(made))).one()
    assert (float(lat), float(lng)) == (48.8566, 2.3522)
    patched = api.patch(f"/api/v1/records/deal/{made.json['id']}", json={"site": "51.5074, -0.1278"})
    assert patched.status_code == 200, patched.json
    assert patched.json["site"] == LONDON
    assert patched.json["km_from_paris"] == pytest.approx(343.5, abs=1)
    cleared = api.patch(f"/api/v1/records/deal/{made.json['id']}", json={"site": None})
    assert cleared.json["site"] is None and cleared.json["km_from_paris"] is None


def services_id(response):
    import uuid
    return uuid.UUID(response.json["id"])


@pytest.mark.parametrize("value, message", [
    ({"latitude": 91, "longitude": 0}, "latitude must be between -90 and 90"),
    ({"latitude": 0, "longitude": -180.5}, "longitude must be between -180 and 180"),
    ({"latitude": 10}, "longitude is required"),
    ({"latitude": "north", "longitude": 1}, "latitude must be a number"),
    ({"latitude": 1, "longitude": 2, "altitude": 3}, "unknown part 'altitude'"),
    ("somewhere", "is not an object"),
    (True, "must be an object"),
])
def test_bad_points_are_refused_naming_the_field_and_the_part(located, api, value, message):
    refused = create(api, site=value)
    assert refused.status_code == 422, refused.json
    assert message in refused.json["error"]["fields"]["site"][0]


def test_scale_rounds_each_part(services, api):
    extend(services, "deal", {"spot": {"type": "geolocation", "scale": 2}})
    made = create(api, spot={"latitude": 48.85661, "longitude": 2.35499})
    assert made.json["spot"] == {"latitude": 48.86, "longitude": 2.35}


def test_filter_by_distance_and_sort_by_a_distance_formula(located, api):
    for name, where in (("paris", PARIS), ("london", LONDON), ("new york", NEW_YORK), ("nowhere", None)):
        assert create(api, name=name, site=where).status_code == 201
    near = api.get("/api/v1/records/deal", query_string={
        "filter": "DISTANCE(site, GEOLOCATION(48.85, 2.35), 'km') < 500", "fields": "name"}).json["records"]
    assert sorted(r["name"] for r in near) == ["london", "paris"]
    miles = api.get("/api/v1/records/deal", query_string={
        "filter": "DISTANCE(site, GEOLOCATION(48.85, 2.35), 'mi') > 3000", "fields": "name"}).json["records"]
    assert [r["name"] for r in miles] == ["new york"]
    north = api.get("/api/v1/records/deal", query_string={
        "filter": "LATITUDE(site) > 50 or ISBLANK(site)", "fields": "name"}).json["records"]
    assert sorted(r["name"] for r in north) == ["london", "nowhere"]
    ordered = api.get("/api/v1/records/deal", query_string={
        "filter": "not ISBLANK(site)", "sort": "-km_from_paris", "fields": "name,km_from_paris"}).json["records"]
    assert [r["name"] for r in ordered] == ["new york", "london", "paris"]
    assert ordered[0]["km_from_paris"] == pytest.approx(5837, abs=5)


def test_a_geolocation_has_no_order_and_no_comparison(located, api):
    refused = api.get("/api/v1/records/deal", query_string={"sort": "site"})
    assert refused.status_code == 400 and "DISTANCE(site" in refused.json["error"]["message"]
    refused = api.get("/api/v1/records/deal", query_string={"filter": "site == site"})
    assert refused.status_code == 400 and "cannot compare geolocations" in refused.json["error"]["message"]
    refused = api.get("/api/v1/records/deal", query_string={"filter": "DISTANCE(site, site, 'm') < 1"})
    assert refused.status_code == 400 and "'km' or 'mi'" in refused.json["error"]["message"]


def test_validation_rules_use_distance(services, api):
    extend(services, "deal", {"site": {"type": "geolocation"}}, rules=[{
        "name": "in_europe", "condition": "DISTANCE(site, GEOLOCATION(50, 10), 'km') > 2500",
        "message": "The site must be in Europe.", "field": "site"}])
    assert create(api, site=PARIS).status_code == 201
    refused = create(api, site=NEW_YORK)
    assert refused.status_code == 422
    assert refused.json["error"]["fields"]["site"] == ["The site must be in Europe."]


def test_csv_style_text_and_bulk_create(located, services, api):
    from tessera.security.actor import SYSTEM
    ids = services.records.bulk_create(SYSTEM, "deal", [
        {"name": "a", "site": "48.8566, 2.3522"}, {"name": "b", "site": "51.5074,-0.1278"}, {"name": "c"}],
        from_text=True)
    got = {r["name"]: r["site"] for r in (api.get(f"/api/v1/records/deal/{i}").json for i in ids)}
    assert got == {"a": PARIS, "b": LONDON, "c": None}


def test_the_database_refuses_half_a_point_and_out_of_range_parts(located, services):
    import uuid
    from datetime import datetime, timezone
    table = services.records.runtime().objects["deal"].table
    now = datetime.now(timezone.utc)
    base = {"name": "raw", "created_at": now, "updated_at": now, "row_version": 1}
    for bad in ({"site__lat": 10}, {"site__lat": 95, "site__lng": 1}, {"site__lat": 1, "site__lng": 181}):
        with pytest.raises(IntegrityError):
            with services.engine.begin() as conn:
                conn.execute(insert(table).values(id=uuid.uuid4(), **base, **bad))


def test_history_keeps_points_as_the_api_shows_them(services, api):
    made = api.post("/api/v1/records/company", json={"name": "Acme", "location": PARIS})
    assert made.status_code == 201, made.json
    rid = made.json["id"]
    assert api.patch(f"/api/v1/records/company/{rid}", json={"location": LONDON}).status_code == 200
    assert api.patch(f"/api/v1/records/company/{rid}", json={"location": "51.5074, -0.1278"}).status_code == 200
    entries = [e for e in api.get(f"/api/v1/records/company/{rid}/history").json["entries"]
               if e["field"] == "location"]
    assert [(e["old_value"], e["new_value"]) for e in entries] == [(PARIS, LONDON)]   # the same point again: no entry
