"""Reports end users build and save in /app (issue 15): the builder's preview, save, run, share,
delete and privacy through the session + CSRF JSON endpoints and the pages, bad definitions refused
with nothing saved, and an admin promoting a saved report to org metadata. Figures are compared
with sums computed here over the records each viewer may read. Two reps share a role (tp_worker);
company is private, so each rep reads only their own companies."""
from __future__ import annotations

import re

import pytest

from tessera.security.actor import SYSTEM

MINE = [("Volt", "Energy", 100), ("Spark", "Energy", 250.5), ("Shop", "Retail", 40)]      # the rep's
THEIRS = [("Mall", "Retail", 1000), ("Bits", "Technology", 7)]                             # rep2's

SUMMARY = {"object": "company", "format": "summary", "groupings": ["industry"],
           "summaries": ["count", "sum:revenue"], "filter": "revenue > 0", "chart": {"type": "column"}}


@pytest.fixture
def companies(users, make_record):
    for owner, rows in (("rep", MINE), ("rep2", THEIRS)):
        for name, industry, revenue in rows:
            make_record("company", {"name": name, "industry": industry, "revenue": revenue,
                                    "owner": users[owner]["id"]})


def by_industry(rows) -> dict:
    out = {}
    for _name, industry, revenue in rows:
        count, total = out.get(industry, (0, 0))
        out[industry] = (count + 1, total + revenue)
    return out


def groups_of(result) -> dict:
    return {g["key"]["industry"]: (g["values"]["count"], g["values"]["sum:revenue"]) for g in result["groups"]}


def saved(services) -> list[dict]:
    return services.records.query(SYSTEM, "user_report", fields=["name", "label", "owner", "definition"]).records


def save(client, label="Revenue by industry", definition=SUMMARY, **extra):
    return client.send_json("POST", "/app/_api/user-reports", {"label": label, "definition": definition, **extra})


def test_preview_runs_the_definition_as_the_user(login, companies):
    rep = login("rep")
    r = rep.send_json("POST", "/app/_api/reports/preview", {"app": "testapp", "definition": SUMMARY})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert groups_of(body["result"]) == by_industry(MINE)          # the rep's own companies only
    assert 'report-table' in body["table"] and "Energy" in body["table"] and "Mall" not in body["table"]
    assert 'class="report-chart"' in body["chart"]
    # without the CSRF header: refused, machine-readable
    r = rep.send_json("POST", "/app/_api/reports/preview", {"definition": SUMMARY}, csrf=False)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "csrf_failed"


def test_saved_report_is_private_to_its_owner(login, users, services, companies):
    rep, rep2 = login("rep"), login("rep2")
    r = save(rep)
    assert r.status_code == 201, r.get_json()
    report_id = r.get_json()["id"]
    [rec] = saved(services)
    assert rec["owner"] == users["rep"]["id"] and rec["name"] == "revenue_by_industry"
    assert rec["definition"]["groupings"] == ["industry"] and "object" not in rec["definition"]

    listing = rep.html("/app/testapp/reports")
    assert "Revenue by industry" in listing and f"/app/testapp/reports/my/{report_id}" in listing
    page = rep.html(f"/app/testapp/reports/my/{report_id}")
    assert "Revenue by industry" in page and "Energy" in page and "Retail" in page

    # another user of the same role: it does not exist for them, and they cannot change or delete it
    assert "Revenue by industry" not in rep2.html("/app/testapp/reports")
    assert rep2.get(f"/app/testapp/reports/my/{report_id}").status_code == 404
    assert rep2.get(f"/app/testapp/reports/my/{report_id}/edit").status_code == 404
    assert rep2.send_json("PUT", f"/app/_api/user-reports/{report_id}",
                          {"label": "Mine now", "definition": SUMMARY}).status_code == 404
    assert rep2.send_json("DELETE", f"/app/_api/user-reports/{report_id}").status_code == 404
    assert rep2.send_json("POST", f"/app/_api/user-reports/{report_id}/promote").status_code == 403
    assert [r["label"] for r in saved(services)] == ["Revenue by industry"]
    # nor through the generic API: no profile grants the object
    assert rep2.get(f"/app/testapp/user_report/{report_id}").status_code in (403, 404)

    # the owner edits and deletes it
    changed = dict(SUMMARY, filter="revenue > 100")
    r = rep.send_json("PUT", f"/app/_api/user-reports/{report_id}", {"label": "Big revenue", "definition": changed,
                                                                    "folder": "Pipeline"})
    assert r.status_code == 200, r.get_json()
    assert [(r["label"], r["definition"]["filter"]) for r in saved(services)] == [("Big revenue", "revenue > 100")]
    assert re.search(r"Pipeline.*Big revenue", rep.html("/app/testapp/reports"), re.S)
    assert rep.send_json("DELETE", f"/app/_api/user-reports/{report_id}").status_code == 204
    assert saved(services) == []
    assert rep.get(f"/app/testapp/reports/my/{report_id}").status_code == 404


