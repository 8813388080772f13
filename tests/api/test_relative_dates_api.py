"""Relative date functions through the query API (filter=) and the aggregate API, the org's fiscal
year start (settings/org.yaml) and the aggregate's fiscal_quarter / fiscal_year buckets. Both
databases.

The record service reads the real clock, so the filter tests place records around today's UTC date
and compute the expected names with plain calendar arithmetic here (the exact boundaries, with a
pinned clock, are tests/expr/test_expr_relative_dates.py's)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from tessera.meta.errors import MetadataInvalid

DEALS = "/api/v1/records/deal"
AGGREGATE = "/api/v1/records/deal/aggregate"


def set_fiscal_start(services, month):
    doc = {"name": "org", "fiscal_year_start_month": month}
    return services.changes.apply_org({"manifest": None, "components": {
        "objects": {}, "settings": {"org": {"source": "settings/org.yaml", "doc": doc}}}},
        author="test", message="fiscal year")


def today() -> date:
    return datetime.now(timezone.utc).date()


@pytest.fixture
def around_today(api):
    """Deals closing on days around today, named by their offset in days ('-1', '0', '31'...)."""
    day = today()
    offsets = (-400, -95, -40, -31, -8, -7, -1, 0, 1, 7, 8, 31, 40, 95, 400)
    for offset in offsets:
        made = api.post(DEALS, json={"name": str(offset), "close_date": (day + timedelta(days=offset)).isoformat()})
        assert made.status_code == 201, made.get_json()
    assert api.post(DEALS, json={"name": "blank", "close_date": None}).status_code == 201
    if today() != day:
        pytest.skip("the UTC date changed while the records were made")
    return day, offsets


def names(api, filter: str) -> set[str]:
    r = api.get(DEALS, query_string={"filter": filter, "limit": 100})
    assert r.status_code == 200, r.get_json()
    return {record["name"] for record in r.get_json()["records"]}


def _month(day: date) -> int:
    return day.year * 12 + day.month - 1


def _week(day: date) -> int:
    return (day.toordinal() - day.weekday()) // 7   # weeks start on Monday


@pytest.mark.parametrize("filter, holds", [
    ("IS_TODAY(close_date)", lambda d, t: d == t),
    ("YESTERDAY(close_date)", lambda d, t: (t - d).days == 1),
    ("TOMORROW(close_date)", lambda d, t: (d - t).days == 1),
    ("THIS_WEEK(close_date)", lambda d, t: _week(d) == _week(t)),
    ("LAST_WEEK(close_date)", lambda d, t: _week(d) == _week(t) - 1),
    ("NEXT_WEEK(close_date)", lambda d, t: _week(d) == _week(t) + 1),
    ("THIS_MONTH(close_date)", lambda d, t: _month(d) == _month(t)),
    ("LAST_MONTH(close_date)", lambda d, t: _month(d) == _month(t) - 1),
    ("NEXT_MONTH(close_date)", lambda d, t: _month(d) == _month(t) + 1),
    ("THIS_QUARTER(close_date)", lambda d, t: _month(d) // 3 == _month(t) // 3),
    ("LAST_QUARTER(close_date)", lambda d, t: _month(d) // 3 == _month(t) // 3 - 1),
    ("NEXT_QUARTER(close_date)", lambda d, t: _month(d) // 3 == _month(t) // 3 + 1),
    ("THIS_YEAR(close_date)", lambda d, t: d.year == t.year),
    ("LAST_YEAR(close_date)", lambda d, t: d.year == t.year - 1),
    ("NEXT_YEAR(close_date)", lambda d, t: d.year == t.year + 1),
    ("THIS_FISCAL_YEAR(close_date)", lambda d, t: d.year == t.year),         # default: calendar years
    ("THIS_FISCAL_QUARTER(close_date)", lambda d, t: _month(d) // 3 == _month(t) // 3),
    ("LAST_FISCAL_QUARTER(close_date)", lambda d, t: _month(d) // 3 == _month(t) // 3 - 1),
    ("NEXT_FISCAL_YEAR(close_date)", lambda d, t: d.year == t.year + 1),
    ("LAST_FISCAL_YEAR(close_date)", lambda d, t: d.year == t.year - 1),
    ("NEXT_FISCAL_QUARTER(close_date)", lambda d, t: _month(d) // 3 == _month(t) // 3 + 1),
    ("LAST_N_DAYS(close_date, 7)", lambda d, t: 0 <= (t - d).days <= 7),
    ("NEXT_N_DAYS(close_date, 7)", lambda d, t: 1 <= (d - t).days <= 7),
    ("N_DAYS_AGO(close_date, 31)", lambda d, t: (t - d).days == 31),
    ("LAST_N_MONTHS(close_date, 2)", lambda d, t: 1 <= _month(t) - _month(d) <= 2),
    ("NEXT_N_MONTHS(close_date, 2)", lambda d, t: 1 <= _month(d) - _month(t) <= 2),
    ("not THIS_MONTH(close_date)", lambda d, t: d is None or _month(d) != _month(t)),
])
def test_filters_select_the_records_of_each_period(api, around_today, filter, holds):
    day, offsets = around_today
    expected = {str(o) for o in offsets if holds(day + timedelta(days=o), day)}
    if "not " in filter:
        expected.add("blank")   # a blank date is in no period, so `not` keeps it
    assert names(api, filter) == expected


def test_datetime_system_fields_count_by_their_utc_date(api, around_today):
    everything = {str(o) for o in around_today[1]} | {"blank"}
    assert names(api, "IS_TODAY(created_at) and THIS_WEEK(updated_at) and LAST_N_DAYS(created_at, 0)") == everything
    assert names(api, "YESTERDAY(created_at) or NEXT_N_DAYS(created_at, 30)") == set()


def test_the_fiscal_year_start_comes_from_the_org_settings(services, api, around_today):
    day, offsets = around_today
    start = 2 if day.month == 12 else day.month + 1   # never 1: the fiscal year crosses the calendar one
    set_fiscal_start(services, start)
    assert services.runtimes.current().metadata.org_settings.fiscal_year_start_month == start

    def fiscal_year(d: date) -> int:
        return d.year + (1 if start > 1 and d.month >= start else 0)
    for filter, shift in (("THIS_FISCAL_YEAR(close_date)", 0), ("NEXT_FISCAL_YEAR(close_date)", 1),
                          ("LAST_FISCAL_YEAR(close_date)", -1)):
        expected = {str(o) for o in offsets if fiscal_year(day + timedelta(days=o)) == fiscal_year(day) + shift}
        assert names(api, filter) == expected, filter
    quarter = {str(o) for o in offsets
               if (_month(day + timedelta(days=o)) - (start - 1)) // 3 == (_month(day) - (start - 1)) // 3}
    assert names(api, "THIS_FISCAL_QUARTER(close_date)") == quarter
    # and an aggregate's filter uses it too
    counted = api.get(AGGREGATE, query_string={"filter": "THIS_FISCAL_YEAR(close_date)"}).get_json()
    assert counted["groups"][0]["values"]["count"] == len(
        [o for o in offsets if fiscal_year(day + timedelta(days=o)) == fiscal_year(day)])


@pytest.mark.parametrize("filter, fragment", [
    ("THIS_MONTH(name)", "function THIS_MONTH: argument 1 must be a date or datetime, got text"),
    ("LAST_N_DAYS(close_date, -1)", "must not be negative"),
    ("LAST_N_DAYS(close_date, amount)", "must be a whole-number literal"),
    ("LAST_N_DAYS(close_date)", "takes 2 arguments"),
    ("THIS_QUARTER(close_date, 1)", "takes 1 argument"),
])
def test_bad_calls_are_a_400_naming_the_function(api, filter, fragment):
    for url in (DEALS, AGGREGATE):
        r = api.get(url, query_string={"filter": filter})
        assert r.status_code == 400, r.get_json()
        error = r.get_json()["error"]
        assert error["code"] == "bad_query" and fragment in error["message"], error


@pytest.mark.parametrize("month, message", [
    (13, "13 is not a month: use 1 (January) to 12 (December)"),
    (0, "0 is not a month"),
    ("4", "a month number, 1 (January) to 12 (December)"),
    (True, "a month number"),
])
def test_a_fiscal_start_that_is_not_a_month_is_refused(services, month, message):
    with pytest.raises(MetadataInvalid) as info:
        set_fiscal_start(services, month)
    [error] = [str(e) for e in info.value.errors]
    assert "settings/org.yaml" in error and "fiscal_year_start_month" in error and message in error, error


# -- aggregate: fiscal buckets --------------------------------------------------------------------

CLOSES = ["2023-03-31", "2023-04-01", "2023-12-31", "2024-01-01", "2024-01-31", "2024-02-01", "2024-02-29",
          "2024-03-31", "2024-04-01", "2024-10-31", "2024-11-01"]


@pytest.fixture
def closes(api):
    for close in CLOSES + [None]:
        assert api.post(DEALS, json={"name": "D", "close_date": close}).status_code == 201


def buckets(api, unit: str) -> dict:
    r = api.get(AGGREGATE, query_string={"group_by": f"close_date:{unit}", "metrics": "count"})
    assert r.status_code == 200, r.get_json()
    return {g["key"][f"close_date:{unit}"]: g["values"]["count"] for g in r.get_json()["groups"]}


def test_fiscal_buckets_of_calendar_years_are_the_calendar_ones(api, closes):
    assert buckets(api, "fiscal_quarter") == buckets(api, "quarter")
    assert buckets(api, "fiscal_year") == buckets(api, "year") == {"2023-01-01": 3, "2024-01-01": 8, None: 1}


def test_fiscal_buckets_from_april(services, api, closes):
    set_fiscal_start(services, 4)
    # FY2024 = 2023-04-01 .. 2024-03-31; FY2025 from 2024-04-01
    assert buckets(api, "fiscal_year") == {"2022-04-01": 1, "2023-04-01": 7, "2024-04-01": 3, None: 1}
    assert buckets(api, "fiscal_quarter") == {"2023-01-01": 1, "2023-04-01": 1, "2023-10-01": 1, "2024-01-01": 5,
                                              "2024-04-01": 1, "2024-10-01": 2, None: 1}


def test_fiscal_buckets_from_february_across_the_year_end(services, api, closes):
    set_fiscal_start(services, 2)
    # FY2024 = 2023-02-01 .. 2024-01-31 (quarters from Feb, May, Aug, Nov); FY2025 from 2024-02-01
    assert buckets(api, "fiscal_year") == {"2023-02-01": 5, "2024-02-01": 6, None: 1}
    assert buckets(api, "fiscal_quarter") == {"2023-02-01": 2, "2023-11-01": 3, "2024-02-01": 4, "2024-08-01": 1,
                                              "2024-11-01": 1, None: 1}


def test_datetimes_are_in_the_fiscal_bucket_of_their_utc_date(services, api):
    set_fiscal_start(services, 7)
    for when in ("2024-06-30T23:30:00Z", "2024-07-01T01:30:00+02:00", "2024-07-01T00:00:00Z"):
        assert api.post("/api/v1/records/company", json={"name": "C", "last_contacted": when}).status_code == 201
    r = api.get("/api/v1/records/company/aggregate", query_string={"group_by": "last_contacted:fiscal_year"})
    got = {g["key"]["last_contacted:fiscal_year"]: g["values"]["count"] for g in r.get_json()["groups"]}
    assert got == {"2023-07-01": 2, "2024-07-01": 1}


def test_an_unknown_date_grouping_lists_the_fiscal_ones(api):
    r = api.get(AGGREGATE, query_string={"group_by": "close_date:fiscal"})
    assert r.status_code == 400
    assert "fiscal_quarter, fiscal_year" in r.get_json()["error"]["message"]
