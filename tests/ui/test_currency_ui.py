"""Multi-currency in the generated UI (issue 14 §1): amounts show in their record's currency (its
symbol and decimal places) on record pages, forms and lists; the form offers the active currencies
and takes amounts typed with a symbol; orgs that declare a corporate currency show it everywhere
else. Both databases."""
from __future__ import annotations

import re

import pytest


def apply(services, *, multi=True):
    components = {"settings": {"org": {"source": "settings/org.yaml", "doc": {
        "name": "org", "corporate_currency": "EUR",
        "currencies": [{"code": "JPY"}, {"code": "CHF"}, {"code": "GBP", "active": False}]}}},
        "objects": {"deal": {"source": "objects/deal.yaml", "doc": {"extends": "deal", "multi_currency": multi}}}}
    services.changes.apply_org({"manifest": None, "components": components}, author="test", message="fx")


def test_amounts_show_in_the_records_currency(services, admin, api):
    apply(services)
    yen = api.post("/api/v1/records/deal", json={"name": "Tokyo", "amount": 1234567, "currency_code": "JPY"}).json
    chf = api.post("/api/v1/records/deal", json={"name": "Zurich", "amount": 1234.5, "currency_code": "CHF"}).json
    page = admin.html(f"/app/testapp/deal/{yen['id']}")
    assert "¥1,234,567<" in page and "1,234,567.00" not in page
    assert "CHF\u00a01,234.50<" in admin.html(f"/app/testapp/deal/{chf['id']}")
    listing = admin.html("/app/testapp/deal")
    assert "¥1,234,567<" in listing and "CHF\u00a01,234.50<" in listing


def test_the_form_offers_active_currencies_and_takes_symbols(services, admin, api):
    apply(services)
    form = admin.html("/app/testapp/deal/new")
    offered = re.findall(r'<option value="([A-Z]{3})"', form)
    assert set(offered) == {"EUR", "JPY", "CHF"}, offered            # GBP is inactive
    response = admin.post("/app/testapp/deal/new", {"name": "Typed", "currency_code": "CHF",
                                                    "amount": "CHF 1,500.25"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    made = api.get("/api/v1/records/deal", query_string={"filter": "name == 'Typed'"}).json["records"][0]
    assert made["currency_code"] == "CHF" and float(made["amount"]) == 1500.25
    refused = admin.post("/app/testapp/deal/new", {"name": "Old", "currency_code": "GBP", "amount": "1"})
    assert refused.status_code == 422 and "not an active currency" in refused.get_data(as_text=True)


def test_a_single_currency_object_shows_the_corporate_currency(services, admin, api):
    apply(services, multi=False)
    made = api.post("/api/v1/records/deal", json={"name": "Plain", "amount": 10}).json
    assert "€10.00<" in admin.html(f"/app/testapp/deal/{made['id']}")
