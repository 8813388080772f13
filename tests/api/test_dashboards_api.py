"""Dashboards of the org layer (issue 15 §2): a metric compared with the previous period (THIS_MONTH
→ LAST_MONTH), a gauge, run as a named user, and refusals in metadata. On the test package's deals.
Both databases."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from tessera.meta.errors import MetadataInvalid

TODAY = date.today()
LAST_MONTH = (TODAY.replace(day=1) - timedelta(days=1)).replace(day=10)


def org(reports: dict, dashboards: dict) -> dict:
    return {"manifest": None, "components": {
        "reports": {n: {"source": f"reports/{n}.yaml", "doc": {"name": n, **d}} for n, d in reports.items()},
        "dashboards": {n: {"source": f"dashboards/{n}.yaml", "doc": {"name": n, **d}} for n, d in dashboards.items()}}}


REPORTS = {"deals_this_month": {"object": "deal", "format": "summary", "groupings": ["stage"],
                                "filter": "THIS_MONTH(close_date)", "summaries": ["count", "sum:amount"]}}


@pytest.fixture
def month_deals(api, services):
    rep, _ = services.identity.create_user("rep", password="velvet-orbit-quarry-3", last_name="Rep",
                                           profile="tp_rep", role="tp_worker")
    for amount, day in ((100, TODAY), (50, TODAY), (30, LAST_MONTH)):
        assert api.post("/api/v1/records/deal", json={"name": "D", "amount": amount,
                                                      "close_date": day.isoformat()}).status_code == 201
    return rep


def test_metric_compared_with_the_previous_period_and_a_gauge(api, services, month_deals):
    services.changes.apply_org(org(REPORTS, {"home": {"label": "Home", "components": [
        {"report": "deals_this_month", "display": "metric", "summary": "sum:amount", "compare": "previous_period"},
        {"report": "deals_this_month", "display": "gauge", "summary": "count", "target": 5}]}}),
        author="test", message="dashboard")
    body = api.get("/api/v1/dashboards/home").get_json()
    metric, gauge = body["components"]
    assert (metric["value"], metric["previous_value"]) == (150.0, 30.0)
    assert (gauge["display"], gauge["value"], gauge["target"]) == ("gauge", 2, 5)


def test_run_as_a_named_user_shows_that_users_figures(api, services, month_deals, client_for):
    services.changes.apply_org(org(REPORTS, {"reps_view": {"run_as": "rep", "components": [
        {"report": "deals_this_month", "display": "metric", "summary": "count"}]}}), author="test", message="d")
    assert api.get("/api/v1/dashboards/reps_view").get_json()["components"][0]["value"] == 0   # the rep owns none
    services.changes.apply_org(org(REPORTS, {"reps_view": {"run_as": "nobody", "components": [
        {"report": "deals_this_month"}]}}), author="test", message="d")
    r = api.get("/api/v1/dashboards/reps_view")
    assert r.status_code == 400 and "nobody" in r.get_json()["error"]["message"]


@pytest.mark.parametrize("dashboard, fragment", [
    ({"components": [{"report": "nosuch"}]}, "there is no report 'nosuch'"),
    ({"components": [{"report": "deals_this_month", "display": "gauge"}]}, "a gauge needs a target"),
    ({"filters": [{"name": "x", "field": "nosuch"}], "components": [{"report": "deals_this_month"}]}, "nosuch"),
    ({"components": [{"report": "plain", "compare": "previous_period"}]}, "no previous period"),
])
def test_bad_dashboards_are_refused(services, dashboard, fragment):
    reports = {**REPORTS, "plain": {"object": "deal", "columns": ["name"]}}
    with pytest.raises(MetadataInvalid) as err:
        services.changes.apply_org(org(reports, {"bad": dashboard}), author="test", message="bad")
    assert fragment in str(err.value)
