"""Approval processes through the REST API: submit, approve, reject, recall, first-response and
unanimous steps, approvers (manager, role hierarchy, user, queue, group, role, a user field), the
record lock on every write path, final actions, notifications and the version recorded. Both
databases."""
from __future__ import annotations

import pytest

from approval_helpers import apply, manager_process, titles, user


@pytest.fixture
def team(services, client_for):
    """boss (role tp_lead) is rep's manager; other is a colleague (no approver of rep's deals)."""
    boss = user(services, "boss", role="tp_lead")
    rep = user(services, "rep", role="tp_worker", manager=boss["id"])
    other = user(services, "other", role="tp_worker")
    return {"boss": boss, "rep": rep, "other": other,
            "boss_api": client_for(boss), "rep_api": client_for(rep), "other_api": client_for(other)}


def _deal(client, **values):
    created = client.post("/api/v1/records/deal", json={"name": "Big deal", "amount": 500, **values})
    assert created.status_code == 201, created.json
    return created.json


def _submit(client, deal, **body):
    return client.post("/api/v1/approvals", json={"object": "deal", "record_id": deal["id"], **body})


def test_submit_locks_the_record_and_the_manager_approves(services, api, team):
    apply(services, approval_processes={"big_deals": manager_process(label="Big deals")})
    rep_api, boss_api, other_api = team["rep_api"], team["boss_api"], team["other_api"]
    deal = _deal(rep_api)
    # an outsider who may edit the deal (a manual share), but is no approver
    shared = rep_api.post(f"/api/v1/records/deal/{deal['id']}/shares",
                          json={"grantee_type": "user", "grantee": team["other"]["id"], "access": "edit"})
    assert shared.status_code == 201, shared.json
    submitted = _submit(rep_api, deal, comment="Please look at the discount")
    assert submitted.status_code == 201, submitted.json
    request = submitted.json
    assert request["status"] == "pending" and request["process"] == "big_deals" and request["process_label"] == "Big deals"
    assert request["step"] == 1 and request["step_label"] == "Manager review"
    assert request["approvers"] == [team["boss"]["id"]] and request["submitter"] == team["rep"]["id"]
    assert request["locked"] is True and request["version"] == services.changes.active_number()
    assert [h["status"] for h in request["history"]] == ["submitted", "pending"]
    assert request["history"][0]["comment"] == "Please look at the discount"
    # the manager is told, in the submission's transaction
    assert titles(boss_api) == ["Approval requested: Big deal"]
    # locked: the submitter and the outsider are refused on every path, the approver and admins are not
    for client in (rep_api, other_api):
        refused = client.patch(f"/api/v1/records/deal/{deal['id']}", json={"amount": 1})
        assert refused.status_code == 409 and refused.json["error"]["code"] == "record_locked", refused.json
        assert refused.json["error"]["approval_request"] == request["id"]
        assert client.delete(f"/api/v1/records/deal/{deal['id']}").json["error"]["code"] == "record_locked"
    assert boss_api.patch(f"/api/v1/records/deal/{deal['id']}", json={"probability": 50}).status_code == 200
    assert api.patch(f"/api/v1/records/deal/{deal['id']}", json={"probability": 60}).status_code == 200
    assert api.get(f"/api/v1/records/deal/{deal['id']}").json["amount"] == 500
    # a second submission while pending
    again = _submit(rep_api, deal)
    assert again.status_code == 409 and again.json["error"]["code"] == "approval_pending"
    # only the approver answers
    assert other_api.post(f"/api/v1/approvals/{request['id']}/approve").status_code == 403
    assert other_api.post(f"/api/v1/approvals/{request['id']}/approve").json["error"]["code"] == "not_an_approver"
    assert rep_api.post(f"/api/v1/approvals/{request['id']}/approve").status_code == 403
    approved = boss_api.post(f"/api/v1/approvals/{request['id']}/approve", json={"comment": "Fine by me"})
    assert approved.status_code == 200, approved.json
    done = approved.json
    assert done["status"] == "approved" and done["locked"] is False and done["completed_at"] is not None
    assert done["approvers"] == [] and done["step"] is None
    assert [(h["status"], h["comment"]) for h in done["history"]] == [("submitted", "Please look at the discount"),
                                                                      ("approved", "Fine by me")]
    # the final action ran (as the system), and the submitter is told
    assert api.get(f"/api/v1/records/deal/{deal['id']}").json["stage"] == "Working"
    assert "Approved: Big deal" in titles(rep_api)
    # unlocked
    assert rep_api.patch(f"/api/v1/records/deal/{deal['id']}", json={"amount": 700}).status_code == 200
    # decided: answering again is a conflict
    late = boss_api.post(f"/api/v1/approvals/{request['id']}/reject")
    assert late.status_code == 409 and late.json["error"]["code"] == "approval_not_pending"
    # the final actions are in the run log, under the version
    [run] = api.get("/api/v1/workflow-runs", query_string={"workflow": "approval:big_deals"}).json["runs"]
    assert run["status"] == "succeeded" and run["event"] == "approved" and run["record_id"] == deal["id"]
    assert run["version"] == services.changes.active_number() and run["steps"][0]["step"] == "on_approve.0"


