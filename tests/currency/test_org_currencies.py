"""Multi-currency (issue 14 §1): the org's currencies are versioned settings (settings/org.yaml, org
layer only); an object that enables `multi_currency` gets a `currency_code` on every record, which the
API validates, defaults to the corporate currency and refuses to set to an inactive currency; the
change pipeline adds it with a data-checked fill and refuses removing a currency records still use."""
from __future__ import annotations

import pytest

from tessera.changes import ChangeRefused
from tessera.meta.errors import MetadataInvalid

SETTINGS = {"name": "org", "corporate_currency": "EUR",
            "currencies": [{"code": "EUR"}, {"code": "USD"}, {"code": "JPY"}, {"code": "GBP", "active": False}]}


def apply(services, *, settings=SETTINGS, deal=None, **kw):
    components = {"objects": {}, "settings": {}}
    if settings is not None:
        components["settings"]["org"] = {"source": "settings/org.yaml", "doc": settings}
    if deal is not None:
        components["objects"]["deal"] = {"source": "objects/deal.yaml", "doc": {"extends": "deal", **deal}}
    return services.changes.apply_org({"manifest": None, "components": components}, author="test",
                                      message="currencies", **kw)


@pytest.fixture
def priced(services):
    apply(services, deal={"multi_currency": True})
    return services


def errors_of(info) -> list[str]:
    return [str(e) for e in info.value.errors]


def test_records_get_the_corporate_currency_and_may_choose_an_active_one(priced, api):
    made = api.post("/api/v1/records/deal", json={"name": "Tokyo", "amount": 1200000})
    assert made.status_code == 201, made.json
    assert made.json["currency_code"] == "EUR"
    yen = api.post("/api/v1/records/deal", json={"name": "Osaka", "amount": 5000, "currency_code": "JPY"})
    assert yen.status_code == 201 and yen.json["currency_code"] == "JPY"
    moved = api.patch(f"/api/v1/records/deal/{yen.json['id']}", json={"currency_code": "USD"})
    assert moved.status_code == 200 and moved.json["currency_code"] == "USD"
    listed = api.get("/api/v1/records/deal", query_string={"filter": "currency_code == 'USD'"})
    assert [r["name"] for r in listed.json["records"]] == ["Osaka"]


@pytest.mark.parametrize("code, message", [
    ("CHF", "'CHF' is not one of"),
    ("GBP", "GBP is not an active currency"),
])
def test_unknown_and_inactive_currencies_are_refused_naming_the_field(priced, api, code, message):
    refused = api.post("/api/v1/records/deal", json={"name": "X", "currency_code": code})
    assert refused.status_code in (400, 422), refused.json
    assert "currency_code" in str(refused.json) and message in str(refused.json), refused.json
    assert api.get("/api/v1/records/deal").json["records"] == []


def test_a_record_keeps_a_currency_that_was_deactivated(services, api):
    apply(services, settings={**SETTINGS, "currencies": [{"code": "EUR"}, {"code": "GBP"}]},
          deal={"multi_currency": True})
    made = api.post("/api/v1/records/deal", json={"name": "London", "currency_code": "GBP"}).json
    apply(services, deal={"multi_currency": True})          # GBP now inactive
    renamed = api.patch(f"/api/v1/records/deal/{made['id']}", json={"name": "London 2"})
    assert renamed.status_code == 200 and renamed.json["currency_code"] == "GBP"


def test_enabling_multi_currency_fills_existing_records_with_the_corporate_currency(services, api):
    before = api.post("/api/v1/records/deal", json={"name": "Old"}).json
    assert "currency_code" not in before
    result = apply(services, deal={"multi_currency": True})
    assert "add field deal.currency_code (picklist)" in str(result.plan)
    assert api.get(f"/api/v1/records/deal/{before['id']}").json["currency_code"] == "EUR"


def test_removing_a_currency_records_use_is_refused_with_a_count(priced, api):
    api.post("/api/v1/records/deal", json={"name": "Yen", "currency_code": "JPY"})
    with pytest.raises(ChangeRefused) as info:
        apply(priced, settings={**SETTINGS, "currencies": [{"code": "EUR"}, {"code": "USD"}]},
              deal={"multi_currency": True})
    assert "JPY" in str(info.value) and "1" in str(info.value)


@pytest.mark.parametrize("settings, where, message", [
    ({"name": "org", "corporate_currency": "EURO"}, "corporate_currency", "is not a currency code"),
    ({"name": "org", "corporate_currency": "XYZ"}, "corporate_currency", "'XYZ' is not an ISO 4217 currency"),
    ({"name": "org", "currencies": [{"code": "EUR"}, {"code": "EUR"}]}, "currencies.1.code", "listed twice"),
    ({"name": "org", "corporate_currency": "EUR", "currencies": [{"code": "EUR", "active": False}]},
     "currencies.0.active", "the corporate currency cannot be inactive"),
    ({"name": "main"}, "name", "named 'org'"),
])
def test_bad_settings_are_refused_naming_file_and_path(services, settings, where, message):
    with pytest.raises(MetadataInvalid) as info:
        apply(services, settings=settings)
    [error] = errors_of(info)
    assert "settings/org.yaml" in error and f": {where}: " in error and message in error, error


def test_a_field_named_currency_code_clashes_with_multi_currency(services):
    with pytest.raises(MetadataInvalid) as info:
        apply(services, deal={"multi_currency": True, "fields": {"currency_code": {"type": "text"}}})
    [error] = errors_of(info)
    assert "fields.currency_code" in error and "rename this field" in error


def test_a_package_cannot_ship_org_settings(tmp_path):
    from tessera.meta.source import load_package
    (tmp_path / "settings").mkdir()
    (tmp_path / "package.yaml").write_text("name: acme\nlabel: Acme\nversion: 1.0.0\n")
    (tmp_path / "settings" / "org.yaml").write_text("name: org\ncorporate_currency: EUR\n")
    with pytest.raises(MetadataInvalid) as info:
        load_package(tmp_path)
    assert "only the org layer has settings" in str(info.value.errors[0])
