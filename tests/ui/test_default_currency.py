"""A user's default currency (issue 14 §1): set on /app/settings (only the org's active currencies,
and only when it has several), it is the currency of the multi-currency records the user creates
without naming one — through the API, forms and bulk writes; without one (or once it is
deactivated) records take the corporate currency. The record service refuses an inactive or
unknown code whatever the path. Both databases."""
from __future__ import annotations

import re

from tessera.security.actor import SYSTEM

SETTINGS = {"name": "org", "corporate_currency": "EUR",
            "currencies": [{"code": "EUR"}, {"code": "JPY"}, {"code": "CHF"}, {"code": "GBP", "active": False}]}


def apply(services, settings=SETTINGS):
    components = {"settings": {"org": {"source": "settings/org.yaml", "doc": settings}},
                  "objects": {"deal": {"source": "objects/deal.yaml", "doc": {"extends": "deal", "multi_currency": True}}}}
    services.changes.apply_org({"manifest": None, "components": components}, author="test", message="fx")


def test_the_settings_page_sets_the_currency_new_records_start_in(services, login, users, client_for):
    apply(services)
    rep = login("rep")
    html = rep.html("/app/settings")
    offered = re.findall(r'<option value="([A-Z]{3})"', html.split('id="default_currency"')[1].split("</select>")[0])
    assert offered == ["EUR", "JPY", "CHF"]                      # active ones only
    assert rep.post("/app/settings/preferences", {"time_zone": "UTC", "locale": "en_US",
                                                  "default_currency": "JPY"}).status_code == 302
    assert services.records.get(SYSTEM, "user", users["rep"]["id"])["default_currency"] == "JPY"
    assert '<option value="JPY" selected>' in rep.html("/app/settings")
    api = client_for(users["rep"])
    made = api.post("/api/v1/records/deal", json={"name": "Osaka", "amount": 5000})
    assert made.status_code == 201 and made.json["currency_code"] == "JPY"
    chosen = api.post("/api/v1/records/deal", json={"name": "Paris", "currency_code": "EUR"})
    assert chosen.json["currency_code"] == "EUR"                # a code given wins
    bulk = api.post("/api/v1/records/deal/bulk", json=[{"name": "B1"}, {"name": "B2", "currency_code": "CHF"}])
    assert bulk.status_code in (200, 201), bulk.json
    codes = {r["name"]: r["currency_code"] for r in api.get("/api/v1/records/deal", query_string={"fields": "name,currency_code"}).json["records"]}
    assert codes["B1"] == "JPY" and codes["B2"] == "CHF"
    assert '<option value="JPY" selected' in rep.html("/app/testapp/deal/new")   # the form preselects it
    form = rep.post("/app/testapp/deal/new", {"name": "Form", "amount": "10"})
    assert form.status_code == 302, form.get_data(as_text=True)[:1000]
    # someone without a default gets the corporate currency
    other = client_for(users["rep2"]).post("/api/v1/records/deal", json={"name": "Rome"})
    assert other.json["currency_code"] == "EUR"


def test_an_inactive_or_unknown_default_is_refused_and_a_deactivated_one_falls_back(services, login, users, api,
                                                                                  client_for):
    apply(services)
    rep = login("rep")
    refused = rep.post("/app/settings/preferences", {"time_zone": "UTC", "locale": "en_US", "default_currency": "GBP"})
    assert refused.status_code == 422 and "active currencies" in refused.get_data(as_text=True)
    assert services.records.get(SYSTEM, "user", users["rep"]["id"]).get("default_currency") is None
    by_api = api.patch(f"/api/v1/records/user/{users['rep']['id']}", json={"default_currency": "USD"})
    assert by_api.status_code == 422 and "default_currency" in str(by_api.json), by_api.json
    assert api.patch(f"/api/v1/records/user/{users['rep']['id']}", json={"default_currency": "CHF"}).status_code == 200
    apply(services, {**SETTINGS, "currencies": [{"code": "EUR"}, {"code": "JPY"}, {"code": "CHF", "active": False}]})
    made = client_for(users["rep"]).post("/api/v1/records/deal", json={"name": "Zurich"})
    assert made.status_code == 201 and made.json["currency_code"] == "EUR"


def test_a_single_currency_org_offers_no_choice(login):
    assert 'id="default_currency"' not in login("rep").html("/app/settings")
