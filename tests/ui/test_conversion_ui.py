"""Lead conversion in /app (issue 17): the lead page's Convert button (only while the lead may be
converted, only for those who may edit it), the conversion page (each target's mapped values,
existing matches to choose, the opportunity to leave out) and a refused conversion shown again
with nothing changed."""
from __future__ import annotations

from tessera.security.actor import SYSTEM

LEAD = {"first_name": "Ada", "last_name": "Lovelace", "company": "Analytical Engines", "email": "ada@engines.example",
        "city": "London"}


def test_convert_a_lead_from_its_page(stock_apps, admin):
    services = stock_apps
    existing = services.records.create(SYSTEM, "account", {"name": "Analytical Engines"})
    lead = services.records.create(SYSTEM, "lead", LEAD)
    page = admin.html(f"/app/sales/lead/{lead['id']}")
    assert 'id="convert-record"' in page and "Convert Lead" in page
    form = admin.html(f"/app/sales/lead/{lead['id']}/convert")
    assert 'data-target="account"' in form and 'data-target="contact"' in form and 'data-target="opportunity"' in form
    assert "Analytical Engines" in form and "London" in form
    assert f'value="existing:{existing["id"]}"' in form          # the duplicate rule's match, to choose
    assert 'id="opportunity-skip"' in form and 'id="account-skip"' not in form

    r = admin.post(f"/app/sales/lead/{lead['id']}/convert",
                   {"target.account": f"existing:{existing['id']}", "target.contact": "new", "target.opportunity": "skip"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    done = admin.html(r.headers["Location"])
    assert "Converted: account linked, contact created." in done
    assert 'id="convert-record"' not in done                      # converted: no second conversion
    saved = services.records.get(SYSTEM, "lead", lead["id"])
    assert saved["converted"] is True and saved["converted_account"] == existing["id"]
    assert saved["converted_opportunity"] is None
    assert 'id="not-convertible"' in admin.html(f"/app/sales/lead/{lead['id']}/convert")


def test_a_refused_conversion_keeps_the_choices_and_changes_nothing(stock_apps, admin):
    services = stock_apps
    lead = services.records.create(SYSTEM, "lead", LEAD)
    gone = "5c7d1c9e-2b8a-4d53-a9a4-9b8c0c6f1a11"
    r = admin.post(f"/app/sales/lead/{lead['id']}/convert", {"target.account": f"existing:{gone}",
                                                             "target.opportunity": "skip"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="convert-error"' in html and "Nothing was changed." in html
    assert 'id="opportunity-skip" name="target.opportunity" value="skip" checked' in html
    assert services.records.get(SYSTEM, "lead", lead["id"])["converted"] is False
