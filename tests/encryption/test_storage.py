"""Encrypted fields are ciphertext in the table and plaintext through the API (both databases)."""
from __future__ import annotations

from sqlalchemy import text

from encryption_helpers import PATIENT, org_with, raw_rows


def test_values_are_ciphertext_in_the_table_and_plaintext_through_the_api(api, patients):
    r = api.post("/api/v1/records/patient", json={"name": "Ann", "ssn": "123-45-6789", "notes": "allergic",
                                                  "email": "ann@example.com", "code": "P-1", "city": "Oslo"})
    assert r.status_code == 201, r.get_json()
    rid = r.get_json()["id"]
    assert r.get_json()["ssn"] == "123-45-6789"
    row = raw_rows(patients.engine)[rid]
    assert row["city"] == "Oslo" and row["name"] == "Ann"
    for name in ("ssn", "notes", "email", "code"):
        assert row[name].startswith("enc1:first:"), row
    assert "123-45-6789" not in str(row) and "ann@example.com" not in str(row)
    got = api.get(f"/api/v1/records/patient/{rid}").get_json()
    assert (got["ssn"], got["notes"], got["email"], got["code"]) == ("123-45-6789", "allergic", "ann@example.com", "P-1")


def test_bulk_creates_encrypt_every_value_on_its_own(api, patients):
    rows = [{"name": f"N{n}", "ssn": "111-11-1111", "notes": "same", "email": "same@example.com", "code": f"B-{n}"}
            for n in range(40)]
    r = api.post("/api/v1/records/patient/bulk", json=rows)
    assert r.status_code in (200, 201), r.get_json()
    stored = [row for row in raw_rows(patients.engine).values() if row["name"].startswith("N")]
    assert len(stored) == 40
    assert len({row["ssn"] for row in stored}) == 40 and len({row["notes"] for row in stored}) == 40   # randomized
    assert len({row["email"] for row in stored}) == 1 and stored[0]["email"].startswith("enc1:first:d:")
    found = api.get("/api/v1/records/patient", query_string={"filter": "email == 'same@example.com'", "count": "true"})
    assert found.get_json()["total"] == 40


def test_field_history_keeps_who_and_when_but_no_value(api, services, key_line):
    tracked = {**PATIENT, "track_history": True}
    services.changes.apply_org(org_with(tracked), author="test", message="tracked patients")
    rid = api.post("/api/v1/records/patient", json={"name": "Ann", "ssn": "123-45-6789", "city": "Oslo"}).get_json()["id"]
    assert api.patch(f"/api/v1/records/patient/{rid}", json={"ssn": "999-99-9999", "city": "Bergen"}).status_code == 200
    entries = {e["field"]: e for e in api.get(f"/api/v1/records/patient/{rid}/history").get_json()["entries"]}
    assert (entries["city"]["old_value"], entries["city"]["new_value"]) == ("Oslo", "Bergen")
    assert (entries["ssn"]["old_value"], entries["ssn"]["new_value"]) == (None, None)
    with services.engine.connect() as conn:
        dump = str(conn.execute(text("SELECT * FROM tessera_field_history")).all())
    assert "123-45-6789" not in dump and "999-99-9999" not in dump
