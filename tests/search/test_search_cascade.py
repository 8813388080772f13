"""Search entries go with the records a delete cascades to (issue 16 §3): a master-detail child, a
cascading lookup's grandchild and a related_to reference set to cascade are deleted by the parent's
delete, and so are their entries in the index's side tables — no lingering entry, no hit that 404s.
related_to references to a cascade-deleted child are cleared or deleted with it as well.
Runs on SQLite and PostgreSQL alike."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tessera.dedupe import storage as dedupe_storage
from tessera.meta.source import empty_org
from tessera.search import storage
from tessera.security.actor import SYSTEM
from tessera.storage.engine import begin_read

OBJECTS = {
    "fleet": {"name": "fleet", "fields": {"name": {"type": "text", "required": True}}},
    "vessel": {"name": "vessel", "activities": True, "fields": {
        "name": {"type": "text", "required": True},
        "call_sign": {"type": "text", "searchable": True},
        "fleet": {"type": "master_detail", "to": "fleet"}}},
    "crew_member": {"name": "crew_member", "fields": {
        "name": {"type": "text", "required": True},
        "vessel": {"type": "lookup", "to": "vessel", "on_delete": "cascade"}}},
    "logbook": {"name": "logbook", "fields": {
        "name": {"type": "text", "required": True},
        "about": {"type": "related_to", "to": ["fleet", "vessel"], "on_delete": "cascade"}}},
}


def _org():
    org = empty_org()
    for name, doc in OBJECTS.items():
        org["components"]["objects"][name] = {"source": f"org/objects/{name}.yaml", "doc": doc}
    return org


@pytest.fixture
def fleet(services):
    services.changes.apply_org(_org(), author="test", message="fleets")
    return services


def _ids(groups):
    return {hit["id"] for g in groups for hit in g["hits"]}


def _entries(engine, object_name) -> int:
    """Rows of an object's index (the FTS5 table and its keys on SQLite, the documents on PostgreSQL)."""
    with begin_read(engine) as conn:
        if conn.dialect.name == "sqlite":
            keys = conn.execute(select(func.count()).select_from(storage.keys_table(object_name))).scalar_one()
            fts = storage.fts_table(object_name, ())
            return keys + conn.execute(select(func.count()).select_from(fts)).scalar_one()
        return conn.execute(select(func.count()).select_from(storage.documents_table(object_name))).scalar_one()


def test_deleting_a_parent_drops_the_entries_of_what_it_cascades_to(fleet):
    records = fleet.records
    kept = records.create(SYSTEM, "fleet", {"name": "Northern Kestrel Fleet"})
    doomed = records.create(SYSTEM, "fleet", {"name": "Southern Albatross Fleet"})
    vessel = records.create(SYSTEM, "vessel", {"name": "Albatross One", "call_sign": "ZXQ-41", "fleet": doomed["id"]})
    records.create(SYSTEM, "crew_member", {"name": "Albatross Bosun", "vessel": vessel["id"]})
    records.create(SYSTEM, "logbook", {"name": "Albatross Voyages", "about": {"object": "fleet", "id": doomed["id"]}})
    other = records.create(SYSTEM, "vessel", {"name": "Kestrel One", "call_sign": "KST-1", "fleet": kept["id"]})
    assert len(_ids(records.search(SYSTEM, "albatross"))) == 4
    assert _ids(records.search(SYSTEM, "zxq")) == {vessel["id"]}
    records.delete(SYSTEM, "fleet", doomed["id"])
    assert records.search(SYSTEM, "albatross") == []
    assert records.search(SYSTEM, "zxq") == []
    # the index's side tables hold nothing of them: only the kept fleet's vessel is left
    assert _entries(fleet.engine, "crew_member") == 0 and _entries(fleet.engine, "logbook") == 0
    assert _entries(fleet.engine, "vessel") == (2 if fleet.engine.dialect.name == "sqlite" else 1)
    assert _ids(records.search(SYSTEM, "kestrel")) == {kept["id"], other["id"]}
    # the kept records stay searchable and writable
    records.update(SYSTEM, "vessel", other["id"], {"call_sign": "KST-2"})
    assert _ids(records.search(SYSTEM, "kst 2")) == {other["id"]}


