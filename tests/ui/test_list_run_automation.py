"""The list's "Run automation" bulk action: shown only when the object has active manual workflows
the user may run, runs the chosen one on each selected record through the manual-run service, and
says how many ran and why the others did not. Test client; both databases."""
from __future__ import annotations

from tessera.security.actor import SYSTEM

CLOSE = {"name": "close_deals", "label": "Close the deals", "object": "deal", "trigger": {"event": "manual"},
         "actions": [{"type": "update_record", "values": {"stage": "'Closed'"}}]}
OFF = {**CLOSE, "name": "inactive_one", "label": "Inactive one", "active": False}


def add_workflows(services, *docs):
    components = {"workflows": {d["name"]: {"source": f"workflows/{d['name']}.yaml", "doc": d} for d in docs}}
    services.changes.apply_org({"manifest": None, "components": components}, author="test", message="manual")


def test_run_automation_on_selected_records(admin, login, services, make_record):
    ok = make_record("deal", {"name": "Has amount", "amount": 10, "stage": "New"})
    bad = make_record("deal", {"name": "No amount", "stage": "New"})
    assert 'id="bulk-run-open"' not in admin.html("/app/testapp/deal")       # no manual workflow yet
    add_workflows(services, CLOSE, OFF)
    html = admin.html("/app/testapp/deal")
    assert 'id="bulk-run-open"' in html and ">Close the deals</option>" in html
    assert "Inactive one" not in html                                        # active ones only
    assert 'id="bulk-run-open"' not in admin.html("/app/testapp/company")    # another object's: not here
    r = admin.post("/app/testapp/deal/bulk", [("_action", "run"), ("_workflow", "close_deals"),
                                              ("_ids", ok["id"]), ("_ids", bad["id"])])
    assert r.status_code == 302
    html = admin.html("/app/testapp/deal")
    assert "“Close the deals” ran on 1 deal." in html
    assert "1 did not run:" in html and "No amount: " in html and "A closed deal needs an amount." in html
    assert services.records.get(SYSTEM, "deal", ok["id"])["stage"] == "Closed"
    assert services.records.get(SYSTEM, "deal", bad["id"])["stage"] == "New"   # its failed run changed nothing
    # an inactive, unknown or other object's workflow is refused with a message, nothing runs
    for name in ("inactive_one", "nope", ""):
        admin.post("/app/testapp/deal/bulk", [("_action", "run"), ("_workflow", name), ("_ids", bad["id"])])
        assert "Not run: there is no active manual workflow" in admin.html("/app/testapp/deal")
    # no edit right on deals: no action offered, and a forged post is refused
    viewer = login("viewer")
    assert 'id="bulk-run-open"' not in viewer.html("/app/testapp/deal")
    viewer.post("/app/testapp/deal/bulk", [("_action", "run"), ("_workflow", "close_deals"), ("_ids", bad["id"])])
    assert "close_deals&#39; needs the right to edit deal records" in viewer.html("/app/testapp/deal")
    assert services.records.get(SYSTEM, "deal", bad["id"])["stage"] == "New"
