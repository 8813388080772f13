"""`tessera import` of a related_to column (issue 16 §4): with the header `related_to.name` (or
`--lookup-by related_to=name`) a cell names the object and then the record — `company:Acme` by its
name field, `company.code:C-2` by another key, `company:<id>` by id — and a cell naming no record,
an object the field does not take, no object at all or a key that is no key is an error of its row,
nothing saved. Both databases."""
from __future__ import annotations

from tessera.security.actor import SYSTEM
from tessera.services import Services

from test_import_natural_keys import csv, run


def _with_services(db_url, work):
    svc = Services.open(db_url, poll_seconds=0)
    try:
        return work(svc)
    finally:
        svc.engine.dispose()


def tasks(db_url):
    return {t["subject"]: t["related_to"] for t in _with_services(db_url, lambda svc: svc.records.query(
        SYSTEM, "task", fields="subject,related_to", limit=1000).records)}


def _seed(db_url):
    def seed(svc):
        acme = svc.records.create(SYSTEM, "company", {"name": "Acme", "code": "C-1"})
        globex = svc.records.create(SYSTEM, "company", {"name": "Globex", "code": "C-2"})
        big = svc.records.create(SYSTEM, "deal", {"name": "Big deal", "company": acme["id"]})
        return acme, globex, big
    return _with_services(db_url, seed)


def test_related_to_cells_name_their_object_and_record(testdb, tmp_path):
    acme, globex, big = _seed(testdb)
    data = ("subject,related_to.name\n"
            "By name,company:Acme\n"
            "By code,company.code:C-2\n"
            "A deal,deal: Big deal \n"
            f"By id,company:{acme['id']}\n"
            "Nothing,\n")
    r = run("import", "task", csv(tmp_path, "t.csv", data), "--database", testdb)
    assert r.exit_code == 0, r.output
    assert "Imported 5 task records." in r.output
    found = tasks(testdb)
    assert found["By name"]["object"] == "company" and found["By name"]["id"] == acme["id"]
    assert found["By code"]["id"] == globex["id"] and found["By code"]["name"] == "Globex"
    assert found["A deal"] == {"object": "deal", "id": big["id"], "name": "Big deal"}
    assert found["By id"]["id"] == acme["id"] and found["Nothing"] is None

    # a plain related_to header, matched by name through --lookup-by
    r = run("import", "task", csv(tmp_path, "t2.csv", "subject,related_to\nLookup-by,company:Globex\n"),
            "--lookup-by", "related_to=name", "--database", testdb)
    assert r.exit_code == 0, r.output
    assert tasks(testdb)["Lookup-by"]["id"] == globex["id"]
    # without it a related_to column takes record ids, as the API's text form
    r = run("import", "task", csv(tmp_path, "t3.csv", "subject,related_to\nNot an id,company:Globex\n"),
            "--database", testdb)
    assert r.exit_code == 1 and "'Globex' is not a record id" in r.output


def test_each_bad_cell_is_an_error_of_its_row_and_nothing_is_saved(testdb, tmp_path):
    _seed(testdb)
    data = ("subject,related_to.name\n"
            "Fine,company:Acme\n"
            "Missing,company:Nobody\n"
            "Not allowed,memo:Plan\n"
            "No object,Acme\n"
            "Not a key,company.industry:Energy\n"
            "Unknown object,planet:Mars\n")
    errors = tmp_path / "errors.csv"
    r = run("import", "task", csv(tmp_path, "bad.csv", data), "--errors", str(errors), "--database", testdb)
    assert r.exit_code == 1
    assert "5 of 6 rows failed: nothing was imported" in r.output
    assert "row 2 (line 3): related_to: there is no company with name 'Nobody'" in r.output
    assert "row 3 (line 4): related_to: cannot refer to a memo record (it takes one of:" in r.output
    assert "row 4 (line 5): related_to: names no object: expected" in r.output and "account:Acme Corp" in r.output
    assert "row 5 (line 6): related_to: 'industry' is not an external id or unique name field of company" in r.output
    assert "row 6 (line 7): related_to: cannot refer to a planet record" in r.output
    assert "related_to.name,related_to,there is no company with name 'Nobody'" in errors.read_text(encoding="utf-8-sig")
    assert tasks(testdb) == {}
    # a mapping to another key of a related_to is refused before any row is read
    r = run("import", "task", csv(tmp_path, "m.csv", "subject,related_to.code\nX,company:C-1\n"), "--database", testdb)
    assert r.exit_code == 1 and "a related_to column is mapped as 'related_to.name'" in r.output


def test_help_documents_the_format():
    r = run("import", "--help")
    assert r.exit_code == 0
    text = " ".join(r.output.split())
    assert "related_to.name" in text and "account:Acme Corp" in text and "account.code:C-17" in text
