"""Inbound webhooks: POST /api/v1/hooks/<workflow>, signed per the Standard Webhooks spec with a
named credential, no session or token; a real worker runs the workflow, whose create_record values
are expressions over the typed payload. Both databases."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from standardwebhooks import Webhook
from test_workflows import apply, runs
from worker_threads import run_jobs

from tessera.automation import credentials
from tessera.meta.errors import MetadataInvalid

HOOK = {
    "label": "Sign-up form", "object": "company",
    "trigger": {"event": "inbound_webhook", "secret": "signup_hook", "user": "admin",
                "payload": {"company": "text", "staff": "integer", "revenue": "number", "founded": "date",
                            "enterprise": "boolean"}},
    "actions": [
        {"type": "create_record", "object": "company",
         "values": {"name": "payload.company", "employees": "BLANKVALUE(payload.staff, 1)",
                    "revenue": "payload.revenue", "founded": "payload.founded"}},
        {"type": "if", "condition": "payload.enterprise",
         "then": [{"type": "create_record", "object": "deal", "values": {"name": "'Enterprise: ' + payload.company"}}]}]}


@pytest.fixture
def hook(services):
    apply(services, {"signup": HOOK, "by_hand": {"object": "company", "trigger": {"event": "manual"},
                                                 "actions": [{"type": "update_record", "values": {"employees": "1"}}]}})
    secret, _created = credentials.set_credential(services.engine, "signup_hook", "webhook_signing")
    return secret


def signed(secret, body, *, msg_id="msg_1", at=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    at = at or datetime.now(timezone.utc)
    return raw, {"content-type": "application/json", "webhook-id": msg_id,
                 "webhook-timestamp": str(int(at.timestamp())),
                 "webhook-signature": Webhook(secret).sign(msg_id, at, raw)}


def post(app, name, raw, headers):
    return app.test_client().post(f"/api/v1/hooks/{name}", data=raw, headers=headers)   # no token, no session


def companies(api):
    return api.get("/api/v1/records/company", query_string={"fields": "name,employees,revenue,founded"}).json["records"]


def inbound_jobs(services):
    from tessera.automation import list_jobs
    from tessera.storage.engine import begin_read
    with begin_read(services.engine) as conn:
        return list_jobs(conn, kind="workflow.inbound", limit=100)


def test_a_signed_request_creates_records_through_the_workflow(services, app, api, hook):
    body = {"company": "Globex", "staff": 12, "revenue": 1500.25, "founded": "1989-04-01", "enterprise": True,
            "ignored": {"any": "thing"}}
    answer = post(app, "signup", *signed(hook, body))
    assert answer.status_code == 202, answer.json
    run_id = answer.json["run_id"]
    run_jobs(services, until=lambda: len(runs(api, workflow="signup")) == 1)
    [run] = runs(api, workflow="signup")
    assert (run["id"], run["event"], run["status"]) == (run_id, "inbound_webhook", "succeeded"), run
    [company] = [c for c in companies(api) if c["name"] == "Globex"]
    assert (company["employees"], company["revenue"], company["founded"]) == (12, 1500.25, "1989-04-01")
    assert run["record_id"] == company["id"] and run["object"] == "company"
    admin = services.identity.find_user("admin")
    full = api.get(f"/api/v1/records/company/{company['id']}").json
    assert full["owner"] == admin["id"] and full["created_by"] == admin["id"] and run["actor"] == admin["id"]
    deals = api.get("/api/v1/records/deal", query_string={"filter": "name == 'Enterprise: Globex'"}).json["records"]
    assert len(deals) == 1
    assert [s["action"] for s in run["steps"]] == ["inbound_webhook", "create_record", "if", "create_record"]


def test_bad_signatures_are_refused_and_nothing_is_created(services, app, api, hook):
    raw, headers = signed(hook, {"company": "Evil"})
    for name, changed in [("missing", {k: v for k, v in headers.items() if k != "webhook-signature"}),
                          ("forged", {**headers, "webhook-signature": "v1,bm9wZQ=="}),
                          ("other key", signed(credentials.generate_secret("webhook_signing"), {"company": "Evil"})[1]),
                          ("old", signed(hook, raw, at=datetime.now(timezone.utc) - timedelta(minutes=6))[1]),
                          ("future", signed(hook, raw, at=datetime.now(timezone.utc) + timedelta(minutes=6))[1])]:
        answer = post(app, "signup", raw, changed)
        assert answer.status_code == 401, (name, answer.json)
        assert answer.json["error"]["code"] == "bad_signature", name
    tampered = post(app, "signup", json.dumps({"company": "Evil Twin"}).encode(), headers)   # signed body changed
    assert tampered.status_code == 401
    assert inbound_jobs(services) == [] and not [c for c in companies(api) if "Evil" in c["name"]]


def test_a_replayed_webhook_id_is_refused(services, app, api, hook):
    raw, headers = signed(hook, {"company": "Once"}, msg_id="msg_replay")
    assert post(app, "signup", raw, headers).status_code == 202
    again = post(app, "signup", raw, headers)
    assert again.status_code == 409 and again.json["error"]["code"] == "replayed"
    assert len(inbound_jobs(services)) == 1
    run_jobs(services, until=lambda: len(runs(api, workflow="signup")) == 1)
    time.sleep(0.3)
    assert [c["name"] for c in companies(api)].count("Once") == 1


def test_requests_that_cannot_run_get_clear_errors(services, app, api, hook):
    raw, headers = signed(hook, {"company": "X"})
    for name in ("nope", "by_hand"):                    # unknown, and not an inbound webhook
        answer = post(app, name, raw, headers)
        assert answer.status_code == 404 and answer.json["error"]["code"] == "not_found"
    big = b'{"company": "' + b"x" * (1024 * 1024) + b'"}'
    answer = post(app, "signup", *signed(hook, big, msg_id="msg_big"))
    assert answer.status_code == 413 and answer.json["error"]["code"] == "too_large"
    answer = post(app, "signup", *signed(hook, b"not json", msg_id="msg_text"))
    assert answer.status_code == 400 and answer.json["error"]["code"] == "invalid_json"
    answer = post(app, "signup", *signed(hook, [1, 2], msg_id="msg_list"))
    assert answer.status_code == 400 and answer.json["error"]["code"] == "invalid_payload"
    answer = post(app, "signup", *signed(hook, {"company": 5, "staff": 1.5, "founded": "yesterday",
                                                "enterprise": "yes", "revenue": "12"}, msg_id="msg_types"))
    assert answer.status_code == 400 and answer.json["error"]["code"] == "invalid_payload"
    assert sorted(answer.json["error"]["fields"]) == ["company", "enterprise", "founded", "revenue", "staff"]
    assert app.test_client().get("/api/v1/hooks/signup").status_code == 405
    credentials.delete_credential(services.engine, "signup_hook")
    answer = post(app, "signup", *signed(hook, {"company": "X"}, msg_id="msg_nokey"))
    assert answer.status_code == 503 and answer.json["error"]["code"] == "not_configured"
    assert inbound_jobs(services) == []
    apply(services, {"signup": {**HOOK, "active": False}})
    assert post(app, "signup", raw, headers).status_code == 404


def test_a_failing_run_is_logged_failed_and_creates_nothing(services, app, api, hook):
    answer = post(app, "signup", *signed(hook, {"staff": 3, "enterprise": True}))   # no company name
    assert answer.status_code == 202
    run_jobs(services, until=lambda: len(runs(api, workflow="signup")) == 1)
    [run] = runs(api, workflow="signup")
    assert run["status"] == "failed" and "name" in run["error"] and run["id"] == answer.json["run_id"]
    assert companies(api) == [] and api.get("/api/v1/records/deal").json["records"] == []


@pytest.mark.parametrize("change, where, words", [
    ({"actions": [{"type": "update_record", "values": {"name": "payload.company"}}]}, "actions.0.match",
     "needs a match"),
    ({"actions": [{"type": "assign_owner", "user": "payload.company"}]}, "actions.0.type",
     "inbound webhook has no record"),
    ({"actions": [{"type": "if", "condition": "true", "then": [{"type": "wait", "duration": "1h"}]}]},
     "actions.0.then.0.type", "inbound webhook has no record"),
    ({"actions": [{"type": "create_record", "object": "company", "values": {"name": "payload.nickname"}}]},
     "actions.0.values.name", "nickname"),
    ({"actions": [{"type": "create_record", "object": "company", "values": {"name": "name"}}]},
     "actions.0.values.name", "name"),
    ({"actions": [{"type": "create_record", "object": "company", "values": {"name": "payload.staff"}}]},
     "actions.0.values.name", "must give a text"),
    ({"trigger": {"event": "inbound_webhook", "user": "admin", "payload": {"company": "text"}}}, "trigger.secret",
     "required"),
    ({"trigger": {**HOOK["trigger"], "condition": "true"}}, "trigger.condition", "if action"),
    ({"trigger": {**HOOK["trigger"], "cron": "0 * * * *"}}, "trigger.cron", "does not apply"),
])
def test_invalid_inbound_workflows_are_refused_naming_file_and_path(services, change, where, words):
    with pytest.raises(MetadataInvalid) as caught:
        apply(services, {"bad": {**HOOK, **change}})
    found = [(e.source, e.path, e.message) for e in caught.value.errors]
    assert any(src == "workflows/bad.yaml" and path == where and words in message
               for src, path, message in found), found


def test_setup_lists_the_hook_and_shows_it_read_only(services, app, hook):
    from test_workflows import signed_in
    browser = signed_in(app)
    listing = browser.get("/setup/workflows/")
    assert listing.status_code == 200 and "Inbound webhook" in listing.get_data(as_text=True)
    page = browser.get("/setup/workflows/signup/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "inbound_webhook" in html and "signup_hook" in html
