"""Activities (issue 16 §1): the related_to field type through the API — references checked
(an object not in the list, a record the user cannot see: 422, nothing stored), names in output,
filters, the parent's delete, sharing — and the record timeline (ordering, kinds, keyset paging)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tessera.security.actor import SYSTEM

PASSWORD = "velvet-orbit-quarry-3"
ACTIVITY_RIGHTS = {"name": "act_rights", "label": "Activities",
                   "objects": {"task": ["create", "read", "edit", "delete"], "note": ["create", "read", "edit"],
                               "event": ["create", "read", "edit"]}}


def task_count(services) -> int:
    with services.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(services.runtimes.current().tables["task"])).scalar()


@pytest.fixture
def people(services, client_for):
    """rep and peer (tp_rep: each sees only their own companies), with rights on activities."""
    services.changes.apply_org({"manifest": None, "components": {"permission_sets": {"act_rights": {
        "source": "permission_sets/act_rights.yaml", "doc": ACTIVITY_RIGHTS}}}}, author="test", message="rights")
    out = {}
    for name in ("rep", "peer"):
        user, _ = services.identity.create_user(name, password=PASSWORD, last_name=name.title(), profile="tp_rep",
                                                role="tp_worker")
        services.records.create(SYSTEM, "permission_set_assignment", {"user": user["id"], "permission_set": "act_rights"})
        out[name] = client_for(user)
        out[name + "_id"] = user["id"]
    return out


def create(client, object_name, data, status=201):
    r = client.post(f"/api/v1/records/{object_name}", json=data)
    assert r.status_code == status, r.get_json()
    return r.get_json()


def test_a_task_relates_to_a_record_and_shows_its_name(api):
    acme = create(api, "company", {"name": "Acme"})
    task = create(api, "task", {"subject": "Call Acme", "related_to": {"object": "company", "id": acme["id"]}})
    assert task["related_to"] == {"object": "company", "id": acme["id"], "name": "Acme"}
    again = api.get(f"/api/v1/records/task/{task['id']}").get_json()
    assert again["related_to"]["name"] == "Acme"
    as_text = create(api, "note", {"title": "Met", "related_to": f"company:{acme['id']}"})
    assert as_text["related_to"]["id"] == acme["id"]
    cleared = api.patch(f"/api/v1/records/note/{as_text['id']}", json={"related_to": None}).get_json()
    assert cleared["related_to"] is None


def test_an_object_not_in_the_list_is_refused_naming_the_field(api, services):
    memo = create(api, "memo", {"name": "x"})
    before = task_count(services)
    for value in ({"object": "memo", "id": memo["id"]},
                  {"object": "nothing", "id": "0190b0c0-0000-7000-8000-000000000000"},
                  {"object": "company"}, {"id": "0190b0c0-0000-7000-8000-000000000000"}, "company", 42,
                  {"object": "company", "id": "not-an-id"}, {"object": "company", "id": "x", "extra": 1}):
        r = api.post("/api/v1/records/task", json={"subject": "x", "related_to": value})
        assert r.status_code == 422, (value, r.get_json())
        assert "related_to" in r.get_json()["error"]["fields"]
    assert task_count(services) == before


def test_a_record_the_user_cannot_see_is_refused_like_a_missing_one(people, services):
    rep, peer = people["rep"], people["peer"]
    theirs = create(peer, "company", {"name": "Peer Co"})
    before = task_count(services)
    r = rep.post("/api/v1/records/task", json={"subject": "x", "related_to": {"object": "company", "id": theirs["id"]}})
    assert r.status_code == 422
    missing = rep.post("/api/v1/records/task", json={"subject": "x", "related_to": {
        "object": "company", "id": "0190b0c0-0000-7000-8000-000000000000"}})
    assert missing.status_code == 422
    # the same message shape: existence is not revealed
    assert r.get_json()["error"]["fields"]["related_to"][0].startswith("there is no company with id")
    assert missing.get_json()["error"]["fields"]["related_to"][0].startswith("there is no company with id")
    assert task_count(services) == before


def test_a_rep_sees_an_activity_only_if_they_may_read_it_and_the_record(people, api):
    rep, peer = people["rep"], people["peer"]
    mine = create(rep, "company", {"name": "Mine"})
    create(rep, "task", {"subject": "My call", "status": "Completed", "type": "Call",
                         "related_to": {"object": "company", "id": mine["id"]}})
    # the admin logs a note on the rep's company: private to the admin, so the rep does not see it
    create(api, "note", {"title": "Admin note", "related_to": {"object": "company", "id": mine["id"]}})
    rep_view = rep.get(f"/api/v1/records/company/{mine['id']}/timeline").get_json()
    assert [e["title"] for e in rep_view["entries"] if e["kind"] in ("call", "note")] == ["My call"]
    admin_view = api.get(f"/api/v1/records/company/{mine['id']}/timeline").get_json()
    assert {e["title"] for e in admin_view["entries"] if e["kind"] in ("call", "note")} == {"My call", "Admin note"}
    # the peer may not see the company: 404, as for a missing record
    assert peer.get(f"/api/v1/records/company/{mine['id']}/timeline").status_code == 404
    # a task of the peer's own, on a company the peer can no longer see, shows the id without the name
    theirs = create(peer, "company", {"name": "Theirs"})
    task = create(peer, "task", {"subject": "Peer task", "related_to": {"object": "company", "id": theirs["id"]}})
    api.patch(f"/api/v1/records/company/{theirs['id']}", json={"owner": people["rep_id"]})
    seen = peer.get(f"/api/v1/records/task/{task['id']}").get_json()
    assert seen["related_to"] == {"object": "company", "id": theirs["id"]}


def test_filters_on_the_object_and_the_id(api):
    acme = create(api, "company", {"name": "Acme"})
    deal = create(api, "deal", {"name": "Big"})
    create(api, "task", {"subject": "on acme", "related_to": {"object": "company", "id": acme["id"]}})
    create(api, "task", {"subject": "on deal", "related_to": {"object": "deal", "id": deal["id"]}})
    create(api, "task", {"subject": "on nothing"})

    def subjects(expression):
        r = api.get("/api/v1/records/task", query_string={"filter": expression, "sort": "subject"})
        assert r.status_code == 200, r.get_json()
        return [t["subject"] for t in r.get_json()["records"]]
    assert subjects("related_to.object == 'company'") == ["on acme"]
    assert subjects(f"related_to == '{deal['id']}'") == ["on deal"]
    assert subjects("ISBLANK(related_to)") == ["on nothing"]
    assert subjects("related_to.object != 'company' and not ISBLANK(related_to)") == ["on deal"]
    assert api.get("/api/v1/records/task", query_string={"filter": "related_to.object == 3"}).status_code == 400


def test_deleting_the_parent_clears_the_reference(api):
    acme = create(api, "company", {"name": "Acme"})
    task = create(api, "task", {"subject": "x", "related_to": {"object": "company", "id": acme["id"]}})
    assert api.delete(f"/api/v1/records/company/{acme['id']}").status_code == 204
    assert api.get(f"/api/v1/records/task/{task['id']}").get_json()["related_to"] is None


def test_cascade_deletes_the_activities_with_their_parent(api, services):
    services.changes.apply_org({"manifest": None, "components": {"objects": {"deal": {
        "source": "objects/deal.yaml", "doc": {"extends": "deal", "fields": {
            "regarding": {"type": "related_to", "to": ["company"], "on_delete": "cascade"}}}}}}},
        author="test", message="a related_to field")
    acme = create(api, "company", {"name": "Acme"})
    deal = create(api, "deal", {"name": "Big", "regarding": {"object": "company", "id": acme["id"]}})
    assert deal["regarding"]["name"] == "Acme"
    assert api.delete(f"/api/v1/records/company/{acme['id']}").status_code == 204
    assert api.get(f"/api/v1/records/deal/{deal['id']}").status_code == 404


def test_timeline_orders_newest_first_with_open_tasks_on_top_and_pages(api, services):
    acme = create(api, "company", {"name": "Acme"})
    ref = {"object": "company", "id": acme["id"]}
    for i in range(7):
        create(api, "task", {"subject": f"Call {i}", "type": "Call", "status": "Completed", "related_to": ref})
        create(api, "note", {"title": f"Note {i}", "related_to": ref})
    create(api, "task", {"subject": "Open one", "due_date": "2020-01-01", "related_to": ref})
    create(api, "task", {"subject": "Later one", "due_date": "2999-01-01", "related_to": ref})
    api.patch(f"/api/v1/records/company/{acme['id']}", json={"name": "Acme Corp"})
    first = api.get(f"/api/v1/records/company/{acme['id']}/timeline?limit=5").get_json()
    assert [t["subject"] for t in first["open_tasks"]] == ["Open one", "Later one"]
    assert first["open_tasks"][0]["is_overdue"] is True
    seen, page = [], first
    while True:
        seen += page["entries"]
        if not page["next_cursor"]:
            break
        page = api.get(f"/api/v1/records/company/{acme['id']}/timeline",
                       query_string={"limit": 5, "cursor": page["next_cursor"]}).get_json()
        assert "open_tasks" not in page
    kinds = [e["kind"] for e in seen]
    assert kinds.count("call") == 7 and kinds.count("note") == 7 and kinds.count("change") == 1
    assert len({(e["kind"], str(e["id"])) for e in seen}) == len(seen) == 15
    ats = [e["at"] for e in seen]
    assert ats == sorted(ats, reverse=True)
    assert seen[0]["kind"] == "change"   # the rename came last
    only_calls = api.get(f"/api/v1/records/company/{acme['id']}/timeline?kinds=call&limit=100").get_json()
    assert [e["title"] for e in only_calls["entries"]] == [f"Call {i}" for i in reversed(range(7))]
    assert api.get(f"/api/v1/records/company/{acme['id']}/timeline?kinds=bogus").status_code == 400
    assert api.get(f"/api/v1/records/company/{acme['id']}/timeline?cursor=%%%").status_code == 400
    assert api.get(f"/api/v1/records/company/{acme['id']}/timeline?limit=0").status_code == 400
    assert api.get("/api/v1/records/company/0190b0c0-0000-7000-8000-000000000000/timeline").status_code == 404


def test_adding_renaming_and_dropping_a_related_to_field_through_the_pipeline(api, services):
    acme = create(api, "company", {"name": "Acme"})
    deal = create(api, "deal", {"name": "Before"})

    def apply(fields, message):
        services.changes.apply_org({"manifest": None, "components": {"objects": {"deal": {
            "source": "objects/deal.yaml", "doc": {"extends": "deal", "fields": fields}}}}},
            author="test", message=message)
    apply({"regarding": {"type": "related_to", "to": ["company", "deal"]}}, "add")
    assert api.get(f"/api/v1/records/deal/{deal['id']}").get_json()["regarding"] is None
    api.patch(f"/api/v1/records/deal/{deal['id']}", json={"regarding": {"object": "company", "id": acme["id"]}})
    apply({"about": {"type": "related_to", "to": ["company", "deal"], "renamed_from": "regarding"}}, "rename")
    got = api.get(f"/api/v1/records/deal/{deal['id']}").get_json()
    assert got["about"] == {"object": "company", "id": acme["id"], "name": "Acme"}
    filtered = api.get("/api/v1/records/deal", query_string={"filter": "about.object == 'company'"}).get_json()
    assert [d["id"] for d in filtered["records"]] == [deal["id"]]
    services.changes.apply_org({"manifest": None, "components": {"objects": {"deal": {
        "source": "objects/deal.yaml", "doc": {"extends": "deal", "fields": {}}}}}},
        author="test", message="drop", allow_destructive=True)
    assert "about" not in api.get(f"/api/v1/records/deal/{deal['id']}").get_json()


def test_semantic_checks_name_a_missing_object(services):
    from tessera.meta.errors import MetadataInvalid
    with pytest.raises(MetadataInvalid) as caught:
        services.changes.apply_org({"manifest": None, "components": {"objects": {"deal": {
            "source": "objects/deal.yaml", "doc": {"extends": "deal", "fields": {
                "regarding": {"type": "related_to", "to": ["company", "nowhere"]}}}}}}},
            author="test", message="bad")
    assert "there is no object 'nowhere'" in str(caught.value)


def test_closed_tasks_and_calls_are_dated_when_they_were_done(api):
    acme = create(api, "company", {"name": "Acme"})
    ref = {"object": "company", "id": acme["id"]}
    early = create(api, "task", {"subject": "Early task", "related_to": ref})          # open for a while
    create(api, "note", {"title": "Middle note", "related_to": ref})
    call = create(api, "task", {"subject": "Logged call", "type": "Call", "status": "Completed", "related_to": ref})
    assert call["completed_at"] is not None
    done = api.patch(f"/api/v1/records/task/{early['id']}", json={"status": "Completed"}).get_json()
    assert done["completed_at"] > call["completed_at"] > early["created_at"]
    url = f"/api/v1/records/company/{acme['id']}/timeline?kinds=task,call,note"
    entries = api.get(url).get_json()["entries"]
    # the task created first but done last is the newest entry, dated by its completion
    assert [e["title"] for e in entries] == ["Early task", "Logged call", "Middle note"]
    assert entries[0]["at"] == done["completed_at"] and entries[1]["at"] == call["completed_at"]
    # a deferred task is closed too: dated when deferred; reopened, it leaves the feed for the open tasks
    deferred = api.patch(f"/api/v1/records/task/{early['id']}", json={"status": "Deferred"}).get_json()
    assert deferred["completed_at"] == done["completed_at"]          # closed all along: still when it was done
    reopened = api.patch(f"/api/v1/records/task/{early['id']}", json={"status": "In Progress"}).get_json()
    assert reopened["completed_at"] is None
    page = api.get(url).get_json()
    assert [e["title"] for e in page["entries"]] == ["Logged call", "Middle note"]
    assert [t["subject"] for t in page["open_tasks"]] == ["Early task"]
    later = api.patch(f"/api/v1/records/task/{early['id']}", json={"status": "Deferred"}).get_json()
    assert later["completed_at"] > call["completed_at"]
    assert [e["title"] for e in api.get(url).get_json()["entries"]] == ["Early task", "Logged call", "Middle note"]
