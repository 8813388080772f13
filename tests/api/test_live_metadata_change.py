"""A running app keeps answering correctly across metadata changes.

On PostgreSQL, psycopg prepares a statement once it has run a few times on a connection and keeps it
while that connection goes back and forth to the pool (reads end with COMMIT: storage/engine.py,
begin_read). A prepared SELECT whose result columns change type cannot run again ("cached plan must
not change result type"), so a new metadata version must not meet statements prepared under the
old one. On SQLite the same test guards the Runtime swap."""
from __future__ import annotations

from tessera.meta.source import empty_org


def _rating_as(services, field: dict, message: str):
    org = empty_org()
    org["components"]["objects"]["company"] = {"source": "org/objects/company.yaml",
                                               "doc": {"extends": "company", "fields": {"rating": field}}}
    return services.changes.apply_org(org, author="test", message=message, allow_destructive=False)


def test_reads_after_a_type_change_use_the_new_type(api, services):
    _rating_as(services, {"type": "text", "max_length": 10}, "rating as text")
    created = api.post("/api/v1/records/company", json={"name": "Acme", "rating": "5"})
    assert created.status_code == 201, created.get_json()
    rid = created.get_json()["id"]

    def read_many():         # enough executions for psycopg to prepare the statements
        for _ in range(8):
            assert api.get(f"/api/v1/records/company/{rid}").get_json()["rating"] == "5"
            assert api.get("/api/v1/records/company", query_string={"fields": "name,rating"}).status_code == 200

    # two pooled connections with prepared reads, as a threaded server has: the one the change
    # runs its DDL on is not the only one that serves the next request
    read_many()
    with services.engine.connect():
        read_many()
    _rating_as(services, {"type": "integer"}, "rating as integer")

    for _ in range(3):       # every pooled connection in turn
        one = api.get(f"/api/v1/records/company/{rid}")
        assert one.status_code == 200, one.get_json()
        assert one.get_json()["rating"] == 5
    listed = api.get("/api/v1/records/company", query_string={"fields": "name,rating", "filter": "rating > 4"})
    assert listed.status_code == 200, listed.get_json()
    assert [r["rating"] for r in listed.get_json()["records"]] == [5]
    updated = api.patch(f"/api/v1/records/company/{rid}", json={"rating": 7})
    assert updated.status_code == 200, updated.get_json()
    assert updated.get_json()["rating"] == 7


def test_another_worker_keeps_answering_before_it_notices_the_new_version(api, services, db_url):
    """A second worker (its own engine and pool; it polls the active version only every minute here)
    has prepared its reads when the first worker changes a column's type: its next reads still
    succeed — the stale statements are dropped and the read runs again."""
    from tessera.security.actor import SYSTEM
    from tessera.services import Services
    _rating_as(services, {"type": "text", "max_length": 10}, "rating as text")
    rid = api.post("/api/v1/records/company", json={"name": "Acme", "rating": "5"}).get_json()["id"]
    other = Services.open(db_url, poll_seconds=60)
    try:
        for _ in range(8):
            assert other.records.get(SYSTEM, "company", rid)["rating"] == "5"
            assert other.records.query(SYSTEM, "company", fields="name,rating").records[0]["rating"] == "5"
        _rating_as(services, {"type": "integer"}, "rating as integer")
        assert other.records.get(SYSTEM, "company", rid)["id"] == rid
        assert other.records.query(SYSTEM, "company", fields="name,rating").records[0]["id"] == rid
        assert other.records.update(SYSTEM, "company", rid, {"name": "Acme 2"})["name"] == "Acme 2"
        other.runtimes.refresh()            # once it has noticed, it reads the new type
        assert other.records.get(SYSTEM, "company", rid)["rating"] == 5
    finally:
        other.engine.dispose()
