"""Geolocation fields in metadata (issue 14 §1): JSON Schema (scale 0–10, only the properties a
point has) and semantic checks (a field named like one of its columns, a point as the record
title), each error naming file and path."""
from __future__ import annotations

import pytest

from tessera.meta.errors import MetadataInvalid


def extend(services, fields: dict, **doc):
    org = {"manifest": None, "components": {"objects": {"deal": {
        "source": "objects/deal.yaml", "doc": {"extends": "deal", "fields": fields, **doc}}}}}
    return services.changes.apply_org(org, author="test", message="geolocations")


def refusal(services, fields, **doc) -> str:
    with pytest.raises(MetadataInvalid) as info:
        extend(services, fields, **doc)
    return "\n".join(str(e) for e in info.value.errors)


def test_a_geolocation_with_a_scale_is_valid_and_has_a_default_scale(services):
    extend(services, {"site": {"type": "geolocation", "label": "Site", "required": False, "scale": 4},
                      "home": {"type": "geolocation"}})
    fields = services.records.runtime().metadata.objects["deal"].fields
    assert fields["site"].options["scale"] == 4 and fields["home"].options["scale"] == 6


@pytest.mark.parametrize("doc, path", [
    ({"type": "geolocation", "scale": 11}, "fields.site.scale"),
    ({"type": "geolocation", "scale": -1}, "fields.site.scale"),
    ({"type": "geolocation", "max_length": 10}, "fields.site"),
    ({"type": "geolocation", "unique": True}, "fields.site"),
    ({"type": "geolocation", "default": "1, 2"}, "fields.site"),
])
def test_the_schema_refuses_what_a_point_does_not_have(services, doc, path):
    text = refusal(services, {"site": doc})
    assert "objects/deal.yaml" in text and path in text


def test_a_field_cannot_take_the_name_of_a_geolocation_column(services):
    text = refusal(services, {"site": {"type": "geolocation"}, "site__lat": {"type": "number"}})
    assert "fields.site__lat" in text and "is a column of the geolocation field 'site'" in text


def test_a_geolocation_is_no_record_title(services):
    org = {"manifest": None, "components": {"objects": {"spot": {"source": "objects/spot.yaml", "doc": {
        "name": "spot", "name_field": "site", "fields": {"site": {"type": "geolocation"}}}}}}}
    with pytest.raises(MetadataInvalid) as info:
        services.changes.apply_org(org, author="test", message="a spot")
    text = "\n".join(str(e) for e in info.value.errors)
    assert "objects/spot.yaml: name_field" in text and "'site' is a geolocation" in text


def test_expressions_over_geolocations_are_checked_when_metadata_is_validated(services):
    text = refusal(services, {"site": {"type": "geolocation"},
                              "bad": {"type": "formula", "returns": "number", "expression": "site + 1"}})
    assert "fields.bad.expression" in text and "geolocation" in text
