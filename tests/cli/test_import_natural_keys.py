"""`tessera import` with natural keys: `lookup.key` headers name a lookup's record by the target's
external id; `--upsert-by FIELD` updates the records whose key exists and creates the others, all
or nothing, with per-row errors. Both databases."""
from __future__ import annotations


from click.testing import CliRunner

from tessera.cli import _register, cli
from tessera.security.actor import SYSTEM
from tessera.services import Services

_register() if not cli.commands else None


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)



def records(db_url, object_name, fields):
    svc = Services.open(db_url, poll_seconds=0)
    try:
        return svc.records.query(SYSTEM, object_name, fields=fields, limit=1000).records
    finally:
        svc.engine.dispose()


def csv(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_lookup_columns_match_by_external_id(testdb, tmp_path):
    r = run("import", "company", csv(tmp_path, "c.csv", "name,code\nAcme,C-1\nGlobex,C-2\n"), "--database", testdb)
    assert r.exit_code == 0, r.output
    ids = {c["code"]: c["id"] for c in records(testdb, "company", "code")}
    r = run("import", "deal", csv(tmp_path, "d.csv", "name,company.code\nOne,C-1\nTwo,C-2\nThree,\n"),
            "--database", testdb)
    assert r.exit_code == 0, r.output
    assert "Imported 3 deal records." in r.output
    assert {d["name"]: d["company"] for d in records(testdb, "deal", "name,company")} == {
        "One": ids["C-1"], "Two": ids["C-2"], "Three": None}

    r = run("import", "deal", csv(tmp_path, "bad.csv", "name,company.code,company.name\nX,C-1,Acme\n"),
            "--database", testdb)
    assert r.exit_code == 1 and "names the lookup 'company' more than once" in r.output
    r = run("import", "deal", csv(tmp_path, "bad2.csv", "name,company.code\nFour,C-1\nFive,C-404\nSix,C-2\n"),
            "--database", testdb)
    assert r.exit_code == 1
    assert "row 2 (line 3): company: there is no company with code 'C-404'" in r.output
    r = run("import", "deal", csv(tmp_path, "bad3.csv", "name,company.industry\nSeven,Energy\n"), "--database", testdb)
    assert r.exit_code == 1 and "'industry' is not an external id or unique name field of company" in r.output
    assert len(records(testdb, "deal", "name")) == 3   # nothing of the failed files was saved


def test_upsert_by_updates_existing_and_creates_the_others(testdb, tmp_path):
    r = run("import", "company", csv(tmp_path, "c.csv", "name,code,employees\nAcme,C-1,10\nGlobex,C-2,20\n"),
            "--database", testdb)
    assert r.exit_code == 0, r.output
    before = {c["code"]: c for c in records(testdb, "company", "code,name,employees")}
    r = run("import", "company", csv(tmp_path, "u.csv", "code,name,employees\nC-2,Globex Corp,\nC-3,Initech,5\n"),
            "--upsert-by", "code", "--database", testdb)
    assert r.exit_code == 0, r.output
    assert "Imported 2 company records: 1 created, 1 updated (by code)." in r.output
    after = {c["code"]: c for c in records(testdb, "company", "code,name,employees")}
    assert after["C-2"]["id"] == before["C-2"]["id"] and after["C-2"]["name"] == "Globex Corp"
    assert after["C-2"]["employees"] == 20   # a blank cell leaves the value as it is
    assert after["C-1"] == before["C-1"] and after["C-3"]["employees"] == 5 and len(after) == 3


def test_upsert_by_reports_every_failing_row_and_saves_nothing(testdb, tmp_path):
    run("import", "company", csv(tmp_path, "c.csv", "name,code\nAcme,C-1\n"), "--database", testdb)
    r = run("import", "company",
            csv(tmp_path, "u.csv", "code,name,employees\nC-1,Acme 2,x\nC-9,New,1\n,Keyless,1\nC-9,Again,2\nC-8,,3\n"),
            "--upsert-by", "code", "--database", testdb)
    assert r.exit_code == 1, r.output
    assert "row 1 (line 2): employees: 'x' is not an integer" in r.output
    assert "row 3 (line 4): code: the key needs a value" in r.output
    assert "row 4 (line 5): code: duplicates row 2 (the same key)" in r.output
    assert "row 5 (line 6): name: is required" in r.output
    assert "row 2 (line 3)" not in r.output
    assert [(c["code"], c["name"]) for c in records(testdb, "company", "code,name")] == [("C-1", "Acme")]
    r = run("import", "company", csv(tmp_path, "n.csv", "name\nX\n"), "--upsert-by", "name", "--database", testdb)
    assert r.exit_code == 1 and "'name' is not a unique or external id field of company (those are: code)" in r.output
