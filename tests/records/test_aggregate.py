"""The record service's aggregate (records/aggregate.py, issue 15): one GROUP BY under the viewer's
sharing and field access. A property test compares its figures with Python aggregation of the same
rows read through query(); date buckets, blank keys, sorting, limits and refusals. Both databases."""
from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tessera.records.aggregate import MAX_GROUPS
from tessera.records.errors import BadQuery, Forbidden, NotFound

_runs = itertools.count()


@pytest.fixture
def admin(services):
    return services.identity.actor_for_user(services.identity.find_user("admin"))


@pytest.fixture
def companies(services, admin):
    made = [services.records.create(admin, "company", {"name": n, "industry": i})
            for n, i in (("Volt", "Energy"), ("Shop", "Retail"), ("Plain", None))]
    return [c["id"] for c in made]


def deals(services, actor, rows, **common):
    ids = services.records.bulk_create(actor, "deal", [{"name": "D", **common, **row} for row in rows])
    return ids


def figures(result):
    """{key tuple: values} of an AggregateResult."""
    return {tuple(g["key"][k] for k in result.group_by): g["values"] for g in result.groups}


DEAL = st.fixed_dictionaries({
    "amount": st.one_of(st.none(), st.integers(min_value=0, max_value=10**8).map(lambda c: c / 100)),
    "stage": st.sampled_from(["New", "Working", "Closed"]),
    "close_date": st.one_of(st.none(), st.dates(min_value=date(2023, 1, 1), max_value=date(2027, 12, 31))),
    "company": st.integers(min_value=0, max_value=3),   # 3: no company
})


def _month(d):
    return None if d is None else d[:7] + "-01"


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(rows=st.lists(DEAL, max_size=25))
def test_figures_equal_python_aggregation_of_the_rows_query_reads(services, admin, companies, rows):
    tag = f"run{next(_runs)}"
    payload = [{**{k: v for k, v in r.items() if k != "company"},
                "close_date": r["close_date"].isoformat() if r["close_date"] else None,
                "amount": r["amount"] if r["stage"] != "Closed" or r["amount"] is not None else 1,
                "company": companies[r["company"]] if r["company"] < 3 else None} for r in rows]
    if payload:
        deals(services, admin, payload, name=tag)
    flt = f"name == '{tag}'"
    result = services.records.aggregate(
        admin, "deal", group_by=["company.industry", "stage", "close_date:month"],
        metrics=["count", "sum:amount", "avg:amount", "min:amount", "max:close_date", "count_distinct:company"],
        filter=flt)
    read = services.records.query(admin, "deal", filter=flt, limit=1000,
                                  fields="company.industry,stage,close_date,amount,company").records
    expected = defaultdict(list)
    for r in read:
        expected[(r["company.industry"], r["stage"], _month(r["close_date"]))].append(r)
    got = figures(result)
    assert set(got) == set(expected)
    for key, members in expected.items():
        amounts = [r["amount"] for r in members if r["amount"] is not None]
        dates = [r["close_date"] for r in members if r["close_date"] is not None]
        values = got[key]
        assert values["count"] == len(members)
        assert values["sum:amount"] == (pytest.approx(sum(amounts)) if amounts else None)
        assert values["avg:amount"] == (pytest.approx(sum(amounts) / len(amounts)) if amounts else None)
        assert values["min:amount"] == (min(amounts) if amounts else None)
        assert values["max:close_date"] == (max(dates) if dates else None)
        assert values["count_distinct:company"] == len({r["company"] for r in members if r["company"]})
    # the default order: keys ascending, blanks last
    keys = [tuple(g["key"].values()) for g in result.groups]
    stage_order = {"New": 0, "Working": 1, "Closed": 2}     # a picklist sorts in its values' order
    assert keys == sorted(keys, key=lambda k: [(v is None, stage_order[v] if i == 1 and v else v or "")
                                               for i, v in enumerate(k)])


