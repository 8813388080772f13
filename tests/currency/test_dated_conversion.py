"""Conversion at a record's date (issue 14 §1, dated exchange rates): an object declaring
`conversion_date` (a date field, like an opportunity's close date in Salesforce's advanced currency
management) has its amounts converted to the corporate currency in aggregates, reports and roll-ups
at the rates in effect on each record's date — a record without that date, and objects without the
property, at today's. Both databases."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from tessera.meta.errors import MetadataInvalid
from tessera.security.actor import SYSTEM

TODAY = date.today()


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def apply(services, *, deal=None, item=None):
    def ext(name, doc):
        return {"source": f"objects/{name}.yaml", "doc": {"extends": name, **doc}}
    components = {
        "settings": {"org": {"source": "settings/org.yaml", "doc": {
            "name": "org", "corporate_currency": "EUR", "currencies": [{"code": "EUR"}, {"code": "USD"}]}}},
        "objects": {
            "deal": ext("deal", {"multi_currency": True, **(deal or {}), "fields": {
                "items_total": {"type": "rollup", "object": "deal_item", "relationship": "deal",
                                "function": "sum", "field": "price"}}}),
            "deal_item": ext("deal_item", {"multi_currency": True, **(item or {}), "fields": {
                "price": {"type": "currency"}, "delivered_on": {"type": "date"}}})},
        "reports": {"deal_totals": {"source": "reports/deal_totals.yaml", "doc": {
            "name": "deal_totals", "object": "deal", "format": "summary", "groupings": ["stage"],
            "summaries": ["sum:amount"]}}}}
    services.changes.apply_org({"manifest": None, "components": components}, author="test", message="fx")


@pytest.fixture
def rates(services, api):
    apply(services, deal={"conversion_date": "close_date"}, item={"conversion_date": "delivered_on"})
    for since, rate in ((-500, "2"), (-100, "4"), (20, "10")):      # 1 EUR buys … USD from that day
        assert api.put(f"/api/v1/currency-rates/USD/{day(since)}", json={"rate": rate}).status_code == 201
    return services


def total(api, object_name="deal", metric="sum:amount", **query):
    [group] = api.get(f"/api/v1/records/{object_name}/aggregate", query_string={"metrics": metric, **query}).json["groups"]
    value = group["values"][metric]
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def test_each_deal_converts_at_the_rates_of_its_close_date(rates, api, services):
    for name, close in (("Old", day(-400)), ("Recent", day(-10)), ("Undated", None)):
        made = api.post("/api/v1/records/deal", json={"name": name, "amount": 100, "currency_code": "USD",
                                                      "close_date": close})
        assert made.status_code == 201, made.json
    assert total(api, filter="name == 'Old'") == Decimal("50.00")        # at 2
    assert total(api, filter="name == 'Recent'") == Decimal("25.00")     # at 4
    assert total(api, filter="name == 'Undated'") == Decimal("25.00")    # no date: today's rate (4)
    future = api.post("/api/v1/records/deal", json={"name": "Future", "amount": 100, "currency_code": "USD",
                                                    "close_date": day(30)}).json
    assert total(api, filter=f"id == '{future['id']}'") == Decimal("10.00")   # the rate in effect by then
    assert total(api) == Decimal("110.00")
    report = services.records.aggregate_sets(SYSTEM, "deal", grouping_sets=[[]], metrics=["sum:amount"])
    assert Decimal(str(report[0].groups[0]["values"]["sum:amount"])).quantize(Decimal("0.01")) == Decimal("110.00")


def test_roll_ups_convert_each_child_at_its_own_date(rates, api):
    deal = api.post("/api/v1/records/deal", json={"name": "Parent", "currency_code": "EUR"}).json
    for price, delivered in ((100, day(-400)), (100, day(-10)), (100, None)):
        made = api.post("/api/v1/records/deal_item", json={"name": "i", "deal": deal["id"], "price": price,
                                                           "currency_code": "USD", "delivered_on": delivered})
        assert made.status_code == 201, made.json
    got = api.get(f"/api/v1/records/deal/{deal['id']}").json["items_total"]
    assert Decimal(str(got)).quantize(Decimal("0.01")) == Decimal("100.00")        # 50 + 25 + 25


def test_without_a_conversion_date_every_record_converts_at_todays_rate(services, api):
    apply(services)
    for since, rate in ((-500, "2"), (-100, "4")):
        api.put(f"/api/v1/currency-rates/USD/{day(since)}", json={"rate": rate})
    for close in (day(-400), day(-10)):
        api.post("/api/v1/records/deal", json={"name": "D", "amount": 100, "currency_code": "USD", "close_date": close})
    assert total(api) == Decimal("50.00")


def test_a_report_and_its_export_use_the_dated_figures(rates, api, services):
    from tessera.analytics.definitions import stored_definition
    from tessera.analytics.run import run_report
    from tessera.analytics.table import report_table
    api.post("/api/v1/records/deal", json={"name": "Old", "amount": 100, "currency_code": "USD",
                                           "close_date": day(-400), "stage": "New"})
    admin = services.identity.actor_for_user(services.identity.find_user("admin"))
    definition = stored_definition(services.records.runtime().metadata, "deal_totals")
    columns, rows = report_table(run_report(services.records, admin, definition))
    assert [c.header for c in columns] == ["Stage", "Sum of amount (EUR)"]
    assert [(r[0], Decimal(str(r[1])).quantize(Decimal("0.01"))) for r in rows] == [
        ("New", Decimal("50.00")), ("Grand total", Decimal("50.00"))]


@pytest.mark.parametrize("deal, message", [
    ({"conversion_date": "name"}, "'name' is not a date field of deal (its date fields: close_date)"),
    ({"conversion_date": "stage"}, "'stage' is not a date field of deal"),
])
def test_a_conversion_date_must_be_a_date_field(services, deal, message):
    with pytest.raises(MetadataInvalid) as info:
        apply(services, deal=deal)
    assert message in str(info.value)


def test_sales_opportunities_convert_at_close_date_once_multi_currency(services, api):
    from pathlib import Path
    from tessera.meta.source import load_package
    root = Path(__file__).resolve().parents[2]
    services.changes.install_packages([load_package(root / "apps" / "sales")], author="test", message="sales")
    components = {
        "settings": {"org": {"source": "settings/org.yaml", "doc": {
            "name": "org", "corporate_currency": "EUR", "currencies": [{"code": "EUR"}, {"code": "USD"}]}}},
        "objects": {"opportunity": {"source": "objects/opportunity.yaml",
                                    "doc": {"extends": "opportunity", "multi_currency": True}}}}
    services.changes.apply_org({"manifest": None, "components": components}, author="test", message="fx")
    for since, rate in ((-500, "2"), (-100, "4")):
        api.put(f"/api/v1/currency-rates/USD/{day(since)}", json={"rate": rate})
    account = services.records.create(SYSTEM, "account", {"name": "Acme"})
    made = api.post("/api/v1/records/opportunity", json={
        "name": "Old", "account": account["id"], "amount": 100, "currency_code": "USD",
        "close_date": day(-400), "stage": "Prospecting"})
    assert made.status_code == 201, made.json
    assert total(api, "opportunity") == Decimal("50.00")
