"""Hierarchies in the metadata language and the change pipeline (issue 14 §1): where `hierarchy: true`
may stand, where UNDER may be used, and making an existing lookup a hierarchy checks its data."""
from __future__ import annotations

import copy

import pytest

from tessera.changes import ChangeRefused
from tessera.meta.errors import MetadataInvalid

from changes_helpers import ACCOUNT, CONTACT, USER, objects

TERRITORY = {"name": "territory", "fields": {
    "name": {"type": "text", "required": True},
    "parent": {"type": "lookup", "to": "territory", "hierarchy": True},
}}


def refusal(env, objs, **kw) -> list[str]:
    with pytest.raises(MetadataInvalid) as info:
        env.install(objs, **kw)
    assert env.svc.active_number() is None
    return [str(e) for e in info.value.errors]


def test_hierarchy_only_on_a_lookup_to_its_own_object(env):
    contact = copy.deepcopy(CONTACT)
    contact["fields"]["account"]["hierarchy"] = True
    [error] = refusal(env, objects(USER, ACCOUNT, contact))
    assert error.endswith("contact.yaml: fields.account.hierarchy: only a lookup to its own object ('contact') can be "
                          "a hierarchy; 'account' points to 'account'")


def test_hierarchy_is_refused_on_other_field_types(env):
    territory = copy.deepcopy(TERRITORY)
    territory["fields"]["code"] = {"type": "text", "hierarchy": True}
    errors = refusal(env, objects(USER, territory))
    assert any("territory.yaml: fields.code" in e and "hierarchy" in e for e in errors), errors


def test_at_most_one_hierarchy_per_object(env):
    territory = copy.deepcopy(TERRITORY)
    territory["fields"]["rollup_to"] = {"type": "lookup", "to": "territory", "hierarchy": True}
    [error] = refusal(env, objects(USER, territory))
    assert error.endswith("territory.yaml: fields.rollup_to.hierarchy: an object has at most one hierarchy, and "
                          "'parent' already is one")


def test_under_needs_a_hierarchy_field_and_a_database(env):
    territory = copy.deepcopy(TERRITORY)
    territory["fields"]["peer"] = {"type": "lookup", "to": "territory"}
    territory["fields"]["in_emea"] = {"type": "formula", "returns": "boolean", "expression": "UNDER(parent, 'EMEA')"}
    territory["fields"]["code"] = {"type": "text", "default_expression": "IF(UNDER(parent, 'EMEA'), 'E', 'W')"}
    territory["validation_rules"] = [{"name": "peer", "condition": "UNDER(peer, 'EMEA')", "message": "no"}]
    errors = refusal(env, objects(USER, territory))
    assert any(e.endswith("fields.in_emea.expression: UNDER cannot be used in a formula ('UNDER(parent, 'EMEA')'): "
                          "it is available in filters, sharing criteria, validation rules and workflow conditions")
               for e in errors), errors
    assert any("fields.code.default_expression: UNDER cannot be used in a default value" in e for e in errors), errors
    assert any("validation_rules.0.condition: function UNDER: 'peer' is not a hierarchy field" in e
               for e in errors), errors


def test_a_tree_list_view_needs_a_hierarchy(env):
    [error] = refusal(env, objects(USER, ACCOUNT), list_views={"all": {
        "name": "all", "object": "account", "columns": ["name"], "tree": True}})
    assert error.endswith("all.yaml: tree: 'account' has no hierarchy to show as a tree (declare hierarchy: true on "
                          "a lookup to its own object)")
    ok = env.install(objects(USER, TERRITORY), list_views={"all": {
        "name": "all", "object": "territory", "columns": ["name"], "tree": True,
        "filter": "UNDER(parent, 'EMEA')"}})
    assert ok.version.number == 1


def test_making_a_cyclic_lookup_a_hierarchy_is_refused_naming_the_records(env):
    plain = copy.deepcopy(TERRITORY)
    del plain["fields"]["parent"]["hierarchy"]
    env.install(objects(USER, plain))
    a, b, c, root = env.insert("territory", {"name": "A"}, {"name": "B"}, {"name": "C"}, {"name": "Root"})
    env.insert("territory", {"name": "Leaf", "parent": root})
    from sqlalchemy import update
    table = env.tables()["territory"]
    with env.engine.begin() as conn:   # A → B → C → A: a cycle the plain lookup allowed
        for child, parent in ((a, b), (b, c), (c, a)):
            conn.execute(update(table).where(table.c.id == child).values(parent=parent))
    with pytest.raises(ChangeRefused) as info:
        env.install(objects(USER, TERRITORY))
    [reason] = info.value.reasons
    assert reason.startswith("make field territory.parent a hierarchy (checked: no cycles, at most 100 levels): "
                             "3 rows: below itself through parent (a cycle), but the field becomes a hierarchy, e.g. ")
    assert f'A ({a}): "A ({a}) → B ({b}) → C ({c}) → A ({a})"' in reason
    assert env.svc.active_number() == 1
    with env.engine.begin() as conn:   # break the cycle: now it is a tree
        conn.execute(update(table).where(table.c.id == c).values(parent=None))
    assert env.install(objects(USER, TERRITORY)).version.number == 2
