"""The import engine (tessera.dataio) through its service interface, on both databases: reading CSV
and XLSX within limits, the column mapping, insert / update / upsert, lookups by name or key, all or
nothing with a per-row error report; the wizard's job (run_import) and the org data export job."""
from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from openpyxl import Workbook

from tessera.dataio import engine, jobs, mapping, org_export, runs, sources
from tessera.security.actor import SYSTEM


@pytest.fixture
def admin(services):
    return services.identity.actor_for_user(services.identity.find_user("admin"))


@pytest.fixture
def rep(services):
    services.identity.create_user("rep", password="orchid-lantern-42", profile="tp_rep")
    return services.identity.actor_for_user(services.identity.find_user("rep"))


def sheet_of(text: str) -> sources.Sheet:
    return sources.read_table(text.encode("utf-8"), "csv")


def do_import(services, actor, object_name, text, operation="insert", match_field=None, lookup_key="name",
              overrides=None):
    sheet = sheet_of(text)
    rt = services.records.runtime()
    access = rt.security.access_for(actor)
    m = mapping.auto_map(rt, access, object_name, sheet.headers, lookup_key=lookup_key)
    m.update(overrides or {})
    mapping.check(rt, access, object_name, sheet.headers, m, operation=operation, match_field=match_field)
    return engine.run(services, actor, sheet, engine.Spec(object_name, m, operation, match_field))


def names(services, object_name, fields="name"):
    return services.records.query(SYSTEM, object_name, fields=fields, limit=1000).records


def xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_columns_match_fields_by_label_or_name_ignoring_case_and_spaces(services, admin):
    rt = services.records.runtime()
    access = rt.security.access_for(admin)
    got = mapping.auto_map(rt, access, "company", ["COMPANY NAME", "code", "Employees ", "Parent", "nonsense",
                                                   "parent.code"])
    assert got == {"COMPANY NAME": "name", "code": "code", "Employees ": "employees", "Parent": "parent.name",
                   "nonsense": "", "parent.code": "parent.code"}
    assert mapping.auto_map(rt, access, "deal", ["Company"], lookup_key="")["Company"] == "company"


def test_insert_with_lookups_by_name_and_by_external_id(services, admin):
    assert do_import(services, admin, "company", "Company Name,code\nAcme,C-1\nGlobex,C-2\n").ok
    out = do_import(services, admin, "deal", "name,Company,amount\nOne,Acme,10\nTwo,Globex,\nThree,,5\n")
    assert out.ok and len(out.created) == 3
    ids = {c["name"]: c["id"] for c in names(services, "company")}
    assert {d["name"]: d["company"] for d in names(services, "deal", "name,company")} == {
        "One": ids["Acme"], "Two": ids["Globex"], "Three": None}
    out = do_import(services, admin, "deal", "name,company.code\nFour,C-2\n")
    assert out.ok and names(services, "deal", "name,company")[-1]["company"] == ids["Globex"]


def test_a_name_two_records_share_is_an_error_of_that_row(services, admin):
    do_import(services, admin, "company", "name\nAcme\nAcme\nGlobex\n")
    out = do_import(services, admin, "deal", "name,company\nOne,Globex\nTwo,Acme\nThree,Nobody\n")
    assert [(e.row, e.line, e.column, e.field) for e in out.errors] == [(2, 3, "company", "company"),
                                                                       (3, 4, "company", "company")]
    assert "more than one company has name 'Acme'" in out.errors[0].message
    assert "there is no company with name 'Nobody'" in out.errors[1].message
    assert names(services, "deal") == []          # all or nothing


def test_update_needs_every_key_and_upsert_creates_the_others(services, admin):
    do_import(services, admin, "company", "name,code,employees\nAcme,C-1,10\nGlobex,C-2,20\n")
    out = do_import(services, admin, "company", "code,employees\nC-1,11\nC-9,99\n", "update", "code")
    assert [(e.row, e.column, e.message) for e in out.errors] == [
        (2, "code", "there is no company with code 'C-9' to update")]
    assert {c["code"]: c["employees"] for c in names(services, "company", "code,employees")} == {"C-1": 10, "C-2": 20}
    out = do_import(services, admin, "company", "code,employees\nC-1,11\nC-2,21\n", "update", "code")
    assert out.ok and len(out.updated) == 2 and not out.created
    out = do_import(services, admin, "company", "code,name,employees\nC-2,,22\nC-3,Initech,3\n", "upsert", "code")
    assert out.ok and len(out.updated) == 1 and len(out.created) == 1
    assert {c["code"]: (c["name"], c["employees"]) for c in names(services, "company", "code,name,employees")} == {
        "C-1": ("Acme", 11), "C-2": ("Globex", 22), "C-3": ("Initech", 3)}


