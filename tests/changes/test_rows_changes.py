"""Rows fields in the metadata language and the change pipeline (issue 14 §1): where a rows field
may point, the child's `position` column added (existing children numbered by created order, per
parent) and dropped with the rows field, and the CHECK that a child of several parents has exactly
one of them set."""
from __future__ import annotations

import copy
import uuid

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from tessera.changes import ChangeRefused
from tessera.meta.errors import MetadataInvalid

from changes_helpers import USER, objects

ORDER = {"name": "sales_order", "fields": {"name": {"type": "text", "required": True}}}
INVOICE = {"name": "invoice", "fields": {"name": {"type": "text", "required": True}}}
LINE = {"name": "order_line", "sharing_model": "controlled_by_parent", "fields": {
    "sales_order": {"type": "master_detail", "to": "sales_order"},
    "item": {"type": "text"},
}}
ROWS = {"type": "rows", "object": "order_line"}


def with_rows(parent=ORDER, **fields):
    doc = copy.deepcopy(parent)
    doc["fields"].update(fields)
    return doc


def refusal(env, objs) -> list[str]:
    with pytest.raises(MetadataInvalid) as info:
        env.install(objs)
    return [str(e) for e in info.value.errors]


def test_a_rows_field_needs_a_child_with_a_master_detail_field_to_it(env):
    plain = {"name": "order_line", "fields": {"item": {"type": "text"}}}
    [error] = refusal(env, objects(USER, with_rows(lines=ROWS), plain))
    assert error.endswith("sales_order.yaml: fields.lines.object: 'order_line' has no master_detail field to "
                          "'sales_order': rows are child records controlled by their parent (add e.g. "
                          "sales_order: {type: master_detail, to: sales_order} to order_line)")
    [error] = refusal(env, objects(USER, with_rows(lines={"type": "rows", "object": "nothing"}), LINE))
    assert error.endswith("sales_order.yaml: fields.lines.object: there is no object 'nothing'")
    [error] = refusal(env, objects(USER, with_rows(lines={**ROWS, "relationship": "item"}), LINE))
    assert error.endswith("fields.lines.relationship: 'order_line.item' is not a master_detail field to 'sales_order'")
    line = copy.deepcopy(LINE)
    line["fields"]["position"] = {"type": "integer"}
    [error] = refusal(env, objects(USER, with_rows(lines=ROWS), line))
    assert error.endswith("order_line.yaml: fields.position: 'position' is the row position of a rows child object "
                          "(a system column): rename this field")
    errors = refusal(env, objects(USER, with_rows(lines={"type": "rows"}), LINE))
    assert any("fields.lines" in e and "object" in e for e in errors), errors


def test_adding_the_rows_field_numbers_existing_children_and_dropping_it_drops_the_positions(env):
    env.install(objects(USER, ORDER, LINE))
    assert "position" not in env.columns("obj_order_line")
    first, second = env.insert("sales_order", {"name": "A"}, {"name": "B"})
    env.insert("order_line", {"sales_order": first, "item": "a1"}, {"sales_order": second, "item": "b1"},
               {"sales_order": first, "item": "a2"}, {"sales_order": first, "item": "a3"})
    result = env.install(objects(USER, with_rows(lines=ROWS), LINE))
    assert "[safe]          add row positions to order_line (rows of its sales_order)" in str(result.plan)
    assert [(r["item"], r["position"]) for r in env.rows("order_line")] == [("a1", 1), ("b1", 1), ("a2", 2), ("a3", 3)]
    assert "ix_obj_order_line_sales_order_position" in env.indexes("obj_order_line")
    # dropping the rows field loses the order: destructive, refused without allow_destructive
    with pytest.raises(ChangeRefused) as info:
        env.install(objects(USER, ORDER, LINE))
    assert info.value.needs_allow_destructive
    assert "position" in env.columns("obj_order_line")
    env.install(objects(USER, ORDER, LINE), allow_destructive=True)
    assert "position" not in env.columns("obj_order_line")
    assert [r["item"] for r in env.rows("order_line")] == ["a1", "b1", "a2", "a3"]   # the children stay


def test_a_child_of_several_parents_has_exactly_one_set_in_storage(env):
    line = copy.deepcopy(LINE)
    line["fields"]["invoice"] = {"type": "master_detail", "to": "invoice"}
    env.install(objects(USER, with_rows(lines=ROWS), with_rows(INVOICE, lines=ROWS), line))
    order, = env.insert("sales_order", {"name": "A"})
    invoice, = env.insert("invoice", {"name": "I"})
    env.insert("order_line", {"sales_order": order, "item": "ok"})
    with pytest.raises(IntegrityError):
        env.insert("order_line", {"sales_order": order, "invoice": invoice, "item": "both"})
    with pytest.raises(IntegrityError):
        env.insert("order_line", {"item": "none"})
    assert [r["item"] for r in env.rows("order_line")] == ["ok"]


def test_adding_a_second_parent_adds_the_check_after_checking_the_data(env):
    env.install(objects(USER, ORDER, INVOICE, LINE))
    order, = env.insert("sales_order", {"name": "A"})
    good, orphan = env.insert("order_line", {"sales_order": order, "item": "ok"}, {"item": "orphan"})
    line = copy.deepcopy(LINE)
    line["fields"]["invoice"] = {"type": "master_detail", "to": "invoice"}
    with pytest.raises(ChangeRefused) as info:
        env.install(objects(USER, ORDER, INVOICE, line))
    [reason] = info.value.reasons
    assert reason == (f"check that exactly one of sales_order, invoice is set on order_line: 1 row: would not have "
                      f"exactly one of sales_order, invoice set, e.g. {orphan}: (blank)")
    table = env.tables()["order_line"]
    with env.engine.begin() as conn:
        conn.execute(update(table).where(table.c.id == orphan).values(sales_order=order))
    env.install(objects(USER, ORDER, INVOICE, line))
    with pytest.raises(IntegrityError):
        env.insert("order_line", {"item": "none"})
    # back to one parent: the check goes with the second master_detail field
    env.install(objects(USER, ORDER, INVOICE, LINE), allow_destructive=True)
    env.insert("order_line", {"item": "none again", "id": uuid.uuid4()})
    assert len(env.rows("order_line")) == 3
