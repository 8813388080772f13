"""Retrying a failed workflow run from its failed step: the API, the CLI and what is refused.
A real failing step (a create that breaks a validation rule), fixed by the admin in a new metadata
version, then retried. Both databases."""
from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

from test_workflows import apply, runs

ROOT = Path(__file__).resolve().parents[2]

# step 0 notifies, the `if` takes its then-branch, whose first step creates a follow-up deal with a
# negative amount: the deal's validation rule refuses it. The fixed version uses the amount as is.
BROKEN_AMOUNT, FIXED_AMOUNT = "amount * -1", "amount"


def close_out(amount_expression: str, **extra) -> dict:
    return {"close_out": {
        "object": "deal", "trigger": {"event": "manual"},
        "actions": [
            {"type": "notify", "to": ["owner"], "title": "'Closing ' + name"},
            {"type": "if", "condition": "amount > 0",
             "then": [{"type": "create_record", "object": "deal",
                       "values": {"name": "'Follow-up ' + name", "amount": amount_expression}},
                      {"type": "update_record", "values": {"probability": "50"}}],
             "else": [{"type": "update_record", "values": {"probability": "0"}}]},
            {"type": "update_record", "values": {"stage": "'Working'"}},
        ]}, **extra}


def failed_manual_run(services, api, name="D1"):
    deal = api.post("/api/v1/records/deal", json={"name": name, "amount": 200}).json
    result = api.post("/api/v1/workflows/close_out/run", json={"records": [deal["id"]]}).json["results"][0]
    assert result["status"] == "failed", result
    return deal, result["run_id"]


def deal_names(api):
    return sorted(d["name"] for d in api.get("/api/v1/records/deal", query_string={"fields": "name"}).json["records"])


def test_a_failed_manual_run_is_retried_from_its_failed_step_under_the_new_version(services, api):
    apply(services, close_out(BROKEN_AMOUNT))
    deal, run_id = failed_manual_run(services, api)
    [failed] = runs(api, status="failed")
    assert failed["id"] == run_id and failed["failed_step"] == "actions.1.then.0" and failed["retried_by"] is None
    # the steps before the failure stayed done (an asynchronous run is not all-or-nothing)
    assert [n["title"] for n in api.get("/api/v1/notifications").json["notifications"]] == ["Closing D1"]
    assert deal_names(api) == ["D1"]
    assert api.get(f"/api/v1/records/deal/{deal['id']}").json["stage"] == "New"
    broken_version = failed["version"]

    apply(services, close_out(FIXED_AMOUNT))   # the admin fixes the step: a new version
    response = api.post(f"/api/v1/workflow-runs/{run_id}/retry")
    assert response.status_code == 200, response.json
    new, original = response.json["run"], response.json["original"]
    assert new["status"] == "succeeded" and new["retry_of"] == run_id and new["event"] == "manual"
    assert new["version"] > broken_version and original["version"] == broken_version
    assert original["retried_by"] == new["id"] and original["status"] == "failed"
    # from the failed step on, inside the branch, then the step after the `if`
    assert [s["step"] for s in new["steps"]] == ["actions.1.then.0", "actions.1.then.1", "actions.2"]
    assert deal_names(api) == ["D1", "Follow-up D1"]
    after = api.get(f"/api/v1/records/deal/{deal['id']}").json
    assert after["probability"] == 50 and after["stage"] == "Working"
    # the notification before the failure was not sent twice
    assert len(api.get("/api/v1/notifications").json["notifications"]) == 1
    # the log shows both ways
    listed = {r["id"]: r for r in runs(api, workflow="close_out")}
    assert listed[run_id]["retried_by"] == new["id"] and listed[new["id"]]["retry_of"] == run_id

    # a run is retried once; a run that succeeded is not retried
    again = api.post(f"/api/v1/workflow-runs/{run_id}/retry")
    assert again.status_code == 409 and again.json["error"]["code"] == "run_already_retried"
    assert again.json["error"]["retried_by"] == new["id"]
    ok = api.post(f"/api/v1/workflow-runs/{new['id']}/retry")
    assert ok.status_code == 409 and ok.json["error"]["code"] == "run_not_failed"
    assert deal_names(api) == ["D1", "Follow-up D1"]


