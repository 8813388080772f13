"""Duplicate rules (issue 17): the metadata kind and its checks, every kind of match, keys kept by the
record service on create, update and delete, and built by the change pipeline for the rows a
database already has when a rule is deployed. Through the service API, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect

from tessera.meta.errors import MetadataInvalid
from tessera.records.errors import DuplicatesFound
from tessera.security.actor import SYSTEM

SUPPLIER = {"name": "supplier", "sharing_model": "private", "fields": {
    "name": {"type": "text", "required": True},
    "code": {"type": "text"},
    "email": {"type": "email"},
    "phone": {"type": "phone"},
    "employees": {"type": "integer"},
    "status": {"type": "picklist", "values": ["Active", "Merged"]},
    "label_text": {"type": "formula", "returns": "text", "expression": "name + '!'"}}}


def rule(name, conditions, action="warn", **more):
    return {"name": name, "object": "supplier", "action": action, "conditions": conditions, **more}


def org_with(*rules, supplier=SUPPLIER):
    components = {"objects": {"supplier": {"source": "org/objects/supplier.yaml", "doc": supplier}},
                  "duplicate_rules": {r["name"]: {"source": f"org/duplicate_rules/{r['name']}.yaml", "doc": r}
                                      for r in rules}}
    return {"manifest": None, "components": components}


def apply(services, *rules, **kw):
    return services.changes.apply_org(org_with(*rules, **kw), author="test", message="rules")


def new(services, **values):
    return services.records.create(SYSTEM, "supplier", {"name": "Some Supplier", **values})


def warned(record) -> dict[str, list[str]]:
    """rule -> the ids of the records it matched."""
    return {w["rule"]: [m["id"] for m in w["matches"]] for w in record.get("_warnings", ())}


def probe(services, **values) -> dict[str, list[str]]:
    """The warnings of a record created and deleted again (it is no one's duplicate afterwards)."""
    record = new(services, **values)
    services.records.delete(SYSTEM, "supplier", record["id"])
    return warned(record)


# -- metadata ----------------------------------------------------------------------------------
@pytest.mark.parametrize("bad, path, message", [
    (rule("r", [{"field": "nope", "match": "exact"}]), "conditions.0.field", "'supplier' has no field 'nope'"),
    (rule("r", [{"field": "employees", "match": "fuzzy"}]), "conditions.0.match",
     "'employees' is a integer field: fuzzy matching compares text"),
    (rule("r", [{"field": "employees", "match": "email"}]), "conditions.0.match", "a email match compares"),
    (rule("r", [{"field": "label_text", "match": "exact"}]), "conditions.0.field", "only stored fields"),
    (rule("r", [{"field": "name", "match": "exact", "threshold": 0.5}]), "conditions.0.threshold",
     "a threshold is for fuzzy matches only"),
    (rule("r", [{"field": "name", "match": "fuzzy", "threshold": 1.5}]), "conditions.0.threshold",
     "1.5 is not a similarity"),
    (rule("r", [{"field": "name", "match": "fuzzy", "threshold": 0}]), "conditions.0.threshold",
     "0 is not a similarity"),
    (rule("r", [{"field": "name", "match": "sounds_like"}]), "conditions.0.match", "is not a kind of match"),
    (rule("r", [{"field": "name", "match": "exact"}], action="merge"), "action", "is not an action"),
    (rule("r", [{"field": "name", "match": "exact"}], allow_override=True), "allow_override",
     "only a block rule can be overridden"),
    (rule("r", [{"field": "name", "match": "exact"}], where="statuz == 'Active'"), "where", "statuz"),
    (rule("r", [{"field": "name", "match": "exact"}], where="name"), "where", "boolean"),
    (rule("r", [{"field": "name", "match": "exact"}, {"field": "name", "match": "exact"}]), "conditions.1",
     "already matched"),
    (rule("r", []), "conditions", ""),
    ({**rule("r", [{"field": "name", "match": "exact"}]), "object": "nothing"}, "object", "there is no object 'nothing'"),
])
def test_bad_rules_are_refused_naming_file_and_path(services, bad, path, message):
    with pytest.raises(MetadataInvalid) as info:
        apply(services, bad)
    found = [e for e in info.value.errors if e.source == "org/duplicate_rules/r.yaml" and e.path == path]
    assert found and message in found[0].message, info.value.errors
    assert "supplier" not in services.runtimes.refresh().objects   # nothing applied


# -- kinds of match ----------------------------------------------------------------------------
def test_each_kind_of_match(services):
    apply(services,
          rule("same_code", [{"field": "code", "match": "exact"}]),
          rule("same_name", [{"field": "name", "match": "normalized"}]),
          rule("same_email", [{"field": "email", "match": "email"}]),
          rule("same_domain", [{"field": "email", "match": "email_domain"}]),
          rule("same_phone", [{"field": "phone", "match": "phone"}]),
          rule("similar_name", [{"field": "name", "match": "fuzzy", "threshold": 0.85}]),
          rule("same_size", [{"field": "employees", "match": "exact"}]))
    first = new(services, name="Crème  Brûlée Ltd", code="AB-1", email="Ann.Lee@Acme.com", phone="+1 (555) 010-9999",
                employees=40)
    fid = first["id"]
    assert "_warnings" not in first
    assert probe(services, name="x1", code="AB-1") == {"same_code": [fid]}
    assert probe(services, name="x2", code="ab-1") == {}                      # exact: case counts
    assert probe(services, name="creme brulee LTD") == {"same_name": [fid], "similar_name": [fid]}
    assert probe(services, name="x3", email="ann.lee@ACME.COM") == {"same_email": [fid], "same_domain": [fid]}
    assert probe(services, name="x4", email="annlee@acme.com") == {"same_domain": [fid]}   # dots kept
    assert probe(services, name="x5", phone="555.010.9999") == {"same_phone": [fid]}       # the last 10 digits
    assert probe(services, name="x6", phone="010-9999") == {}
    assert probe(services, name="Creme Brulee, Ltd.") == {"similar_name": [fid]}        # punctuation: fuzzy only
    near = new(services, name="Crème Brulée Lmt")          # two letters off: similar, not the same
    services.records.delete(SYSTEM, "supplier", near["id"])
    assert warned(near) == {"similar_name": [fid]}
    assert 0.85 <= near["_warnings"][0]["matches"][0]["score"] < 1
    assert probe(services, name="Crimson Bridges Ltd") == {}               # the same first letters, far apart
    assert probe(services, name="Brulee Creme Ltd") == {}                  # other first letters: not a candidate
    assert probe(services, name="x7", employees=40) == {"same_size": [fid]}
    assert probe(services, name="x8") == {}                                # blanks match nothing


def test_all_conditions_must_match_and_where_sets_records_aside(services):
    apply(services, rule("domain_and_name", [{"field": "email", "match": "email_domain"},
                                             {"field": "name", "match": "fuzzy"}],
                         where="status != 'Merged'"))
    acme = new(services, name="Acme Tools", email="info@acme.com", status="Active")
    merged = new(services, name="Acme Tools", email="old@acme.com", status="Merged")
    assert warned(merged) == {"domain_and_name": [acme["id"]]}        # where: about the records compared
    found = new(services, name="ACME Tools", email="sales@acme.com", status="Active")
    assert warned(found) == {"domain_and_name": [acme["id"]]}         # the merged one is set aside
    assert warned(new(services, name="Acme Tools", email="sales@other.com")) == {}
    assert warned(new(services, name="Zenith", email="z@acme.com")) == {}


# -- block, update, delete ---------------------------------------------------------------------
def test_block_update_and_delete(services):
    apply(services, rule("one_email", [{"field": "email", "match": "email"}], action="block",
                         message="That supplier exists already."))
    acme = new(services, name="Acme", email="a@acme.com")
    other = new(services, name="Other", email="o@other.com")
    with pytest.raises(DuplicatesFound) as info:
        new(services, name="Copy", email="A@ACME.com")
    body = info.value.to_dict()
    assert info.value.status == 409 and body["code"] == "duplicates_found" and body["overridable"] is False
    assert body["fields"] == {"email": ["That supplier exists already."]}
    assert body["duplicates"][0]["matches"] == [{"id": acme["id"], "name": "Acme", "score": 1.0}]
    with pytest.raises(DuplicatesFound):                   # no override without allow_override
        services.records.create(SYSTEM, "supplier", {"name": "Copy", "email": "a@acme.com"}, allow_duplicates=True)
    assert services.records.query(SYSTEM, "supplier", filter="name == 'Copy'").records == []
    # an update is checked when it changes a compared field, never against the record itself
    services.records.update(SYSTEM, "supplier", acme["id"], {"email": "A@acme.com", "employees": 3})
    with pytest.raises(DuplicatesFound):
        services.records.update(SYSTEM, "supplier", other["id"], {"email": "a@acme.com"})
    services.records.update(SYSTEM, "supplier", other["id"], {"email": "new@other.com"})
    # the keys follow the update: the old address is free, the new one taken
    new(services, name="Reuses the old", email="o@other.com")
    with pytest.raises(DuplicatesFound):
        new(services, name="Copy", email="new@other.com")
    # and the delete
    services.records.delete(SYSTEM, "supplier", acme["id"])
    assert new(services, name="Acme again", email="a@acme.com")["email"] == "a@acme.com"


def test_duplicates_of_a_saved_record(services):
    apply(services, rule("same_name", [{"field": "name", "match": "normalized"}]))
    a = new(services, name="Globex")
    b = new(services, name="GLOBEX")
    new(services, name="Initech")
    found = services.records.duplicates(SYSTEM, "supplier", a["id"])
    assert [(f["rule"], [m["id"] for m in f["matches"]]) for f in found] == [("same_name", [b["id"]])]
    assert services.records.duplicates(SYSTEM, "supplier", new(services, name="Alone")["id"]) == []


# -- the change pipeline -----------------------------------------------------------------------
def _keys_tables(services) -> set[str]:
    with services.engine.connect() as conn:
        return {t for t in inspect(conn).get_table_names() if t.startswith("dupkeys__")}


def test_keys_are_built_for_existing_rows_when_a_rule_is_deployed(services):
    apply(services)                                          # the object, no rule: no keys table
    old = [new(services, name=f"Old {i}", email=f"old{i}@acme.com") for i in range(3)]
    twin = new(services, name="Twin", email="OLD0@acme.com")
    assert _keys_tables(services) == set()
    email_rule = rule("one_email", [{"field": "email", "match": "email"}], action="block", allow_override=True)
    result = apply(services, email_rule)
    assert "build duplicate keys of supplier for rule one_email" in str(result.plan)
    assert _keys_tables(services) == {"dupkeys__supplier"}
    found = services.records.duplicates(SYSTEM, "supplier", old[0]["id"])
    assert [m["id"] for m in found[0]["matches"]] == [twin["id"]]
    with pytest.raises(DuplicatesFound):
        new(services, name="New", email="old2@acme.com")
    # a new condition builds the rule's keys again; a changed action builds nothing
    by_domain = {**email_rule, "conditions": [{"field": "email", "match": "email_domain"}]}
    result = apply(services, by_domain)
    assert "rebuild duplicate keys of supplier for rule one_email" in str(result.plan)
    assert len(services.records.duplicates(SYSTEM, "supplier", old[1]["id"])[0]["matches"]) == 3
    result = apply(services, {**by_domain, "action": "warn", "allow_override": False})
    assert "duplicate keys" not in str(result.plan)
    assert warned(new(services, name="Warned", email="x@acme.com"))["one_email"]
    # deactivated: no check, no keys; the object's last rule gone: no keys table
    apply(services, {**by_domain, "active": False})
    assert "_warnings" not in new(services, name="Unchecked", email="y@acme.com")
    assert _keys_tables(services) == set()
    result = apply(services, by_domain)                      # active again: built from every row
    assert len(services.records.duplicates(SYSTEM, "supplier", old[0]["id"])[0]["matches"]) == 5   # the 5 others


def test_check_only_deploy_keeps_nothing(services):
    apply(services)
    new(services, name="Kept", email="k@acme.com")
    result = services.changes.apply_org(org_with(rule("one_email", [{"field": "email", "match": "email"}])),
                                        author="test", message="try", check_only=True)
    assert result.check_only and "build duplicate keys" in str(result.plan)
    assert _keys_tables(services) == set()
    assert "_warnings" not in new(services, name="Twin", email="k@acme.com")