def test_the_role_hierarchy_finds_the_manager_and_the_lock_covers_bulk_update(services, api, app, team, client_for):
    from test_workflows import csrf_in
    apply(services, approval_processes={"big_deals": manager_process()})
    lead2 = user(services, "lead2", role="tp_lead")
    # no Manager field: the users of the role above (tp_lead: boss and lead2) approve
    loner = user(services, "loner", role="tp_worker")
    loner_api = client_for(loner)
    deal = _deal(loner_api)
    request = _submit(loner_api, deal).json
    assert sorted(request["approvers"]) == sorted([team["boss"]["id"], lead2["id"]])
    # the list view's bulk update goes through the same lock
    services.identity.set_password(__import__("uuid").UUID(loner["id"]), "Tq7-violet-harbor-92")
    browser = app.test_client()
    token = csrf_in(browser.get("/login").get_data(as_text=True))
    assert browser.post("/login", data={"username": "loner", "password": "Tq7-violet-harbor-92",
                                        "csrf_token": token}).status_code == 302
    page = browser.get("/app/testapp/deal").get_data(as_text=True)
    bulk = browser.post("/app/testapp/deal/bulk", data={"csrf_token": csrf_in(page), "_ids": [deal["id"]],
                                                        "_action": "update", "_field": "probability",
                                                        "_v.probability": "5"}, follow_redirects=True)
    assert "locked while it awaits approval" in bulk.get_data(as_text=True)
    assert api.get(f"/api/v1/records/deal/{deal['id']}").json["probability"] != 5
    # first response: one of the two decides the step, the other's item is closed
    rejected = team["boss_api"].post(f"/api/v1/approvals/{request['id']}/reject", json={"comment": "Too cheap"})
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    assert sorted(h["status"] for h in rejected.json["history"]) == ["closed", "rejected", "submitted"]
    assert api.get(f"/api/v1/records/deal/{deal['id']}").json["probability"] == 0   # on_reject
    assert "Rejected: Big deal" in titles(loner_api)
    assert client_for(lead2).post(f"/api/v1/approvals/{request['id']}/approve").status_code == 409


