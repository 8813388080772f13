"""Encrypted fields through the REST API: masked for readers without view_encrypted_data, equality
filters on deterministic fields, refused filters, sorts and groupings (400 naming the field)."""
from __future__ import annotations

import pytest


@pytest.fixture
def ann(api, patients):
    r = api.post("/api/v1/records/patient", json={"name": "Ann", "ssn": "123-45-6789", "notes": "short",
                                                  "email": "ann@example.com", "code": "P-1"})
    assert r.status_code == 201, r.get_json()
    api.post("/api/v1/records/patient", json={"name": "Bob", "email": "bob@example.com", "code": "P-2"})
    return r.get_json()["id"]


def test_a_reader_without_the_permission_sees_masks_and_may_still_write(api, clerk, ann):
    got = clerk.get(f"/api/v1/records/patient/{ann}").get_json()
    assert (got["ssn"], got["notes"], got["email"], got["name"]) == ("•••• 6789", "••••", "•••• .com", "Ann")
    listed = clerk.get("/api/v1/records/patient", query_string={"fields": "name,ssn"}).get_json()["records"]
    assert {r["name"]: r["ssn"] for r in listed} == {"Ann": "•••• 6789", "Bob": None}
    # the form sent back as shown keeps the value; a new value is written
    r = clerk.patch(f"/api/v1/records/patient/{ann}", json={"ssn": "•••• 6789", "notes": "changed"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["notes"] == "••••"   # 7 characters: bullets only
    full = api.get(f"/api/v1/records/patient/{ann}").get_json()
    assert (full["ssn"], full["notes"]) == ("123-45-6789", "changed")


def test_the_permission_shows_values_in_clear(api, patients, clerk, ann):
    from tessera.security.actor import SYSTEM
    patients.records.create(SYSTEM, "permission_set_assignment",
                            {"user": clerk.user["id"], "permission_set": "auditor"})
    got = clerk.get(f"/api/v1/records/patient/{ann}").get_json()
    assert got["ssn"] == "123-45-6789"


@pytest.mark.parametrize("filter, names", [
    ("email == 'ann@example.com'", ["Ann"]),
    ("email != 'ann@example.com'", ["Bob"]),
    ("email in ['bob@example.com', 'x@example.com']", ["Bob"]),
    ("code == 'P-2' or code == 'P-1'", ["Ann", "Bob"]),
    ("ISBLANK(ssn)", ["Bob"]),
    ("not ISBLANK(notes)", ["Ann"]),
])
def test_equality_filters_on_deterministic_fields(api, ann, filter, names):
    r = api.get("/api/v1/records/patient", query_string={"filter": filter, "sort": "name"})
    assert r.status_code == 200, r.get_json()
    assert [x["name"] for x in r.get_json()["records"]] == names


@pytest.mark.parametrize("params, field", [
    ({"filter": "ssn == '123-45-6789'"}, "ssn"),                 # randomized: no value test
    ({"filter": "ssn in ['1']"}, "ssn"),
    ({"filter": "email > 'a'"}, "email"),
    ({"filter": "CONTAINS(email, 'ann')"}, "email"),
    ({"filter": "LOWER(email) == 'ann@example.com'"}, "email"),
    ({"filter": "email == name"}, "email"),
    ({"sort": "-email"}, "email"),
    ({"sort": "ssn"}, "ssn"),
])
def test_refused_filters_and_sorts_answer_400_naming_the_field(api, ann, params, field):
    r = api.get("/api/v1/records/patient", query_string=params)
    assert r.status_code == 400, r.get_json()
    error = r.get_json()["error"]
    assert error["code"] == "encrypted_field" and error["field"] == field, error
    assert error["parameter"] == next(iter(params))


def test_groupings_and_summaries_of_encrypted_fields_are_refused(api, ann):
    for params, field in (({"group_by": "email"}, "email"), ({"metrics": "count_distinct:ssn"}, "ssn")):
        r = api.get("/api/v1/records/patient/aggregate", query_string=params)
        assert r.status_code == 400, r.get_json()
        assert r.get_json()["error"]["field"] == field


def test_upsert_by_a_deterministic_external_id(api, ann):
    r = api.put("/api/v1/records/patient/by/code/P-1", json={"name": "Ann B."})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["id"] == ann


def test_describe_says_which_fields_are_encrypted(api, patients):
    fields = {f["name"]: f for f in api.get("/api/v1/objects/patient").get_json()["fields"]}
    assert (fields["ssn"]["encrypted"], fields["ssn"]["encryption"]) == (True, "randomized")
    assert fields["email"]["encryption"] == "deterministic" and "encrypted" not in fields["city"]


def test_a_conversion_preview_masks_what_comes_from_encrypted_fields(api, clerk, ann, patients):
    """A value mapped from an encrypted field is shown masked to a reader without the permission."""
    from encryption_helpers import CLERK, PATIENT, org_with
    org = org_with(PATIENT)
    org["components"]["profiles"]["clerk"] = {"source": "org/profiles/clerk.yaml", "doc": {
        **CLERK, "objects": {**CLERK["objects"], "company": ["read", "create"]}}}
    org["components"]["conversions"]["patient_to_company"] = {"source": "org/conversions/patient_to_company.yaml",
                                                              "doc": {"name": "patient_to_company", "object": "patient",
                                                                      "targets": [{"name": "company", "object": "company",
                                                                                   "values": {"name": "ssn", "website": "'https://x.example'"}}]}}
    patients.changes.apply_org(org, author="test", message="a conversion")
    masked = clerk.get(f"/api/v1/records/patient/{ann}/convert").get_json()["targets"][0]["values"]
    assert masked == {"name": "•••• 6789", "website": "https://x.example"}
    clear = api.get(f"/api/v1/records/patient/{ann}/convert").get_json()["targets"][0]["values"]
    assert clear["name"] == "123-45-6789"
