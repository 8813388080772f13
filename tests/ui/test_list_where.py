"""A list's `where` expression (a report's drill-down, a typed condition): it narrows the list, shows
as a removable chip, and an expression that does not parse or names an unreadable field is an error
on the page that lists nothing. Both databases."""
from __future__ import annotations

import pytest


@pytest.fixture
def deals(make_record):
    for name, amount in (("Small", 5), ("Mid", 50), ("Big", 500)):
        make_record("deal", {"name": name, "amount": amount})


def _names(page: str) -> list[str]:
    return [n for n in ("Small", "Mid", "Big") if f">{n}<" in page]


def test_where_narrows_the_list_and_shows_a_chip(admin, deals):
    page = admin.get("/app/testapp/deal", query_string={"where": "amount >= 50"}).get_data(as_text=True)
    assert _names(page) == ["Mid", "Big"] and 'id="where-chip"' in page and "amount &gt;= 50" in page
    page = admin.get("/app/testapp/deal").get_data(as_text=True)
    assert _names(page) == ["Small", "Mid", "Big"] and 'id="where-chip"' not in page


@pytest.mark.parametrize("where", ["amount >", "amount > 1) or (True", "nosuch == 1"])
def test_a_bad_where_lists_nothing_and_says_why(admin, deals, where):
    r = admin.get("/app/testapp/deal", query_string={"where": where})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and _names(page) == [] and "This view could not be shown" in page
