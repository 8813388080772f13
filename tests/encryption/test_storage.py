"""Encrypted fields are ciphertext in the table and plaintext through the API (both databases)."""
from __future__ import annotations

from sqlalchemy import Table, MetaData, Column, Text, Uuid, select


def raw_rows(engine):
    """The table as the database holds it, read with SQLAlchemy Core and plain TEXT columns."""
    t = Table("obj_patient", MetaData(), Column("id", Uuid, primary_key=True),
              *(Column(n, Text) for n in ("name", "ssn", "notes", "email", "code", "city")))
    with engine.connect() as conn:
        return {str(r.id): r._asdict() for r in conn.execute(select(t))}


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
