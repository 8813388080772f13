"""Geolocation fields in the OpenAPI document (issue 14 §1): an object in and out, "lat, lng" text
also in. Both databases."""
from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator


@pytest.fixture
def located(services):
    services.changes.apply_org({"manifest": None, "components": {"objects": {"deal": {
        "source": "objects/deal.yaml", "doc": {"extends": "deal", "fields": {"site": {"type": "geolocation"}}}}}}},
        author="test", message="a geolocation")
    return services


def test_openapi_describes_the_point(located, api):
    doc = api.get("/api/v1/openapi.json").json
    schemas = doc["components"]["schemas"]
    out = schemas["Deal"]["properties"]["site"]
    point = out if "properties" in out else next(s for s in out.get("anyOf", out.get("oneOf", [])) if "properties" in s)
    assert point["properties"]["latitude"] == {"type": "number", "minimum": -90, "maximum": 90}
    assert point["required"] == ["latitude", "longitude"]
    given = schemas["DealInput"]["properties"]["site"]
    text = re.search(r'"pattern": "([^"]+)"', str(given).replace("'", '"'))
    assert text is not None
    validator = Draft202012Validator(given)
    assert validator.is_valid({"latitude": 1, "longitude": 2}) and validator.is_valid("48.8566, 2.3522")
    assert not validator.is_valid({"latitude": 91, "longitude": 2}) and not validator.is_valid("Paris")
