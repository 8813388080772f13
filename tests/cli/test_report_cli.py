"""`tessera report list | run NAME [--format csv|xlsx|json] [--as USER]` on a report of the org layer.
Both databases."""
from __future__ import annotations

import io
import json

import openpyxl
import pytest
import yaml

from tessera.security.actor import SYSTEM
from tessera.services import Services
from test_import_natural_keys import run

DEALS = [("A", 100, "New"), ("B", 50.5, "New"), ("C", 7, "Closed"), ("D", None, "Working"),
         ("=HYPERLINK(\"http://x\")", 1, "Working")]


@pytest.fixture
def reportdb(testdb, tmp_path):
    org = tmp_path / "org"
    (org / "reports").mkdir(parents=True)
    (org / "reports" / "deals_by_stage.yaml").write_text(yaml.safe_dump({
        "name": "deals_by_stage", "label": "Deals by stage", "object": "deal", "format": "summary",
        "groupings": ["stage"], "summaries": ["count", {"metric": "sum:amount", "label": "Amount"}]}))
    (org / "reports" / "deal_list.yaml").write_text(yaml.safe_dump({
        "name": "deal_list", "object": "deal", "columns": ["name", "amount"], "sort": ["name"],
        "summaries": ["sum:amount"]}))
    r = run("apply", str(org), "--database", testdb)
    assert r.exit_code == 0, r.output
    svc = Services.open(testdb, poll_seconds=0)
    try:
        for name, amount, stage in DEALS:
            svc.records.create(SYSTEM, "deal", {"name": name, "amount": amount, "stage": stage})
    finally:
        svc.engine.dispose()
    return testdb


def test_list_and_run_as_json(reportdb):
    r = run("report", "list", "--database", reportdb)
    assert r.exit_code == 0 and r.output.splitlines() == [   # the core package ships "my open tasks"
        "deal_list  deal  tabular", "deals_by_stage  deal  summary  Deals by stage",
        "my_open_tasks  task  tabular  My Open Tasks"]
    r = run("report", "run", "deals_by_stage", "--format", "json", "--database", reportdb)
    assert r.exit_code == 0, r.output
    body = json.loads(r.output)
    assert {g["key"]["stage"]: g["values"] for g in body["groups"]} == {
        "New": {"count": 2, "sum:amount": 150.5}, "Closed": {"count": 1, "sum:amount": 7.0},
        "Working": {"count": 2, "sum:amount": 1.0}}
    assert body["total"] == {"count": 5, "sum:amount": 158.5}


def test_run_as_csv_and_xlsx(reportdb, tmp_path):
    r = run("report", "run", "deals_by_stage", "--filter", "amount > 10", "--database", reportdb)
    assert r.exit_code == 0, r.output
    assert r.output.lstrip("\ufeff").splitlines() == ["Stage,Record count,Amount", "New,2,150.5", "Grand total,2,150.5"]
    out = tmp_path / "deals.xlsx"
    r = run("report", "run", "deals_by_stage", "--format", "xlsx", "-o", str(out), "--database", reportdb)
    assert r.exit_code == 0, r.output
    sheet = openpyxl.load_workbook(io.BytesIO(out.read_bytes())).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["Stage", "Record count", "Amount"] and rows[-1] == ["Grand total", 5, 158.5]


def test_a_tabular_export_neutralises_formulas_and_keeps_numbers(reportdb):
    r = run("report", "run", "deal_list", "--database", reportdb)
    assert r.exit_code == 0, r.output
    lines = r.output.lstrip("\ufeff").splitlines()
    assert lines[0] == "Name,Amount,Sum of amount"
    assert lines[1] == '"\'=HYPERLINK(""http://x"")",1.0,'      # text that a spreadsheet would run: prefixed
    assert lines[-1] == "Grand total,,158.5"


@pytest.mark.parametrize("args, message", [
    (("run", "nosuch"), "error: there is no report 'nosuch'"),
    (("run", "deals_by_stage", "--as", "nobody"), "error: there is no active user 'nobody'"),
    (("run", "deals_by_stage", "--format", "xlsx"), "error: --format xlsx writes a file"),
    (("run", "deals_by_stage", "--filter", "nosuch > 1"), "error: filter:"),
])
def test_bad_input_is_an_error_message(reportdb, args, message):
    r = run("report", *args, "--database", reportdb)
    assert r.exit_code != 0 and message in r.output, r.output
