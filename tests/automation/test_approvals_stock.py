"""The stock Sales approval: a discount above 20 % on an opportunity needs the sales manager
(the submitter's manager by the role hierarchy), submitted by a workflow when the discount is
raised. Both databases."""
from __future__ import annotations

from pathlib import Path



from approval_helpers import titles, user

ROOT = Path(__file__).resolve().parents[2]



def test_a_big_discount_goes_to_the_sales_manager(sales, api, client_for):
    manager = user(sales, "sam", profile="sales_manager", role="sales_manager")
    rep = user(sales, "rita", profile="sales_rep", role="sales_rep")
    rep_api, manager_api = client_for(rep), client_for(manager)
    small = rep_api.post("/api/v1/records/opportunity", json={"name": "Small discount", "discount_percent": 15})
    assert small.status_code == 201, small.json
    assert api.get("/api/v1/approvals", query_string={"object": "opportunity"}).json["approvals"] == []
    opp = rep_api.post("/api/v1/records/opportunity", json={"name": "Acme renewal", "amount": 90000,
                                                            "discount_percent": 25}).json
    [request] = api.get("/api/v1/approvals", query_string={"object": "opportunity", "record_id": opp["id"]}).json["approvals"]
    assert request["process"] == "opportunity_discount" and request["status"] == "pending"
    assert request["approvers"] == [manager["id"]] and request["submitter"] == rep["id"]
    assert titles(manager_api) == ["Approval requested: Acme renewal"]
    assert [r["id"] for r in manager_api.get("/api/v1/approvals", query_string={"mine": "true"}).json["approvals"]] \
        == [request["id"]]
    # locked for the rep, open to the approving manager
    locked = rep_api.patch(f"/api/v1/records/opportunity/{opp['id']}", json={"discount_percent": 40})
    assert locked.status_code == 409 and locked.json["error"]["code"] == "record_locked"
    assert manager_api.get(f"/api/v1/records/opportunity/{opp['id']}").status_code == 200   # the hierarchy shows it
    rejected = manager_api.post(f"/api/v1/approvals/{request['id']}/reject", json={"comment": "20 % at most"})
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    assert api.get(f"/api/v1/records/opportunity/{opp['id']}").json["discount_percent"] == 20   # on_reject
    assert "Rejected: Acme renewal" in titles(rep_api)
    # raised again: a new request, which the manager approves
    rep_api.patch(f"/api/v1/records/opportunity/{opp['id']}", json={"discount_percent": 22})
    requests = api.get("/api/v1/approvals", query_string={"object": "opportunity", "record_id": opp["id"],
                                                          "status": "pending"}).json["approvals"]
    assert len(requests) == 1
    approved = manager_api.post(f"/api/v1/approvals/{requests[0]['id']}/approve").json
    assert approved["status"] == "approved"
    after = rep_api.get(f"/api/v1/records/opportunity/{opp['id']}").json
    assert after["discount_percent"] == 22
    assert rep_api.patch(f"/api/v1/records/opportunity/{opp['id']}", json={"next_step": "Sign"}).status_code == 200


def test_with_nobody_above_the_rep_the_workflow_refuses_the_save(sales, client_for):
    rep = user(sales, "solo", profile="sales_rep")   # no role, no manager
    refused = client_for(rep).post("/api/v1/records/opportunity", json={"name": "X", "discount_percent": 30})
    assert refused.status_code == 422 and refused.json["error"]["code"] == "workflow_failed"
    assert "nobody to approve" in refused.json["error"]["message"]