def test_a_retry_that_fails_again_is_a_failed_run_that_can_be_retried_in_turn(services, api):
    apply(services, close_out(BROKEN_AMOUNT))
    deal, run_id = failed_manual_run(services, api)
    response = api.post(f"/api/v1/workflow-runs/{run_id}/retry")   # nothing fixed yet
    assert response.status_code == 200
    second = response.json["run"]
    assert second["status"] == "failed" and second["retry_of"] == run_id and second["failed_step"] == "actions.1.then.0"
    assert "amount_not_negative" in str(second["steps"][-1])
    apply(services, close_out(FIXED_AMOUNT))
    third = api.post(f"/api/v1/workflow-runs/{second['id']}/retry").json["run"]
    assert third["status"] == "succeeded" and third["retry_of"] == second["id"]
    assert deal_names(api) == ["D1", "Follow-up D1"]


def test_a_failed_time_relative_run_is_retried_on_behalf_of_the_owner(services, api):
    from worker_threads import run_jobs

    def nudge(amount_expression):
        return {"nudge": {"object": "deal", "trigger": {"event": "time_relative", "field": "close_date",
                                                        "offset": {"hours": 1}},
                          "actions": [{"type": "notify", "to": ["owner"], "title": "'Due: ' + name"},
                                      {"type": "create_record", "object": "deal",
                                       "values": {"name": "'Next ' + name", "amount": amount_expression}}]}}
    apply(services, nudge("-1"))
    deal = api.post("/api/v1/records/deal", json={"name": "Late", "close_date": "2020-01-01"}).json  # due at once
    run_jobs(services, until=lambda: len(runs(api, workflow="nudge")) >= 1)
    [failed] = runs(api, workflow="nudge")
    assert failed["status"] == "failed" and failed["event"] == "time_relative" and failed["failed_step"] == "actions.1"
    apply(services, nudge("1"))
    retried = api.post(f"/api/v1/workflow-runs/{failed['id']}/retry").json["run"]
    assert retried["status"] == "succeeded" and retried["event"] == "time_relative"
    assert retried["actor"] == deal["owner"]                      # on the owner's behalf, as the job ran
    assert [s["step"] for s in retried["steps"]] == ["actions.1"]
    assert deal_names(api) == ["Late", "Next Late"]
    assert [n["title"] for n in api.get("/api/v1/notifications").json["notifications"]] == ["Due: Late"]


def test_retry_refusals_name_the_reason(services, api, client_for):
    apply(services, close_out(BROKEN_AMOUNT))
    deal, run_id = failed_manual_run(services, api)
    assert api.post("/api/v1/workflow-runs/not-a-run/retry").status_code == 400
    missing = api.post(f"/api/v1/workflow-runs/{uuid.uuid4()}/retry")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    rep, _ = services.identity.create_user("rep1", password="Tq7-violet-harbor-92", profile="standard_user")
    assert client_for(rep).post(f"/api/v1/workflow-runs/{run_id}/retry").status_code == 403

    # the record was deleted meanwhile
    assert api.delete(f"/api/v1/records/deal/{deal['id']}").status_code == 204
    gone = api.post(f"/api/v1/workflow-runs/{run_id}/retry")
    assert gone.status_code == 409 and gone.json["error"]["code"] == "record_deleted"
    assert gone.json["error"]["record_id"] == deal["id"] and gone.json["error"]["object"] == "deal"

    # the workflow was deactivated
    _deal, other_run = failed_manual_run(services, api, name="D2")
    apply(services, {"close_out": {**close_out(BROKEN_AMOUNT)["close_out"], "active": False}})
    inactive = api.post(f"/api/v1/workflow-runs/{other_run}/retry")
    assert inactive.status_code == 409 and inactive.json["error"]["code"] == "workflow_unavailable"

    # the failed step is no longer in the workflow
    apply(services, {"close_out": {"object": "deal", "trigger": {"event": "manual"},
                                   "actions": [{"type": "update_record", "values": {"probability": "1"}}]}})
    moved = api.post(f"/api/v1/workflow-runs/{other_run}/retry")
    assert moved.status_code == 409 and moved.json["error"]["code"] == "step_unavailable"