def test_every_failing_row_is_reported_and_nothing_is_saved(services, admin):
    out = do_import(services, admin, "company", "name,employees,industry\nOk,1,Energy\n,x,Mining\nFine,-4,\n")
    assert not out.created and names(services, "company") == []
    report = list(csv.reader(io.StringIO(engine.errors_csv(out.errors).decode("utf-8-sig"))))
    assert report[0] == ["row", "line", "column", "field", "message"]
    got = {(r[0], r[2]) for r in report[1:]}
    assert {("2", "name"), ("2", "employees"), ("2", "industry"), ("3", "employees")} <= got


def test_the_mapping_is_refused_for_fields_the_user_may_not_read_or_set(services, rep):
    rt = services.records.runtime()
    access = rt.security.access_for(rep)
    headers = ["name", "code", "revenue", "display", "extra"]
    with pytest.raises(mapping.MappingError) as refused:
        mapping.check(rt, access, "company", headers, {"name": "name", "code": "code", "revenue": "revenue",
                                                        "display": "display", "extra": "nosuch"})
    problems = "\n".join(refused.value.problems)
    assert "column 'code': you cannot read company.code" in problems
    assert "column 'revenue': company.revenue is read-only for you" in problems
    assert "column 'display': company.display is read-only (a formula field is not imported)" in problems
    assert "column 'extra': 'nosuch' is not a field of company" in problems
    with pytest.raises(mapping.MappingError, match="column 'extra' matches no field of company"):
        mapping.check(rt, access, "company", ["name", "extra"], {"name": "name"})
    with pytest.raises(mapping.MappingError, match="you cannot look up company records by code"):
        mapping.check(rt, access, "deal", ["name", "c"], {"name": "name", "c": "company.code"})
    assert "code" not in mapping.auto_map(rt, access, "company", ["code"]).values()


def test_bad_files_are_refused_with_where_they_went_wrong():
    with pytest.raises(sources.InputError, match=r"not UTF-8 text: byte 0xE9 at line 3, column 4 \(byte 23"):
        sources.read_table(b"name,code\nAcme,C-1\nCaf\xe9,C-2\n", "csv")
    with pytest.raises(sources.InputError, match="the file is 31 bytes: an import takes at most 10"):
        sources.read_table(b"name\n" + b"x" * 26, "csv", sources.Limits(max_bytes=10))
    with pytest.raises(sources.InputError, match="more than 2 rows"):
        sources.read_table(b"name\na\nb\nc\n", "csv", sources.Limits(max_rows=2))
    with pytest.raises(sources.InputError, match="line 3 has more values than the header"):
        sources.read_table(b"name\na\nb,c\n", "csv")
    with pytest.raises(sources.InputError, match="empty column name"):
        sources.read_table(b"name,,x\na,b,c\n", "csv")
    with pytest.raises(sources.InputError, match="not an XLSX file"):
        sources.read_table(b"name\nAcme\n", "xlsx")


def test_xlsx_is_read_as_text_and_bombs_are_refused_unopened():
    sheet = sources.read_table(xlsx([["Name", "Employees", "Founded"], ["Acme", 12, None], [None, None, None],
                                     ["Globex", 1.5, "2020-01-02"]]), "xlsx")
    assert sheet.headers == ["Name", "Employees", "Founded"]
    assert sheet.rows == [["Acme", "12", ""], ["Globex", "1.5", "2020-01-02"]] and sheet.lines == [2, 4]
    # a sheet declaring a million rows × 100 columns: refused by its <dimension> before reading rows
    declared = _with_dimension(xlsx([["name"], ["a"]]), "A1:CV1000000")
    with pytest.raises(sources.InputError, match="declares 1,000,000 rows × 100 columns"):
        sources.read_table(declared, "xlsx")
    # a zip bomb: 150 MB of zeros deflated to ~150 kB
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (150 * 1024 * 1024))
    with pytest.raises(sources.InputError, match="refused as a zip bomb"):
        sources.read_table(bomb.getvalue(), "xlsx")
    with pytest.raises(sources.InputError, match="unpacks to"):
        sources.read_table(bomb.getvalue(), "xlsx", sources.Limits(max_unzipped=1024 * 1024))
    # rows beyond the limit though the dimension is missing: counted while reading
    many = _with_dimension(xlsx([["name"]] + [[f"n{i}"] for i in range(50)]), None)
    with pytest.raises(sources.InputError, match="more than 20 rows"):
        sources.read_table(many, "xlsx", sources.Limits(max_rows=20))