@pytest.mark.parametrize("unit, expected", [
    ("day", ["2024-02-29", "2024-03-03", "2024-03-04", "2024-12-31", None]),
    ("week", ["2024-02-26", "2024-03-04", "2024-12-30", None]),     # ISO weeks start on Monday
    ("month", ["2024-02-01", "2024-03-01", "2024-12-01", None]),
    ("quarter", ["2024-01-01", "2024-10-01", None]),
    ("year", ["2024-01-01", None]),
])
def test_date_buckets_are_the_first_day_of_their_period(services, admin, unit, expected):
    deals(services, admin, [{"close_date": d} for d in ("2024-02-29", "2024-03-03", "2024-03-04", "2024-12-31")]
          + [{"close_date": None}])
    result = services.records.aggregate(admin, "deal", group_by=[f"close_date:{unit}"], metrics=["count"])
    assert [g["key"][f"close_date:{unit}"] for g in result.groups] == expected
    assert sum(g["values"]["count"] for g in result.groups) == 5


def test_datetimes_are_bucketed_by_their_utc_date(services, admin):
    for when in ("2026-03-31T23:30:00Z", "2026-04-01T01:30:00+02:00", "2026-04-01T00:00:00Z"):
        services.records.create(admin, "company", {"name": "C", "last_contacted": when})
    result = services.records.aggregate(admin, "company", group_by="last_contacted:day", metrics="count")
    assert figures(result) == {("2026-03-31",): {"count": 2}, ("2026-04-01",): {"count": 1}}
    month = services.records.aggregate(admin, "company", group_by="last_contacted:month", metrics="count")
    assert figures(month) == {("2026-03-01",): {"count": 2}, ("2026-04-01",): {"count": 1}}


def test_formulas_rollups_and_lookup_paths_compile_inline(services, admin, companies):
    deals(services, admin, [{"amount": 100, "probability": 50, "company": companies[0]},
                            {"amount": 300, "probability": 10, "company": companies[0], "stage": "Closed"},
                            {"amount": 40, "probability": 100, "company": companies[1]}])
    by_industry = services.records.aggregate(admin, "deal", group_by="company_industry",
                                             metrics="sum:expected,count")
    assert figures(by_industry) == {("Energy",): {"sum:expected": 80.0, "count": 2},
                                    ("Retail",): {"sum:expected": 40.0, "count": 1}}
    rollups = services.records.aggregate(admin, "company", group_by="industry", metrics="sum:num_deals,sum:open_amount")
    assert figures(rollups) == {("Energy",): {"sum:num_deals": 2, "sum:open_amount": 100.0},
                                ("Retail",): {"sum:num_deals": 1, "sum:open_amount": 40.0},
                                (None,): {"sum:num_deals": 0, "sum:open_amount": 0.0}}


def test_sort_by_metric_and_limit_report_truncation(services, admin):
    deals(services, admin, [{"stage": "New", "amount": 5}, {"stage": "Working", "amount": 50},
                            {"stage": "Working", "amount": 1}, {"stage": "Closed", "amount": 20}])
    result = services.records.aggregate(admin, "deal", group_by="stage", metrics="sum:amount", sort="-sum:amount",
                                        limit=2)
    assert [g["key"]["stage"] for g in result.groups] == ["Working", "Closed"] and result.truncated
    whole = services.records.aggregate(admin, "deal", group_by="stage", metrics="count", sort="-stage")
    # a picklist sorts in its values' order (New, Working, Closed), here reversed
    assert [g["key"]["stage"] for g in whole.groups] == ["Closed", "Working", "New"] and not whole.truncated
    total = services.records.aggregate(admin, "deal", metrics="count,sum:amount")
    assert total.groups == [{"key": {}, "values": {"count": 4, "sum:amount": 76.0}}]


