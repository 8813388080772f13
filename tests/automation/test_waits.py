"""The `wait` workflow action: a run pauses (logged `waiting`, its resume job queued in the write's
transaction) and a real worker continues it — through the API, the CLI and the record page. Both
databases."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from test_workflows import apply, runs, signed_in
from worker_threads import run_jobs

from tessera.meta.errors import MetadataInvalid

ROOT = Path(__file__).resolve().parents[2]


def _run(api, workflow):
    [entry] = runs(api, workflow=workflow)
    return entry


def _resume_jobs(services):
    from tessera.automation import list_jobs
    from tessera.storage.engine import begin_read
    with begin_read(services.engine) as conn:
        return list_jobs(conn, kind="workflow.resume", limit=100)


def _settled(api, workflow):
    return lambda: [r["status"] for r in runs(api, workflow=workflow)] not in ([], ["waiting"])


def test_a_run_waits_then_a_worker_continues_it_inside_its_branch(services, api):
    apply(services, {"nurture": {
        "object": "deal", "trigger": {"event": "create"},
        "actions": [
            {"type": "update_record", "values": {"probability": "20"}},
            {"type": "wait", "duration": "1s"},
            {"type": "if", "condition": "probability == 20", "then": [
                {"type": "wait", "label": "until yesterday", "until": "ADD_DAYS(NOW(), -1)"},   # past: at once
                {"type": "update_record", "values": {"amount": "500"}}]},
            {"type": "update_record", "values": {"name": "name + ' (nurtured)'"}}]}})
    deal = api.post("/api/v1/records/deal", json={"name": "Acme"}).json
    assert deal["probability"] == 20 and deal["amount"] is None          # the steps before the wait ran
    run = _run(api, "nurture")
    assert run["status"] == "waiting" and run["finished_at"] is None and run["resume_at"] > run["started_at"]
    assert [(s["step"], s["status"]) for s in run["steps"]] == [("actions.0", "done"), ("actions.1", "waiting")]
    [job] = _resume_jobs(services)                                         # queued with the write
    assert job.status == "ready" and job.payload == {"run": run["id"], "step": "actions.1"}
    assert [r["id"] for r in runs(api, status="waiting")] == [run["id"]]

    run_jobs(services, until=_settled(api, "nurture"))
    after = api.get(f"/api/v1/records/deal/{deal['id']}").json
    assert (after["probability"], after["amount"], after["name"]) == (20, 500, "Acme (nurtured)")
    run = _run(api, "nurture")                                              # one run, steps appended
    assert run["status"] == "succeeded" and run["resume_at"] is None and run["finished_at"]
    assert [(s["step"], s["action"], s["status"]) for s in run["steps"]] == [
        ("actions.0", "update_record", "done"), ("actions.1", "wait", "done"), ("actions.2", "if", "done"),
        ("actions.2.then.0", "wait", "done"), ("actions.2.then.1", "update_record", "done"),
        ("actions.3", "update_record", "done")]
    assert all("resumed_at" in s["detail"] for s in run["steps"] if s["action"] == "wait")
    assert all(j.status == "done" for j in _resume_jobs(services))


def test_a_record_deleted_while_waiting_ends_the_run_cancelled(services, api):
    apply(services, {"later": {"object": "deal", "trigger": {"event": "create"},
                               "actions": [{"type": "wait", "duration": 1},
                                           {"type": "update_record", "values": {"probability": "90"}}]}})
    deal = api.post("/api/v1/records/deal", json={"name": "Gone soon"}).json
    assert api.delete(f"/api/v1/records/deal/{deal['id']}").status_code == 204
    run_jobs(services, until=_settled(api, "later"))
    run = _run(api, "later")
    assert run["status"] == "cancelled" and "deleted" in run["error"]
    assert [s["action"] for s in run["steps"]] == ["wait"]                    # nothing ran after the wait


def test_the_condition_is_checked_again_unless_the_wait_says_otherwise(services, api):
    condition = "BLANKVALUE(amount, 0) < 1000"
    apply(services, {
        "small_checked": {"object": "deal", "trigger": {"event": "create", "condition": condition},
                          "actions": [{"type": "wait", "duration": "0s"},
                                      {"type": "update_record", "values": {"probability": "30"}}]},
        "small_anyway": {"object": "deal", "trigger": {"event": "create", "condition": condition},
                         "actions": [{"type": "wait", "duration": "0s", "recheck_condition": False},
                                     {"type": "update_record", "values": {"name": "'Checked anyway'"}}]}})
    deal = api.post("/api/v1/records/deal", json={"name": "Small", "amount": 10}).json
    assert api.patch(f"/api/v1/records/deal/{deal['id']}", json={"amount": 5000}).status_code == 200
    run_jobs(services, until=lambda: _settled(api, "small_checked")() and _settled(api, "small_anyway")())
    checked, anyway = _run(api, "small_checked"), _run(api, "small_anyway")
    assert checked["status"] == "cancelled" and "condition no longer holds" in checked["error"]
    assert anyway["status"] == "succeeded"
    after = api.get(f"/api/v1/records/deal/{deal['id']}").json
    assert (after["name"], after["probability"]) == ("Checked anyway", 10)


def test_a_failing_resumed_step_fails_the_run_and_leaves_the_first_write(services, api):
    apply(services, {"breaks": {"object": "deal", "trigger": {"event": "create"},
                                "actions": [{"type": "update_record", "values": {"probability": "40"}},
                                            {"type": "wait", "until": "TODAY()"},
                                            {"type": "update_record", "values": {"name": "'Renamed'"}},
                                            {"type": "update_record", "values": {"amount": "-5"}}]}})
    deal = api.post("/api/v1/records/deal", json={"name": "Kept"}).json
    run_jobs(services, until=_settled(api, "breaks"))
    run = _run(api, "breaks")
    assert run["status"] == "failed" and "actions.3" in run["error"]
    assert [s["status"] for s in run["steps"]][-1] == "failed"
    after = api.get(f"/api/v1/records/deal/{deal['id']}").json
    assert (after["name"], after["probability"], after["amount"]) == ("Kept", 40, None)   # resumed part rolled back
    assert all(j.status == "done" for j in _resume_jobs(services))            # failed, not retried forever

    # the admin fixes the step; the retry runs every step after the wait again (they were rolled
    # back together), not only the failed one, and never the steps before it
    apply(services, {"breaks": {"object": "deal", "trigger": {"event": "create"},
                                "actions": [{"type": "update_record", "values": {"probability": "40"}},
                                            {"type": "wait", "until": "TODAY()"},
                                            {"type": "update_record", "values": {"name": "'Renamed'"}},
                                            {"type": "update_record", "values": {"amount": "5"}}]}})
    api.patch(f"/api/v1/records/deal/{deal['id']}", json={"probability": 41})
    retried = api.post(f"/api/v1/workflow-runs/{run['id']}/retry")
    assert retried.status_code == 200, retried.json
    assert retried.json["run"]["status"] == "succeeded" and retried.json["run"]["retry_of"] == run["id"]
    assert [s["step"] for s in retried.json["run"]["steps"]] == ["actions.2", "actions.3"]
    after = api.get(f"/api/v1/records/deal/{deal['id']}").json
    assert (after["name"], after["probability"], after["amount"]) == ("Renamed", 41, 5)


def test_a_manual_run_that_waits_says_so(services, api):
    apply(services, {"poke": {"object": "company", "trigger": {"event": "manual"},
                              "actions": [{"type": "wait", "duration": "2d"},
                                          {"type": "update_record", "values": {"employees": "7"}}]}})
    company = api.post("/api/v1/records/company", json={"name": "Initech"}).json
    done = api.post("/api/v1/workflows/poke/run", json={"records": [company["id"]]})
    assert done.status_code == 200, done.json
    [result] = done.json["results"]
    assert result["status"] == "waiting"
    [job] = _resume_jobs(services)
    assert (job.run_at - job.created_at).total_seconds() == pytest.approx(2 * 86400, abs=5)


def test_the_record_page_and_the_cli_show_a_waiting_run(services, app, api, db_url):
    apply(services, {"remind": {"object": "company", "trigger": {"event": "create"},
                                "actions": [{"type": "wait", "duration": "3d"},
                                            {"type": "update_record", "values": {"employees": "1"}}]}})
    company = api.post("/api/v1/records/company", json={"name": "Umbrella"}).json
    run = _run(api, "remind")
    browser = signed_in(app)
    html = browser.get(f"/app/testapp/company/{company['id']}").get_data(as_text=True)
    assert 'data-workflow="remind"' in html and "run-waiting" in html
    assert f'datetime="{run["resume_at"]}"' in html
    assert f'data-resumes="{run["id"]}"' in html and "(continues after a wait)" in html   # under Scheduled
    setup = browser.get("/setup/workflow-runs/?status=waiting").get_data(as_text=True)
    assert f'data-run="{run["id"]}"' in setup and 'data-status="waiting"' in setup
    assert "Resumes</dt>" in setup and run["resume_at"][:10] in setup
    out = subprocess.run([sys.executable, str(ROOT / "cli.py"), "runs", "--status", "waiting", "--database", db_url],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "waiting" in out.stdout and "remind" in out.stdout and "resumes at " + run["resume_at"][:10] in out.stdout
    api_bad = api.get("/api/v1/workflow-runs", query_string={"status": "sleeping"})
    assert api_bad.status_code == 400 and "waiting" in api_bad.json["error"]["message"]


@pytest.mark.parametrize("doc, where, words", [
    ({"object": "deal", "trigger": {"event": "create", "timing": "before_save"},
      "actions": [{"type": "wait", "duration": "1h"}]}, "actions.0.type", "before-save workflow cannot wait"),
    ({"object": "deal", "trigger": {"event": "create", "timing": "before_save"},
      "actions": [{"type": "if", "condition": "true", "then": [{"type": "wait", "duration": "1h"}]}]},
     "actions.0.then.0.type", "before-save workflow cannot wait"),
    ({"object": "deal", "trigger": {"event": "delete"}, "actions": [{"type": "wait", "duration": "1h"}]},
     "actions.0.type", "record to come back to"),
    ({"object": "deal", "trigger": {"event": "create"}, "actions": [{"type": "wait"}]}, "actions.0", "exactly one"),
    ({"object": "deal", "trigger": {"event": "create"},
      "actions": [{"type": "wait", "duration": "1h", "until": "close_date"}]}, "actions.0", "exactly one"),
    ({"object": "deal", "trigger": {"event": "create"}, "actions": [{"type": "wait", "duration": "soon"}]},
     "actions.0.duration", "not a duration"),
    ({"object": "deal", "trigger": {"event": "create"}, "actions": [{"type": "wait", "until": "name"}]},
     "actions.0.until", "date or a datetime"),
    ({"object": "deal", "trigger": {"event": "create"}, "actions": [{"type": "wait", "until": "nope"}]},
     "actions.0.until", "nope"),
])
def test_invalid_waits_are_refused_naming_file_and_path(services, doc, where, words):
    with pytest.raises(MetadataInvalid) as caught:
        apply(services, {"bad": doc})
    found = [(e.source, e.path, e.message) for e in caught.value.errors]
    assert any(src == "workflows/bad.yaml" and path == where and words in message
               for src, path, message in found), found


def test_a_rolled_back_write_leaves_nothing_waiting(services, api):
    apply(services, {"a_waits": {"object": "deal", "trigger": {"event": "create"},
                                 "actions": [{"type": "wait", "duration": "1h"},
                                             {"type": "update_record", "values": {"probability": "50"}}]},
                     "b_breaks": {"object": "deal", "trigger": {"event": "create"},    # runs after a_waits
                                  "actions": [{"type": "update_record", "values": {"amount": "-1"}}]}})
    answer = api.post("/api/v1/records/deal", json={"name": "Never"})
    assert answer.status_code == 422 and answer.json["error"]["code"] == "workflow_failed"
    assert runs(api, workflow="a_waits") == [] and _resume_jobs(services) == []   # the pause rolled back with it
    assert [r["status"] for r in runs(api, workflow="b_breaks")] == ["failed"]


def test_approval_actions_cannot_wait(services):
    from approval_helpers import apply as apply_kinds
    with pytest.raises(MetadataInvalid) as caught:
        apply_kinds(services, approval_processes={"bad": {
            "object": "deal", "steps": [{"approvers": [{"type": "manager"}]}],
            "on_approve": [{"type": "wait", "duration": "1d"}]}})
    found = [(e.source, e.path, e.message) for e in caught.value.errors]
    assert any(src == "approval_processes/bad.yaml" and path == "on_approve.0.type" and "wait is not allowed" in message
               for src, path, message in found), found
