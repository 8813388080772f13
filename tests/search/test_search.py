"""Global search (issue 16 §3): the full-text index follows every write, search shows only what the
reader may see, the change pipeline rebuilds the index when the searchable set changes, and no
query text — FTS syntax included — is ever a 500. Runs on SQLite and PostgreSQL alike."""
from __future__ import annotations

import copy

import pytest

from tessera.meta.source import empty_org
from tessera.records.errors import BadQuery
from tessera.security.actor import SYSTEM

PASSWORD = "Tq7-violet-harbor-92"
SUPPLIER = {"name": "supplier", "sharing_model": "private", "fields": {
    "name": {"type": "text", "required": True},
    "code": {"type": "text", "searchable": True},
    "email": {"type": "email", "searchable": True},
    "phone": {"type": "phone"},
    "employees": {"type": "integer"}}}
BUYER = {"name": "sr_buyer", "label": "Buyer", "system_permissions": ["api_access"],
         "objects": {"supplier": ["create", "read", "edit", "delete"], "user": ["read"]},
         "fields": {"supplier": {"code": []}}}


def _org(supplier=SUPPLIER):
    org = empty_org()
    comps = org["components"]
    comps["objects"]["supplier"] = {"source": "org/objects/supplier.yaml", "doc": supplier}
    comps["profiles"]["sr_buyer"] = {"source": "org/profiles/sr_buyer.yaml", "doc": BUYER}
    return org


@pytest.fixture
def org(services):
    services.changes.apply_org(_org(), author="test", message="suppliers")
    return services


def _ids(groups, object_name="supplier"):
    return {hit["id"] for g in groups if g["object"] == object_name for hit in g["hits"]}


def test_index_follows_create_update_delete_and_bulk(org):
    records = org.records
    acme = records.create(SYSTEM, "supplier", {"name": "Acme Tools", "email": "sales@acme-tools.com", "code": "AC-17"})
    assert _ids(records.search(SYSTEM, "acme")) == {acme["id"]}
    assert _ids(records.search(SYSTEM, "ac-17")) == {acme["id"]}            # a code, punctuation and all
    assert _ids(records.search(SYSTEM, "sales@acme")) == {acme["id"]}       # an email's parts
    hit = records.search(SYSTEM, "acme tool")[0]["hits"][0]                  # every word, by prefix
    assert hit["name"] == "Acme Tools" and hit["object"] == "supplier" and hit["matched"] == ["name", "email"]
    records.update(SYSTEM, "supplier", acme["id"], {"name": "Zenith Tools"})
    assert records.search(SYSTEM, "acme")[0]["hits"][0]["matched"] == ["email"]   # no longer its name
    assert _ids(records.search(SYSTEM, "zenith")) == {acme["id"]}
    records.update(SYSTEM, "supplier", acme["id"], {"employees": 5})        # no searchable field: kept
    assert _ids(records.search(SYSTEM, "zenith")) == {acme["id"]}
    ids = records.bulk_create(SYSTEM, "supplier", [{"name": f"Bulk Parts {i}"} for i in range(3)])
    assert _ids(records.search(SYSTEM, "bulk parts")) == set(ids)
    records.delete(SYSTEM, "supplier", acme["id"])
    assert records.search(SYSTEM, "zenith") == []
    # the phone is not searchable: not found by it
    records.create(SYSTEM, "supplier", {"name": "Phoneless", "phone": "555-0199"})
    assert records.search(SYSTEM, "555-0199") == []


def test_ranked_name_first_and_limited(org):
    records = org.records
    by_email = records.create(SYSTEM, "supplier", {"name": "Other", "email": "orbit@example.com"})
    by_name = records.create(SYSTEM, "supplier", {"name": "Orbit Supplies"})
    for i in range(4):
        records.create(SYSTEM, "supplier", {"name": f"Orbital {i}"})
    group = records.search(SYSTEM, "orbit", objects=["supplier"], limit=3)[0]
    assert len(group["hits"]) == 3 and group["more"] is True
    ranks = [h["rank"] for h in group["hits"]]
    assert ranks == sorted(ranks, reverse=True)
    everything = records.search(SYSTEM, "orbit", objects=["supplier"], limit=10)[0]["hits"]
    order = [h["id"] for h in everything]
    assert order.index(by_name["id"]) < order.index(by_email["id"])


def test_sharing_and_field_level_security(org):
    records, identity = org.records, org.identity
    ann, _ = identity.create_user("ann", password=PASSWORD, profile="sr_buyer", last_name="Ann")
    bob, _ = identity.create_user("bob", password=PASSWORD, profile="sr_buyer", last_name="Bob")
    as_ann, as_bob = identity.actor_for_user(ann), identity.actor_for_user(bob)
    mine = records.create(as_ann, "supplier", {"name": "Quasar Mine"})
    records.update(SYSTEM, "supplier", mine["id"], {"code": "SECRET77"})   # a field Ann cannot see
    theirs = records.create(as_bob, "supplier", {"name": "Quasar Theirs"})
    # a rep does not find another rep's private records
    assert _ids(records.search(as_ann, "quasar")) == {mine["id"]}
    assert _ids(records.search(as_bob, "quasar")) == {theirs["id"]}
    assert _ids(records.search(SYSTEM, "quasar")) == {mine["id"], theirs["id"]}
    # a word only in a field hidden from the reader (code) neither matches nor shows
    assert _ids(records.search(SYSTEM, "secret77")) == {mine["id"]}
    assert records.search(as_ann, "secret77") == []
    hit = records.search(as_ann, "quasar")[0]["hits"][0]
    assert "code" not in hit["matched"] and "SECRET77" not in str(hit)


