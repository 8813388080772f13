"""A rows field added in the Setup field editor (issue 14 §1): offered under Relationships, it
points to a master-detail child of the object; the change pipeline adds the child's position
column, and the parent's API takes and returns the rows nested. It is listed, edited (label,
max rows) and deleted like other fields; a missing child is a clear error at its input. Both DBs."""
from __future__ import annotations

import re


def make_objects(admin):
    admin.change("/setup/objects/new", {"label": "Invoice", "name_type": "text", "sharing_model": "private"})
    admin.change("/setup/objects/new", {"label": "Invoice Line", "name_type": "text",
                                        "sharing_model": "private"})
    _review, done = admin.change("/setup/objects/invoice_line/fields/new?type=master_detail",
                                 {"label": "Invoice", "to": "invoice"})
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    admin.change("/setup/objects/invoice_line/fields/new?type=number", {"label": "Quantity"})


def test_a_rows_field_from_the_field_editor(admin, services, api):
    make_objects(admin)
    assert "Rows" in admin.get("/setup/objects/invoice/fields/new").get_data(as_text=True)
    form = admin.get("/setup/objects/invoice/fields/new?type=rows").get_data(as_text=True)
    assert re.search(r'<option value="invoice_line\.invoice"', form)
    review, done = admin.change("/setup/objects/invoice/fields/new?type=rows",
                                {"label": "Lines", "rows_relation": "invoice_line.invoice", "max_rows": "50"})
    assert "position" in review.get_data(as_text=True)          # the plan adds the child's position column
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    md = services.runtimes.current().metadata
    rows = md.objects["invoice"].rows["lines"]
    assert (rows.object, rows.relationship, rows.max_rows) == ("invoice_line", "invoice", 50)
    made = api.post("/api/v1/records/invoice", json={"name": "INV-1", "lines": [
        {"name": "Paper", "quantity": 2}, {"name": "Ink", "quantity": 1}]})
    assert made.status_code == 201, made.json
    got = api.get(f"/api/v1/records/invoice/{made.json['id']}").json
    assert [(r["name"], r["position"]) for r in got["lines"]] == [("Paper", 1), ("Ink", 2)]

    detail = admin.get("/setup/objects/invoice/").get_data(as_text=True)
    assert 'data-field="lines"' in detail and "Rows of invoice_line" in detail
    edit = admin.get("/setup/objects/invoice/fields/lines/").get_data(as_text=True)
    assert re.search(r'<option value="invoice_line\.invoice" selected>', edit) and 'value="50"' in edit
    _review, done = admin.change("/setup/objects/invoice/fields/lines/",
                                 {"label": "Invoice Lines", "type": "rows", "rows_relation": "invoice_line.invoice",
                                  "max_rows": "20"})
    assert done.status_code == 302
    rows = services.runtimes.current().metadata.objects["invoice"].rows["lines"]
    assert (rows.label, rows.max_rows) == ("Invoice Lines", 20)
    _review, done = admin.change("/setup/objects/invoice/fields/lines/delete", {}, allow_destructive=True)
    assert done.status_code == 302
    assert "lines" not in services.runtimes.current().metadata.objects["invoice"].rows


def test_a_rows_field_needs_a_master_detail_child(admin, services):
    make_objects(admin)
    r = admin.post("/setup/objects/invoice/fields/new?type=rows", {"label": "Lines"})
    assert r.status_code == 422 and "choose the child object" in r.get_data(as_text=True)
    r = admin.post("/setup/objects/invoice/fields/new?type=rows", {"label": "Lines", "rows_relation": "invoice.name"})
    assert r.status_code == 422, r.status_code
    assert "lines" not in services.runtimes.current().metadata.objects["invoice"].rows
