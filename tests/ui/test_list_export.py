"""Export of a list view to CSV and XLSX (web/ui/views_export.py, analytics/tabular_export.py): the
visible columns, every row of the current filter in its sort (more than one record-service page),
CSV as shown and XLSX typed, formula injection neutralised, the export_data permission, the row cap."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook

from tessera.analytics.tabular_export import TabularColumn, csv_chunks, neutralise, xlsx_bytes
from tessera.web.ui import views_export

COLS = "name,industry,revenue,employees,founded,active,response_time,parent"


@pytest.fixture
def companies(make_record):
    parent = make_record("company", {"name": "Holding", "industry": "Banking", "revenue": 9_000_000})
    rows = [{"name": "=HYPERLINK(\"http://evil.example\",\"x\")", "industry": "Energy", "revenue": -12.5},
            {"name": "Ünïcode & Co", "industry": "Retail", "revenue": 1234.5, "employees": 1200,
             "founded": "2001-04-05", "active": True, "response_time": 5400, "parent": parent["id"]},
            {"name": "+plus", "industry": "Energy"}, {"name": "@at"}, {"name": "-minus"}]
    return [parent] + [make_record("company", r) for r in rows]


def parse_csv(body: bytes) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")            # Excel reads UTF-8 only with the BOM
    return list(csv.reader(io.StringIO(text[1:])))


def test_csv_has_visible_columns_formatted_rows_in_sort_and_neutralised_formulas(admin, companies):
    r = admin.get(f"/app/testapp/company/export.csv?cols={COLS}&sort=name")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"].startswith('attachment; filename="company-')
    rows = parse_csv(r.get_data())
    assert rows[0] == ["Company Name", "Industry", "Revenue", "Employees", "Founded", "Active", "Response Time",
                       "Parent"]
    by_name = {row[0]: row for row in rows[1:]}
    assert [row[0] for row in rows[1:]] == sorted(by_name)   # the list's sort (all names are text)
    assert by_name["'=HYPERLINK(\"http://evil.example\",\"x\")"][2] == "-$12.50"   # an amount stays a number
    assert {"'+plus", "'@at", "'-minus"} <= set(by_name)
    assert by_name["Ünïcode & Co"] == ["Ünïcode & Co", "Retail", "$1,234.50", "1,200", "Apr 5, 2001", "Yes", "1h 30m",
                                      "Holding"]
    # a search and a quick filter export exactly the list's rows
    rows = parse_csv(admin.get("/app/testapp/company/export.csv?cols=name&f.industry=Energy&q=plus").get_data())
    assert rows == [["Company Name"], ["'+plus"]]


def test_xlsx_cells_are_typed(admin, companies):
    r = admin.get(f"/app/testapp/company/export.xlsx?cols={COLS},last_contacted&sort=-revenue")
    assert r.status_code == 200
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ws = load_workbook(io.BytesIO(r.get_data())).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("Company Name", "Industry", "Revenue")
    assert [row[2] for row in rows[1:4]] == [9_000_000, 1234.5, -12.5]          # sorted, numbers
    uni = next(row for row in rows if row[0] == "Ünïcode & Co")
    assert uni[3] == 1200 and uni[4] == datetime(2001, 4, 5) and uni[5] is True
    assert uni[6] == timedelta(seconds=5400) and uni[7] == "Holding"
    formula = next(c for c in ws[2] + ws[3] + ws[4] + ws[5] + ws[6] if str(c.value).startswith("=HYPERLINK"))
    assert formula.data_type == "s"                                             # text, never a formula
    assert ws["C2"].number_format == '"$"#,##0.00'


def test_export_pages_through_every_row(admin, make_record, monkeypatch):
    monkeypatch.setattr(views_export, "EXPORT_PAGE", 7)
    for i in range(30):
        make_record("company", {"name": f"Co {i:02d}", "employees": i})
    rows = parse_csv(admin.get("/app/testapp/company/export.csv?cols=name,employees&sort=-employees").get_data())
    assert [r[0] for r in rows[1:]] == [f"Co {i:02d}" for i in reversed(range(30))]


def test_export_needs_the_export_data_permission(login, admin, companies):
    rep = login("rep")                                   # tp_rep: no export_data
    html = rep.html("/app/testapp/company")
    assert 'id="export-csv"' not in html and 'id="export-xlsx"' not in html
    for fmt in ("csv", "xlsx"):
        r = rep.get(f"/app/testapp/company/export.{fmt}")
        assert r.status_code == 403 and "Export Data" in r.get_data(as_text=True)
    assert 'id="export-csv"' in admin.html("/app/testapp/company")
    assert admin.get("/app/testapp/company/export.pdf").status_code == 404


def test_export_over_the_cap_is_refused_with_a_message(app, admin, companies):
    app.config["TESSERA_EXPORT_MAX_ROWS"] = 3
    r = admin.get("/app/testapp/company/export.xlsx?cols=name")            # 6 companies
    assert r.status_code == 303 and r.headers["Location"].endswith("/app/testapp/company?cols=name")
    html = admin.html(r.headers["Location"])
    assert "This view has 6 companies: an export holds at most 3" in html and "Narrow it" in html
    assert admin.get("/app/testapp/company/export.csv?f.industry=Energy").status_code == 200   # 2 rows: fine


def test_the_writer_on_its_own():
    assert neutralise("=1+1") == "'=1+1" and neutralise("\tx") == "'\tx" and neutralise("a=b") == "a=b"
    cols = [TabularColumn("Name"), TabularColumn("Amount", user_text=False, number_format="#,##0.00")]
    text = "".join(csv_chunks(cols, [["-x", "-5.00"], [None, "1.00"]]))
    assert text == "\ufeffName,Amount\r\n'-x,-5.00\r\n,1.00\r\n"
    ws = load_workbook(io.BytesIO(xlsx_bytes(cols, [["=cmd|' /C calc'!A0\x01", 5], ["ok", None]], "A/B: c"))).active
    assert ws.title == "A B  c" and ws["A2"].value == "=cmd|' /C calc'!A0" and ws["A2"].data_type == "s"
    assert ws["B2"].value == 5 and ws["B2"].number_format == "#,##0.00" and ws["B3"].value is None
    with pytest.raises(ValueError, match="time zone"):
        xlsx_bytes(cols, [[datetime.now(timezone.utc), 1]])
