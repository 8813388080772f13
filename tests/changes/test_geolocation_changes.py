"""The change pipeline and geolocation fields (issue 14 §1): add to a table with rows, drop,
rename (data and CHECK constraint kept), scale changes, and text ↔ geolocation type changes
checked row by row and refused with a count and examples. Both databases."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from tessera.changes import ChangeRefused

PARIS = {"latitude": 48.8566, "longitude": 2.3522}


def extend(services, fields: dict, **kw):
    org = {"manifest": None, "components": {"objects": {"deal": {
        "source": "objects/deal.yaml", "doc": {"extends": "deal", "fields": fields}}}}}
    return services.changes.apply_org(org, author="test", message="geolocations", **kw)


def create(api, **values):
    made = api.post("/api/v1/records/deal", json={"name": "D", **values})
    assert made.status_code == 201, made.json
    return made.json


def get(api, rid):
    return api.get(f"/api/v1/records/deal/{rid}").json


def half_point_refused(services, lat_column: str):
    """The CHECK constraint is in place: half a point cannot be stored, even bypassing the service."""
    table = services.records.runtime().objects["deal"].table
    now = datetime.now(timezone.utc)
    with pytest.raises(IntegrityError):
        with services.engine.begin() as conn:
            conn.execute(insert(table).values(id=uuid.uuid4(), name="raw", created_at=now, updated_at=now,
                                              row_version=1, **{lat_column: 1}))


def test_add_to_a_table_with_rows_then_rename_then_drop(services, api):
    before = create(api)
    extend(services, {"site": {"type": "geolocation"}})
    assert get(api, before["id"])["site"] is None
    half_point_refused(services, "site__lat")
    located = create(api, site=PARIS)
    result = extend(services, {"place": {"type": "geolocation", "renamed_from": "site"}})
    assert any("rename field deal.site → place" in op.describe() for op in result.plan)
    assert get(api, located["id"])["place"] == PARIS
    half_point_refused(services, "place__lat")
    listed = api.get("/api/v1/records/deal", query_string={
        "filter": "DISTANCE(place, GEOLOCATION(48.85, 2.35)) < 5", "fields": "name"}).json["records"]
    assert [r["name"] for r in listed] == ["D"]
    with pytest.raises(ChangeRefused):   # dropping values needs allow_destructive
        extend(services, {})
    extend(services, {}, allow_destructive=True)
    assert "place" not in get(api, located["id"])
    assert create(api)["name"] == "D"   # the table still takes rows (SQLite rebuilt it)


def test_a_smaller_scale_rounds_existing_points(services, api):
    extend(services, {"site": {"type": "geolocation"}})
    made = create(api, site={"latitude": 48.856613, "longitude": 2.352222})
    extend(services, {"site": {"type": "geolocation", "scale": 3}})
    assert get(api, made["id"])["site"] == {"latitude": 48.857, "longitude": 2.352}


def test_text_becomes_a_geolocation_only_when_every_value_parses(services, api):
    extend(services, {"where": {"type": "text"}})
    good = create(api, where="48.8566, 2.3522")
    blank = create(api)
    bad = create(api, where="Paris")
    far = create(api, where="95, 10")
    with pytest.raises(ChangeRefused) as info:
        extend(services, {"where": {"type": "geolocation"}})
    reasons = "\n".join(info.value.reasons)
    assert "2 rows: not a geolocation" in reasons
    assert bad["id"] in reasons and '"Paris"' in reasons and far["id"] in reasons
    assert get(api, good["id"])["where"] == "48.8566, 2.3522"   # nothing changed
    api.patch(f"/api/v1/records/deal/{bad['id']}", json={"where": "51.5074,-0.1278"})
    api.patch(f"/api/v1/records/deal/{far['id']}", json={"where": ""})
    extend(services, {"where": {"type": "geolocation"}})
    assert get(api, good["id"])["where"] == PARIS
    assert get(api, bad["id"])["where"] == {"latitude": 51.5074, "longitude": -0.1278}
    assert get(api, blank["id"])["where"] is None
    half_point_refused(services, "where__lat")


def test_a_geolocation_becomes_text_and_other_types_are_refused(services, api):
    extend(services, {"site": {"type": "geolocation", "scale": 4}})
    made = create(api, site=PARIS)
    with pytest.raises(ChangeRefused) as info:
        extend(services, {"site": {"type": "number"}})
    assert "cannot become a number field" in "\n".join(info.value.reasons)
    with pytest.raises(ChangeRefused) as info:
        extend(services, {"site": {"type": "text", "max_length": 10}})
    assert "1 row" in "\n".join(info.value.reasons) and made["id"] in "\n".join(info.value.reasons)
    extend(services, {"site": {"type": "text"}})
    assert get(api, made["id"])["site"] == "48.8566, 2.3522"


def test_making_it_required_checks_for_blanks(services, api):
    extend(services, {"site": {"type": "geolocation"}})
    blank = create(api)
    with pytest.raises(ChangeRefused) as info:
        extend(services, {"site": {"type": "geolocation", "required": True}})
    assert f"1 row: blank, but the field is required, e.g. {blank['id']}" in "\n".join(info.value.reasons)
    api.patch(f"/api/v1/records/deal/{blank['id']}", json={"site": "1, 2"})
    extend(services, {"site": {"type": "geolocation", "required": True}})
    refused = api.post("/api/v1/records/deal", json={"name": "x"})
    assert refused.status_code == 422 and refused.json["error"]["fields"]["site"] == ["is required"]


def test_long_names_fit_the_identifier_limit(services, api):
    """ck_obj_<object>_<field>_geo can pass PostgreSQL's 63 characters: the constraint is still made,
    renamed and dropped."""
    obj, field = "o" * 30 + "_object", "f" * 30 + "_location"
    org = {"manifest": None, "components": {"objects": {obj: {"source": f"objects/{obj}.yaml", "doc": {
        "name": obj, "fields": {"name": {"type": "text"}, field: {"type": "geolocation"}}}}}}}
    services.changes.apply_org(org, author="test", message="long names")
    made = api.post(f"/api/v1/records/{obj}", json={"name": "x", field: "1, 2"})
    assert made.status_code == 201, made.json
    doc = org["components"]["objects"][obj]["doc"]
    doc["fields"] = {"name": {"type": "text"}, "spot": {"type": "geolocation", "renamed_from": field}}
    services.changes.apply_org(org, author="test", message="renamed")
    assert api.get(f"/api/v1/records/{obj}/{made.json['id']}").json["spot"] == {"latitude": 1, "longitude": 2}
    doc["fields"] = {"name": {"type": "text"}}
    services.changes.apply_org(org, author="test", message="dropped", allow_destructive=True)
