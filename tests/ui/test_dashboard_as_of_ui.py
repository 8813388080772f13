"""A dashboard with `cache_minutes` on an app's home page says when its figures were computed and
offers to recompute them (issue 15). Both databases."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import update

from tessera.security.actor import SYSTEM
from tessera.storage.platform_tables import dashboard_snapshots

REPORT = {"name": "deals_by_stage", "object": "deal", "format": "summary", "groupings": ["stage"], "summaries": ["count"]}


def install(services, **dashboard):
    services.changes.apply_org({"manifest": None, "components": {
        "reports": {"deals_by_stage": {"source": "reports/deals_by_stage.yaml", "doc": REPORT}},
        "dashboards": {"home": {"source": "dashboards/home.yaml", "doc": {
            "name": "home", "label": "Deals at a glance",
            "components": [{"report": "deals_by_stage", "display": "metric", "title": "Deals"}], **dashboard}}},
        "apps": {"testapp": {"source": "apps/testapp.yaml", "doc": {
            "name": "testapp", "label": "Test App", "tabs": ["company", "deal"], "dashboard": "home"}}}}},
        author="test", message="home dashboard")


def metric(html: str) -> str:
    return re.search(r'class="metric-figure">([^<]*)<', html).group(1).strip()


def test_the_home_page_says_as_of_when_and_refreshes(services, admin):
    install(services, cache_minutes=30)
    services.records.create(SYSTEM, "deal", {"name": "A", "close_date": date.today().isoformat()})
    page = admin.html("/app/testapp")
    assert metric(page) == "1" and 'id="dashboard-as-of"' in page
    href = re.search(r'<a class="small mr-2" href="([^"]*)" id="dashboard-refresh"', page).group(1)
    assert "refresh=1" in href
    services.records.create(SYSTEM, "deal", {"name": "B", "close_date": date.today().isoformat()})
    assert metric(admin.html("/app/testapp")) == "1"                 # as of the first view
    with services.engine.begin() as conn:                             # a minute later, Refresh recomputes
        conn.execute(update(dashboard_snapshots).values(computed_at=datetime.now(timezone.utc) - timedelta(minutes=2)))
    assert metric(admin.html(href.replace("&amp;", "&"))) == "2"


def test_a_live_dashboard_has_no_as_of_line(services, admin):
    install(services)
    services.records.create(SYSTEM, "deal", {"name": "A", "close_date": date.today().isoformat()})
    page = admin.html("/app/testapp")
    assert metric(page) == "1" and 'id="dashboard-as-of"' not in page and 'id="dashboard-refresh"' not in page