def test_pipeline_rebuilds_the_index_when_the_searchable_set_changes(org):
    records = org.records
    rec = records.create(SYSTEM, "supplier", {"name": "Nimbus", "phone": "+1 415 555 0100"})
    assert records.search(SYSTEM, "415") == []
    marked = copy.deepcopy(SUPPLIER)
    marked["fields"]["phone"]["searchable"] = True
    result = org.changes.apply_org(_org(marked), author="test", message="phone searchable")
    assert any("search index of supplier" in line for line in result.plan.lines())
    assert _ids(records.search(SYSTEM, "415 555")) == {rec["id"]}           # existing records found
    new = records.create(SYSTEM, "supplier", {"name": "Cirrus", "phone": "415-000"})
    assert _ids(records.search(SYSTEM, "415")) == {rec["id"], new["id"]}
    # unmarked again (and a field dropped): the index forgets it
    unmarked = copy.deepcopy(SUPPLIER)
    del unmarked["fields"]["email"]
    org.changes.apply_org(_org(unmarked), author="test", message="phone not searchable, email dropped",
                          allow_destructive=True)
    assert records.search(SYSTEM, "415") == []
    assert _ids(records.search(SYSTEM, "nimbus")) == {rec["id"]}


def test_searchable_only_on_text_like_fields(org):
    bad = copy.deepcopy(SUPPLIER)
    bad["fields"]["employees"]["searchable"] = True
    with pytest.raises(Exception) as info:
        org.changes.apply_org(_org(bad), author="test", message="bad")
    text = str(info.value) + repr(getattr(info.value, "errors", ""))
    assert "org/objects/supplier.yaml" in text and "fields.employees.searchable" in text
    assert "integer fields cannot be searchable" in text


@pytest.mark.parametrize("q", ['"', '""acme', "acme*", "* *", "NEAR(acme tools)", "acme NEAR tools", "-acme",
                               "acme -tools", "'unbalanced", "(acme", "acme)", "a:b", "{name}: acme", "^acme",
                               "acme OR 1=1", "'; DROP TABLE obj_supplier; --", "acme & | ! <->", "ÄÇMÉ",
                               "x" * 200, "%%", "__", "\\\\"])
def test_fts_syntax_is_never_syntax(org, q):
    records = org.records
    acme = records.create(SYSTEM, "supplier", {"name": "Acme Tools"})
    try:
        groups = records.search(SYSTEM, q)
    except BadQuery:
        assert len(q.strip()) < 2   # the one refusal: too short
        return
    assert isinstance(groups, list)
    if q in ("acme*", "(acme", "acme)", "-acme", "^acme", '""acme'):
        assert _ids(groups) == {acme["id"]}
    assert records.search(SYSTEM, "acme tools")   # the table is still there


@pytest.mark.parametrize("q", [None, "", "a", " a ", "x" * 201, "ab\x00"])
def test_too_short_or_long_is_a_bad_query(org, q):
    with pytest.raises(BadQuery):
        org.records.search(SYSTEM, q)


def test_api_search(org, api, client_for):
    records = org.records
    acme = records.create(SYSTEM, "supplier", {"name": "Acme Tools", "email": "hi@acme.io"})
    r = api.get("/api/v1/search?q=acme")
    assert r.status_code == 200, r.json
    group = next(g for g in r.json["groups"] if g["object"] == "supplier")
    assert group["hits"][0]["id"] == acme["id"] and group["hits"][0]["matched"] == ["name", "email"]
    assert set(group["hits"][0]) == {"id", "object", "name", "matched", "values", "rank"}
    assert group["hits"][0]["values"] == {"name": "Acme Tools", "email": "hi@acme.io"}
    r = api.get("/api/v1/search?q=acme&objects=supplier&limit=1")
    assert r.status_code == 200 and [g["object"] for g in r.json["groups"]] == ["supplier"]
    for url in ("/api/v1/search", "/api/v1/search?q=a", "/api/v1/search?q=" + "x" * 201,
                "/api/v1/search?q=acme&limit=0", "/api/v1/search?q=acme&limit=x", "/api/v1/search?q=acme&limit=51",
                "/api/v1/search?q=acme&objects=nosuch"):
        r = api.get(url)
        assert r.status_code == 400, (url, r.status_code, r.json)
        assert r.json["error"]["code"] == "bad_query" and r.json["error"]["parameter"] in ("q", "limit", "objects")
    assert "/search" in api.get("/api/v1/openapi.json").json["paths"]
