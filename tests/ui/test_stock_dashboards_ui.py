"""Each stock app's home page shows its dashboard (issue 15 §5): the Sales, Marketing and Service
homes render every component of sales_home / marketing_home / service_home, the "my work" tables
list the signed-in user's own records. Both databases."""
from __future__ import annotations

from pathlib import Path

import pytest

from tessera.security.actor import SYSTEM

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stock_apps(services, users):
    """The seeded stock apps (tests/conftest.py) with a task each for the admin and a rep, and a case."""
    admin = services.identity.find_user("admin")
    for subject, owner in [("Call the admin's client", admin), ("Not mine", users["rep"])]:
        services.records.create(SYSTEM, "task", {"subject": subject, "owner": owner["id"]})
    services.records.create(SYSTEM, "case", {"subject": "Printer on fire", "owner": admin["id"]})
    return services


@pytest.mark.parametrize("app_name, dashboard", [
    ("sales", "sales_home"), ("marketing", "marketing_home"), ("service", "service_home")])
def test_the_app_home_shows_its_dashboard(stock_apps, admin, app_name, dashboard):
    md = stock_apps.runtimes.current().metadata
    components = md.dashboards[dashboard]["components"]
    html = admin.html(f"/app/{app_name}")
    assert 'id="dashboard"' in html and "alert-warning" not in html
    assert html.count('class="card h-100 dashboard-component"') == len(components)
    for component in components:
        assert f'data-report="{component["report"]}"' in html
    assert 'data-report="my_open_tasks"' in html
    assert "Call the admin&#39;s client" in html and "Not mine" not in html
    if app_name == "service":
        assert "Printer on fire" in html
