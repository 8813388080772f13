"""Saved reports through /api/v1/user-reports (issue 15): the records the app's report builder saves,
bound to the caller — private to the owner, shared read-only with a role (optionally "and
subordinates") or a group, always run as the caller. Both databases."""
from __future__ import annotations

import pytest

from tessera.security.actor import SYSTEM

PASSWORD = "lantern-copper-71"
BY_STAGE = {"object": "opportunity", "format": "summary", "groupings": ["stage"], "summaries": ["count", "sum:amount"]}


@pytest.fixture
def people(sales, api, client_for):
    """A manager, two reps below her and a VP above her; each owns deals."""
    made = {}
    for username, role, profile in (("mona", "sales_manager", "sales_manager"), ("rita", "sales_rep", "sales_rep"),
                                    ("ruth", "sales_rep", "sales_rep"), ("vera", "vp_sales", "sales_manager")):
        user, _ = sales.identity.create_user(username, password=PASSWORD, profile=profile, role=role,
                                             last_name=username.title())
        made[username] = user
    account = api.post("/api/v1/records/account", json={"name": "Volt"}).get_json()["id"]
    for owner, stage, amount in (("rita", "Prospecting", 100), ("rita", "Negotiation", 50), ("ruth", "Prospecting", 7)):
        r = api.post("/api/v1/records/opportunity", json={"name": f"{owner} {stage}", "amount": amount, "stage": stage,
                                                          "close_date": "2026-12-01", "account": account})
        assert r.status_code == 201, r.get_json()
        sales.records.update(SYSTEM, "opportunity", r.get_json()["id"], {"owner": made[owner]["id"]})
    return {name: client_for(user) for name, user in made.items()}


def _labels(client) -> list[str]:
    r = client.get("/api/v1/user-reports")
    assert r.status_code == 200, r.get_json()
    return [rep["label"] for rep in r.get_json()["user_reports"]]


def test_save_read_run_change_and_delete_your_own(people, services):
    rita = people["rita"]
    r = rita.post("/api/v1/user-reports", json={"label": "My pipeline", "folder": "Mine", "definition": BY_STAGE})
    assert r.status_code == 201, r.get_json()
    saved = r.get_json()
    assert saved["name"] == "my_pipeline" and saved["mine"] is True and saved["object"] == "opportunity"
    assert saved["definition"]["groupings"] == ["stage"] and saved["shared_with_subordinates"] is False

    run = rita.get(f"/api/v1/user-reports/{saved['id']}/run").get_json()
    assert {g["key"]["stage"]: g["values"]["sum:amount"] for g in run["groups"]} == {"Prospecting": 100, "Negotiation": 50}
    narrowed = rita.get(f"/api/v1/user-reports/{saved['id']}/run", query_string={"filter": "amount > 60"}).get_json()
    assert narrowed["total"]["count"] == 1

    r = rita.put(f"/api/v1/user-reports/{saved['id']}", json={"label": "Big deals", "definition": dict(BY_STAGE, filter="amount > 60")})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["label"] == "Big deals" and r.get_json()["definition"]["filter"] == "amount > 60"

    # another rep of the same role: it does not exist for her
    ruth = people["ruth"]
    assert _labels(ruth) == []
    for method, path in (("get", ""), ("get", "/run"), ("delete", "")):
        assert getattr(ruth, method)(f"/api/v1/user-reports/{saved['id']}{path}").status_code == 404
    assert ruth.put(f"/api/v1/user-reports/{saved['id']}", json={"label": "x", "definition": BY_STAGE}).status_code == 404

    assert rita.delete(f"/api/v1/user-reports/{saved['id']}").status_code == 204
    assert services.records.query(SYSTEM, "user_report", fields=["name"]).records == []


def test_role_and_subordinates_sharing(people):
    mona = people["mona"]
    plain = mona.post("/api/v1/user-reports", json={"label": "Managers only", "definition": BY_STAGE,
                                                    "shared_with_role": "sales_manager"}).get_json()
    down = mona.post("/api/v1/user-reports", json={"label": "Whole team", "definition": BY_STAGE,
                                                   "shared_with_role": "sales_manager",
                                                   "shared_with_subordinates": True}).get_json()
    assert down["shared_with_subordinates"] is True
    # the reps below the manager role see the "and subordinates" report only; the VP above sees neither
    assert _labels(people["rita"]) == ["Whole team"] and _labels(people["ruth"]) == ["Whole team"]
    assert _labels(people["vera"]) == []
    assert people["rita"].get(f"/api/v1/user-reports/{plain['id']}").status_code == 404
    shared = people["rita"].get(f"/api/v1/user-reports/{down['id']}").get_json()
    assert shared["mine"] is False
    # it runs as the reader: rita's deals, not the manager's view of the team
    run = people["rita"].get(f"/api/v1/user-reports/{down['id']}/run").get_json()
    assert run["total"] == {"count": 2, "sum:amount": 150}
    # read-only for her
    assert people["rita"].delete(f"/api/v1/user-reports/{down['id']}").status_code == 404


@pytest.mark.parametrize("body, status, fragment", [
    ({"label": "x", "definition": BY_STAGE, "shared_with_subordinates": True}, 422, "shared_with_subordinates"),
    ({"label": "x", "definition": BY_STAGE, "shared_with_role": "sales_rep", "shared_with_subordinates": "yes"},
     422, "shared_with_subordinates"),
    ({"label": "x", "definition": dict(BY_STAGE, groupings=["nope"])}, 400, "nope"),
    ({"label": "x", "definition": BY_STAGE, "owner": "someone"}, 400, "owner"),
    ({"label": "", "definition": BY_STAGE}, 422, "label"),
    ([1, 2], 422, "JSON object"),
])
def test_bad_input_is_refused_and_nothing_saved(people, services, body, status, fragment):
    r = people["rita"].post("/api/v1/user-reports", json=body)
    assert r.status_code == status, r.get_json()
    assert fragment in r.get_json()["error"]["message"]
    assert services.records.query(SYSTEM, "user_report", fields=["name"]).records == []


def test_bad_run_parameters_and_ids(people):
    rita = people["rita"]
    saved = rita.post("/api/v1/user-reports", json={"label": "Mine", "definition": BY_STAGE}).get_json()
    r = rita.get(f"/api/v1/user-reports/{saved['id']}/run", query_string={"sort": "x"})
    assert r.status_code == 400 and "sort" in r.get_json()["error"]["message"]
    assert rita.get(f"/api/v1/user-reports/{saved['id']}/run", query_string={"limit": "0"}).status_code == 400
    assert rita.get("/api/v1/user-reports/not-a-uuid").status_code == 404
