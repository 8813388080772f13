"""Rows through the record service (issue 14 §1): a child object that belongs to one of several
parents (order lines on a sales order or an invoice) — exactly one parent per row on every write
path, positions kept per parent (rows, single and bulk creates, deletes, moves), and sharing from
the parent each row belongs to."""
from __future__ import annotations

import pytest

from tessera.meta.source import empty_org
from tessera.records.errors import BulkFailed, ValidationFailed
from tessera.security.actor import SYSTEM

PASSWORD = "Tq7-violet-harbor-92"
OBJECTS = {
    "sales_order": {"name": "sales_order", "fields": {
        "name": {"type": "text", "required": True},
        "lines": {"type": "rows", "object": "order_line"},
        "total": {"type": "rollup", "object": "order_line", "relationship": "sales_order", "function": "sum",
                  "field": "amount"}}},
    "invoice": {"name": "invoice", "fields": {
        "name": {"type": "text", "required": True},
        "lines": {"type": "rows", "object": "order_line", "label": "Invoice Lines"}}},
    "order_line": {"name": "order_line", "sharing_model": "controlled_by_parent", "fields": {
        "sales_order": {"type": "master_detail", "to": "sales_order"},
        "invoice": {"type": "master_detail", "to": "invoice"},
        "item": {"type": "text", "required": True},
        "amount": {"type": "number"}}},
}
CLERK = {"name": "ol_clerk", "label": "Clerk", "system_permissions": ["api_access"],
         "objects": {"sales_order": ["create", "read", "edit", "delete"], "invoice": ["create", "read", "edit"],
                     "order_line": ["create", "read", "edit", "delete"], "user": ["read"]}}
ONE_PARENT = "exactly one of sales_order, invoice must be set (each order_line belongs to one parent)"


@pytest.fixture
def orders(services):
    org = empty_org()
    comps = org["components"]
    for name, doc in OBJECTS.items():
        comps["objects"][name] = {"source": f"org/objects/{name}.yaml", "doc": doc}
    comps["profiles"]["ol_clerk"] = {"source": "org/profiles/ol_clerk.yaml", "doc": CLERK}
    services.changes.apply_org(org, author="test", message="orders")
    return services


def _items(record, name="lines"):
    return [(row["position"], row["item"]) for row in record[name]]


def test_exactly_one_parent_on_create_update_and_bulk(orders):
    records = orders.records
    order = records.create(SYSTEM, "sales_order", {"name": "O"})
    invoice = records.create(SYSTEM, "invoice", {"name": "I"})
    with pytest.raises(ValidationFailed) as info:
        records.create(SYSTEM, "order_line", {"item": "nowhere"})
    assert info.value.fields == {"sales_order": [ONE_PARENT], "invoice": [ONE_PARENT]}
    with pytest.raises(ValidationFailed) as info:
        records.create(SYSTEM, "order_line", {"item": "both", "sales_order": order["id"], "invoice": invoice["id"]})
    assert info.value.fields["invoice"] == [ONE_PARENT + "; sales_order and invoice are"]
    line = records.create(SYSTEM, "order_line", {"item": "ok", "sales_order": order["id"]})
    with pytest.raises(ValidationFailed) as info:
        records.update(SYSTEM, "order_line", line["id"], {"invoice": invoice["id"]})
    assert set(info.value.fields) == {"sales_order", "invoice"}
    with pytest.raises(BulkFailed) as info:
        records.bulk_create(SYSTEM, "order_line", [{"item": "a", "invoice": invoice["id"]}, {"item": "b"}])
    assert info.value.details["rows"] == [{"index": 1, "fields": {"sales_order": [ONE_PARENT],
                                                                  "invoice": [ONE_PARENT]}}]
    # moving a line to the other parent is one change of both fields
    moved = records.update(SYSTEM, "order_line", line["id"], {"sales_order": None, "invoice": invoice["id"]})
    assert moved["invoice"] == invoice["id"] and moved["sales_order"] is None


