"""Approval processes as metadata: refused at validation naming file and path, the change
pipeline's data checks (named users, queues, groups; no pending request loses its process),
versioned / diffed / exported / rolled back like every kind; the submit_for_approval workflow
action; send_email as a final action; the CLI. Both databases."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tessera.changes import ChangeRefused
from tessera.meta.errors import MetadataInvalid
from tessera.storage.engine import begin_read
from tessera.storage.platform_tables import email_outbox

from approval_helpers import apply, manager_process, titles, user

ROOT = Path(__file__).resolve().parents[2]
STEP = [{"approvers": [{"type": "manager"}]}]


@pytest.mark.parametrize("doc, where, words", [
    ({"object": "nope", "steps": STEP}, "object", "no object 'nope'"),
    ({"object": "deal", "entry_condition": "amount + 1", "steps": STEP}, "entry_condition", "boolean"),
    ({"object": "deal", "entry_condition": "discount > 20", "steps": STEP}, "entry_condition", "discount"),
    ({"object": "deal", "entry_condition": "ISCHANGED(amount)", "steps": STEP}, "entry_condition", "ISCHANGED"),
    ({"object": "deal", "steps": []}, "steps", ""),
    ({"object": "deal", "steps": [{"entry_condition": "name", "approvers": [{"type": "manager"}]}]},
     "steps.0.entry_condition", "boolean"),
    ({"object": "deal", "steps": [{"approvers": [{"type": "user"}]}]}, "steps.0.approvers.0.user", "required"),
    ({"object": "deal", "steps": [{"approvers": [{"type": "boss"}]}]}, "steps.0.approvers.0.type", "not an approver type"),
    ({"object": "deal", "steps": [{"approvers": [{"type": "manager", "user": "x"}]}]},
     "steps.0.approvers.0.user", "does not apply to manager approvers"),
    ({"object": "deal", "steps": [{"approvers": [{"type": "role", "role": "nobody_role"}]}]},
     "steps.0.approvers.0.role", "no role 'nobody_role'"),
    ({"object": "deal", "steps": [{"approvers": [{"type": "field", "field": "company"}]}]},
     "steps.0.approvers.0.field", "not a lookup to a user"),
    ({"object": "deal", "steps": [{"approvers": [{"type": "field", "field": "company.nope"}]}]},
     "steps.0.approvers.0.field", "no field or path"),
    ({"object": "deal", "steps": [{"decision": "majority", "approvers": [{"type": "manager"}]}]},
     "steps.0.decision", "not a decision mode"),
    ({"object": "deal", "steps": STEP, "on_approve": [{"type": "update_record", "values": {"nope": "1"}}]},
     "on_approve.0.values.nope", "no field 'nope'"),
    ({"object": "deal", "steps": STEP, "on_reject": [{"type": "update_record", "values": {"amount": "'x'"}}]},
     "on_reject.0.values.amount", "number"),
    ({"object": "deal", "steps": STEP, "on_approve": [{"type": "send_email", "template": "missing", "to": ["'a@b.c'"]}]},
     "on_approve.0.template", "missing"),
    ({"object": "deal", "steps": STEP, "on_recall": [{"type": "if", "condition": "true",
                                                      "then": [{"type": "submit_for_approval"}]}]},
     "on_recall.0.then.0.type", "cannot submit"),
    ({"object": "deal", "steps": STEP, "lock": False}, "lock", "unknown property"),
])
def test_invalid_processes_are_refused_naming_file_and_path(services, doc, where, words):
    with pytest.raises(MetadataInvalid) as info:
        apply(services, approval_processes={"bad": doc})
    messages = [(e.source, e.path, e.message) for e in info.value.errors]
    assert any(src == "approval_processes/bad.yaml" and path.startswith(where) and words in message
               for src, path, message in messages), messages


@pytest.mark.parametrize("action, trigger, where, words", [
    ({"type": "submit_for_approval", "process": "nope"}, {"event": "update"}, "actions.0.process", "no approval process 'nope'"),
    ({"type": "submit_for_approval", "process": "for_companies"}, {"event": "update"}, "actions.0.process",
     "is for company records"),
    ({"type": "submit_for_approval"}, {"event": "update", "timing": "before_save"}, "actions.0.type", "after_save"),
    ({"type": "submit_for_approval"}, {"event": "delete"}, "actions.0.type", "deleted"),
    ({"type": "submit_for_approval", "queue": "x"}, {"event": "update"}, "actions.0.queue", "does not apply"),
])
def test_invalid_submit_actions_are_refused(services, action, trigger, where, words):
    with pytest.raises(MetadataInvalid) as info:
        apply(services, approval_processes={"for_deals": {"object": "deal", "steps": STEP},
                                            "for_companies": {"object": "company", "steps": STEP}},
              workflows={"submits": {"object": "deal", "trigger": trigger, "actions": [action]}})
    messages = [(e.source, e.path, e.message) for e in info.value.errors]
    assert any(src == "workflows/submits.yaml" and path.startswith(where) and words in message
               for src, path, message in messages), messages


def test_a_workflow_on_an_object_without_a_process_cannot_submit(services):
    with pytest.raises(MetadataInvalid, match="no approval process for 'deal'"):
        apply(services, workflows={"submits": {"object": "deal", "trigger": {"event": "update"},
                                               "actions": [{"type": "submit_for_approval"}]}})


def test_named_users_queues_and_groups_must_exist(services, api):
    doc = {"object": "deal", "steps": [{"approvers": [{"type": "user", "user": "ghost"},
                                                      {"type": "queue", "queue": "Night Shift"},
                                                      {"type": "group", "group": "Board"}]}]}
    with pytest.raises(ChangeRefused) as info:
        apply(services, approval_processes={"named": doc})
    reasons = "\n".join(info.value.reasons)
    assert "approval_processes/named.yaml: steps.0.approvers.0.user: there is no active user 'ghost'" in reasons
    assert "steps.0.approvers.1.queue: there is no queue named 'Night Shift'" in reasons
    assert "steps.0.approvers.2.group: there is no group named 'Board'" in reasons
    user(services, "ghost")
    api.post("/api/v1/records/queue", json={"name": "Night Shift"})
    api.post("/api/v1/records/group", json={"name": "Board"})
    assert apply(services, approval_processes={"named": doc}).version is not None


def test_versioned_diffed_exported_and_rolled_back_like_every_kind(services, api, client_for, tmp_path):
    before = services.changes.active_number()
    result = apply(services, approval_processes={"big_deals": manager_process()})
    assert [op.describe() for op in result.plan] == ["add approval process big_deals"]
    assert [op.describe() for op in services.changes.diff(before)] == ["add approval process big_deals"]
    services.changes.export_org(tmp_path / "org")
    exported = yaml.safe_load((tmp_path / "org" / "approval_processes" / "big_deals.yaml").read_text())
    assert exported["object"] == "deal" and exported["steps"][0]["approvers"] == [{"type": "manager"}]
    changed = apply(services, approval_processes={"big_deals": manager_process(lock_record=False)})
    assert [op.describe() for op in changed.plan] == ["change approval process big_deals"]
    # a pending request keeps its process: removing it is refused until it is decided
    boss = user(services, "boss")
    rep = user(services, "rep", manager=boss["id"])
    rep_api = client_for(rep)
    deal = rep_api.post("/api/v1/records/deal", json={"name": "D", "amount": 500}).json
    request = rep_api.post("/api/v1/approvals", json={"object": "deal", "record_id": deal["id"]}).json
    assert request["version"] == changed.version.number
    with pytest.raises(ChangeRefused, match="approval process 'big_deals' has 1 pending request"):
        services.changes.rollback(before, author="test")
    rep_api.post(f"/api/v1/approvals/{request['id']}/recall")
    rolled = services.changes.rollback(before, author="test")
    assert [op.describe() for op in rolled.plan] == ["remove approval process big_deals"]
    assert api.post("/api/v1/approvals", json={"object": "deal", "record_id": deal["id"]}).json["error"]["code"] \
        == "no_approval_process"


def test_a_workflow_submits_when_the_amount_becomes_large(services, api, client_for):
    apply(services, approval_processes={"big_deals": manager_process()},
          workflows={"submit_big": {"object": "deal",
                                    "trigger": {"event": "create_or_update", "condition": "amount > 100",
                                                "when": "becomes_true"},
                                    "actions": [{"type": "submit_for_approval", "process": "big_deals"}]}})
    boss = user(services, "boss")
    rep = user(services, "rep", manager=boss["id"])
    rep_api, boss_api = client_for(rep), client_for(boss)
    deal = rep_api.post("/api/v1/records/deal", json={"name": "Small", "amount": 50}).json
    assert api.get("/api/v1/approvals", query_string={"object": "deal", "record_id": deal["id"]}).json["approvals"] == []
    grown = rep_api.patch(f"/api/v1/records/deal/{deal['id']}", json={"amount": 5000})
    assert grown.status_code == 200, grown.json
    [request] = api.get("/api/v1/approvals", query_string={"object": "deal", "record_id": deal["id"]}).json["approvals"]
    assert request["status"] == "pending" and request["submitter"] == rep["id"] and request["approvers"] == [boss["id"]]
    assert titles(boss_api) == ["Approval requested: Small"]
    [run] = api.get("/api/v1/workflow-runs", query_string={"workflow": "submit_big"}).json["runs"]
    assert run["steps"][0]["status"] == "done" and run["steps"][0]["detail"]["request"] == request["id"]
    assert rep_api.patch(f"/api/v1/records/deal/{deal['id']}", json={"amount": 10}).json["error"]["code"] == "record_locked"
    # an admin's edit while pending: the condition did not become true again, nothing more
    api.patch(f"/api/v1/records/deal/{deal['id']}", json={"amount": 7000})
    assert len(api.get("/api/v1/approvals", query_string={"object": "deal", "record_id": deal["id"]}).json["approvals"]) == 1
    # nobody to approve (no manager, no role): the write itself fails, naming the step; nothing saved
    loner = user(services, "loner")
    loner_api = client_for(loner)
    refused = loner_api.post("/api/v1/records/deal", json={"name": "Orphan", "amount": 900})
    assert refused.status_code == 422 and refused.json["error"]["code"] == "workflow_failed", refused.json
    assert "nobody to approve" in refused.json["error"]["message"]
    assert api.get("/api/v1/records/deal", query_string={"filter": "name == 'Orphan'"}).json["records"] == []
    failed = api.get("/api/v1/workflow-runs", query_string={"workflow": "submit_big", "status": "failed"}).json["runs"]
    assert len(failed) == 1


def test_already_pending_or_not_applying_is_skipped_and_noted(services, api):
    apply(services, approval_processes={"big_deals": manager_process(
              steps=[{"approvers": [{"type": "user", "user": "admin"}]}])},
          workflows={"always_submit": {"object": "deal", "trigger": {"event": "create_or_update"},
                                       "actions": [{"type": "submit_for_approval"}]}})
    small = api.post("/api/v1/records/deal", json={"name": "Small", "amount": 5}).json
    big = api.post("/api/v1/records/deal", json={"name": "Big", "amount": 500}).json
    api.patch(f"/api/v1/records/deal/{big['id']}", json={"probability": 20})   # admins edit locked records
    runs = api.get("/api/v1/workflow-runs", query_string={"workflow": "always_submit"}).json["runs"]
    by_record = {}
    for run in runs:
        by_record.setdefault(run["record_id"], []).append(run["steps"][0])
    [not_applying] = by_record[small["id"]]
    assert not_applying["status"] == "skipped" and "entry condition" in not_applying["detail"]["reason"]
    statuses = sorted(step["status"] for step in by_record[big["id"]])
    assert statuses == ["done", "skipped"]
    assert any("already pending" in (s.get("detail") or {}).get("reason", "") for s in by_record[big["id"]])


def test_final_actions_send_email_from_a_template(services, api, client_for):
    template = {"object": "deal", "subject": "Approved: {{ record.name }}",
                "text_body": "Your deal {{ record.name }} was approved.\n"}
    apply(services, email_templates={"deal_approved": template},
          approval_processes={"big_deals": manager_process(on_approve=[
              {"type": "update_record", "values": {"stage": "'Working'"}},
              {"type": "send_email", "template": "deal_approved", "to": ["owner.email"]}])})
    boss = user(services, "boss")
    rep = user(services, "rep", manager=boss["id"], email="rep@example.com")
    rep_api = client_for(rep)
    deal = rep_api.post("/api/v1/records/deal", json={"name": "Globex", "amount": 900}).json
    request = rep_api.post("/api/v1/approvals", json={"object": "deal", "record_id": deal["id"]}).json
    client_for(boss).post(f"/api/v1/approvals/{request['id']}/approve")
    with begin_read(services.engine) as conn:
        [message] = conn.execute(email_outbox.select()).all()
    assert message.to == ["rep@example.com"] and message.subject == "Approved: Globex"
    assert message.workflow == "approval:big_deals" and message.status == "queued"


def test_a_failing_final_action_rolls_the_decision_back(services, api, client_for):
    apply(services, approval_processes={"big_deals": manager_process(on_approve=[
        {"type": "update_record", "values": {"amount": "-5"}}])})   # the deal's rule refuses a negative amount
    boss = user(services, "boss")
    rep = user(services, "rep", manager=boss["id"])
    rep_api, boss_api = client_for(rep), client_for(boss)
    deal = rep_api.post("/api/v1/records/deal", json={"name": "D", "amount": 900}).json
    request = rep_api.post("/api/v1/approvals", json={"object": "deal", "record_id": deal["id"]}).json
    failed = boss_api.post(f"/api/v1/approvals/{request['id']}/approve")
    assert failed.status_code == 422 and failed.json["error"]["code"] == "workflow_failed", failed.json
    still = api.get(f"/api/v1/approvals/{request['id']}").json
    assert still["status"] == "pending" and still["history"][-1]["status"] == "pending"
    assert titles(rep_api) == []
    [run] = api.get("/api/v1/workflow-runs", query_string={"workflow": "approval:big_deals"}).json["runs"]
    assert run["status"] == "failed"


def test_cli_lists_and_answers(services, api, client_for, db_url):
    apply(services, approval_processes={"big_deals": manager_process()})
    boss = user(services, "boss")
    rep = user(services, "rep", manager=boss["id"])
    rep_api = client_for(rep)
    deal = rep_api.post("/api/v1/records/deal", json={"name": "Acme", "amount": 500}).json
    first = rep_api.post("/api/v1/approvals", json={"object": "deal", "record_id": deal["id"]}).json
    cli = [sys.executable, str(ROOT / "cli.py")]

    def run(*args):
        return subprocess.run([*cli, "approvals", "--database", db_url, *args], capture_output=True, text=True)

    listed = run("--pending", "--user", "boss")
    assert listed.returncode == 0, listed.stderr
    assert first["id"] in listed.stdout and "Acme" in listed.stdout and "big_deals" in listed.stdout
    assert run("--pending", "--user", "rep").stdout.strip() == "No approval requests."
    refused = run("--approve", first["id"], "--user", "rep")
    assert refused.returncode != 0 and "not an approver" in refused.stderr
    assert run("--approve", "nope", "--user", "boss").returncode != 0
    assert run("--approve", first["id"], "--reject", first["id"], "--user", "boss").returncode != 0
    assert run("--pending", "--user", "ghost").returncode != 0
    done = run("--approve", first["id"], "--comment", "ok from the shell", "--user", "boss")
    assert done.returncode == 0, done.stderr
    assert "approved" in done.stdout
    detail = api.get(f"/api/v1/approvals/{first['id']}").json
    assert detail["status"] == "approved" and detail["history"][-1]["comment"] == "ok from the shell"
    second = rep_api.post("/api/v1/approvals", json={"object": "deal", "record_id": deal["id"]}).json
    assert run("--reject", second["id"], "--comment", "no", "--user", "boss").returncode == 0
    assert api.get(f"/api/v1/approvals/{second['id']}").json["status"] == "rejected"
    everything = run()    # admin: every request
    assert first["id"] in everything.stdout and second["id"] in everything.stdout
