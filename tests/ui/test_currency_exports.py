"""Amounts of a multi-currency object are exported in their record's currency (issue 14 §1): list
views, report pages and `tessera report run` write a "<field> Currency" column with the record's
ISO code before each such amount (as Salesforce's report exports do), and say which currency
converted summaries are in. Both databases."""
from __future__ import annotations

import csv
import io

from click.testing import CliRunner
from openpyxl import load_workbook

from tessera.cli import _register, cli

_register() if not cli.commands else None


def apply(services):
    components = {
        "settings": {"org": {"source": "settings/org.yaml", "doc": {
            "name": "org", "corporate_currency": "EUR", "currencies": [{"code": "EUR"}, {"code": "JPY"}]}}},
        "objects": {"deal": {"source": "objects/deal.yaml", "doc": {"extends": "deal", "multi_currency": True}}},
        "reports": {"deal_amounts": {"source": "reports/deal_amounts.yaml", "doc": {
            "name": "deal_amounts", "label": "Deal amounts", "object": "deal", "columns": ["name", "amount"],
            "sort": ["name"], "summaries": ["sum:amount"]}}}}
    services.changes.apply_org({"manifest": None, "components": components}, author="test", message="fx")


def deals(api):
    for name, amount, code in (("Osaka", 5000, "JPY"), ("Paris", 1200.5, "EUR")):
        assert api.post("/api/v1/records/deal", json={"name": name, "amount": amount,
                                                      "currency_code": code}).status_code == 201


def read_csv(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8").lstrip("\ufeff"))))


def test_list_export_writes_each_amounts_currency_code_before_it(services, admin, api):
    apply(services)
    deals(api)
    r = admin.get("/app/testapp/deal/export.csv?cols=name,amount&sort=name")
    assert r.status_code == 200
    header, *rows = read_csv(r.get_data())
    assert header[1:] == ["Amount Currency", "Amount"]
    assert rows == [["Osaka", "JPY", "¥5,000"], ["Paris", "EUR", "€1,200.50"]]
    r = admin.get("/app/testapp/deal/export.xlsx?cols=name,amount&sort=name")
    sheet = load_workbook(io.BytesIO(r.get_data())).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][1:] == ["Amount Currency", "Amount"]
    assert [r[1:] for r in rows[1:]] == [["JPY", 5000], ["EUR", 1200.5]]
    assert sheet["C2"].number_format.startswith('"¥"')     # typed number, shown in its own currency


def test_report_export_and_cli_write_the_code_and_name_the_corporate_currency(services, admin, api, db_url):
    apply(services)
    deals(api)
    page = admin.html("/app/testapp/reports/deal_amounts")
    assert "¥5,000" in page and "€1,200.50" in page
    r = admin.get("/app/testapp/reports/deal_amounts/export.csv")
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    rows = read_csv(r.get_data())
    assert rows[0][1:] == ["Amount Currency", "Amount", "Sum of amount (EUR)"]
    assert [row[1:3] for row in rows[1:3]] == [["JPY", "5000.0"], ["EUR", "1200.5"]]
    out = CliRunner().invoke(cli, ["report", "run", "deal_amounts", "--database", db_url], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert read_csv(out.output.encode())[:3] == rows[:3]


def test_the_org_data_export_keeps_the_currency_code_column(services, api):
    import zipfile
    from tessera.dataio import org_export
    apply(services)
    deals(api)
    admin_actor = services.identity.actor_for_user(services.identity.find_user("admin"))
    with zipfile.ZipFile(io.BytesIO(org_export.build(services, admin_actor))) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("data/deal.csv").decode("utf-8"))))
    assert sorted((r["name"], r["currency_code"], r["amount"]) for r in rows) == [
        ("Osaka", "JPY", "5000.0"), ("Paris", "EUR", "1200.5")]