def test_positions_per_parent_on_every_write_path(orders):
    records = orders.records
    order = records.create(SYSTEM, "sales_order", {"name": "O", "lines": [
        {"item": "o1", "amount": 1}, {"item": "o2", "amount": 2}]})
    invoice = records.create(SYSTEM, "invoice", {"name": "I", "lines": [{"item": "i1"}]})
    assert _items(order) == [(1, "o1"), (2, "o2")] and order["total"] == 3
    assert _items(invoice) == [(1, "i1")]
    # created on their own (CSV import and the bulk API take this path): appended per parent
    records.bulk_create(SYSTEM, "order_line", [{"item": "o3", "sales_order": order["id"]},
                                               {"item": "i2", "invoice": invoice["id"]},
                                               {"item": "o4", "sales_order": order["id"]}])
    records.create(SYSTEM, "order_line", {"item": "i3", "invoice": invoice["id"]})
    order = records.get(SYSTEM, "sales_order", order["id"])
    assert _items(order) == [(1, "o1"), (2, "o2"), (3, "o3"), (4, "o4")]
    assert _items(records.get(SYSTEM, "invoice", invoice["id"])) == [(1, "i1"), (2, "i2"), (3, "i3")]
    # a deleted row closes the gap; a row moved to the other parent is appended there
    records.delete(SYSTEM, "order_line", order["lines"][1]["id"])
    records.update(SYSTEM, "order_line", order["lines"][0]["id"], {"sales_order": None, "invoice": invoice["id"]})
    assert _items(records.get(SYSTEM, "sales_order", order["id"])) == [(1, "o3"), (2, "o4")]
    assert _items(records.get(SYSTEM, "invoice", invoice["id"])) == [(1, "i1"), (2, "i2"), (3, "i3"), (4, "o1")]
    # a row of one parent cannot be claimed through the other
    with pytest.raises(ValidationFailed) as info:
        records.update(SYSTEM, "sales_order", order["id"], {"lines": [{"item": "x", "invoice": invoice["id"]}]})
    both = [ONE_PARENT + "; sales_order and invoice are"]
    assert info.value.fields == {"lines[0].sales_order": both, "lines[0].invoice": both}
    assert _items(records.get(SYSTEM, "sales_order", order["id"])) == [(1, "o3"), (2, "o4")]


def test_sharing_follows_the_parent_each_row_belongs_to(orders, client_for):
    records = orders.records
    clerk, _ = orders.identity.create_user("clerk", password=PASSWORD, profile="ol_clerk", last_name="Clerk")
    client = client_for(clerk)
    r = client.post("/api/v1/records/sales_order", json={"name": "Mine", "lines": [{"item": "mine"}]})
    assert r.status_code == 201, r.json
    mine = r.json
    theirs = records.create(SYSTEM, "sales_order", {"name": "Theirs", "lines": [{"item": "theirs"}]})
    invoice = records.create(SYSTEM, "invoice", {"name": "Hidden", "lines": [{"item": "invoiced"}]})
    listed = client.get("/api/v1/records/order_line?fields=item").json["records"]
    assert [row["item"] for row in listed] == ["mine"]
    for obj, rec in (("sales_order", theirs), ("invoice", invoice)):
        assert client.get(f"/api/v1/records/{obj}/{rec['id']}").status_code == 404
        assert client.get(f"/api/v1/records/order_line/{rec['lines'][0]['id']}").status_code == 404
    # an invoice line cannot be attached to the clerk's order: the invoice is not theirs to see
    r = client.post("/api/v1/records/order_line", json={"item": "sneak", "invoice": invoice["id"]})
    assert r.status_code == 422 and "invoice" in r.json["error"]["fields"], r.json
    assert [row["item"] for row in client.get(f"/api/v1/records/sales_order/{mine['id']}").json["lines"]] == ["mine"]