def test_api_search_after_a_cascade_finds_nothing_to_open(fleet, api):
    parent = api.post("/api/v1/records/fleet", json={"name": "Obsidian Fleet"}).json
    child = api.post("/api/v1/records/vessel", json={"name": "Obsidian Runner", "fleet": parent["id"]}).json
    hits = api.get("/api/v1/search?q=obsidian").json["groups"]
    assert _ids(hits) == {parent["id"], child["id"]}
    assert api.delete(f"/api/v1/records/fleet/{parent['id']}").status_code == 204
    assert api.get("/api/v1/search?q=obsidian").json["groups"] == []
    assert api.get(f"/api/v1/records/vessel/{child['id']}").status_code == 404


def test_related_to_references_to_cascade_deleted_children_follow_them(fleet):
    records = fleet.records
    doomed = records.create(SYSTEM, "fleet", {"name": "Gull Fleet"})
    vessel = records.create(SYSTEM, "vessel", {"name": "Gull One", "fleet": doomed["id"]})
    crew = records.create(SYSTEM, "crew_member", {"name": "Gull Cook", "vessel": vessel["id"]})
    on_vessel = {"object": "vessel", "id": vessel["id"]}
    task = records.create(SYSTEM, "task", {"subject": "Inspect the gull hull", "related_to": on_vessel})
    log = records.create(SYSTEM, "logbook", {"name": "Gull Log", "about": on_vessel})   # cascade
    records.delete(SYSTEM, "fleet", doomed["id"])
    # the vessel went with its fleet (master-detail): the task about it is cleared (set_null), the
    # logbook about it deleted (cascade) with its search entry; the crew member went by its lookup
    assert records.get(SYSTEM, "task", task["id"])["related_to"] is None
    for object_name, record in (("vessel", vessel), ("crew_member", crew), ("logbook", log)):
        assert records.query(SYSTEM, object_name, filter=f"id == '{record['id']}'").records == []
    assert _ids(records.search(SYSTEM, "gull")) == {task["id"]}


def test_duplicate_keys_of_cascade_deleted_children_go_with_them(fleet):
    """A duplicate rule's keys (tessera/dedupe) follow a cascade as the search entries do: a
    vessel deleted with its fleet leaves no key that would match a new vessel as its duplicate."""
    org = _org()
    rule = {"name": "vessel_by_call_sign", "object": "vessel", "action": "warn",
            "conditions": [{"field": "call_sign", "match": "exact"}]}
    org["components"]["duplicate_rules"] = {"vessel_by_call_sign": {
        "source": "org/duplicate_rules/vessel_by_call_sign.yaml", "doc": rule}}
    fleet.changes.apply_org(org, author="test", message="a duplicate rule")
    records = fleet.records
    doomed = records.create(SYSTEM, "fleet", {"name": "Tern Fleet"})
    records.create(SYSTEM, "vessel", {"name": "Tern One", "call_sign": "TRN-1", "fleet": doomed["id"]})
    kept = records.create(SYSTEM, "fleet", {"name": "Heron Fleet"})
    twin = records.create(SYSTEM, "vessel", {"name": "Tern Two", "call_sign": "TRN-1", "fleet": kept["id"]})
    assert twin.get("_warnings")                              # a duplicate while the first one lives
    records.delete(SYSTEM, "fleet", doomed["id"])
    third = records.create(SYSTEM, "vessel", {"name": "Tern Three", "call_sign": "TRN-1", "fleet": kept["id"]})
    assert [m["id"] for w in third["_warnings"] for m in w["matches"]] == [twin["id"]]
    with begin_read(fleet.engine) as conn:
        left = conn.execute(select(func.count()).select_from(dedupe_storage.keys_table("vessel"))).scalar_one()
    assert left == 2                                          # the twin's and the third's, not the deleted one's
