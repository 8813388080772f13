"""`tessera currency list | rates | set-rate` and importing records of a multi-currency object with a
currency_code column. Both databases."""
from __future__ import annotations

import pytest
import yaml

from test_import_natural_keys import csv, records, run


@pytest.fixture
def fxdb(testdb, tmp_path):
    org = tmp_path / "org"
    (org / "settings").mkdir(parents=True)
    (org / "objects").mkdir()
    (org / "settings" / "org.yaml").write_text(yaml.safe_dump({
        "name": "org", "corporate_currency": "EUR",
        "currencies": [{"code": "USD"}, {"code": "CHF", "label": "Swiss franc", "active": False}]}))
    (org / "objects" / "deal.yaml").write_text(yaml.safe_dump({"extends": "deal", "multi_currency": True}))
    r = run("apply", str(org), "--database", testdb)
    assert r.exit_code == 0, r.output
    return testdb


def test_set_and_list_rates(fxdb):
    r = run("currency", "set-rate", "USD", "1.08", "--from", "2026-01-01", "--database", fxdb)
    assert r.exit_code == 0, r.output
    assert "USD from 2026-01-01: 1.08 (set)" in r.output
    r = run("currency", "list", "--on", "2026-02-01", "--database", fxdb)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines == ["EUR  Euro  1  (corporate)", "USD  US Dollar  1.08", "CHF  Swiss franc  no rate  (inactive)"]
    r = run("currency", "rates", "USD", "--database", fxdb)
    assert r.output.splitlines() == ["USD  from 2026-01-01  1.08"]


@pytest.mark.parametrize("args, message", [
    (("set-rate", "GBP", "1"), "error: code: 'GBP' is not one of the org's currencies"),
    (("set-rate", "USD", "zero"), "error: rate: 'zero' is not a number"),
    (("set-rate", "USD", "1", "--from", "tomorrow"), "error: effective_from: 'tomorrow' is not a date"),
    (("list", "--on", "2026-02-30"), "error: --on: '2026-02-30' is not a date"),
    (("rates", "XXX"), "error: 'XXX' is not one of the org's currencies"),
])
def test_bad_input_is_an_error_and_nothing_is_stored(fxdb, args, message):
    r = run("currency", *args, "--database", fxdb)
    assert r.exit_code != 0 and message in r.output, r.output
    assert run("currency", "rates", "--database", fxdb).output.strip() == "no rates"


def test_import_takes_a_currency_column_and_defaults_to_the_corporate_currency(fxdb, tmp_path):
    r = run("import", "deal", csv(tmp_path, "d.csv", "name,amount,currency_code\nA,10,USD\n"), "--database", fxdb)
    assert r.exit_code == 0, r.output
    r = run("import", "deal", csv(tmp_path, "e.csv", "name,amount\nB,20\n"), "--database", fxdb)
    assert r.exit_code == 0, r.output
    assert {d["name"]: d["currency_code"] for d in records(fxdb, "deal", "name,currency_code")} == {
        "A": "USD", "B": "EUR"}
    r = run("import", "deal", csv(tmp_path, "bad.csv", "name,currency_code\nC,CHF\n"), "--database", fxdb)
    assert r.exit_code != 0 and "CHF is not an active currency" in r.output, r.output