def test_sharing_with_a_role_shares_the_definition_not_the_data(login, services, companies):
    rep, rep2, viewer = login("rep"), login("rep2"), login("viewer")
    report_id = save(rep, shared_with_role="tp_worker").get_json()["id"]
    listing = rep2.html("/app/testapp/reports")
    assert "Revenue by industry" in listing and "Shared" in listing
    page = rep2.html(f"/app/testapp/reports/my/{report_id}")
    # run as rep2: rep2's industries (Retail 1000, Technology 7), never the rep's Energy companies
    assert "Technology" in page and "Energy" not in page and "$1,007.00" in page
    edit = rep2.html(f"/app/testapp/reports/my/{report_id}/edit")
    assert "Copy of Revenue by industry" in edit and 'id="rb-delete"' not in edit
    assert rep2.send_json("PUT", f"/app/_api/user-reports/{report_id}",
                          {"label": "x", "definition": SUMMARY}).status_code == 404
    # a user of another role does not see it
    assert viewer.get(f"/app/testapp/reports/my/{report_id}").status_code == 404


def test_sharing_with_a_group(login, users, services, companies):
    group = services.records.create(SYSTEM, "group", {"name": "Auditors"})
    services.records.create(SYSTEM, "group_member", {"group": group["id"], "user": users["viewer"]["id"]})
    rep, viewer, rep2 = login("rep"), login("viewer"), login("rep2")
    report_id = save(rep, shared_with_group="Auditors").get_json()["id"]
    assert viewer.get(f"/app/testapp/reports/my/{report_id}").status_code == 200
    assert rep2.get(f"/app/testapp/reports/my/{report_id}").status_code == 404


@pytest.mark.parametrize("definition, status, names", [
    (dict(SUMMARY, groupings=["nope"]), 400, "nope"),
    (dict(SUMMARY, groupings=["code"]), 400, "code"),                  # hidden from the rep
    (dict(SUMMARY, summaries=["sum:name"]), 400, "name"),              # a sum over text
    (dict(SUMMARY, filter="revenue >"), 400, "filter"),
    (dict(SUMMARY, filter="code == 'x'"), 400, "code"),                # a hidden field in the filter
    ({"object": "memo", "format": "tabular", "columns": ["name"]}, 403, "memo"),   # the viewer cannot read memos
    ({"format": "tabular"}, 400, "object"),
    ("not a definition", 400, "definition"),
])
def test_bad_definitions_are_refused_and_nothing_saved(login, services, companies, definition, status, names):
    client = login("viewer" if status == 403 else "rep")
    r = save(client, definition=definition)
    assert r.status_code == status, r.get_json()
    assert names in r.get_json()["error"]["message"]
    assert saved(services) == []


@pytest.mark.parametrize("body, field", [
    ({"label": ""}, "label"), ({"label": "x" * 81}, "label"),
    ({"shared_with_role": "no_such_role"}, "shared_with_role"), ({"shared_with_group": "Nobody"}, "shared_with_group"),
    ({"name": "Bad Name"}, "name"),
])
def test_bad_report_fields_are_refused(login, services, body, field):
    r = login("rep").send_json("POST", "/app/_api/user-reports", {"label": "Fine", "definition": SUMMARY, **body})
    assert r.status_code == 422, r.get_json()
    assert field in r.get_json()["error"]["message"]
    assert saved(services) == []


def test_unknown_keys_and_bad_ids(login):
    rep = login("rep")
    r = rep.send_json("POST", "/app/_api/user-reports", {"label": "x", "definition": SUMMARY, "owner": "someone"})
    assert r.status_code == 400 and "owner" in r.get_json()["error"]["message"]
    assert rep.send_json("DELETE", "/app/_api/user-reports/not-a-uuid").status_code == 404
    assert rep.get("/app/testapp/reports/my/not-a-uuid").status_code == 404


def test_builder_pages_offer_only_readable_fields(login, admin):
    rep = login("rep")
    page = rep.html("/app/testapp/reports/new")
    assert 'id="report-builder"' in page and "&#34;revenue&#34;" in page
    assert "&#34;code&#34;" not in page                  # hidden from the rep: never offered
    assert "&#34;code&#34;" in admin.html("/app/testapp/reports/new")


def test_admin_promotes_a_saved_report_to_org_metadata(login, admin, services, companies):
    rep = login("rep")
    report_id = save(rep, shared_with_role="tp_worker").get_json()["id"]
    # the admin sees it only when shared with them: the admin's role is not tp_worker
    assert admin.send_json("POST", f"/app/_api/user-reports/{report_id}/promote").status_code == 400
    mine = save(admin, label="Team revenue").get_json()["id"]
    r = admin.send_json("POST", f"/app/_api/user-reports/{mine}/promote")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["name"] == "team_revenue"
    active = services.changes.active()
    assert active.source == "ui" and "team_revenue" in active.message
    report = services.runtimes.current().metadata.reports["team_revenue"]
    assert report["object"] == "company" and report["groupings"] == ["industry"]
    # an org report now: every reader of companies runs it, as themselves
    page = rep.html("/app/testapp/reports/team_revenue")
    assert "Team revenue" in page and "Energy" in page and "Technology" not in page
    # the same name again is refused
    again = admin.send_json("POST", f"/app/_api/user-reports/{mine}/promote")
    assert again.status_code == 400 and "already used" in again.get_json()["error"]["message"]