@pytest.fixture
def rep_and_peer(services):
    out = []
    for name in ("rep", "peer"):
        user, _ = services.identity.create_user(name, password="velvet-orbit-quarry-3", last_name=name.title(),
                                                profile="tp_rep", role="tp_worker")
        out.append(services.identity.actor_for_user(user))
    return out


def test_a_viewer_aggregates_only_the_records_they_may_see(services, admin, rep_and_peer):
    rep, peer = rep_and_peer
    deals(services, rep, [{"amount": 10}, {"amount": 20}])
    deals(services, peer, [{"amount": 5}])
    deals(services, admin, [{"amount": 1000}])
    assert figures(services.records.aggregate(rep, "deal", metrics="count,sum:amount")) == {
        (): {"count": 2, "sum:amount": 30.0}}
    assert figures(services.records.aggregate(peer, "deal", metrics="sum:amount")) == {(): {"sum:amount": 5.0}}
    assert figures(services.records.aggregate(admin, "deal", metrics="sum:amount")) == {(): {"sum:amount": 1035.0}}


@pytest.mark.parametrize("kwargs", [
    {"group_by": "code"}, {"metrics": "count_distinct:code"}, {"filter": "code == 'x'"}, {"sort": "code"},
    {"group_by": "parent.code"},
])
def test_a_hidden_field_cannot_be_grouped_filtered_or_aggregated(services, rep_and_peer, kwargs):
    rep, _ = rep_and_peer   # tp_rep may not read company.code
    with pytest.raises(BadQuery, match="code"):
        services.records.aggregate(rep, "company", **kwargs)


def test_an_object_the_viewer_cannot_read_is_forbidden(services):
    user, _ = services.identity.create_user("viewer", password="velvet-orbit-quarry-3", last_name="V",
                                            profile="tp_viewer")
    with pytest.raises(Forbidden):
        services.records.aggregate(services.identity.actor_for_user(user), "memo")
    with pytest.raises(NotFound):
        services.records.aggregate(services.identity.actor_for_user(user), "nosuch")


@pytest.mark.parametrize("kwargs, fragment", [
    ({"metrics": "sum:name"}, "sum:name"),
    ({"metrics": "avg:close_date"}, "avg:close_date"),
    ({"metrics": "min:stage"}, "min:stage"),
    ({"metrics": "median:amount"}, "median:amount"),
    ({"metrics": "count:amount"}, "count"),
    ({"metrics": "sum"}, "sum"),
    ({"metrics": "sum:nosuch"}, "nosuch"),
    ({"group_by": "stage:month"}, "stage:month"),
    ({"group_by": "close_date:fortnight"}, "fortnight"),
    ({"group_by": "company.nosuch"}, "company.nosuch"),
    ({"group_by": "stage,stage"}, "repeated"),
    ({"group_by": "stage,,amount"}, "group_by"),
    ({"group_by": "stage; DROP TABLE obj_deal"}, "group_by"),
    ({"sort": "amount"}, "amount"),
    ({"filter": "amount >"}, "filter"),
    ({"filter": "nosuch == 1"}, "nosuch"),
    ({"limit": MAX_GROUPS + 1}, "limit"),
    ({"limit": 0}, "limit"),
    ({"limit": True}, "limit"),
])
def test_bad_input_is_a_bad_query_naming_it(services, admin, kwargs, fragment):
    with pytest.raises(BadQuery, match=fragment.replace("(", r"\(")):
        services.records.aggregate(admin, "deal", **kwargs)


def test_min_and_max_work_on_dates_and_counts_cover_every_row(services, admin):
    today = date(2025, 6, 15)
    deals(services, admin, [{"close_date": (today + timedelta(days=n)).isoformat()} for n in (0, 3, -2)])
    result = services.records.aggregate(admin, "deal", metrics="min:close_date,max:close_date,count,min:created_at")
    values = result.groups[0]["values"]
    assert values["min:close_date"] == "2025-06-13" and values["max:close_date"] == "2025-06-18"
    assert values["count"] == 3 and values["min:created_at"].endswith("Z")