def test_unanimous_step_then_a_first_response_step(services, api, client_for):
    a, b, c = (user(services, name) for name in ("anna", "bert", "cleo"))
    group = api.post("/api/v1/records/group", json={"name": "Deal Desk"}).json
    for member in (b, c):
        assert api.post("/api/v1/records/group_member", json={"group": group["id"], "user": member["id"]}).status_code == 201
    queue = api.post("/api/v1/records/queue", json={"name": "Finance"}).json
    api.post("/api/v1/records/queue_member", json={"queue": queue["id"], "user": a["id"]})
    apply(services, approval_processes={"two_steps": {
        "object": "deal",
        "steps": [{"label": "Everyone", "decision": "unanimous",
                   "approvers": [{"type": "user", "user": "anna"}, {"type": "group", "group": "Deal Desk"}]},
                  {"label": "Finance", "approvers": [{"type": "queue", "queue": "Finance"}]}]}})
    owner = user(services, "owner_user")
    owner_api = client_for(owner)
    deal = _deal(owner_api)
    request = _submit(owner_api, deal).json
    assert sorted(request["approvers"]) == sorted([a["id"], b["id"], c["id"]])
    first = client_for(a).post(f"/api/v1/approvals/{request['id']}/approve").json
    assert first["status"] == "pending" and first["step"] == 1 and sorted(first["approvers"]) == sorted([b["id"], c["id"]])
    client_for(b).post(f"/api/v1/approvals/{request['id']}/approve")
    third = client_for(c).post(f"/api/v1/approvals/{request['id']}/approve").json
    assert third["status"] == "pending" and third["step"] == 2 and third["step_label"] == "Finance"
    assert third["approvers"] == [a["id"]]
    assert titles(client_for(a)).count("Approval requested: Big deal") == 2     # once per step
    assert client_for(b).post(f"/api/v1/approvals/{request['id']}/approve").status_code == 403   # not in step 2
    done = client_for(a).post(f"/api/v1/approvals/{request['id']}/approve").json
    assert done["status"] == "approved"
    assert [(h["step"], h["status"]) for h in done["history"]] == [
        (None, "submitted"), (1, "approved"), (1, "approved"), (1, "approved"), (2, "approved")]
    # unanimous: one rejection rejects the whole request
    other = _deal(owner_api, name="Second")
    second = _submit(owner_api, other).json
    client_for(a).post(f"/api/v1/approvals/{second['id']}/approve")
    rejected = client_for(b).post(f"/api/v1/approvals/{second['id']}/reject").json
    assert rejected["status"] == "rejected"
    assert sorted(h["status"] for h in rejected["history"] if h["step"] == 1) == ["approved", "closed", "rejected"]


def test_step_conditions_skip_and_refusals(services, api, client_for):
    owner = user(services, "owner_user")
    owner_api = client_for(owner)
    apply(services, approval_processes={"checks": {
        "object": "deal", "entry_condition": "amount > 100",
        "steps": [{"label": "Only for huge deals", "entry_condition": "amount > 10000",
                   "approvers": [{"type": "user", "user": "admin"}]},
                  {"label": "Nobody here", "when_no_approver": "skip", "approvers": [{"type": "role", "role": "tp_auditor"}]},
                  {"label": "The owner's manager", "approvers": [{"type": "field", "field": "owner.manager"}]}]}})
    small = _deal(owner_api, amount=50)
    refused = _submit(owner_api, small)
    assert refused.status_code == 422 and refused.json["error"]["code"] == "entry_condition_not_met"
    deal = _deal(owner_api)
    no_one = _submit(owner_api, deal)
    assert no_one.status_code == 422 and no_one.json["error"]["code"] == "no_approver", no_one.json
    assert "step 3 (The owner's manager)" in no_one.json["error"]["message"]
    assert "owner.manager is blank" in no_one.json["error"]["message"]
    assert api.get("/api/v1/approvals", query_string={"object": "deal", "record_id": deal["id"]}).json == {"approvals": []}
    assert owner_api.patch(f"/api/v1/records/deal/{deal['id']}", json={"amount": 600}).status_code == 200   # nothing locked
    boss = user(services, "the_boss")
    api.patch(f"/api/v1/records/user/{owner['id']}", json={"manager": boss["id"]})
    request = _submit(owner_api, deal).json
    assert request["step"] == 3 and request["approvers"] == [boss["id"]]
    assert [(h["step"], h["status"]) for h in request["history"]] == [(None, "submitted"), (1, "skipped"), (2, "skipped"),
                                                                      (3, "pending")]
    assert "nobody active holds the role 'tp_auditor'" in request["history"][2]["comment"]
    # no process of that name; no process at all for the object
    named = _submit(owner_api, deal, process="nope")
    assert named.status_code == 422 and named.json["error"]["code"] == "no_approval_process"
    company = api.post("/api/v1/records/company", json={"name": "Initech"}).json
    none = api.post("/api/v1/approvals", json={"object": "company", "record_id": company["id"]})
    assert none.status_code == 422 and none.json["error"]["code"] == "no_approval_process"


