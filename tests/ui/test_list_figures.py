"""Figures under a list (column aggregates over the whole current filter), kanban lane totals and
their memory in the URL and saved views — compared with sums computed here in Python over the
records the test created, for an admin and for a restricted rep (own records only; a hidden field)."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from html import unescape

import pytest

from ui_helpers import actor_of


def figure(html: str, path: str) -> str | None:
    """The text of the figure under column `path` (None: no figure there)."""
    m = re.search(rf'<td class="figure-cell[^"]*" data-path="{re.escape(path)}">(.*?)</td>', html, re.S)
    if m is None:
        return None
    value = re.search(r'<span class="figure-value" data-function="[a-z_]+">(.*?)</span>\s*$', m.group(1), re.S)
    return unescape(re.sub(r"<[^>]+>", "", value.group(1))).strip() if value else None


def money(amount) -> str:
    return f"${Decimal(str(amount)):,.2f}"


COMPANIES = [("Acme", "Energy", 2_000_000, 120, "2001-04-05"), ("Globex", "Retail", 500.25, 8, "1999-12-31"),
             ("Initech", "Technology", 5_000_000, 300, None), ("Umbrella", "Energy", None, 45, "2010-01-01"),
             ("Hooli", "Technology", 1_500_000.5, None, "2004-07-15"), ("Acme East", "Energy", 700, 10, None)]


@pytest.fixture
def companies(make_record):
    return [make_record("company", {"name": n, "industry": i, "revenue": r, "employees": e, "founded": f})
            for n, i, r, e, f in COMPANIES]


def test_column_figures_cover_the_whole_filter_not_the_page(admin, companies):
    url = ("/app/testapp/company?cols=name,industry,revenue,employees,founded&limit=10"
           "&agg=sum:revenue,avg:employees,count_not_blank:name,count_distinct:industry,max:founded")
    html = admin.html(url)
    assert figure(html, "revenue") == money(sum(c[2] or 0 for c in COMPANIES))
    employees = [c[3] for c in COMPANIES if c[3] is not None]
    assert figure(html, "employees") == f"{sum(employees) / len(employees):,.2f}"
    assert figure(html, "name") == str(len(COMPANIES))
    assert figure(html, "industry") == str(len({c[1] for c in COMPANIES}))
    assert figure(html, "founded") == "Jan 1, 2010"
    # a search and a quick filter narrow the figures exactly as they narrow the list
    energy = [c for c in COMPANIES if c[1] == "Energy" and "acme" in c[0].lower()]
    html = admin.html(url + "&q=acme&f.industry=Energy&limit=10")
    assert figure(html, "revenue") == money(sum(c[2] or 0 for c in energy)) and figure(html, "name") == "2"
    # a list view's own filter (big_companies: revenue > 1e6)
    big = [c for c in COMPANIES if (c[2] or 0) > 1_000_000]
    assert figure(admin.html(url + "&view=big_companies"), "revenue") == money(sum(c[2] for c in big))
    # a figure a column does not offer, or for a column not shown, is ignored
    html = admin.html("/app/testapp/company?cols=name,industry&agg=sum:industry,sum:revenue,count_distinct:name")
    assert figure(html, "industry") is None and figure(html, "revenue") is None
    assert figure(html, "name") == str(len(COMPANIES))


def test_figures_over_more_rows_than_one_page_in_one_aggregate_call(admin, make_record, services, monkeypatch):
    amounts = [Decimal(i) + Decimal("0.25") for i in range(30)]
    for i, a in enumerate(amounts):
        make_record("company", {"name": f"Co {i:02d}", "revenue": a})
    calls = []
    aggregate = services.records.aggregate
    monkeypatch.setattr(services.records, "aggregate", lambda *a, **kw: calls.append(kw) or aggregate(*a, **kw))
    html = admin.html("/app/testapp/company?cols=name,revenue&limit=10&agg=sum:revenue,min:revenue,count_not_blank:name")
    assert len(calls) == 1 and calls[0]["metrics"] == ["sum:revenue", "count_not_blank:name"]   # one per column
    assert "1–10 of 30" in html
    assert figure(html, "revenue") == money(sum(amounts)) and figure(html, "name") == "30"
    nxt = unescape(re.search(r'href="([^"]+)" id="next-page"', html).group(1))
    assert "agg=" in nxt and figure(admin.html(nxt), "revenue") == money(sum(amounts))


def test_menu_offers_figures_by_type_and_links_keep_the_state(admin, companies):
    html = admin.html("/app/testapp/company?cols=name,revenue,founded&q=a")
    menu = re.search(r'id="figure-revenue"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert [unescape(l) for l in re.findall(r">([^<]+)</option>", menu)] == \
        ["Count", "Unique", "Sum", "Average", "Min", "Max", "Calculate"]
    dates = re.search(r'id="figure-founded"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert [unescape(l) for l in re.findall(r">([^<]+)</option>", dates)] == \
        ["Count", "Unique", "Earliest", "Latest", "Calculate"]
    names = re.search(r'id="figure-name"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert "Sum" not in names
    sum_url = unescape(re.search(r'<option value="([^"]+)" data-function="sum"', menu).group(1))
    assert "q=a" in sum_url and "agg=sum%3Arevenue" in sum_url


def test_saved_view_remembers_the_figures(admin, companies):
    html = admin.html("/app/testapp/company")
    r = admin.post("/app/testapp/company/views", {"_name": "Revenue sums", "cols": "name,revenue",
                                                   "agg": "sum:revenue"})
    assert r.status_code == 302
    html = admin.html(unescape(r.headers["Location"]))
    assert "Revenue sums" in html and figure(html, "revenue") == money(sum(c[2] or 0 for c in COMPANIES))


def test_restricted_user_figures_cover_only_what_they_can_read(login, users, make_record, companies):
    mine = [("Rep One", 100, "R1"), ("Rep Two", 250.5, "R2"), ("Rep Three", None, None)]
    for name, revenue, code in mine:     # revenue is read-only for tp_rep: the platform sets it
        make_record("company", {"name": name, "revenue": revenue, "code": code, "owner": users["rep"]["id"]})
    client = login("rep")
    html = client.html("/app/testapp/company?cols=name,code,revenue&agg=sum:revenue,count_not_blank:name,"
                       "count_distinct:code,count_not_blank:code")
    assert figure(html, "revenue") == money(sum(m[1] or 0 for m in mine))     # own companies only
    assert figure(html, "name") == "3"
    # company.code is hidden from tp_rep: no column, no figure, nothing offered
    assert 'data-path="code"' not in html and 'id="figure-code"' not in html
    admin_html = login("admin").html("/app/testapp/company?cols=name,revenue&agg=sum:revenue")
    assert figure(admin_html, "revenue") == money(sum(c[2] or 0 for c in COMPANIES) + sum(m[1] or 0 for m in mine))


@pytest.fixture
def deals(services, users, make_record):
    rep = actor_of(services, users["rep"])
    rows = [("D1", "New", 100, None), ("D2", "New", 250.5, rep), ("D3", "Working", 1000, rep),
            ("D4", "Working", None, None), ("D5", "Closed", 40, rep), ("D6", "Closed", 60, None)]
    out = []
    for name, stage, amount, owner in rows:
        data = {"name": name, "amount": amount, "stage": stage}
        out.append((name, stage, amount, owner is not None))
        if owner is not None:
            services.records.create(owner, "deal", data)
        else:
            make_record("deal", data)
    return out


def lane_sums(html: str) -> dict[str, str]:
    out = {}
    for value, body in re.findall(r'<section class="lane" data-value="([^"]*)".*?<header class="lane-header">(.*?)</header>',
                                  html, re.S):
        m = re.search(r'<span class="lane-sum"[^>]*>(.*?)</span>\s*<span class="badge', body, re.S)
        out[value] = unescape(re.sub(r"<[^>]+>", "", m.group(1))).strip() if m else None
    return out


def expected_lanes(deals, only_rep=False):
    out = {}
    for _n, stage, amount, by_rep in deals:
        if only_rep and not by_rep:
            continue
        out.setdefault(stage, Decimal(0))
        out[stage] += Decimal(str(amount or 0))
    return out


def test_kanban_lane_totals(admin, login, deals):
    html = admin.html("/app/testapp/deal/kanban")
    assert 'id="lane-total"' in html
    sums = lane_sums(html)
    assert sums == {stage: money(total) for stage, total in expected_lanes(deals).items()}
    assert re.search(r'<option value="[^"]*total=amount"[^>]*selected>Sum of Amount</option>', html)
    # another field (the formula `expected`), or none
    picked = admin.html("/app/testapp/deal/kanban?total=none")
    assert set(lane_sums(picked).values()) == {None}
    # a search narrows the lane totals as it narrows the cards
    searched = lane_sums(admin.html("/app/testapp/deal/kanban?q=D3"))
    assert searched["Working"] == money(1000) and searched["New"] == ""
    # the rep sees only their own deals' amounts
    rep_sums = lane_sums(login("rep").html("/app/testapp/deal/kanban"))
    assert rep_sums == {stage: money(total) for stage, total in expected_lanes(deals, only_rep=True).items()}


def test_amounts_of_several_currencies_total_in_the_corporate_currency(services, admin, api):
    """A multi-currency object: the aggregate converts each amount at today's rate, so the footer and
    the lanes show corporate-currency (EUR) figures, formatted like any EUR amount."""
    components = {"settings": {"org": {"source": "settings/org.yaml", "doc": {
        "name": "org", "corporate_currency": "EUR", "currencies": [{"code": "USD"}, {"code": "JPY"}]}}},
        "objects": {"deal": {"source": "objects/deal.yaml", "doc": {"extends": "deal", "multi_currency": True}}}}
    services.changes.apply_org({"manifest": None, "components": components}, author="test", message="fx")
    since = (date.today() - timedelta(days=3)).isoformat()
    for code, rate in (("USD", "1.25"), ("JPY", "160")):
        assert api.put(f"/api/v1/currency-rates/{code}/{since}", json={"rate": rate}).status_code == 201
    for name, amount, code, stage in (("E", 100, "EUR", "New"), ("U", 125, "USD", "New"),
                                      ("Y", 16000, "JPY", "Working")):
        assert api.post("/api/v1/records/deal", json={"name": name, "amount": amount, "currency_code": code,
                                                      "stage": stage}).status_code == 201
    html = admin.html("/app/testapp/deal?cols=name,amount&agg=sum:amount")
    assert figure(html, "amount") == "€300.00"            # 100 + 125/1.25 + 16000/160
    assert lane_sums(admin.html("/app/testapp/deal/kanban")) == {"New": "€200.00", "Working": "€100.00", "Closed": ""}


@pytest.mark.parametrize("agg", ["sum:", ":revenue", "sum:revenue.nope", "avg:name", "count_not_blank:code.x",
                                 "sum:revenue," * 200, "x" * 5000, "sum:revenue;drop", "%00", "sum:-revenue"])
def test_bad_figure_choices_are_ignored_not_errors(admin, companies, agg):
    from urllib.parse import quote
    html = admin.html(f"/app/testapp/company?cols=name,revenue&agg={quote(agg)}")
    assert "Figures could not be computed" not in html
    assert figure(html, "name") is None


@pytest.mark.parametrize("total", ["bogus", "name", "stage", "probability", "", "none"])
def test_lane_total_falls_back_to_a_summable_field(admin, deals, total):
    html = admin.html(f"/app/testapp/deal/kanban?total={total}")
    sums = lane_sums(html)
    assert set(sums.values()) == {None} if total == "none" else sums["Working"] == money(1000)
