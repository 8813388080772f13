"""A workflow's dry run ("test on a record") through POST /api/v1/workflows/{name}/dry-run: the
stored workflow or an unsaved draft, run by the real engine on a real record, shows its condition,
each step's effect (before → after, the record it would create, the email it would render, the
webhook request it would send) — and leaves nothing behind: the record unchanged, no outbox row, no
delivery, no job, no run, no notification, no created record. Both databases."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tessera.automation.credentials import set_credential
from tessera.storage.engine import begin_read
from tessera.storage.platform_tables import (autonumbers, email_outbox, jobs, notifications, webhook_deliveries,
                                             workflow_runs)

TEMPLATE = {"name": "deal_note", "object": "deal", "subject": "Deal {{ record.name }} at {{ record.amount }}",
            "text_body": "Hello, {{ record.name }} moved to {{ record.stage }}."}
REVIEW = {"object": "deal", "label": "Review a deal", "trigger": {"event": "update", "condition": "amount > 100",
                                                                 "when": "becomes_true"},
          "actions": [
              {"type": "update_record", "label": "Raise", "values": {"probability": "90", "stage": "'Working'"}},
              {"type": "update_parent", "lookup": "company", "values": {"industry": "'Energy'"}},
              {"type": "create_record", "object": "memo", "values": {"name": "'Review ' + name"}},
              {"type": "if", "condition": "amount > 1000",
               "then": [{"type": "send_email", "template": "deal_note", "to": ["owner.email"],
                         "cc": ["'boss@example.com'"]}],
               "else": [{"type": "notify", "to": ["owner"], "title": "'small'"}]},
              {"type": "webhook", "url": "https://hooks.example.com/deals", "credential": "crm_hooks",
               "payload": ["name", "amount"]},
              {"type": "notify", "to": ["owner"], "title": "'Reviewed: ' + name"}]}


def counts(services) -> dict:
    tables = {"outbox": email_outbox, "deliveries": webhook_deliveries, "jobs": jobs, "runs": workflow_runs,
              "notifications": notifications, "autonumbers": autonumbers}
    with begin_read(services.engine) as conn:
        out = {name: conn.execute(select(func.count()).select_from(t)).scalar() for name, t in tables.items()}
    out["memos"] = len(services.records.query(_system(), "memo", limit=500).records)
    return out


def _system():
    from tessera.security.actor import SYSTEM
    return SYSTEM


@pytest.fixture
def setup(services, api):
    components = {"email_templates": {"deal_note": {"source": "email_templates/deal_note.yaml", "doc": TEMPLATE}},
                  "workflows": {"deal_review": {"source": "workflows/deal_review.yaml",
                                                "doc": {"name": "deal_review", **REVIEW}}}}
    services.changes.apply_org({"manifest": None, "components": components}, author="test", message="dry run")
    secret, _created = set_credential(services.engine, "crm_hooks", "webhook_signing")
    company = api.post("/api/v1/records/company", json={"name": "Acme", "industry": "Retail"}).json
    deal = api.post("/api/v1/records/deal", json={"name": "Big one", "amount": 5000, "company": company["id"],
                                                  "stage": "New"}).json
    return {"secret": secret, "company": company, "deal": deal}


def dry(api, record_id, definition=None, name="deal_review"):
    body = {"record_id": record_id}
    if definition is not None:
        body["definition"] = definition
    return api.post(f"/api/v1/workflows/{name}/dry-run", json=body)


def test_dry_run_shows_every_effect_and_leaves_nothing_behind(services, api, setup):
    deal, company = setup["deal"], setup["company"]
    before, stored_deal = counts(services), api.get(f"/api/v1/records/deal/{deal['id']}").json
    r = dry(api, deal["id"])
    assert r.status_code == 200, r.json
    out = r.json
    assert out["status"] == "would_run" and out["rolled_back"] and out["draft"] is False
    assert out["record"] == {"id": deal["id"], "name": "Big one"}
    assert out["condition"] == {"expression": "amount > 100", "result": True}
    steps = {s["step"]: s for s in out["steps"]}
    assert {"field": "stage", "before": "New", "after": "Working"} in steps["actions.0"]["changes"]
    assert {"field": "probability", "before": 10, "after": 90} in steps["actions.0"]["changes"] or \
        {"field": "probability", "before": "10", "after": 90} in steps["actions.0"]["changes"]
    assert steps["actions.1"]["changes"] == [{"field": "industry", "before": "Retail", "after": "Energy"}]
    assert steps["actions.2"]["record"]["name"] == "Review Big one"          # the record it would create
    assert steps["actions.3"]["detail"] == {"branch": "then"}
    [email] = out["emails"]
    assert email["to"] == ["ada@example.com"] and email["cc"] == ["boss@example.com"]
    assert email["subject"].startswith("Deal Big one at 5000")                # rendered as the save leaves it
    assert email["text"] == "Hello, Big one moved to Working."
    [hook] = out["webhooks"]
    assert hook["url"] == "https://hooks.example.com/deals" and hook["method"] == "POST"
    assert hook["body"]["type"] == "deal.update" and hook["body"]["data"]["name"] == "Big one"
    assert set(hook["body"]["data"]) == {"id", "name", "amount"}
    assert setup["secret"] not in r.get_data(as_text=True)                    # never the signing secret
    # nothing happened
    assert counts(services) == before
    assert api.get(f"/api/v1/records/deal/{deal['id']}").json == stored_deal
    assert api.get(f"/api/v1/records/company/{company['id']}").json["industry"] == "Retail"


def test_a_draft_is_run_instead_of_the_stored_workflow(services, api, setup):
    deal = setup["deal"]
    before = counts(services)
    draft = {**REVIEW, "actions": [{"type": "update_record", "values": {"amount": "amount * 2"}}]}
    out = dry(api, deal["id"], draft).json
    assert out["draft"] is True and out["status"] == "would_run"
    assert out["steps"][0]["changes"][0]["field"] == "amount" and out["steps"][0]["changes"][0]["after"] == 10000
    assert out["emails"] == [] and out["webhooks"] == []
    # a condition that does not hold: shown, nothing runs
    out = dry(api, deal["id"], {**draft, "trigger": {"event": "update", "condition": "amount > 99999"}}).json
    assert out["status"] == "would_skip" and out["steps"] == []
    assert out["condition"] == {"expression": "amount > 99999", "result": False}
    # before-save: the values the save would get
    out = dry(api, deal["id"], {**draft, "trigger": {"event": "update", "timing": "before_save"}}).json
    assert out["status"] == "would_run" and out["steps"][0]["changes"][0]["after"] == 10000
    assert counts(services) == before


def test_a_failing_step_is_shown_and_not_logged(services, api, setup):
    before = counts(services)
    draft = {**REVIEW, "actions": [{"type": "update_record", "values": {"probability": "50"}},
                                   {"type": "webhook", "url": "https://x.example/h", "credential": "missing"}]}
    out = dry(api, setup["deal"]["id"], draft).json
    assert out["status"] == "would_fail" and "no webhook_signing credential 'missing'" in out["error"]["message"]
    assert [s["status"] for s in out["steps"]] == ["done"]
    assert counts(services) == before                                      # no failed run recorded either


def test_bad_drafts_and_bad_requests_get_machine_readable_errors(services, api, setup, client_for):
    deal = setup["deal"]
    r = dry(api, deal["id"], {**REVIEW, "actions": [{"type": "update_record", "values": {"probability": "nme"}}]})
    assert r.status_code == 422 and r.json["error"]["code"] == "validation_failed"
    [problem] = r.json["error"]["errors"]
    assert problem["path"] == "actions.0.values.probability" and "nme" in problem["message"]
    r = dry(api, deal["id"], {**REVIEW, "actions": [{"type": "tweet"}]})
    assert r.status_code == 422 and r.json["error"]["errors"][0]["path"].startswith("actions.0")
    assert dry(api, deal["id"], ["not", "a", "doc"]).status_code == 422
    assert dry(api, deal["id"], name="no_such_workflow").status_code == 404
    assert dry(api, "00000000-0000-0000-0000-000000000000").status_code == 404
    assert dry(api, "not-an-id").status_code in (400, 404)
    for body in ({}, {"record_id": 5}, {"record_id": deal["id"], "extra": 1}):
        r = api.post("/api/v1/workflows/deal_review/dry-run", json=body)
        assert r.status_code == 422 and r.json["error"]["code"] == "validation_failed", body
    assert api.post("/api/v1/workflows/deal_review/dry-run", data="nope",
                    headers={"Content-Type": "application/json"}).status_code == 400
    rep, _ = services.identity.create_user("rep1", password="quartz-meadow-81", last_name="Rep", profile="tp_rep")
    r = client_for(rep).post("/api/v1/workflows/deal_review/dry-run", json={"record_id": deal["id"]})
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
