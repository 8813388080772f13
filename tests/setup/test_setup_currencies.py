"""Setup → Company → Currencies: the org's currencies saved through the change pipeline (plan first),
refusals shown at the row they are about, and dated exchange rates set and deleted at once. Both
databases."""
from __future__ import annotations

from datetime import date
from html import unescape

from tessera.currency.rates import list_rates


def settings_form(corporate, *rows):
    data = {"corporate": corporate}
    for i, (code, label, places, active) in enumerate([*rows, ("", "", "", False)]):
        data.update({f"code-{i}": code, f"label-{i}": label, f"places-{i}": places})
        if active:
            data[f"active-{i}"] = "on"
    return data


def test_declare_currencies_review_the_plan_and_confirm(admin, services):
    page = admin.get("/setup/currencies/").get_data(as_text=True)
    assert "not set yet: one currency, USD" in page
    review, done = admin.change("/setup/currencies/settings", settings_form(
        "EUR", ("EUR", "", "", True), ("USD", "US dollar", "", True), ("JPY", "", "0", False)))
    assert "add org settings org" in review.get_data(as_text=True)
    assert done.status_code == 302
    settings = services.runtimes.current().metadata.org_settings
    assert settings.corporate_currency == "EUR" and settings.active_codes == ("EUR", "USD")
    assert settings.currency("USD").label == "US dollar" and settings.decimal_places("JPY") == 0
    shown = admin.get("/setup/currencies/").get_data(as_text=True)
    assert 'value="US dollar"' in shown and "not set yet" not in shown


def test_bad_currencies_are_shown_at_their_row_and_nothing_changes(admin, services):
    before = services.changes.active_number()
    refused = admin.post("/setup/currencies/settings", settings_form(
        "EUR", ("EUR", "", "", True), ("XYZ", "", "", True), ("USD", "", "9", True)))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'data-error-for="currencies.2.decimal_places"' in html
    refused = admin.post("/setup/currencies/settings", settings_form("EUR", ("EUR", "", "", True), ("XYZ", "", "", True)))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'data-error-for="currencies.1.code"' in html
    assert "'XYZ' is not an ISO 4217 currency code" in unescape(html)
    assert services.changes.active_number() == before


def test_rates_are_set_replaced_refused_and_deleted(admin, services):
    admin.change("/setup/currencies/settings", settings_form("USD", ("USD", "", "", True), ("EUR", "", "", True)))
    today = date.today().isoformat()
    assert admin.post("/setup/currencies/rates", {"code": "EUR", "effective_from": today, "rate": "0.9"}).status_code == 302
    assert admin.post("/setup/currencies/rates", {"code": "EUR", "effective_from": today, "rate": "0.95"}).status_code == 302
    assert [(r.code, str(r.rate)) for r in list_rates(services.engine)] == [("EUR", "0.950000000000")]
    page = admin.get("/setup/currencies/").get_data(as_text=True)
    assert f'data-rate="EUR/{today}"' in page and ">0.95<" in page
    refused = admin.post("/setup/currencies/rates", {"code": "EUR", "effective_from": today, "rate": "-1"})
    assert refused.status_code == 422 and 'data-error-for="rate"' in refused.get_data(as_text=True)
    assert admin.post(f"/setup/currencies/rates/EUR/{today}/delete").status_code == 302
    assert list_rates(services.engine) == []
    assert admin.post(f"/setup/currencies/rates/EUR/{today}/delete").status_code == 404
    assert admin.post("/setup/currencies/rates/ZZZ/nope/delete").status_code == 404


def test_only_admins_reach_the_page(make_browser):
    rep = make_browser("rep")
    assert rep.get("/setup/currencies/").status_code in (302, 403)


def test_saving_currencies_keeps_the_fiscal_year_start(admin, services):
    doc = {"name": "org", "fiscal_year_start_month": 4}
    services.changes.apply_org({"manifest": None, "components": {
        "objects": {}, "settings": {"org": {"source": "settings/org.yaml", "doc": doc}}}}, author="test", message="fy")
    _review, done = admin.change("/setup/currencies/settings", settings_form("EUR", ("EUR", "", "", True)))
    assert done.status_code == 302
    settings = services.runtimes.current().metadata.org_settings
    assert settings.corporate_currency == "EUR" and settings.fiscal_year_start_month == 4
