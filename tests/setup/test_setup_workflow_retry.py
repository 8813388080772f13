"""Setup → Automation → Run Log: "Retry from failed step" on a failed manual run (a POST with
CSRF), after the admin fixed the failing step in a new version. Both databases."""
from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "automation"))
from test_workflow_retry import BROKEN_AMOUNT, FIXED_AMOUNT, close_out, deal_names, failed_manual_run  # noqa: E402
from test_workflows import apply  # noqa: E402


def run_cards(page: str) -> list[tuple[str, str]]:
    return re.findall(r'data-run="([^"]+)" data-status="(\w+)"', page)


def test_retry_from_the_failed_step_on_the_run_log(admin, services, api):
    apply(services, close_out(BROKEN_AMOUNT))
    _deal, run_id = failed_manual_run(services, api)
    page = admin.get("/setup/workflow-runs/?status=failed").get_data(as_text=True)
    assert run_cards(page) == [(run_id, "failed")]
    assert f'action="/setup/workflow-runs/{run_id}/retry"' in page and "Retry from failed step" in page
    assert "<code>actions.1.then.0</code>" in page                       # where it failed

    # without the CSRF token: refused, nothing ran
    assert admin.post(f"/setup/workflow-runs/{run_id}/retry", csrf=False).status_code == 400
    assert deal_names(api) == ["D1"]

    apply(services, close_out(FIXED_AMOUNT))
    done = admin.post(f"/setup/workflow-runs/{run_id}/retry", follow_redirects=True)
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and "Retried from the failed step" in html and "succeeded" in html
    cards = run_cards(html)
    assert cards[0][1] == "succeeded" and cards[1] == (run_id, "failed")
    new_id = cards[0][0]
    assert f"retried by <a href=\"#run-{new_id}\">" in html
    assert f'action="/setup/workflow-runs/{run_id}/retry"' not in html   # retried: no second button
    assert deal_names(api) == ["D1", "Follow-up D1"]

    # a second retry (a stale page): the refusal is shown, nothing runs twice
    again = admin.post(f"/setup/workflow-runs/{run_id}/retry", follow_redirects=True)
    assert again.status_code == 200 and "Not retried" in again.get_data(as_text=True)
    assert "retried already" in again.get_data(as_text=True)
    assert deal_names(api) == ["D1", "Follow-up D1"]
    assert admin.post("/setup/workflow-runs/00000000-0000-0000-0000-000000000000/retry").status_code == 404
    assert admin.post("/setup/workflow-runs/not-a-run/retry", follow_redirects=True).status_code == 200


def test_a_record_triggered_failure_offers_no_retry(admin, services, api):
    apply(services, {"touch": {
        "object": "deal", "trigger": {"event": "update"},
        "actions": [{"type": "create_record", "object": "deal", "values": {"name": "'Copy'", "amount": "-1"}}]}})
    deal = api.post("/api/v1/records/deal", json={"name": "D"}).json
    assert api.patch(f"/api/v1/records/deal/{deal['id']}", json={"amount": 5}).status_code == 422
    page = admin.get("/setup/workflow-runs/?status=failed").get_data(as_text=True)
    assert "Retry from failed step" not in page and "save the record again" in page


def test_non_admins_cannot_retry(make_browser, services, api):
    apply(services, close_out(BROKEN_AMOUNT))
    _deal, run_id = failed_manual_run(services, api)
    assert make_browser("rep1").post(f"/setup/workflow-runs/{run_id}/retry").status_code == 403
    assert deal_names(api) == ["D1"]