def test_recall_by_the_submitter_or_an_admin(services, api, team):
    apply(services, approval_processes={"big_deals": manager_process(
        on_recall=[{"type": "update_record", "values": {"probability": "1"}}])})
    rep_api, other_api, boss_api = team["rep_api"], team["other_api"], team["boss_api"]
    deal = _deal(rep_api)
    request = _submit(rep_api, deal).json
    refused = other_api.post(f"/api/v1/approvals/{request['id']}/recall")
    assert refused.status_code in (403, 404)   # they cannot even see it: no access to the deal
    refused = boss_api.post(f"/api/v1/approvals/{request['id']}/recall")
    assert refused.status_code == 403 and refused.json["error"]["code"] == "not_the_submitter"
    recalled = rep_api.post(f"/api/v1/approvals/{request['id']}/recall", json={"comment": "Wrong amount"})
    assert recalled.status_code == 200 and recalled.json["status"] == "recalled"
    assert recalled.json["history"][-1]["status"] == "recalled" and recalled.json["history"][-1]["comment"] == "Wrong amount"
    assert "Approval recalled: Big deal" in titles(boss_api)
    assert api.get(f"/api/v1/records/deal/{deal['id']}").json["probability"] == 1
    assert rep_api.patch(f"/api/v1/records/deal/{deal['id']}", json={"amount": 300}).status_code == 200
    # an administrator may recall anyone's request; a deleted record takes its request with it
    second = _submit(rep_api, deal).json
    assert api.post(f"/api/v1/approvals/{second['id']}/recall").json["status"] == "recalled"
    third = _submit(rep_api, deal).json
    assert api.delete(f"/api/v1/records/deal/{deal['id']}").status_code == 204
    gone = api.get(f"/api/v1/approvals/{third['id']}").json
    assert gone["status"] == "recalled" and gone["history"][-1]["comment"] == "the record was deleted"


def test_lock_record_false_leaves_the_record_editable(services, team):
    apply(services, approval_processes={"soft": manager_process(lock_record=False)})
    deal = _deal(team["rep_api"])
    request = _submit(team["rep_api"], deal).json
    assert request["locked"] is False
    assert team["rep_api"].patch(f"/api/v1/records/deal/{deal['id']}", json={"amount": 900}).status_code == 200


def test_listing_who_sees_what(services, api, team, client_for):
    apply(services, approval_processes={"big_deals": manager_process()})
    rep_api, boss_api, other_api = team["rep_api"], team["boss_api"], team["other_api"]
    first = _submit(rep_api, _deal(rep_api, name="One")).json
    second = _submit(rep_api, _deal(rep_api, name="Two")).json
    boss_api.post(f"/api/v1/approvals/{first['id']}/approve")
    mine = boss_api.get("/api/v1/approvals", query_string={"mine": "true"}).json["approvals"]
    assert [r["id"] for r in mine] == [second["id"]]
    assert {r["id"] for r in rep_api.get("/api/v1/approvals").json["approvals"]} == {first["id"], second["id"]}
    assert other_api.get("/api/v1/approvals").json["approvals"] == []                 # took part in nothing
    assert other_api.get(f"/api/v1/approvals/{first['id']}").status_code == 404       # cannot see the deal either
    assert [r["id"] for r in api.get("/api/v1/approvals", query_string={"status": "approved"}).json["approvals"]] \
        == [first["id"]]
    by_record = api.get("/api/v1/approvals", query_string={"object": "deal", "record_id": second["record_id"]}).json
    assert [r["id"] for r in by_record["approvals"]] == [second["id"]] and "history" not in by_record["approvals"][0]
    detail = boss_api.get(f"/api/v1/approvals/{first['id']}").json
    assert detail["status"] == "approved" and len(detail["history"]) == 2


