"""Record-triggered workflows: metadata through the change pipeline, run by the record service's
writes (REST API here), logged with the version they ran under. Both databases."""
from __future__ import annotations

import re
import subprocess
import sys
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from worker_threads import run_jobs

from tessera.meta.errors import MetadataInvalid
from tessera.meta.source import load_package

ROOT = Path(__file__).resolve().parents[2]


def org_with(workflows: dict, objects: dict | None = None) -> dict:
    components = {"workflows": {name: {"source": f"workflows/{name}.yaml", "doc": {"name": name, **doc}}
                                for name, doc in workflows.items()}}
    if objects:
        components["objects"] = {name: {"source": f"objects/{name}.yaml", "doc": doc} for name, doc in objects.items()}
    return {"manifest": None, "components": components}


def apply(services, workflows, objects=None):
    return services.changes.apply_org(org_with(workflows, objects), author="test", message="workflows")


def csrf_in(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def signed_in(app, username="admin", password="orchid-lantern-42"):
    """A browser-like test client signed in through /login (session cookie + CSRF)."""
    browser = app.test_client()
    token = csrf_in(browser.get("/login").get_data(as_text=True))
    assert browser.post("/login", data={"username": username, "password": password,
                                        "csrf_token": token}).status_code == 302
    return browser


def runs(api, **params):
    response = api.get("/api/v1/workflow-runs", query_string=params)
    assert response.status_code == 200, response.json
    return response.json["runs"]


# -- stock automations ---------------------------------------------------------------------------


def test_stage_sets_probability_and_forecast_before_save(sales, api):
    created = api.post("/api/v1/records/opportunity", json={"name": "Big deal", "stage": "Prospecting"})
    assert created.status_code == 201, created.json
    opp = created.json
    assert opp["probability"] == 10 and opp["forecast_category"] == "Pipeline"
    assert created.headers["ETag"] == '"1"'     # the before-save update joined the create: one write
    moved = api.patch(f"/api/v1/records/opportunity/{opp['id']}", json={"stage": "Negotiation"})
    assert moved.json["probability"] == 80 and moved.json["forecast_category"] == "Commit"
    edited = api.patch(f"/api/v1/records/opportunity/{opp['id']}", json={"probability": 55})
    assert edited.json["probability"] == 55      # stage unchanged: the workflow leaves people's edits
    assert edited.json["forecast_category"] == "Commit"
    given = api.post("/api/v1/records/opportunity", json={"name": "Mine", "probability": 33})
    assert given.json["probability"] == 33 and given.json["forecast_category"] == "Pipeline"
    entries = runs(api, workflow="opportunity_stage_defaults", record=opp["id"])
    assert len(entries) == 2 and all(e["status"] == "succeeded" for e in entries)
    active = sales.changes.active_number()
    assert {e["version"] for e in entries} == {active}
    assert entries[0]["timing"] == "before_save" and entries[0]["steps"][0]["detail"]["values"] == {"forecast_category": "Commit"}
    assert [s["status"] for s in entries[0]["steps"]] == ["done", "done", "done"]   # set, if (then), set


def test_won_opportunity_creates_one_follow_up_task_for_its_owner(sales, api):
    opp = api.post("/api/v1/records/opportunity", json={"name": "Acme renewal", "stage": "Negotiation",
                                                         "amount": 5000}).json
    won = api.patch(f"/api/v1/records/opportunity/{opp['id']}",
                    json={"stage": "Closed Won", "close_date": date.today().isoformat()})
    assert won.status_code == 200, won.json
    tasks = api.get("/api/v1/records/task", query_string={"filter": "CONTAINS(subject, 'Acme renewal')",
                                                          "fields": "subject,owner,assigned_to,priority,created_by"}).json
    assert len(tasks["records"]) == 1
    task = tasks["records"][0]
    assert task["subject"] == "Follow up on won deal: Acme renewal"
    assert task["owner"] == opp["owner"] == task["assigned_to"] == task["created_by"]
    assert task["priority"] == "High"
    # still won, edited again: the condition did not *become* true, no second task
    api.patch(f"/api/v1/records/opportunity/{opp['id']}", json={"next_step": "Kick-off"})
    again = api.get("/api/v1/records/task", query_string={"filter": "CONTAINS(subject, 'Acme renewal')"}).json
    assert len(again["records"]) == 1
    [entry] = runs(api, workflow="opportunity_won_follow_up")
    assert entry["record_id"] == opp["id"] and entry["steps"][0]["detail"]["record_id"] == task["id"]


def test_task_completion_time_is_kept_by_a_core_workflow(services, api):
    task = api.post("/api/v1/records/task", json={"subject": "Call", "status": "Completed"}).json
    assert task["completed_at"] is not None
    reopened = api.patch(f"/api/v1/records/task/{task['id']}", json={"status": "In Progress"}).json
    assert reopened["completed_at"] is None
    open_task = api.post("/api/v1/records/task", json={"subject": "Later"}).json
    assert open_task["completed_at"] is None


# -- org workflows: actions, order of execution, failures ------------------------------------------

def test_before_save_values_are_checked_by_required_fields_and_rules(services, api):
    apply(services, {
        "deal_name": {"object": "deal", "trigger": {"event": "create", "timing": "before_save",
                                                    "condition": "ISBLANK(name)"},
                      "actions": [{"type": "update_record", "values": {"name": "'Deal for ' + TEXT(amount)"}}]},
        "deal_amount": {"object": "deal", "trigger": {"event": "update", "timing": "before_save",
                                                      "condition": "amount > 1000"},
                        "actions": [{"type": "update_record", "values": {"amount": "-1"}}]},
    })
    named = api.post("/api/v1/records/deal", json={"amount": 12})   # name is required: the workflow gives it
    assert named.status_code == 201, named.json
    assert named.json["name"] == "Deal for 12"
    refused = api.patch(f"/api/v1/records/deal/{named.json['id']}", json={"amount": 5000})
    assert refused.status_code == 422          # validation rules run after before-save updates
    assert refused.json["error"]["rules"][0]["name"] == "amount_not_negative"
    assert api.get(f"/api/v1/records/deal/{named.json['id']}").json["amount"] == 12


def test_after_save_updates_parent_and_a_failing_action_rolls_everything_back(services, api):
    apply(services, {
        "deal_touches_company": {
            "object": "deal", "trigger": {"event": "create_or_update", "condition": "ISCHANGED(stage) or ISBLANK(PRIORVALUE(stage))"},
            "actions": [
                {"type": "update_parent", "lookup": "company",
                 "values": {"last_contacted": "NOW()", "industry": "IF(amount > 100, 'Banking', 'Retail')"}},
                {"type": "if", "condition": "stage == 'Closed'",
                 "then": [{"type": "create_record", "object": "deal",
                           "values": {"name": "'Upsell ' + name", "company": "company", "amount": "amount * -1"}}]},
            ]},
    })
    company = api.post("/api/v1/records/company", json={"name": "Initech"}).json
    deal = api.post("/api/v1/records/deal", json={"name": "D1", "company": company["id"], "amount": 500})
    assert deal.status_code == 201, deal.json
    after = api.get(f"/api/v1/records/company/{company['id']}").json
    assert after["industry"] == "Banking" and after["last_contacted"] is not None
    # closing creates an upsell deal with a negative amount: its validation rule fails the action,
    # so the close itself is refused and nothing of it stays
    closing = api.patch(f"/api/v1/records/deal/{deal.json['id']}", json={"stage": "Closed"})
    assert closing.status_code == 422
    body = closing.json["error"]
    assert body["code"] == "workflow_failed" and body["workflow"] == "deal_touches_company"
    assert body["step"] == "actions.1.then.0" and body["cause"]["rules"][0]["name"] == "amount_not_negative"
    assert api.get(f"/api/v1/records/deal/{deal.json['id']}").json["stage"] == "New"
    assert len(api.get("/api/v1/records/deal").json["records"]) == 1
    failed = runs(api, status="failed")
    assert len(failed) == 1 and failed[0]["workflow"] == "deal_touches_company"
    assert failed[0]["steps"][-1]["status"] == "failed" and "amount_not_negative" in str(failed[0]["steps"][-1])


def test_a_loop_stops_at_the_depth_limit_and_nothing_is_saved(services, api):
    apply(services, {
        "ping": {"object": "deal", "trigger": {"event": "update"},
                 "actions": [{"type": "update_record", "values": {"probability": "probability + 1"}}]},
    })
    deal = api.post("/api/v1/records/deal", json={"name": "Loop"}).json
    response = api.patch(f"/api/v1/records/deal/{deal['id']}", json={"amount": 1})
    assert response.status_code == 422
    assert response.json["error"]["code"] == "workflow_failed"
    assert "loop" in response.json["error"]["message"]
    assert api.get(f"/api/v1/records/deal/{deal['id']}").json["amount"] is None


def test_bulk_create_runs_the_same_workflows(services, api):
    apply(services, {
        "deal_name": {"object": "deal", "trigger": {"event": "create", "timing": "before_save"},
                      "actions": [{"type": "update_record", "values": {"probability": "IF(amount > 100, 50, 5)"}}]},
        "deal_company": {"object": "deal", "trigger": {"event": "create"},
                         "actions": [{"type": "update_parent", "lookup": "company", "values": {"employees": "7"}}]},
    })
    company = api.post("/api/v1/records/company", json={"name": "Hooli"}).json
    rows = [{"name": f"B{i}", "amount": i * 100, "company": company["id"]} for i in range(3)]
    response = api.post("/api/v1/records/deal/bulk", json=rows)
    assert response.status_code == 201, response.json
    deals = api.get("/api/v1/records/deal", query_string={"sort": "name", "fields": "name,probability"}).json["records"]
    assert [d["probability"] for d in deals] == [5, 5, 50]
    assert api.get(f"/api/v1/records/company/{company['id']}").json["employees"] == 7
    assert len(runs(api, workflow="deal_name")) == 3


def test_inactive_workflows_do_not_run(services, api):
    apply(services, {"off": {"object": "deal", "active": False, "trigger": {"event": "create", "timing": "before_save"},
                             "actions": [{"type": "update_record", "values": {"probability": "99"}}]}})
    assert api.post("/api/v1/records/deal", json={"name": "x"}).json["probability"] == 10


# -- invalid metadata: refused at validation, naming file and path -------------------------------

@pytest.mark.parametrize("doc, where, words", [
    ({"object": "nope", "trigger": {"event": "create"}, "actions": [{"type": "update_record", "values": {"a": "1"}}]},
     "object", "no object 'nope'"),
    ({"object": "deal", "trigger": {"event": "create", "condition": "amount + 1"},
      "actions": [{"type": "update_record", "values": {"name": "'x'"}}]}, "trigger.condition", "boolean"),
    ({"object": "deal", "trigger": {"event": "create"}, "actions": [{"type": "update_record", "values": {"nope": "1"}}]},
     "actions.0.values.nope", "no field 'nope'"),
    ({"object": "deal", "trigger": {"event": "create"}, "actions": [{"type": "update_record", "values": {"amount": "'x'"}}]},
     "actions.0.values.amount", "must give a number"),
    ({"object": "deal", "trigger": {"event": "create"}, "actions": [{"type": "update_record", "values": {"expected": "1"}}]},
     "actions.0.values.expected", "computed"),
    ({"object": "deal", "trigger": {"event": "create", "timing": "before_save"},
      "actions": [{"type": "create_record", "object": "deal", "values": {"name": "'x'"}}]}, "actions.0.type", "after_save"),
    ({"object": "deal", "trigger": {"event": "create"},
      "actions": [{"type": "create_record", "object": "deal", "values": {"amount": "1"}}]}, "actions.0.values", "requires name"),
    ({"object": "deal", "trigger": {"event": "create"}, "actions": [{"type": "update_parent", "lookup": "name", "values": {"a": "1"}}]},
     "actions.0.lookup", "not a lookup"),
    ({"object": "deal", "trigger": {"event": "delete", "timing": "before_save"},
      "actions": [{"type": "update_parent", "lookup": "company", "values": {"employees": "1"}}]}, "trigger.timing", "after_save"),
    ({"object": "deal", "trigger": {"event": "create"}, "actions": [{"type": "send_fax"}]}, "actions.0.type", "not a workflow action"),
    ({"object": "deal", "trigger": {"event": "create"}, "actions": [{"type": "assign_owner", "user": "owner", "queue": "Q"}]},
     "actions.0", "exactly one"),
    ({"object": "deal", "trigger": {"event": "create"}, "actions": [{"type": "assign_owner", "user": "name"}]},
     "actions.0.user", "must give an id"),
    ({"object": "deal", "trigger": {"event": "create"},
      "actions": [{"type": "assign_owner", "queue": "Q", "busy_filter": "stage != 'Closed'"}]}, "actions.0.busy_filter", "least_busy"),
    ({"object": "deal", "trigger": {"event": "create", "timing": "before_save"},
      "actions": [{"type": "assign_owner", "queue": "Q"}]}, "actions.0.type", "after_save"),
    ({"object": "deal", "trigger": {"event": "create"}, "actions": [{"type": "update_record", "values": {"name": "'x'"}, "object": "deal"}]},
     "actions.0", "object"),
])
def test_invalid_workflows_are_refused_naming_file_and_path(services, doc, where, words):
    with pytest.raises(MetadataInvalid) as info:
        apply(services, {"bad": doc})
    messages = [(e.source, e.path, e.message) for e in info.value.errors]
    assert any(src == "workflows/bad.yaml" and path.startswith(where) and words in message
               for src, path, message in messages), messages


def test_cli_apply_refuses_an_invalid_workflow_file(tmp_path, db_url):
    env_run = [sys.executable, str(ROOT / "cli.py")]
    assert subprocess.run([*env_run, "init", "--database", db_url], capture_output=True, text=True).returncode == 0
    folder = tmp_path / "org" / "workflows"
    folder.mkdir(parents=True)
    (folder / "bad.yaml").write_text("name: bad\nobject: opportunity\ntrigger: {event: update}\n"
                                     "actions:\n  - {type: update_record, values: {stage: '42'}}\n")
    result = subprocess.run([*env_run, "apply", str(tmp_path / "org"), "--database", db_url, "--check-only"],
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "bad.yaml" in result.stderr + result.stdout and "actions.0.values.stage" in result.stderr + result.stdout


def test_runs_api_needs_setup_rights_and_checks_its_parameters(services, api, client_for):
    user, _ = services.identity.create_user("rep1", password="Tq7-violet-harbor-92", profile="standard_user")
    rep = client_for(user)
    assert rep.get("/api/v1/workflow-runs").status_code == 403
    assert api.get("/api/v1/workflow-runs", query_string={"limit": "0"}).status_code == 400
    assert api.get("/api/v1/workflow-runs", query_string={"status": "weird"}).status_code == 400
    assert api.get("/api/v1/workflow-runs", query_string={"record": "not-an-id"}).status_code == 400
    assert api.get("/api/v1/workflow-runs", query_string={"record": str(uuid.uuid4())}).json["runs"] == []


def test_cli_runs_lists_the_log(tmp_path, db_url):
    cli = [sys.executable, str(ROOT / "cli.py")]
    assert subprocess.run([*cli, "init", "--database", db_url], capture_output=True, text=True).returncode == 0
    empty = subprocess.run([*cli, "runs", "--database", db_url], capture_output=True, text=True)
    assert empty.returncode == 0 and "No workflow runs." in empty.stdout
    from tessera.security.actor import SYSTEM
    from tessera.services import Services
    services = Services.open(db_url, poll_seconds=0)
    try:
        services.records.create(SYSTEM, "task", {"subject": "Done already", "status": "Completed"})
    finally:
        services.engine.dispose()
    listed = subprocess.run([*cli, "runs", "--database", db_url, "--steps", "--workflow", "task_completed_at"],
                            capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    assert "succeeded" in listed.stdout and "task_completed_at" in listed.stdout and "completed_at" in listed.stdout
    bad = subprocess.run([*cli, "runs", "--database", db_url, "--record", "nope"], capture_output=True, text=True)
    assert bad.returncode != 0 and "not a record id" in bad.stderr


def test_a_partner_package_ships_a_workflow(sales, api):
    sales.changes.install_packages([load_package(ROOT / "extensions" / "examples" / "acme_invoicing")],
                                   author="test", message="acme")
    account = api.post("/api/v1/records/account", json={"name": "Acme"}).json
    invoice = api.post("/api/v1/records/acme__invoice", json={"account": account["id"]})
    assert invoice.status_code == 201, invoice.json
    assert invoice.json["paid_on"] is None
    paid = api.patch(f"/api/v1/records/acme__invoice/{invoice.json['id']}", json={"status": "Paid"})
    assert paid.json["paid_on"] == datetime.now(timezone.utc).date().isoformat()   # TODAY() is UTC
    refused = api.patch(f"/api/v1/records/acme__invoice/{invoice.json['id']}", json={"paid_on": "2020-01-01"})
    assert refused.status_code == 422 and "paid_on" in refused.json["error"]["fields"]   # read-only to people


def test_new_leads_go_round_robin_to_the_sales_reps_queue(sales, api):
    # without the queue, the lead keeps its owner and the run log says why
    lonely = api.post("/api/v1/records/lead", json={"last_name": "Alone", "company": "Solo"})
    assert lonely.status_code == 201, lonely.json
    [entry] = runs(api, workflow="lead_assignment")
    assert entry["steps"][0]["status"] == "skipped" and "no queue named 'Sales Reps'" in entry["steps"][0]["detail"]["reason"]
    reps = [sales.identity.create_user(f"rep{i}", password="Tq7-violet-harbor-92",
                                       profile="sales_rep")[0] for i in range(3)]
    gone = sales.identity.create_user("gone", password="Tq7-violet-harbor-92", profile="sales_rep",
                                      active=False)[0]
    queue = api.post("/api/v1/records/queue", json={"name": "Sales Reps"}).json
    for user in [*reps, gone]:
        assert api.post("/api/v1/records/queue_member", json={"queue": queue["id"], "user": user["id"]}).status_code == 201
    owners = [api.post("/api/v1/records/lead", json={"last_name": f"L{i}", "company": "Co"}).json["owner"]
              for i in range(6)]
    order = sorted((r["id"] for r in reps), key=lambda i: uuid.UUID(i).int)
    assert gone["id"] not in owners
    assert owners == order + order                 # each active member in turn
    # a refused write does not use up a turn
    assert api.post("/api/v1/records/lead", json={"company": "No name"}).status_code == 422
    assert api.post("/api/v1/records/lead", json={"last_name": "Next", "company": "Co"}).json["owner"] == order[0]


def test_least_busy_assignment_and_assigning_a_user(services, api):
    users = [services.identity.create_user(f"u{i}", password="Tq7-violet-harbor-92",
                                           profile="system_administrator")[0] for i in range(2)]
    queue = api.post("/api/v1/records/queue", json={"name": "Desk"}).json
    for user in users:
        api.post("/api/v1/records/queue_member", json={"queue": queue["id"], "user": user["id"]})
    busy, idle = users
    for i in range(2):
        api.post("/api/v1/records/deal", json={"name": f"open {i}", "owner": busy["id"]})
    for i in range(3):   # closed deals do not count as work
        api.post("/api/v1/records/deal", json={"name": f"closed {i}", "owner": idle["id"], "stage": "Closed",
                                               "amount": 1})
    apply(services, {"desk": {"object": "deal", "trigger": {"event": "create", "condition": "amount > 1000"},
                              "actions": [{"type": "assign_owner", "queue": "Desk", "method": "least_busy",
                                           "busy_filter": "stage != 'Closed'"}]},
                     "to_company_owner": {"object": "deal", "trigger": {"event": "create", "condition": "name == 'mine'"},
                                          "actions": [{"type": "assign_owner", "user": "company.owner"}]}})
    assert api.post("/api/v1/records/deal", json={"name": "big", "amount": 5000}).json["owner"] == idle["id"]
    company = api.post("/api/v1/records/company", json={"name": "Umbrella", "owner": busy["id"]}).json
    assert api.post("/api/v1/records/deal", json={"name": "mine", "company": company["id"]}).json["owner"] == busy["id"]


def test_notify_posts_to_the_bell_in_the_same_transaction(services, api, client_for, app):
    rep, _ = services.identity.create_user("notified", password="Tq7-violet-harbor-92", profile="system_administrator")
    apply(services, {"tell": {"object": "deal", "trigger": {"event": "create_or_update", "condition": "stage == 'Closed'"},
                              "actions": [{"type": "notify", "to": ["owner", "company.owner"],
                                           "title": "'Deal closed: ' + name", "message": "'Amount ' + TEXT(amount)"}]}})
    company = api.post("/api/v1/records/company", json={"name": "Wayne", "owner": rep["id"]}).json
    refused = api.post("/api/v1/records/deal", json={"name": "Nope", "stage": "Closed"})   # a rule refuses it
    assert refused.status_code == 422
    theirs = client_for(rep)
    assert theirs.get("/api/v1/notifications").json == {"notifications": [], "unread": 0}   # nothing of a rollback
    deal = api.post("/api/v1/records/deal", json={"name": "Big", "stage": "Closed", "amount": 10, "company": company["id"]}).json
    inbox = theirs.get("/api/v1/notifications").json
    assert inbox["unread"] == 1
    [note] = inbox["notifications"]
    assert note["title"] == "Deal closed: Big" and note["body"] == "Amount 10" and note["record_id"] == deal["id"]
    mine = api.get("/api/v1/notifications", query_string={"unread": "true"}).json
    assert mine["unread"] == 1
    # marking read: one's own only
    assert api.post("/api/v1/notifications/read", json={"ids": [note["id"]]}).json["marked"] == 0
    assert theirs.post("/api/v1/notifications/read", json={"ids": [note["id"]]}).json == {"marked": 1, "unread": 0}
    assert api.post("/api/v1/notifications/read", json={"all": True}).json == {"marked": 1, "unread": 0}
    for bad in ({}, {"ids": "x"}, {"ids": ["nope"]}, {"all": False}, {"ids": [], "all": True}):
        assert api.post("/api/v1/notifications/read", json=bad).status_code == 422, bad
    assert api.get("/api/v1/notifications", query_string={"unread": "maybe"}).status_code == 400


def test_the_bell_shows_unread_notifications_in_the_app(sales, app, api):
    from tessera.automation import notifications
    from tessera.storage.engine import begin_write
    admin = sales.identity.find_user("admin")
    opp = api.post("/api/v1/records/opportunity", json={"name": "Bell deal"}).json
    with begin_write(sales.engine) as conn:
        notifications.notify(conn, [uuid.UUID(admin["id"])], "Look <here>", "a body", object_name="opportunity",
                             record_id=uuid.UUID(opp["id"]))
    browser = signed_in(app)
    home = browser.get("/app/").get_data(as_text=True)
    assert "Notifications (1 unread)" in home and 'bell-count">1<' in home
    listing = browser.get("/app/notifications").get_data(as_text=True)
    assert "Look &lt;here&gt;" in listing and "<here>" not in listing
    nid = re.search(r'data-id="([0-9a-f-]+)"', listing).group(1)
    token = csrf_in(listing)
    opened = browser.post(f"/app/notifications/{nid}/open", data={"csrf_token": token})
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/opportunity/{opp['id']}")
    assert "bell-count" not in browser.get("/app/").get_data(as_text=True)
    assert browser.post(f"/app/notifications/{nid}/open").status_code == 400     # CSRF is required


# -- time-relative, scheduled and manual workflows --------------------------------------------------

def _jobs(services, kind):
    from tessera.automation import list_jobs
    from tessera.storage.engine import begin_read
    with begin_read(services.engine) as conn:
        return [j for j in list_jobs(conn, kind=kind, limit=100)]


def test_time_relative_workflow_is_planned_replanned_cancelled_and_rechecked(services, api, app):
    from datetime import timedelta
    apply(services, {"close_reminder": {
        "object": "deal", "trigger": {"event": "time_relative", "field": "close_date", "offset": {"days": -3},
                                      "condition": "BLANKVALUE(amount, 0) < 1000"},
        "actions": [{"type": "notify", "to": ["owner"], "title": "'Closing soon: ' + name"}]}})
    today = datetime.now(timezone.utc).date()
    far = api.post("/api/v1/records/deal", json={"name": "Far", "close_date": (today + timedelta(days=30)).isoformat()}).json
    [job] = _jobs(services, "workflow.timed")
    assert job.status == "ready" and job.run_at.date() == today + timedelta(days=27)
    # the date moves: the old plan is cancelled, a new one made
    api.patch(f"/api/v1/records/deal/{far['id']}", json={"close_date": (today + timedelta(days=40)).isoformat()})
    by_status = sorted((j.status, j.run_at.date()) for j in _jobs(services, "workflow.timed"))
    assert by_status == [("cancelled", today + timedelta(days=27)), ("ready", today + timedelta(days=37))]
    # the record page shows what is planned for it (and only the live plan)
    page = signed_in(app).get(f"/app/testapp/deal/{far['id']}").get_data(as_text=True)
    scheduled = page[page.index('id="automation-scheduled"'):]
    assert "Close Reminder" in scheduled and (today + timedelta(days=37)).isoformat() in scheduled
    assert (today + timedelta(days=27)).isoformat() not in scheduled
    # the condition stops holding: cancelled; holding again: planned again (the same key, revived)
    assert api.patch(f"/api/v1/records/deal/{far['id']}", json={"amount": 5000}).status_code == 200
    assert all(j.status == "cancelled" for j in _jobs(services, "workflow.timed"))
    assert api.patch(f"/api/v1/records/deal/{far['id']}", json={"amount": 10}).status_code == 200
    assert sorted(j.status for j in _jobs(services, "workflow.timed")) == ["cancelled", "ready"]
    # a fire time already past runs at once, and the actions run when it fires
    soon = api.post("/api/v1/records/deal", json={"name": "Soon", "close_date": (today + timedelta(days=1)).isoformat()}).json
    run_jobs(services, until=lambda: api.get("/api/v1/notifications").json["unread"] >= 1)
    titles = [n["title"] for n in api.get("/api/v1/notifications").json["notifications"]]
    assert titles == ["Closing soon: Soon"]
    [entry] = runs(api, workflow="close_reminder")
    assert entry["event"] == "time_relative" and entry["record_id"] == soon["id"] and entry["status"] == "succeeded"
    # deleting a record cancels its plan
    api.delete(f"/api/v1/records/deal/{far['id']}")
    assert not [j for j in _jobs(services, "workflow.timed") if j.status == "ready"]


def test_a_timed_job_whose_plan_changed_meanwhile_does_nothing(services, api):
    from tessera.automation import enqueue
    from tessera.storage.engine import begin_write
    apply(services, {"nudge": {
        "object": "deal", "trigger": {"event": "time_relative", "field": "close_date", "offset": {"hours": 1}},
        "actions": [{"type": "update_record", "values": {"probability": "99"}}]}})
    deal = api.post("/api/v1/records/deal", json={"name": "D", "close_date": "2020-01-01"}).json
    stale = datetime(2019, 1, 1, 1, tzinfo=timezone.utc)   # a job planned for a date the record no longer has
    with begin_write(services.engine) as conn:
        enqueue(conn, "workflow.timed", {"workflow": "nudge", "object": "deal", "record_id": deal["id"],
                                         "fire_at": stale.isoformat()})
    run_jobs(services, until=lambda: len(runs(api, workflow="nudge")) >= 1)
    assert api.get(f"/api/v1/records/deal/{deal['id']}").json["probability"] == 99   # the real plan ran once
    import time
    time.sleep(0.5)
    assert len(runs(api, workflow="nudge")) == 1                                      # the stale one did nothing


def test_scheduled_workflow_runs_over_the_records_its_condition_selects(services, api):
    from tessera.automation.deferred import SCHEDULED_KIND
    from tessera.automation import enqueue
    from tessera.storage.engine import begin_write
    apply(services, {"weekly_cleanup": {
        "object": "deal", "trigger": {"event": "scheduled", "cron": "0 6 * * 1", "condition": "stage == 'New' and amount > 100"},
        "actions": [{"type": "update_record", "values": {"stage": "'Working'"}}]}})
    for name, amount in (("small", 5), ("big1", 500), ("big2", 900)):
        api.post("/api/v1/records/deal", json={"name": name, "amount": amount})
    with begin_write(services.engine) as conn:      # the firing the scheduler makes at 06:00 on Mondays
        enqueue(conn, SCHEDULED_KIND, {"workflow": "weekly_cleanup"})
    run_jobs(services, until=lambda: len(runs(api, workflow="weekly_cleanup")) >= 2)
    stages = {d["name"]: d["stage"] for d in api.get("/api/v1/records/deal", query_string={"fields": "name,stage"}).json["records"]}
    assert stages == {"small": "New", "big1": "Working", "big2": "Working"}
    # the worker's scheduler knows the workflow's cron
    from tessera.automation.handlers import registry
    schedules = [s for source in registry.schedule_sources for s in source(services)]
    assert [(s.name, s.cron) for s in schedules] == [("workflow.weekly_cleanup", "0 6 * * 1")]


def test_manual_workflow_runs_on_chosen_records_the_caller_may_edit(services, api, client_for):
    apply(services, {"escalate": {
        "object": "deal", "trigger": {"event": "manual", "condition": "stage != 'Closed'"},
        "actions": [{"type": "update_record", "values": {"probability": "probability + 10"}}]}})
    a = api.post("/api/v1/records/deal", json={"name": "A"}).json
    closed = api.post("/api/v1/records/deal", json={"name": "C", "stage": "Closed", "amount": 1}).json
    missing = str(uuid.uuid4())
    response = api.post("/api/v1/workflows/escalate/run", json={"records": [a["id"], closed["id"], missing]})
    assert response.status_code == 200, response.json
    outcome = {r["record_id"]: r["status"] for r in response.json["results"]}
    assert outcome == {a["id"]: "succeeded", closed["id"]: "skipped", missing: "refused"}
    assert api.get(f"/api/v1/records/deal/{a['id']}").json["probability"] == 20
    [entry] = runs(api, workflow="escalate")
    assert entry["event"] == "manual"
    assert api.post("/api/v1/workflows/nope/run", json={"records": [a["id"]]}).status_code == 404
    assert api.post("/api/v1/workflows/escalate/run", json={"records": []}).status_code == 422
    assert api.post("/api/v1/workflows/escalate/run", json={"ids": [a["id"]]}).status_code == 422
    reader, _ = services.identity.create_user("reader", password="Tq7-violet-harbor-92", profile="tp_viewer")
    assert client_for(reader).post("/api/v1/workflows/escalate/run", json={"records": [a["id"]]}).status_code == 403


@pytest.mark.parametrize("trigger, where, words", [
    ({"event": "time_relative", "field": "close_date"}, "trigger.offset", "required"),
    ({"event": "time_relative", "field": "name", "offset": {"days": 1}}, "trigger.field", "not a stored date"),
    ({"event": "scheduled"}, "trigger.cron", "required"),
    ({"event": "scheduled", "cron": "every day"}, "trigger.cron", "not a cron"),
    ({"event": "scheduled", "cron": "0 6 * * *", "condition": "ISCHANGED(stage)"}, "trigger.condition", "ISCHANGED"),
    ({"event": "create", "cron": "0 6 * * *"}, "trigger.cron", "does not apply"),
    ({"event": "manual", "timing": "before_save"}, "trigger.timing", "does not apply"),
])
def test_invalid_triggers_are_refused(services, trigger, where, words):
    with pytest.raises(MetadataInvalid) as info:
        apply(services, {"bad": {"object": "deal", "trigger": trigger,
                                 "actions": [{"type": "update_record", "values": {"probability": "1"}}]}})
    messages = [(e.path, e.message) for e in info.value.errors]
    assert any(path == where and words in message for path, message in messages), messages


def test_the_record_page_shows_its_automation_and_runs_manual_workflows(services, app, api):
    apply(services, {
        "memo_title": {"object": "company", "trigger": {"event": "create", "timing": "before_save"},
                       "actions": [{"type": "update_record", "values": {"employees": "1"}}]},
        "bump": {"label": "Add an employee", "object": "company", "trigger": {"event": "manual"},
                 "actions": [{"type": "update_record", "values": {"employees": "employees + 1"}}]}})
    company = api.post("/api/v1/records/company", json={"name": "Cyberdyne"}).json
    browser = signed_in(app)
    page = browser.get(f"/app/testapp/company/{company['id']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html[:500]
    assert 'id="automation-runs"' in html and 'data-workflow="memo_title"' in html
    assert 'data-workflow="bump"' in html and "Add an employee" in html
    action = re.search(r'action="([^"]+/run/bump)"', html).group(1)
    done = browser.post(action, data={"csrf_token": csrf_in(html)})
    assert done.status_code == 302
    assert api.get(f"/api/v1/records/company/{company['id']}").json["employees"] == 2
    after = browser.get(done.headers["Location"]).get_data(as_text=True)
    assert "“Add an employee” ran." in after and after.count('data-workflow="bump"') == 2   # menu + a run row
    assert browser.post(action).status_code == 400                                           # CSRF required


@pytest.fixture
def service(sales):
    sales.changes.install_packages([load_package(ROOT / "apps" / name) for name in ("marketing", "service")],
                                   author="test", message="service")
    return sales


def test_stock_case_sla_and_escalation_to_the_owners_manager(service, api, client_for):
    from datetime import timedelta
    from sqlalchemy import update
    from tessera.storage.engine import begin_write
    from tessera.storage.platform_tables import jobs
    boss, _ = service.identity.create_user("boss", password="Tq7-violet-harbor-92", profile="service_manager")
    agent, _ = service.identity.create_user("agent", password="Tq7-violet-harbor-92", profile="service_agent",
                                            manager=boss["id"])
    agent_api = client_for(agent)
    account = api.post("/api/v1/records/account", json={"name": "Initrode"}).json
    # the stock sharing: agents find the accounts (and contacts) of the cases they work
    assert agent_api.get(f"/api/v1/records/account/{account['id']}").status_code == 200
    case = agent_api.post("/api/v1/records/case", json={"subject": "Server down", "priority": "High",
                                                        "account": account["id"]})
    assert case.status_code == 201, case.json
    case = case.json
    due = datetime.fromisoformat(case["sla_due_at"].replace("Z", "+00:00"))
    assert timedelta(hours=23) < due - datetime.now(timezone.utc) <= timedelta(days=1)
    low = agent_api.post("/api/v1/records/case", json={"subject": "Question", "priority": "Low"}).json
    answered = agent_api.post("/api/v1/records/case", json={"subject": "Answered", "priority": "Critical"}).json
    planned = {j.payload["record_id"]: j for j in _jobs(service, "workflow.timed")}
    assert set(planned) == {case["id"], answered["id"]}            # only urgent cases are planned
    assert planned[case["id"]].run_at - datetime.fromisoformat(case["created_at"].replace("Z", "+00:00")) == timedelta(hours=4)
    # a first response cancels the escalation
    agent_api.patch(f"/api/v1/records/case/{answered['id']}", json={"first_response_at": datetime.now(timezone.utc).isoformat()})
    assert {j.payload["record_id"]: j.status for j in _jobs(service, "workflow.timed")}[answered["id"]] == "cancelled"
    agent_api.patch(f"/api/v1/records/case/{case['id']}", json={"status": "Working"})
    with begin_write(service.engine) as conn:      # four hours pass
        conn.execute(update(jobs).where(jobs.c.kind == "workflow.timed").values(run_at=datetime.now(timezone.utc)))
    run_jobs(service, until=lambda: len(runs(api, workflow="case_escalation")) >= 1)
    after = api.get(f"/api/v1/records/case/{case['id']}").json
    assert after["owner"] == boss["id"] and after["status"] == "Escalated"
    assert client_for(boss).get("/api/v1/notifications").json["unread"] >= 1
    titles = [n["title"] for n in agent_api.get("/api/v1/notifications").json["notifications"]]
    assert "Escalated: Server down" in titles
    assert api.get(f"/api/v1/records/case/{low['id']}").json["owner"] == agent["id"]


def test_assignment_and_notification_over_a_group(services, api, client_for):
    users = [services.identity.create_user(f"grp{i}", password="Tq7-violet-harbor-92",
                                           profile="system_administrator")[0] for i in range(3)]
    group = api.post("/api/v1/records/group", json={"name": "Closers"}).json
    for user in users:
        api.post("/api/v1/records/group_member", json={"group": group["id"], "user": user["id"]})
    api.patch(f"/api/v1/records/user/{users[2]['id']}", json={"active": False})   # inactive: never chosen
    apply(services, {"closers": {"object": "deal", "trigger": {"event": "create"},
                                 "actions": [{"type": "assign_owner", "group": "Closers"},
                                             {"type": "notify", "group": "Closers", "title": "'New deal ' + name"}]}})
    owners = [api.post("/api/v1/records/deal", json={"name": f"g{i}"}).json["owner"] for i in range(4)]
    active = sorted((u["id"] for u in users[:2]), key=lambda i: uuid.UUID(i).int)
    assert owners == [active[0], active[1], active[0], active[1]]
    inbox = client_for(users[0]).get("/api/v1/notifications").json
    assert [n["title"] for n in inbox["notifications"]].count("New deal g0") == 1
    [entry] = [e for e in runs(api, workflow="closers") if e["steps"][0]["detail"].get("owner") == active[0]][:1]
    assert entry["steps"][0]["detail"]["how"] == "round_robin over group 'Closers'"
    with pytest.raises(MetadataInvalid) as caught:
        apply(services, {"both": {"object": "deal", "trigger": {"event": "create"},
                                  "actions": [{"type": "assign_owner", "group": "Closers", "queue": "Q"}]}})
    assert any(e.path == "actions.0" and "exactly one" in e.message for e in caught.value.errors)
