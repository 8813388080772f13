"""The stock Sales app's duplicate rules (contact by email: block with override; lead by email:
warn; account by a similar name: warn), and `tessera import` reporting duplicates row by row.
Both databases."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from tessera.cli import _register, cli
from tessera.records.errors import DuplicatesFound
from tessera.security.actor import SYSTEM

_register() if not cli.commands else None


def test_sales_rules(sales):
    records = sales.records
    ann = records.create(SYSTEM, "contact", {"last_name": "Lee", "first_name": "Ann", "email": "ann.lee@acme.com"})
    with pytest.raises(DuplicatesFound) as info:
        records.create(SYSTEM, "contact", {"last_name": "Lee", "email": "Ann.Lee@ACME.com"})
    finding = info.value.details["duplicates"][0]
    assert finding["rule"] == "contact_by_email" and finding["matches"][0] == {
        "id": ann["id"], "name": "Ann Lee", "score": 1.0}       # the name field is a formula
    assert info.value.details["overridable"] is True
    same = records.create(SYSTEM, "contact", {"last_name": "Lee", "email": "Ann.Lee@ACME.com"}, allow_duplicates=True)
    assert same["_warnings"][0]["rule"] == "contact_by_email"
    assert "_warnings" not in records.create(SYSTEM, "contact", {"last_name": "Lee", "email": "annlee@acme.com"})

    lead = records.create(SYSTEM, "lead", {"last_name": "Ng", "company": "Initech", "email": "bo@initech.com"})
    again = records.create(SYSTEM, "lead", {"last_name": "Ng", "company": "Initech", "email": "BO@initech.com"})
    assert [(w["rule"], w["matches"][0]["id"]) for w in again["_warnings"]] == [("lead_by_email", lead["id"])]

    acme = records.create(SYSTEM, "account", {"name": "Acme, Inc."})
    similar = records.create(SYSTEM, "account", {"name": "ACME Inc"})
    assert [(w["rule"], w["matches"][0]["id"]) for w in similar["_warnings"]] == [("account_by_name", acme["id"])]
    assert "_warnings" not in records.create(SYSTEM, "account", {"name": "Acme Holdings"})


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_import_reports_duplicates_row_by_row(services, db_url, tmp_path):
    svc = services
    svc.changes.apply_org({"manifest": None, "components": {"duplicate_rules": {"company_email": {
        "source": "duplicate_rules/company_email.yaml",
        "doc": {"name": "company_email", "object": "company", "action": "block", "allow_override": True,
                "conditions": [{"field": "email", "match": "email"}]}}}}}, author="test", message="rule")
    svc.records.create(SYSTEM, "company", {"name": "Acme", "email": "info@acme.com"})
    path = tmp_path / "c.csv"
    path.write_text("name,email\nFine,fine@fine.com\nCopy,INFO@acme.com\nTwin,fine@FINE.com\n", encoding="utf-8")
    r = run("import", "company", str(path), "--database", db_url)
    assert r.exit_code == 1, r.output
    assert "row 2 (line 3): email: matches 1 existing company (duplicate rule 'Company Email')" in r.output
    assert "row 3 (line 4): email: matches row 1 of this batch (duplicate rule 'Company Email')" in r.output
    assert [c["name"] for c in svc.records.query(SYSTEM, "company", fields="name").records] == ["Acme"]
    # where the rule allows an override, --allow-duplicates saves them (as the API's ?allow_duplicates)
    saved = run("import", "company", str(path), "--database", db_url, "--allow-duplicates")
    assert saved.exit_code == 0, saved.output
    assert "Imported 3 company records." in saved.output
    assert sorted(c["name"] for c in svc.records.query(SYSTEM, "company", fields="name").records) == \
        ["Acme", "Copy", "Fine", "Twin"]