@pytest.mark.parametrize("method, url, body, status, code", [
    ("post", "/api/v1/approvals", {"object": "deal"}, 422, "validation_failed"),
    ("post", "/api/v1/approvals", {"object": "deal", "record_id": 5}, 422, "validation_failed"),
    ("post", "/api/v1/approvals", {"object": "deal", "record_id": "x", "extra": 1}, 422, "validation_failed"),
    ("post", "/api/v1/approvals", {"object": "nope", "record_id": "x"}, 404, "not_found"),
    ("post", "/api/v1/approvals", {"object": "deal", "record_id": "not-an-id"}, 404, "not_found"),
    ("post", "/api/v1/approvals", {"object": "deal", "record_id": "01a24aff-1398-7d38-bbb2-626fde982e1b"}, 404, "not_found"),
    ("post", "/api/v1/approvals", [], 422, "validation_failed"),
    ("get", "/api/v1/approvals?mine=maybe", None, 400, "bad_query"),
    ("get", "/api/v1/approvals?status=done", None, 400, "bad_query"),
    ("get", "/api/v1/approvals?limit=0", None, 400, "bad_query"),
    ("get", "/api/v1/approvals?record_id=x", None, 400, "bad_query"),
    ("get", "/api/v1/approvals?object=Deal%20X", None, 400, "bad_query"),
    ("get", "/api/v1/approvals?colour=red", None, 400, "bad_query"),
    ("get", "/api/v1/approvals/nope", None, 404, "not_found"),
    ("get", "/api/v1/approvals/01a24aff-1398-7d38-bbb2-626fde982e1b", None, 404, "not_found"),
    ("post", "/api/v1/approvals/nope/approve", None, 404, "not_found"),
    ("post", "/api/v1/approvals/01a24aff-1398-7d38-bbb2-626fde982e1b/reject", {"comment": "x"}, 404, "not_found"),
])
def test_bad_requests_get_clear_4xx(api, method, url, body, status, code):
    response = getattr(api, method)(url, json=body) if body is not None else getattr(api, method)(url)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.json["error"]["code"] == code


def test_bad_comments_and_bodies_on_decisions(services, api, team):
    apply(services, approval_processes={"big_deals": manager_process()})
    request = _submit(team["rep_api"], _deal(team["rep_api"])).json
    url = f"/api/v1/approvals/{request['id']}/approve"
    for body, status in (({"comment": 5}, 422), ({"comment": "x" * 4001}, 422), ({"comment": "a\x00b"}, 422),
                         ({"note": "x"}, 422), ([1], 422)):
        response = team["boss_api"].post(url, json=body)
        assert response.status_code == status, (body, response.json)
    raw = team["boss_api"].post(url, data="{not json", headers={"Content-Type": "application/json"})
    assert raw.status_code == 400
    assert team["boss_api"].get(url).status_code == 405
    assert team["boss_api"].post(url, data="").json["status"] == "approved"   # no body: no comment


def test_two_approvers_answering_at_once_decide_the_step_once(services, client_for):
    import threading
    from tessera.records.errors import RecordError
    a, b = user(services, "anna"), user(services, "bert")
    apply(services, approval_processes={"either": {"object": "deal", "steps": [
        {"approvers": [{"type": "user", "user": "anna"}, {"type": "user", "user": "bert"}]}],
        "on_approve": [{"type": "update_record", "values": {"probability": "probability + 1"}}]}})
    owner_api = client_for(user(services, "owner_user"))
    deal = _deal(owner_api, probability=10)
    request = _submit(owner_api, deal).json
    outcomes, barrier = [], threading.Barrier(2)

    def answer(who):
        actor = services.identity.actor_for_user(who)
        barrier.wait()
        try:
            outcomes.append(services.approvals.decide(actor, request["id"], "approve")["status"])
        except RecordError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=answer, args=(who,)) for who in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["approval_not_pending", "approved"], outcomes
    assert owner_api.get(f"/api/v1/records/deal/{deal['id']}").json["probability"] == 11   # the actions ran once