def test_a_record_triggered_run_is_not_retried_its_write_was_rolled_back(services, api):
    apply(services, {"touch": {
        "object": "deal", "trigger": {"event": "update"},
        "actions": [{"type": "create_record", "object": "deal", "values": {"name": "'Copy'", "amount": "-1"}}]}})
    deal = api.post("/api/v1/records/deal", json={"name": "D"}).json
    assert api.patch(f"/api/v1/records/deal/{deal['id']}", json={"amount": 5}).status_code == 422
    [failed] = runs(api, status="failed")
    refused = api.post(f"/api/v1/workflow-runs/{failed['id']}/retry")
    assert refused.status_code == 409
    error = refused.json["error"]
    assert error["code"] == "write_rolled_back" and "the write was rolled back; save the record again" in error["message"]
    assert deal_names(api) == ["D"]


def test_cli_retries_a_run(services, api, db_url):
    apply(services, close_out(BROKEN_AMOUNT))
    deal, run_id = failed_manual_run(services, api)
    cli = [sys.executable, str(ROOT / "cli.py"), "runs", "--database", db_url]
    listed = subprocess.run([*cli, "--status", "failed"], capture_output=True, text=True)
    assert listed.returncode == 0 and run_id in listed.stdout and "failed at actions.1.then.0" in listed.stdout
    apply(services, close_out(FIXED_AMOUNT))
    done = subprocess.run([*cli, "--retry", run_id], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "succeeded" in done.stdout and f"retry of {run_id}" in done.stdout
    assert deal_names(api) == ["D1", "Follow-up D1"]
    shown = subprocess.run([*cli, "--workflow", "close_out"], capture_output=True, text=True)
    assert "retried by" in shown.stdout
    again = subprocess.run([*cli, "--retry", run_id], capture_output=True, text=True)
    assert again.returncode != 0 and "retried already" in again.stderr
    bad = subprocess.run([*cli, "--retry", "nope"], capture_output=True, text=True)
    assert bad.returncode != 0 and "not a workflow run id" in bad.stderr
    unknown = subprocess.run([*cli, "--retry", str(uuid.uuid4())], capture_output=True, text=True)
    assert unknown.returncode != 0 and "no workflow run" in unknown.stderr


def test_an_older_run_log_gains_the_retry_columns(engine):
    """A database made before retries: ensure_platform_tables adds failed_step, retry_of and its
    unique index (nullable columns, so the old rows take them)."""
    from sqlalchemy import Column, MetaData, Table, inspect
    from tessera.changes import ensure_platform_tables
    from tessera.storage.platform_tables import workflow_runs
    from tessera.storage.engine import begin_write
    old = MetaData()
    Table(workflow_runs.name, old, *(Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
                                     for c in workflow_runs.columns if c.name not in ("failed_step", "retry_of")))
    with begin_write(engine) as conn:
        old.create_all(conn)
    ensure_platform_tables(engine)
    inspector = inspect(engine)
    columns = {c["name"] for c in inspector.get_columns(workflow_runs.name)}
    assert {"failed_step", "retry_of"} <= columns
    unique = [ix for ix in inspector.get_indexes(workflow_runs.name) if ix["column_names"] == ["retry_of"]]
    assert unique and unique[0]["unique"]
