"""The duration field type (issue 14 §1): whole seconds in storage and the API, typed as "1h 30m"
in the API, forms and metadata; filters, sorting, roll-ups, OpenAPI, type changes with data checks,
and the generated form. Both databases."""
from __future__ import annotations

import re

import pytest

from tessera.changes import ChangeRefused
from tessera.meta.errors import MetadataInvalid


def extend(services, obj: str, fields: dict, **kw):
    org = {"manifest": None, "components": {"objects": {obj: {
        "source": f"objects/{obj}.yaml", "doc": {"extends": obj, "fields": fields}}}}}
    return services.changes.apply_org(org, author="test", message="durations", **kw)


@pytest.fixture
def timed(services):
    extend(services, "deal", {
        "time_spent": {"type": "duration", "min": "0s", "max": "30d", "default": "15m"},
        "sla": {"type": "duration", "label": "SLA"}})
    return services


def create(api, **values):
    return api.post("/api/v1/records/deal", json={"name": "D", **values})


def test_seconds_and_text_in_seconds_out(timed, api):
    made = create(api, time_spent="1h 30m", sla=7200)
    assert made.status_code == 201, made.json
    assert made.json["time_spent"] == 5400 and made.json["sla"] == 7200
    assert create(api).json["time_spent"] == 900                     # the default, written "15m"
    for given, seconds in (("2d 4h", 187200), ("45m", 2700), ("1:30:00", 5400), ("1.5 hours", 5400), (0, 0)):
        assert create(api, time_spent=given).json["time_spent"] == seconds, given
    patched = api.patch(f"/api/v1/records/deal/{made.json['id']}", json={"time_spent": "2h"})
    assert patched.json["time_spent"] == 7200


@pytest.mark.parametrize("value, message", [
    ("soon", "'soon' is not a duration such as 1h 30m"),
    ("-1h", "must not be negative"),
    (-5, "must not be negative"),
    (True, "must be a duration"),
    ("31d", "must be at most 30d"),
])
def test_bad_durations_are_a_422_naming_the_field(timed, api, value, message):
    refused = create(api, time_spent=value)
    assert refused.status_code == 422
    assert message in refused.json["error"]["fields"]["time_spent"][0]


def test_filters_sort_and_rollups_work_in_seconds(timed, api, services):
    for spent in ("10m", "2h", "1d"):
        create(api, name=spent, time_spent=spent)
    listed = api.get("/api/v1/records/deal", query_string={
        "filter": "time_spent >= 3600", "sort": "-time_spent", "fields": "name,time_spent"}).json["records"]
    assert [(r["name"], r["time_spent"]) for r in listed] == [("1d", 86400), ("2h", 7200)]


def test_the_openapi_document_describes_seconds_and_the_text_form(timed, api):
    doc = api.get("/api/v1/openapi.json").json
    schemas = doc["components"]["schemas"]
    out = next(s for name, s in schemas.items() if name.lower().startswith("deal") and "time_spent" in s.get("properties", {})
               and "oneOf" not in s["properties"]["time_spent"])
    assert "integer" in out["properties"]["time_spent"]["type"]
    given = schemas["DealInput"]["properties"]["time_spent"]["anyOf"][0]
    assert {o["type"] for o in given["oneOf"]} == {"integer", "string"}


def test_metadata_refuses_a_default_that_is_not_a_duration(services):
    with pytest.raises(MetadataInvalid) as info:
        extend(services, "deal", {"spent": {"type": "duration", "default": "a while"}})
    assert any("fields.spent.default: 'a while' is not a duration" in str(e) for e in info.value.errors)


def test_an_integer_field_becomes_a_duration_when_every_value_fits(services, api):
    extend(services, "deal", {"minutes": {"type": "integer"}})
    ok = create(api, minutes=90).json
    bad = create(api, minutes=-3).json
    with pytest.raises(ChangeRefused) as info:
        extend(services, "deal", {"minutes": {"type": "duration"}})
    assert f"1 row: not a duration, e.g. {bad['id']}: -3" in "\n".join(info.value.reasons)
    api.patch(f"/api/v1/records/deal/{bad['id']}", json={"minutes": 3})
    extend(services, "deal", {"minutes": {"type": "duration"}})
    assert api.get(f"/api/v1/records/deal/{ok['id']}").json["minutes"] == 90   # seconds, as they were


def test_the_form_takes_and_shows_durations(timed, services, admin):
    layout = {"manifest": None, "components": {
        "objects": {"deal": {"source": "objects/deal.yaml", "doc": {"extends": "deal", "fields": {
            "time_spent": {"type": "duration", "min": "0s", "max": "30d", "default": "15m"},
            "sla": {"type": "duration", "label": "SLA"}}}}},
        "layouts": {"deal": {"source": "layouts/deal.yaml", "doc": {
            "name": "deal", "object": "deal", "sections": [{"label": "Main", "fields": ["name", "time_spent", "sla"]}]}}}}}
    services.changes.apply_org(layout, author="test", message="deal layout")
    form = admin.html("/app/testapp/deal/new")
    assert 'name="time_spent"' in form and 'placeholder="1h 30m"' in form
    response = admin.post("/app/testapp/deal/new", {"name": "Timed", "time_spent": "1h 30m", "sla": "nonsense"})
    assert response.status_code == 422 and "is not a duration" in response.get_data(as_text=True)
    response = admin.post("/app/testapp/deal/new", {"name": "Timed", "time_spent": "1h 30m", "sla": "2d"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    page = admin.html(response.headers["Location"])
    assert re.search(r">\s*1h 30m\s*<", page) and re.search(r">\s*2d\s*<", page)
