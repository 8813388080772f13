"""Roll-ups over amounts in several currencies (issue 14 §1, multi-currency): each child's amount is
converted to the parent's currency (the corporate one when the parent has none) at the rate in
effect today; a child whose currency has no rate makes the total blank, never a wrong number."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from test_org_currencies import SETTINGS


def apply(services, *, deal_multi=True):
    def ext(name, doc):
        return {"source": f"objects/{name}.yaml", "doc": {"extends": name, **doc}}
    components = {"settings": {"org": {"source": "settings/org.yaml", "doc": {
        **SETTINGS, "currencies": [{"code": "EUR"}, {"code": "USD"}, {"code": "JPY"}, {"code": "GBP"}]}}},
        "objects": {
            "deal_item": ext("deal_item", {"multi_currency": True, "fields": {"price": {"type": "currency"}}}),
            "deal": ext("deal", {"multi_currency": deal_multi, "fields": {
                "items_total": {"type": "rollup", "object": "deal_item", "relationship": "deal",
                                "function": "sum", "field": "price"},
                "top_item": {"type": "rollup", "object": "deal_item", "relationship": "deal",
                             "function": "max", "field": "price"},
                "item_count": {"type": "rollup", "object": "deal_item", "relationship": "deal",
                               "function": "count"}}})}}
    services.changes.apply_org({"manifest": None, "components": components}, author="test", message="fx")


@pytest.fixture
def fx(services, api):
    apply(services)
    since = (date.today() - timedelta(days=30)).isoformat()
    for code, rate in (("USD", "1.25"), ("JPY", "160")):
        assert api.put(f"/api/v1/currency-rates/{code}/{since}", json={"rate": rate}).status_code == 201
    # a later rate that is not in effect yet must not be used
    later = (date.today() + timedelta(days=30)).isoformat()
    assert api.put(f"/api/v1/currency-rates/USD/{later}", json={"rate": "5"}).status_code == 201
    return services


def deal_with_items(api, currency, *items):
    deal = api.post("/api/v1/records/deal", json={"name": "Global", "currency_code": currency}).json
    for price, code in items:
        made = api.post("/api/v1/records/deal_item", json={"name": f"{price} {code}", "deal": deal["id"],
                                                           "price": price, "currency_code": code})
        assert made.status_code == 201, made.json
    return api.get(f"/api/v1/records/deal/{deal['id']}").json


def amount(value):
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def test_children_in_three_currencies_sum_in_the_parents_currency(fx, api):
    eur = deal_with_items(api, "EUR", (100, "EUR"), (125, "USD"), (16000, "JPY"))
    assert amount(eur["items_total"]) == Decimal("300.00")
    assert amount(eur["top_item"]) == Decimal("100.00") and eur["item_count"] == 3
    usd = deal_with_items(api, "USD", (100, "EUR"), (125, "USD"))
    assert amount(usd["items_total"]) == Decimal("250.00")       # 200 EUR at 1.25
    sorted_ids = [r["id"] for r in api.get("/api/v1/records/deal", query_string={"sort": "-items_total"}).json["records"]]
    assert sorted_ids == [eur["id"], usd["id"]]


def test_a_missing_rate_blanks_the_total_instead_of_guessing(fx, api):
    mixed = deal_with_items(api, "EUR", (100, "EUR"), (50, "GBP"))
    assert mixed["items_total"] is None and mixed["item_count"] == 2
    empty = deal_with_items(api, "EUR")
    assert amount(empty["items_total"]) == Decimal("0.00")


def test_a_parent_without_currency_totals_in_the_corporate_currency(services, api):
    apply(services, deal_multi=False)
    since = (date.today() - timedelta(days=1)).isoformat()
    api.put(f"/api/v1/currency-rates/USD/{since}", json={"rate": "2"})
    deal = api.post("/api/v1/records/deal", json={"name": "Plain"}).json
    assert "currency_code" not in deal
    for price, code in ((10, "EUR"), (20, "USD")):
        api.post("/api/v1/records/deal_item", json={"name": "x", "deal": deal["id"], "price": price,
                                                    "currency_code": code})
    assert amount(api.get(f"/api/v1/records/deal/{deal['id']}").json["items_total"]) == Decimal("20.00")


def test_aggregates_sum_amounts_of_several_currencies_in_the_corporate_currency(fx, api):
    deal_with_items(api, "EUR", (100, "EUR"), (125, "USD"), (16000, "JPY"))
    by_currency = api.get("/api/v1/records/deal_item/aggregate",
                          query_string={"group_by": "currency_code", "metrics": "count,sum:price,max:price",
                                        "sort": "currency_code"}).json["groups"]
    assert [(g["key"]["currency_code"], amount(g["values"]["sum:price"])) for g in by_currency] == [
        ("EUR", Decimal("100.00")), ("USD", Decimal("100.00")), ("JPY", Decimal("100.00"))]   # the org's order
    total = api.get("/api/v1/records/deal_item/aggregate", query_string={"metrics": "sum:price,avg:price"}).json
    [group] = total["groups"]
    assert amount(group["values"]["sum:price"]) == Decimal("300.00")
    assert amount(group["values"]["avg:price"]) == Decimal("100.00")
    deal_with_items(api, "EUR", (50, "GBP"))                          # no GBP rate: the total is blank
    [group] = api.get("/api/v1/records/deal_item/aggregate", query_string={"metrics": "sum:price"}).json["groups"]
    assert group["values"]["sum:price"] is None
