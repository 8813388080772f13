"""`tessera import`'s options shared with the wizard (tessera.dataio): XLSX, --operation and
--match-field, --lookup-by, --mapping, --errors; bad files refused clearly. Both databases."""
from __future__ import annotations

import csv
import io
import json

from click.testing import CliRunner
from openpyxl import Workbook

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


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_xlsx_with_labels_update_and_lookup_by_name(testdb, tmp_path):
    book = Workbook()
    for row in [["Company Name", "Code", "Employees", "Founded"], ["Acme", "C-1", 10, None],
                ["Globex", "C-2", 20.0, None]]:
        book.active.append(row)
    book.save(tmp_path / "c.xlsx")
    r = run("import", "company", str(tmp_path / "c.xlsx"), "--database", testdb)
    assert r.exit_code == 0, r.output
    assert {c["name"]: c["employees"] for c in records(testdb, "company", "name,employees")} == {"Acme": 10, "Globex": 20}

    r = run("import", "company", write(tmp_path, "u.csv", "code,employees\nC-1,11\nC-3,5\n"), "--operation", "update",
            "--match-field", "code", "--database", testdb)
    assert r.exit_code == 1 and "row 2 (line 3): code: there is no company with code 'C-3' to update" in r.output
    r = run("import", "company", write(tmp_path, "u.csv", "code,employees\nC-1,11\n"), "--operation", "update",
            "--match-field", "code", "--database", testdb)
    assert r.exit_code == 0 and "1 company records: 0 created, 1 updated (by code)" in r.output

    r = run("import", "deal", write(tmp_path, "d.csv", "name,company\nOne,Globex\n"), "--lookup-by", "company=name",
            "--database", testdb)
    assert r.exit_code == 0, r.output
    globex = next(c["id"] for c in records(testdb, "company", "name") if c["name"] == "Globex")
    assert records(testdb, "deal", "company")[0]["company"] == globex
    r = run("import", "deal", write(tmp_path, "d.csv", "name,company\nTwo,Globex\n"), "--lookup-by", "company",
            "--database", testdb)
    assert r.exit_code == 2 and "expected LOOKUP=KEY" in r.output


def test_a_mapping_file_and_the_error_report(testdb, tmp_path):
    mapping = write(tmp_path, "m.json", json.dumps({"Firm": "name", "Staff": "employees", "Comment": None}))
    data = write(tmp_path, "c.csv", "Firm,Staff,Comment\nAcme,1,hello\n,x,bye\nInitech,-3,\n")
    errors = tmp_path / "errors.csv"
    r = run("import", "company", data, "--mapping", mapping, "--errors", str(errors), "--database", testdb)
    assert r.exit_code == 1 and "2 of 3 rows failed: nothing was imported" in r.output
    report = list(csv.reader(io.StringIO(errors.read_text(encoding="utf-8-sig"))))
    assert report[0] == ["row", "line", "column", "field", "message"]
    assert ["2", "3", "Firm", "name", "is required"] in report
    assert {(r[0], r[2]) for r in report[1:]} >= {("2", "Staff"), ("3", "Staff")}
    assert records(testdb, "company", "name") == []
    r = run("import", "company", data, "--mapping", write(tmp_path, "bad.json", "[1, 2]"), "--database", testdb)
    assert r.exit_code == 1 and "a mapping is an object" in r.output
    r = run("import", "company", data, "--mapping", write(tmp_path, "m.yaml", "Firm: name\nStaff: display\n"),
            "--database", testdb)
    assert r.exit_code == 1 and "company.display is read-only" in r.output
    assert "column 'Comment' matches no field of company" in r.output


def test_bad_files_are_refused_with_where(testdb, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"name\nAcme\nCaf\xe9\n")
    r = run("import", "company", str(bad), "--database", testdb)
    assert r.exit_code == 1 and "not UTF-8 text: byte 0xE9 at line 3, column 4" in r.output
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"name\nAcme\n")
    r = run("import", "company", str(fake), "--database", testdb)
    assert r.exit_code == 1 and "not an XLSX file" in r.output
    r = run("import", "company", write(tmp_path, "c.txt", "name\nAcme\n"), "--database", testdb)
    assert r.exit_code == 1 and "expected a .csv or .xlsx file" in r.output
    r = run("import", "company", write(tmp_path, "c.txt", "name\nAcme\n"), "--format", "csv", "--database", testdb)
    assert r.exit_code == 0, r.output
