"""Dated exchange rates (issue 14 §1, multi-currency): admins set them through the API; everyone
signed in reads them; the rate in effect on a day is the latest one from on or before it."""
from __future__ import annotations

import pytest

from test_org_currencies import apply


@pytest.fixture
def org(services):
    apply(services, deal={"multi_currency": True})
    return services


def test_rates_are_dated_and_the_latest_one_in_effect_applies(org, api):
    assert api.put("/api/v1/currency-rates/USD/2026-01-01", json={"rate": "1.05"}).status_code == 201
    assert api.put("/api/v1/currency-rates/USD/2026-07-01", json={"rate": 1.1}).status_code == 201
    replaced = api.put("/api/v1/currency-rates/USD/2026-07-01", json={"rate": "1.12"})
    assert replaced.status_code == 200 and replaced.json == {"code": "USD", "effective_from": "2026-07-01",
                                                            "rate": "1.12"}
    listed = api.get("/api/v1/currency-rates", query_string={"code": "USD"}).json["rates"]
    assert [(r["effective_from"], r["rate"]) for r in listed] == [("2026-07-01", "1.12"), ("2026-01-01", "1.05")]

    def rate(day):
        shown = api.get("/api/v1/currencies", query_string={"on": day}).json
        assert shown["corporate_currency"] == "EUR"
        return {c["code"]: c["rate"] for c in shown["currencies"]}
    assert rate("2025-12-31") == {"EUR": "1", "USD": None, "JPY": None, "GBP": None}
    assert rate("2026-03-15")["USD"] == "1.05"
    assert rate("2026-07-01")["USD"] == "1.12"
    assert api.delete("/api/v1/currency-rates/USD/2026-07-01").status_code == 204
    assert rate("2026-08-01")["USD"] == "1.05"
    assert api.delete("/api/v1/currency-rates/USD/2026-07-01").status_code == 404


@pytest.mark.parametrize("path, body, field, message", [
    ("CHF/2026-01-01", {"rate": 1}, "code", "is not one of the org's currencies"),
    ("EUR/2026-01-01", {"rate": 1}, "code", "EUR is the corporate currency: its rate is always 1"),
    ("USD/2026-13-01", {"rate": 1}, "effective_from", "is not a date"),
    ("USD/2026-01-01", {"rate": 0}, "rate", "must be more than 0"),
    ("USD/2026-01-01", {"rate": "-2"}, "rate", "must be more than 0"),
    ("USD/2026-01-01", {"rate": "abc"}, "rate", "is not a number"),
    ("USD/2026-01-01", {"rate": True}, "rate", "is not a number"),
    ("USD/2026-01-01", {"rate": "1.0000000000001"}, "rate", "more than 12 decimal places"),
])
def test_bad_rates_are_refused_naming_the_part(org, api, path, body, field, message):
    refused = api.put(f"/api/v1/currency-rates/{path}", json=body)
    assert refused.status_code == 422, refused.json
    assert any(message in m for m in refused.json["error"]["fields"][field]), refused.json
    assert api.get("/api/v1/currency-rates").json["rates"] == []


def test_bodies_that_are_not_a_rate_are_400(org, api):
    assert api.put("/api/v1/currency-rates/USD/2026-01-01", json=[1]).status_code == 400
    assert api.put("/api/v1/currency-rates/USD/2026-01-01", json={"rate": 1, "x": 2}).status_code == 400
    assert api.get("/api/v1/currencies", query_string={"on": "soon"}).status_code == 400


def test_only_admins_set_rates_but_everyone_reads_them(org, api, services, client_for):
    services.identity.create_user("rep", password="orchid-lantern-42", first_name="Rep", last_name="One",
                                  email="rep@example.com", profile="standard_user")
    rep = client_for(services.identity.find_user("rep"))
    refused = rep.put("/api/v1/currency-rates/USD/2026-01-01", json={"rate": 1.1})
    assert refused.status_code == 403, refused.json
    assert rep.get("/api/v1/currency-rates").status_code == 200
    assert rep.get("/api/v1/currencies").json["corporate_currency"] == "EUR"


def test_the_openapi_document_describes_currencies_and_rates_and_answers_match_it(org, api, services, client_for):
    from jsonschema import Draft202012Validator
    from openapi_spec_validator import validate
    doc = api.get("/api/v1/openapi.json").json
    validate(doc)
    assert {"get"} == set(doc["paths"]["/currencies"]) and "put" in doc["paths"]["/currency-rates/{code}/{effective_from}"]
    assert "JPY" in str(doc["components"]["schemas"]["Deal"]["properties"]["currency_code"])

    def check(name, body):
        schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
        errors = [e.message for e in Draft202012Validator(schema).iter_errors(body)]
        assert not errors, errors[:5]
    api.put("/api/v1/currency-rates/USD/2026-01-01", json={"rate": "1.1"})
    check("CurrencyList", api.get("/api/v1/currencies").json)
    check("ExchangeRateList", api.get("/api/v1/currency-rates").json)
    services.identity.create_user("rep", password="orchid-lantern-42", first_name="Rep", last_name="One",
                                  email="rep@example.com", profile="standard_user")
    rep_doc = client_for(services.identity.find_user("rep")).get("/api/v1/openapi.json").json
    assert "/currencies" in rep_doc["paths"] and "/currency-rates/{code}/{effective_from}" not in rep_doc["paths"]
