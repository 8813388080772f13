"""Duplicate rules in /app (issue 17): the record page's "Possible duplicates" card (only when
there are any, only records the viewer may see named), and forms — a blocked save lists the
matches and, where the rule allows it, offers "save it anyway"; a warned save says so."""
from __future__ import annotations

import pytest

from tessera.security.actor import SYSTEM
from ui_helpers import actor_of

RULES = {
    "company_site": {"name": "company_site", "label": "Same website", "object": "company", "action": "block",
                     "allow_override": True, "conditions": [{"field": "website", "match": "normalized"}]},
    "company_name": {"name": "company_name", "label": "Similar name", "object": "company", "action": "warn",
                     "conditions": [{"field": "name", "match": "fuzzy"}]},
}


@pytest.fixture
def rules(services):
    services.changes.apply_org({"manifest": None, "components": {"duplicate_rules": {
        name: {"source": f"duplicate_rules/{name}.yaml", "doc": doc} for name, doc in RULES.items()}}},
        author="test", message="duplicate rules")
    return services


def test_record_page_card(rules, admin, login, users, make_record):
    acme = make_record("company", {"name": "Acme Corporation", "email": "info@acme.com"})
    twin = make_record("company", {"name": "ACME Corporation"})
    alone = make_record("company", {"name": "Initech"})
    html = admin.html(f"/app/testapp/company/{acme['id']}")
    assert 'id="duplicates"' in html and 'data-rule="company_name"' in html
    assert f'data-id="{twin["id"]}"' in html and f'/app/testapp/company/{twin["id"]}"' in html
    assert 'id="duplicates"' not in admin.html(f"/app/testapp/company/{alone['id']}")
    # a rep sees the card for their own record, the admin's match only counted
    mine = make_record("company", {"name": "Acme Corporation"}, actor=actor_of(rules, users["rep"]))
    html = login("rep").html(f"/app/testapp/company/{mine['id']}")
    assert 'id="duplicates"' in html and "more you cannot see" in html
    assert acme["id"] not in html and twin["id"] not in html


def test_forms_block_offer_override_and_warn(rules, admin, make_record):
    acme = make_record("company", {"name": "Acme", "website": "https://acme.com"})
    r = admin.post("/app/testapp/company/new", {"name": "Other", "website": "https://ACME.com"})
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert 'id="form-duplicates"' in html and f'data-id="{acme["id"]}"' in html
    assert 'name="_allow_duplicates"' in html
    r = admin.post("/app/testapp/company/new", {"name": "Other", "website": "https://ACME.com", "_allow_duplicates": "1"})
    assert r.status_code == 302
    page = admin.html(r.headers["Location"])
    assert "Saved as a possible duplicate: matches 1 existing company" in page
    r = admin.post("/app/testapp/company/new", {"name": "Acme."})
    assert r.status_code == 302 and "Similar name" in admin.html(r.headers["Location"])


def test_merge_duplicates_from_the_card(rules, admin, login, make_record, services):
    acme = make_record("company", {"name": "Acme Corporation", "email": "info@acme.com", "employees": 10})
    twin = make_record("company", {"name": "ACME Corporation", "email": "sales@acme.com", "employees": 12})
    deal = make_record("deal", {"name": "Big deal", "company": twin["id"]})
    html = admin.html(f"/app/testapp/company/{acme['id']}")
    assert 'id="merge-duplicates"' in html
    page = admin.html(f"/app/testapp/company/{acme['id']}/merge?with={twin['id']}")
    assert 'data-field="email"' in page and 'data-field="employees"' in page
    assert 'data-field="industry"' not in page              # the same on both: nothing to choose
    r = admin.post(f"/app/testapp/company/{acme['id']}/merge",
                   {"with": twin["id"], "keep.email": twin["id"], "keep.employees": acme["id"],
                    "keep.name": acme["id"]})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    assert "Merged 1 duplicate into this company; 1 related record moved to it." in admin.html(r.headers["Location"])
    kept = services.records.get(SYSTEM, "company", acme["id"])
    assert kept["email"] == "sales@acme.com" and kept["employees"] == 10 and kept["name"] == "Acme Corporation"
    assert services.records.get(SYSTEM, "deal", deal["id"])["company"] == acme["id"]
    assert admin.get(f"/app/testapp/company/{twin['id']}").status_code == 404
    # a rep who may not delete companies gets no merge link and cannot post one
    rep_page = login("rep").get(f"/app/testapp/company/{acme['id']}/merge?with={acme['id']}")
    assert rep_page.status_code in (403, 404)


def test_the_merge_page_keeps_a_value_over_a_blank_by_default(rules, admin, make_record, services):
    acme = make_record("company", {"name": "Acme Corporation"})
    twin = make_record("company", {"name": "ACME Corporation", "industry": "Energy"})
    page = admin.html(f"/app/testapp/company/{acme['id']}/merge?with={twin['id']}")
    assert f'name="keep.industry" value="{twin["id"]}" checked' in page
    r = admin.post(f"/app/testapp/company/{acme['id']}/merge", {"with": twin["id"]})
    assert r.status_code == 302
    assert services.records.get(SYSTEM, "company", acme["id"])["industry"] == "Energy"
