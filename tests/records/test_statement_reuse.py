"""Reads of records with formulas and roll-ups reuse statements built once per Runtime (issue 13):
what they show must stay exactly what a freshly built statement shows — NOW() current at every read,
lookups through formulas visible per viewer, roll-ups current — and lists compute formulas and
roll-ups for the page's rows only, in the page's order. Both databases."""
from __future__ import annotations

import time
from datetime import datetime

import pytest

from tessera.meta.source import empty_org

PASSWORD = "velvet-orbit-quarry-3"


@pytest.fixture
def admin(services):
    return services.identity.actor_for_user(services.identity.find_user("admin"))


@pytest.fixture
def rep(services):
    user, _ = services.identity.create_user("rep", password=PASSWORD, last_name="Rep", profile="tp_rep",
                                            role="tp_worker")
    return services.identity.actor_for_user(user)


def test_a_formula_through_a_lookup_shows_each_viewer_what_they_may_see(services, admin, rep):
    """deal.company_industry is company.industry: once the rep's company is handed to the admin the
    rep cannot see it, so it is blank for them, whoever read the record first (the statement is
    kept per viewer)."""
    company = services.records.create(rep, "company", {"name": "Volt", "industry": "Energy"})
    deal = services.records.create(rep, "deal", {"name": "Mine", "company": company["id"], "amount": 10})
    assert services.records.get(rep, "deal", deal["id"])["company_industry"] == "Energy"
    services.records.update(admin, "company", company["id"], {"owner": str(admin.user_id)})
    for _ in range(2):   # built, then reused: admin first, rep second, and again
        assert services.records.get(admin, "deal", deal["id"])["company_industry"] == "Energy"
        assert services.records.get(rep, "deal", deal["id"])["company_industry"] is None
    services.records.update(admin, "company", company["id"], {"owner": str(rep.user_id)})
    assert services.records.get(rep, "deal", deal["id"])["company_industry"] == "Energy"


def test_roll_ups_and_formulas_stay_current_across_reads(services, admin):
    company = services.records.create(admin, "company", {"name": "Volt", "industry": "Energy"})
    assert services.records.get(admin, "company", company["id"])["num_deals"] == 0
    for n in range(1, 3):
        services.records.create(admin, "deal", {"name": f"D{n}", "company": company["id"], "amount": 100,
                                                "probability": 50})
        assert services.records.get(admin, "company", company["id"])["num_deals"] == n
    services.records.update(admin, "company", company["id"], {"industry": None})
    assert services.records.get(admin, "company", company["id"])["display"] == "Volt (n/a)"


def test_now_is_read_at_every_read(services, admin):
    """A formula with NOW() runs through a statement built once: NOW() is a parameter, not the time
    the statement was built."""
    org = empty_org()
    org["components"]["objects"]["memo"] = {"source": "org/objects/memo.yaml", "doc": {
        "extends": "memo", "fields": {"read_at": {"type": "formula", "returns": "datetime", "expression": "NOW()"}}}}
    services.changes.apply_org(org, author="test", message="NOW() formula")
    memo = services.records.create(admin, "memo", {"name": "Hi"})
    first = datetime.fromisoformat(services.records.get(admin, "memo", memo["id"])["read_at"])
    time.sleep(0.05)
    second = datetime.fromisoformat(services.records.get(admin, "memo", memo["id"])["read_at"])
    assert second > first


def test_a_page_sorted_without_an_index_computes_the_page_in_order(services, admin):
    """Formulas of the page (expected = amount × probability) come with each row, in sort order,
    across cursors, for a sort on a stored field and on the formula itself."""
    rows = [{"name": f"D{i}", "amount": (i * 37) % 101, "probability": 10} for i in range(30)]
    services.records.bulk_create(admin, "deal", rows)
    for sort in ("-amount", "expected", "name"):
        seen, cursor = [], None
        while True:
            page = services.records.query(admin, "deal", sort=sort, limit=7, cursor=cursor,
                                          fields="name,amount,expected")
            seen += page.records
            cursor = page.next_cursor
            if cursor is None:
                break
        assert len(seen) == 30 and len({r["name"] for r in seen}) == 30
        assert all(r["expected"] == pytest.approx(r["amount"] * 10 / 100) for r in seen)
        key = sort.lstrip("-")
        values = [r[key] for r in seen]
        assert values == sorted(values, reverse=sort.startswith("-"))
