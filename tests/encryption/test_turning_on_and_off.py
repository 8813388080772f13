"""Turning encryption on and off for a field with data, through `tessera apply` (the change
pipeline): every row converts in the change's transaction, the plan says so, the data check
refuses what would not fit; without a key the change is refused naming the variable."""
from __future__ import annotations

import copy

import pytest
import yaml
from click.testing import CliRunner

from tessera.cli import _register, cli

from encryption_helpers import PATIENT, org_with, raw_rows

PLAIN = copy.deepcopy(PATIENT)
PLAIN["fields"]["ssn"] = {"type": "text", "max_length": 11}
PLAIN["fields"]["city"] = {"type": "text", "max_length": 14}


def apply(db_url, tmp_path, doc):
    folder = tmp_path / "org"
    (folder / "objects").mkdir(parents=True, exist_ok=True)
    (folder / "objects" / "patient.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    _register() if not cli.commands else None
    return CliRunner().invoke(cli, ["apply", str(folder), "--database", db_url, "-m", "encryption"],
                              catch_exceptions=False)


def with_field(name, **props):
    doc = copy.deepcopy(PLAIN)
    doc["fields"][name] = {**doc["fields"][name], **props}
    return doc


@pytest.fixture
def filled(services, key_line, api):
    services.changes.apply_org(org_with(PLAIN), author="test", message="plain patients")
    ids = []
    for n in range(25):
        r = api.post("/api/v1/records/patient", json={"name": f"P{n}", "ssn": f"123-45-{n:04d}", "city": f"City {n}"})
        assert r.status_code == 201, r.get_json()
        ids.append(r.get_json()["id"])
    return ids


def test_turning_encryption_on_encrypts_every_row_and_off_decrypts_them(db_url, tmp_path, services, api, filled):
    result = apply(db_url, tmp_path, with_field("city", encrypted=True, encryption="deterministic"))
    assert result.exit_code == 0, result.output
    assert "encrypt (deterministic) the values of patient.city" in result.output
    assert "encrypts 25 values of patient.city" in result.output
    rows = raw_rows(services.engine)
    assert all(rows[i]["city"].startswith("enc1:first:d:") for i in filled)
    assert rows[filled[3]]["ssn"] == "123-45-0003"
    found = api.get("/api/v1/records/patient", query_string={"filter": "city == 'City 3'"}).get_json()
    assert [r["id"] for r in found["records"]] == [filled[3]]

    result = apply(db_url, tmp_path, PLAIN)
    assert result.exit_code == 0, result.output
    assert "decrypt the values of patient.city" in result.output and "decrypts 25 values" in result.output
    rows = raw_rows(services.engine)
    assert [rows[i]["city"] for i in filled] == [f"City {n}" for n in range(25)]
    assert api.get(f"/api/v1/records/patient/{filled[7]}").get_json()["city"] == "City 7"


def test_switching_the_mode_re_encrypts(db_url, tmp_path, services, api, filled):
    assert apply(db_url, tmp_path, with_field("ssn", encrypted=True)).exit_code == 0
    assert all(raw_rows(services.engine)[i]["ssn"].startswith("enc1:first:r:") for i in filled)
    result = apply(db_url, tmp_path, with_field("ssn", encrypted=True, encryption="deterministic"))
    assert result.exit_code == 0, result.output
    assert "re-encrypt (randomized → deterministic) the values of patient.ssn" in result.output
    assert all(raw_rows(services.engine)[i]["ssn"].startswith("enc1:first:d:") for i in filled)
    assert api.get(f"/api/v1/records/patient/{filled[4]}").get_json()["ssn"] == "123-45-0004"


def test_a_value_that_would_not_fit_refuses_the_change_and_changes_nothing(db_url, tmp_path, services, filled):
    assert apply(db_url, tmp_path, with_field("city", encrypted=True)).exit_code == 0
    result = apply(db_url, tmp_path, with_field("city", max_length=6))   # decrypt into 6 characters
    assert result.exit_code != 0
    assert "patient.city" in result.output and "rows" in result.output, result.output
    assert all(raw_rows(services.engine)[i]["city"].startswith("enc1:") for i in filled)


def test_without_a_key_the_change_is_refused_naming_the_variable(db_url, tmp_path, services, filled, monkeypatch):
    monkeypatch.delenv("TESSERA_ENCRYPTION_KEY")
    result = apply(db_url, tmp_path, with_field("ssn", encrypted=True))
    assert result.exit_code != 0
    assert "encrypted fields (patient.ssn, " in result.output, result.output
    assert "need a key: set TESSERA_ENCRYPTION_KEY (base64 of 32 random bytes)" in result.output
    assert raw_rows(services.engine)[filled[0]]["ssn"] == "123-45-0000"