def _with_dimension(data: bytes, ref: str | None) -> bytes:
    """The workbook with its sheet's <dimension ref> replaced (None: removed)."""
    import re
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                body = re.sub(rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>'.encode() if ref else b"", body)
            dst.writestr(item, body)
    return out.getvalue()


def test_the_wizard_job_imports_all_or_nothing_and_keeps_the_error_report(services, admin):
    text = b"Company Name,Employees\nAcme,1\nGlobex,x\n"
    sheet = sources.read_table(text, "csv")
    run_id = runs.create(services.engine, admin.user_id, "company", "c.csv", "csv", text, sheet.headers, len(sheet))
    runs.save_choices(services.engine, run_id, {"Company Name": "name", "Employees": "employees"}, "insert", None)
    assert runs.queue(services.engine, run_id) and not runs.queue(services.engine, run_id)
    jobs.run_import(services, run_id)
    got = runs.get(services.engine, run_id, admin.user_id)
    assert got["status"] == "failed" and got["error_count"] == 1 and got["created"] == 0
    assert "Globex" not in [c["name"] for c in names(services, "company")]
    report = runs.errors_file(services.engine, run_id, admin.user_id).decode("utf-8-sig")
    assert "3,Employees,employees,'x' is not an integer" in report

    text = b"Company Name,Employees\nAcme,1\nGlobex,2\n"
    run_id = runs.create(services.engine, admin.user_id, "company", "c.csv", "csv", text, sheet.headers, 2)
    runs.save_choices(services.engine, run_id, {"Company Name": "name", "Employees": "employees"}, "insert", None)
    runs.queue(services.engine, run_id)
    jobs.run_import(services, run_id)
    jobs.run_import(services, run_id)             # a second delivery of the job does nothing
    got = runs.get(services.engine, run_id, admin.user_id)
    assert (got["status"], got["created"]) == ("done", 2)
    assert sorted(c["name"] for c in names(services, "company")) == ["Acme", "Globex"]
    assert runs.get(services.engine, run_id, _other_user(services)) is None   # only its owner sees it


def _other_user(services):
    import uuid
    return uuid.uuid4()


def test_org_export_is_for_admins_and_zips_every_object_with_the_metadata(services, admin, rep):
    from tessera.security import audit
    do_import(services, admin, "company", "name,code,tags\nAcme,C-1,partner;customer\n=cmd,C-2,\n")
    with pytest.raises(org_export.ExportRefused):
        org_export.request(services, rep)
    export_id = org_export.request(services, admin)
    assert audit.entries(services.engine, action="data.export")[0]["subject"] == f"data export {export_id}"
    org_export.run(services, export_id)
    assert org_export.get(services.engine, export_id, admin.user_id)["status"] == "done"
    assert org_export.download(services.engine, export_id, rep.user_id) is None
    archive = zipfile.ZipFile(io.BytesIO(org_export.download(services.engine, export_id, admin.user_id)))
    names_in = archive.namelist()
    assert {"data/company.csv", "data/deal.csv", "data/user.csv", "manifest.json"} <= set(names_in)
    assert any(n.startswith("metadata/") for n in names_in)
    rows = list(csv.DictReader(io.StringIO(archive.read("data/company.csv").decode("utf-8"))))
    assert sorted((r["name"], r["code"], r["tags"]) for r in rows) == [("'=cmd", "C-2", ""),
                                                                        ("Acme", "C-1", "partner;customer")]
    assert json.loads(archive.read("manifest.json"))["records"]["company"] == 2


def test_a_dead_import_job_marks_the_import_failed(services, admin):
    from tessera.automation.handlers import JobContext
    text = b"name\nAcme\n"
    run_id = runs.create(services.engine, admin.user_id, "company", "c.csv", "csv", text, ["name"], 1)
    runs.save_choices(services.engine, run_id, {"name": "name"}, "insert", None)
    broken = type("Broken", (), {"engine": services.engine, "identity": None})()   # identity missing: raises
    last = JobContext(job_id=1, kind=runs.JOB_KIND, queue="default", attempt=3, max_attempts=3,
                      idempotency_key="k", version=None, services=broken)
    with pytest.raises(AttributeError):
        jobs.import_job({"import": run_id}, last)
    got = runs.get(services.engine, run_id, admin.user_id)
    assert got["status"] == "failed" and "the import job failed (AttributeError)" in got["message"]
    assert names(services, "company") == []
