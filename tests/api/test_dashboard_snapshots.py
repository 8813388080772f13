"""Dashboards with `cache_minutes` (issue 15 §2, performance): their figures are kept as of their
computation and served from that snapshot while fresh; `refresh=true` recomputes them (at most once
a minute); a snapshot belongs to whom it ran as, so one person's figures are never another's, and
to the metadata version. A dashboard without it is live. Both databases."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from tessera.meta.errors import MetadataInvalid
from tessera.storage.platform_tables import dashboard_snapshots

from test_dashboards_api import REPORTS, org

TODAY = date.today().isoformat()
COUNT = {"report": "deals_this_month", "display": "metric", "summary": "count"}


def deal(api, amount=10):
    assert api.post("/api/v1/records/deal", json={"name": "D", "amount": amount, "close_date": TODAY}).status_code == 201


def dashboard(services, **options):
    services.changes.apply_org(org(REPORTS, {"home": {"components": [COUNT, dict(COUNT, summary="sum:amount")],
                                                      **options}}), author="test", message="dashboard")


def age_snapshots(services, minutes: float):
    with services.engine.begin() as conn:
        conn.execute(update(dashboard_snapshots).values(
            computed_at=datetime.now(timezone.utc) - timedelta(minutes=minutes)))


def figures(client, **query):
    r = client.get("/api/v1/dashboards/home", query_string=query)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    return body["cached"], [c["value"] for c in body["components"]], body["as_of"]


def test_a_cached_dashboard_answers_from_its_snapshot_until_it_is_old(api, services):
    dashboard(services, cache_minutes=10)
    deal(api, 100)
    cached, values, as_of = figures(api)
    assert (cached, values) == (False, [1, 100.0])
    datetime.fromisoformat(as_of)                          # an ISO time
    deal(api, 5)
    assert figures(api) == (True, [1, 100.0], as_of)       # as of the first computation
    # a refresh within the minute answers the snapshot too (a refresh costs every component's query)
    assert figures(api, refresh="true")[:2] == (True, [1, 100.0])
    age_snapshots(services, 2)
    cached, values, later = figures(api, refresh="true")
    assert (cached, values) == (False, [2, 105.0]) and later > as_of
    deal(api, 1)
    age_snapshots(services, 11)                            # older than cache_minutes: recomputed on view
    assert figures(api)[:2] == (False, [3, 106.0])


def test_a_snapshot_belongs_to_whom_it_ran_as(api, services, client_for):
    rep, _ = services.identity.create_user("rep", password="velvet-orbit-quarry-3", last_name="Rep",
                                           profile="tp_rep", role="tp_worker")
    dashboard(services, cache_minutes=10)
    deal(api, 100)
    assert figures(api)[1] == [1, 100.0]
    # the rep owns none of the deals: her own computation, never the admin's snapshot
    assert figures(client_for(rep))[:2] == (False, [0, None])
    assert figures(client_for(rep))[:2] == (True, [0, None])
    # a new metadata version is a new snapshot too
    deal(api, 1)
    dashboard(services, cache_minutes=10, label="Home, renamed")
    assert figures(api)[:2] == (False, [2, 101.0])


def test_a_live_dashboard_is_computed_on_every_view(api, services):
    dashboard(services)
    deal(api)
    assert figures(api)[:2] == (False, [1, 10.0])
    deal(api)
    assert figures(api)[:2] == (False, [2, 20.0])
    with services.engine.connect() as conn:
        assert conn.execute(dashboard_snapshots.select()).first() is None


def test_bad_refresh_values_and_a_filter_named_refresh(api, services):
    dashboard(services, cache_minutes=5)
    r = api.get("/api/v1/dashboards/home", query_string={"refresh": "soon"})
    assert r.status_code == 400 and "refresh" in r.get_json()["error"]["message"]
    with pytest.raises(MetadataInvalid) as err:
        services.changes.apply_org(org(REPORTS, {"bad": {"filters": [{"name": "refresh", "field": "stage"}],
                                                         "components": [COUNT]}}), author="test", message="bad")
    assert "refresh" in str(err.value)
    with pytest.raises(MetadataInvalid):
        services.changes.apply_org(org(REPORTS, {"bad": {"cache_minutes": 5000, "components": [COUNT]}}),
                                   author="test", message="bad")
